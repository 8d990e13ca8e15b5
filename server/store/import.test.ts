/**
 * Imports through the store: one command per request, idempotent by UID, conflict-checked
 * against one index of the importer's commitments that learns each event the command makes.
 */
import test from 'ava';
import type { EventDraft } from '../domain/index.js';
import { at, DAY, HOUR, openStore, seededRandom, StoreClient } from './test-support.js';

const WEEK = { from: at('2025-03-01T00:00:00Z'), to: at('2025-03-08T00:00:00Z') };

function oneHour(title: string, iso: string): EventDraft {
  const start = at(iso);
  return { title, start, end: start + HOUR };
}

async function aliceAlone(): Promise<StoreClient> {
  const c = new StoreClient(await openStore());
  c.register('alice');
  return c;
}

function importing(
  c: StoreClient,
  events: { uid: string | null; draft: EventDraft }[],
  options: { allowConflict?: boolean; prefix?: string } = {},
) {
  const ids = events.map((_, i) => `${options.prefix ?? 'i'}-${i}`);
  return c.ok(
    'alice',
    {
      type: 'event.import',
      events,
      ...(options.allowConflict === undefined ? {} : { allowConflict: options.allowConflict }),
    },
    { ids },
  );
}

const DRAFTS = [
  { uid: 'standup@example.com', draft: oneHour('Standup', '2025-03-03T09:00:00Z') },
  {
    uid: 'gym@example.com',
    draft: { ...oneHour('Gym', '2025-03-03T18:00:00Z'), recurrence: 'FREQ=WEEKLY' },
  },
  { uid: 'lunch@example.com', draft: oneHour('Lunch', '2025-03-04T12:00:00Z') },
];

test('importing the same drafts again leaves every event unchanged and makes no duplicate', async (t) => {
  const c = await aliceAlone();
  const first = importing(c, DRAFTS, { prefix: 'a' });
  t.deepEqual(
    first.events.map((e) => [e.uid, e.id, e.action]),
    [
      ['standup@example.com', 'a-0', 'created'],
      ['gym@example.com', 'a-1', 'created'],
      ['lunch@example.com', 'a-2', 'created'],
    ],
  );
  const again = importing(c, DRAFTS, { prefix: 'b' });
  t.deepEqual(
    again.events.map((e) => [e.uid, e.id, e.action]),
    [
      ['standup@example.com', 'a-0', 'unchanged'],
      ['gym@example.com', 'a-1', 'unchanged'],
      ['lunch@example.com', 'a-2', 'unchanged'],
    ],
  );
  t.deepEqual(again.failed, []);
  const listed = c.read('alice', { type: 'event.list', ...WEEK }).events;
  t.deepEqual(listed.map((e) => e.title).sort(), ['Gym', 'Lunch', 'Standup']);
  // Unchanged means untouched: no new revision.
  t.is(c.read('alice', { type: 'event.show', eventId: 'a-1' }).event.revision, 0);
});

test('a draft changed in the file updates its event, through the rules of an update', async (t) => {
  const c = await aliceAlone();
  importing(c, DRAFTS, { prefix: 'a' });
  c.ok('alice', { type: 'event.create', draft: oneHour('Dentist', '2025-03-05T10:00:00Z') });
  const renamed = { ...DRAFTS[2]!, draft: { ...DRAFTS[2]!.draft, title: 'Long lunch' } };
  const moved = { ...DRAFTS[0]!, draft: oneHour('Standup', '2025-03-05T10:30:00Z') };
  const outcome = importing(c, [moved, DRAFTS[1]!, renamed], { prefix: 'b' });
  // The new time collides with the dentist: refused, as event update would be.
  t.deepEqual(
    outcome.failed.map((f) => [f.index, f.uid, f.error.code]),
    [[0, 'standup@example.com', 'conflict']],
  );
  t.deepEqual(
    outcome.events.map((e) => [e.uid, e.id, e.action]),
    [
      ['gym@example.com', 'a-1', 'unchanged'],
      ['lunch@example.com', 'a-2', 'updated'],
    ],
  );
  const lunch = c.read('alice', { type: 'event.show', eventId: 'a-2' }).event;
  t.like(lunch, { title: 'Long lunch', revision: 1 });
  const allowed = importing(c, [moved], { prefix: 'c', allowConflict: true });
  t.deepEqual(allowed.events, [{ uid: 'standup@example.com', id: 'a-0', action: 'updated' }]);
  t.deepEqual(
    c.read('alice', { type: 'event.list', ...WEEK }).events.map((e) => e.title),
    ['Gym', 'Long lunch', 'Dentist', 'Standup'],
  );
});

test('later drafts of one command conflict with the events earlier ones made', async (t) => {
  const c = await aliceAlone();
  const outcome = importing(c, [
    { uid: 'a', draft: oneHour('First', '2025-03-03T09:00:00Z') },
    { uid: 'b', draft: oneHour('Second', '2025-03-03T09:30:00Z') },
    { uid: 'c', draft: { ...oneHour('Daily', '2025-03-01T09:45:00Z'), recurrence: 'FREQ=DAILY' } },
  ]);
  t.deepEqual(
    outcome.events.map((e) => e.uid),
    ['a'],
  );
  t.deepEqual(
    outcome.failed.map((f) => [f.uid, f.error.code]),
    [
      ['b', 'conflict'],
      ['c', 'conflict'],
    ],
  );
  const conflicts = outcome.failed[1]?.error;
  t.like(conflicts?.code === 'conflict' ? conflicts.details.conflicts : [], [
    { id: 'i-0', title: 'First', start: '2025-03-03T09:00:00.000Z' },
  ]);
});

test('a UID twice in one command: the second finds what the first made of it', async (t) => {
  const c = await aliceAlone();
  const outcome = importing(c, [
    { uid: 'twice', draft: oneHour('Draft', '2025-03-03T09:00:00Z') },
    { uid: 'twice', draft: oneHour('Final', '2025-03-03T09:00:00Z') },
  ]);
  t.deepEqual(
    outcome.events.map((e) => [e.id, e.action]),
    [
      ['i-0', 'created'],
      ['i-0', 'updated'],
    ],
  );
  t.deepEqual(
    c.read('alice', { type: 'event.list', ...WEEK }).events.map((e) => e.title),
    ['Final'],
  );
});

test('an imported event the organizer cancelled stays cancelled: unchanged, or refused if the file changed it', async (t) => {
  const c = await aliceAlone();
  importing(c, DRAFTS, { prefix: 'a' });
  c.ok('alice', { type: 'event.cancel', eventId: 'a-2' });
  const same = importing(c, [DRAFTS[2]!], { prefix: 'b' });
  t.deepEqual(same.events, [{ uid: 'lunch@example.com', id: 'a-2', action: 'unchanged' }]);
  const changed = importing(
    c,
    [{ ...DRAFTS[2]!, draft: { ...DRAFTS[2]!.draft, title: 'Lunch again' } }],
    { prefix: 'c' },
  );
  t.deepEqual(
    changed.failed.map((f) => [f.uid, f.error.code]),
    [['lunch@example.com', 'invalid']],
  );
  t.is(c.read('alice', { type: 'event.show', eventId: 'a-2' }).event.status, 'cancelled');
});

test('the events of another organizer with the same UID are not touched: an import makes your own', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob');
  importing(c, DRAFTS, { prefix: 'a' });
  const bobs = c.ok(
    'bob',
    { type: 'event.import', events: DRAFTS, allowConflict: true },
    { ids: ['b-0', 'b-1', 'b-2'] },
  );
  t.deepEqual(
    bobs.events.map((e) => [e.id, e.action]),
    [
      ['b-0', 'created'],
      ['b-1', 'created'],
      ['b-2', 'created'],
    ],
  );
  t.is(c.read('alice', { type: 'event.list', ...WEEK }).events.length, 3);
});

test('drafts without a UID (commands logged before UIDs were kept) are created every time', async (t) => {
  const c = await aliceAlone();
  const draft = oneHour('Standup', '2025-03-03T09:00:00Z');
  importing(c, [{ uid: null, draft }], { prefix: 'a' });
  const again = importing(c, [{ uid: null, draft }], { prefix: 'b', allowConflict: true });
  t.deepEqual(again.events, [{ uid: null, id: 'b-0', action: 'created' }]);
  t.is(c.read('alice', { type: 'event.list', ...WEEK }).events.length, 2);
});

/** A random one-off or recurring draft in March 2025 (a recurrence may reach much later). */
function randomDraft(random: () => number, n: number): EventDraft {
  const start = at('2025-03-01T00:00:00Z') + Math.floor(random() * 28 * 24) * HOUR;
  const length = [HOUR / 2, HOUR, 3 * HOUR, DAY, 2 * DAY][Math.floor(random() * 5)] ?? HOUR;
  const rule = [
    null,
    null,
    'FREQ=DAILY;COUNT=5',
    'FREQ=WEEKLY',
    'FREQ=MONTHLY;BYMONTHDAY=15',
    'FREQ=YEARLY',
  ][Math.floor(random() * 6)];
  const recurrence = rule === 'FREQ=DAILY;COUNT=5' && length >= DAY ? null : (rule ?? null);
  return {
    title: `e${n}`,
    start,
    end: start + length,
    timeZone: random() < 0.5 ? 'UTC' : 'Europe/Madrid',
    recurrence,
  };
}

test('one import decides exactly as the same drafts created one by one would', async (t) => {
  for (let seed = 1; seed <= 12; seed++) {
    const random = seededRandom(seed);
    const existing = Array.from({ length: 15 }, (_, i) => randomDraft(random, i));
    const drafts = Array.from({ length: 25 }, (_, i) => randomDraft(random, 100 + i));
    const one = new StoreClient(await openStore(), 'one');
    const each = new StoreClient(await openStore(), 'each');
    for (const c of [one, each]) {
      c.register('alice');
      for (const [i, draft] of existing.entries()) {
        c.send('alice', { type: 'event.create', draft, allowConflict: true }, { ids: [`x-${i}`] });
      }
    }
    const imported = one.ok(
      'alice',
      { type: 'event.import', events: drafts.map((draft, i) => ({ uid: `u${i}`, draft })) },
      { ids: drafts.map((_, i) => `n-${i}`) },
    );
    const created = new Map(imported.events.map((e) => [e.id, e.action]));
    const refusals = new Map(imported.failed.map((f) => [f.index, f.error]));
    for (const [i, draft] of drafts.entries()) {
      const outcome = each.send('alice', { type: 'event.create', draft }, { ids: [`n-${i}`] });
      if (outcome.ok) {
        t.is(created.get(`n-${i}`), 'created', `seed ${seed}, draft ${i}`);
      } else {
        t.deepEqual(refusals.get(i), outcome.error, `seed ${seed}, draft ${i}`);
      }
    }
  }
});
