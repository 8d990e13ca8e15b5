import test from 'ava';
import fc from 'fast-check';
import { EARLIEST_INSTANT, LATEST_INSTANT } from './limits.js';
import { toIso } from './views.js';

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
  t.pass();
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
