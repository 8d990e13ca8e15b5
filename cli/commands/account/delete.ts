import { Flags } from '@oclif/core';
import { InvalidInput } from '../../../contract/errors.js';
import type { AccountDeletedAnswer, AccountRemovals } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { confirmByTyping } from '../../confirm.js';
import { obtainPassword, wrongPasswordSaid } from '../../session.js';

/**
 * What `account delete` prints with `--json`: the gateway's answer, and the profile it
 * removed (the login it held is of an account that no longer exists).
 */
export type AccountDeleteResult = AccountDeletedAnswer & {
  readonly profile: string;
  readonly profileRemoved: boolean;
};

/** How each count reads (one, many), in the order a person cares about. */
const REMOVALS: { readonly [K in keyof AccountRemovals]: readonly [string, string] } = {
  eventsDeleted: ['event deleted', 'events deleted'],
  eventsCancelled: [
    'event cancelled for the people invited',
    'events cancelled for the people invited',
  ],
  eventsLeft: ['event of others left', 'events of others left'],
  groupsLeft: ['group left', 'groups left'],
  groupsHandedOver: ['group handed to another member', 'groups handed to other members'],
  groupsDissolved: ['group dissolved', 'groups dissolved'],
  groupInvitationsDeclined: ['group invitation declined', 'group invitations declined'],
  groupBlocksRemoved: ['group block lifted', 'group blocks lifted'],
  feedsRevoked: ['calendar feed revoked', 'calendar feeds revoked'],
  devicesRevoked: ['device app password revoked', 'device app passwords revoked'],
  sessionsEnded: ['session ended', 'sessions ended'],
};

/** `agenda account delete`: the signed-in account goes, for good. */
export default class AccountDelete extends AgendaCommand<
  typeof AccountDelete,
  AccountDeleteResult
> {
  static override summary = 'Delete your account and everything in it, for good.';
  static override description =
    'Your events go (those with people invited are cancelled for them, who are told), you leave every group (a group you own passes to its highest-ranked member, or dissolves if you were its last), your group invitations, blocks and calendar feeds go, and every session of yours ends at once, on every device. The username can never be registered again. Asks you to type the username to confirm (unless --yes) and for your password (or reads it from standard input with --password-stdin, which needs --yes). The profile is removed afterwards.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'From a script, without the question (standard input holds the password)',
      command: 'printf %s "$PASSWORD" | <%= config.bin %> <%= command.id %> --yes --password-stdin',
    },
  ];
  static override flags = {
    yes: Flags.boolean({
      description: 'Do not ask to type the username to confirm.',
      default: false,
    }),
    'password-stdin': Flags.boolean({
      description: 'Read the password from standard input (needs --yes: stdin holds it).',
      default: false,
    }),
  };

  protected async execute(): Promise<Outcome<AccountDeleteResult>> {
    const connection = await this.connect({ authenticated: true });
    // connect({ authenticated: true }) refuses a profile without a login.
    const username = connection.login?.username ?? '';
    const { terminal } = this;
    if (!this.flags.yes) {
      if (this.flags['password-stdin']) {
        throw new InvalidInput(
          '--password-stdin needs --yes: standard input holds the password, so the username cannot be typed there to confirm',
          { field: 'yes' },
        );
      }
      await confirmByTyping(
        terminal.stdin,
        terminal.stderr,
        {
          explanation: `This deletes the account ${username} for good: its events (cancelled for the people invited), its place in every group (a group it owns passes to another member), its invitations and calendar feeds. Every session of it ends, and the name ${username} can never be registered again.`,
          prompt: `Type ${username} to confirm: `,
        },
        username,
      );
    }
    const password = await obtainPassword(terminal, {
      fromStdin: this.flags['password-stdin'],
      confirm: false,
    });
    const answer = await this.slow(
      'Deleting the account…',
      connection.api.deleteAccount({ password }).catch((error: unknown) => {
        throw wrongPasswordSaid(
          error,
          `the password is wrong: the account ${username} was not deleted`,
        );
      }),
    );
    const profileRemoved = await this.profiles.remove(this.profileName);
    const result: AccountDeleteResult = { ...answer, profile: this.profileName, profileRemoved };
    return { result, human: () => this.describe(result) };
  }

  private describe(result: AccountDeleteResult): string {
    const counts = (Object.keys(REMOVALS) as (keyof AccountRemovals)[])
      .filter((key) => result.removed[key] > 0)
      .map((key) => {
        const count = result.removed[key];
        const [one, many] = REMOVALS[key];
        return `${count} ${count === 1 ? one : many}`;
      });
    return [
      `Deleted the account ${this.palette.bold(result.username)}.`,
      ...(counts.length === 0 ? [] : [`Removed: ${counts.join(', ')}.`]),
      ...(result.complete ? [] : ['The rest of its data is being removed in the background.']),
      `The name ${result.username} cannot be registered again; the profile ${result.profile} is removed.`,
    ].join('\n');
  }
}
