/**
 * Which calendar days a recurrence rule picks, with no time zone in sight: the calendar
 * half of RRULE expansion, with the semantics of python-dateutil (and of the `rrule`
 * library, its port) for the supported subset. Days are integers — days since 1970-01-01 on
 * the proleptic Gregorian calendar — so every step is integer arithmetic.
 *
 * A rule cuts time into periods (a day, a Monday-to-Sunday week, a month, a year). Every
 * INTERVAL-th period counted from DTSTART's is active, and an active period contributes the
 * days that pass every filter of the rule: plain BYDAY weekdays, numbered BYDAY weekdays
 * (the n-th in the month for MONTHLY, in the year for YEARLY), BYMONTHDAY (negative from
 * the end of the month), and the month dateutil infers for a bare YEARLY rule. A walk jumps
 * arithmetically to the first active period that can reach the days asked for and computes
 * each period's candidate days directly, so it costs the periods and candidates it visits,
 * not the distance from DTSTART; a {@link RecurrenceBudget} counts them.
 */
import { TooComplex } from '../../contract/errors.js';
import { MAX_RECURRENCE_STEPS } from '../../contract/limits.js';
import type { Frequency, RecurrenceRule, Weekday } from './types.js';

/** Days since 1970-01-01 (negative before), naming a date of the Gregorian calendar. */
export type CivilDay = number;

/** A date of the Gregorian calendar; `month` and `day` count from 1. */
export interface CivilDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

const DAY_MS = 86_400_000;

/** Monday is 0, as in dateutil. */
const WEEKDAY_NUMBER: Readonly<Record<Weekday, number>> = {
  MO: 0,
  TU: 1,
  WE: 2,
  TH: 3,
  FR: 4,
  SA: 5,
  SU: 6,
};

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/** The day of a date. */
export function civilDay(year: number, month: number, day: number): CivilDay {
  return Date.UTC(year, month - 1, day) / DAY_MS;
}

/** The date of a day (Howard Hinnant's `civil_from_days`: integer arithmetic only). */
export function civilDate(day: CivilDay): CivilDate {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear =
    dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153); // March is 0
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return {
    year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day: dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1,
  };
}

/** 0 for Monday … 6 for Sunday (1970-01-01 was a Thursday). */
export function weekdayOf(day: CivilDay): number {
  return mod(day + 3, 7);
}

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * How many candidate days the walks of one call may examine: a deterministic bound on the
 * work, the same on every replica. Every exported expansion function takes one (by default
 * a fresh one holding {@link MAX_RECURRENCE_STEPS}); pass your own to read what a call cost
 * or to allow less. An active period with no candidate costs one step, so that even a walk
 * that finds nothing pays for its loop.
 */
export class RecurrenceBudget {
  #spent = 0;

  constructor(readonly limit: number = MAX_RECURRENCE_STEPS) {}

  /** Steps taken so far. */
  get spent(): number {
    return this.#spent;
  }

  /**
   * Records `steps` more.
   * @throws TooComplex once the total passes the limit.
   */
  spend(steps: number): void {
    this.#spent += steps;
    if (this.#spent > this.limit) {
      throw new TooComplex(
        `expanding this recurrence rule takes more than ${this.limit} steps; simplify the rule`,
      );
    }
  }
}

/** A numbered BYDAY entry, resolved: the `ordinal`-th `weekday` (Monday 0) of its span. */
interface NthWeekday {
  readonly weekday: number;
  readonly ordinal: number;
}

/**
 * A rule resolved against DTSTART's day the way dateutil resolves it: a YEARLY rule with
 * neither BYDAY nor BYMONTHDAY keeps DTSTART's month and day, a MONTHLY one DTSTART's day of
 * the month, a WEEKLY one DTSTART's weekday; numbered weekdays only count for MONTHLY and
 * YEARLY (elsewhere they are plain weekdays). Filters combine with AND.
 */
export interface DayPattern {
  readonly freq: Frequency;
  readonly interval: number;
  /** DTSTART's day: nothing before it is picked, and periods are counted from its period. */
  readonly firstDay: CivilDay;
  /** Bit `1 << weekday` for each plain weekday; 0 means no weekday filter. */
  readonly weekdays: number;
  /** Numbered weekdays, any of which a day must be; empty means no such filter. */
  readonly nthWeekdays: readonly NthWeekday[];
  /** Days of the month (negative: from its end), any of which a day must be; empty: none. */
  readonly monthDays: readonly number[];
  /** The one month a bare YEARLY rule picks (DTSTART's), else undefined. */
  readonly month: number | undefined;
}

/** The pattern of `rule` with DTSTART on `firstDay`. */
export function dayPattern(rule: RecurrenceRule, firstDay: CivilDay): DayPattern {
  const numbered = rule.freq === 'MONTHLY' || rule.freq === 'YEARLY';
  let weekdays = 0;
  const nthWeekdays: NthWeekday[] = [];
  for (const { weekday, ordinal } of rule.byDay ?? []) {
    if (numbered && ordinal !== undefined && ordinal !== 0) {
      nthWeekdays.push({ weekday: WEEKDAY_NUMBER[weekday], ordinal });
    } else {
      weekdays |= 1 << WEEKDAY_NUMBER[weekday];
    }
  }
  let monthDays = (rule.byMonthDay ?? []).filter((d) => d !== 0);
  let month: number | undefined;
  if (rule.byDay === undefined && rule.byMonthDay === undefined) {
    const first = civilDate(firstDay);
    if (rule.freq === 'YEARLY') {
      month = first.month;
      monthDays = [first.day];
    } else if (rule.freq === 'MONTHLY') {
      monthDays = [first.day];
    } else if (rule.freq === 'WEEKLY') {
      weekdays = 1 << weekdayOf(firstDay);
    }
  }
  return {
    freq: rule.freq,
    interval: rule.interval,
    firstDay,
    weekdays,
    nthWeekdays,
    monthDays,
    month,
  };
}

// Periods are numbered consecutively: a day is its own number, a week is counted from the
// one starting on Monday 1969-12-29, a month is year * 12 + month - 1, a year is itself.

function periodOf(freq: Frequency, day: CivilDay): number {
  switch (freq) {
    case 'DAILY':
      return day;
    case 'WEEKLY':
      return Math.floor((day + 3) / 7);
    case 'MONTHLY': {
      const { year, month } = civilDate(day);
      return year * 12 + month - 1;
    }
    case 'YEARLY':
      return civilDate(day).year;
  }
}

/** The first and last day of a period. */
function periodSpan(freq: Frequency, period: number): readonly [CivilDay, CivilDay] {
  switch (freq) {
    case 'DAILY':
      return [period, period];
    case 'WEEKLY':
      return [7 * period - 3, 7 * period + 3];
    case 'MONTHLY': {
      const year = Math.floor(period / 12);
      const month = period - 12 * year + 1;
      const first = civilDay(year, month, 1);
      return [first, first + daysInMonth(year, month) - 1];
    }
    case 'YEARLY':
      return [civilDay(period, 1, 1), civilDay(period, 12, 31)];
  }
}

function hasWeekday(pattern: DayPattern, day: CivilDay): boolean {
  return pattern.weekdays === 0 || (pattern.weekdays & (1 << weekdayOf(day))) !== 0;
}

/** Whether `day` is one of the pattern's numbered weekdays of the span `[first, last]`. */
function isNumberedWeekday(
  pattern: DayPattern,
  first: CivilDay,
  last: CivilDay,
  day: CivilDay,
): boolean {
  if (pattern.nthWeekdays.length === 0) return true;
  const weekday = weekdayOf(day);
  const fromStart = Math.floor((day - first) / 7) + 1;
  const fromEnd = -(Math.floor((last - day) / 7) + 1);
  return pattern.nthWeekdays.some(
    (n) => n.weekday === weekday && (n.ordinal === fromStart || n.ordinal === fromEnd),
  );
}

function isMonthDay(pattern: DayPattern, day: CivilDay): boolean {
  if (pattern.monthDays.length === 0) return true;
  const date = civilDate(day);
  const length = daysInMonth(date.year, date.month);
  return pattern.monthDays.some((d) => (d > 0 ? d : length + 1 + d) === date.day);
}

function ascendingDistinct(days: CivilDay[]): CivilDay[] {
  days.sort((a, b) => a - b);
  return days.filter((d, i) => i === 0 || d !== days[i - 1]);
}

/** The pattern's days of the months listed, from its BYMONTHDAY, ascending. */
function monthDaysOf(
  pattern: DayPattern,
  months: ReadonlyArray<readonly [number, number]>,
): CivilDay[] {
  const days: CivilDay[] = [];
  for (const [year, month] of months) {
    const length = daysInMonth(year, month);
    const before = civilDay(year, month, 1) - 1;
    const inMonth: CivilDay[] = [];
    for (const d of pattern.monthDays) {
      const date = d > 0 ? d : length + 1 + d;
      if (date >= 1 && date <= length) inMonth.push(before + date);
    }
    days.push(...ascendingDistinct(inMonth));
  }
  return days;
}

/** The pattern's numbered weekdays of the span `[first, last]`, ascending (dateutil's rule). */
function numberedWeekdaysOf(pattern: DayPattern, first: CivilDay, last: CivilDay): CivilDay[] {
  const days: CivilDay[] = [];
  for (const { weekday, ordinal } of pattern.nthWeekdays) {
    let day: CivilDay;
    if (ordinal > 0) {
      day = first + (ordinal - 1) * 7;
      day += mod(weekday - weekdayOf(day), 7);
    } else {
      day = last + (ordinal + 1) * 7;
      day -= mod(weekdayOf(day) - weekday, 7);
    }
    if (day >= first && day <= last) days.push(day);
  }
  return ascendingDistinct(days);
}

/** The days of `[first, last]` on the pattern's weekdays (all days without a filter). */
function weekdaysOf(pattern: DayPattern, first: CivilDay, last: CivilDay): CivilDay[] {
  const days: CivilDay[] = [];
  for (let weekday = 0; weekday < 7; weekday++) {
    if (pattern.weekdays !== 0 && (pattern.weekdays & (1 << weekday)) === 0) continue;
    for (let day = first + mod(weekday - weekdayOf(first), 7); day <= last; day += 7) {
      days.push(day);
    }
  }
  return days.sort((a, b) => a - b);
}

/**
 * The days the pattern picks in one active period, ascending. The candidates come from the
 * most selective filter the rule has (its month days, else its numbered weekdays, else its
 * weekdays); the other filters then sift them. Spends one step per candidate, at least one.
 */
function daysOfPeriod(pattern: DayPattern, period: number, budget: RecurrenceBudget): CivilDay[] {
  const [first, last] = periodSpan(pattern.freq, period);
  let candidates: CivilDay[];
  if (pattern.freq === 'DAILY') {
    candidates = [first];
  } else if (pattern.freq === 'WEEKLY') {
    candidates = weekdaysOf(pattern, first, last);
  } else if (pattern.monthDays.length > 0) {
    const { year, month } = civilDate(first);
    const months: Array<readonly [number, number]> =
      pattern.freq === 'MONTHLY'
        ? [[year, month]]
        : pattern.month !== undefined
          ? [[year, pattern.month]]
          : Array.from({ length: 12 }, (_, i) => [year, i + 1] as const);
    candidates = monthDaysOf(pattern, months);
  } else if (pattern.nthWeekdays.length > 0) {
    candidates = numberedWeekdaysOf(pattern, first, last);
  } else {
    candidates = weekdaysOf(pattern, first, last);
  }
  budget.spend(Math.max(1, candidates.length));
  return candidates.filter(
    (day) =>
      hasWeekday(pattern, day) &&
      isNumberedWeekday(pattern, first, last, day) &&
      (pattern.freq === 'MONTHLY' || pattern.freq === 'YEARLY' || isMonthDay(pattern, day)),
  );
}

function requireFinite(from: CivilDay, to: CivilDay): void {
  if (!Number.isFinite(from) || !Number.isFinite(to)) {
    throw new RangeError(`a walk over days needs finite bounds, not [${from}, ${to}]`);
  }
}

/**
 * The days the pattern picks in `[from, to]` (both included, both finite), ascending. It
 * starts at the first active period that reaches `from` — found by arithmetic, not by
 * walking from DTSTART — and visits each active period up to `to` once, so it costs
 * O(active periods overlapping the range + their candidate days), all spent on `budget`.
 *
 * @throws TooComplex when the budget runs out.
 */
export function* pickedDays(
  pattern: DayPattern,
  from: CivilDay,
  to: CivilDay,
  budget: RecurrenceBudget,
): Generator<CivilDay, void, undefined> {
  requireFinite(from, to);
  const low = Math.max(from, pattern.firstDay);
  if (low > to) return;
  const { freq, interval } = pattern;
  const origin = periodOf(freq, pattern.firstDay);
  const skipped = Math.max(0, Math.ceil((periodOf(freq, low) - origin) / interval));
  for (let period = origin + skipped * interval; ; period += interval) {
    if (periodSpan(freq, period)[0] > to) return;
    for (const day of daysOfPeriod(pattern, period, budget)) {
      if (day > to) return;
      if (day >= low) yield day;
    }
  }
}

/**
 * The days the pattern picks in `[from, to]` (both included, both finite), descending: the
 * mirror of {@link pickedDays}, from the last active period that reaches `to` back towards
 * DTSTART, at the same cost per period visited.
 *
 * @throws TooComplex when the budget runs out.
 */
export function* pickedDaysDescending(
  pattern: DayPattern,
  from: CivilDay,
  to: CivilDay,
  budget: RecurrenceBudget,
): Generator<CivilDay, void, undefined> {
  requireFinite(from, to);
  const low = Math.max(from, pattern.firstDay);
  if (low > to) return;
  const { freq, interval } = pattern;
  const origin = periodOf(freq, pattern.firstDay);
  const reached = Math.floor((periodOf(freq, to) - origin) / interval);
  for (let period = origin + reached * interval; period >= origin; period -= interval) {
    if (periodSpan(freq, period)[1] < low) return;
    for (const day of daysOfPeriod(pattern, period, budget).reverse()) {
      if (day < low) return;
      if (day <= to) yield day;
    }
  }
}
