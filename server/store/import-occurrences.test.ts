/**
 * Imports of series with changed occurrences (iCalendar RECURRENCE-ID) through the store:
 * one command decides the series and its occurrences, imports again bring what an earlier
 * one detached to the file's version, and what cannot be an occurrence is refused with a
 * reason, with every fresh id where freshIdCount puts it.
 */
import test from 'ava';
import type { EventDraft } from '../domain/index.js';
import {
  MAX_DETACHED_PER_SERIES,
  MAX_IMPORTED_OCCURRENCES_PER_SERIES,
} from '../../contract/limits.js';
import { freshIdCount } from '../services/ids.js';
import type { CommandBody } from './protocol.js';
import { parseCommand } from './protocol.js';
import { at, DAY, HOUR, openStore, StoreClient } from './test-support.js';

const MONDAY = at('2025-03-03T09:00:00Z');
const WEEKLY: EventDraft = {
  title: 'Sync',
  start: MONDAY,
  end: MONDAY + HOUR,
  recurrence: 'FREQ=WEEKLY;COUNT=4',
};
const SECOND = MONDAY + 7 * DAY;
const MOVED: EventDraft = {
  title: 'Sync (moved)',
  start: SECOND + 3 * HOUR,
  end: SECOND + 4 * HOUR,
};

type Item = Extract<CommandBody, { type: 'event.import' }>['events'][number];

async function aliceAlone(): Promise<StoreClient> {
  const c = new StoreClient(await openStore());
  c.register('alice');
  return c;
}

let sent = 0;
function importing(c: StoreClient, events: Item[], allowConflict?: boolean) {
  const body: CommandBody = {
    type: 'event.import',
    events,
    ...(allowConflict === undefined ? {} : { allowConflict }),
  };
  sent += 1;
  const ids = Array.from({ length: freshIdCount(body) }, (_, i) => `o${sent}-${i}`);
  return { ids, outcome: c.ok('alice', body, { ids }) };
}

function month(c: StoreClient) {
  return c
    .read('alice', {
      type: 'event.list',
      from: at('2025-03-01T00:00:00Z'),
      to: at('2025-04-01T00:00:00Z'),
    })
    .events.filter((e) => e.status !== 'cancelled')
    .map((e) => [e.start.slice(5, 16), e.title]);
}

const series = (occurrences: Item['occurrences'], draft: EventDraft = WEEKLY): Item => ({
  uid: 'sync@example.com',
  draft,
  ...(occurrences === undefined ? {} : { occurrences }),
});

test('a moved occurrence is an event detached from its series, and imports again leave it as it is', async (t) => {
  const c = await aliceAlone();
  const { ids, outcome } = importing(c, [series([{ occurrenceStart: SECOND, draft: MOVED }])]);
  t.deepEqual(outcome.failed, []);
  const [seriesId, movedId] = ids;
  const moved = c.read('alice', { type: 'event.show', eventId: movedId ?? '' }).event;
  t.like(moved, { title: 'Sync (moved)', recurrence: null });
  t.deepEqual(month(c), [
    ['03-03T09:00', 'Sync'],
    ['03-10T12:00', 'Sync (moved)'],
    ['03-17T09:00', 'Sync'],
    ['03-24T09:00', 'Sync'],
  ]);
  const again = importing(c, [series([{ occurrenceStart: SECOND, draft: MOVED }])]).outcome;
  t.deepEqual(
    again.events.map((e) => [e.id, e.action]),
    [[seriesId, 'unchanged']],
  );
  t.is(c.read('alice', { type: 'event.show', eventId: movedId ?? '' }).event.revision, 0);
  t.is(month(c).length, 4);

  // Changed in the file: the same detached event, updated.
  const later = {
    ...MOVED,
    title: 'Sync (moved again)',
    start: MOVED.start + HOUR,
    end: MOVED.end + HOUR,
  };
  const changed = importing(c, [series([{ occurrenceStart: SECOND, draft: later }])]).outcome;
  t.deepEqual(
    changed.events.map((e) => e.action),
    ['updated'],
  );
  t.like(c.read('alice', { type: 'event.show', eventId: movedId ?? '' }).event, {
    title: 'Sync (moved again)',
    revision: 1,
  });
  t.is(month(c).length, 4);

  // Cancelling the series takes the occurrence moved by the import with it.
  c.ok('alice', { type: 'event.cancel', eventId: seriesId ?? '' });
  t.deepEqual(month(c), []);
});

test('an occurrence detached before is cancelled when the file cancels it or says nothing of it, and kept when it is an EXDATE', async (t) => {
  const c = await aliceAlone();
  const { ids } = importing(c, [series([{ occurrenceStart: SECOND, draft: MOVED }])]);
  const movedId = ids[1] ?? '';
  // An EXDATE (as exports before changed occurrences wrote it): left as it is.
  importing(c, [series(undefined, { ...WEEKLY, exceptions: [SECOND] })]);
  t.is(c.read('alice', { type: 'event.show', eventId: movedId }).event.status, 'confirmed');
  t.is(month(c).length, 4);
  // Nothing: the occurrence is back in its series, and the moved one goes.
  const restored = importing(c, [series(undefined)]).outcome;
  t.deepEqual(
    restored.events.map((e) => e.action),
    ['updated'],
  );
  t.is(c.read('alice', { type: 'event.show', eventId: movedId }).event.status, 'cancelled');
  t.deepEqual(month(c)[1], ['03-10T09:00', 'Sync']);
  // Moved again, then cancelled in the file.
  const { ids: again } = importing(c, [series([{ occurrenceStart: SECOND, draft: MOVED }])]);
  importing(c, [series([{ occurrenceStart: SECOND, cancelled: true }])]);
  t.is(c.read('alice', { type: 'event.show', eventId: again[1] ?? '' }).event.status, 'cancelled');
  t.deepEqual(
    month(c).map(([start]) => start),
    ['03-03T09:00', '03-17T09:00', '03-24T09:00'],
  );
});

test('a moved occurrence that runs into an accepted event refuses its series with it, unless conflicts are allowed', async (t) => {
  const c = await aliceAlone();
  c.ok('alice', {
    type: 'event.create',
    draft: { title: 'Dentist', start: MOVED.start, end: MOVED.end },
  });
  const refused = importing(c, [series([{ occurrenceStart: SECOND, draft: MOVED }])]).outcome;
  t.deepEqual(refused.events, []);
  t.is(refused.failed[0]?.error.code, 'conflict');
  t.regex(
    refused.failed[0]?.error.message ?? '',
    /occurrence of "Sync" on 2025-03-10T12:00:00.000Z overlaps/,
  );
  // Nothing of the series was written.
  t.deepEqual(month(c), [['03-10T12:00', 'Dentist']]);
  // Onto the series' own next occurrence: refused as well.
  const onto = { ...MOVED, start: SECOND + 7 * DAY, end: SECOND + 7 * DAY + HOUR };
  t.is(
    importing(c, [series([{ occurrenceStart: SECOND, draft: onto }])]).outcome.failed[0]?.error
      .code,
    'conflict',
  );
  const allowed = importing(c, [series([{ occurrenceStart: SECOND, draft: MOVED }])], true).outcome;
  t.deepEqual(allowed.failed, []);
  t.is(month(c).length, 5);
});

test('occurrences the series does not have are refused with the reason, each draft keeping its ids', async (t) => {
  const c = await aliceAlone();
  const oneOff: EventDraft = { title: 'Once', start: MONDAY, end: MONDAY + HOUR };
  const { ids, outcome } = importing(c, [
    { uid: 'once', draft: oneOff, occurrences: [{ occurrenceStart: MONDAY, cancelled: true }] },
    series([{ occurrenceStart: SECOND + HOUR, draft: MOVED }]),
    series([
      { occurrenceStart: SECOND, draft: MOVED },
      { occurrenceStart: SECOND, cancelled: true },
    ]),
    { uid: 'other', draft: { ...oneOff, title: 'Other' } },
  ]);
  t.deepEqual(
    outcome.failed.map((f) => [f.index, f.error.code]),
    [
      [0, 'invalid'],
      [1, 'invalid'],
      [2, 'invalid'],
    ],
  );
  t.regex(outcome.failed[0]?.error.message ?? '', /does not repeat/);
  t.regex(
    outcome.failed[1]?.error.message ?? '',
    /no occurrence starting on 2025-03-10T10:00:00.000Z/,
  );
  t.regex(outcome.failed[2]?.error.message ?? '', /changed twice/);
  // 2 + 2 + 3 ids before it: the last draft has the id freshIdCount gave it.
  t.deepEqual(
    outcome.events.map((e) => e.id),
    [ids[7]],
  );
});

test(`a series brings at most ${MAX_IMPORTED_OCCURRENCES_PER_SERIES} changed occurrences`, async (t) => {
  const c = await aliceAlone();
  const daily: EventDraft = { ...WEEKLY, recurrence: 'FREQ=DAILY' };
  const occurrences = Array.from({ length: MAX_IMPORTED_OCCURRENCES_PER_SERIES + 1 }, (_, i) => ({
    occurrenceStart: MONDAY + (i + 1) * DAY,
    cancelled: true as const,
  }));
  // The protocol refuses such a command; a store given one refuses the series.
  const body: CommandBody = { type: 'event.import', events: [series(occurrences, daily)] };
  const ids = Array.from({ length: freshIdCount(body) }, (_, i) => `big-${i}`);
  t.throws(() => parseCommand(c.command('alice', body, { ids })), {
    message: /occurrences: Too big/,
  });
  const ok = { ...body, events: [series(occurrences.slice(1), daily)] };
  t.notThrows(() => parseCommand(c.command('alice', ok, { ids: ids.slice(1) })));
  const refused = importing(c, [series(occurrences, daily)]).outcome;
  t.regex(refused.failed[0]?.error.message ?? '', /201 changed occurrences, more than the 200/);
  const fits = importing(c, [series(occurrences.slice(1), daily)]).outcome;
  t.deepEqual(fits.failed, []);
});

test(`an import leaves a series at most ${MAX_DETACHED_PER_SERIES} occurrences changed on their own, those it keeps for an EXDATE included`, async (t) => {
  const c = await aliceAlone();
  const daily: EventDraft = { ...WEEKLY, recurrence: 'FREQ=DAILY' };
  const dayOf = (i: number) => MONDAY + i * DAY;
  const moved = (i: number) => ({
    occurrenceStart: dayOf(i),
    draft: { title: `Sync ${i}`, start: dayOf(i) + 3 * HOUR, end: dayOf(i) + 4 * HOUR },
  });
  const all = Array.from({ length: MAX_DETACHED_PER_SERIES }, (_, i) => moved(i));
  t.deepEqual(importing(c, [series(all, daily)]).outcome.failed, []);
  // Exported before changed occurrences were, the file names each as an EXDATE (kept as they
  // are), and changes one more: that would be one too many.
  const exdates = all.map((o) => o.occurrenceStart);
  const oneMore = [moved(MAX_DETACHED_PER_SERIES + 10)];
  const refused = importing(c, [series(oneMore, { ...daily, exceptions: exdates })]).outcome;
  t.regex(
    refused.failed[0]?.error.message ?? '',
    new RegExp(
      `would have ${MAX_DETACHED_PER_SERIES + 1} occurrences changed on their own, more than the ${MAX_DETACHED_PER_SERIES} one series may have`,
    ),
  );
  // Without one of those EXDATEs, that occurrence's event is cancelled: room for the new one.
  const fits = importing(c, [series(oneMore, { ...daily, exceptions: exdates.slice(1) })]).outcome;
  t.deepEqual(fits.failed, []);
  t.deepEqual(
    fits.events.map((e) => e.action),
    ['updated'],
  );
});

test('an occurrence changed in place goes back into its series when the file no longer has it, without conflicting with itself', async (t) => {
  const c = await aliceAlone();
  // Renamed, not moved: the detached event sits exactly where the series' occurrence was.
  const renamed: EventDraft = { title: 'Sync (with Bob)', start: SECOND, end: SECOND + HOUR };
  const { ids } = importing(c, [series([{ occurrenceStart: SECOND, draft: renamed }])]);
  t.deepEqual(month(c)[1], ['03-10T09:00', 'Sync (with Bob)']);
  const restored = importing(c, [series(undefined)]).outcome;
  t.deepEqual(restored.failed, []);
  t.deepEqual(
    restored.events.map((e) => e.action),
    ['updated'],
  );
  t.is(c.read('alice', { type: 'event.show', eventId: ids[1] ?? '' }).event.status, 'cancelled');
  t.deepEqual(
    month(c).map(([start, title]) => `${start} ${title}`),
    ['03-03T09:00 Sync', '03-10T09:00 Sync', '03-17T09:00 Sync', '03-24T09:00 Sync'],
  );
});
