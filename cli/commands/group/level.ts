import { Args } from '@oclif/core';
import { InvalidInput } from '../../../contract/errors.js';
import type { GroupAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { renderGroup } from '../../ui/views.js';

/** `agenda group level <group> <username> <level>`: moves a member of a hierarchical group. */
export default class GroupLevel extends AgendaCommand<typeof GroupLevel, GroupAnswer> {
  static override summary = "Change a member's level in a hierarchical group.";
  static override description = [
    '0 is the owner; a higher number ranks lower. Superiors see the busy events of the members below them in full and impose events on them.',
    'Moving a member UP (a lower number) is done by the owner, or by a member above both the old and the new level (as with invitations, never to your own level or above).',
    "Moving a member DOWN (a higher number) puts them under people who were their equals or subordinates, who would then read their busy events and impose events on them: that needs the member's consent, so only the member moves themselves down (`agenda group level team <you> 3`). Asking it for someone else is refused (exit 3), saying whom it would put above them.",
    "The owner's level stays 0; a flat group has no levels. The member is told of the change (the owner, when members move themselves).",
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> group level team bob 1',
    '<%= config.bin %> group level team alice 3 --profile alice   # alice moves herself down',
  ];
  static override args = {
    group: Args.string({ description: 'The hierarchical group.', required: true }),
    username: Args.string({ description: 'The member to move.', required: true }),
    level: Args.string({ description: 'The new level (0 ranks highest).', required: true }),
  };

  protected async execute(): Promise<Outcome<GroupAnswer>> {
    const { group, username } = this.args;
    const text = this.args.level.trim();
    const level = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(level) || level > 1000) {
      throw new InvalidInput(
        `the level "${this.args.level}" is not a level: a whole number from 0 (the owner) to 1000`,
        { field: 'level' },
      );
    }
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Changing the level…',
      api.call('changeLevel', { params: { group, username }, body: { level } }),
    );
    const changed = answer.group;
    return {
      result: answer,
      human: () =>
        `${username} is at level ${level} in ${group}.${changed === null ? '' : `\n${renderGroup(changed, this.palette, this.width)}`}`,
    };
  }
}
