import { Args } from '@oclif/core';
import type { GroupAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderGroup } from '../../ui/views.js';

/** `agenda group remove <group> <username>`. */
export default class GroupRemove extends AgendaCommand<typeof GroupRemove, GroupAnswer> {
  static override summary =
    'Remove a member from a group, or withdraw an invitation (owner, or a superior in a hierarchical group).';
  static override examples = ['<%= config.bin %> <%= command.id %> book-club bob'];
  static override args = {
    group: Args.string({ description: 'The group.', required: true }),
    username: Args.string({ description: 'Who to remove.', required: true }),
  };

  protected async execute(): Promise<Outcome<GroupAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Removing the member…',
      api.removeMember(this.args.group, this.args.username),
    );
    const { group } = answer;
    return {
      result: answer,
      human: () =>
        `Removed ${this.args.username} (a member, or an invitation not yet answered).${group === null ? '' : `\n${renderGroup(group, this.palette, this.width)}`}`,
    };
  }
}
