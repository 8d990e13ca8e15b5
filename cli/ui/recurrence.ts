/**
 * Recurrence rules as a person reads them: `FREQ=WEEKLY;COUNT=4;BYDAY=MO` is "weekly on
 * Monday, 4 times". The server answers the canonical RRULE of the subset Agenda supports
 * (FREQ, INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY; server/domain/recurrence.ts); this turns
 * that into English, with UNTIL shown as a date in the zone the CLI shows times in.
 *
 * Written here rather than with `rrule`'s `toText()`: that library is a development
 * dependency only (the tests' oracle), its phrasing is stiff ("every week on Monday for 4
 * times"), and it shows UNTIL as a UTC date. A rule this does not understand (a newer
 * server's) comes back as it was, so nothing is ever hidden.
 */
import { DateTime } from 'luxon';

const WEEKDAY_NAMES: Readonly<Record<string, string>> = {
  MO: 'Monday',
  TU: 'Tuesday',
  WE: 'Wednesday',
  TH: 'Thursday',
  FR: 'Friday',
  SA: 'Saturday',
  SU: 'Sunday',
};

const UNITS: Readonly<Record<string, { adverb: string; unit: string }>> = {
  DAILY: { adverb: 'daily', unit: 'day' },
  WEEKLY: { adverb: 'weekly', unit: 'week' },
  MONTHLY: { adverb: 'monthly', unit: 'month' },
  YEARLY: { adverb: 'yearly', unit: 'year' },
};

/** `1st`, `2nd`, `3rd`, `11th`, `22nd`. */
export function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  const suffix = ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
  return `${n}${n % 10 > 3 ? 'th' : suffix}`;
}

/** `a, b and c`. */
function listing(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`;
}

/** `2nd`, `last`, `2nd to last` for a signed position. */
function position(n: number): string {
  if (n === -1) return 'last';
  return n > 0 ? ordinal(n) : `${ordinal(-n)} to last`;
}

function describeByDay(value: string): string | undefined {
  const parts: string[] = [];
  for (const item of value.split(',')) {
    const match = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.exec(item);
    if (match === null) return undefined;
    const name = WEEKDAY_NAMES[match[2] ?? ''] ?? '';
    parts.push(match[1] === undefined ? name : `the ${position(Number(match[1]))} ${name}`);
  }
  const days = value.split(',');
  if (days.length === 5 && ['MO', 'TU', 'WE', 'TH', 'FR'].every((d) => days.includes(d))) {
    return 'weekdays';
  }
  return listing(parts);
}

function describeByMonthDay(value: string): string | undefined {
  const days = value.split(',').map(Number);
  if (days.some((d) => !Number.isInteger(d) || d === 0)) return undefined;
  return `the ${listing(days.map((d) => (d === -1 ? 'last day' : position(d))))}`;
}

/** `20261231T000000Z` or `20261231` as an instant. */
function untilInstant(value: string): DateTime | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(value);
  if (match === null) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = match;
  const at = DateTime.fromISO(`${y}-${mo}-${d}T${h}:${mi}:${s}`, { zone: 'UTC' });
  return at.isValid ? at : undefined;
}

/**
 * `rule` (canonical RRULE text, optionally prefixed `RRULE:`) in words, UNTIL shown in
 * `zone`: `daily`, `every 2 weeks on Monday and Wednesday, 6 times`, `monthly on the 2nd
 * Tuesday until 31 Dec 2026`. A rule with parts it does not know is returned unchanged.
 */
export function describeRecurrence(rule: string, zone = 'UTC'): string {
  const parts = new Map<string, string>();
  for (const part of rule.replace(/^RRULE:/i, '').split(';')) {
    const [key, value] = part.split('=');
    if (key === undefined || value === undefined || key === '') return rule;
    parts.set(key.toUpperCase(), value.toUpperCase());
  }
  const freq = UNITS[parts.get('FREQ') ?? ''];
  if (freq === undefined) return rule;
  const interval = Number(parts.get('INTERVAL') ?? '1');
  if (!Number.isInteger(interval) || interval < 1) return rule;
  let text = interval === 1 ? freq.adverb : `every ${interval} ${freq.unit}s`;

  const on: string[] = [];
  const byDay = parts.get('BYDAY');
  if (byDay !== undefined) {
    const days = describeByDay(byDay);
    if (days === undefined) return rule;
    on.push(days);
  }
  const byMonthDay = parts.get('BYMONTHDAY');
  if (byMonthDay !== undefined) {
    const days = describeByMonthDay(byMonthDay);
    if (days === undefined) return rule;
    on.push(days);
  }
  if (on.length > 0) text += ` on ${on.join(', ')}`;

  const count = parts.get('COUNT');
  if (count !== undefined) {
    const n = Number(count);
    if (!Number.isInteger(n) || n < 1) return rule;
    text += n === 1 ? ', once' : n === 2 ? ', twice' : `, ${n} times`;
  }
  const until = parts.get('UNTIL');
  if (until !== undefined) {
    const at = untilInstant(until);
    if (at === undefined) return rule;
    text += ` until ${at.setZone(zone).setLocale('en-GB').toFormat('d LLL yyyy')}`;
  }
  const known = new Set(['FREQ', 'INTERVAL', 'BYDAY', 'BYMONTHDAY', 'COUNT', 'UNTIL', 'WKST']);
  return [...parts.keys()].every((key) => known.has(key)) ? text : rule;
}
