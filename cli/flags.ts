/**
 * Flags that several commands share, so each is spelled and described once. Times stay
 * text here: they are read in the command, once `--tz` is known (see cli/time.ts).
 */
import { Flags } from '@oclif/core';
import { InvalidInput } from '../contract/errors.js';

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
  from: whenFlag('Start of the interval (default: now)'),
  to: whenFlag('End of the interval (default: 7 days after --from)'),
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
    description: 'How long it lasts: 45m, 90 min, 1h30, 1.5h, 2 hours, 1d or PT1H30M.',
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
      'Recurrence as an RRULE (FREQ, INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY), e.g. FREQ=WEEKLY;BYDAY=MO.',
    helpValue: '<RRULE>',
  }),
  'allow-conflict': allowConflictFlag,
};

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
