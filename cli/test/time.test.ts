import test from 'ava';
import { DateTime } from 'luxon';
import {
  parseDuration,
  parseInterval,
  parseWhen,
  requireEndAfterStart,
  resolveZone,
  toApiInstant,
} from '../time.js';

/** A fixed "now": Tuesday 10 March 2026, 15:20:30 UTC (16:20:30 in Madrid). */
const now = DateTime.fromISO('2026-03-10T15:20:30Z', { zone: 'UTC' });

function when(text: string, zone = 'Europe/Madrid'): string {
  return toApiInstant(parseWhen(text, { zone, now, field: 'start' }));
}

test('times with an offset are kept as written', (t) => {
  t.is(when('2026-03-02T09:00:00Z'), '2026-03-02T09:00:00Z');
  t.is(when('2026-03-02T09:00+05:30'), '2026-03-02T09:00:00+05:30');
  t.is(when('2026-03-02T09:00:00-0800'), '2026-03-02T09:00:00-08:00');
});

test('times without an offset are read in the zone, with the offset of that date', (t) => {
  t.is(when('2026-03-02T09:00'), '2026-03-02T09:00:00+01:00');
  t.is(when('2026-07-02 09:00:15'), '2026-07-02T09:00:15+02:00');
  t.is(when('2026-03-02'), '2026-03-02T00:00:00+01:00');
  t.is(when('2026-03-02T09:00', 'America/New_York'), '2026-03-02T09:00:00-05:00');
  t.is(when('2026-03-09T09:00', 'America/New_York'), '2026-03-09T09:00:00-04:00');
  t.is(when('2026-03-02T09:00', 'UTC'), '2026-03-02T09:00:00Z');
});

test('a local time skipped by daylight saving is refused, a repeated one is the first', (t) => {
  t.throws(() => when('2026-03-29T02:30'), { message: /does not exist in Europe\/Madrid/ });
  t.throws(() => when('2026-03-08T02:30', 'America/New_York'), { message: /does not exist/ });
  t.is(when('2026-10-25T02:30'), '2026-10-25T02:30:00+02:00');
  t.is(when('2026-11-01T01:30', 'America/New_York'), '2026-11-01T01:30:00-04:00');
  t.is(when('2026-03-29T03:00'), '2026-03-29T03:00:00+02:00');
});

test('words and offsets are relative to now, in the zone', (t) => {
  t.is(when('now'), '2026-03-10T16:20:30+01:00');
  t.is(when('today'), '2026-03-10T00:00:00+01:00');
  t.is(when('Tomorrow 09:30'), '2026-03-11T09:30:00+01:00');
  t.is(when('yesterday'), '2026-03-09T00:00:00+01:00');
  t.is(when('14:00'), '2026-03-10T14:00:00+01:00');
  t.is(when('+2h'), '2026-03-10T18:20:30+01:00');
  t.is(when('-30m'), '2026-03-10T15:50:30+01:00');
  t.is(when('+1d12h'), '2026-03-12T04:20:30+01:00');
  t.is(when('+PT90M'), '2026-03-10T17:50:30+01:00');
  // Late in the UTC day it is already tomorrow in Tokyo.
  t.is(when('today', 'Asia/Tokyo'), '2026-03-11T00:00:00+09:00');
});

test('anything else is refused with the flag named', (t) => {
  for (const text of [
    '',
    'soon',
    '2026-13-01T09:00',
    '2026-02-30',
    '25:00',
    '2026-03-02T09:00:00.5Z',
    '+',
    '+0m',
    'next monday',
  ]) {
    const error = t.throws(() => when(text), undefined, text);
    t.regex(error?.message ?? '', /start/, text);
  }
});

test('durations are positive whole seconds, sent as ISO hours/minutes/seconds', (t) => {
  t.deepEqual(parseDuration('1h30m'), { ms: 5_400_000, iso: 'PT1H30M' });
  t.deepEqual(parseDuration('45m'), { ms: 2_700_000, iso: 'PT45M' });
  t.deepEqual(parseDuration('2h'), { ms: 7_200_000, iso: 'PT2H' });
  t.deepEqual(parseDuration('1d'), { ms: 86_400_000, iso: 'PT24H' });
  t.deepEqual(parseDuration('PT1H30M'), { ms: 5_400_000, iso: 'PT1H30M' });
  t.deepEqual(parseDuration('p1d'), { ms: 86_400_000, iso: 'PT24H' });
  t.deepEqual(parseDuration('90s'), { ms: 90_000, iso: 'PT1M30S' });
  for (const text of ['0m', '', 'an hour', 'P1M', '1.5h', '-1h']) {
    t.throws(() => parseDuration(text), { message: /duration/ }, text);
  }
});

test('zones are checked and spelled canonically', (t) => {
  t.is(resolveZone('europe/madrid'), 'Europe/Madrid');
  t.throws(() => resolveZone('Mars/Olympus'), { message: /not an IANA time zone/ });
  t.is(typeof resolveZone(undefined), 'string');
});

test('an interval defaults to now → +7 days and must not run backwards', (t) => {
  const context = { zone: 'Europe/Madrid', now };
  const { from, to } = parseInterval(undefined, undefined, context);
  t.is(toApiInstant(from), '2026-03-10T16:20:30+01:00');
  t.is(toApiInstant(to), '2026-03-17T16:20:30+01:00');
  const fromOnly = parseInterval('2026-04-01', undefined, context);
  t.is(toApiInstant(fromOnly.to), '2026-04-08T00:00:00+02:00');
  t.throws(() => parseInterval('tomorrow', 'today', context), {
    message: /--to .* must be after --from/,
  });
});

test('an end must be after its start, named by the flags that gave them', (t) => {
  const start = DateTime.fromISO('2026-03-02T09:00:00Z', { setZone: true });
  t.notThrows(() => requireEndAfterStart(start, start.plus({ seconds: 1 })));
  t.throws(() => requireEndAfterStart(start, start), {
    message: '--end (2026-03-02T09:00:00Z) must be after --start (2026-03-02T09:00:00Z)',
  });
  const error = t.throws(() =>
    requireEndAfterStart(start, start.minus({ hours: 1 }), { start: 'from', end: 'to' }),
  );
  t.like(error, {
    field: 'to',
    message: '--to (2026-03-02T08:00:00Z) must be after --from (2026-03-02T09:00:00Z)',
  });
});
