import { Flags } from '@oclif/core';
import { InvalidInput } from '../../../contract/errors.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { promptPassword } from '../../password.js';
import { rememberLogin, signedIn, wrongPasswordSaid } from '../../session.js';
import type { SignedIn } from '../../session.js';

/**
 * `agenda password change`: a new password; every session, feed and device app password of the
 * account ends.
 */
export default class PasswordChange extends AgendaCommand<typeof PasswordChange, SignedIn> {
  static override summary = 'Change your password; every other session and calendar feed ends.';
  static override description =
    'Asks for the current password and the new one (twice) without echoing them, or reads two lines from standard input with --password-stdin: the current password, then the new one. This profile stays logged in with a new session; other devices must log in again, and calendar feed URLs and CalDAV app passwords must be made again (agenda feed create, agenda device add).';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'From a script: the current password, then the new one, a line each',
      command: `printf '%s\\n' "$OLD_PASSWORD" "$NEW_PASSWORD" | <%= config.bin %> <%= command.id %> --password-stdin`,
    },
  ];
  static override flags = {
    'password-stdin': Flags.boolean({
      description: 'Read the current and the new password, one per line, from standard input.',
      default: false,
    }),
  };

  protected async execute(): Promise<Outcome<SignedIn>> {
    const connection = await this.connect({ authenticated: true });
    const { currentPassword, newPassword } = await this.passwords();
    const answer = await this.slow(
      'Changing the password…',
      connection.api.changePassword({ currentPassword, newPassword }).catch((error: unknown) => {
        throw wrongPasswordSaid(error, 'the current password is wrong: the password is unchanged');
      }),
    );
    await rememberLogin(this.profiles, this.profileName, connection, answer);
    return {
      result: signedIn(this.profileName, answer),
      human: () =>
        `Password changed for ${this.palette.bold(answer.user.username)}: every other session and calendar feed has ended; this profile has a new session.`,
    };
  }

  private async passwords(): Promise<{ currentPassword: string; newPassword: string }> {
    const { stdin, stderr } = this.terminal;
    if (this.flags['password-stdin']) {
      let text = '';
      for await (const chunk of stdin) {
        text += chunk.toString();
        if (text.length > 64 * 1024) {
          throw new InvalidInput('standard input is too long to hold two passwords', {
            field: 'password',
          });
        }
      }
      const [currentPassword = '', newPassword = ''] = text.split(/\r?\n/);
      if (currentPassword === '' || newPassword === '') {
        throw new InvalidInput(
          'standard input must hold two lines: the current password, then the new one',
          { field: 'password' },
        );
      }
      return { currentPassword, newPassword };
    }
    const currentPassword = await promptPassword(stdin, stderr, 'Current password: ');
    const newPassword = await promptPassword(stdin, stderr, 'New password: ');
    const again = await promptPassword(stdin, stderr, 'New password again: ');
    if (newPassword !== again) {
      throw new InvalidInput('the two new passwords differ', { field: 'password' });
    }
    if (currentPassword === '' || newPassword === '') {
      throw new InvalidInput('no password given', { field: 'password' });
    }
    return { currentPassword, newPassword };
  }
}
