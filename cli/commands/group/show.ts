import { Args } from '@oclif/core';
import type { GroupAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderGroup } from '../../ui/views.js';

/** `agenda group show <group>`: kind, owner, members and levels. */
export default class GroupShow extends AgendaCommand<typeof GroupShow, GroupAnswer> {
  static override summary = 'Show a group: kind, owner, members and their levels.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> team',
    '<%= config.bin %> <%= command.id %> team --json',
  ];
  static override args = {
    group: Args.string({ description: 'The group.', required: true }),
  };

  protected async execute(): Promise<Outcome<GroupAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Fetching the group…', api.showGroup(this.args.group));
    const { group } = answer;
    return {
      result: answer,
      human: () => (group === null ? '' : renderGroup(group, this.palette, this.width)),
    };
  }
}
