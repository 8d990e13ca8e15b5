/**
 * Flags that several commands share, so each is spelled and described once. Times stay
 * text here: they are read in the command, once `--tz` is known (see cli/time.ts).
 */
import { Flags } from '@oclif/core';
import { InvalidInput } from '../contract/errors.js';
import { parseDuration } from './time.js';

const WHEN_HELP =
  'e.g. "tomorrow 9am", "next monday 14:00", "in 2 hours", +2h, or ISO 8601 (offset optional)';

/** An optional `<when>` flag. */
export function whenFlag(description: string) {
  return Flags.string({ description: `${description} (${WHEN_HELP}).`, helpValue: '<when>' });
}

/** A `<when>` flag that must be given. */
export function requiredWhenFlag(description: string) {
  return Flags.string({
    description: `${description} (${WHEN_HELP}).`,
    helpValue: '<when>',
    required: true,
  });
}

/** `--from`/`--to` of a query; both default (now → now + 7 days). */
export const intervalFlags = {
  from: whenFlag('Start of the interval (default: now; a day starts at its 00:00)'),
  to: whenFlag('End of the interval (default: 7 days after --from; a day is included whole)'),
};

/** `--allow-conflict`. */
export const allowConflictFlag = Flags.boolean({
  description: 'Go ahead even if it overlaps events you have accepted.',
  default: false,
});

/** The fields `event add` and `event update` share. */
export const eventFieldFlags = {
  end: whenFlag('When it ends'),
  duration: Flags.string({
    description:
      'How long it lasts, in whole minutes: 45m, 90 min, 1h30, 1.5h, 2 hours, 1d or PT1H30M.',
    helpValue: '<duration>',
    exclusive: ['end'],
  }),
  description: Flags.string({ description: 'Free text describing the event.' }),
  location: Flags.string({ description: 'Where it takes place.' }),
  visibility: Flags.option({
    description: 'What others see: public (everything), busy (a busy block), private.',
    options: ['public', 'busy', 'private'] as const,
  })(),
  with: Flags.string({
    description: 'Invite people: comma-separated usernames.',
    helpValue: 'alice,bob',
  }),
  repeat: Flags.string({
    description:
      'How it repeats: daily, weekly, weekdays, monthly, yearly, "every 2 weeks", "weekly on mon,wed", "monthly on the 15th", "monthly on the last friday", each optionally with "until dec 31" or "10 times"; or an RRULE (FREQ, INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY), e.g. FREQ=WEEKLY;BYDAY=MO.',
    helpValue: '<rule>',
  }),
  'also-on': Flags.string({
    description:
      'Also on these days, besides what --repeat gives (iCalendar RDATE): a day (at the start\'s time of day) or a day and a time; repeat the flag or separate with commas. Needs --repeat ("once" for these days alone). On update the list replaces the event\'s; none removes them.',
    helpValue: '<day>',
    multiple: true,
  }),
  remind: Flags.string({
    description:
      "Be reminded this long before it starts (agenda watch --remind): 10m, 1h, 1d, 0 (at the start); repeat the flag or separate with commas for several (at most 5, each at most 4 weeks). On update the list replaces the event's; none removes them.",
    helpValue: '<duration>',
    multiple: true,
  }),
  free: Flags.boolean({
    description:
      'Show it as free: it takes none of your time, so it never conflicts and leaves you free when others look for free time (a holiday, a reminder). --no-free makes it busy again.',
    allowNo: true,
  }),
  'allow-conflict': allowConflictFlag,
};

/**
 * `--remind` values as minutes before the start: durations (`10m`, `1h30m`, `1d`, `0`), in
 * several flags or comma-separated; `none` alone means none. Whole minutes only. The bounds
 * (how many, how early) are the server's to enforce, so that every client is told the same.
 */
export function parseReminders(values: readonly string[]): number[] {
  const parts = values
    .flatMap((value) => value.split(','))
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 1 && parts[0]?.toLowerCase() === 'none') return [];
  if (parts.length === 0) {
    throw new InvalidInput('--remind names no time: give e.g. 10m, 1h or 1d (or none)', {
      field: 'remind',
    });
  }
  return parts.map((part) => {
    if (/^[+-]?0+$/.test(part)) return 0;
    if (part.toLowerCase() === 'none') {
      throw new InvalidInput('--remind none cannot be combined with reminders', {
        field: 'remind',
      });
    }
    if (part.startsWith('-')) {
      throw new InvalidInput(
        `--remind ${part}: a reminder is how long before the start, e.g. 10m (not negative)`,
        { field: 'remind' },
      );
    }
    const { ms } = parseDuration(part.replace(/^\+/, ''), 'remind', { zero: true });
    if (ms % MINUTE_MS !== 0) {
      throw new InvalidInput(`--remind ${part}: reminders are whole minutes (e.g. 1m, 10m)`, {
        field: 'remind',
      });
    }
    return ms / MINUTE_MS;
  });
}

const MINUTE_MS = 60_000;

/** Splits `alice, bob` into usernames; refuses an empty list. */
export function parseUsernames(text: string, field: string): string[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) {
    throw new InvalidInput(`--${field} names nobody`, { field });
  }
  return [...new Set(names)];
}
