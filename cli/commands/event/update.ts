import { Args, Flags } from '@oclif/core';
import { DateTime } from 'luxon';
import { InvalidInput } from '../../../contract/errors.js';
import type { ScheduledAnswer, UpdateEventRequest } from '../../../contract/api.js';
import { AgendaCommand, changedOnItsOwn } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { eventFieldFlags, parseReminders, parseUsernames, whenFlag } from '../../flags.js';
import { parseEventDuration, requireEndNotBeforeStart, toApiInstant } from '../../time.js';
import { formatInstant, renderScheduled } from '../../ui/views.js';
import { parseRepeat } from '../../repeat-input.js';

/**
 * `agenda event update <id> [--occurrence <day or time>]`: changes the given fields and keeps
 * the others — of the whole event, or of one occurrence of a series on its own (it then
 * becomes an event of its own, which the answer shows).
 */
export default class EventUpdate extends AgendaCommand<typeof EventUpdate, ScheduledAnswer> {
  static override summary =
    'Change an event you organize (all occurrences, or one with --occurrence or its #n); fields not given keep their value.';
  static override description =
    'Times are read in --tz (else the local zone); --tz also moves the event to that zone. Moving --start alone keeps the length; --duration or --end alone keeps the start (an --end without a day, like 11am, is the first such time after it). --repeat none ends a recurrence. --with invites more people. Attendees are told at once. A new time (--start, --end, --duration, --tz, --repeat) asks every invitee who had answered, yes or no, again: their answer was about the old time; members a group event was imposed on stay accepted. --occurrence changes only the occurrence of a recurring event on that day (2026-12-14, monday, tomorrow; or at that time: "2026-12-14 09:00"), as cancel --occurrence finds it: it leaves the series and becomes an event of its own with the same attendees and their answers (a new time asks them again, as for any event). A #n from a listing names its row: for a recurring event, that one occurrence.';
  static override examples = [
    '<%= config.bin %> event update 3f2c… --start "tomorrow 10am" --duration 30m',
    '<%= config.bin %> event update 3f2c… --duration 2h',
    '<%= config.bin %> event update 3f2c… --title "Sprint review" --repeat none',
    '<%= config.bin %> event update 3f2c… --occurrence 2026-12-14 --start "2026-12-14 15:00"',
  ];
  static override args = {
    id: Args.string({
      description:
        'The event: its id, a unique prefix of it (6+ characters), or #n of the last listing.',
      required: true,
    }),
  };
  static override flags = {
    title: Flags.string({ description: 'A new title.' }),
    start: whenFlag('When it starts'),
    ...eventFieldFlags,
    occurrence: Flags.string({
      description:
        'Change only the occurrence of a recurring event on this day, or starting at this time.',
      helpValue: '<day|when>',
    }),
  };

  protected async execute(): Promise<Outcome<ScheduledAnswer>> {
    const { flags } = this;
    const asked = this.occurrenceFlag(flags.occurrence);
    const start =
      flags.start === undefined ? undefined : this.when(flags.start, 'start', { needsTime: true });
    const repeat =
      flags.repeat === undefined
        ? undefined
        : flags.repeat.trim().toLowerCase() === 'none'
          ? null
          : parseRepeat(flags.repeat, { zone: this.zone, now: this.now });
    const duration = flags.duration === undefined ? undefined : parseEventDuration(flags.duration);
    const request: UpdateEventRequest = {
      title: flags.title,
      start: start === undefined ? undefined : toApiInstant(start),
      description: flags.description,
      location: flags.location,
      visibility: flags.visibility,
      repeat,
      timeZone: flags.tz === undefined ? undefined : this.zone,
      reminders: flags.remind === undefined ? undefined : parseReminders(flags.remind),
      transparent: flags.free,
      with: flags.with === undefined ? undefined : parseUsernames(flags.with, 'with'),
    };
    const lengthChanges = flags.end !== undefined || duration !== undefined;
    if (
      Object.values(request).every((value) => value === undefined) &&
      !lengthChanges &&
      flags['also-on'] === undefined
    ) {
      throw new InvalidInput(
        'nothing to change: give at least one of --title, --start, --end, --duration, --description, --location, --visibility, --repeat, --also-on, --tz, --remind, --free, --with',
      );
    }
    if (flags['allow-conflict']) request.allowConflict = true;
    const { api } = await this.connect({ authenticated: true });
    const { id, occurrence } = await this.eventOccurrence(api, this.args.id, asked);
    // A day alone is at the series' time of day in its zone: the new start's, or its own.
    request.alsoOn = await this.alsoOnFlag(flags['also-on'], async () => {
      const { event } = await this.slow('Reading the event…', api.showEvent(id));
      const zone = request.timeZone ?? event.timeZone;
      return (start ?? DateTime.fromISO(event.start)).setZone(zone);
    });
    if (occurrence !== undefined) refuseForOneOccurrence(request, id);
    // An end or a duration counts from the start: the new one, or else the event's own (for
    // one occurrence, its start), which only the server knows. So `--duration 2h` alone keeps
    // the start and sets the end 2 h after it, and `--end 11am` alone is the first 11:00
    // after the start.
    const from =
      start ??
      (!lengthChanges
        ? undefined
        : DateTime.fromISO(
            occurrence ?? (await this.slow('Reading the event…', api.showEvent(id))).event.start,
            { zone: this.zone },
          ));
    if (flags.end !== undefined) {
      const end = this.when(flags.end, 'end', { needsTime: true, after: from });
      if (from !== undefined) requireEndNotBeforeStart(from, end);
      request.end = toApiInstant(end);
    } else if (duration !== undefined && from !== undefined) {
      // The API's duration is positive: an instant (`--duration 0`) is an end at the start.
      if (start === undefined || duration.ms === 0) {
        request.end = toApiInstant(from.plus({ milliseconds: duration.ms }));
      } else request.duration = duration.iso;
    }
    const answer = await this.slow(
      'Updating…',
      api.updateEvent(id, request, occurrence).catch((error: unknown) => {
        throw changedOnItsOwn(error, 'update');
      }),
    );
    return {
      result: answer,
      human: () =>
        occurrence === undefined
          ? renderScheduled('Updated', answer, this.view)
          : `${renderScheduled(`Changed the ${formatInstant(occurrence, this.view)} occurrence on its own`, answer, this.view)}\n` +
            this.palette.dim(`(the rest of the series: agenda event show ${id})`),
    };
  }
}

/**
 * Refuses what one occurrence cannot take: it becomes an event of its own that does not
 * repeat, and people are invited to the series, not to one of its occurrences.
 */
function refuseForOneOccurrence(request: UpdateEventRequest, id: string): void {
  if (request.repeat !== undefined || request.alsoOn !== undefined) {
    throw new InvalidInput(
      `one occurrence cannot repeat: change the rule of the whole series (agenda event update ${id} --repeat …)`,
      { field: request.repeat !== undefined ? 'repeat' : 'also-on' },
    );
  }
  if (request.with !== undefined) {
    throw new InvalidInput(
      `people are invited to the whole series: agenda event update ${id} --with …`,
      { field: 'with' },
    );
  }
}
