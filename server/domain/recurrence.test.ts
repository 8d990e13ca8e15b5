import test from 'ava';
import { InvalidInput } from '../../contract/errors.js';
import {
  expandOccurrences,
  formatRecurrenceRule,
  parseRecurrenceRule,
  seriesEnd,
} from './recurrence.js';
import { at, event } from './test-fixtures.js';
import { validateEventDraft } from './validation.js';
import type { CalendarEvent } from './types.js';

function series(draft: Parameters<typeof validateEventDraft>[0]): CalendarEvent {
  return event({ id: 's', ...validateEventDraft(draft) });
}

function starts(e: CalendarEvent, from: string, to: string): string[] {
  return expandOccurrences(e, { start: at(from), end: at(to) }).map((o) =>
    new Date(o.start).toISOString(),
  );
}

test('a weekly 09:00 Europe/Madrid meeting stays at 09:00 local across the DST change', (t) => {
  const e = series({
    title: 'standup',
    start: at('2025-03-17T08:00:00Z'), // Monday 09:00 CET
    end: at('2025-03-17T08:30:00Z'),
    timeZone: 'Europe/Madrid',
    recurrence: 'FREQ=WEEKLY',
  });
  t.deepEqual(starts(e, '2025-03-17T00:00:00Z', '2025-04-08T00:00:00Z'), [
    '2025-03-17T08:00:00.000Z',
    '2025-03-24T08:00:00.000Z',
    '2025-03-31T07:00:00.000Z', // CEST from 30 March: same wall clock, one hour earlier in UTC
    '2025-04-07T07:00:00.000Z',
  ]);
  // And back in autumn.
  t.deepEqual(starts(e, '2025-10-20T00:00:00Z', '2025-11-04T00:00:00Z'), [
    '2025-10-20T07:00:00.000Z',
    '2025-10-27T08:00:00.000Z',
    '2025-11-03T08:00:00.000Z',
  ]);
  for (const o of expandOccurrences(e, {
    start: at('2025-03-17T00:00:00Z'),
    end: at('2025-12-01T00:00:00Z'),
  })) {
    t.is(o.end - o.start, 30 * 60_000);
    t.is(o.eventId, 's');
  }
});

function spans(e: CalendarEvent, from: string, to: string): string[] {
  return expandOccurrences(e, { start: at(from), end: at(to) }).map(
    (o) => `${new Date(o.start).toISOString()}/${new Date(o.end).toISOString()}`,
  );
}

test('an all-day series keeps to its days when the clocks change: 23 and 25 hours, never 24 from midnight to 1:00', (t) => {
  // Every Sunday, all day in Madrid (Google's DTSTART;VALUE=DATE:20250323, DTEND 20250324).
  const sundays = series({
    title: 'Flea market',
    start: at('2025-03-22T23:00:00Z'),
    end: at('2025-03-23T23:00:00Z'),
    timeZone: 'Europe/Madrid',
    recurrence: 'FREQ=WEEKLY;COUNT=3',
  });
  t.deepEqual(spans(sundays, '2025-03-20T00:00:00Z', '2025-04-10T00:00:00Z'), [
    '2025-03-22T23:00:00.000Z/2025-03-23T23:00:00.000Z',
    // 30 March has 23 hours in Madrid: midnight (CET) to midnight (CEST).
    '2025-03-29T23:00:00.000Z/2025-03-30T22:00:00.000Z',
    '2025-04-05T22:00:00.000Z/2025-04-06T22:00:00.000Z',
  ]);
  t.is(seriesEnd(sundays), at('2025-04-06T22:00:00Z'));
  // A weekend across the change of 26 October (47 hours, then 48).
  const weekends = series({
    title: 'Cabin',
    start: at('2025-10-24T22:00:00Z'),
    end: at('2025-10-26T23:00:00Z'),
    timeZone: 'Europe/Madrid',
    recurrence: 'FREQ=MONTHLY;BYDAY=-1SA;UNTIL=20251129',
  });
  t.deepEqual(spans(weekends, '2025-10-01T00:00:00Z', '2025-12-31T00:00:00Z'), [
    '2025-10-24T22:00:00.000Z/2025-10-26T23:00:00.000Z',
    '2025-11-28T23:00:00.000Z/2025-11-30T23:00:00.000Z',
  ]);
  // UNTIL (a date: its whole day) bounds the starts, and so the ends.
  t.true(seriesEnd(weekends) >= at('2025-11-30T23:00:00Z'));
  // Every day, all day, across the change: each occurrence is its own day, no overlap.
  const holidays = series({
    title: 'Autumn holidays',
    start: at('2025-10-24T22:00:00Z'),
    end: at('2025-10-25T22:00:00Z'),
    timeZone: 'Europe/Berlin',
    recurrence: 'FREQ=DAILY;COUNT=3',
  });
  t.deepEqual(spans(holidays, '2025-10-20T00:00:00Z', '2025-11-01T00:00:00Z'), [
    '2025-10-24T22:00:00.000Z/2025-10-25T22:00:00.000Z',
    '2025-10-25T22:00:00.000Z/2025-10-26T23:00:00.000Z',
    '2025-10-26T23:00:00.000Z/2025-10-27T23:00:00.000Z',
  ]);
  // A day's worth of hours that does not run midnight to midnight stays exact (RFC 5545
  // §3.8.5.3): noon to noon, 24 hours, across the change.
  const noon = series({
    title: 'Watch',
    start: at('2025-10-25T10:00:00Z'),
    end: at('2025-10-26T11:00:00Z'),
    timeZone: 'Europe/Berlin',
    recurrence: 'FREQ=WEEKLY;COUNT=2',
  });
  t.deepEqual(spans(noon, '2025-10-20T00:00:00Z', '2025-11-10T00:00:00Z'), [
    '2025-10-25T10:00:00.000Z/2025-10-26T11:00:00.000Z',
    '2025-11-01T11:00:00.000Z/2025-11-02T12:00:00.000Z',
  ]);
});

test('a daily all-day series is not refused as overlapping itself when the clocks change; a daily one of 25 hours still is', (t) => {
  t.notThrows(() =>
    validateEventDraft({
      title: 'Holidays',
      start: at('2025-03-28T23:00:00Z'),
      end: at('2025-03-29T23:00:00Z'),
      timeZone: 'Europe/Berlin',
      recurrence: 'FREQ=DAILY;COUNT=5',
    }),
  );
  t.throws(
    () =>
      validateEventDraft({
        title: 'Shift',
        start: at('2025-03-28T23:00:00Z'),
        end: at('2025-03-30T00:00:00Z'),
        timeZone: 'UTC',
        recurrence: 'FREQ=DAILY;COUNT=5',
      }),
    { message: /overlap each other/ },
  );
  // Two days every other day is sampled, by days, and refused.
  t.throws(
    () =>
      validateEventDraft({
        title: 'Two days',
        start: at('2025-03-28T23:00:00Z'),
        end: at('2025-03-30T22:00:00Z'),
        timeZone: 'Europe/Berlin',
        recurrence: 'FREQ=DAILY;INTERVAL=1;BYDAY=MO,TU',
      }),
    { message: /overlap each other/ },
  );
});

test('a UTC series does not move with anybody’s DST', (t) => {
  const e = series({
    title: 'x',
    start: at('2025-03-28T09:00:00Z'),
    end: at('2025-03-28T10:00:00Z'),
    recurrence: 'FREQ=DAILY;COUNT=4',
  });
  t.deepEqual(starts(e, '2025-03-01T00:00:00Z', '2025-04-30T00:00:00Z'), [
    '2025-03-28T09:00:00.000Z',
    '2025-03-29T09:00:00.000Z',
    '2025-03-30T09:00:00.000Z',
    '2025-03-31T09:00:00.000Z',
  ]);
});

test('New York moves on its own date', (t) => {
  const e = series({
    title: 'x',
    start: at('2025-03-07T14:00:00Z'), // Friday 09:00 EST
    end: at('2025-03-07T15:00:00Z'),
    timeZone: 'America/New_York',
    recurrence: 'FREQ=WEEKLY;COUNT=2',
  });
  t.deepEqual(starts(e, '2025-03-01T00:00:00Z', '2025-04-01T00:00:00Z'), [
    '2025-03-07T14:00:00.000Z',
    '2025-03-14T13:00:00.000Z',
  ]);
});

test('a wall-clock time skipped by spring-forward moves forward by the jump', (t) => {
  const e = series({
    title: 'x',
    start: at('2025-03-29T01:30:00Z'), // 02:30 CET on Saturday
    end: at('2025-03-29T02:00:00Z'),
    timeZone: 'Europe/Madrid',
    recurrence: 'FREQ=DAILY;COUNT=3',
  });
  t.deepEqual(starts(e, '2025-03-28T00:00:00Z', '2025-04-02T00:00:00Z'), [
    '2025-03-29T01:30:00.000Z',
    '2025-03-30T01:30:00.000Z', // 02:30 does not exist that night: 03:30 CEST
    '2025-03-31T00:30:00.000Z',
  ]);
});

test('BYDAY, BYMONTHDAY, ordinals, INTERVAL, UNTIL and exceptions', (t) => {
  const lastFriday = series({
    title: 'x',
    start: at('2025-01-31T10:00:00Z'),
    end: at('2025-01-31T11:00:00Z'),
    recurrence: 'FREQ=MONTHLY;BYDAY=-1FR;COUNT=3',
  });
  t.deepEqual(starts(lastFriday, '2025-01-01T00:00:00Z', '2025-12-31T00:00:00Z'), [
    '2025-01-31T10:00:00.000Z',
    '2025-02-28T10:00:00.000Z',
    '2025-03-28T10:00:00.000Z',
  ]);
  const monthDays = series({
    title: 'x',
    start: at('2025-01-01T10:00:00Z'),
    end: at('2025-01-01T11:00:00Z'),
    recurrence: 'FREQ=MONTHLY;BYMONTHDAY=1,15;UNTIL=20250215T100000Z',
  });
  t.deepEqual(starts(monthDays, '2025-01-01T00:00:00Z', '2025-12-31T00:00:00Z'), [
    '2025-01-01T10:00:00.000Z',
    '2025-01-15T10:00:00.000Z',
    '2025-02-01T10:00:00.000Z',
    '2025-02-15T10:00:00.000Z', // UNTIL is inclusive
  ]);
  const everyOtherTueThu = series({
    title: 'x',
    start: at('2025-01-07T10:00:00Z'),
    end: at('2025-01-07T11:00:00Z'),
    recurrence: 'RRULE:freq=weekly;interval=2;byday=TU,TH',
    exceptions: [at('2025-01-09T10:00:00Z')],
  });
  t.deepEqual(starts(everyOtherTueThu, '2025-01-01T00:00:00Z', '2025-01-31T00:00:00Z'), [
    '2025-01-07T10:00:00.000Z',
    '2025-01-21T10:00:00.000Z',
    '2025-01-23T10:00:00.000Z',
  ]);
});

test('an occurrence that started before the window but still runs is in it', (t) => {
  const e = series({
    title: 'x',
    start: at('2025-01-01T23:00:00Z'),
    end: at('2025-01-02T01:00:00Z'),
    recurrence: 'FREQ=DAILY',
  });
  t.deepEqual(starts(e, '2025-01-05T00:30:00Z', '2025-01-05T00:31:00Z'), [
    '2025-01-04T23:00:00.000Z',
  ]);
  t.deepEqual(
    starts(e, '2025-01-05T01:00:00Z', '2025-01-05T23:00:00Z'),
    [],
    'half-open on both sides',
  );
});

test('a series starts on its first real occurrence', (t) => {
  // Typed on a Saturday, "every Monday" starts on the Monday after, same time and length.
  const e = series({
    title: 'x',
    start: at('2025-03-01T09:00:00Z'),
    end: at('2025-03-01T10:30:00Z'),
    recurrence: 'FREQ=WEEKLY;BYDAY=MO',
  });
  t.is(e.start, at('2025-03-03T09:00:00Z'));
  t.is(e.end, at('2025-03-03T10:30:00Z'));
});

test('seriesEnd bounds every occurrence', (t) => {
  const counted = series({
    title: 'x',
    start: at('2025-01-01T10:00:00Z'),
    end: at('2025-01-01T11:00:00Z'),
    recurrence: 'FREQ=DAILY;COUNT=3',
  });
  t.is(seriesEnd(counted), at('2025-01-03T11:00:00Z'));
  const trimmed = series({
    title: 'x',
    start: at('2025-01-01T10:00:00Z'),
    end: at('2025-01-01T11:00:00Z'),
    recurrence: 'FREQ=DAILY;COUNT=3',
    exceptions: [at('2025-01-03T10:00:00Z')],
  });
  t.is(seriesEnd(trimmed), at('2025-01-02T11:00:00Z'));
  const until = series({
    title: 'x',
    start: at('2025-01-01T10:00:00Z'),
    end: at('2025-01-01T11:00:00Z'),
    recurrence: 'FREQ=DAILY;UNTIL=20250110',
  });
  t.true(seriesEnd(until) >= at('2025-01-10T11:00:00Z'));
  const endless = series({
    title: 'x',
    start: at('2025-01-01T10:00:00Z'),
    end: at('2025-01-01T11:00:00Z'),
    recurrence: 'FREQ=YEARLY',
  });
  t.is(seriesEnd(endless), Number.POSITIVE_INFINITY);
  t.is(
    seriesEnd(event({ id: 'one', start: at('2025-01-01T10:00:00Z') })),
    at('2025-01-01T11:00:00Z'),
  );
});

const canonical: ReadonlyArray<[string, string]> = [
  ['FREQ=DAILY', 'FREQ=DAILY'],
  ['rrule:freq=weekly;interval=1;byday=fr,mo', 'FREQ=WEEKLY;BYDAY=MO,FR'],
  ['FREQ=MONTHLY;BYDAY=+1MO,-1FR;COUNT=10', 'FREQ=MONTHLY;COUNT=10;BYDAY=1MO,-1FR'],
  [
    'FREQ=YEARLY;INTERVAL=2;UNTIL=20300101T000000Z;BYMONTHDAY=-1,1',
    'FREQ=YEARLY;INTERVAL=2;UNTIL=20300101T000000Z;BYMONTHDAY=-1,1',
  ],
  ['FREQ=WEEKLY;WKST=SU;BYDAY=TU,TH', 'FREQ=WEEKLY;BYDAY=TU,TH'],
];
for (const [input, expected] of canonical) {
  test(`RRULE ${input} reads as ${expected} and round-trips`, (t) => {
    const rule = parseRecurrenceRule(input, 'Europe/Madrid');
    t.is(formatRecurrenceRule(rule), expected);
    t.deepEqual(parseRecurrenceRule(formatRecurrenceRule(rule), 'Asia/Tokyo'), rule);
  });
}

test('a local UNTIL is read in the event zone, a DATE includes its whole day', (t) => {
  t.is(
    parseRecurrenceRule('FREQ=DAILY;UNTIL=20250301T090000', 'Europe/Madrid').until,
    at('2025-03-01T08:00:00Z'),
  );
  t.is(parseRecurrenceRule('FREQ=DAILY;UNTIL=20250301', 'UTC').until, at('2025-03-01T23:59:59Z'));
});

const refused: ReadonlyArray<[string, RegExp]> = [
  ['', /empty/],
  ['INTERVAL=2', /needs FREQ/],
  ['FREQ=HOURLY', /FREQ=HOURLY is not supported/],
  ['FREQ=DAILY;BYSETPOS=1', /BYSETPOS is not supported/],
  ['FREQ=DAILY;BYHOUR=9', /BYHOUR is not supported/],
  ['FREQ=DAILY;COUNT=2;UNTIL=20250101', /COUNT and UNTIL/],
  ['FREQ=DAILY;COUNT=0', /COUNT must be between/],
  ['FREQ=DAILY;COUNT=x', /whole number/],
  ['FREQ=DAILY;INTERVAL=1000', /INTERVAL must be between/],
  ['FREQ=DAILY;FREQ=WEEKLY', /twice/],
  ['FREQ=WEEKLY;BYDAY=1MO', /numbered weekday needs FREQ=MONTHLY/],
  ['FREQ=MONTHLY;BYDAY=6MO', /between 1 and 5/],
  ['FREQ=WEEKLY;BYMONTHDAY=1', /BYMONTHDAY cannot be used with FREQ=WEEKLY/],
  ['FREQ=MONTHLY;BYMONTHDAY=32', /1 to 31/],
  ['FREQ=WEEKLY;BYDAY=XX', /BYDAY entry/],
  ['FREQ=DAILY;UNTIL=2025-01-01', /UNTIL must look like/],
  ['FREQ=DAILY;UNTIL=20250231', /not a valid date/],
  ['FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=SU', /WKST=SU changes/],
  ['FREQ', /NAME=VALUE/],
];
for (const [input, reason] of refused) {
  test(`RRULE ${JSON.stringify(input)} is refused with a reason`, (t) => {
    const error = t.throws(() => parseRecurrenceRule(input, 'UTC'));
    t.true(error instanceof InvalidInput);
    t.regex(error.message, reason);
    t.is((error as InvalidInput).field, 'recurrence');
  });
}
