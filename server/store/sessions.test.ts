/**
 * Refreshable sessions in the store: a login opens one, each refresh token renews it once
 * and is replaced, a rotated token coming back ends the session everywhere, and what a
 * session keeps is bounded (per user, and in time).
 */
import test from 'ava';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { CalendarStore } from './calendar-store.js';
import { MAX_SESSIONS_PER_USER, REFRESH_REUSE_GRACE_MS } from './protocol.js';
import type { CommandOf } from './protocol.js';
import { DAY, EPOCH, StoreClient } from './test-support.js';

const ACCESS_MS = 15 * 60_000;
const SESSION_MS = 30 * DAY;

async function client(): Promise<StoreClient> {
  const c = new StoreClient(new CalendarStore(await loadSqlJs()));
  c.register('alice', 'bob');
  return c;
}

function refresh(sid: string, seq: number, generation = 0): CommandOf<'session.refresh'> {
  return { type: 'session.refresh', sid, generation, seq, revokeForMs: ACCESS_MS };
}

function open(sid: string, generation = 0): CommandOf<'session.open'> {
  return { type: 'session.open', sid, ttlMs: SESSION_MS, generation };
}

/** What the store answers an access token of session `sid`. */
function access(c: StoreClient, sid: string, generation = 0) {
  return c.store.query({
    v: 1,
    actor: 'alice',
    at: c.now,
    session: { generation, sid },
    body: { type: 'event.list', from: EPOCH, to: EPOCH + DAY },
  });
}

/** Whether an access token of session `sid` still passes the store's check. */
function accessWorks(c: StoreClient, sid: string, generation = 0): boolean {
  return access(c, sid, generation).ok;
}

test('a login opens a session that lasts its ttl; each refresh token renews it once and is replaced', async (t) => {
  const c = await client();
  t.deepEqual(c.ok('alice', open('s1')), { session: { sid: 's1', expiresAt: EPOCH + SESSION_MS } });
  c.now += ACCESS_MS;
  const first = c.ok('alice', refresh('s1', 0));
  t.like(first, {
    outcome: 'rotated',
    refreshSeq: 1,
    session: { sid: 's1', expiresAt: EPOCH + SESSION_MS },
    user: { username: 'alice' },
  });
  c.now += ACCESS_MS;
  t.like(c.ok('alice', refresh('s1', 1)), { outcome: 'rotated', refreshSeq: 2 });
  // The expiry is fixed at login: renewing does not extend it.
  c.now = EPOCH + SESSION_MS;
  t.regex(c.refused('alice', refresh('s1', 2)).message, /session has ended/);
});

test('a rotated refresh token coming back ends the session: no more refreshes, its access tokens refused', async (t) => {
  const c = await client();
  c.ok('alice', open('s1'));
  c.ok('alice', open('s2'));
  c.ok('alice', refresh('s1', 0));
  c.now += REFRESH_REUSE_GRACE_MS + 1;
  const reused = c.send('alice', refresh('s1', 0));
  t.true(reused.ok);
  t.deepEqual(reused.ok && reused.result, { outcome: 'reused' });
  t.deepEqual(reused.ok && reused.notifications, [
    { kind: 'session', to: 'alice', change: 'ended', sid: 's1' },
  ]);
  t.regex(c.refused('alice', refresh('s1', 1)).message, /session has ended/, 'nor the current one');
  const ended = access(c, 's1');
  t.regex(ended.ok ? '' : ended.error.message, /logged out/);
  t.true(accessWorks(c, 's2'), 'the other session goes on');
  t.like(c.ok('alice', refresh('s2', 0)), { outcome: 'rotated' });
  // The revocation lasts as long as an access token can, then is forgotten; the session
  // stays ended (the store names a session only while it is open).
  c.now += ACCESS_MS + 1;
  c.ok('bob', open('s3'));
  c.ok('bob', { type: 'session.revoke', sid: 's3', expiresAt: c.now + ACCESS_MS });
  const pruned = access(c, 's1');
  t.false(pruned.ok);
  t.regex(
    pruned.ok ? '' : pruned.error.message,
    /session has ended/,
    'the revocation of s1 was pruned by a later one',
  );
});

test('the refresh token just rotated away renews the session for a moment, as the current one', async (t) => {
  const c = await client();
  c.ok('alice', open('s1'));
  c.ok('alice', refresh('s1', 0));
  c.now += REFRESH_REUSE_GRACE_MS;
  // Another process of the same login, or a retry whose answer was lost.
  t.like(c.ok('alice', refresh('s1', 0)), { outcome: 'rotated', refreshSeq: 1 });
  t.like(c.ok('alice', refresh('s1', 1)), { outcome: 'rotated', refreshSeq: 2 });
  t.true(accessWorks(c, 's1'));
});

test('a session is renewed only for its own user and generation; a logout or a password change ends it', async (t) => {
  const c = await client();
  c.ok('alice', open('s1'));
  t.regex(c.refused('bob', refresh('s1', 0)).message, /session has ended/);
  t.regex(c.refused('alice', open('s2', 1)).message, /password changed meanwhile/);
  c.ok('alice', { type: 'session.revoke', sid: 's1', expiresAt: c.now + ACCESS_MS });
  t.regex(c.refused('alice', refresh('s1', 0)).message, /session has ended/);

  c.ok('alice', open('s3'));
  const changed = c.ok('alice', {
    type: 'user.changePassword',
    previousHash: 'hash-alice',
    passwordHash: 'hash-alice-2',
    sid: 's4',
    ttlMs: SESSION_MS,
  });
  t.deepEqual(changed, {
    sessionGeneration: 1,
    session: { sid: 's4', expiresAt: c.now + SESSION_MS },
  });
  t.regex(c.refused('alice', refresh('s3', 0)).message, /password changed/);
  t.regex(c.refused('alice', refresh('s3', 0, 1)).message, /session has ended/);
  t.like(c.ok('alice', refresh('s4', 0, 1)), { outcome: 'rotated' });
});

test('a login may replace the hash it checked, unless it changed meanwhile', async (t) => {
  const c = await client();
  c.ok('alice', {
    ...open('s1'),
    rehash: { previousHash: 'hash-alice', passwordHash: 'stronger' },
  });
  t.is(c.read(null, { type: 'user.lookup', username: 'alice' }).passwordHash, 'stronger');
  // A second login that checked the old hash keeps the first's.
  c.ok('alice', { ...open('s2'), rehash: { previousHash: 'hash-alice', passwordHash: 'other' } });
  t.is(c.read(null, { type: 'user.lookup', username: 'alice' }).passwordHash, 'stronger');
});

test(`a user keeps at most ${MAX_SESSIONS_PER_USER} sessions: a login past it ends the oldest one's refresh`, async (t) => {
  const c = await client();
  for (let i = 0; i < MAX_SESSIONS_PER_USER; i++) {
    c.ok('alice', open(`s${i}`));
    c.now += 1;
  }
  c.ok('alice', open('newest'));
  t.regex(c.refused('alice', refresh('s0', 0)).message, /session has ended/);
  t.like(c.ok('alice', refresh('s1', 0)), { outcome: 'rotated' });
  t.like(c.ok('alice', refresh('newest', 0)), { outcome: 'rotated' });
  // Expired sessions do not count, and are forgotten by later logins.
  c.now += SESSION_MS;
  c.ok('alice', open('later'));
  t.like(c.ok('alice', refresh('later', 0)), { outcome: 'rotated' });
  t.regex(c.refused('alice', open('later')).message, /session id is taken/);
});

test('a session a login ends past the cap has its access tokens refused too, and its streams told', async (t) => {
  // Found by the outside attack: the evicted session's access token still opened /v1/me
  // and its streams for up to 15 minutes.
  const c = await client();
  for (let i = 0; i < MAX_SESSIONS_PER_USER; i++) {
    c.ok('alice', open(`s${i}`));
    c.now += 1;
  }
  t.true(accessWorks(c, 's0'));
  const login = c.send('alice', { ...open('newest'), revokeEvictedForMs: ACCESS_MS });
  t.deepEqual(login.ok && login.notifications, [
    { kind: 'session', to: 'alice', change: 'ended', sid: 's0' },
  ]);
  t.false(accessWorks(c, 's0'));
  t.true(accessWorks(c, 's1'));
});

test('a login entry written before evictions were revoked applies as it did then', async (t) => {
  const c = await client();
  for (let i = 0; i < MAX_SESSIONS_PER_USER; i++) c.ok('alice', open(`s${i}`));
  const login = c.send('alice', open('newest'));
  t.deepEqual(login.ok && login.notifications, []);
  // Only the session ended, as the entry decided when it was written: nothing was revoked
  // (its access tokens are refused as those of any session that ended, not as logged out).
  const evicted = access(c, 's0');
  t.regex(
    evicted.ok ? '' : evicted.error.message,
    /session has ended/,
    'only the refresh ended, as the entry decided when it was written',
  );
});
