import { Args } from '@oclif/core';
import type { GroupAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderGroup } from '../../ui/views.js';

/** `agenda group join <group>`: accepts an invitation to join. */
export default class GroupJoin extends AgendaCommand<typeof GroupJoin, GroupAnswer> {
  static override summary = 'Join a group you were invited to.';
  static override description =
    'You join at the level you were invited at, and receive the group’s future events: those organized by a superior are in your agenda at once, the others wait for your answer in `agenda invite list`.';
  static override examples = ['<%= config.bin %> <%= command.id %> book-club'];
  static override args = {
    group: Args.string({ description: 'The group.', required: true }),
  };

  protected async execute(): Promise<Outcome<GroupAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Joining…', api.joinGroup(this.args.group));
    const { group } = answer;
    return {
      result: answer,
      human: () =>
        `Joined ${this.args.group}.${group === null ? '' : `\n${renderGroup(group, this.palette, this.width)}`}`,
    };
  }
}
