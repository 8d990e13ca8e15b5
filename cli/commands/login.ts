import { Args, Flags } from '@oclif/core';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { obtainPassword, rememberLogin, signedIn } from '../session.js';
import type { SignedIn } from '../session.js';

/** `agenda login <username>`: obtains a token and stores it in the profile. */
export default class Login extends AgendaCommand<typeof Login, SignedIn> {
  static override summary = 'Log in; the token is kept in the profile (file mode 0600).';
  static override description =
    'Asks for the password without echoing it, or reads it from standard input with --password-stdin. The gateways (--server) and CA (--ca) used are remembered with the login.';
  static override examples = [
    '<%= config.bin %> login alice --server https://127.0.0.1:8443 --ca .agenda/pki/ca.pem',
    'printf %s "$PASSWORD" | <%= config.bin %> login alice --password-stdin',
  ];
  static override args = {
    username: Args.string({ description: 'Who to log in as.', required: true }),
  };
  static override flags = {
    'password-stdin': Flags.boolean({
      description: 'Read the password from standard input.',
      default: false,
    }),
  };

  protected async execute(): Promise<Outcome<SignedIn>> {
    // Connection settings are checked before asking for a secret the user would retype.
    const connection = await this.connect({ authenticated: false });
    const password = await obtainPassword(this.terminal, {
      fromStdin: this.flags['password-stdin'],
      confirm: false,
    });
    const answer = await this.slow(
      'Logging in…',
      connection.api.login({ username: this.args.username, password }),
    );
    await rememberLogin(this.profiles, this.profileName, connection, answer);
    const result = signedIn(this.profileName, answer);
    return {
      result,
      human: () =>
        `Logged in as ${this.palette.bold(answer.user.username)}` +
        `${answer.user.name === '' ? '' : ` (${answer.user.name})`}` +
        `${this.profileName === 'default' ? '' : ` on profile ${this.profileName}`}.`,
    };
  }
}
