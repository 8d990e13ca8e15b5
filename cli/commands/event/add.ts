import { Args, Flags } from '@oclif/core';
import { InvalidInput } from '../../../contract/errors.js';
import type { CreateEventRequest, ScheduledAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { eventFieldFlags, parseReminders, parseUsernames, requiredWhenFlag } from '../../flags.js';
import { parseDuration, requireEndAfterStart, toApiInstant } from '../../time.js';
import { renderScheduled } from '../../ui/views.js';

/** `agenda event add <title>`: a personal event, an appointment (`--with`) or a group event. */
export default class EventAdd extends AgendaCommand<typeof EventAdd, ScheduledAnswer> {
  static override summary =
    'Schedule an event, an appointment (--with) or a group event (--group).';
  static override description =
    'Times without an offset are read in --tz (else the local zone), which is also the zone a recurrence (--repeat) follows, daylight saving included. An event that overlaps one you accepted is refused (exit 4, with the list) unless --allow-conflict.';
  static override examples = [
    '<%= config.bin %> event add "Dentist" --start "tomorrow 09:30" --duration 45m',
    '<%= config.bin %> event add "1:1" --start 2026-03-02T10:00 --end 2026-03-02T10:30 --with bob --tz Europe/Madrid',
    '<%= config.bin %> event add "Weekly sync" --start 2026-03-02T09:00 --duration 1h --group team --repeat "FREQ=WEEKLY;BYDAY=MO"',
    '<%= config.bin %> event add "Flight" --start "tomorrow 07:00" --duration 2h --remind 3h --remind 1d',
  ];
  static override args = {
    title: Args.string({ description: 'What it is.', required: true }),
  };
  static override flags = {
    start: requiredWhenFlag('When it starts'),
    ...eventFieldFlags,
    group: Flags.string({ description: 'Make it an event of this group: every member attends.' }),
  };

  protected async execute(): Promise<Outcome<ScheduledAnswer>> {
    const { flags } = this;
    const start = this.when(flags.start, 'start');
    const end = flags.end === undefined ? undefined : this.when(flags.end, 'end');
    const duration = flags.duration === undefined ? undefined : parseDuration(flags.duration);
    if (end === undefined && duration === undefined) {
      throw new InvalidInput('say how long it lasts: --end <when> or --duration <duration>', {
        field: 'end',
      });
    }
    if (end !== undefined) requireEndAfterStart(start, end);
    const request: CreateEventRequest = {
      title: this.args.title,
      start: toApiInstant(start),
      end: end === undefined ? undefined : toApiInstant(end),
      duration: duration?.iso,
      timeZone: this.zone,
      description: flags.description,
      location: flags.location,
      visibility: flags.visibility,
      repeat: flags.repeat,
      reminders: flags.remind === undefined ? undefined : parseReminders(flags.remind),
      with: flags.with === undefined ? undefined : parseUsernames(flags.with, 'with'),
      group: flags.group,
      allowConflict: flags['allow-conflict'] ? true : undefined,
    };
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Scheduling…', api.createEvent(request));
    return { result: answer, human: () => renderScheduled('Scheduled', answer, this.view) };
  }
}
