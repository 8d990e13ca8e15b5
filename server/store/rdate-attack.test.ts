/**
 * Outside attack on added occurrences (RDATE): cases found failing. Each test says what a
 * user does and what should hold; they fail on f939f32.
 */
import test from 'ava';
import { importICalendar } from '../domain/index.js';
import { parseInstant } from '../domain/validation.js';
import { at, HOUR, openStore, StoreClient } from './test-support.js';

const JAN = { from: at('2026-01-01T00:00:00Z'), to: at('2026-02-01T00:00:00Z') };

async function alice(): Promise<StoreClient> {
  const c = new StoreClient(await openStore());
  c.register('alice');
  return c;
}

function listed(c: StoreClient): string[] {
  return c
    .read('alice', { type: 'event.list', ...JAN })
    .events.filter((e) => e.status !== 'cancelled')
    .map((e) => `${e.id} ${e.start.slice(5, 16)}`);
}

/** Mondays 09:00 UTC, four times; extra sessions Monday 12th 14:00 and Wednesday 7th 09:00 and 14:00. */
function classWithExtras(c: StoreClient): void {
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: {
        title: 'Class',
        start: at('2026-01-05T09:00:00Z'),
        end: at('2026-01-05T10:00:00Z'),
        timeZone: 'UTC',
        recurrence: 'FREQ=WEEKLY;COUNT=4',
        additions: [
          at('2026-01-07T09:00:00Z'),
          at('2026-01-07T14:00:00Z'),
          at('2026-01-12T14:00:00Z'),
        ],
      },
    },
    { ids: ['cls'] },
  );
}

test('moving a series an hour later moves each added occurrence an hour later, losing none', async (t) => {
  const c = await alice();
  classWithExtras(c);
  c.ok('alice', {
    type: 'event.update',
    eventId: 'cls',
    changes: { start: at('2026-01-05T10:00:00Z') },
  });
  // Found: the three added occurrences all took the series' new time of day, 10:00: two of
  // them became one (7th) or the rule's own (12th) and were silently dropped.
  t.deepEqual(c.read('alice', { type: 'event.show', eventId: 'cls' }).event.alsoOn, [
    '2026-01-07T10:00:00.000Z',
    '2026-01-07T15:00:00.000Z',
    '2026-01-12T15:00:00.000Z',
  ]);
  t.is(listed(c).length, 7);
});

test('a cancelled added occurrence stays cancelled after a move, and the rule occurrence of its day stays', async (t) => {
  const c = await alice();
  classWithExtras(c);
  c.ok('alice', {
    type: 'event.cancelOccurrence',
    eventId: 'cls',
    occurrenceStart: at('2026-01-12T14:00:00Z'),
  });
  c.ok('alice', {
    type: 'event.update',
    eventId: 'cls',
    changes: { start: at('2026-01-05T10:00:00Z') },
  });
  // Found: the exception moved to 12 January 10:00 and cancelled the rule's occurrence.
  t.true(listed(c).includes('cls 01-12T10:00'), listed(c).join(', '));
});

test('an added occurrence changed on its own keeps naming itself after a move, not the rule occurrence of its day', async (t) => {
  const c = await alice();
  classWithExtras(c);
  c.ok(
    'alice',
    {
      type: 'event.updateOccurrence',
      eventId: 'cls',
      occurrenceStart: at('2026-01-12T14:00:00Z'),
      changes: { title: 'Class (pool)' },
    },
    { ids: ['pool'] },
  );
  c.ok('alice', {
    type: 'event.update',
    eventId: 'cls',
    changes: { start: at('2026-01-05T10:00:00Z') },
  });
  // Found: pool's detachedFrom moved to 12 January 10:00, replacing the rule's occurrence.
  t.true(listed(c).includes('cls 01-12T10:00'), listed(c).join(', '));
});

test('changing only the zone of a series (same instants) does not move its added occurrences', async (t) => {
  const c = await alice();
  classWithExtras(c);
  c.ok('alice', { type: 'event.update', eventId: 'cls', changes: { timeZone: 'Europe/London' } });
  // Found: 14:00 additions became 09:00 ones (and merged/dropped).
  t.deepEqual(c.read('alice', { type: 'event.show', eventId: 'cls' }).event.alsoOn, [
    '2026-01-07T09:00:00.000Z',
    '2026-01-07T14:00:00.000Z',
    '2026-01-12T14:00:00.000Z',
  ]);
});

const calendar = (...lines: string[]) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//attack//EN', ...lines, 'END:VCALENDAR', ''].join(
    '\r\n',
  );

test('an event on chosen days (RDATE, no RRULE) may last longer than a day', (t) => {
  const text = calendar(
    'BEGIN:VEVENT',
    'UID:conference',
    'DTSTAMP:20260101T000000Z',
    'DTSTART:20260302T080000Z',
    'DTEND:20260303T160000Z',
    'RDATE:20260316T080000Z',
    'SUMMARY:Two-day conference, twice',
    'END:VEVENT',
    'BEGIN:VEVENT',
    'UID:festival',
    'DTSTAMP:20260101T000000Z',
    'DTSTART;VALUE=DATE:20260301',
    'DTEND;VALUE=DATE:20260303',
    'RDATE;VALUE=DATE:20260328,20260401',
    'SUMMARY:Two-day festival',
    'END:VEVENT',
  );
  const { events, skipped } = importICalendar(text, { defaultTimeZone: 'Europe/Berlin' });
  // Found: both skipped, "the occurrences of this series would overlap each other when the
  // clocks change" — the synthetic FREQ=DAILY;COUNT=1 fails the daily gap check.
  t.deepEqual(skipped, []);
  t.deepEqual(
    events.map((e) => e.uid),
    ['conference', 'festival'],
  );
});

test('--repeat once (FREQ=DAILY;COUNT=1) with alsoOn accepts an event of 25 hours', async (t) => {
  const c = await alice();
  const start = at('2026-03-02T08:00:00Z');
  const outcome = c.send('alice', {
    type: 'event.create',
    draft: {
      title: 'Hackathon',
      start,
      end: start + 25 * HOUR,
      timeZone: 'Europe/Berlin',
      recurrence: 'FREQ=DAILY;COUNT=1',
      additions: [at('2026-04-06T07:00:00Z')],
    },
  });
  t.true(outcome.ok, outcome.ok ? '' : outcome.error.message);
});

test('alsoOn "2026-03-05" (a date, no offset) is refused, not read in the gateway host zone', (t) => {
  // Found: parseInstant takes "-05" of the date for an offset, so luxon reads it as midnight
  // in the process's local zone (TZ=Pacific/Auckland: 2026-03-04T11:00Z). The same for "2026-03".
  t.throws(() => parseInstant('2026-03-05', 'alsoOn'), { message: /needs a UTC offset/ });
});
