/**
 * The parts of `register` and `login` that deal with secrets: getting the password and
 * keeping the token the gateway hands out; and what both print once signed in, without it.
 */
import { InvalidInput } from '../contract/errors.js';
import type { LoginAnswer } from '../contract/api.js';
import type { Connection } from './base-command.js';
import { promptPassword, readPasswordFromStdin } from './password.js';
import type { Profile, ProfileStore } from './profiles.js';
import type { Terminal } from './terminal.js';

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
 * until when — the login's answer without its token.
 */
export type SignedIn = Pick<LoginAnswer, 'user' | 'expiresAt'> & { readonly profile: string };

/** The {@link SignedIn} result of logging in on `profile` with `answer`. */
export function signedIn(profile: string, answer: LoginAnswer): SignedIn {
  return { user: answer.user, profile, expiresAt: answer.expiresAt };
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
    },
  };
  await store.write(profileName, profile);
  return profile;
}
