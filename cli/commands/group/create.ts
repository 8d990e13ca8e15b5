import { Args, Flags } from '@oclif/core';
import type { GroupAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderGroup } from '../../ui/views.js';

/** `agenda group create <name> (--hierarchical | --flat)`. */
export default class GroupCreate extends AgendaCommand<typeof GroupCreate, GroupAnswer> {
  static override summary = 'Create a group you own, flat or hierarchical.';
  static override description =
    'Flat: a group event is pending until every member accepts. Hierarchical: members have levels (you, the owner, are 0); events you organize are imposed on lower levels.';
  static override args = {
    name: Args.string({ description: 'The new group name.', required: true }),
  };
  static override flags = {
    hierarchical: Flags.boolean({
      description: 'Members have levels; superiors impose events.',
      exactlyOne: ['hierarchical', 'flat'],
    }),
    flat: Flags.boolean({
      description: 'All members are equal; events need everyone.',
      exactlyOne: ['hierarchical', 'flat'],
    }),
  };

  protected async execute(): Promise<Outcome<GroupAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Creating the group…',
      api.createGroup({
        name: this.args.name,
        kind: this.flags.hierarchical ? 'hierarchical' : 'flat',
      }),
    );
    const { group } = answer;
    return {
      result: answer,
      human: () => (group === null ? '' : `Created ${renderGroup(group, this.palette)}`),
    };
  }
}
