/**
 * `--repeat` as people write it: `weekly`, `weekdays`, `every 2 weeks`, `weekly on mon,wed`,
 * `every tuesday and thursday`, `monthly on the 15th`, `monthly on the last friday`,
 * `yearly`, each optionally followed by `until <day>` or `<n> times` — turned into the RRULE
 * the API takes (FREQ, INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY). An RRULE given as such
 * (`FREQ=WEEKLY;BYDAY=MO`, with or without `RRULE:`) is passed on unchanged: the server checks
 * every rule, whichever way it was written, and refuses what it cannot honour with its reason.
 *
 * What this does not understand is refused with the forms it does, never guessed at.
 */
import type { DateTime } from 'luxon';
import { InvalidInput } from '../contract/errors.js';
import { parseWhen } from './time.js';
import type { WhenContext } from './time.js';

const DAYS: Readonly<Record<string, string>> = {
  mo: 'MO',
  mon: 'MO',
  monday: 'MO',
  mondays: 'MO',
  tu: 'TU',
  tue: 'TU',
  tues: 'TU',
  tuesday: 'TU',
  tuesdays: 'TU',
  we: 'WE',
  wed: 'WE',
  wednesday: 'WE',
  wednesdays: 'WE',
  th: 'TH',
  thu: 'TH',
  thur: 'TH',
  thurs: 'TH',
  thursday: 'TH',
  thursdays: 'TH',
  fr: 'FR',
  fri: 'FR',
  friday: 'FR',
  fridays: 'FR',
  sa: 'SA',
  sat: 'SA',
  saturday: 'SA',
  saturdays: 'SA',
  su: 'SU',
  sun: 'SU',
  sunday: 'SU',
  sundays: 'SU',
};
const WEEK_ORDER = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR'];

const UNITS: Readonly<Record<string, string>> = {
  day: 'DAILY',
  days: 'DAILY',
  week: 'WEEKLY',
  weeks: 'WEEKLY',
  month: 'MONTHLY',
  months: 'MONTHLY',
  year: 'YEARLY',
  years: 'YEARLY',
};
const ADVERBS: Readonly<Record<string, string>> = {
  daily: 'DAILY',
  weekly: 'WEEKLY',
  monthly: 'MONTHLY',
  yearly: 'YEARLY',
  annually: 'YEARLY',
};
const ORDINALS: Readonly<Record<string, number>> = {
  first: 1,
  '1st': 1,
  second: 2,
  '2nd': 2,
  third: 3,
  '3rd': 3,
  fourth: 4,
  '4th': 4,
  fifth: 5,
  '5th': 5,
  last: -1,
};

/** The longest `--repeat` text read as English (an RRULE is the server's to bound). */
const MAX_TEXT = 200;

const FORMS =
  'write daily, weekly, weekdays, monthly or yearly, "every 2 weeks", "weekly on mon,wed", ' +
  '"every tuesday and thursday", "monthly on the 15th", "monthly on the last friday", each ' +
  'optionally with "until dec 31" or "10 times", or an RRULE such as FREQ=WEEKLY;BYDAY=MO';

function refuse(text: string, why: string): InvalidInput {
  return new InvalidInput(`--repeat "${text}" ${why}: ${FORMS}`, { field: 'repeat' });
}

/**
 * The RRULE `text` means (see the module comment). `context` reads an `until` day, in the
 * user's zone: the rule runs to the end of that day.
 * @throws InvalidInput (field `repeat`) for a text it cannot read.
 */
export function parseRepeat(text: string, context: Pick<WhenContext, 'zone' | 'now'>): string {
  const trimmed = text.trim();
  if (/^(?:rrule:)?\s*freq\s*=/i.test(trimmed)) return trimmed.replace(/^rrule:\s*/i, '');
  if (trimmed.length === 0) throw refuse(text, 'is empty');
  // The start alone: what a series of chosen days (--also-on) repeats.
  if (/^once$/i.test(trimmed)) return 'FREQ=DAILY;COUNT=1';
  if (trimmed.length > MAX_TEXT) throw refuse(text.slice(0, 40) + '…', 'is too long');
  let words = trimmed
    .toLowerCase()
    .replace(/[,;&/]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

  // The end: `until <day>` (the whole of that day) or `<n> times`.
  const parts: string[] = [];
  const until = /\s*\b(?:until|till|through|thru)\s+(.+)$/.exec(words);
  if (until !== null) {
    const day = readUntil(text, until[1] ?? '', context);
    parts.push(`UNTIL=${day}`);
    words = words.slice(0, until.index).trim();
  } else {
    const times = /\s*\b(?:for\s+)?(\d{1,4})\s*(?:times|x|occurrences)$/.exec(words);
    if (times !== null) {
      const count = Number(times[1]);
      if (count < 1) throw refuse(text, 'repeats no time');
      parts.push(`COUNT=${count}`);
      words = words.slice(0, times.index).trim();
    }
  }
  return [...body(text, words), ...parts].join(';');
}

/** FREQ, INTERVAL, BYDAY and BYMONTHDAY of what is left once the end is taken off. */
function body(text: string, words: string): string[] {
  const tokens = words.split(' ').filter((w) => w !== '' && w !== 'and' && w !== 'on');
  let frequency: string | undefined;
  let interval = 1;
  let i = 0;
  const take = (): string | undefined => tokens[i];
  // `every`, `each`, `every other`, `every 3`.
  if (take() === 'every' || take() === 'each') {
    i += 1;
    if (take() === 'other') {
      interval = 2;
      i += 1;
    } else if (/^\d{1,3}$/.test(take() ?? '')) {
      interval = Number(take());
      i += 1;
      if (interval < 1) throw refuse(text, 'repeats every 0');
    }
  }
  const head = take();
  if (head === undefined) throw refuse(text, 'says how often but not what');
  if (interval === 1 && (head === 'biweekly' || head === 'fortnightly')) {
    frequency = 'WEEKLY';
    interval = 2;
    i += 1;
  } else if (head in ADVERBS && i === 0) {
    frequency = ADVERBS[head];
    i += 1;
  } else if (head in UNITS) {
    frequency = UNITS[head];
    i += 1;
  } else if (
    head === 'weekday' ||
    head === 'weekdays' ||
    head === 'weekend' ||
    head === 'weekends'
  ) {
    const days = head.startsWith('weekday') ? WEEKDAYS : ['SA', 'SU'];
    i += 1;
    if (i < tokens.length) throw refuse(text, `has "${tokens.slice(i).join(' ')}" left over`);
    return [`FREQ=WEEKLY`, ...intervalPart(interval), `BYDAY=${days.join(',')}`];
  } else if (head in DAYS) {
    frequency = 'WEEKLY';
  } else {
    throw refuse(text, `does not say how often ("${head}"?)`);
  }
  const rest = tokens.slice(i).filter((w) => w !== 'the' && w !== 'day' && w !== 'of');
  const freq = frequency ?? 'WEEKLY';
  const parts = [`FREQ=${freq}`, ...intervalPart(interval)];
  if (rest.length === 0) return parts;
  // `on mon wed fri` (weekly): the days of the week.
  if (rest.every((w) => w in DAYS)) {
    if (freq !== 'WEEKLY') {
      throw refuse(text, `names days of the week for a ${freq.toLowerCase()} rule`);
    }
    const days = [...new Set(rest.map((w) => DAYS[w] ?? ''))];
    days.sort((a, b) => WEEK_ORDER.indexOf(a) - WEEK_ORDER.indexOf(b));
    return [...parts, `BYDAY=${days.join(',')}`];
  }
  // `monthly on the 15th`, `on 1 15` (monthly): days of the month.
  if (freq === 'MONTHLY' && rest.every((w) => /^(\d{1,2})(?:st|nd|rd|th)?$/.test(w))) {
    const days = rest.map((w) => Number(/^\d+/.exec(w)?.[0]));
    if (days.some((d) => d < 1 || d > 31)) throw refuse(text, 'names a day of the month past 31');
    return [...parts, `BYMONTHDAY=${[...new Set(days)].sort((a, b) => a - b).join(',')}`];
  }
  // `monthly on the last friday`, `on the first monday`.
  if (freq === 'MONTHLY' && rest.length === 2 && rest[0]! in ORDINALS && rest[1]! in DAYS) {
    return [...parts, `BYDAY=${ORDINALS[rest[0]!]}${DAYS[rest[1]!]}`];
  }
  throw refuse(text, `has "${rest.join(' ')}" it cannot place`);
}

function intervalPart(interval: number): string[] {
  return interval === 1 ? [] : [`INTERVAL=${interval}`];
}

/** `until <day>`: the end of that day in the user's zone, in UTC (RFC 5545's form for UNTIL). */
function readUntil(text: string, day: string, context: Pick<WhenContext, 'zone' | 'now'>): string {
  let when: DateTime;
  try {
    when = parseWhen(day, { ...context, field: 'repeat' });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new InvalidInput(`--repeat "${text}": its "until" is not a day (${why})`, {
      field: 'repeat',
    });
  }
  return when.setZone(context.zone).endOf('day').toUTC().toFormat("yyyyMMdd'T'HHmmss'Z'");
}
