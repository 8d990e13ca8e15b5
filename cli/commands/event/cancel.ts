import { Args, Flags } from '@oclif/core';
import type { EventAnswer } from '../../../contract/api.js';
import { AgendaCommand, changedOnItsOwn } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { formatInstant } from '../../ui/views.js';

/** The cancelled event; `alreadyCancelled` when it was so before this command. */
export type CancelResult = EventAnswer & { readonly alreadyCancelled?: true };

/** `agenda event cancel <id> [--occurrence <day or time>]`: cancels an event you organize. */
export default class EventCancel extends AgendaCommand<typeof EventCancel, CancelResult> {
  static override summary =
    'Cancel an event you organize (all occurrences, or one with --occurrence or its #n); attendees are told.';
  static override description =
    '--occurrence takes the day of the occurrence (2026-12-14, dec 14, monday, tomorrow: a day in --tz, else the local zone) when the event happens once that day; when it happens several times that day, the command lists them and asks for the time (--occurrence "2026-12-14 09:00"). A #n from a listing names its row: for a recurring event, that one occurrence. Cancelling a whole series also cancels the occurrences changed on their own (agenda event update --occurrence), wherever they were moved.';
  static override examples = [
    '<%= config.bin %> event cancel 3f2c… --occurrence 2026-12-14',
    '<%= config.bin %> event cancel 3f2c… --occurrence "next monday"',
    '<%= config.bin %> event cancel 3f2c… --occurrence "2026-12-14 09:00"',
  ];
  static override args = {
    id: Args.string({
      description:
        'The event: its id, a unique prefix of it (6+ characters), or #n of the last listing.',
      required: true,
    }),
  };
  static override flags = {
    occurrence: Flags.string({
      description:
        'Cancel only the occurrence of a recurring event on this day, or starting at this time.',
      helpValue: '<day|when>',
    }),
  };

  protected async execute(): Promise<Outcome<CancelResult>> {
    const asked = this.occurrenceFlag(this.flags.occurrence);
    const { api } = await this.connect({ authenticated: true });
    const { id, occurrence } = await this.eventOccurrence(api, this.args.id, asked);
    // The server answers a cancelled event's cancel as it answers the first one (the event,
    // cancelled), so only its state before tells "cancelled" from "already cancelled"
    // (outside attack, P4: `Cancelled Many 2` twice). A read that fails tells nothing: the
    // cancel goes on and says what the server answers.
    const before =
      occurrence === undefined
        ? await api.showEvent(id).then(
            (shown) => shown.event,
            () => undefined,
          )
        : undefined;
    const answer = await this.slow(
      'Cancelling…',
      api.cancelEvent(id, occurrence).catch((error: unknown) => {
        throw changedOnItsOwn(error, 'cancel');
      }),
    );
    const already = before?.status === 'cancelled';
    return {
      result: already ? { ...answer, alreadyCancelled: true } : answer,
      human: () =>
        occurrence === undefined
          ? already
            ? `${this.palette.bold(answer.event.title)} (${answer.event.id}) was already cancelled: nothing changed.`
            : `Cancelled ${this.palette.bold(answer.event.title)} (${answer.event.id}).`
          : `Cancelled the ${formatInstant(occurrence, this.view)} occurrence of ${this.palette.bold(answer.event.title)}` +
            ` (the whole series: agenda event cancel ${answer.event.id}).`,
    };
  }
}
