import { Args, Flags } from '@oclif/core';
import { DateTime } from 'luxon';
import { InvalidInput } from '../../../contract/errors.js';
import type { ScheduledAnswer, UpdateEventRequest } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { eventFieldFlags, parseReminders, parseUsernames, whenFlag } from '../../flags.js';
import { parseDuration, requireEndAfterStart, toApiInstant } from '../../time.js';
import { renderScheduled } from '../../ui/views.js';

/** `agenda event update <id>`: changes the given fields and keeps the others. */
export default class EventUpdate extends AgendaCommand<typeof EventUpdate, ScheduledAnswer> {
  static override summary = 'Change an event you organize; fields not given keep their value.';
  static override description =
    'Times are read in --tz (else the local zone); --tz also moves the event to that zone. Moving --start alone keeps the length; --duration or --end alone keeps the start (an --end without a day, like 11am, is the first such time after it). --repeat none ends a recurrence. --with invites more people. Attendees are told at once.';
  static override examples = [
    '<%= config.bin %> event update 3f2c… --start "tomorrow 10am" --duration 30m',
    '<%= config.bin %> event update 3f2c… --duration 2h',
    '<%= config.bin %> event update 3f2c… --title "Sprint review" --repeat none',
  ];
  static override args = {
    id: Args.string({
      description:
        'The event: its id, a unique prefix of it (4+ characters), or #n of the last listing.',
      required: true,
    }),
  };
  static override flags = {
    title: Flags.string({ description: 'A new title.' }),
    start: whenFlag('When it starts'),
    ...eventFieldFlags,
  };

  protected async execute(): Promise<Outcome<ScheduledAnswer>> {
    const { flags } = this;
    const start =
      flags.start === undefined ? undefined : this.when(flags.start, 'start', { needsTime: true });
    const repeat =
      flags.repeat === undefined
        ? undefined
        : flags.repeat.trim().toLowerCase() === 'none'
          ? null
          : flags.repeat;
    const duration = flags.duration === undefined ? undefined : parseDuration(flags.duration);
    const request: UpdateEventRequest = {
      title: flags.title,
      start: start === undefined ? undefined : toApiInstant(start),
      description: flags.description,
      location: flags.location,
      visibility: flags.visibility,
      repeat,
      timeZone: flags.tz === undefined ? undefined : this.zone,
      reminders: flags.remind === undefined ? undefined : parseReminders(flags.remind),
      with: flags.with === undefined ? undefined : parseUsernames(flags.with, 'with'),
    };
    const lengthChanges = flags.end !== undefined || duration !== undefined;
    if (Object.values(request).every((value) => value === undefined) && !lengthChanges) {
      throw new InvalidInput(
        'nothing to change: give at least one of --title, --start, --end, --duration, --description, --location, --visibility, --repeat, --tz, --remind, --with',
      );
    }
    if (flags['allow-conflict']) request.allowConflict = true;
    const { api } = await this.connect({ authenticated: true });
    const { id, row } = await this.eventRow(this.args.id, api);
    if (row?.recurring === true) {
      // The row is one occurrence, and an update changes the whole series: moving every
      // occurrence for a `#n` that showed one is not what the person pointed at.
      throw new InvalidInput(
        `${this.args.id} is one occurrence (${row.start}) of the recurring event "${row.title}", and an update changes every occurrence: name the series by its id to change them all (agenda event update ${id} …); one occurrence cannot be changed on its own yet (cancel it with agenda event cancel ${this.args.id})`,
        { field: 'id' },
      );
    }
    // An end or a duration counts from the start: the new one, or else the event's own, which
    // only the server knows. So `--duration 2h` alone keeps the start and sets the end 2 h
    // after it, and `--end 11am` alone is the first 11:00 after the start.
    const from =
      start ??
      (lengthChanges
        ? DateTime.fromISO((await this.slow('Reading the event…', api.showEvent(id))).event.start, {
            zone: this.zone,
          })
        : undefined);
    if (flags.end !== undefined) {
      const end = this.when(flags.end, 'end', { needsTime: true, after: from });
      if (from !== undefined) requireEndAfterStart(from, end);
      request.end = toApiInstant(end);
    } else if (duration !== undefined && from !== undefined) {
      if (start === undefined) request.end = toApiInstant(from.plus({ milliseconds: duration.ms }));
      else request.duration = duration.iso;
    }
    const answer = await this.slow('Updating…', api.updateEvent(id, request));
    return { result: answer, human: () => renderScheduled('Updated', answer, this.view) };
  }
}
