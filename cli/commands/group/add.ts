import { Args, Flags } from '@oclif/core';
import type { GroupAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderGroup } from '../../ui/views.js';

/** `agenda group add <group> <username> [--level n]`. */
export default class GroupAdd extends AgendaCommand<typeof GroupAdd, GroupAnswer> {
  static override summary = 'Add a member to a group.';
  static override description =
    'In a hierarchical group --level says their rank (0 is the owner, higher numbers rank lower); a member other than the owner may only add people below their own level.';
  static override args = {
    group: Args.string({ description: 'The group.', required: true }),
    username: Args.string({ description: 'Who to add.', required: true }),
  };
  static override flags = {
    level: Flags.integer({ description: 'Rank in a hierarchical group.', min: 0, max: 1000 }),
  };

  protected async execute(): Promise<Outcome<GroupAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Adding the member…',
      api.addMember(this.args.group, {
        username: this.args.username,
        ...(this.flags.level === undefined ? {} : { level: this.flags.level }),
      }),
    );
    const { group } = answer;
    return {
      result: answer,
      human: () =>
        `Added ${this.args.username}.${group === null ? '' : `\n${renderGroup(group, this.palette)}`}`,
    };
  }
}
