/**
 * Changed and cancelled single occurrences (RECURRENCE-ID) as Google Calendar, Thunderbird
 * and Exchange write them (test/fixtures/ics/), read by the domain's parser and imported by
 * the store: each moved occurrence becomes an event detached from its series, each
 * cancelled one an exception; what cannot be one is reported; importing again changes
 * nothing; and an export reads back as the same state.
 */
import test from 'ava';
import { importICalendar } from '../../server/domain/index.js';
import { at } from '../../server/store/test-support.js';
import { aliceAlone, fixture, importText, listed } from './support.js';

test('Google: a moved occurrence in New York becomes an event of its own, a cancelled one an exception', async (t) => {
  const c = await aliceAlone();
  const { parsed, outcome } = importText(c, fixture('google-moved-occurrence.ics'), 'UTC');
  t.deepEqual(parsed.skipped, []);
  t.deepEqual(
    parsed.events[0]?.occurrences?.map((o) => [o.occurrenceStart, 'cancelled' in o]),
    [
      // 9:00 in New York, EDT from 9 March on.
      [at('2025-03-10T13:00:00Z'), false],
      [at('2025-03-24T13:00:00Z'), true],
    ],
  );
  t.deepEqual(outcome.failed, []);
  t.deepEqual(
    outcome.events.map((e) => [e.uid, e.action]),
    [['4k2b9q8f7s6d5a4@google.com', 'created']],
  );
  t.deepEqual(listed(c, '2025-03-01T00:00:00Z', '2025-04-01T00:00:00Z'), [
    ['2025-03-03T14:00:00.000Z', 'Team standup'],
    ['2025-03-10T18:00:00.000Z', 'Team standup (afternoon)'],
    ['2025-03-17T13:00:00.000Z', 'Team standup'],
    ['2025-03-31T13:00:00.000Z', 'Team standup'],
  ]);
  const moved = c
    .read('alice', {
      type: 'event.list',
      from: at('2025-03-10T00:00:00Z'),
      to: at('2025-03-11T00:00:00Z'),
    })
    .events.find((e) => e.title === 'Team standup (afternoon)');
  t.like(moved, { location: 'Room 4', timeZone: 'America/New_York', recurrence: null });
  t.not(moved?.id, outcome.events[0]?.id);

  // Again: nothing new, nothing changed, no second moved occurrence.
  const again = importText(c, fixture('google-moved-occurrence.ics'), 'UTC').outcome;
  t.deepEqual(
    again.events.map((e) => [e.id, e.action]),
    [[outcome.events[0]?.id, 'unchanged']],
  );
  t.is(listed(c, '2025-03-01T00:00:00Z', '2025-04-01T00:00:00Z').length, 4);
});

test('Thunderbird: an occurrence moved to another day keeps its series, EXDATEs stay cancelled, X-MOZ-* is ignored', async (t) => {
  const c = await aliceAlone();
  const { parsed, outcome } = importText(c, fixture('thunderbird-moved-occurrence.ics'), 'UTC');
  t.deepEqual(parsed.skipped, []);
  t.deepEqual(outcome.failed, []);
  t.deepEqual(listed(c, '2025-03-01T00:00:00Z', '2025-04-03T00:00:00Z'), [
    ['2025-03-05T17:30:00.000Z', 'Yoga'],
    ['2025-03-13T18:00:00.000Z', 'Yoga (other studio)'],
    ['2025-03-19T17:30:00.000Z', 'Yoga'],
    // 26 March is an EXDATE; summer time from the 30th.
    ['2025-04-02T16:30:00.000Z', 'Yoga'],
  ]);
});

test('Exchange: an all-day occurrence (VALUE=DATE) moved a day earlier, and one cancelled', async (t) => {
  const c = await aliceAlone();
  const { parsed, outcome } = importText(
    c,
    fixture('exchange-all-day-occurrence.ics'),
    'Europe/Madrid',
  );
  t.deepEqual(parsed.skipped, []);
  t.deepEqual(outcome.failed, []);
  t.deepEqual(listed(c, '2025-03-06T00:00:00Z', '2025-04-01T00:00:00Z'), [
    ['2025-03-06T23:00:00.000Z', 'Remote day'],
    ['2025-03-12T23:00:00.000Z', 'Remote day (Thursday this week)'],
    ['2025-03-20T23:00:00.000Z', 'Remote day'],
  ]);
});

test('changed occurrences that cannot be one are reported each with its reason, never dropped silently', (t) => {
  const { events, skipped } = importICalendar(fixture('orphan-occurrences.ics'), {
    defaultTimeZone: 'UTC',
  });
  t.deepEqual(
    events.map((e) => [e.uid, e.occurrences]),
    [['weekly@example.com', undefined]],
  );
  const reasons = new Map(skipped.map((s) => [s.summary, s.reason]));
  t.regex(
    reasons.get('Not an occurrence') ?? '',
    /2025-03-11T09:00:00.000Z\) is not an occurrence of its series/,
  );
  t.regex(reasons.get('No series') ?? '', /its series .* is not in the file/);
  t.regex(reasons.get('From now on') ?? '', /THISANDFUTURE/);
  t.is(skipped.length, 3);
});

test('an export writes moved occurrences as RECURRENCE-IDs, and reads back as the same agenda', async (t) => {
  const c = await aliceAlone();
  importText(c, fixture('google-moved-occurrence.ics'), 'UTC');
  const { ics } = c.read('alice', { type: 'agenda.export' });
  const uid = '4k2b9q8f7s6d5a4@google.com';
  t.is(ics.match(new RegExp(`UID:${uid.replace('.', '\\.')}`, 'g'))?.length, 2);
  t.regex(ics, /RECURRENCE-ID;TZID=America\/New_York:20250310T090000/);
  // Only the truly cancelled occurrence is an EXDATE.
  t.deepEqual(ics.match(/EXDATE[^\r\n]*/g), ['EXDATE;TZID=America/New_York:20250324T090000']);

  const window = ['2025-03-01T00:00:00Z', '2025-04-01T00:00:00Z'] as const;
  const before = listed(c, ...window);
  // Into the same agenda: unchanged. Into another: the same occurrences.
  t.deepEqual(
    importText(c, ics, 'UTC').outcome.events.map((e) => e.action),
    ['unchanged'],
  );
  const other = await aliceAlone();
  const copied = importText(other, ics, 'UTC');
  t.deepEqual(copied.parsed.skipped, []);
  t.deepEqual(listed(other, ...window), before);
  t.is(other.read('alice', { type: 'agenda.export' }).ics.split('RECURRENCE-ID').length, 2);
});
