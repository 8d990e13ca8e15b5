/**
 * Property tests: our recurrence expander answers what the `rrule` library (python-dateutil's
 * semantics, which the domain delegated to before) answers, on random rules of the
 * supported subset, random DTSTARTs from 1970 to 2150, zones with unusual daylight-saving
 * rules and random windows. Seeded, with a fixed number of runs, so a failure reproduces.
 *
 * The oracle walks from DTSTART and has no bound, so every question asked of it is kept
 * cheap: the rule is cut at `LATEST_INSTANT` (which is also our documented bound: nothing
 * starts after it) and at a horizon of about a hundred periods past DTSTART (a century for
 * YEARLY), and windows lie before that horizon. How far a window is from DTSTART does not
 * matter to our expander, which jumps: another property checks exactly that, against a
 * walk from DTSTART over the whole domain.
 */
import test from 'ava';
import fc from 'fast-check';
import { LATEST_INSTANT, TIME } from '../../contract/limits.js';
import {
  civilDate,
  civilDay,
  dayPattern,
  pickedDays,
  pickedDaysDescending,
  RecurrenceBudget,
  weekdayOf,
} from './recurrence-days.js';
import {
  expandOccurrences,
  firstOccurrenceStarts,
  formatRecurrenceRule,
  isOccurrenceStart,
  lastCountedStart,
  parseRecurrenceRule,
  seriesEnd,
} from './recurrence.js';
import type { Series } from './recurrence.js';
import { oracleFirstStarts, oracleOccurrences, oracleSeriesEnd } from './test-rrule-oracle.js';
import { instantOfWallClock, offsetChanges } from './zones.js';
import type { Frequency, Interval, Millis, RecurrenceRule, Weekday, WeekdayRule } from './types.js';

const SEED = 20_250_301;

/** Days from 1970 to 2200, plus one step per empty month: the most one walk can take. */
const WHOLE_DOMAIN_STEPS = 84_007 + 2_761;

const ZONES = [
  'UTC',
  'Europe/Madrid',
  'America/New_York',
  'Australia/Lord_Howe', // half-hour DST
  'Pacific/Apia', // skipped 30 December 2011, and DST on both sides of the date line
  'Pacific/Chatham', // +12:45
  'America/St_Johns', // -03:30
  'Asia/Kolkata',
  'America/Sao_Paulo', // DST until 2019, changing at midnight
  'Africa/Casablanca', // DST suspended every Ramadan
] as const;

const WEEKDAYS: readonly Weekday[] = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

/** Roughly how long a period of each frequency lasts, to keep the oracle's walks short. */
const PERIOD_MS: Readonly<Record<Frequency, number>> = {
  DAILY: TIME.DAY,
  WEEKLY: 7 * TIME.DAY,
  MONTHLY: 31 * TIME.DAY,
  YEARLY: 366 * TIME.DAY,
};
/** Periods past DTSTART the oracle is asked about (it costs tens of microseconds each). */
const ORACLE_PERIODS = 120;

const plainWeekday = fc.constantFrom(...WEEKDAYS).map((weekday): WeekdayRule => ({ weekday }));

function numberedWeekday(freq: Frequency): fc.Arbitrary<WeekdayRule> {
  const bound = freq === 'MONTHLY' ? 5 : 53;
  return fc.record({
    weekday: fc.constantFrom(...WEEKDAYS),
    ordinal: fc.oneof(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: -5, max: -1 }),
      fc.integer({ min: -bound, max: bound }).filter((n) => n !== 0),
    ),
  });
}

/** BYDAY: plain weekdays, numbered ones (MONTHLY, YEARLY), now and then both (they AND). */
function arbitraryByDay(freq: Frequency): fc.Arbitrary<WeekdayRule[]> {
  const list = (item: fc.Arbitrary<WeekdayRule>) => fc.array(item, { minLength: 1, maxLength: 4 });
  if (freq !== 'MONTHLY' && freq !== 'YEARLY') return list(plainWeekday);
  return fc.oneof(
    { weight: 3, arbitrary: list(plainWeekday) },
    { weight: 3, arbitrary: list(numberedWeekday(freq)) },
    { weight: 1, arbitrary: list(fc.oneof(plainWeekday, numberedWeekday(freq))) },
  );
}

const arbitraryMonthDay = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 31 }) },
  { weight: 2, arbitrary: fc.integer({ min: -31, max: -1 }) },
  { weight: 2, arbitrary: fc.constantFrom(28, 29, 30, 31, -1, -29, -30, -31) },
);

/** A rule of the supported subset, without its end (COUNT or UNTIL, added later). */
const arbitraryRuleBody = fc
  .constantFrom<Frequency>('DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY')
  .chain((freq) =>
    fc.record({
      freq: fc.constant(freq),
      interval: fc.oneof(
        { weight: 5, arbitrary: fc.constant(1) },
        { weight: 4, arbitrary: fc.integer({ min: 2, max: 5 }) },
        { weight: 1, arbitrary: fc.integer({ min: 6, max: 999 }) },
      ),
      byDay: fc.option(arbitraryByDay(freq), { nil: undefined, freq: 2 }),
      byMonthDay:
        freq === 'WEEKLY'
          ? fc.constant(undefined)
          : fc.option(fc.array(arbitraryMonthDay, { minLength: 1, maxLength: 4 }), {
              nil: undefined,
              freq: 2,
            }),
    }),
  );

/** A wall-clock time of day, often one that a DST change skips or repeats. */
const arbitraryTimeOfDay = fc.oneof(
  fc.integer({ min: 0, max: 24 * 3600 - 1 }).map((s) => s * TIME.SECOND),
  fc.constantFrom(0, 30, 90, 120, 150, 180, 1410).map((m) => m * TIME.MINUTE),
);

interface Case {
  readonly zone: string;
  readonly series: Series;
  /** The rule cut where the oracle can answer cheaply (at the horizon, or LATEST_INSTANT). */
  readonly horizon: Millis;
}

const arbitraryCase: fc.Arbitrary<Case> = fc
  .record({
    zone: fc.constantFrom(...ZONES),
    day: fc.integer({ min: civilDay(1970, 1, 2), max: civilDay(2150, 12, 31) }),
    timeOfDay: arbitraryTimeOfDay,
    body: arbitraryRuleBody,
    end: fc.oneof(
      fc.constant({ kind: 'none' as const }),
      fc.record({ kind: fc.constant('count' as const), n: fc.integer({ min: 1, max: 60 }) }),
      fc.record({ kind: fc.constant('until' as const), periods: fc.integer({ min: 0, max: 300 }) }),
    ),
    minutes: fc.integer({ min: 1, max: 3 * 24 * 60 }),
  })
  .map(({ zone, day, timeOfDay, body, end, minutes }) => {
    const start = instantOfWallClock(day * TIME.DAY + timeOfDay, zone);
    const reach = PERIOD_MS[body.freq] * body.interval;
    const horizon = Math.min(LATEST_INSTANT, start + ORACLE_PERIODS * reach);
    const draft: RecurrenceRule = {
      ...body,
      ...(end.kind === 'count' ? { count: end.n } : {}),
      ...(end.kind === 'until'
        ? { until: Math.min(start + end.periods * reach, LATEST_INSTANT) }
        : {}),
    };
    // Through the parser, as every stored rule went.
    const rule = parseRecurrenceRule(formatRecurrenceRule(draft), zone);
    const series: Series = {
      id: 's',
      start,
      end: start + minutes * TIME.MINUTE,
      timeZone: zone,
      recurrence: { rule, exceptions: [] },
    };
    return { zone, series, horizon };
  });

/** The rule the oracle is asked about: cut at the horizon too (COUNT and UNTIL may mix). */
function cutAt(rule: RecurrenceRule, horizon: Millis): RecurrenceRule {
  return { ...rule, until: Math.min(rule.until ?? Number.POSITIVE_INFINITY, horizon) };
}

/**
 * Whether the oracle answers quickly about this rule: it stops at the first candidate past
 * what it was asked, but a rule that never matches again sends it to the year 9999, period
 * by period.
 */
function oracleIsQuick(rule: RecurrenceRule, start: Millis, zone: string): boolean {
  const { count: _count, until: _until, ...endless } = rule;
  if (firstOccurrenceStarts(endless, start, zone, 1).length > 0) return true;
  const periodsPerYear = { DAILY: 366, WEEKLY: 53, MONTHLY: 12, YEARLY: 1 }[rule.freq];
  const years = 9999 - new Date(start).getUTCFullYear();
  return (years * periodsPerYear) / rule.interval <= 2000;
}

function withRule(series: Series, rule: RecurrenceRule, exceptions: readonly Millis[]): Series {
  return { ...series, recurrence: { rule, exceptions } };
}

function ruleOf(series: Series): RecurrenceRule {
  if (series.recurrence === null) throw new Error('a case is always recurring');
  return series.recurrence.rule;
}

const iso = (instants: readonly Millis[]): string[] =>
  instants.map((i) => new Date(i).toISOString());

test('the first occurrences and the COUNT cut agree with rrule', (t) => {
  let compared = 0;
  let empty = 0;
  let skipped = 0;
  fc.assert(
    fc.property(arbitraryCase, ({ zone, series, horizon }) => {
      const rule = cutAt(ruleOf(series), horizon);
      if (!oracleIsQuick(rule, series.start, zone)) {
        skipped++;
        return;
      }
      const mine = firstOccurrenceStarts(rule, series.start, zone, 40);
      const theirs = oracleFirstStarts(rule, series.start, zone, 40);
      t.deepEqual(iso(mine), iso(theirs), formatRecurrenceRule(rule));
      if (rule.count !== undefined) {
        const counted = oracleFirstStarts(rule, series.start, zone, rule.count);
        t.is(lastCountedStart(rule, series.start, zone), counted.at(-1));
      }
      compared++;
      if (mine.length === 0) empty++;
    }),
    { seed: SEED, numRuns: 250 },
  );
  t.true(skipped < 25, `the oracle was too slow to ask about ${skipped} rules`);
  t.true(empty < compared / 5, `${empty} of ${compared} rules had no occurrence`);
  t.log(`${compared} rules compared, ${empty} of them empty; ${skipped} skipped`);
});

test('expansion over a window agrees with rrule, exceptions and the COUNT cut included', (t) => {
  fc.assert(
    fc.property(
      arbitraryCase,
      fc.double({ min: -0.05, max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 400 * 24 * 60 }),
      fc.array(fc.nat(), { maxLength: 4 }),
      fc.option(fc.double({ min: 0.001, max: 0.999, noNaN: true })),
      ({ zone, series, horizon }, place, minutes, picks, inside) => {
        const rule = cutAt(ruleOf(series), horizon);
        if (!oracleIsQuick(rule, series.start, zone)) return;
        let from = Math.round(series.start + place * (horizon - series.start));
        if (inside !== null) {
          // Open the window while an occurrence is under way, often a day or more after it began.
          const [running] = oracleOccurrences(withRule(series, rule, []), {
            start: from,
            end: from + 400 * TIME.DAY,
          });
          if (running !== undefined) {
            from = running.start + Math.ceil(inside * (running.end - running.start));
          }
        }
        const window: Interval = { start: from, end: from + minutes * TIME.MINUTE };
        const all = oracleOccurrences(withRule(series, rule, []), window);
        // Cancel a few of the occurrences in the window, and one instant that is none.
        const exceptions = [
          ...new Set(picks.map((p) => all[p % Math.max(1, all.length)]?.start ?? from)),
        ].sort((a, b) => a - b);
        const cancelled = withRule(series, rule, exceptions);
        const theirs = oracleOccurrences(cancelled, window);
        const label = `${formatRecurrenceRule(rule)} from ${new Date(series.start).toISOString()} in ${zone}`;
        t.deepEqual(expandOccurrences(cancelled, window), theirs, label);
        if (rule.count !== undefined) {
          const lastStart = lastCountedStart(rule, series.start, zone);
          const stored: Series = {
            ...cancelled,
            recurrence: { rule, exceptions, ...(lastStart === undefined ? {} : { lastStart }) },
          };
          t.deepEqual(expandOccurrences(stored, window), theirs, `${label}, with lastStart`);
        }
        for (const o of theirs.slice(0, 3)) t.true(isOccurrenceStart(cancelled, o.start), label);
        for (const e of exceptions) t.false(isOccurrenceStart(cancelled, e), label);
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
});

test('seriesEnd of a COUNT rule is the end of its last occurrence still standing, as before', (t) => {
  let compared = 0;
  fc.assert(
    fc.property(
      arbitraryCase,
      fc.integer({ min: 0, max: 3 }),
      ({ zone, series, horizon }, trailing) => {
        const rule = ruleOf(series);
        if (rule.count === undefined) return;
        // Only where the oracle reaches the COUNT-th occurrence cheaply: it never stops early.
        const starts = firstOccurrenceStarts(rule, series.start, zone, rule.count);
        const last = starts.at(-1);
        if (starts.length < rule.count || last === undefined || last > horizon) return;
        // Cancel the last few occurrences: seriesEnd then walks back.
        const exceptions = starts.slice(starts.length - trailing);
        const cancelled = withRule(series, rule, exceptions);
        const stored: Series = {
          ...cancelled,
          recurrence: { rule, exceptions, lastStart: last },
        };
        const expected = oracleSeriesEnd(cancelled);
        t.is(seriesEnd(cancelled), expected, formatRecurrenceRule(rule));
        t.is(seriesEnd(stored), expected, formatRecurrenceRule(rule));
        compared++;
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
  t.true(compared > 30, `only ${compared} COUNT rules compared`);
});

test('where a walk starts changes nothing: jumping to a day equals walking from DTSTART', (t) => {
  fc.assert(
    fc.property(
      arbitraryCase,
      fc.integer({ min: civilDay(1970, 1, 1), max: civilDay(2200, 1, 1) }),
      fc.integer({ min: 0, max: 400 }),
      ({ series }, from, length) => {
        const rule = ruleOf(series);
        const pattern = dayPattern(rule, Math.floor(series.start / TIME.DAY));
        const to = from + length;
        const budget = new RecurrenceBudget();
        const walked = [...pickedDays(pattern, pattern.firstDay, to, budget)].filter(
          (d) => d >= from,
        );
        t.true(budget.spent <= WHOLE_DOMAIN_STEPS, `${budget.spent} steps`);
        t.deepEqual([...pickedDays(pattern, from, to, budget)], walked, formatRecurrenceRule(rule));
        t.deepEqual(
          [...pickedDaysDescending(pattern, from, to, budget)],
          walked.reverse(),
          formatRecurrenceRule(rule),
        );
      },
    ),
    { seed: SEED, numRuns: 200 },
  );
});

test('civil days and dates convert like Date does', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: civilDay(1900, 1, 1), max: civilDay(2300, 12, 31) }), (day) => {
      const date = new Date(day * TIME.DAY);
      t.deepEqual(civilDate(day), {
        year: date.getUTCFullYear(),
        month: date.getUTCMonth() + 1,
        day: date.getUTCDate(),
      });
      t.is(weekdayOf(day), (date.getUTCDay() + 6) % 7);
      t.is(civilDay(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()), day);
    }),
    { seed: SEED, numRuns: 2000 },
  );
});

test('the same wall-clock time on later days never starts earlier, across offset changes', (t) => {
  // The walks stop at the first start past their bound, and a COUNT rule is cut at an
  // instant: both rely on this. A whole skipped day (Apia 2011, Kiritimati 1994) makes two
  // readings meet at one instant, never cross.
  const years: ReadonlyArray<readonly [string, number, number]> = [
    ['Europe/Madrid', 2024, 2026],
    ['Australia/Lord_Howe', 2024, 2026],
    ['America/Sao_Paulo', 2017, 2019],
    ['Pacific/Apia', 2010, 2013],
    ['Pacific/Kiritimati', 1994, 1996],
  ];
  for (const [zone, from, to] of years) {
    const changes = offsetChanges(zone, Date.UTC(from, 0, 1), Date.UTC(to, 0, 1));
    t.true(changes.length > 0, zone);
    for (const change of changes) {
      const day = Math.floor(change.at / TIME.DAY);
      for (let minute = 0; minute < 24 * 60; minute += 15) {
        let previous = Number.NEGATIVE_INFINITY;
        for (let d = day - 2; d <= day + 2; d++) {
          const start = instantOfWallClock(d * TIME.DAY + minute * TIME.MINUTE, zone);
          t.true(start >= previous, `${zone} ${new Date(start).toISOString()}`);
          previous = start;
        }
      }
    }
  }
});
