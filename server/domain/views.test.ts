import test from 'ava';
import fc from 'fast-check';
import { EARLIEST_INSTANT, LATEST_INSTANT } from '../../contract/limits.js';
import type { CalendarEvent } from './types.js';
import { busyBlock, busyBlockWeight, eventView, eventViewWeight, toIso } from './views.js';

const SEED = 20_251_205;
/** ±100,000 years around 1970, as far as a Date reaches either way (8.64e15 ms). */
const DATE_RANGE = 8_640_000_000_000_000;

/** What every view wrote before toIso had its own formatter, and must keep writing. */
function reference(instant: number): string {
  return new Date(instant).toISOString();
}

test('toIso writes what toISOString writes, over every instant a Date can hold', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: -DATE_RANGE, max: DATE_RANGE }), (instant) => {
      t.is(toIso(instant), reference(instant));
    }),
    { seed: SEED, numRuns: 20_000 },
  );
});

test('toIso writes what toISOString writes over the domain and around its edges', (t) => {
  const domain = fc.integer({ min: EARLIEST_INSTANT - 1_000_000, max: LATEST_INSTANT + 1_000_000 });
  fc.assert(
    fc.property(domain, (instant) => {
      t.is(toIso(instant), reference(instant));
    }),
    { seed: SEED, numRuns: 50_000 },
  );
  // Days where the arithmetic turns: leap days, centuries, the 400-year era, the epoch, the
  // ends of four-digit years, each with the millisecond before and after.
  const turns = [
    Date.UTC(1970, 0, 1),
    Date.UTC(2000, 1, 29),
    Date.UTC(2000, 2, 1),
    Date.UTC(2100, 1, 28),
    Date.UTC(2100, 2, 1),
    Date.UTC(2200, 0, 1),
    Date.UTC(1600, 1, 29),
    Date.UTC(1900, 2, 1),
    -62_167_219_200_000, // 0000-01-01
    253_402_300_800_000, // 10000-01-01
  ];
  for (const turn of turns) {
    for (const instant of [turn - 1, turn, turn + 1, turn + 86_399_999]) {
      t.is(toIso(instant), reference(instant), String(instant));
    }
  }
  for (const instant of [-DATE_RANGE, -DATE_RANGE + 1, DATE_RANGE - 1, DATE_RANGE]) {
    t.is(toIso(instant), reference(instant), String(instant));
  }
});

test('toIso treats fractions and impossible instants as toISOString does', (t) => {
  for (const instant of [0.5, -0.5, 1_700_000_000_000.9, -1_700_000_000_000.9, -0]) {
    t.is(toIso(instant), reference(instant));
  }
  for (const instant of [Number.NaN, Number.POSITIVE_INFINITY, DATE_RANGE + 1]) {
    t.throws(() => toIso(instant), { instanceOf: RangeError });
  }
});

test('the weights of views are the lengths of their JSON', (t) => {
  // Any UTF-16 text: quotes, backslashes, control characters, lone and paired surrogates.
  const text = fc.string({ unit: 'binary', maxLength: 40 });
  const instant = fc.integer({ min: EARLIEST_INSTANT, max: LATEST_INSTANT });
  const event = fc.record({
    id: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    title: text,
    timeZone: fc.constantFrom('UTC', 'Europe/Paris', 'America/Argentina/Buenos_Aires'),
    description: text,
    location: text,
    visibility: fc.constantFrom('public' as const, 'busy' as const, 'private' as const),
    organizer: text,
    group: fc.option(fc.record({ name: text, kind: fc.constant('flat' as const) })),
    status: fc.constantFrom('confirmed' as const, 'pending' as const, 'cancelled' as const),
    recurrence: fc.option(
      fc.constant({ rule: { freq: 'WEEKLY' as const, interval: 2, count: 3 }, exceptions: [] }),
    ),
    reminders: fc.array(fc.integer({ min: 0, max: 40_320 }), { maxLength: 5 }),
    transparent: fc.option(fc.constant(true as const), { nil: undefined }),
  });
  fc.assert(
    fc.property(
      event,
      instant,
      instant,
      fc.constantFrom('accepted' as const, 'pending' as const),
      fc.boolean(),
      (e, start, end, myStatus, conflict) => {
        const series: CalendarEvent = {
          ...e,
          start,
          end,
          createdAt: 0,
          updatedAt: 0,
          revision: 1,
        };
        const view = eventView(series, { start, end }, myStatus, conflict);
        t.is(eventViewWeight(view), JSON.stringify(view).length);
        const block = busyBlock({ start, end });
        t.is(busyBlockWeight(block), JSON.stringify(block).length);
      },
    ),
    { seed: SEED, numRuns: 5_000 },
  );
});
