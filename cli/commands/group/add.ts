import { Args, Flags } from '@oclif/core';
import type { GroupAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderGroup } from '../../ui/views.js';

/** `agenda group add <group> <username> [--level n]`: invites; they join by consent. */
export default class GroupAdd extends AgendaCommand<typeof GroupAdd, GroupAnswer> {
  static override summary = 'Invite someone to join a group.';
  static override description =
    'Membership is by consent: they become a member when they run `agenda group join <group>` (they see the invitation in `agenda invite list`), and may decline. Until then nothing of the group reaches them, nor does anything of theirs reach the group. In a hierarchical group --level says their rank (0 is the owner, higher numbers rank lower); a member other than the owner may only invite people below their own level. `agenda group remove` withdraws an invitation.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> book-club bob',
    {
      description: 'In a hierarchical group, at level 2',
      command: '<%= config.bin %> <%= command.id %> team carol --level 2',
    },
  ];
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
      'Inviting…',
      api.addMember(this.args.group, {
        username: this.args.username,
        ...(this.flags.level === undefined ? {} : { level: this.flags.level }),
      }),
    );
    const { group } = answer;
    return {
      result: answer,
      human: () =>
        `Invited ${this.args.username}: they become a member when they join (agenda group join ${this.args.group}).${group === null ? '' : `\n${renderGroup(group, this.palette, this.width)}`}`,
    };
  }
}
