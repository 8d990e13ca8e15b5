import { isAgendaError } from '../../contract/errors.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { loginEndsAt } from '../profiles.js';

/**
 * What `logout` prints with `--json`: the profile, whether it held a login to forget, and
 * whether the server ended the session (`revoked`), with the reason when it could not.
 */
export interface LogoutResult {
  readonly profile: string;
  readonly loggedOut: boolean;
  readonly revoked: boolean;
  readonly problem?: string;
}

/** `agenda logout`: ends the session on the server, then forgets the profile's token. */
export default class Logout extends AgendaCommand<typeof Logout, LogoutResult> {
  static override summary = 'Log out: the server ends this session, and the profile forgets it.';
  static override description =
    'Every gateway refuses the session’s tokens from then on (its access token and the refresh token that renews it), and its live streams (agenda watch) close. The gateways and CA given at login stay in the profile, so the next login needs neither. When no gateway can be reached the tokens are forgotten anyway and you are told the session stays open on the server until it ends.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --profile work',
  ];

  protected async execute(): Promise<Outcome<LogoutResult>> {
    const profile = await this.profiles.read(this.profileName);
    const login = profile.login;
    if (login === null) {
      return {
        result: { profile: this.profileName, loggedOut: false, revoked: false },
        human: () => 'Not logged in; nothing to do.',
      };
    }
    let problem: string | undefined;
    const endsAt = loginEndsAt(login);
    if (Date.parse(endsAt) > Date.now()) {
      try {
        const { api } = await this.connect({ authenticated: true });
        await this.slow('Logging out…', api.logout());
      } catch (error) {
        // Forgotten here all the same: keeping a token the user asked to drop is worse.
        if (!isAgendaError(error) || error.code === 'internal') throw error;
        // A token the server already refuses (logged out elsewhere, password changed) is over.
        if (error.code !== 'unauthenticated') problem = error.message;
      }
    }
    await this.profiles.write(this.profileName, { ...profile, login: null });
    const result: LogoutResult = {
      profile: this.profileName,
      loggedOut: true,
      revoked: problem === undefined,
      ...(problem === undefined ? {} : { problem }),
    };
    return {
      result,
      human: () =>
        problem === undefined
          ? `Logged out ${login.username}.`
          : `Forgot the login of ${login.username}, but the server could not be told (${problem}): a copy of its tokens could renew the session until ${endsAt}. Run agenda logout again once a gateway answers, or change your password to end every session.`,
    };
  }
}
