import { Args, Flags } from '@oclif/core';
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
    'Times without an offset are read in --tz (else the local zone); --tz also moves the event to that zone. --repeat none ends a recurrence. --with invites more people. Attendees are told at once.';
  static override examples = [
    '<%= config.bin %> event update 3f2c… --start "tomorrow 10:00" --duration 30m',
    '<%= config.bin %> event update 3f2c… --title "Sprint review" --repeat none',
  ];
  static override args = {
    id: Args.string({ description: 'The event (series) id.', required: true }),
  };
  static override flags = {
    title: Flags.string({ description: 'A new title.' }),
    start: whenFlag('When it starts'),
    ...eventFieldFlags,
  };

  protected async execute(): Promise<Outcome<ScheduledAnswer>> {
    const { flags } = this;
    const start = flags.start === undefined ? undefined : this.when(flags.start, 'start');
    const end = flags.end === undefined ? undefined : this.when(flags.end, 'end');
    if (start !== undefined && end !== undefined) requireEndAfterStart(start, end);
    const repeat =
      flags.repeat === undefined
        ? undefined
        : flags.repeat.trim().toLowerCase() === 'none'
          ? null
          : flags.repeat;
    const request: UpdateEventRequest = {
      title: flags.title,
      start: start === undefined ? undefined : toApiInstant(start),
      end: end === undefined ? undefined : toApiInstant(end),
      duration: flags.duration === undefined ? undefined : parseDuration(flags.duration).iso,
      description: flags.description,
      location: flags.location,
      visibility: flags.visibility,
      repeat,
      timeZone: flags.tz === undefined ? undefined : this.zone,
      reminders: flags.remind === undefined ? undefined : parseReminders(flags.remind),
      with: flags.with === undefined ? undefined : parseUsernames(flags.with, 'with'),
    };
    if (Object.values(request).every((value) => value === undefined)) {
      throw new InvalidInput(
        'nothing to change: give at least one of --title, --start, --end, --duration, --description, --location, --visibility, --repeat, --tz, --remind, --with',
      );
    }
    if (flags['allow-conflict']) request.allowConflict = true;
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Updating…', api.updateEvent(this.args.id, request));
    return { result: answer, human: () => renderScheduled('Updated', answer, this.view) };
  }
}
