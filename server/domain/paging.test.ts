import test from 'ava';
import { seededRandom } from '../../base/rng.js';
import { InvalidInput } from '../../contract/errors.js';
import { agendaContextOf, viewAgendas, viewAgendasPage } from './agenda-view.js';
import { conflictsFor, conflictsPage } from './conflicts.js';
import { listEvents, listEventsPage } from './events.js';
import { MAX_PAGE_SIZE } from '../../contract/limits.js';
import { joinAgendaPages } from '../../contract/paging.js';
import { MAX_PAGE_TEXT, decodeCursor, encodeCursor, windowAfter } from './paging.js';
import { at, group, record } from './test-fixtures.js';
import type { Attendee, EventRecord, Visibility } from './types.js';

const USERS = ['alice', 'bob', 'carol'];
const BASE = at('2025-03-03T00:00:00Z');
const HOUR = 3_600_000;
const WINDOW = { from: BASE + 6 * HOUR, to: BASE + 4 * 24 * HOUR };
const team = group('team', 'hierarchical', { alice: 0, bob: 1, carol: 1 });

/** A random agenda: starts on a coarse grid (many ties), long and recurring events, all statuses. */
function randomRecords(seed: number): EventRecord[] {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const records: EventRecord[] = [];
  const count = 5 + Math.floor(random() * 25);
  for (let i = 0; i < count; i++) {
    const organizer = pick(USERS);
    const start = BASE + Math.floor(random() * 20) * 4 * HOUR + pick([0, 0, 30 * 60_000]);
    const others: Record<string, Attendee['status']> = {};
    for (const u of USERS) {
      if (u !== organizer && random() < 0.4) others[u] = pick(['accepted', 'pending', 'declined']);
    }
    records.push(
      record(
        {
          id: `e${i.toString().padStart(2, '0')}`,
          organizer,
          start,
          end: start + pick([HOUR, HOUR, 2 * HOUR, 30 * 60_000, 26 * HOUR]),
          visibility: pick<Visibility>(['public', 'busy', 'private']),
          status: random() < 0.1 ? 'cancelled' : 'confirmed',
          recurrence:
            random() < 0.3 ? { rule: { freq: 'DAILY', interval: 1 }, exceptions: [] } : null,
        },
        others,
      ),
    );
  }
  return records;
}

/** Every page of a list, following `next` from the first. */
function allPages<P extends { next: string | null }>(ask: (after?: string) => P): P[] {
  const pages: P[] = [];
  let after: string | undefined;
  for (;;) {
    const page = ask(after);
    pages.push(page);
    if (page.next === null) return pages;
    after = page.next;
    if (pages.length > 10_000) throw new Error('paging does not end');
  }
}

test('pages of every occurrence list, concatenated, are the unpaged list, ties included', (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const events = randomRecords(seed);
    for (const limit of [1, 2, 3, 7, MAX_PAGE_SIZE]) {
      for (const actor of USERS) {
        const query = { actor, ...WINDOW };
        const listed = allPages((after) =>
          listEventsPage(
            { ...query, limit, ...(after === undefined ? {} : { after }) },
            { events },
          ),
        );
        t.true(listed.every((p) => p.events.length <= limit));
        t.deepEqual(
          listed.flatMap((p) => p.events),
          listEvents(query, { events }),
          `events, seed ${seed}, limit ${limit}, ${actor}`,
        );
        const conflicts = allPages((after) =>
          conflictsPage({ ...query, limit, ...(after === undefined ? {} : { after }) }, { events }),
        );
        t.true(conflicts.every((p) => p.conflicts.length <= limit));
        t.deepEqual(
          conflicts.flatMap((p) => p.conflicts),
          conflictsFor(query, { events }),
          `conflicts, seed ${seed}, limit ${limit}, ${actor}`,
        );
      }
      const agendaQuery = { viewer: 'bob', targets: { group: 'team' }, ...WINDOW };
      const context = {
        groups: [team],
        ...agendaContextOf('bob', events),
      };
      const agendas = allPages((after) =>
        viewAgendasPage(
          { ...agendaQuery, limit, ...(after === undefined ? {} : { after }) },
          context,
        ),
      );
      t.true(agendas.every((p) => p.agendas.reduce((n, a) => n + a.entries.length, 0) <= limit));
      t.deepEqual(
        joinAgendaPages(agendas),
        viewAgendas(agendaQuery, context),
        `agendas, seed ${seed}, limit ${limit}`,
      );
    }
  }
});

test('a list that fits one page answers next: null; a full one names where to go on', (t) => {
  const events = randomRecords(3);
  const all = listEvents({ actor: 'alice', ...WINDOW }, { events });
  t.true(all.length > 2);
  const whole = listEventsPage({ actor: 'alice', ...WINDOW }, { events });
  t.is(whole.next, null);
  t.deepEqual(whole.events, all);
  const first = listEventsPage({ actor: 'alice', ...WINDOW, limit: 2 }, { events });
  t.deepEqual(first.events, all.slice(0, 2));
  t.is(typeof first.next, 'string');
});

test('a page ends before its text outgrows the budget, however long the descriptions', (t) => {
  // 300 events whose descriptions are 5,000 control characters: 30,000 characters of JSON each.
  const description = '\u0001'.repeat(5000);
  const events = Array.from({ length: 300 }, (_, i) =>
    record(
      { id: `e${i.toString().padStart(3, '0')}`, start: BASE + i * HOUR, description },
      { bob: 'accepted' },
    ),
  );
  const window = { from: BASE, to: BASE + 300 * HOUR };
  const pages = allPages((after) =>
    listEventsPage(
      { actor: 'alice', ...window, ...(after === undefined ? {} : { after }) },
      {
        events,
      },
    ),
  );
  t.true(pages.length > 1);
  for (const page of pages) t.true(JSON.stringify(page).length < MAX_PAGE_TEXT + 1000);
  t.deepEqual(
    pages.flatMap((p) => p.events),
    listEvents({ actor: 'alice', ...window }, { events }),
  );
  const context = {
    groups: [team],
    ...agendaContextOf('alice', events),
  };
  const agendaQuery = { viewer: 'alice', targets: { users: ['alice', 'bob'] }, ...window };
  const agendaPages = allPages((after) =>
    viewAgendasPage({ ...agendaQuery, ...(after === undefined ? {} : { after }) }, context),
  );
  t.true(agendaPages.length > 2);
  for (const page of agendaPages) t.true(JSON.stringify(page).length < MAX_PAGE_TEXT + 1000);
  t.deepEqual(joinAgendaPages(agendaPages), viewAgendas(agendaQuery, context));
});

test('a malformed cursor or page size is refused as invalid, naming the field', (t) => {
  const good = encodeCursor('event', { start: BASE, end: BASE + HOUR, eventId: 'e01' });
  t.deepEqual(decodeCursor('event', good), { start: BASE, end: BASE + HOUR, eventId: 'e01' });
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const bad = [
    '',
    'not a cursor!',
    'x'.repeat(2000),
    Buffer.from('{not json').toString('base64url'),
    b64([1, 2, 3]),
    b64({ k: 'conflict', o: [BASE, BASE + HOUR, 'e01'] }),
    b64({ k: 'event', o: [BASE, BASE + HOUR, 'e01'], extra: 1 }),
    b64({ k: 'event', o: [BASE + 0.5, BASE + HOUR, 'e01'] }),
    b64({ k: 'event', o: [BASE, BASE + HOUR, 'no spaces allowed'] }),
    b64({ k: 'event', o: [BASE, BASE + HOUR] }),
    b64({ k: 'event', o: ['2025-03-03', BASE + HOUR, 'e01'] }),
  ];
  const events = randomRecords(5);
  for (const after of bad) {
    const error = t.throws(() => listEventsPage({ actor: 'alice', ...WINDOW, after }, { events }), {
      instanceOf: InvalidInput,
    });
    t.is(error.field, 'after', after);
  }
  const agendaCursor = encodeCursor('agenda', {
    user: 'mallory',
    occurrence: { start: BASE, end: BASE + HOUR, eventId: 'e01' },
  });
  const refused = t.throws(
    () =>
      viewAgendasPage(
        { viewer: 'bob', targets: { group: 'team' }, ...WINDOW, after: agendaCursor },
        { groups: [team], ...agendaContextOf('bob', events) },
      ),
    { instanceOf: InvalidInput },
  );
  t.is(refused.field, 'after');
  for (const limit of [0, -1, 1.5, MAX_PAGE_SIZE + 1]) {
    const error = t.throws(() => conflictsPage({ actor: 'alice', ...WINDOW, limit }, { events }), {
      instanceOf: InvalidInput,
    });
    t.is(error.field, 'limit');
  }
});

test('the window left after a cursor: from the cursor on, never before the window, empty at its end', (t) => {
  const window = { start: 1_000, end: 2_000 };
  t.deepEqual(windowAfter(window, null), window);
  t.deepEqual(windowAfter(window, { start: -8.64e15 }), window, 'a cursor before the window');
  t.deepEqual(windowAfter(window, { start: 1_500 }), { start: 1_500, end: 2_000 });
  t.is(windowAfter(window, { start: 2_000 }), null, 'at the end: nothing left');
  t.is(windowAfter(window, { start: 8.64e15 }), null, 'past it');
});

test('joined agenda pages: an agenda cut by a page end continues, empty and one-entry pages included', (t) => {
  const entry = (n: number) => ({ n });
  const pages = [
    { agendas: [{ user: 'a', entries: [entry(1)] }] },
    { agendas: [{ user: 'a', entries: [] }] },
    {
      agendas: [
        { user: 'a', entries: [entry(2)] },
        { user: 'b', entries: [entry(3)] },
      ],
    },
    { agendas: [] },
    { agendas: [{ user: 'b', entries: [entry(4)] }] },
  ];
  t.deepEqual(joinAgendaPages(pages), [
    { user: 'a', entries: [entry(1), entry(2)] },
    { user: 'b', entries: [entry(3), entry(4)] },
  ]);
  t.deepEqual(pages[0]?.agendas[0]?.entries, [entry(1)], 'the pages are left as they were');
});
