import { Flags } from '@oclif/core';
import { InvalidInput } from '../../contract/errors.js';
import type { FreeAnswer } from '../../contract/api.js';
import { AgendaCommand } from '../base-command.js';
import type { Outcome } from '../base-command.js';
import { intervalFlags, parseUsernames } from '../flags.js';
import { parseDuration, toApiInstant } from '../time.js';
import { renderSlots } from '../ui/views.js';
import {
  DEFAULT_WORKING_HOURS,
  parseWorkingHours,
  withinWindows,
  workingWindows,
} from '../working-hours.js';

/** How long a slot must last when `--duration` is not given. */
const DEFAULT_DURATION = '30m';

/** `agenda free (--group g | --users a,b)`: when everyone is free, within working hours. */
export default class Free extends AgendaCommand<typeof Free, FreeAnswer> {
  static override summary =
    'Find when every member of a group (--group), or you and some people (--users), are free.';
  static override description = [
    `Looks from --from to --to (default: now → 7 days) for free stretches of at least --duration (default ${DEFAULT_DURATION}) within working hours: ${DEFAULT_WORKING_HOURS}, Monday to Friday, in --tz (else the local zone). --hours 9-17 changes the hours, --weekends adds Saturday and Sunday, --hours any looks at every hour of every day.`,
    '--users counts you and the people named, each of whom must share a group with you (as for seeing their agenda); --group counts the members of a group of yours, not those still invited.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> free --group team',
    '<%= config.bin %> free --users bob,carol --duration 1h --from monday --to friday',
    '<%= config.bin %> free --group team --hours 09:30-17:00 --weekends --duration 45m',
  ];
  static override flags = {
    group: Flags.string({ description: 'The group whose members must be free.' }),
    users: Flags.string({
      description: 'People who must be free with you: comma-separated usernames.',
      helpValue: 'alice,bob',
    }),
    duration: Flags.string({
      description: `Shortest useful slot: 30m, 45 min, 1h30, 1.5h… (default ${DEFAULT_DURATION}).`,
      helpValue: '<duration>',
      default: DEFAULT_DURATION,
    }),
    hours: Flags.string({
      description: `Working hours of each day, in --tz: 08:00-18:00, 9-17, or any (default ${DEFAULT_WORKING_HOURS}).`,
      helpValue: '<HH:MM-HH:MM|any>',
      default: DEFAULT_WORKING_HOURS,
    }),
    weekends: Flags.boolean({
      description: 'Count Saturdays and Sundays as working days.',
      default: false,
    }),
    ...intervalFlags,
  };

  protected async execute(): Promise<Outcome<FreeAnswer>> {
    const { flags } = this;
    if ((flags.group === undefined) === (flags.users === undefined)) {
      throw new InvalidInput(
        'say whose free time: --group <group> (its members) or --users alice,bob (you and them)',
        { field: 'group' },
      );
    }
    const users = flags.users === undefined ? undefined : parseUsernames(flags.users, 'users');
    const { from, to } = this.interval(flags.from, flags.to);
    const duration = parseDuration(flags.duration);
    if (duration.ms % 60_000 !== 0) {
      throw new InvalidInput('the duration of a free slot is a whole number of minutes', {
        field: 'duration',
      });
    }
    const hours = parseWorkingHours(flags.hours);
    const { api } = await this.connect({ authenticated: true });
    const answer = await this.slow(
      'Looking for free time…',
      api.free(
        users === undefined ? { group: flags.group ?? '' } : { users },
        { from: toApiInstant(from), to: toApiInstant(to) },
        duration.iso,
      ),
    );
    const slots =
      hours === null
        ? answer.slots
        : withinWindows(
            answer.slots,
            workingWindows(from, to, hours, { zone: this.zone, weekends: flags.weekends }),
            duration.ms,
          );
    const result: FreeAnswer = { ...answer, slots };
    const within =
      hours === null
        ? 'at any hour'
        : `within ${flags.hours.trim()}${flags.weekends ? ', every day' : ', Monday to Friday'} (${this.zone}); --hours any for every hour`;
    return {
      result,
      human: () => `${renderSlots(slots, this.view)}\n${this.palette.dim(`(${within})`)}`,
    };
  }
}
