import test from 'ava';
import { at } from './test-fixtures.js';
import { instantOfWallClock, offsetAt, offsetChanges, wallClockOf } from './zones.js';

const wall = (iso: string) => at(`${iso}Z`); // a wall-clock reading, encoded as UTC fields

test('wall clocks and instants convert both ways outside DST changes', (t) => {
  t.is(wallClockOf(at('2025-01-15T08:00:00Z'), 'Europe/Madrid'), wall('2025-01-15T09:00:00'));
  t.is(wallClockOf(at('2025-07-15T07:00:00Z'), 'Europe/Madrid'), wall('2025-07-15T09:00:00'));
  t.is(
    instantOfWallClock(wall('2025-07-15T09:00:00'), 'Europe/Madrid'),
    at('2025-07-15T07:00:00Z'),
  );
  t.is(instantOfWallClock(wall('2025-07-15T09:00:00'), 'Asia/Kolkata'), at('2025-07-15T03:30:00Z'));
  t.is(offsetAt('America/New_York', at('2025-01-15T00:00:00Z')), -300);
});

test('a reading that happens twice is its earlier instant, whatever the date today', (t) => {
  // 26 October 2025, Madrid: 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET).
  t.is(
    instantOfWallClock(wall('2025-10-26T02:30:00'), 'Europe/Madrid'),
    at('2025-10-26T00:30:00Z'),
  );
  // 2 November 2025, New York: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
  t.is(
    instantOfWallClock(wall('2025-11-02T01:30:00'), 'America/New_York'),
    at('2025-11-02T05:30:00Z'),
  );
});

test('a reading skipped by a jump forward moves forward by the jump', (t) => {
  t.is(
    instantOfWallClock(wall('2025-03-30T02:30:00'), 'Europe/Madrid'),
    at('2025-03-30T01:30:00Z'),
  );
  t.is(wallClockOf(at('2025-03-30T01:30:00Z'), 'Europe/Madrid'), wall('2025-03-30T03:30:00'));
  t.is(
    instantOfWallClock(wall('2025-03-09T02:15:00'), 'America/New_York'),
    at('2025-03-09T07:15:00Z'),
  );
});

test('every wall-clock reading of a year round-trips except in the gaps', (t) => {
  let exact = 0;
  for (const zone of ['Europe/Madrid', 'America/New_York', 'Australia/Lord_Howe', 'UTC']) {
    for (
      let instant = at('2025-01-01T00:00:00Z');
      instant < at('2026-01-01T00:00:00Z');
      instant += 15 * 60_000
    ) {
      const back = instantOfWallClock(wallClockOf(instant, zone), zone);
      // Only the second pass of a repeated reading maps to another (earlier) instant.
      if (back === instant) exact++;
      else {
        t.true(
          back < instant && wallClockOf(back, zone) === wallClockOf(instant, zone),
          `${zone} ${new Date(instant).toISOString()}`,
        );
      }
    }
  }
  // A year of quarter hours in 4 zones, all but the few repeated readings exact.
  t.true(exact > 4 * 35_000, `${exact} readings round-tripped exactly`);
});

test('offset changes found a week at a time are every change a day-by-day reading finds', (t) => {
  // The zones whose offsets change most oddly: Ramadan suspensions (Casablanca, Cairo),
  // half-hour daylight saving (Lord Howe), a skipped day (Apia), two-hour changes (Troll).
  const zones = [
    'Africa/Casablanca',
    'Africa/Cairo',
    'Australia/Lord_Howe',
    'Pacific/Apia',
    'Antarctica/Troll',
  ];
  const from = Date.UTC(2009, 0, 1);
  const to = Date.UTC(2020, 0, 1);
  const DAY = 86_400_000;
  for (const zone of zones) {
    const expected: number[] = [];
    for (let day = from; day < to; day += DAY) {
      // A change in (day, day + DAY]: one at midnight UTC (Casablanca's) belongs to the day before.
      if (offsetAt(zone, day) !== offsetAt(zone, day + DAY)) expected.push(day);
    }
    const changes = offsetChanges(zone, from, to);
    t.deepEqual(
      changes.map((c) => Math.floor((c.at - 1) / DAY) * DAY),
      expected,
      zone,
    );
    for (const change of changes) {
      t.is(offsetAt(zone, change.at - 1), change.from, zone);
      t.is(offsetAt(zone, change.at), change.to, zone);
    }
  }
});
