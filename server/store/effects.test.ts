/**
 * Decide once, apply cheaply: the leader decides, every member applies the effect without
 * calendar logic, an effect decided on a state that has changed since is refused as stale
 * (and decided again right), and logs written by older versions still apply.
 */
import test from 'ava';
import { MAX_GROUP_MEMBERS } from '../domain/index.js';
import type { CalendarStore } from './calendar-store.js';
import { parseEffect, type Effect } from './effects.js';
import type { StoreCommand, StoreResult } from './protocol.js';
import { DAY, EPOCH, HOUR, StoreClient, entries, openStore } from './test-support.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function effectOf(
  store: CalendarStore,
  command: StoreCommand,
): { effect: Effect; entry: Uint8Array } {
  const decided = store.decide(command);
  if (decided.kind !== 'effect') throw new Error('expected an effect');
  return { effect: parseEffect(JSON.parse(decoder.decode(decided.entry))), entry: decided.entry };
}

function applyAt(store: CalendarStore, index: number, entry: Uint8Array): StoreResult {
  const [result] = store.apply([{ index, term: 1, data: entry }]);
  if (result === undefined) throw new Error('no result');
  return result;
}

async function withUsers() {
  const leader = new StoreClient(await openStore(), 'l');
  leader.ok(null, { type: 'user.register', username: 'alice', passwordHash: 'h' });
  leader.ok(null, { type: 'user.register', username: 'bob', passwordHash: 'h' });
  return leader;
}

test('a decision names what it read and writes the rows; deciding changes nothing', async (t) => {
  const leader = await withUsers();
  const before = leader.store.snapshot();
  const start = EPOCH + 10 * DAY;
  const { effect } = effectOf(
    leader.store,
    leader.command('alice', {
      type: 'event.create',
      draft: { title: 'Planning', start, end: start + HOUR, recurrence: 'FREQ=WEEKLY;COUNT=4' },
      with: ['bob'],
    }),
  );
  t.deepEqual(leader.store.snapshot(), before, 'the decision was rolled back');
  t.true(effect.outcome.ok);
  t.deepEqual(
    effect.writes.map((w) => w.kind),
    ['insertEvent', 'putAttendee', 'putAttendee'],
  );
  t.true(effect.reads.includes('agenda/alice'), 'its conflicts depend on alice’s agenda');
  t.true(effect.reads.includes('user/bob'), 'and on bob being a user');
  for (const key of [
    'agenda/alice',
    'agenda/bob',
    `event/${effect.writes[0]?.kind === 'insertEvent' ? effect.writes[0].event.id : ''}`,
  ])
    t.true(effect.stamps.includes(key), key);
});

test('members apply the effect as written: no calendar rule runs in apply', async (t) => {
  const leader = await withUsers();
  const follower = await openStore();
  follower.restore(leader.store.snapshot());
  const start = EPOCH + 10 * DAY;
  const { effect } = effectOf(
    leader.store,
    leader.command('alice', {
      type: 'event.create',
      draft: { title: 'Weekly', start, end: start + HOUR, recurrence: 'FREQ=WEEKLY;COUNT=4' },
    }),
  );
  // The index bounds of the series were computed by the decision; a follower that computed
  // them itself would not keep this (wrong) value.
  const tampered: Effect = {
    ...effect,
    writes: effect.writes.map((w) =>
      w.kind === 'insertEvent' ? { ...w, bounds: { seriesEnd: start + 123, spanClass: 1 } } : w,
    ),
  };
  const index = leader.store.appliedIndex() + 1;
  t.true(applyAt(follower, index, encoder.encode(JSON.stringify(tampered))).ok);
  const listed = follower.query({
    v: 1,
    actor: 'alice',
    at: EPOCH,
    body: { type: 'event.list', from: start + 7 * DAY, to: start + 8 * DAY },
  });
  // The second occurrence lies after the (tampered) series end, so the index skips it.
  t.deepEqual(listed.ok && 'events' in listed.result ? listed.result.events : null, []);
});

test('an effect decided on a state that changed before it applied is stale, and decided again right', async (t) => {
  const leader = await withUsers();
  const start = EPOCH + 10 * DAY;
  const draft = (title: string) => ({ title, start, end: start + HOUR });
  // Both decided on the same state: neither sees the other.
  const first = effectOf(
    leader.store,
    leader.command('alice', { type: 'event.create', draft: draft('One') }),
  );
  const secondCommand = leader.command('alice', { type: 'event.create', draft: draft('Two') });
  const second = effectOf(leader.store, secondCommand);
  t.true(second.effect.outcome.ok, 'on its own state, the second was fine');
  let index = leader.store.appliedIndex();
  t.true(applyAt(leader.store, ++index, first.entry).ok);
  const stale = applyAt(leader.store, ++index, second.entry);
  t.like(stale, { ok: false, stale: true, error: { code: 'unavailable' } });
  // Nothing of it happened, and it is not remembered: deciding again gives the true answer.
  const again = effectOf(leader.store, secondCommand);
  t.like(again.effect.outcome, { ok: false, error: { code: 'conflict' } });
  t.like(applyAt(leader.store, ++index, again.entry), { ok: false, error: { code: 'conflict' } });
});

test('effects on unrelated keys do not make each other stale', async (t) => {
  const leader = await withUsers();
  const start = EPOCH + 10 * DAY;
  const a = effectOf(
    leader.store,
    leader.command('alice', {
      type: 'event.create',
      draft: { title: 'A', start, end: start + HOUR },
    }),
  );
  const b = effectOf(
    leader.store,
    leader.command('bob', {
      type: 'event.create',
      draft: { title: 'B', start, end: start + HOUR },
    }),
  );
  let index = leader.store.appliedIndex();
  t.true(applyAt(leader.store, ++index, a.entry).ok);
  t.true(applyAt(leader.store, ++index, b.entry).ok);
});

test('a request id already applied is answered at decision time, and never applies twice', async (t) => {
  const leader = await withUsers();
  const start = EPOCH + 10 * DAY;
  const command = leader.command('alice', {
    type: 'event.create',
    draft: { title: 'Once', start, end: start + HOUR },
  });
  const { entry } = effectOf(leader.store, command);
  const duplicate = effectOf(leader.store, command).entry;
  let index = leader.store.appliedIndex();
  t.like(applyAt(leader.store, ++index, entry), { ok: true, replayed: false });
  t.like(applyAt(leader.store, ++index, duplicate), { ok: true, replayed: true });
  const decided = leader.store.decide(command);
  t.like(decided, { kind: 'answer', result: { ok: true, replayed: true } });
});

test('a command written to the log by an older version is still applied', async (t) => {
  const leader = await withUsers();
  const start = EPOCH + 10 * DAY;
  const command = leader.command('alice', {
    type: 'event.create',
    draft: { title: 'Old', start, end: start + HOUR },
  });
  const [result] = leader.store.apply(entries([command], leader.store.appliedIndex() + 1));
  t.like(result, { ok: true, replayed: false });
});

test('a malformed effect is refused by result, the same on every member', async (t) => {
  const store = await openStore();
  const bad = encoder.encode(JSON.stringify({ v: 2, requestId: 'x', writes: 'nope' }));
  const [result] = store.apply([{ index: 1, term: 1, data: bad }]);
  t.like(result, { ok: false, error: { code: 'invalid' } });
});

test('the largest group event the API accepts replicates as one effect that follows apply to the same bytes', async (t) => {
  const leader = new StoreClient(await openStore(), 'big');
  const members = Array.from({ length: MAX_GROUP_MEMBERS - 1 }, (_, i) => `member-${i}`);
  leader.ok(null, { type: 'user.register', username: 'owner', passwordHash: 'h' });
  for (const name of members)
    leader.ok(null, { type: 'user.register', username: name, passwordHash: 'h' });
  leader.ok('owner', { type: 'group.create', name: 'everyone', kind: 'hierarchical' });
  for (const name of members) {
    leader.ok('owner', { type: 'group.addMember', group: 'everyone', username: name, level: 1 });
    leader.ok(name, { type: 'group.join', group: 'everyone' });
  }
  const follower = await openStore();
  follower.restore(leader.store.snapshot());
  const start = EPOCH + 10 * DAY;
  const { effect, entry } = effectOf(
    leader.store,
    leader.command('owner', {
      type: 'event.create',
      draft: { title: 'All hands', start, end: start + HOUR, recurrence: 'FREQ=WEEKLY' },
      group: 'everyone',
    }),
  );
  // Every attendee's agenda is read (conflicts of the imposed) and written.
  for (const name of members) {
    t.true(effect.reads.includes(`agenda/${name}`) && effect.stamps.includes(`agenda/${name}`));
  }
  const index = leader.store.appliedIndex() + 1;
  t.true(applyAt(leader.store, index, entry).ok);
  t.true(applyAt(follower, index, entry).ok);
  // Byte for byte (the image is too large for a structural comparison).
  t.true(Buffer.from(follower.snapshot()).equals(Buffer.from(leader.store.snapshot())));
});

test('an import stamps exactly the events it creates and the importer’s agenda', async (t) => {
  const leader = await withUsers();
  const start = EPOCH + 10 * DAY;
  const { effect } = effectOf(
    leader.store,
    leader.command(
      'alice',
      {
        type: 'event.import',
        events: [
          { uid: 'one@test', draft: { title: 'One', start, end: start + HOUR } },
          { uid: 'two@test', draft: { title: 'Two', start, end: start + HOUR } },
        ],
        allowConflict: true,
      },
      { ids: ['imported-1', 'imported-2'] },
    ),
  );
  const ids = effect.writes.flatMap((w) => (w.kind === 'insertEvent' ? [w.event.id] : []));
  t.is(ids.length, 2);
  t.deepEqual(effect.stamps, ['agenda/alice', ...ids.map((id) => `event/${id}`)].sort());
});
