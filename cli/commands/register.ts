import { Args, Flags } from '@oclif/core';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { obtainPassword, rememberLogin, signedIn } from '../session.js';
import type { SignedIn } from '../session.js';

/** `agenda register <username>`: creates the account, then logs in as it. */
export default class Register extends AgendaCommand<typeof Register, SignedIn> {
  static override summary = 'Create an account and log in as it.';
  static override description =
    'Asks for the password twice without echoing it, or reads it from standard input with --password-stdin. The token is kept in the profile like after login.';
  static override examples = [
    '<%= config.bin %> register alice --name "Alice Liddell" --server https://127.0.0.1:8443 --ca .agenda/pki/ca.pem',
  ];
  static override args = {
    username: Args.string({ description: 'The new, unique username.', required: true }),
  };
  static override flags = {
    name: Flags.string({ description: 'Your full name, as others see it.' }),
    'password-stdin': Flags.boolean({
      description: 'Read the password from standard input.',
      default: false,
    }),
  };

  protected async execute(): Promise<Outcome<SignedIn>> {
    const connection = await this.connect({ authenticated: false });
    const password = await obtainPassword(this.terminal, {
      fromStdin: this.flags['password-stdin'],
      confirm: true,
    });
    const { username } = this.args;
    await this.slow(
      'Creating the account…',
      connection.api.register({
        username,
        password,
        ...(this.flags.name === undefined ? {} : { name: this.flags.name }),
      }),
    );
    const answer = await this.slow('Logging in…', connection.api.login({ username, password }));
    await rememberLogin(this.profiles, this.profileName, connection, answer);
    const result = signedIn(this.profileName, answer);
    return {
      result,
      human: () => `Registered and logged in as ${this.palette.bold(answer.user.username)}.`,
    };
  }
}
