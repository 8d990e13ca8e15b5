/**
 * Recurring events: the supported RRULE subset (parse, canonical text) and its expansion
 * into occurrences. Expansion is delegated to the `rrule` library and made DST-correct with
 * `luxon`: the rule runs on the event's *wall-clock* times in its IANA zone, and each
 * wall-clock occurrence is then placed on the UTC timeline. So a weekly 09:00 Europe/Madrid
 * meeting stays at 09:00 in Madrid across a daylight-saving change and its UTC instant moves.
 * Every occurrence lasts as long as the first one (in absolute time).
 */
import rrule from 'rrule';
import type { Options as RRuleOptions, Weekday as RRuleWeekday } from 'rrule';
import { InvalidInput } from '../errors.js';
import { MAX_RRULE_COUNT, MAX_RRULE_INTERVAL, TIME } from './limits.js';
import { instantOfWallClock, wallClockOf } from './zones.js';
import type {
  CalendarEvent,
  Frequency,
  Interval,
  Millis,
  Occurrence,
  RecurrenceRule,
  Weekday,
  WeekdayRule,
} from './types.js';

// rrule ships CommonJS to Node; its named exports are reachable only through the default.
const { RRule } = rrule;

/** The parts of an event that decide where its occurrences fall. */
export type Series = Pick<CalendarEvent, 'id' | 'start' | 'end' | 'timeZone' | 'recurrence'>;

const FREQUENCIES: readonly Frequency[] = ['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'];
const WEEKDAYS: readonly Weekday[] = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
const SUPPORTED_PARTS = ['FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'BYDAY', 'BYMONTHDAY'];

const RRULE_FREQUENCY: Readonly<Record<Frequency, RRuleOptions['freq']>> = {
  DAILY: RRule.DAILY,
  WEEKLY: RRule.WEEKLY,
  MONTHLY: RRule.MONTHLY,
  YEARLY: RRule.YEARLY,
};

const RRULE_WEEKDAY: Readonly<Record<Weekday, RRuleWeekday>> = {
  MO: RRule.MO,
  TU: RRule.TU,
  WE: RRule.WE,
  TH: RRule.TH,
  FR: RRule.FR,
  SA: RRule.SA,
  SU: RRule.SU,
};

function invalid(reason: string): InvalidInput {
  return new InvalidInput(reason, { field: 'recurrence' });
}

function parsePositiveInteger(name: string, value: string, max: number): number {
  if (!/^\d{1,9}$/.test(value)) throw invalid(`${name} must be a whole number, not "${value}"`);
  const n = Number(value);
  if (n < 1 || n > max) throw invalid(`${name} must be between 1 and ${max}`);
  return n;
}

/** Parses an RFC 5545 DATE or DATE-TIME (`20250301`, `20250301T090000`, `…Z`) for UNTIL. */
function parseUntil(value: string, timeZone: string): Millis {
  const match = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(value);
  if (match === null) {
    throw invalid(`UNTIL must look like 20250301 or 20250301T090000Z, not "${value}"`);
  }
  const [, y, mo, d, h, mi, s, utc] = match;
  const isDate = h === undefined;
  const [year, month, day] = [Number(y), Number(mo), Number(d)];
  // A DATE bound includes the whole day (in the event's zone).
  const [hour, minute, second] = isDate ? [23, 59, 59] : [Number(h), Number(mi), Number(s)];
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(wall);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    throw invalid(`UNTIL=${value} is not a valid date`);
  }
  return utc === 'Z' ? wall : instantOfWallClock(wall, timeZone);
}

function parseByDay(value: string, freq: Frequency): WeekdayRule[] {
  const rules: WeekdayRule[] = [];
  for (const item of value.split(',')) {
    const match = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.exec(item);
    if (match === null) throw invalid(`BYDAY entry "${item}" must look like MO or 1MO or -1FR`);
    const [, ordinalText, weekday] = match as unknown as [string, string | undefined, Weekday];
    if (ordinalText === undefined) {
      rules.push({ weekday });
      continue;
    }
    const ordinal = Number(ordinalText);
    if (freq !== 'MONTHLY' && freq !== 'YEARLY') {
      throw invalid(`BYDAY=${item}: a numbered weekday needs FREQ=MONTHLY or FREQ=YEARLY`);
    }
    const bound = freq === 'MONTHLY' ? 5 : 53;
    if (ordinal === 0 || Math.abs(ordinal) > bound) {
      throw invalid(
        `BYDAY=${item}: the number must be between 1 and ${bound} (or -1 to -${bound})`,
      );
    }
    rules.push({ weekday, ordinal });
  }
  const unique = new Map(rules.map((r) => [`${r.ordinal ?? 0}${r.weekday}`, r]));
  return [...unique.values()].sort(
    (a, b) =>
      WEEKDAYS.indexOf(a.weekday) - WEEKDAYS.indexOf(b.weekday) ||
      (a.ordinal ?? 0) - (b.ordinal ?? 0),
  );
}

function parseByMonthDay(value: string, freq: Frequency): number[] {
  if (freq === 'WEEKLY') throw invalid('BYMONTHDAY cannot be used with FREQ=WEEKLY');
  const days = value.split(',').map((item) => {
    if (!/^[+-]?\d{1,2}$/.test(item)) throw invalid(`BYMONTHDAY entry "${item}" is not a day`);
    const day = Number(item);
    if (day === 0 || Math.abs(day) > 31) {
      throw invalid(`BYMONTHDAY entry ${item} must be 1 to 31 or -1 to -31`);
    }
    return day;
  });
  return [...new Set(days)].sort((a, b) => a - b);
}

/**
 * Parses an RRULE (with or without the `RRULE:` prefix, case-insensitive) restricted to
 * FREQ (DAILY, WEEKLY, MONTHLY, YEARLY), INTERVAL, COUNT, UNTIL, BYDAY and BYMONTHDAY.
 * A local or DATE `UNTIL` is read in `timeZone`. `WKST` is tolerated (calendar apps emit
 * it) only where it cannot change the meaning of the rule.
 *
 * @throws InvalidInput naming the offending part.
 */
export function parseRecurrenceRule(text: string, timeZone: string): RecurrenceRule {
  let body = text.trim();
  if (/^RRULE:/i.test(body)) body = body.slice('RRULE:'.length);
  if (body === '') throw invalid('the recurrence rule is empty');
  if (body.length > 500) throw invalid('the recurrence rule is too long');
  const parts = new Map<string, string>();
  for (const part of body.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw invalid(`"${part}" is not a NAME=VALUE part of a recurrence rule`);
    const name = part.slice(0, eq).trim().toUpperCase();
    const value = part
      .slice(eq + 1)
      .trim()
      .toUpperCase();
    if (parts.has(name)) throw invalid(`${name} appears twice in the recurrence rule`);
    if (value === '') throw invalid(`${name} has no value`);
    parts.set(name, value);
  }
  for (const name of parts.keys()) {
    if (!SUPPORTED_PARTS.includes(name) && name !== 'WKST') {
      throw invalid(`${name} is not supported; use ${SUPPORTED_PARTS.join(', ')}`);
    }
  }

  const freqText = parts.get('FREQ');
  if (freqText === undefined) throw invalid('the recurrence rule needs FREQ');
  if (!(FREQUENCIES as readonly string[]).includes(freqText)) {
    throw invalid(`FREQ=${freqText} is not supported; use ${FREQUENCIES.join(', ')}`);
  }
  const freq = freqText as Frequency;
  const intervalText = parts.get('INTERVAL');
  const interval =
    intervalText === undefined
      ? 1
      : parsePositiveInteger('INTERVAL', intervalText, MAX_RRULE_INTERVAL);

  const countText = parts.get('COUNT');
  const untilText = parts.get('UNTIL');
  if (countText !== undefined && untilText !== undefined) {
    throw invalid('COUNT and UNTIL cannot both be given');
  }
  const byDayText = parts.get('BYDAY');
  const byMonthDayText = parts.get('BYMONTHDAY');
  const byDay = byDayText === undefined ? undefined : parseByDay(byDayText, freq);

  const wkst = parts.get('WKST');
  if (wkst !== undefined) {
    if (!(WEEKDAYS as readonly string[]).includes(wkst))
      throw invalid(`WKST=${wkst} is not a weekday`);
    // Week start only matters for weekly rules that skip weeks and pick several days.
    if (wkst !== 'MO' && freq === 'WEEKLY' && interval > 1 && (byDay?.length ?? 0) > 1) {
      throw invalid(
        `WKST=${wkst} changes this rule's meaning and is not supported (weeks start on MO)`,
      );
    }
  }

  return {
    freq,
    interval,
    ...(countText === undefined
      ? {}
      : { count: parsePositiveInteger('COUNT', countText, MAX_RRULE_COUNT) }),
    ...(untilText === undefined ? {} : { until: parseUntil(untilText, timeZone) }),
    ...(byDay === undefined ? {} : { byDay }),
    ...(byMonthDayText === undefined ? {} : { byMonthDay: parseByMonthDay(byMonthDayText, freq) }),
  };
}

/** `20250301T090000Z`, the iCalendar basic UTC form. */
export function formatUtcBasic(instant: Millis): string {
  return new Date(instant)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The canonical RRULE text (no prefix, UNTIL in UTC): `parseRecurrenceRule` of it gives an
 * equal rule back, in any zone.
 */
export function formatRecurrenceRule(rule: RecurrenceRule): string {
  const parts = [`FREQ=${rule.freq}`];
  if (rule.interval !== 1) parts.push(`INTERVAL=${rule.interval}`);
  if (rule.count !== undefined) parts.push(`COUNT=${rule.count}`);
  if (rule.until !== undefined) parts.push(`UNTIL=${formatUtcBasic(rule.until)}`);
  if (rule.byDay !== undefined && rule.byDay.length > 0) {
    parts.push(`BYDAY=${rule.byDay.map((d) => `${d.ordinal ?? ''}${d.weekday}`).join(',')}`);
  }
  if (rule.byMonthDay !== undefined && rule.byMonthDay.length > 0) {
    parts.push(`BYMONTHDAY=${rule.byMonthDay.join(',')}`);
  }
  return parts.join(';');
}

function toRRule(rule: RecurrenceRule, start: Millis, zone: string): InstanceType<typeof RRule> {
  const options: Partial<RRuleOptions> = {
    freq: RRULE_FREQUENCY[rule.freq],
    interval: rule.interval,
    dtstart: new Date(wallClockOf(start, zone)),
    wkst: RRule.MO,
  };
  if (rule.count !== undefined) options.count = rule.count;
  // The exact bound is applied on real instants after expansion; a day of slack here
  // keeps an occurrence in an ambiguous (fall-back) hour from being cut by the wall clock.
  if (rule.until !== undefined) options.until = new Date(wallClockOf(rule.until, zone) + TIME.DAY);
  if (rule.byDay !== undefined) {
    options.byweekday = rule.byDay.map((d) =>
      d.ordinal === undefined ? RRULE_WEEKDAY[d.weekday] : RRULE_WEEKDAY[d.weekday].nth(d.ordinal),
    );
  }
  if (rule.byMonthDay !== undefined) options.bymonthday = [...rule.byMonthDay];
  return new RRule(options);
}

function overlaps(a: Interval, b: Interval): boolean {
  return a.start < b.end && b.start < a.end;
}

/**
 * Every occurrence of `series` that overlaps `window` (half-open), in start order, with
 * exceptions removed. The caller bounds the window (queries are at most
 * `MAX_QUERY_SPAN_MS`, conflict checks `CONFLICT_HORIZON_MS`), which bounds the work.
 */
export function expandOccurrences(series: Series, window: Interval): Occurrence[] {
  const duration = series.end - series.start;
  if (series.recurrence === null) {
    return overlaps(series, window)
      ? [{ eventId: series.id, start: series.start, end: series.end }]
      : [];
  }
  if (window.end <= series.start) return [];
  const { rule, exceptions } = series.recurrence;
  const zone = series.timeZone;
  const excluded = new Set(exceptions);
  // Wall-clock bounds, widened by a day on each side to cover any UTC offset and DST jump.
  const after = new Date(wallClockOf(window.start - duration, zone) - TIME.DAY);
  const before = new Date(wallClockOf(window.end, zone) + TIME.DAY);
  const occurrences: Occurrence[] = [];
  for (const wall of toRRule(rule, series.start, zone).between(after, before, true)) {
    const start = instantOfWallClock(wall.getTime(), zone);
    if (rule.until !== undefined && start > rule.until) continue;
    if (excluded.has(start)) continue;
    const occurrence = { eventId: series.id, start, end: start + duration };
    if (overlaps(occurrence, window)) occurrences.push(occurrence);
  }
  return occurrences;
}

/**
 * The first `limit` occurrence starts of a rule anchored at `start`, exceptions ignored.
 * Validation uses it to place a series on its first real occurrence and to refuse series
 * whose occurrences overlap each other.
 */
export function firstOccurrenceStarts(
  rule: RecurrenceRule,
  start: Millis,
  timeZone: string,
  limit: number,
): Millis[] {
  const starts: Millis[] = [];
  toRRule(rule, start, timeZone).all((wall, i) => {
    if (i >= limit) return false;
    const instant = instantOfWallClock(wall.getTime(), timeZone);
    if (rule.until !== undefined && instant > rule.until) return false;
    starts.push(instant);
    return true;
  });
  return starts;
}

/**
 * An instant no occurrence of `series` ends after: exact for one-off events and COUNT
 * rules, `until` plus the duration for UNTIL rules, and +Infinity for endless series. The
 * store can index it to find the series that reach into an interval.
 */
export function seriesEnd(series: Series): Millis {
  if (series.recurrence === null) return series.end;
  const { rule, exceptions } = series.recurrence;
  const duration = series.end - series.start;
  if (rule.until !== undefined) return rule.until + duration;
  if (rule.count === undefined) return Number.POSITIVE_INFINITY;
  const excluded = new Set(exceptions);
  const starts = firstOccurrenceStarts(rule, series.start, series.timeZone, rule.count);
  const remaining = starts.filter((s) => !excluded.has(s));
  const last = remaining.at(-1);
  return last === undefined ? series.start : last + duration;
}

/** Whether `instant` is the start of one of the series' occurrences (exceptions excluded). */
export function isOccurrenceStart(series: Series, instant: Millis): boolean {
  return expandOccurrences(series, { start: instant, end: instant + 1 }).some(
    (o) => o.start === instant,
  );
}
