import { Args } from '@oclif/core';
import type { GroupAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderGroup } from '../../ui/views.js';

/** `agenda group transfer <group> <username>`: the owner hands the group to a member. */
export default class GroupTransfer extends AgendaCommand<typeof GroupTransfer, GroupAnswer> {
  static override summary = 'Hand a group you own to another member.';
  static override description = [
    'Only the owner can, and only to a member (someone who joined, not one still invited). The new owner and you are told.',
    "In a hierarchical group the two of you swap levels: the new owner is at 0, you take their old level, and nobody else's rank changes. An owner who wants to leave a group with other members transfers it first.",
  ].join('\n\n');
  static override examples = ['<%= config.bin %> group transfer team bob'];
  static override args = {
    group: Args.string({ description: 'The group you own.', required: true }),
    username: Args.string({ description: 'The member who becomes its owner.', required: true }),
  };

  protected async execute(): Promise<Outcome<GroupAnswer>> {
    const { group, username } = this.args;
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Transferring the group…',
      api.call('transferGroup', { params: { group }, body: { to: username } }),
    );
    const changed = answer.group;
    return {
      result: answer,
      human: () =>
        `${username} now owns ${group}.${changed === null ? '' : `\n${renderGroup(changed, this.palette, this.width)}`}`,
    };
  }
}
