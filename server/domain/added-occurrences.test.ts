/**
 * Added occurrences (RDATE, RFC 5545 §3.8.5.2): what validation keeps and refuses, how they
 * join the rule's occurrences in an expansion and in a series' end, and how they go out in
 * an export and come back.
 */
import test from 'ava';
import { InvalidInput } from '../../contract/errors.js';
import { MAX_ADDITIONS } from '../../contract/limits.js';
import { exportICalendar, importICalendar } from './icalendar.js';
import { expandOccurrences, seriesEnd } from './recurrence.js';
import { at, record } from './test-fixtures.js';
import { validateEventDraft } from './validation.js';
import type { EventDraft } from './validation.js';

const iso = (instant: number) => new Date(instant).toISOString();

/** A weekly Monday 18:00–19:30 Berlin series, four times, and the added starts given. */
function evening(additions: readonly string[], more: Partial<EventDraft> = {}): EventDraft {
  return {
    title: 'Evening class',
    start: at('2025-10-06T16:00:00Z'),
    end: at('2025-10-06T17:30:00Z'),
    timeZone: 'Europe/Berlin',
    recurrence: 'FREQ=WEEKLY;COUNT=4;BYDAY=MO',
    additions: additions.map(at),
    ...more,
  };
}

function series(draft: EventDraft) {
  return { id: 'class', ...validateEventDraft(draft) };
}

test('added occurrences are kept sorted and distinct; one the rule has already counts once', (t) => {
  const details = validateEventDraft(
    evening([
      '2025-11-05T17:00:00Z',
      '2025-10-29T17:00:00Z',
      '2025-10-29T17:00:00Z',
      // The rule's own third Monday (after the October change: 18:00 is 17:00Z).
      '2025-10-20T16:00:00Z',
    ]),
  );
  t.deepEqual(details.recurrence?.additions?.map(iso), [
    '2025-10-29T17:00:00.000Z',
    '2025-11-05T17:00:00.000Z',
  ]);
  // None: the field stays absent, as in rows stored before it existed.
  t.false('additions' in (validateEventDraft(evening([])).recurrence ?? {}));
});

test('an added occurrence before the first, overlapping another, or off an all-day series’ days is refused with why', (t) => {
  const refused = (draft: EventDraft) =>
    t.throws(() => validateEventDraft(draft), { instanceOf: InvalidInput })?.message ?? '';
  t.regex(refused(evening(['2025-10-01T16:00:00Z'])), /before the series' first/);
  // Overlaps the rule's second Monday (16:00Z–17:30Z).
  t.regex(
    refused(evening(['2025-10-13T17:00:00Z'])),
    /added occurrence at 2025-10-13T17:00:00.000Z would overlap the one at 2025-10-13T16:00:00.000Z/,
  );
  // Two added ones that overlap each other.
  t.regex(
    refused(evening(['2025-10-30T10:00:00Z', '2025-10-30T11:00:00Z'])),
    /would overlap the one at 2025-10-30T10:00:00.000Z/,
  );
  const birthday: EventDraft = {
    title: 'Bin collection',
    start: at('2025-10-02T22:00:00Z'),
    end: at('2025-10-03T22:00:00Z'),
    timeZone: 'Europe/Berlin',
    recurrence: 'FREQ=DAILY;COUNT=1',
    additions: [at('2025-10-31T12:00:00Z')],
  };
  t.regex(refused(birthday), /all-day series is a day/);
  t.regex(refused({ ...evening(['2025-10-29T17:00:00Z']), recurrence: null }), /recurring event/);
  t.regex(
    refused(
      evening(
        Array.from({ length: MAX_ADDITIONS + 1 }, (_, i) =>
          iso(at('2026-01-01T00:00:00Z') + i * 86_400_000),
        ),
      ),
    ),
    new RegExp(`at most ${MAX_ADDITIONS} added occurrences`),
  );
});

test('expansion merges added occurrences with the rule’s in start order; an exception removes one; the series ends with the last', (t) => {
  const draft = evening(['2025-11-05T17:00:00Z', '2025-10-29T17:00:00Z'], {
    exceptions: [at('2025-10-20T16:00:00Z'), at('2025-11-05T17:00:00Z')],
  });
  const s = series(draft);
  const window = { start: at('2025-10-01T00:00:00Z'), end: at('2026-01-01T00:00:00Z') };
  t.deepEqual(
    expandOccurrences(s, window).map((o) => `${iso(o.start)}/${iso(o.end)}`),
    [
      '2025-10-06T16:00:00.000Z/2025-10-06T17:30:00.000Z',
      '2025-10-13T16:00:00.000Z/2025-10-13T17:30:00.000Z',
      '2025-10-27T17:00:00.000Z/2025-10-27T18:30:00.000Z',
      '2025-10-29T17:00:00.000Z/2025-10-29T18:30:00.000Z',
    ],
  );
  // A window around the added one alone.
  t.deepEqual(
    expandOccurrences(s, {
      start: at('2025-10-29T18:00:00Z'),
      end: at('2025-10-29T18:01:00Z'),
    }).map((o) => iso(o.start)),
    ['2025-10-29T17:00:00.000Z'],
  );
  // The last standing occurrence is the added one of 29 October (5 November is cancelled).
  t.is(iso(seriesEnd(s)), '2025-10-29T18:30:00.000Z');
  // An UNTIL rule reaches as far as its last added occurrence.
  const until = series(
    evening(['2025-12-01T17:00:00Z'], { recurrence: 'FREQ=WEEKLY;UNTIL=20251014T000000Z' }),
  );
  t.is(iso(seriesEnd(until)), '2025-12-01T18:30:00.000Z');
});

test('added occurrences go out as RDATE, in the zone or as dates, and come back the same', (t) => {
  const now = at('2025-09-01T00:00:00Z');
  const timed = record({
    ...series(evening(['2025-10-29T17:00:00Z', '2025-11-05T17:00:00Z'])),
    id: 'timed',
    uid: 'timed@example',
  });
  const allDay = record({
    id: 'bins',
    uid: 'bins@example',
    ...validateEventDraft({
      title: 'Bin collection',
      start: at('2025-10-02T22:00:00Z'),
      end: at('2025-10-03T22:00:00Z'),
      timeZone: 'Europe/Berlin',
      recurrence: 'FREQ=DAILY;COUNT=1',
      additions: [at('2025-10-30T23:00:00Z'), at('2025-12-24T23:00:00Z')],
    }),
  });
  const text = exportICalendar([timed, allDay], { now });
  t.regex(text, /RDATE;TZID=Europe\/Berlin:20251029T180000\r\n/);
  t.regex(text, /RDATE;VALUE=DATE:20251031\r\n/);
  const { events, skipped } = importICalendar(text, { defaultTimeZone: 'Europe/Berlin' });
  t.deepEqual(skipped, []);
  for (const original of [timed, allDay]) {
    const back = events.find((e) => e.uid === original.event.uid);
    t.deepEqual(
      validateEventDraft(back?.draft as EventDraft).recurrence?.additions,
      original.event.recurrence?.additions,
      original.event.id,
    );
  }
});

test('the most added occurrences a series may have are accepted, expanded and ended by the last, each once', (t) => {
  // MAX_ADDITIONS daily sessions at 19:00 UTC from 2026, each given twice: duplicates count
  // once.
  const day = 86_400_000;
  const first = at('2026-01-01T19:00:00Z');
  const additions = Array.from({ length: MAX_ADDITIONS }, (_, i) => first + i * day);
  const s = series(
    evening([], {
      recurrence: 'FREQ=WEEKLY;COUNT=4;BYDAY=MO',
      start: at('2025-10-06T16:00:00Z'),
      additions: [...additions, ...additions],
      timeZone: 'UTC',
    }),
  );
  t.is(s.recurrence?.additions?.length, MAX_ADDITIONS);
  const all = expandOccurrences(s, {
    start: at('2025-01-01T00:00:00Z'),
    end: at('2200-01-01T00:00:00Z'),
  });
  t.is(all.length, 4 + MAX_ADDITIONS);
  t.true(all.every((o, i) => i === 0 || (all[i - 1]?.start ?? 0) < o.start));
  t.is(seriesEnd(s), first + (MAX_ADDITIONS - 1) * day + 90 * 60_000);
});
