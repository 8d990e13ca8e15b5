/**
 * The session a request names must be its actor's own, live one: the store refuses a session
 * id it never opened for them (one made up by whoever holds a service certificate), another
 * user's, an expired one, and a feed's anywhere but the feed's read. Whether a request must
 * name one at all is the DB service's to enforce, by role (server/db/access.test.ts).
 */
import test from 'ava';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { CalendarStore } from './calendar-store.js';
import type { CommandBody, QueryBody, SessionRef } from './protocol.js';
import { DAY, EPOCH, HOUR, StoreClient, decideAndApply } from './test-support.js';

const SESSION_MS = 30 * DAY;

async function client(): Promise<StoreClient> {
  const c = new StoreClient(new CalendarStore(await loadSqlJs()));
  c.register('alice', 'mallory');
  c.ok('alice', { type: 'session.open', sid: 'alice-s', ttlMs: SESSION_MS, generation: 0 });
  c.ok('mallory', { type: 'session.open', sid: 'mallory-s', ttlMs: SESSION_MS, generation: 0 });
  c.ok('alice', { type: 'feed.create', fid: 'alice-f', label: 'phone', expiresAt: EPOCH + DAY });
  return c;
}

const CREATE: CommandBody = {
  type: 'event.create',
  draft: { title: 'planted', start: EPOCH + HOUR, end: EPOCH + 2 * HOUR },
};
const EXPORT: QueryBody = { type: 'agenda.export' };
const LIST: QueryBody = { type: 'event.list', from: EPOCH, to: EPOCH + DAY };

function command(c: StoreClient, session: SessionRef, body: CommandBody = CREATE) {
  return decideAndApply(c.store, { ...c.command('alice', body), session });
}

function query(c: StoreClient, session: SessionRef, body: QueryBody = LIST) {
  return c.store.query({ v: 1, actor: 'alice', at: c.now, session, body });
}

test('the actor’s own live session opens their calendar', async (t) => {
  const c = await client();
  t.true(command(c, { generation: 0, sid: 'alice-s' }).ok);
  t.true(query(c, { generation: 0, sid: 'alice-s' }).ok);
  t.true(query(c, { generation: 0, sid: 'alice-s' }, EXPORT).ok, 'an export, with an access token');
  t.true(query(c, { generation: 0, fid: 'alice-f' }, EXPORT).ok, 'the feed');
});

test('a session id the store never opened for the actor is no session', async (t) => {
  const c = await client();
  for (const session of [
    { generation: 0, sid: 'made-up' },
    { generation: 0, sid: 'mallory-s' },
    { generation: 0 },
  ]) {
    const refused = command(c, session);
    t.false(refused.ok, JSON.stringify(session));
    if (!refused.ok) t.is(refused.error.code, 'unauthenticated');
    const read = query(c, session);
    t.false(read.ok, JSON.stringify(session));
    if (!read.ok) t.is(read.error.code, 'unauthenticated');
  }
  t.deepEqual(
    c.read('alice', { type: 'event.list', from: EPOCH, to: EPOCH + DAY }).events,
    [],
    'nothing was planted',
  );
});

test('an expired session opens nothing', async (t) => {
  const c = await client();
  c.now = EPOCH + SESSION_MS;
  const refused = query(c, { generation: 0, sid: 'alice-s' });
  t.false(refused.ok);
  if (!refused.ok) t.regex(refused.error.message, /session has ended/);
});

test('a feed’s session reads the feed and runs nothing else', async (t) => {
  const c = await client();
  const feed = { generation: 0, fid: 'alice-f' };
  for (const body of [
    CREATE,
    { type: 'group.create', name: 'g', kind: 'team' },
    { type: 'feed.create', fid: 'minted', label: 'x', expiresAt: EPOCH + DAY },
  ] as CommandBody[]) {
    const refused = command(c, feed, body);
    t.false(refused.ok, body.type);
    if (!refused.ok) t.regex(refused.error.message, /feed token only opens its feed/);
  }
  for (const body of [LIST, { type: 'feed.list' }, { type: 'group.list' }] as QueryBody[]) {
    const refused = query(c, feed, body);
    t.false(refused.ok, body.type);
    if (!refused.ok) t.is(refused.error.code, 'unauthenticated');
  }
  const other = query(c, { generation: 0, fid: 'made-up' }, EXPORT);
  t.false(other.ok, 'a feed that does not exist');
});
