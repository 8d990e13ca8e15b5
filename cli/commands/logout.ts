import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';

/** What `logout` prints with `--json`: the profile, and whether it held a login to forget. */
export interface LogoutResult {
  readonly profile: string;
  readonly loggedOut: boolean;
}

/** `agenda logout`: forgets the profile's token (its gateways and CA stay). */
export default class Logout extends AgendaCommand<typeof Logout, LogoutResult> {
  static override summary = "Forget the profile's token.";
  static override description =
    'The gateways and CA given at login stay in the profile, so the next login needs neither. Tokens are not revoked on the server: it would still accept a copy until it expires.';

  protected async execute(): Promise<Outcome<LogoutResult>> {
    const profile = await this.profiles.read(this.profileName);
    const wasLoggedIn = profile.login !== null;
    if (wasLoggedIn) await this.profiles.write(this.profileName, { ...profile, login: null });
    const who = profile.login?.username;
    return {
      result: { profile: this.profileName, loggedOut: wasLoggedIn },
      human: () => (who === undefined ? 'Not logged in; nothing to do.' : `Logged out ${who}.`),
    };
  }
}
