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

test('hours the clocks skip give no window, and hours they repeat give both times', (t) => {
  const paris = 'Europe/Paris';
  const utc = (windows: { start: number; end: number }[]) =>
    windows.map((w) => `${new Date(w.start).toISOString()}–${new Date(w.end).toISOString()}`);
  const days = (from: string, to: string, hours: string) =>
    workingWindows(
      DateTime.fromISO(from, { zone: paris }),
      DateTime.fromISO(to, { zone: paris }),
      parseWorkingHours(hours) ?? { start: 0, end: 24 * 60 },
      { zone: paris, weekends: true },
    );
  // On Sunday 28 March 2027 Paris goes from 02:00 straight to 03:00: 02:15–02:45 does not
  // happen that day, and no window may stand in for it an hour later.
  t.deepEqual(utc(days('2027-03-27', '2027-03-29', '02:15-02:45')), [
    '2027-03-27T01:15:00.000Z–2027-03-27T01:45:00.000Z',
  ]);
  // Of 01:30–02:30 that day only the half hour before the jump exists.
  t.deepEqual(utc(days('2027-03-28', '2027-03-28T23:00', '01:30-02:30')), [
    '2027-03-28T00:30:00.000Z–2027-03-28T01:00:00.000Z',
  ]);
  // 01:30–03:30 goes on after the jump: 01:30–02:00 then 03:00–03:30, one stretch of time.
  t.deepEqual(utc(days('2027-03-28', '2027-03-28T23:00', '01:30-03:30')), [
    '2027-03-28T00:30:00.000Z–2027-03-28T01:30:00.000Z',
  ]);
  // On Sunday 31 October 2027 02:00–03:00 happens twice, summer time then winter time.
  t.deepEqual(utc(days('2027-10-31', '2027-10-31T23:00', '02:00-03:00')), [
    '2027-10-31T00:00:00.000Z–2027-10-31T02:00:00.000Z',
  ]);
  t.deepEqual(utc(days('2027-10-31', '2027-10-31T23:00', '02:15-02:45')), [
    '2027-10-31T00:15:00.000Z–2027-10-31T00:45:00.000Z',
    '2027-10-31T01:15:00.000Z–2027-10-31T01:45:00.000Z',
  ]);
  // A whole day is as long as it is: 23 hours in March, 25 in October.
  const whole = (from: string, to: string) => days(from, to, '0-24');
  const length = (w: { start: number; end: number }[]) =>
    w.reduce((sum, x) => sum + x.end - x.start, 0) / 3_600_000;
  t.is(length(whole('2027-03-28', '2027-03-29')), 23);
  t.is(length(whole('2027-10-31', '2027-11-01')), 25);
});

test('free slots never leave the hours asked on the night the clocks go forward', (t) => {
  const paris = 'Europe/Paris';
  const windows = workingWindows(
    DateTime.fromISO('2027-03-27', { zone: paris }),
    DateTime.fromISO('2027-03-29', { zone: paris }),
    { start: 2 * 60 + 15, end: 2 * 60 + 45 },
    { zone: paris, weekends: true },
  );
  const slots = [{ start: '2027-03-27T00:00:00.000Z', end: '2027-03-29T00:00:00.000Z' }];
  t.deepEqual(withinWindows(slots, windows, 10 * 60_000), [
    { start: '2027-03-27T01:15:00.000Z', end: '2027-03-27T01:45:00.000Z' },
  ]);
});
