import { Args } from '@oclif/core';
import type { GroupAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';

/** `agenda group leave <group>`. */
export default class GroupLeave extends AgendaCommand<typeof GroupLeave, GroupAnswer> {
  static override summary =
    'Leave a group (the owner can leave only as its last member, which dissolves it).';
  static override examples = ['<%= config.bin %> <%= command.id %> book-club'];
  static override args = {
    group: Args.string({ description: 'The group.', required: true }),
  };

  protected async execute(): Promise<Outcome<GroupAnswer>> {
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Leaving…', api.leaveGroup(this.args.group));
    return {
      result: answer,
      human: () =>
        answer.group === null
          ? `Left ${this.args.group}; it had no other member and is dissolved.`
          : `Left ${this.args.group}.`,
    };
  }
}
