import { Args, Flags } from '@oclif/core';
import type { DeclineGroupAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';

/** `agenda group decline <group> [--block]`. */
export default class GroupDecline extends AgendaCommand<typeof GroupDecline, DeclineGroupAnswer> {
  static override summary = 'Decline an invitation to join a group.';
  static override description =
    'With --block, the group’s further invitations are refused too (also without an invitation waiting); `agenda group unblock` undoes it. Whoever invited you is told you declined, not that you block.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> book-club',
    {
      description: 'And refuse its further invitations',
      command: '<%= config.bin %> <%= command.id %> spam-club --block',
    },
  ];
  static override args = {
    group: Args.string({ description: 'The group.', required: true }),
  };
  static override flags = {
    block: Flags.boolean({ description: 'Refuse the group’s further invitations.' }),
  };

  protected async execute(): Promise<Outcome<DeclineGroupAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Declining…',
      api.declineGroup(this.args.group, this.flags.block ? { block: true } : {}),
    );
    const parts = [
      answer.declined
        ? `Declined the invitation to ${answer.group}.`
        : `No invitation to ${answer.group} was waiting.`,
      ...(answer.blocked ? [`Invitations to ${answer.group} are refused from now on.`] : []),
    ];
    return { result: answer, human: () => parts.join(' ') };
  }
}
