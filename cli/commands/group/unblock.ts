import { Args } from '@oclif/core';
import type { DeclineGroupAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';

/** `agenda group unblock <group>`: accepts the group's invitations again. */
export default class GroupUnblock extends AgendaCommand<typeof GroupUnblock, DeclineGroupAnswer> {
  static override summary = 'Accept invitations to a group again, after `group decline --block`.';
  static override examples = ['<%= config.bin %> <%= command.id %> spam-club'];
  static override args = {
    group: Args.string({ description: 'The group.', required: true }),
  };

  protected async execute(): Promise<Outcome<DeclineGroupAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Unblocking…', api.unblockGroup(this.args.group));
    return {
      result: answer,
      human: () => `Invitations to ${answer.group} reach you again.`,
    };
  }
}
