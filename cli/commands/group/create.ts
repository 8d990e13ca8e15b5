import { Args, Flags } from '@oclif/core';
import { InvalidInput } from '../../../contract/errors.js';
import type { GroupAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { fitText } from '../../ui/calendar.js';
import { renderGroup } from '../../ui/views.js';

/** `agenda group create <name> (--hierarchical | --flat)`. */
export default class GroupCreate extends AgendaCommand<typeof GroupCreate, GroupAnswer> {
  static override summary = 'Create a group you own, flat (the default) or hierarchical.';
  static override description =
    'Flat (the default): members are equal, and a group event is pending until every member accepts. Hierarchical (--hierarchical): members have levels (you, the owner, are 0; higher numbers rank lower); superiors see the busy events of the members below them in full, and events they organize are imposed on lower levels. The kind cannot be changed later. Flat is the default because it gives nobody power over anyone: choose --hierarchical when that is what the group is for.';
  static override examples = [
    '<%= config.bin %> group create book-club',
    '<%= config.bin %> group create team --hierarchical',
  ];
  static override args = {
    name: Args.string({ description: 'The new group name.', required: true }),
  };
  static override flags = {
    hierarchical: Flags.boolean({
      description: 'Members have levels; superiors see more and impose events.',
    }),
    flat: Flags.boolean({
      description: 'All members are equal; events need everyone (the default).',
    }),
  };

  protected async execute(): Promise<Outcome<GroupAnswer>> {
    if (this.flags.hierarchical && this.flags.flat) {
      throw new InvalidInput('a group is either --flat or --hierarchical: choose one', {
        field: 'kind',
      });
    }
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
      human: () =>
        group === null
          ? ''
          : // Fitted to the terminal as every view is: the heading with its "Created", the hint.
            `${renderGroup(group, this.palette, this.width, 'Created ')}${
              this.flags.hierarchical || this.flags.flat
                ? ''
                : `\n${fitText('(flat, the default: members are equal; agenda group create <name> --hierarchical for levels)', this.width, this.palette.dim)}`
            }`,
    };
  }
}
