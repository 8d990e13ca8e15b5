/**
 * Idempotency and failure isolation: retried requests apply once and answer the original
 * outcome; malformed entries, refusals and bugs stay confined to their own command.
 */
import test from 'ava';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { CalendarStore } from './calendar-store.js';
import type { StoreCommand } from './protocol.js';
import { at, entries, openStore, StoreClient } from './test-support.js';

const FEB = { from: at('2025-02-01T00:00:00Z'), to: at('2025-03-01T00:00:00Z') };
const STANDUP = {
  title: 'Standup',
  start: at('2025-02-03T09:00:00Z'),
  end: at('2025-02-03T10:00:00Z'),
};

test('a retried command applies once and answers the original result, even with new ids and time', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  const first = c.send(
    'alice',
    { type: 'event.create', draft: STANDUP },
    { requestId: 'r1', ids: ['a'] },
  );
  c.now += 5_000;
  const retry = c.send(
    'alice',
    { type: 'event.create', draft: STANDUP },
    { requestId: 'r1', ids: ['b'] },
  );
  t.true(first.ok);
  t.false(first.replayed);
  t.true(retry.replayed);
  t.deepEqual({ ...retry, replayed: false }, first);
  t.is(c.read('alice', { type: 'event.list', ...FEB }).events.length, 1);
});

test('a refusal is remembered too: the retry answers it even if the state has changed since', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  c.ok('alice', { type: 'event.create', draft: STANDUP }, { ids: ['standup'] });
  const clash = { type: 'event.create', draft: { ...STANDUP, title: 'Clash' } } as const;
  const refused = c.send('alice', clash, { requestId: 'r-clash' });
  t.false(refused.ok);
  c.ok('alice', { type: 'event.cancel', eventId: 'standup' });
  const retry = c.send('alice', clash, { requestId: 'r-clash' });
  t.true(retry.replayed);
  t.deepEqual({ ...retry, replayed: false }, refused);
});

test('a request id reused for another command is refused and changes nothing', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  c.ok('alice', { type: 'event.create', draft: STANDUP }, { requestId: 'r1' });
  const other = c.send(
    'alice',
    { type: 'event.create', draft: { ...STANDUP, title: 'Other' } },
    { requestId: 'r1' },
  );
  t.false(other.ok);
  if (!other.ok) {
    t.is(other.error.code, 'invalid');
    t.deepEqual(other.error.details, { field: 'requestId' });
  }
  t.is(c.read('alice', { type: 'event.list', ...FEB }).events.length, 1);
});

test('request ids are forgotten beyond the retention, by count and by age of the clock', async (t) => {
  const store = await openStore({ retention: { maxRequests: 3, maxAgeMs: 60_000 } });
  const c = new StoreClient(store);
  const lease = (holder: string) =>
    ({ type: 'lease.acquire', name: 'l', holder, ttlMs: 1 }) as const;
  c.send(null, lease('x'), { requestId: 'old' });
  for (const id of ['a', 'b', 'c']) c.send(null, lease(id), { requestId: id });
  t.is(c.read(null, { type: 'store.status' }).rememberedRequests, 3);
  // 'old' is forgotten, so its retry applies afresh (a new tenure: a new epoch).
  const again = c.send(null, lease('x'), { requestId: 'old' });
  t.false(again.replayed);
  t.true(c.send(null, lease('b'), { requestId: 'b' }).replayed);

  c.now += 61_000;
  c.send(null, lease('y'), { requestId: 'late' });
  t.is(c.read(null, { type: 'store.status' }).rememberedRequests, 1);
  t.false(c.send(null, lease('c'), { requestId: 'c' }).replayed);
});

test('malformed entries yield invalid results without disturbing their neighbours', async (t) => {
  const store = await openStore();
  const c = new StoreClient(store);
  c.register('alice');
  const good = (title: string, id: string): StoreCommand =>
    c.command('alice', { type: 'event.create', draft: { ...STANDUP, title } }, { ids: [id] });
  const garbage = [
    new Uint8Array([0xff, 0xfe, 0x00]),
    new TextEncoder().encode('{"v":1,'),
    new TextEncoder().encode('[]'),
    new TextEncoder().encode(JSON.stringify({ ...good('X', 'x'), v: 2 })),
    new TextEncoder().encode(JSON.stringify({ ...good('X', 'x'), extra: true })),
    new TextEncoder().encode(
      JSON.stringify({ ...good('X', 'x'), body: { type: 'event.create', draft: {} } }),
    ),
  ];
  const results = store.apply(
    entries([good('Before', 'b'), ...garbage, { ...good('After', 'a') }]),
  );
  t.deepEqual(
    results.map((r) => (r.ok ? 'ok' : r.error.code)),
    ['ok', ...garbage.map(() => 'invalid'), 'conflict'],
  );
  const after = store.apply(
    entries([
      c.command(
        'alice',
        {
          type: 'event.create',
          draft: { ...STANDUP, title: 'After', start: STANDUP.end, end: STANDUP.end + 3_600_000 },
        },
        { ids: ['c'] },
      ),
    ]),
  );
  t.true(after[0]?.ok);
  t.deepEqual(
    c.read('alice', { type: 'event.list', ...FEB }).events.map((e) => e.title),
    ['Before', 'After'],
  );
});

test('a bug inside one command is undone alone and answered as internal', async (t) => {
  const SQL = await loadSqlJs();
  const seeded = new StoreClient(new CalendarStore(SQL));
  seeded.register('alice', 'bob');
  seeded.ok('alice', { type: 'event.create', draft: STANDUP, with: ['bob'] }, { ids: ['broken'] });
  // Corrupt one row behind the store's back (what a bug in a writer would do).
  const db = new SQL.Database(seeded.store.snapshot());
  db.run("UPDATE events SET recurrence = 'not json' WHERE id = 'broken'");
  const image = db.export();
  db.close();

  const bugs: unknown[] = [];
  const store = new CalendarStore(SQL, { onInternalError: (error) => bugs.push(error) });
  store.restore(image);
  const c = new StoreClient(store, 'after-restore');
  c.now = seeded.now;
  const results = store.apply(
    entries([
      c.command('bob', { type: 'invitation.accept', eventId: 'broken' }),
      c.command('bob', {
        type: 'event.create',
        draft: { ...STANDUP, title: 'Fine', start: STANDUP.end, end: STANDUP.end + 3_600_000 },
      }),
    ]),
  );
  t.deepEqual(
    results.map((r) => (r.ok ? 'ok' : r.error.code)),
    ['internal', 'ok'],
  );
  t.is(bugs.length, 1);
  const read = c.ask('bob', { type: 'event.show', eventId: 'broken' });
  t.false(read.ok);
  if (!read.ok) t.is(read.error.code, 'internal');
  t.is(bugs.length, 2);
  seeded.store.close();
  store.close();
});

test('restoring an image that is not a store is refused and leaves the store as it was', async (t) => {
  const SQL = await loadSqlJs();
  const c = new StoreClient(new CalendarStore(SQL));
  c.register('alice');
  const other = new SQL.Database();
  other.run('CREATE TABLE t (x)');
  const image = other.export();
  other.close();
  t.throws(() => c.store.restore(image), { message: /schema/ });
  t.is(c.read(null, { type: 'user.lookup', username: 'alice' }).user.username, 'alice');
  c.store.close();
  c.store.close();
  t.throws(() => c.store.snapshot(), { message: /closed/ });
});
