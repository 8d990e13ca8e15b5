import test from 'ava';
import { DateTime } from 'luxon';
import { parseWorkingHours, withinWindows, workingWindows } from '../working-hours.js';

const zone = 'Europe/Madrid';
const local = (iso: string) => DateTime.fromISO(iso, { zone });
const shown = (windows: { start: number; end: number }[]) =>
  windows.map(
    (w) =>
      `${DateTime.fromMillis(w.start, { zone }).toFormat('ccc d HH:mm')}–${DateTime.fromMillis(w.end, { zone }).toFormat('HH:mm')}`,
  );

test('working hours are read as a span within a day, or any', (t) => {
  t.deepEqual(parseWorkingHours('08:00-18:00'), { start: 480, end: 1080 });
  t.deepEqual(parseWorkingHours('9-17'), { start: 540, end: 1020 });
  t.deepEqual(parseWorkingHours(' 8:30 – 12 '), { start: 510, end: 720 });
  t.deepEqual(parseWorkingHours('0-24'), { start: 0, end: 1440 });
  t.is(parseWorkingHours('any'), null);
  for (const text of ['18-8', '9-9', '25-26', '9:60-10', 'nine to five', '']) {
    t.throws(() => parseWorkingHours(text), { message: /--hours/ }, text);
  }
});

test('windows are each working day of the interval, in the zone, across daylight saving', (t) => {
  // Friday 27 March 2026 to Tuesday 31 March; clocks go forward on Sunday the 29th.
  const from = local('2026-03-27T12:00');
  const to = local('2026-03-31T10:00');
  const hours = { start: 8 * 60, end: 18 * 60 };
  t.deepEqual(shown(workingWindows(from, to, hours, { zone, weekends: false })), [
    'Fri 27 12:00–18:00',
    'Mon 30 08:00–18:00',
    'Tue 31 08:00–10:00',
  ]);
  const weekend = workingWindows(from, to, hours, { zone, weekends: true });
  t.deepEqual(shown(weekend).slice(1, 3), ['Sat 28 08:00–18:00', 'Sun 29 08:00–18:00']);
  // Sunday's 08:00 is already summer time: UTC+2.
  t.is(new Date(weekend[2]?.start ?? 0).toISOString(), '2026-03-29T06:00:00.000Z');
});

test('free slots are cut to the windows and kept when still long enough', (t) => {
  const windows = [
    { start: Date.parse('2026-03-02T08:00Z'), end: Date.parse('2026-03-02T18:00Z') },
    { start: Date.parse('2026-03-03T08:00Z'), end: Date.parse('2026-03-03T18:00Z') },
  ];
  const slots = [{ start: '2026-03-02T17:00:00.000Z', end: '2026-03-03T09:00:00.000Z' }];
  t.deepEqual(withinWindows(slots, windows, 60 * 60_000), [
    { start: '2026-03-02T17:00:00.000Z', end: '2026-03-02T18:00:00.000Z' },
    { start: '2026-03-03T08:00:00.000Z', end: '2026-03-03T09:00:00.000Z' },
  ]);
  t.deepEqual(withinWindows(slots, windows, 61 * 60_000), []);
});
