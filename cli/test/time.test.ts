import test from 'ava';
import { DateTime } from 'luxon';
import {
  parseDayOrTime,
  parseDuration,
  parseInterval,
  parseRangeBound,
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

/** As an event's start is read: a time of day must be said. */
function start(text: string, zone = 'Europe/Madrid'): string {
  return toApiInstant(parseWhen(text, { zone, now, field: 'start', needsTime: true }));
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

test('a skipped local time is refused with when the clocks jump and the times meant, which read', (t) => {
  const paris = (text: string, at = now) =>
    parseWhen(text, { zone: 'Europe/Paris', now: at, field: 'start', needsTime: true });
  const message =
    'the start "2027-03-28 02:30" does not exist in Europe/Paris: on 28 March 2027 the clocks go forward from 02:00 to 03:00 (daylight saving); did you mean 2027-03-28 03:30, an hour later (or 2027-03-28 01:30, an hour earlier)?';
  t.throws(() => paris('2027-03-28 02:30'), { message });
  // Spelled in words, the same refusal; seconds are kept; Lord Howe jumps half an hour.
  t.throws(() => paris('march 28 2027 2:30am'), {
    message: /forward from 02:00 to 03:00 \(daylight saving\); did you mean 2027-03-28 03:30,/,
  });
  t.throws(() => paris('2027-03-28T02:30:15'), {
    message: /did you mean 2027-03-28 03:30:15, an hour later \(or 2027-03-28 01:30:15, an/,
  });
  t.throws(() => when('2026-10-04 02:15', 'Australia/Lord_Howe'), {
    message:
      /on 4 October 2026 the clocks go forward from 02:00 to 02:30 \(daylight saving\); did you mean 2026-10-04 02:45, half an hour later \(or 2026-10-04 01:45, half an hour earlier\)\?$/,
  });
  // Each suggestion reads, as the instant the skipped time would have been in either offset.
  t.is(toApiInstant(paris('2027-03-28 03:30')), '2027-03-28T03:30:00+02:00');
  t.is(toApiInstant(paris('2027-03-28 01:30')), '2027-03-28T01:30:00+01:00');
  // At 01:45 that night, 02:30 is still to come (and skipped), but 01:30 has passed.
  const night = DateTime.fromISO('2027-03-28T01:45', { zone: 'Europe/Paris' });
  t.throws(() => paris('02:30', night), {
    message:
      'the start "02:30" does not exist in Europe/Paris: on 28 March 2027 the clocks go forward from 02:00 to 03:00 (daylight saving); did you mean 2027-03-28 03:30, an hour later?',
  });
});

test('words and offsets are relative to now, in the zone, to the minute', (t) => {
  t.is(when('now'), '2026-03-10T16:20:00+01:00');
  t.is(when('today'), '2026-03-10T00:00:00+01:00');
  t.is(when('Tomorrow 09:30'), '2026-03-11T09:30:00+01:00');
  t.is(when('yesterday'), '2026-03-09T00:00:00+01:00');
  // A bare time of day is the next one: 14:00 has passed today (16:20), 17:00 has not.
  t.is(when('14:00'), '2026-03-11T14:00:00+01:00');
  t.is(when('17:00'), '2026-03-10T17:00:00+01:00');
  t.is(when('+2h'), '2026-03-10T18:20:00+01:00');
  t.is(when('-30m'), '2026-03-10T15:50:00+01:00');
  t.is(when('+1d12h'), '2026-03-12T04:20:00+01:00');
  t.is(when('+PT90M'), '2026-03-10T17:50:00+01:00');
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
    'next blursday',
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
  // Weeks, as people write them (`--remind 1w`); ISO's too.
  t.deepEqual(parseDuration('2w'), { ms: 14 * 86_400_000, iso: 'PT336H' });
  t.deepEqual(parseDuration('1 week'), { ms: 7 * 86_400_000, iso: 'PT168H' });
  t.deepEqual(parseDuration('P2W'), { ms: 14 * 86_400_000, iso: 'PT336H' });
  for (const text of ['0m', '', 'an hour', 'P1M', '-1h', '90', '1h30x', '1h 2h', '2 fortnights']) {
    t.throws(() => parseDuration(text), { message: /duration/ }, text);
  }
  // None at all is said to be none, and read where it means something (an instant).
  t.throws(() => parseDuration('0m'), {
    message: 'the duration cannot be zero: give a length, e.g. 30m or 1h',
  });
  for (const text of ['0', '0m', '0h0m', 'PT0S', '0 min']) {
    t.deepEqual(parseDuration(text, 'duration', { zero: true }).ms, 0, text);
  }
});

test('durations as people write them', (t) => {
  for (const text of [
    '90m',
    '90 min',
    '90 minutes',
    '1h30',
    '1h 30m',
    '1.5h',
    '1:30',
    '1 hour and 30 minutes',
  ]) {
    t.deepEqual(parseDuration(text), { ms: 5_400_000, iso: 'PT1H30M' }, text);
  }
  t.is(parseDuration('2 hours').iso, 'PT2H');
  t.is(parseDuration('1d').iso, 'PT24H');
  t.is(parseDuration('2 days').iso, 'PT48H');
  t.is(parseDuration('45 mins').iso, 'PT45M');
  t.is(parseDuration('1 hr').iso, 'PT1H');
  t.is(parseDuration('0.25h').iso, 'PT15M');
  t.throws(() => parseDuration('1h30x'), { message: /write e\.g\. 45m, 90 min, 1h30, 1\.5h/ });
});

test('English as people type it, in the zone, rounded to the minute', (t) => {
  // now is Tuesday 10 March 2026, 16:20:30 in Madrid.
  t.is(start('tomorrow 9am'), '2026-03-11T09:00:00+01:00');
  t.is(start('next monday 9am'), '2026-03-16T09:00:00+01:00');
  t.is(start('monday 14:00'), '2026-03-16T14:00:00+01:00');
  t.is(start('Friday at noon'), '2026-03-13T12:00:00+01:00');
  t.is(start('dec 24 3pm'), '2026-12-24T15:00:00+01:00');
  t.is(start('in 2 hours'), '2026-03-10T18:20:00+01:00');
  t.is(start('today 5pm'), '2026-03-10T17:00:00+01:00');
  t.is(start('tomorrow  at  9:30'), '2026-03-11T09:30:00+01:00');
  // Forward: 9am has passed today, so it is tomorrow's; Tuesday is next week's.
  t.is(start('9am'), '2026-03-11T09:00:00+01:00');
  t.is(start('tuesday 8am'), '2026-03-17T08:00:00+01:00');
  // The same words in another zone: its own wall clock.
  t.is(start('tomorrow 9am', 'America/New_York'), '2026-03-11T09:00:00-04:00');
  t.is(start('in 2 hours', 'Asia/Tokyo'), '2026-03-11T02:20:00+09:00');
  // ISO keeps its seconds exactly.
  t.is(start('2026-03-02T09:00:15'), '2026-03-02T09:00:15+01:00');
});

test('the DST rules hold for English too: a skipped time is refused, a repeated one is the first', (t) => {
  t.throws(() => start('march 29 2:30am'), { message: /does not exist in Europe\/Madrid/ });
  t.is(start('oct 25 2:30am'), '2026-10-25T02:30:00+02:00');
  // "in 24 hours" across the change is 24 real hours, not the same wall time.
  const saturday = DateTime.fromISO('2026-03-28T12:00:00', { zone: 'Europe/Madrid' });
  t.is(
    toApiInstant(
      parseWhen('in 24 hours', { zone: 'Europe/Madrid', now: saturday, field: 'start' }),
    ),
    '2026-03-29T13:00:00+02:00',
  );
});

test('unclear English is refused, saying what to write', (t) => {
  t.throws(() => start('tomorrow'), {
    message:
      'the start "tomorrow" names a day but no time: add one, e.g. "tomorrow 9am" or "tomorrow 14:00"',
  });
  t.throws(() => start('next monday'), { message: /names a day but no time/ });
  t.throws(() => start('dec 24'), { message: /names a day but no time/ });
  t.throws(() => start('tomorrow 9'), { message: /"9" is left over after "tomorrow"/ });
  t.throws(() => start('lunch tomorrow 1pm'), { message: /"lunch" is left over/ });
  t.throws(() => start('tomorrow 9am to 10am'), { message: /is a range: .*--end/ });
  t.throws(() => start('next blursday'), { message: /is not a time: write e\.g\. "tomorrow 9am"/ });
  // Where a day is enough, a bare day is its midnight; an ISO date always is.
  t.is(when('tomorrow'), '2026-03-11T00:00:00+01:00');
  t.is(when('next monday'), '2026-03-16T00:00:00+01:00');
  t.is(start('2026-03-02'), '2026-03-02T00:00:00+01:00');
});

test('the times suggested for a day without one read, on that day, to come, and differ', (t) => {
  // now is 16:20 in Madrid: 9am and 14:00 have passed today; 17:00 is the next whole hour.
  t.throws(() => start('today'), {
    message:
      'the start "today" names a day but no time: add one, e.g. "today 5pm" or "today 18:00"',
  });
  // "tonight 9am" would be this morning, in the past: times of the evening (outside attack 7).
  t.throws(() => start('tonight'), { message: /e\.g\. "tonight 8pm" or "tonight 19:30"$/ });
  // A day to come, or a past one asked for, keeps 9am and 14:00.
  t.throws(() => start('tomorrow'), { message: /e\.g\. "tomorrow 9am" or "tomorrow 14:00"$/ });
  t.throws(() => start('yesterday'), { message: /e\.g\. "yesterday 9am" or "yesterday 14:00"$/ });
  const at = (iso: string) => DateTime.fromISO(iso, { zone: 'Europe/Madrid' });
  const today = (time: string) =>
    parseWhen('today', { zone: 'Europe/Madrid', now: at(time), field: 'start', needsTime: true });
  // At 13:10, 14:00 and 2pm are one time: said once, and the next hour after it.
  t.throws(() => today('2026-03-10T13:10'), {
    message: /e\.g\. "today 14:00" or "today 15:00"$/,
  });
  // Late in the evening no whole hour is left today: no example that would be refused.
  t.throws(() => today('2026-03-10T23:10'), {
    message: 'the start "today" names a day but no time: add one (HH:MM, or with am/pm)',
  });
  for (const written of ['today 5pm', 'today 18:00', 'tonight 5pm']) {
    t.true(parseWhen(written, { zone: 'Europe/Madrid', now, field: 'start' }) > now, written);
  }
});

test('a bare time of day is the next one to come, however it is spelled', (t) => {
  // now is 16:20:30 in Madrid: 03:00 and 16:00 have passed today, 16:21 and 23:00 have not.
  const spellings = [
    ['03:00', '3am', '3:00am', '3 am'],
    ['16:00', '4pm', '4:00 pm'],
    ['16:21', '4:21pm'],
    ['23:00', '11pm'],
    ['12:00', 'noon'],
    ['00:00', 'midnight'],
  ];
  const expected = [
    '2026-03-11T03:00:00+01:00',
    '2026-03-11T16:00:00+01:00',
    '2026-03-10T16:21:00+01:00',
    '2026-03-10T23:00:00+01:00',
    '2026-03-11T12:00:00+01:00',
    '2026-03-11T00:00:00+01:00',
  ];
  spellings.forEach((same, i) => {
    for (const text of same) {
      t.is(start(text), expected[i] ?? '', text);
      t.is(when(text), expected[i] ?? '', text);
    }
  });
  // Said with its day, it is that day's, past or not.
  t.is(start('today 03:00'), '2026-03-10T03:00:00+01:00');
  t.is(start('today 3am'), '2026-03-10T03:00:00+01:00');
  // The minute now is still to come (chrono's forwardDate: only an earlier time moves on).
  const onTheMinute = DateTime.fromISO('2026-03-10T16:20:00', { zone: 'Europe/Madrid' });
  const read = (text: string) =>
    toApiInstant(parseWhen(text, { zone: 'Europe/Madrid', now: onTheMinute, field: 'start' }));
  t.is(read('16:20'), '2026-03-10T16:20:00+01:00');
  t.is(read('4:20pm'), '2026-03-10T16:20:00+01:00');
  // On the day the clocks go forward, a skipped time already past is tomorrow's, not refused.
  const afterGap = DateTime.fromISO('2026-03-29T10:00', { zone: 'Europe/Madrid' });
  for (const text of ['02:30', '2:30am']) {
    t.is(
      toApiInstant(parseWhen(text, { zone: 'Europe/Madrid', now: afterGap, field: 'start' })),
      '2026-03-30T02:30:00+02:00',
      text,
    );
  }
});

test('an end written without a day is the first such time after the start', (t) => {
  const after = DateTime.fromISO('2026-03-11T22:00', { zone: 'Europe/Madrid' });
  const end = (text: string) =>
    toApiInstant(
      parseWhen(text, { zone: 'Europe/Madrid', now, field: 'end', needsTime: true, after }),
    );
  t.is(end('23:30'), '2026-03-11T23:30:00+01:00');
  t.is(end('1am'), '2026-03-12T01:00:00+01:00');
  t.is(end('tomorrow 11pm'), '2026-03-11T23:00:00+01:00');
});

test('an occurrence is a day or a time', (t) => {
  const read = (text: string) => {
    const read = parseDayOrTime(text, { zone: 'Europe/Madrid', now, field: 'occurrence' });
    return read.kind === 'day'
      ? `day ${toApiInstant(read.start)} ${toApiInstant(read.end)}`
      : `time ${toApiInstant(read.at)}`;
  };
  t.is(read('2026-12-14'), 'day 2026-12-14T00:00:00+01:00 2026-12-15T00:00:00+01:00');
  t.is(read('dec 14'), 'day 2026-12-14T00:00:00+01:00 2026-12-15T00:00:00+01:00');
  t.is(read('monday'), 'day 2026-03-16T00:00:00+01:00 2026-03-17T00:00:00+01:00');
  // The day the clocks go forward is 23 hours long.
  t.is(read('2026-03-29'), 'day 2026-03-29T00:00:00+01:00 2026-03-30T00:00:00+02:00');
  t.is(read('2026-12-14 09:00'), 'time 2026-12-14T09:00:00+01:00');
  t.is(read('monday 9am'), 'time 2026-03-16T09:00:00+01:00');
  t.throws(() => read('someday'), { message: /occurrence/ });
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

test('a range bound given as a day is the whole day, a week, month or year the whole of it', (t) => {
  // now is Tuesday 10 March 2026, 16:20:30 in Madrid.
  const context = { zone: 'Europe/Madrid', now };
  const range = (from: string, to?: string) => {
    const read = parseInterval(from, to, context);
    return `${toApiInstant(read.from)} ${toApiInstant(read.to)}`;
  };
  // A day starts at its 00:00 (not at this time of day), and as an end it is included whole.
  t.is(range('tomorrow'), '2026-03-11T00:00:00+01:00 2026-03-18T00:00:00+01:00');
  t.is(range('today', 'today'), '2026-03-10T00:00:00+01:00 2026-03-11T00:00:00+01:00');
  t.is(range('friday', 'monday'), '2026-03-13T00:00:00+01:00 2026-03-17T00:00:00+01:00');
  t.is(range('2026-04-01', '2026-04-08'), '2026-04-01T00:00:00+02:00 2026-04-09T00:00:00+02:00');
  t.is(range('in a week', 'dec 24'), '2026-03-17T00:00:00+01:00 2026-12-25T00:00:00+01:00');
  // A week is Monday to Monday, a month the 1st to the 1st (the offset of each day its own).
  t.is(range('next week'), '2026-03-16T00:00:00+01:00 2026-03-23T00:00:00+01:00');
  t.is(range('this week', 'next week'), '2026-03-09T00:00:00+01:00 2026-03-23T00:00:00+01:00');
  t.is(range('next month', 'next month'), '2026-04-01T00:00:00+02:00 2026-05-01T00:00:00+02:00');
  t.is(range('last week', 'next year'), '2026-03-02T00:00:00+01:00 2028-01-01T00:00:00+01:00');
  // Times are kept as they are.
  t.is(range('now', '+2h'), '2026-03-10T16:20:00+01:00 2026-03-10T18:20:00+01:00');
  t.is(
    range('tomorrow 9am', '2026-03-11T12:00'),
    '2026-03-11T09:00:00+01:00 2026-03-11T12:00:00+01:00',
  );
  t.is(toApiInstant(parseRangeBound('17:00', context, 'to')), '2026-03-10T17:00:00+01:00');
  // A week with a time names no day: refused, naming the flag.
  t.throws(() => parseRangeBound('next week 9am', context, 'from'), {
    message: /^the from "next week 9am" names a week, not a day/,
  });
});

test("a day without a year, as a range bound or a view's --date, is the nearest such day", (t) => {
  // now is Tuesday 10 March 2026: 1 March is this month's (not next year's, as a start's
  // would be), 1 August the coming one, 1 December and 15 September (over six months on) the
  // last ones; a year given is kept.
  const context = { zone: 'Europe/Madrid', now };
  const from = (text: string) => toApiInstant(parseRangeBound(text, context, 'from'));
  t.is(from('mar 1'), '2026-03-01T00:00:00+01:00');
  t.is(from('feb 14'), '2026-02-14T00:00:00+01:00');
  t.is(from('dec 1'), '2025-12-01T00:00:00+01:00');
  t.is(from('sep 15'), '2025-09-15T00:00:00+02:00');
  t.is(from('aug 1'), '2026-08-01T00:00:00+02:00');
  t.is(from('mar 1 2027'), '2027-03-01T00:00:00+01:00');
  // An end is the first such day after the start, whenever typed.
  const interval = (a: string, b: string) => {
    const read = parseInterval(a, b, context);
    return `${toApiInstant(read.from)} ${toApiInstant(read.to)}`;
  };
  t.is(interval('nov 1', 'nov 30'), '2025-11-01T00:00:00+01:00 2025-12-01T00:00:00+01:00');
  t.is(interval('feb 1', 'jan 31'), '2026-02-01T00:00:00+01:00 2027-02-01T00:00:00+01:00');
  t.is(interval('today', 'dec 24'), '2026-03-10T00:00:00+01:00 2026-12-25T00:00:00+01:00');
  // An event's start keeps the next one to come.
  t.is(start('mar 1 9am'), '2027-03-01T09:00:00+01:00');
  t.is(
    toApiInstant(
      parseWhen('mar 1', { ...context, field: 'date', dayWithoutYear: { nearest: now } }),
    ),
    '2026-03-01T00:00:00+01:00',
  );
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

test('an offset no place uses is refused, not read as days away', (t) => {
  const offsets = ['+99:59', '+25:00', '+0960', '-15'];
  for (const offset of offsets) {
    const error = t.throws(() => when(`2026-12-07T09:00${offset}`));
    t.regex(error.message, /which no place uses/, offset);
  }
  t.is(when('2026-12-07T09:00+14:00'), '2026-12-07T09:00:00+14:00');
  t.is(when('2026-12-07T09:00-12:00'), '2026-12-07T09:00:00-12:00');
});

test('an end on the night the clocks turn back is the first such time after the start', (t) => {
  const zone = 'America/New_York';
  // 01:50 EDT on 1 November 2026; 01:10 comes again 20 minutes later, in EST.
  const after = parseWhen('2026-11-01 01:50', { zone, now, field: 'start' });
  const end = parseWhen('01:10', { zone, now, field: 'end', after });
  t.is(toApiInstant(end.toUTC()), '2026-11-01T06:10:00Z');
  // 01:20 EDT is before the first 01:30 (EDT): that one.
  const early = parseWhen('2026-11-01 01:20', { zone, now, field: 'start' });
  t.is(
    toApiInstant(parseWhen('01:30', { zone, now, field: 'end', after: early }).toUTC()),
    '2026-11-01T05:30:00Z',
  );
  // An ordinary night: the next day's.
  const ordinary = parseWhen('2026-11-03 01:50', { zone, now, field: 'start' });
  t.is(
    toApiInstant(parseWhen('01:10', { zone, now, field: 'end', after: ordinary }).toUTC()),
    '2026-11-04T06:10:00Z',
  );
});

test('a day its month does not have is refused as such: 29 February of a common year, 31 April', (t) => {
  // On 10 March 2026 the next February is 2027's, which has 28 days.
  // What to write instead keeps the rest of what was typed, as it was typed: without the
  // time, a start written as suggested would be refused as a day without a time.
  const leap = {
    'feb 29': '"feb 29 2028" or 2028-02-29',
    '29 feb': '"29 feb 2028" or 2028-02-29',
    'February 29th 9am': '"February 29th 2028 9am"',
    'feb 29, 2027 at 9am': '"feb 29 2028 at 9am"',
    '2027-02-29': '2028-02-29',
    '2027-02-29T09:00Z': '2028-02-29T09:00Z',
    '2027-02-29 09:00': '"2028-02-29 09:00"',
  };
  for (const [text, write] of Object.entries(leap)) {
    t.throws(
      () => when(text),
      {
        message: `the start "${text}" is 29 February 2027, a day that does not exist: 2027 is not a leap year (the next 29 February is in 2028: write ${write})`,
      },
      text,
    );
  }
  for (const written of ['February 29th 2028 9am', 'feb 29 2028 at 9am', '2028-02-29 09:00']) {
    t.is(start(written), '2028-02-29T09:00:00+01:00', written);
  }
  t.throws(() => when('apr 31 3pm'), {
    message: 'the start "apr 31 3pm" names a day that does not exist: April 2026 has 30 days',
  });
  t.throws(() => when('2026-06-31'), {
    message: 'the start "2026-06-31" names a day that does not exist: June 2026 has 30 days',
  });
  t.is(when('feb 29 2028'), '2028-02-29T00:00:00+01:00');
});

test('a date with slashes that reads both ways is refused, naming both days and how to write each', (t) => {
  // now is 10 March 2026: a day without a year is the next one to come.
  t.throws(() => start('05/04 10:00'), {
    message:
      'the start "05/04 10:00" is ambiguous: 05/04 is 4 May with the month first (as in the US), 5 April with the day first. ' +
      'Write the month in letters or the date in ISO form: "4 may 10:00" or "2026-05-04 10:00" for 4 May, "5 apr 10:00" or "2026-04-05 10:00" for 5 April',
  });
  // 4 March has passed this year: next year's. A written year is kept, two digits too.
  t.throws(() => when('03/04'), { message: /"4 mar" or 2027-03-04 for 4 March, "3 apr" or 2026/ });
  // Each way to write it keeps the time, so that it reads where a time is needed.
  t.throws(() => start('3/4/27 9am'), {
    message:
      /: "4 mar 2027 9am" or "2027-03-04 09:00" for 4 March, "3 apr 2027 9am" or "2027-04-03 09:00" for 3 April$/,
  });
  for (const written of ['4 mar 2027 9am', '2027-03-04 09:00']) {
    t.is(start(written), '2027-03-04T09:00:00+01:00', written);
  }
  // One reading only: a number over 12 is the day, and the same number twice is one day.
  t.is(start('13/04 10:00'), '2026-04-13T10:00:00+02:00');
  t.is(start('04/13 10:00'), '2026-04-13T10:00:00+02:00');
  t.is(start('04/04 10:00'), '2026-04-04T10:00:00+02:00');
  t.is(start('2026/03/04 10:00'), '2026-03-04T10:00:00+01:00');
});

test('an hour of 1 to 12 without am/pm or minutes is refused: morning or afternoon?', (t) => {
  t.throws(() => start('at 5'), {
    message:
      'the start "at 5" is ambiguous: 5 in the morning or the afternoon? Write 5am or 5pm, or a 24-hour time (05:00 or 17:00)',
  });
  t.throws(() => start('tomorrow at 5'), { message: /is ambiguous: 5 in the morning/ });
  t.throws(() => start("dec 24 at 3 o'clock"), { message: /is ambiguous: 3 in the morning/ });
  t.throws(() => when('at 12'), { message: /12 noon or midnight\? Write noon or midnight/ });
  // What reads one way: am/pm, a 24-hour hour, minutes (HH:MM is the 24-hour clock), a
  // leading zero, noon and midnight.
  t.is(start('tomorrow at 5pm'), '2026-03-11T17:00:00+01:00');
  t.is(start('tomorrow at 17'), '2026-03-11T17:00:00+01:00');
  t.is(start('tomorrow at 5:30'), '2026-03-11T05:30:00+01:00');
  t.is(start('tomorrow at 05'), '2026-03-11T05:00:00+01:00');
  t.is(start('tomorrow at noon'), '2026-03-11T12:00:00+01:00');
  t.is(start('tomorrow at 5 in the afternoon'), '2026-03-11T17:00:00+01:00');
});

test('a week, month or year where a day and time are needed is refused; where a day is enough it is read', (t) => {
  t.throws(() => start('next week'), {
    message:
      'the start "next week" names a week, not a day: say which day, and the time, e.g. "next monday 9am" or "dec 24 3pm"',
  });
  t.throws(() => start('next week 9am'), { message: /names a week, not a day/ });
  t.throws(() => start('next month'), { message: /names a month, not a day/ });
  // A count of days names a day and no time: as "tomorrow" does.
  t.throws(() => start('in a week'), {
    message:
      'the start "in a week" names a day but no time: add one, e.g. "in a week 9am" or "in a week 14:00"',
  });
  t.is(start('in 3 days 9am'), '2026-03-13T09:00:00+01:00');
  // `agenda week --date "next week"` shows next week: any day of it will do.
  t.is(when('next week'), '2026-03-17T16:20:00+01:00');
});

test('a local time the clocks go back over is the first, and a note says so with how to write the second', (t) => {
  const zone = 'America/New_York';
  const notes: string[] = [];
  const read = (text: string, after?: DateTime) =>
    toApiInstant(
      parseWhen(text, {
        zone,
        now,
        field: after === undefined ? 'start' : 'end',
        needsTime: true,
        note: (message) => notes.push(message),
        ...(after === undefined ? {} : { after }),
      }).toUTC(),
    );
  t.is(read('2026-11-01 01:30'), '2026-11-01T05:30:00Z');
  t.deepEqual(notes.splice(0), [
    'the start "2026-11-01 01:30" happens twice in America/New_York, as the clocks go back: read as the first, 01:30 -04:00 (EDT), as RFC 5545 says; for the second, 01:30 -05:00 (EST), write 2026-11-01T01:30-05:00',
  ]);
  // What the note says to write is the second, and is read without a note.
  t.is(read('2026-11-01T01:30-05:00'), '2026-11-01T06:30:00Z');
  t.is(read('nov 1 1:30am'), '2026-11-01T05:30:00Z');
  t.is(notes.splice(0).length, 1);
  t.deepEqual(notes, []);
  // An end after a start in the first pass may be the second: said so, and why.
  const after = parseWhen('2026-11-01 01:50', { zone, now, field: 'start' });
  t.is(read('01:10', after), '2026-11-01T06:10:00Z');
  t.deepEqual(notes.splice(0), [
    'the end "01:10" happens twice in America/New_York, as the clocks go back: read as the second, 01:10 -05:00 (EST), as the first is not after the start; for the first, 01:10 -04:00 (EDT), write 2026-11-01T01:10-04:00',
  ]);
  // Any other night: nothing to say.
  read('2026-11-02 01:30');
  t.deepEqual(notes, []);
});

/** Monday 7 December 2026, 10:15 in Paris: the day outside attacks were run on. */
const monday = DateTime.fromISO('2026-12-07T10:15:00', { zone: 'Europe/Paris' });

function onMonday(text: string, options: { needsTime?: boolean } = { needsTime: true }): string {
  return toApiInstant(
    parseWhen(text, { zone: 'Europe/Paris', now: monday, field: 'start', ...options }),
  );
}

test('last, past and previous look back: "last friday" is the one before, not the next (outside attack 1)', (t) => {
  t.is(onMonday('last friday 9am'), '2026-12-04T09:00:00+01:00');
  t.is(onMonday('past friday 9am'), '2026-12-04T09:00:00+01:00');
  t.is(onMonday('previous monday 9am'), '2026-11-30T09:00:00+01:00');
  t.is(onMonday('last monday 14:00'), '2026-11-30T14:00:00+01:00');
  t.is(onMonday('Previous Fri 10:00'), '2026-12-04T10:00:00+01:00');
  // As a view's day (`today --date "last friday"`), it is that day.
  t.is(onMonday('last friday', { needsTime: false }), '2026-12-04T00:00:00+01:00');
  // Every other day in words is still the next one to come.
  t.is(onMonday('friday 9am'), '2026-12-11T09:00:00+01:00');
  t.is(onMonday('monday 9am'), '2026-12-14T09:00:00+01:00');
  // `previous` alone is no day: left over, as before.
  t.throws(() => onMonday('previous 9am'), { message: /"previous" is left over after "9am"/ });
});

test('dotted dates are day first, with or without a year or a time (outside attack 2)', (t) => {
  t.is(onMonday('02.01.2027 9am'), '2027-01-02T09:00:00+01:00');
  t.is(onMonday('13.01.2027 9am'), '2027-01-13T09:00:00+01:00');
  t.is(onMonday('2.1.27 09:00'), '2027-01-02T09:00:00+01:00');
  t.is(onMonday('24.12. 18:00'), '2026-12-24T18:00:00+01:00');
  t.is(onMonday('02.01.', { needsTime: false }), '2027-01-02T00:00:00+01:00');
  t.is(onMonday('01.12.2026', { needsTime: false }), '2026-12-01T00:00:00+01:00');
  // A day its month does not have is refused as the other forms refuse it.
  t.throws(() => onMonday('31.02.2027 9am'), {
    message:
      'the start "31.02.2027 9am" names a day that does not exist: February 2027 has 28 days',
  });
  t.throws(() => onMonday('29.02.2027', { needsTime: false }), {
    message:
      /29 February 2027, a day that does not exist: 2027 is not a leap year \(the next 29 February is in 2028: write "29 February 2028" or 2028-02-29\)$/,
  });
  t.is(onMonday('29 February 2028', { needsTime: false }), '2028-02-29T00:00:00+01:00');
  // Month first is no month: said so, with the day-first reading of the swapped date.
  t.throws(() => onMonday('02.13.2027 9am'), {
    message:
      'the start "02.13.2027 9am" is not a date: dates with dots are read day first (day.month.year), and 02.13.2027 has no month 13 (13.02.2027 is 13 February)',
  });
  t.is(onMonday('13.02.2027 9am'), '2027-02-13T09:00:00+01:00');
});

test('ISO with a space before the time takes an offset too, as RFC 3339 writes it (outside attack 4)', (t) => {
  t.is(onMonday('2026-12-08 09:00:00+00:00'), '2026-12-08T09:00:00Z');
  // The form the note on a repeated time tells people to write for either of the two.
  t.is(onMonday('2027-10-31 02:30+01:00'), '2027-10-31T02:30:00+01:00');
  t.is(onMonday('2027-10-31 02:30+02:00'), '2027-10-31T02:30:00+02:00');
  t.is(onMonday('2026-12-08 09:00Z'), '2026-12-08T09:00:00Z');
  t.throws(() => onMonday('2026-12-08 09:00+99:00'), { message: /no place uses/ });
});

test('24:00 is 00:00 of the next day; other hours past 23 are refused plainly (outside attack 6)', (t) => {
  t.is(onMonday('2026-12-08 24:00'), '2026-12-09T00:00:00+01:00');
  t.is(onMonday('2026-12-08T24:00:00'), '2026-12-09T00:00:00+01:00');
  t.is(onMonday('2026-12-31 24:00'), '2027-01-01T00:00:00+01:00');
  t.is(onMonday('2026-12-08T24:00Z'), '2026-12-09T00:00:00Z');
  t.is(onMonday('tomorrow 24:00'), '2026-12-09T00:00:00+01:00');
  // A bare 24:00 is the next midnight; as an end, the midnight after the start.
  t.is(onMonday('24:00'), '2026-12-08T00:00:00+01:00');
  const evening = DateTime.fromISO('2026-12-08T22:00', { zone: 'Europe/Paris' });
  const end = parseWhen('24:00', {
    zone: 'Europe/Paris',
    now: monday,
    field: 'end',
    needsTime: true,
    after: evening,
  });
  t.is(toApiInstant(end), '2026-12-09T00:00:00+01:00');
  for (const text of ['2026-12-08 24:30', '25:00', '10:60']) {
    t.throws(() => onMonday(text), {
      message: `the start "${text}" is not a time of day: hours run from 00 to 23 and minutes from 00 to 59 (24:00 is 00:00 of the next day)`,
    });
  }
});

test('a length alone where a time is expected is refused, with the time of day and the from-now forms, which read (outside attack 3)', (t) => {
  const refusals: Record<string, string> = {
    '21h': 'write "21:00" for the time of day, or "+21h" or "in 21 hours" from now',
    '8h': 'write "08:00" for the time of day, or "+8h" or "in 8 hours" from now',
    '21h30': 'write "21:30" for the time of day, or "+21h30" from now',
    '30m': 'write "+30m" or "in 30 minutes" from now',
    '2 hours': 'write "+2 hours" or "in 2 hours" from now',
    '1.5h': 'write "+1.5h" or "in 90 minutes" from now',
    '1d': 'write "+1d" from now, or a day and a time, e.g. "tomorrow 9am"',
  };
  for (const [text, ways] of Object.entries(refusals)) {
    const message = `the start "${text}" is a length of time, not a time: ${ways}`;
    t.throws(() => onMonday(text), { message }, text);
    t.throws(() => onMonday(text, { needsTime: false }), { message }, text);
    // Every suggestion reads, as the time of day or that long from now.
    for (const [, suggested] of ways.matchAll(/"([^"]+)"/g)) {
      t.notThrows(() => onMonday(suggested ?? ''), `${text}: ${suggested}`);
    }
  }
  t.is(onMonday('21:00'), '2026-12-07T21:00:00+01:00');
  t.is(onMonday('+21h'), '2026-12-08T07:15:00+01:00');
  t.is(onMonday('in 21 hours'), '2026-12-08T07:15:00+01:00');
  // As an end, the length may have been meant for --duration.
  t.throws(
    () => parseWhen('1h', { zone: 'Europe/Paris', now: monday, field: 'end', after: monday }),
    {
      message:
        'the end "1h" is a length of time, not a time: write "01:00" for the time of day, or "+1h" or "in 1 hour" from now (for how long the event lasts: --duration 1h)',
    },
  );
  // Times with am/pm are not lengths.
  t.is(onMonday('9am'), '2026-12-08T09:00:00+01:00');
});

test('an end without a day that lands the next day, over 12 h after the start, is noted (outside attack 5)', (t) => {
  const notes: string[] = [];
  const end = (text: string, startAt: string) =>
    toApiInstant(
      parseWhen(text, {
        zone: 'Europe/Paris',
        now: monday,
        field: 'end',
        needsTime: true,
        after: DateTime.fromISO(startAt, { zone: 'Europe/Paris' }),
        note: (message) => notes.push(message),
      }),
    );
  // The rule stays (the first such time after the start), and is said.
  t.is(end('11am', '2026-12-07T12:00'), '2026-12-08T11:00:00+01:00');
  t.is(end('09:00', '2026-12-07T10:00'), '2026-12-08T09:00:00+01:00');
  t.is(end('00:30', '2026-12-07T12:00'), '2026-12-08T00:30:00+01:00');
  t.deepEqual(notes, [
    'the end "11am" is read as 11:00 the next day (23 h after the start); give a day to mean otherwise',
    'the end "09:00" is read as 09:00 the next day (23 h after the start); give a day to mean otherwise',
    'the end "00:30" is read as 00:30 the next day (12 h 30 min after the start); give a day to mean otherwise',
  ]);
  notes.length = 0;
  // An evening running past midnight, or a long day, is nothing to say.
  t.is(end('01:00', '2026-12-07T22:00'), '2026-12-08T01:00:00+01:00');
  t.is(end('23:30', '2026-12-07T00:15'), '2026-12-07T23:30:00+01:00');
  t.is(end('1pm', '2026-12-07T12:00'), '2026-12-07T13:00:00+01:00');
  t.deepEqual(notes, []);
});

test('a part of the day without a time suggests times within it, each of which reads as such (outside attack 7)', (t) => {
  const suggestions = (text: string): string[] => {
    const error = t.throws(() => onMonday(text), { message: /names a day but no time/ });
    return [...(error?.message ?? '').matchAll(/e\.g\. "([^"]+)"(?: or "([^"]+)")?$/g)].flatMap(
      (m) => [m[1], m[2]].filter((s): s is string => s !== undefined),
    );
  };
  const cases: [string, string[], number, number, string][] = [
    ['tonight', ['tonight 8pm', 'tonight 19:30'], 17, 24, '2026-12-07'],
    ['this evening', ['this evening 8pm', 'this evening 19:30'], 17, 24, '2026-12-07'],
    ['tomorrow morning', ['tomorrow morning 9am', 'tomorrow morning 10:30'], 5, 12, '2026-12-08'],
    ['friday afternoon', ['friday afternoon 2pm', 'friday afternoon 15:30'], 12, 18, '2026-12-11'],
    // At 10:15, this morning's 9am has passed: the next hours are suggested.
    ['this morning', ['this morning 10:30', 'this morning 11am'], 5, 12, '2026-12-07'],
  ];
  for (const [text, expected, from, to, date] of cases) {
    t.deepEqual(suggestions(text), expected, text);
    for (const suggested of expected) {
      const at = DateTime.fromISO(onMonday(suggested), { zone: 'Europe/Paris' });
      t.is(at.toISODate(), date, suggested);
      t.true(at.hour >= from && at.hour < to, suggested);
    }
  }
  t.deepEqual(suggestions('tomorrow'), ['tomorrow 9am', 'tomorrow 14:00']);
});
