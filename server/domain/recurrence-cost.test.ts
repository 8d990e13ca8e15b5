/**
 * What recurrence expansion costs, on the cases that used to take seconds: each test asserts
 * the answer and the steps the walk took (deterministic, whatever the machine's load), plus
 * a generous wall-clock bound as a smoke check.
 */
import { performance } from 'node:perf_hooks';
import test from 'ava';
import { InvalidInput, TooComplex } from '../../contract/errors.js';
import { MAX_RECURRENCE_STEPS } from '../../contract/limits.js';
import {
  expandOccurrences,
  firstOccurrenceStarts,
  isOccurrenceStart,
  lastCountedStart,
  minimumOccurrenceGap,
  parseRecurrenceRule,
  RecurrenceBudget,
  seriesEnd,
} from './recurrence.js';
import type { Series } from './recurrence.js';
import { at } from './test-fixtures.js';
import { validateEventDraft } from './validation.js';
import type { EventDraft } from './validation.js';
import { wallClockOf } from './zones.js';

/** Generous: every case below takes a millisecond or two. */
const FAST_MS = 50;

/** Days from 1970 to 2200 plus one step per empty month: the most a walk can take. */
const WHOLE_DOMAIN_STEPS = 84_007 + 2_761;

function series(draft: Omit<EventDraft, 'title'>): Series {
  return { id: 's', ...validateEventDraft({ title: 'x', ...draft }) };
}

function timed<T>(work: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = work();
  return { value, ms: performance.now() - started };
}

test.before(() => {
  // The zone database answers its first question slowly; that is not the walk's cost.
  for (const zone of ['Europe/Madrid', 'America/New_York']) wallClockOf(0, zone);
});

test('a rule that never produces an occurrence is refused in milliseconds', (t) => {
  const draft = {
    title: 'x',
    start: at('2025-02-10T09:00:00Z'),
    end: at('2025-02-10T10:00:00Z'),
    timeZone: 'Europe/Madrid',
    recurrence: 'FREQ=MONTHLY;BYMONTHDAY=30;INTERVAL=12', // every February the 30th
  };
  const { value: error, ms } = timed(() => t.throws(() => validateEventDraft(draft)));
  t.true(error instanceof InvalidInput);
  t.is(error?.message, 'the recurrence rule produces no occurrence');
  t.true(ms < FAST_MS, `${ms} ms`);
  // One step per February from 2025 to 2200, not one per month until the year 9999.
  const budget = new RecurrenceBudget();
  const rule = parseRecurrenceRule(draft.recurrence, draft.timeZone);
  t.deepEqual(firstOccurrenceStarts(rule, draft.start, draft.timeZone, 400, budget), []);
  t.true(budget.spent <= 176, `${budget.spent} steps`);
});

test('other rules that never match are walked once over the domain at most', (t) => {
  for (const recurrence of [
    'FREQ=DAILY;INTERVAL=7;BYDAY=TU', // typed on a Monday: every 7th day is a Monday
    'FREQ=MONTHLY;BYDAY=MO,1FR', // filters combine: a Monday that is the first Friday
    'FREQ=YEARLY;BYMONTHDAY=31;BYDAY=1MO', // the first Monday of a year is before the 8th
    'FREQ=YEARLY;BYMONTHDAY=-1;BYDAY=1MO', // no month ends in the first week of a year
  ]) {
    const rule = parseRecurrenceRule(recurrence, 'UTC');
    const budget = new RecurrenceBudget();
    const start = at('2026-01-05T09:00:00Z');
    t.deepEqual(firstOccurrenceStarts(rule, start, 'UTC', 400, budget), [], recurrence);
    t.true(budget.spent <= WHOLE_DOMAIN_STEPS, `${recurrence}: ${budget.spent} steps`);
  }
});

test('a series begun in 1970 costs the same as a new one to list in 2199', (t) => {
  const daily = series({
    start: at('1970-01-02T08:00:00Z'),
    end: at('1970-01-02T09:00:00Z'),
    timeZone: 'Europe/Madrid',
    recurrence: 'FREQ=DAILY',
  });
  const march = { start: at('2199-03-01T00:00:00Z'), end: at('2199-04-01T00:00:00Z') };
  const budget = new RecurrenceBudget();
  const { value: occurrences, ms } = timed(() => expandOccurrences(daily, march, budget));
  t.is(occurrences.length, 31);
  t.is(new Date(occurrences[0]?.start ?? 0).toISOString(), '2199-03-01T08:00:00.000Z');
  // Summer time from 31 March 2199: 09:00 in Madrid is then 07:00 UTC.
  t.is(new Date(occurrences[30]?.start ?? 0).toISOString(), '2199-03-31T07:00:00.000Z');
  t.true(budget.spent <= 34, `${budget.spent} steps`); // the window, a day either side
  t.true(ms < FAST_MS, `${ms} ms`);

  const probe = new RecurrenceBudget();
  t.true(isOccurrenceStart(daily, at('2199-03-31T07:00:00Z'), probe));
  t.false(isOccurrenceStart(daily, at('2199-03-31T08:00:00Z'), probe));
  t.true(probe.spent <= 6, `${probe.spent} steps`);
});

test('seriesEnd of a COUNT rule costs nothing once validation stored where it stops', (t) => {
  const counted = series({
    start: at('2025-01-01T14:00:00Z'),
    end: at('2025-01-01T15:00:00Z'),
    timeZone: 'America/New_York',
    recurrence: 'FREQ=DAILY;COUNT=5000',
  });
  const lastStart = counted.recurrence?.lastStart;
  t.is(lastStart, at('2038-09-09T13:00:00Z')); // the 5000th day, in summer time
  const budget = new RecurrenceBudget();
  const { value: end, ms } = timed(() => seriesEnd(counted, budget));
  t.is(end, at('2038-09-09T14:00:00Z'));
  t.is(budget.spent, 0);
  t.true(ms < FAST_MS, `${ms} ms`);

  // A row stored before `lastStart` existed gets the same answer by counting, once per call.
  if (counted.recurrence === null) throw new Error('a recurring series');
  const { rule, exceptions } = counted.recurrence;
  const legacy: Series = { ...counted, recurrence: { rule, exceptions } };
  const counting = new RecurrenceBudget();
  t.is(seriesEnd(legacy, counting), end);
  t.true(counting.spent >= 5000 && counting.spent <= 5002, `${counting.spent} steps`);
  const window = { start: at('2038-09-01T00:00:00Z'), end: at('2038-10-01T00:00:00Z') };
  t.deepEqual(expandOccurrences(legacy, window), expandOccurrences(counted, window));
  t.is(expandOccurrences(counted, window).length, 9);
});

test('a COUNT that the domain ends before is cut at the last occurrence before 2200', (t) => {
  const yearly = series({
    start: at('2190-06-01T09:00:00Z'),
    end: at('2190-06-01T10:00:00Z'),
    recurrence: 'FREQ=YEARLY;COUNT=5000',
  });
  t.is(yearly.recurrence?.lastStart, at('2199-06-01T09:00:00Z'));
  t.is(seriesEnd(yearly), at('2199-06-01T10:00:00Z'));
});

test('the worst walk a valid rule can ask for stays far below the budget', (t) => {
  // Mondays the 31st from 1970: 5000 of them would take until long after 2200, so the walk
  // covers the whole domain day by day.
  const rule = parseRecurrenceRule('FREQ=DAILY;BYMONTHDAY=31;BYDAY=MO;COUNT=5000', 'UTC');
  const budget = new RecurrenceBudget();
  const last = lastCountedStart(rule, at('1970-01-01T09:00:00Z'), 'UTC', budget);
  t.is(last, at('2198-12-31T09:00:00Z'));
  t.true(budget.spent <= WHOLE_DOMAIN_STEPS, `${budget.spent} steps`);
  // A call makes at most two such walks (the COUNT walk of an old row, then its expansion).
  t.true(2 * WHOLE_DOMAIN_STEPS < MAX_RECURRENCE_STEPS);
});

test('a walk that runs out of budget is refused as too complex, the same way every time', (t) => {
  const daily = series({
    start: at('2025-01-01T09:00:00Z'),
    end: at('2025-01-01T10:00:00Z'),
    recurrence: 'FREQ=DAILY',
  });
  const year = { start: at('2025-01-01T00:00:00Z'), end: at('2026-01-01T00:00:00Z') };
  for (let attempt = 0; attempt < 2; attempt++) {
    const budget = new RecurrenceBudget(100);
    const error = t.throws(() => expandOccurrences(daily, year, budget));
    t.true(error instanceof TooComplex);
    t.is((error as TooComplex).code, 'too_complex');
    t.is((error as TooComplex).httpStatus, 422);
    t.is(budget.spent, 101);
  }
  t.is(expandOccurrences(daily, year).length, 365);
});

test('the minimum gap known without expanding never exceeds a real gap between occurrences', (t) => {
  const rules = [
    'FREQ=DAILY',
    'FREQ=DAILY;INTERVAL=3;BYDAY=MO,WE',
    'FREQ=WEEKLY',
    'FREQ=WEEKLY;INTERVAL=2;BYDAY=SU',
    'FREQ=MONTHLY',
    'FREQ=MONTHLY;BYMONTHDAY=-1',
    'FREQ=MONTHLY;BYDAY=1FR',
    'FREQ=MONTHLY;BYDAY=-1SU;INTERVAL=5',
    'FREQ=MONTHLY;BYDAY=2MO;BYMONTHDAY=8,9,10,11,12,13,14',
    'FREQ=YEARLY',
    'FREQ=YEARLY;BYDAY=20MO',
    'FREQ=YEARLY;BYDAY=-1FR;INTERVAL=2',
  ];
  const zones = ['UTC', 'Europe/Madrid', 'Australia/Lord_Howe', 'America/St_Johns'];
  const starts = [
    Date.UTC(1999, 0, 31, 2, 30),
    Date.UTC(2024, 1, 29, 23, 0),
    Date.UTC(2031, 2, 30, 1, 30),
  ];
  let checked = 0;
  for (const text of rules) {
    for (const zone of zones) {
      const rule = parseRecurrenceRule(text, zone);
      const gap = minimumOccurrenceGap(rule);
      if (gap === 0) continue;
      for (const start of starts) {
        const occurrences = firstOccurrenceStarts(rule, start, zone, 400);
        for (let i = 1; i < occurrences.length; i++) {
          const real = (occurrences[i] ?? 0) - (occurrences[i - 1] ?? 0);
          if (real < gap)
            t.fail(`${text} in ${zone} from ${new Date(start).toISOString()}: ${real} < ${gap}`);
        }
        checked++;
      }
    }
  }
  t.true(checked > 100, `${checked} series checked`);
  t.is(minimumOccurrenceGap(parseRecurrenceRule('FREQ=WEEKLY;BYDAY=MO,TU', 'UTC')), 0);
  t.is(minimumOccurrenceGap(parseRecurrenceRule('FREQ=YEARLY;BYMONTHDAY=3', 'UTC')), 0);
});

test('a daily event within hours of a day long is refused: it would overlap itself when clocks change', (t) => {
  const start = Date.UTC(1970, 0, 1, 12);
  const error = t.throws(() =>
    validateEventDraft({
      title: 'Almost all day',
      start,
      end: start + 23 * 3_600_000 + 45 * 60_000,
      timeZone: 'Europe/Paris',
      recurrence: 'FREQ=DAILY',
    }),
  );
  t.true(error instanceof InvalidInput);
  t.regex(error?.message ?? '', /clocks change/);
});
