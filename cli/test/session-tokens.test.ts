/**
 * Renewing a session's access token (cli/http/session-tokens.ts), on an injected clock: when
 * it runs out, once per process however many calls ask at once, with the newest refresh
 * token any process of the login saved, and never with one this process already spent.
 */
import test from 'ava';
import { Unauthenticated } from '../../contract/errors.js';
import type { LoginAnswer } from '../../contract/api.js';
import { failureJson } from '../failures.js';
import { SessionTokens } from '../http/session-tokens.js';
import type { SessionTokenSet, SessionTokenStore } from '../http/session-tokens.js';

const START = Date.parse('2026-03-02T09:00:00Z');
const MINUTE = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();

/** The tokens of the `n`th answer of a session that started at START. */
function tokensNo(n: number, issuedAt: number): SessionTokenSet {
  return {
    token: `access-${n}`,
    expiresAt: iso(issuedAt + 15 * MINUTE),
    refreshToken: `refresh-${n}`,
    refreshExpiresAt: iso(START + 30 * 24 * 60 * MINUTE),
  };
}

/** A refresh route that renews `refresh-n` into the n+1th tokens, and remembers what it got. */
function refreshRoute(clock: { now: number }) {
  const sent: string[] = [];
  const renew = (refreshToken: string): Promise<LoginAnswer> => {
    sent.push(refreshToken);
    const n = Number(refreshToken.replace('refresh-', '')) + 1;
    const tokens = tokensNo(n, clock.now);
    return Promise.resolve({
      token: tokens.token,
      expiresAt: tokens.expiresAt,
      refreshToken: tokens.refreshToken ?? '',
      refreshExpiresAt: tokens.refreshExpiresAt ?? '',
      user: { username: 'alice', name: '' },
    });
  };
  return { sent, renew };
}

class MemoryStore implements SessionTokenStore {
  saves = 0;
  constructor(public saved: SessionTokenSet | null) {}
  load(): Promise<SessionTokenSet | null> {
    return Promise.resolve(this.saved);
  }
  save(tokens: SessionTokenSet): Promise<void> {
    this.saves += 1;
    this.saved = tokens;
    return Promise.resolve();
  }
}

test('the access token is sent as is until it runs out, then renewed once for every call waiting', async (t) => {
  const clock = { now: START };
  const route = refreshRoute(clock);
  const store = new MemoryStore(tokensNo(0, START));
  const tokens = new SessionTokens({
    tokens: tokensNo(0, START),
    renew: route.renew,
    store,
    now: () => clock.now,
  });
  t.is(await tokens.current(), 'access-0');
  clock.now += 14 * MINUTE;
  t.is(await tokens.current(), 'access-0');
  // Within half a minute of its expiry, a request would be refused on the way.
  clock.now += 40_000;
  const all = await Promise.all([tokens.current(), tokens.current(), tokens.current()]);
  t.deepEqual(all, ['access-1', 'access-1', 'access-1']);
  t.deepEqual(route.sent, ['refresh-0']);
  t.like(store.saved, { token: 'access-1', refreshToken: 'refresh-1' });
  // A call that was refused with the old token gets the new one without a second renewal.
  t.is(await tokens.renewed('access-0'), 'access-1');
  t.deepEqual(route.sent, ['refresh-0']);
});

test('a token the gateway refused as expired is renewed even when this clock says it is not', async (t) => {
  const clock = { now: START };
  const route = refreshRoute(clock);
  const tokens = new SessionTokens({
    tokens: tokensNo(0, START),
    renew: route.renew,
    now: () => clock.now,
  });
  t.is(await tokens.renewed('access-0'), 'access-1');
  t.deepEqual(route.sent, ['refresh-0']);
  t.like(tokens.held, { token: 'access-1', refreshToken: 'refresh-1' });
});

test('tokens another process renewed are taken up instead of spending a refresh token again', async (t) => {
  const clock = { now: START };
  const route = refreshRoute(clock);
  const store = new MemoryStore(tokensNo(0, START));
  const tokens = new SessionTokens({
    tokens: tokensNo(0, START),
    renew: route.renew,
    store,
    now: () => clock.now,
  });
  // Another `agenda` process of the profile renewed refresh-0 a minute ago.
  clock.now += 15 * MINUTE;
  store.saved = tokensNo(1, clock.now - MINUTE);
  t.is(await tokens.current(), 'access-1');
  t.deepEqual(route.sent, [], 'nothing renewed: its access token is good');
  // Later its access token runs out too: the refresh token renewed is the other process's.
  clock.now += 15 * MINUTE;
  t.is(await tokens.current(), 'access-2');
  t.deepEqual(route.sent, ['refresh-1']);
});

test('a refresh token this process spent is not taken back from a store that missed its save', async (t) => {
  const clock = { now: START };
  const route = refreshRoute(clock);
  const store = new MemoryStore(tokensNo(0, START));
  const save = store.save.bind(store);
  // The renewal's answer is not saved (the pending record before it was).
  store.save = (saved) => {
    if (saved.pendingRefresh !== undefined) return save(saved);
    store.save = save;
    return Promise.reject(new Error(`disk full, ${saved.token} not saved`));
  };
  const tokens = new SessionTokens({
    tokens: tokensNo(0, START),
    renew: route.renew,
    store,
    now: () => clock.now,
  });
  clock.now += 15 * MINUTE;
  await t.throwsAsync(tokens.current(), { message: 'disk full, access-1 not saved' });
  clock.now += 15 * MINUTE;
  t.is(await tokens.current(), 'access-2');
  t.deepEqual(route.sent, ['refresh-0', 'refresh-1'], 'refresh-0 was never sent twice');
});

test('a renewal whose answer was lost is written down first and sent again as it was, by this process or another', async (t) => {
  const clock = { now: START };
  const route = refreshRoute(clock);
  const keys: string[] = [];
  let lose = 2;
  const renew = (refreshToken: string, _s?: AbortSignal, _w?: unknown, key = '') => {
    keys.push(key);
    t.deepEqual(store.saved?.pendingRefresh, { refreshToken, key }, 'kept before it is sent');
    const answer = route.renew(refreshToken);
    if (lose-- > 0) return Promise.reject(new Error('service unavailable'));
    return answer;
  };
  const store = new MemoryStore(tokensNo(0, START));
  const options = { tokens: tokensNo(0, START), renew, store, now: () => clock.now };
  const tokens = new SessionTokens(options);
  clock.now += 15 * MINUTE;
  await t.throwsAsync(tokens.current(), { message: 'service unavailable' });
  clock.now += MINUTE;
  await t.throwsAsync(tokens.current(), { message: 'service unavailable' });
  // Another process of the login takes up the renewal the profile says is pending.
  const other = new SessionTokens({ ...options, tokens: store.saved ?? tokensNo(0, START) });
  t.is(await other.current(), 'access-1');
  t.deepEqual(route.sent, ['refresh-0', 'refresh-0', 'refresh-0']);
  t.is(new Set(keys).size, 1, 'under one key');
  t.regex(keys[0] ?? '', /^[A-Za-z0-9_-]{1,64}$/);
  t.like(store.saved, { refreshToken: 'refresh-1', pendingRefresh: undefined });
  t.is(await tokens.current(), 'access-1', 'the first process takes up what the other saved');
  clock.now += 15 * MINUTE;
  t.is(await tokens.current(), 'access-2');
  t.not(keys[3], keys[0], 'the next renewal is another request');
});

test('an ended session, a logged-out profile and a login of before say to log in', async (t) => {
  const clock = { now: START };
  const refused = new SessionTokens({
    tokens: tokensNo(0, START),
    renew: () =>
      Promise.reject(new Unauthenticated('this refresh token was already used: log in again')),
    now: () => clock.now,
    loginHint: 'run agenda login alice',
  });
  const error = await t.throwsAsync<Unauthenticated>(refused.renewed('access-0'));
  t.regex(error?.message ?? '', /could not be renewed \(this refresh token was already used/);

  const loggedOut = new SessionTokens({
    tokens: tokensNo(0, START),
    renew: refreshRoute(clock).renew,
    store: new MemoryStore(null),
    now: () => clock.now,
    loginHint: 'run agenda login alice',
  });
  await t.throwsAsync(loggedOut.renewed('access-0'), {
    message: 'you were logged out: run agenda login alice',
  });

  clock.now = START + 31 * 24 * 60 * MINUTE;
  const over = new SessionTokens({
    tokens: tokensNo(0, START),
    renew: refreshRoute(clock).renew,
    now: () => clock.now,
    loginHint: 'run agenda login alice',
  });
  await t.throwsAsync(over.current(), { message: /the session ended at .*: run agenda login/ });

  const before = new SessionTokens({
    tokens: { token: 'old', expiresAt: iso(START) },
    renew: refreshRoute(clock).renew,
    now: () => clock.now,
  });
  t.is(await before.renewed('old'), undefined, 'nothing renews it: the caller says log in');

  // A command says when as a person reads times (cli/base-command.ts), and gives a script the
  // instant itself under --json.
  const endsAt = iso(START + 30 * 24 * 60 * MINUTE);
  const asked: string[] = [];
  const shown = new SessionTokens({
    tokens: tokensNo(0, START),
    renew: refreshRoute(clock).renew,
    now: () => clock.now,
    loginHint: 'run agenda login alice',
    showEnd: (at) => {
      asked.push(at);
      return 'Wed 1 Apr 11:00 (1 d ago)';
    },
  });
  const ended = await t.throwsAsync<Unauthenticated>(shown.current());
  t.deepEqual(asked, [endsAt]);
  const said = 'the session ended at Wed 1 Apr 11:00 (1 d ago): run agenda login alice';
  t.is(ended?.message, said);
  if (ended === undefined) return;
  t.deepEqual(JSON.parse(failureJson(ended)), {
    error: { code: 'unauthenticated', message: said, details: { expiresAt: endsAt } },
  });
});
