/**
 * Recurring events: the supported RRULE subset (parse, canonical text) and its expansion
 * into occurrences. The rule runs on the event's *wall-clock* times in its IANA zone —
 * `./recurrence-days.ts` picks the days, with python-dateutil's semantics (those of the
 * `rrule` library this module used to call) — and each wall-clock occurrence is then placed
 * on the UTC timeline. So a weekly 09:00 Europe/Madrid meeting stays at 09:00 in Madrid
 * across a daylight-saving change and its UTC instant moves. Every occurrence lasts as long
 * as the first one (in absolute time) — but for an all-day series (one that runs from a
 * midnight to a midnight in its zone, as iCalendar's DATE values write it), whose every
 * occurrence runs from midnight to midnight as many days as the first: a day with a
 * daylight-saving change lasts 23 or 25 hours, and is still that day ({@link occurrenceEnd}).
 *
 * Bounded work: this runs inside the replicated state machine and on event loops, on rules
 * users type. No walk goes past {@link LATEST_INSTANT}, walks over a window start at the
 * window instead of at DTSTART, a COUNT rule carries where it stops, and every walk spends
 * a {@link RecurrenceBudget} that refuses deterministically (`TooComplex`) past
 * `MAX_RECURRENCE_STEPS`.
 */
import { InvalidInput } from '../../contract/errors.js';
import {
  LATEST_INSTANT,
  MAX_RRULE_COUNT,
  MAX_RRULE_INTERVAL,
  TIME,
} from '../../contract/limits.js';
import {
  dayPattern,
  pickedDays,
  pickedDaysDescending,
  RecurrenceBudget,
} from './recurrence-days.js';
import type { CivilDay, DayPattern } from './recurrence-days.js';
import { instantOfWallClock, wallClockOf } from './zones.js';
import type {
  CalendarEvent,
  Frequency,
  Interval,
  Millis,
  Occurrence,
  Recurrence,
  RecurrenceRule,
  Weekday,
  WeekdayRule,
} from './types.js';

export { RecurrenceBudget } from './recurrence-days.js';

/** The parts of an event that decide where its occurrences fall. */
export type Series = Pick<CalendarEvent, 'id' | 'start' | 'end' | 'timeZone' | 'recurrence'>;

const FREQUENCIES: readonly Frequency[] = ['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'];
const WEEKDAYS: readonly Weekday[] = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
const SUPPORTED_PARTS = ['FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'BYDAY', 'BYMONTHDAY'];

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

/**
 * Whether occurrence `a` lies in window `b`: their half-open intervals overlap, or `a` is an
 * instant (it ends when it starts) at or after `b`'s start and before its end — an empty
 * interval overlaps nothing, but an instant at 9:00 is in the 9:00–10:00 window.
 */
function overlaps(a: Interval, b: Interval): boolean {
  return a.start < b.end && (b.start < a.end || (a.start === a.end && b.start <= a.start));
}

/**
 * How many days an event runs on its zone's calendar when it runs from the start of a day to
 * the start of a later one there — an all-day event, as a DATE-valued DTSTART and DTEND
 * write one — or undefined when it does not (a time of day at either end, or no length at
 * all). A day starts at its midnight or, when the clocks skip that midnight (Sao Paulo on
 * 4 November 2018, Havana, Beirut, Santiago), at the first instant after the gap.
 */
export function calendarDaysOf(start: Millis, end: Millis, timeZone: string): number | undefined {
  if (end <= start) return undefined;
  const from = dayStartedBy(start, timeZone);
  const to = dayStartedBy(end, timeZone);
  if (from === undefined || to === undefined) return undefined;
  return to - from;
}

/** Whether `instant` starts a wall-clock day in `zone` (see {@link calendarDaysOf}). */
export function startsADay(instant: Millis, zone: string): boolean {
  return dayStartedBy(instant, zone) !== undefined;
}

/** The wall-clock day `instant` starts in `zone` (see {@link calendarDaysOf}), if it starts one. */
function dayStartedBy(instant: Millis, zone: string): CivilDay | undefined {
  const wall = wallClockOf(instant, zone);
  const day = Math.floor(wall / TIME.DAY);
  if (wall === day * TIME.DAY) return day;
  // A skipped midnight reads as the instant after the gap: the day starts there.
  return instantOfWallClock(day * TIME.DAY, zone) === instant ? day : undefined;
}

/**
 * Where the occurrence of `series` that starts at `start` ends. An all-day series' occurrence
 * ends at the midnight as many days later as the first occurrence's, on the wall clock
 * ({@link calendarDaysOf}): an all-day event on the day the clocks change is that whole day,
 * 23 or 25 hours, not 24 hours that end at 1:00 or 23:00 (Google, Apple, Outlook and
 * Thunderbird, and every expander of DATE values, keep it a day). Any other lasts exactly
 * as long as the first occurrence (RFC 5545 §3.8.5.3, for a DTEND). Monotonic in `start`.
 */
export function occurrenceEnd(
  series: Pick<Series, 'start' | 'end' | 'timeZone'>,
  start: Millis,
  days: number | undefined = calendarDaysOf(series.start, series.end, series.timeZone),
): Millis {
  if (days === undefined) return start + (series.end - series.start);
  const zone = series.timeZone;
  const day = Math.floor(wallClockOf(start, zone) / TIME.DAY);
  return instantOfWallClock((day + days) * TIME.DAY, zone);
}

/** A rule laid on its zone's wall clock, with the last start any walk over it may reach. */
interface WallClockWalk {
  readonly pattern: DayPattern;
  readonly zone: string;
  /**
   * How far into its local day every occurrence starts: DTSTART's wall-clock time, or none
   * for an all-day series (whose DTSTART may read 01:00 where its midnight was skipped).
   */
  readonly timeOfDay: number;
  /** Occurrences start at or before it: UNTIL, the COUNT cut, and the end of the domain. */
  readonly lastStart: Millis;
  /** No later day can hold an occurrence starting at or before `lastStart`. */
  readonly lastDay: CivilDay;
}

function wallClockWalk(
  rule: RecurrenceRule,
  start: Millis,
  zone: string,
  allDay: boolean,
  countCut?: Millis,
): WallClockWalk {
  const wall = wallClockOf(start, zone);
  const firstDay = Math.floor(wall / TIME.DAY);
  const lastStart = Math.min(
    rule.until ?? Number.POSITIVE_INFINITY,
    countCut ?? Number.POSITIVE_INFINITY,
    LATEST_INSTANT,
  );
  return {
    pattern: dayPattern(rule, firstDay),
    zone,
    timeOfDay: allDay ? 0 : wall - firstDay * TIME.DAY,
    lastStart,
    // A start at or before `lastStart` reads at most a day later on the wall clock than
    // `lastStart` does: its clock is ahead only by offset changes in between, and no zone
    // has ever moved forward by more than a day.
    lastDay: Math.floor((wallClockOf(lastStart, zone) + TIME.DAY) / TIME.DAY),
  };
}

/** The instant of the occurrence the walk puts on `day`. */
function startOn(walk: WallClockWalk, day: CivilDay): Millis {
  return instantOfWallClock(day * TIME.DAY + walk.timeOfDay, walk.zone);
}

/**
 * The starts of the rule's occurrences from DTSTART on, in order, up to `lastStart`.
 * Starts never decrease (each occurrence is a day or more after the previous one on the
 * wall clock, and no offset jumps by more than a day), so the first one past `lastStart`
 * ends the walk.
 */
function* startsFromFirst(walk: WallClockWalk, budget: RecurrenceBudget): Generator<Millis> {
  for (const day of pickedDays(walk.pattern, walk.pattern.firstDay, walk.lastDay, budget)) {
    const start = startOn(walk, day);
    if (start > walk.lastStart) return;
    yield start;
  }
}

/**
 * The first `limit` occurrence starts of a rule anchored at `start`, exceptions ignored,
 * up to its COUNT, its UNTIL and {@link LATEST_INSTANT}. Validation uses it to place a series
 * on its first real occurrence and to refuse series whose occurrences overlap each other.
 * Costs O(periods up to the `limit`-th start + their candidate days): a rule that never
 * matches is walked to the end of the domain, which stays within `MAX_RECURRENCE_STEPS`.
 *
 * @throws TooComplex when `budget` runs out.
 */
export function firstOccurrenceStarts(
  rule: RecurrenceRule,
  start: Millis,
  timeZone: string,
  limit: number,
  budget: RecurrenceBudget = new RecurrenceBudget(),
  allDay = false,
): Millis[] {
  const wanted = Math.min(limit, rule.count ?? Number.POSITIVE_INFINITY);
  const starts: Millis[] = [];
  if (wanted <= 0) return starts;
  for (const instant of startsFromFirst(wallClockWalk(rule, start, timeZone, allDay), budget)) {
    starts.push(instant);
    if (starts.length >= wanted) break;
  }
  return starts;
}

/**
 * A lower bound on the time between two consecutive occurrence starts of `rule`, in
 * milliseconds, known without expanding it: for rules that pick at most one day per period
 * (INTERVAL periods apart, at least as long as the shortest such period), minus a margin for
 * the largest daylight-saving shift. 0 when a period may hold several days (BYDAY or
 * BYMONTHDAY lists), where only expanding tells.
 */
export function minimumOccurrenceGap(rule: RecurrenceRule): Millis {
  return Math.max(0, minimumOccurrenceGapDays(rule) * TIME.DAY - DST_MARGIN_MS);
}

/**
 * The least number of calendar days between two consecutive occurrence starts of `rule`,
 * known without expanding it, as {@link minimumOccurrenceGap} (which is it less the largest
 * daylight-saving shift); 0 when only expanding tells. An all-day series whose occurrences
 * span at most that many days never overlaps itself, whatever the clocks do.
 */
export function minimumOccurrenceGapDays(rule: RecurrenceRule): number {
  const weekdays = rule.byDay ?? [];
  const monthDays = rule.byMonthDay ?? [];
  const plainWeekday = weekdays.some((d) => d.ordinal === undefined);
  const oneDayPerPeriod =
    weekdays.length + monthDays.length <= 1 ||
    (weekdays.length === 1 && monthDays.length === 1 && !plainWeekday);
  let days: number;
  switch (rule.freq) {
    case 'DAILY':
      // Filters only ever remove days.
      days = rule.interval;
      break;
    case 'WEEKLY':
      days = weekdays.length <= 1 ? 7 * rule.interval : 0;
      break;
    case 'MONTHLY':
      // The same numbered weekday in two months can be 28 − 6 days apart.
      days = oneDayPerPeriod && !plainWeekday ? 22 * rule.interval : 0;
      break;
    case 'YEARLY':
      // Without BYxxx: one date a year; a single numbered weekday of the year: one day a year.
      days =
        (weekdays.length === 0 && monthDays.length === 0) ||
        (weekdays.length === 1 && monthDays.length === 0 && !plainWeekday)
          ? 358 * rule.interval
          : 0;
      break;
  }
  return days;
}

/** More than any daylight-saving shift (Troll's is two hours). */
const DST_MARGIN_MS = 3 * TIME.HOUR;

/**
 * Where a COUNT rule anchored at `start` stops: the start of its COUNT-th occurrence, or of
 * its last one at or before {@link LATEST_INSTANT} when the domain ends first; undefined for
 * a rule without COUNT or without any occurrence. Validation stores it as the series'
 * `lastStart` ({@link Recurrence}) so that nothing counts from DTSTART again. Costs one walk
 * from DTSTART: O(periods up to that occurrence + their candidate days).
 *
 * @throws TooComplex when `budget` runs out.
 */
export function lastCountedStart(
  rule: RecurrenceRule,
  start: Millis,
  timeZone: string,
  budget: RecurrenceBudget = new RecurrenceBudget(),
  allDay = false,
): Millis | undefined {
  if (rule.count === undefined) return undefined;
  const walk = wallClockWalk(rule, start, timeZone, allDay);
  const { pattern } = walk;
  // Count on the calendar and place only the last day on the timeline: starts never
  // decrease, so the days that start at or before `walk.lastStart` come first.
  let counted = 0;
  let last: CivilDay | undefined;
  for (const day of pickedDays(pattern, pattern.firstDay, walk.lastDay, budget)) {
    last = day;
    if (++counted >= rule.count) break;
  }
  if (last === undefined) return undefined;
  // Only the last day or two before `walk.lastDay` can start past `walk.lastStart` (UNTIL
  // or the end of the domain): step back to the latest that does not.
  for (const day of pickedDaysDescending(pattern, pattern.firstDay, last, budget)) {
    const instant = startOn(walk, day);
    if (instant <= walk.lastStart) return instant;
  }
  return undefined;
}

/**
 * The walk over a series' occurrences, or undefined when it has none: a COUNT rule is the
 * unbounded rule cut at its `lastStart`, walked to only for rows stored without it.
 */
function seriesWalk(
  series: Series,
  recurrence: Recurrence,
  budget: RecurrenceBudget,
  days: number | undefined = calendarDaysOf(series.start, series.end, series.timeZone),
): WallClockWalk | undefined {
  const { rule } = recurrence;
  const { start, timeZone } = series;
  const allDay = days !== undefined;
  if (rule.count === undefined) return wallClockWalk(rule, start, timeZone, allDay);
  const cut = recurrence.lastStart ?? lastCountedStart(rule, start, timeZone, budget, allDay);
  return cut === undefined ? undefined : wallClockWalk(rule, start, timeZone, allDay, cut);
}

/**
 * Every occurrence of `series` that overlaps `window` (half-open), in start order: the rule's
 * and the added ones (RDATE), with exceptions removed; none start after
 * {@link LATEST_INSTANT}. The walk starts at the first active period that can reach the
 * window, so the cost is O(periods overlapping the window + their candidate days +
 * exceptions + log additions), however long ago the series began — plus, for a COUNT rule
 * stored without `lastStart`, one walk from its first occurrence.
 *
 * @throws TooComplex when `budget` runs out.
 */
export function expandOccurrences(
  series: Series,
  window: Interval,
  budget: RecurrenceBudget = new RecurrenceBudget(),
): Occurrence[] {
  const duration = series.end - series.start;
  if (series.recurrence === null) {
    return overlaps(series, window)
      ? [{ eventId: series.id, start: series.start, end: series.end }]
      : [];
  }
  if (window.end <= series.start) return [];
  const zone = series.timeZone;
  const days = calendarDaysOf(series.start, series.end, zone);
  const walk = seriesWalk(series, series.recurrence, budget, days);
  const added = addedOccurrences(series, series.recurrence, window, duration, days);
  if (walk === undefined) return added;
  // Wall-clock days that can hold a start overlapping the window, widened by a day on each
  // side to cover any UTC offset and DST jump.
  const from = Math.floor((wallClockOf(window.start - duration, zone) - TIME.DAY) / TIME.DAY);
  const to = Math.min(
    walk.lastDay,
    Math.floor((wallClockOf(window.end, zone) + TIME.DAY) / TIME.DAY),
  );
  const excluded = new Set(series.recurrence.exceptions);
  const occurrences: Occurrence[] = [];
  for (const day of pickedDays(walk.pattern, from, to, budget)) {
    const start = startOn(walk, day);
    if (start > walk.lastStart || excluded.has(start)) continue;
    const occurrence = { eventId: series.id, start, end: occurrenceEnd(series, start, days) };
    if (overlaps(occurrence, window)) occurrences.push(occurrence);
  }
  return added.length === 0
    ? occurrences
    : mergeSorted(occurrences, added, (x, y) => x.start - y.start);
}

/**
 * The series' added occurrences (RDATE) that overlap `window`, exceptions removed, in start
 * order. O(log additions + those in the window).
 */
function addedOccurrences(
  series: Series,
  recurrence: Recurrence,
  window: Interval,
  duration: Millis,
  days: number | undefined,
): Occurrence[] {
  const additions = recurrence.additions ?? [];
  if (additions.length === 0) return [];
  // An occurrence overlapping the window starts after window.start − duration (an all-day
  // one may be an hour longer than the first: a day more covers it).
  const earliest = window.start - duration - (days === undefined ? 0 : TIME.DAY);
  const found: Occurrence[] = [];
  for (let i = firstAtOrAfter(additions, earliest); i < additions.length; i++) {
    const start = additions[i] as Millis;
    if (start >= window.end) break;
    if (sortedIncludes(recurrence.exceptions, start)) continue;
    const occurrence = { eventId: series.id, start, end: occurrenceEnd(series, start, days) };
    if (overlaps(occurrence, window)) found.push(occurrence);
  }
  return found;
}

/** The index of the first value of the ascending `sorted` at or after `value`. */
function firstAtOrAfter(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] ?? Number.POSITIVE_INFINITY) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Two lists, each sorted by `compare`, as one sorted list; on a tie `a`'s item comes first.
 * O(a + b).
 */
export function mergeSorted<T>(
  a: readonly T[],
  b: readonly T[],
  compare: (x: T, y: T) => number,
): T[] {
  const merged = new Array<T>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as T;
    const y = b[j] as T;
    if (compare(y, x) < 0) {
      merged[k++] = y;
      j++;
    } else {
      merged[k++] = x;
      i++;
    }
  }
  while (i < a.length) merged[k++] = a[i++] as T;
  while (j < b.length) merged[k++] = b[j++] as T;
  return merged;
}

/** Whether the ascending `sorted` holds `value` (binary search). */
function sortedIncludes(sorted: readonly number[], value: number): boolean {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const probe = sorted[middle] ?? Number.NaN;
    if (probe === value) return true;
    if (probe < value) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

/**
 * An instant no occurrence of `series` ends after. It is exact for one-off events and for
 * COUNT rules (the end of the last occurrence not removed; the series' start if every one
 * is), the end of an occurrence starting at `until` for UNTIL rules, and +Infinity for
 * endless series. The
 * store can index it to find the series that reach into an interval, as `seriesEnd > from`:
 * for a series of instants (occurrences that end when they start) it is a millisecond later,
 * so that an instant at `from` is found too (instants are whole seconds).
 *
 * O(1) but for a binary search of the exceptions — unless the series' last occurrences were
 * removed (a walk back over them) or a COUNT row was stored without `lastStart` (a walk
 * from its first occurrence).
 *
 * @throws TooComplex when `budget` runs out.
 */
export function seriesEnd(
  series: Series,
  budget: RecurrenceBudget = new RecurrenceBudget(),
): Millis {
  const end = exactSeriesEnd(series, budget);
  return series.end === series.start ? end + 1 : end;
}

/** {@link seriesEnd} without the millisecond a series of instants is given. */
function exactSeriesEnd(series: Series, budget: RecurrenceBudget): Millis {
  if (series.recurrence === null) return series.end;
  const ruleEnd = ruleSeriesEnd(series, budget);
  const { additions = [], exceptions } = series.recurrence;
  // The latest added occurrence still standing, when it ends later than the rule's last.
  for (let i = additions.length - 1; i >= 0; i--) {
    const start = additions[i] as Millis;
    if (sortedIncludes(exceptions, start)) continue;
    return Math.max(ruleEnd, occurrenceEnd(series, start));
  }
  return ruleEnd;
}

/** {@link exactSeriesEnd} of the rule's occurrences alone. */
function ruleSeriesEnd(series: Series, budget: RecurrenceBudget): Millis {
  if (series.recurrence === null) return series.end;
  const { rule, exceptions } = series.recurrence;
  // Monotonic in the start: the end of an occurrence starting at UNTIL bounds them all.
  if (rule.until !== undefined) return occurrenceEnd(series, rule.until);
  if (rule.count === undefined) return Number.POSITIVE_INFINITY;
  const walk = seriesWalk(series, series.recurrence, budget);
  if (walk === undefined) return series.start;
  if (!sortedIncludes(exceptions, walk.lastStart)) return occurrenceEnd(series, walk.lastStart);
  // The last occurrences were cancelled: walk back to the latest one still standing.
  for (const day of pickedDaysDescending(
    walk.pattern,
    walk.pattern.firstDay,
    walk.lastDay,
    budget,
  )) {
    const start = startOn(walk, day);
    if (start <= walk.lastStart && !sortedIncludes(exceptions, start)) {
      return occurrenceEnd(series, start);
    }
  }
  return series.start;
}

/**
 * Whether `instant` is the start of one of the series' occurrences (exceptions excluded).
 * Costs what expanding a one-millisecond window does.
 *
 * @throws TooComplex when `budget` runs out.
 */
export function isOccurrenceStart(
  series: Series,
  instant: Millis,
  budget: RecurrenceBudget = new RecurrenceBudget(),
): boolean {
  return expandOccurrences(series, { start: instant, end: instant + 1 }, budget).some(
    (o) => o.start === instant,
  );
}
