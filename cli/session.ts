/**
 * The parts of `register` and `login` that deal with secrets: getting the password and
 * keeping the tokens the gateway hands out (and renews: {@link ProfileTokenStore}); and what
 * both print once signed in, without them.
 */
import { InvalidInput, Unauthenticated } from '../contract/errors.js';
import type { LoginAnswer } from '../contract/api.js';
import type { Connection } from './base-command.js';
import type { SessionTokenSet, SessionTokenStore } from './http/session-tokens.js';
import { promptPassword, readPasswordFromStdin } from './password.js';
import type { Profile, ProfileStore, StoredLogin } from './profiles.js';
import type { Terminal } from './terminal.js';

/**
 * The users service refuses a wrong password (`account delete`, `password change`) with a
 * 401, as it refuses a token, and the gateway client tells every 401 of a signed-in call to
 * log in again: for a password that is wrong, logging in does not help. What the service
 * says then is matched here (its messages in server/users/users-service.ts), and
 * `instead` is said in its place; any other refusal is returned as it was.
 */
export function wrongPasswordSaid(error: unknown, instead: string): unknown {
  if (
    error instanceof Unauthenticated &&
    /^the (current )?password is not right\b/.test(error.message)
  ) {
    return new Unauthenticated(instead, { cause: error });
  }
  return error;
}

/**
 * The password from standard input (`--password-stdin`) or typed without echo; with
 * `confirm`, typed twice and compared.
 */
export async function obtainPassword(
  terminal: Terminal,
  options: { fromStdin: boolean; confirm: boolean },
): Promise<string> {
  if (options.fromStdin) return readPasswordFromStdin(terminal.stdin);
  const password = await promptPassword(terminal.stdin, terminal.stderr, 'Password: ');
  if (password === '') throw new InvalidInput('no password given', { field: 'password' });
  if (options.confirm) {
    const again = await promptPassword(terminal.stdin, terminal.stderr, 'Password again: ');
    if (again !== password) {
      throw new InvalidInput('the two passwords differ', { field: 'password' });
    }
  }
  return password;
}

/**
 * What `register` and `login` print with `--json`: who is signed in, on which profile, and
 * until when — the login's answer without its tokens. `expiresAt` is when the session ends
 * (a login is needed again then); the access token it holds is renewed on the way, and
 * `accessExpiresAt` says when the current one runs out.
 */
export interface SignedIn {
  readonly user: LoginAnswer['user'];
  readonly profile: string;
  readonly expiresAt: string;
  readonly accessExpiresAt: string;
}

/** The {@link SignedIn} result of logging in on `profile` with `answer`. */
export function signedIn(profile: string, answer: LoginAnswer): SignedIn {
  return {
    user: answer.user,
    profile,
    expiresAt: answer.refreshExpiresAt,
    accessExpiresAt: answer.expiresAt,
  };
}

/**
 * Stores the login in the profile (file mode 0600), together with the gateways and CA it
 * was obtained through, so later commands need neither `--server` nor `--ca`.
 */
export async function rememberLogin(
  store: ProfileStore,
  profileName: string,
  connection: Connection,
  answer: LoginAnswer,
): Promise<Profile> {
  const profile: Profile = {
    servers: connection.servers.map((server) => server.href.replace(/\/$/, '')),
    ca: connection.caFile,
    login: {
      username: answer.user.username,
      name: answer.user.name,
      token: answer.token,
      expiresAt: answer.expiresAt,
      refreshToken: answer.refreshToken,
      refreshExpiresAt: answer.refreshExpiresAt,
    },
  };
  await store.write(profileName, profile);
  return profile;
}

/**
 * A stored login's tokens as the profile file keeps them, shared by every `agenda` process
 * of the profile: a renewal by one (`agenda watch`, say) is what the next one starts from,
 * so none spends a refresh token another already spent.
 */
export class ProfileTokenStore implements SessionTokenStore {
  constructor(
    private readonly store: ProfileStore,
    private readonly profileName: string,
    private readonly username: string,
  ) {}

  /** The profile's tokens, unless its login is gone or is now another user's. */
  async load(): Promise<SessionTokenSet | null> {
    const { login } = await this.store.read(this.profileName);
    return login !== null && login.username === this.username ? login : null;
  }

  /** Saves renewed tokens, unless the profile was logged out or into another user meanwhile. */
  async save(tokens: SessionTokenSet): Promise<void> {
    const profile = await this.store.read(this.profileName);
    if (profile.login === null || profile.login.username !== this.username) return;
    // A pending renewal goes with the tokens that answer it.
    const { pendingRefresh: _answered, ...kept } = profile.login;
    const login: StoredLogin = { ...kept, ...tokens };
    await this.store.write(this.profileName, { ...profile, login });
  }
}
