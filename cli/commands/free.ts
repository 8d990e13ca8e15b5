import { Flags } from '@oclif/core';
import type { FreeAnswer } from '../../contract/api.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { intervalFlags } from '../flags.js';
import { parseDuration, toApiInstant } from '../time.js';
import { renderSlots } from '../ui/views.js';

/** `agenda free --group g --duration d`: when every member is free. */
export default class Free extends AgendaCommand<typeof Free, FreeAnswer> {
  static override summary =
    'Find the times when every member of a group is free for at least --duration.';
  static override examples = [
    '<%= config.bin %> free --group team --from "tomorrow 09:00" --to "tomorrow 18:00" --duration 45m',
  ];
  static override flags = {
    group: Flags.string({ description: 'The group.', required: true }),
    duration: Flags.string({
      description: 'Shortest useful slot: 45m, 1h30m, PT2H…',
      helpValue: '<duration>',
      required: true,
    }),
    ...intervalFlags,
  };

  protected async execute(): Promise<Outcome<FreeAnswer>> {
    const { from, to } = this.interval(this.flags.from, this.flags.to);
    const duration = parseDuration(this.flags.duration);
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Looking for free time…',
      api.free(this.flags.group, { from: toApiInstant(from), to: toApiInstant(to) }, duration.iso),
    );
    return { result: answer, human: () => renderSlots(answer.slots, this.view) };
  }
}
