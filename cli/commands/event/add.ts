import { Args, Flags } from '@oclif/core';
import { InvalidInput } from '../../../contract/errors.js';
import type { CreateEventRequest, ScheduledAnswer } from '../../../contract/api.js';
import { AgendaCommand } from '../../base-command.js';
import type { Outcome } from '../../base-command.js';
import { eventFieldFlags, parseReminders, parseUsernames, requiredWhenFlag } from '../../flags.js';
import { parseEventDuration, requireEndNotBeforeStart, toApiInstant } from '../../time.js';
import { formatInstant, relativeHint, renderScheduled } from '../../ui/views.js';
import { parseRepeat } from '../../repeat-input.js';

/** `agenda event add <title>`: a personal event, an appointment (`--with`) or a group event. */
export default class EventAdd extends AgendaCommand<typeof EventAdd, ScheduledAnswer> {
  static override summary =
    'Schedule an event, an appointment (--with) or a group event (--group).';
  static override description =
    'Times are read in --tz (else the local zone), which is also the zone a recurrence (--repeat) follows, daylight saving included. --start and --end need a time of day: "tomorrow" alone is refused (write "tomorrow 9am"); a day in ISO form (2026-03-02) is its midnight. An --end written without a day ("10am") is the first such time after the start. A start in the past is scheduled anyway, with a warning on stderr. An event that overlaps one you accepted is refused (exit 4, with the list) unless --allow-conflict.';
  static override examples = [
    '<%= config.bin %> event add "Dentist" --start "tomorrow 9:30am" --duration 45m',
    '<%= config.bin %> event add "Planning" --start "next monday 14:00" --end 15:30',
    '<%= config.bin %> event add "Call" --start "in 2 hours" --duration "1h30"',
    '<%= config.bin %> event add "1:1" --start 2026-03-02T10:00 --end 2026-03-02T10:30 --with bob --tz Europe/Madrid',
    '<%= config.bin %> event add "Weekly sync" --start 2026-03-02T09:00 --duration 1h --group team --repeat "weekly on mon"',
    '<%= config.bin %> event add "Flight" --start "tomorrow 07:00" --duration 2h --remind 3h --remind 1d',
    '<%= config.bin %> event add "Working from home" --start "friday 9am" --duration 8h --free',
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
    const start = this.when(flags.start, 'start', { needsTime: true });
    const end =
      flags.end === undefined
        ? undefined
        : this.when(flags.end, 'end', { needsTime: true, after: start });
    // `--duration 0` is an instant, as an end at the start is.
    const duration = flags.duration === undefined ? undefined : parseEventDuration(flags.duration);
    if (end === undefined && duration === undefined) {
      throw new InvalidInput('say how long it lasts: --end <when> or --duration <duration>', {
        field: 'end',
      });
    }
    if (end !== undefined) requireEndNotBeforeStart(start, end);
    const request: CreateEventRequest = {
      title: this.args.title,
      start: toApiInstant(start),
      // The API's duration is positive: an instant is sent as an end at the start.
      end:
        end !== undefined
          ? toApiInstant(end)
          : duration?.ms === 0
            ? toApiInstant(start)
            : undefined,
      duration: duration === undefined || duration.ms === 0 ? undefined : duration.iso,
      timeZone: this.zone,
      description: flags.description,
      location: flags.location,
      visibility: flags.visibility,
      repeat:
        flags.repeat === undefined
          ? undefined
          : parseRepeat(flags.repeat, { zone: this.zone, now: this.now }),
      alsoOn: await this.alsoOnFlag(flags['also-on'], () => start),
      reminders: flags.remind === undefined ? undefined : parseReminders(flags.remind),
      transparent: flags.free === true ? true : undefined,
      with: flags.with === undefined ? undefined : parseUsernames(flags.with, 'with'),
      group: flags.group,
      allowConflict: flags['allow-conflict'] ? true : undefined,
    };
    // Said once the request is whole: a refusal of another flag comes alone.
    if (start < this.now.startOf('minute')) {
      // Recording what already happened is allowed (a meeting held, a trip taken); the
      // natural forms land in the past only when they say so (`last friday 9am`), so this was
      // typed on purpose or by mistake, and a person should know which before the invitations go out.
      this.caution(
        `the start (${formatInstant(toApiInstant(start), this.view)}) is ${relativeHint(toApiInstant(start), this.now)}, in the past: scheduled anyway`,
        'past_start',
      );
    }
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow('Scheduling…', api.createEvent(request));
    return { result: answer, human: () => renderScheduled('Scheduled', answer, this.view) };
  }
}
