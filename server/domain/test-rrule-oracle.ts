/**
 * Test support (not used by production code): recurrence expansion as the domain did it
 * before it had its own expander — the `rrule` library run on wall-clock times, then
 * placed on the timeline — kept verbatim as the oracle of the property tests, but for the
 * end of an all-day series' occurrences, which keep to their days ({@link endOf}). It walks
 * from DTSTART and has no work bound (an empty rule runs to the year 9999), so tests only
 * ask it about rules and windows where that is cheap.
 */
import { DateTime } from 'luxon';
import rrule from 'rrule';
import type { Options as RRuleOptions, Weekday as RRuleWeekday } from 'rrule';
import { TIME } from '../../contract/limits.js';
import type { Series } from './recurrence.js';
import { instantOfWallClock, wallClockOf } from './zones.js';
import type { Frequency, Interval, Millis, Occurrence, RecurrenceRule, Weekday } from './types.js';

// rrule ships CommonJS to Node; its named exports are reachable only through the default.
const { RRule } = rrule;

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

/**
 * Where the occurrence starting at `start` ends: as many days later as the series' first
 * when that runs from a midnight to a midnight of its zone (an all-day series, whose
 * occurrence on a day the clocks change lasts 23 or 25 hours), else as long as the first.
 * Written apart from the domain's `occurrenceEnd`, with Luxon's calendar arithmetic.
 */
function endOf(series: Series, start: Millis): Millis {
  const zone = series.timeZone;
  const first = DateTime.fromMillis(series.start, { zone });
  const last = DateTime.fromMillis(series.end, { zone });
  const midnight = (d: DateTime) => d.equals(d.startOf('day'));
  if (series.end <= series.start || !midnight(first) || !midnight(last)) {
    return start + (series.end - series.start);
  }
  const days = Math.round(last.startOf('day').diff(first.startOf('day'), 'days').days);
  return DateTime.fromMillis(start, { zone }).plus({ days }).toMillis();
}

function overlaps(a: Interval, b: Interval): boolean {
  return a.start < b.end && b.start < a.end;
}

/** The former `expandOccurrences` (it ignores `lastStart` and counts from DTSTART). */
export function oracleOccurrences(series: Series, window: Interval): Occurrence[] {
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
    const occurrence = { eventId: series.id, start, end: endOf(series, start) };
    if (overlaps(occurrence, window)) occurrences.push(occurrence);
  }
  return occurrences;
}

/** The former `firstOccurrenceStarts`. */
export function oracleFirstStarts(
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

/** The former `seriesEnd`, which was exact for COUNT rules. */
export function oracleSeriesEnd(series: Series): Millis {
  if (series.recurrence === null) return series.end;
  const { rule, exceptions } = series.recurrence;
  if (rule.until !== undefined) return endOf(series, rule.until);
  if (rule.count === undefined) return Number.POSITIVE_INFINITY;
  const excluded = new Set(exceptions);
  const starts = oracleFirstStarts(rule, series.start, series.timeZone, rule.count);
  const remaining = starts.filter((s) => !excluded.has(s));
  const last = remaining.at(-1);
  return last === undefined ? series.start : endOf(series, last);
}
