import test from 'ava';
import {
  Conflict,
  Forbidden,
  Internal,
  InvalidInput,
  NotFound,
  RateLimited,
  Unauthenticated,
  Unavailable,
} from '../../contract/errors.js';
import { portsFrom, startTestGateway, waitFor } from './test-support.js';

/** This file's ports: 29700–29799. */
const nextPort = portsFrom(29700);

const conflicting = [
  {
    id: 'e9',
    title: 'Dentist',
    start: '2026-03-02T09:00:00.000Z',
    end: '2026-03-02T10:00:00.000Z',
  },
];

const refusals = [
  {
    error: new InvalidInput('the title cannot be empty', { field: 'title' }),
    status: 400,
    body: {
      error: { code: 'invalid', message: 'the title cannot be empty', details: { field: 'title' } },
    },
  },
  {
    error: new Unauthenticated('no user named alice'),
    status: 401,
    body: { error: { code: 'unauthenticated', message: 'no user named alice' } },
  },
  {
    error: new Forbidden('only the organizer can change this event'),
    status: 403,
    body: { error: { code: 'forbidden', message: 'only the organizer can change this event' } },
  },
  {
    error: new NotFound('no event e1'),
    status: 404,
    body: { error: { code: 'not_found', message: 'no event e1' } },
  },
  {
    error: new Conflict('it overlaps 1 event', conflicting),
    status: 409,
    body: {
      error: {
        code: 'conflict',
        message: 'it overlaps 1 event',
        details: { conflicts: conflicting },
      },
    },
  },
  {
    error: new Unavailable('the DB has no leader'),
    status: 503,
    body: { error: { code: 'unavailable', message: 'the DB has no leader' } },
  },
  {
    error: new Internal('a store invariant broke'),
    status: 500,
    body: { error: { code: 'internal', message: 'a store invariant broke' } },
  },
];

for (const { error, status, body } of refusals) {
  test(`a service's ${error.code} refusal answers ${status} with the error body`, async (t) => {
    const g = await startTestGateway(t, nextPort());
    g.dispatcher.respond = () => {
      throw error;
    };
    const answer = await g.call('/v1/events/e1', {
      method: 'DELETE',
      token: await g.token('alice'),
    });
    t.is(answer.status, status);
    t.deepEqual(answer.json, body);
    t.regex(String(answer.headers['content-type']), /^application\/json/);
  });
}

test('a rate_limited refusal from a service carries retry-after', async (t) => {
  const g = await startTestGateway(t, nextPort());
  g.dispatcher.respond = () => {
    throw new RateLimited('slow down', { retryAfterMs: 2_500 });
  };
  const answer = await g.call('/v1/me', { token: await g.token('alice') });
  t.is(answer.status, 429);
  t.is(answer.headers['retry-after'], '3');
  t.deepEqual(answer.json, {
    error: { code: 'rate_limited', message: 'slow down', details: { retryAfterMs: 2_500 } },
  });
});

test('an unexpected failure is a 500 that leaks nothing, and is logged', async (t) => {
  const logged: string[] = [];
  const g = await startTestGateway(t, nextPort(), {
    logger: {
      info() {},
      warn: (message, fields) => logged.push(`${message} ${String(fields?.error)}`),
    },
  });
  g.dispatcher.respond = () => {
    throw new TypeError('secret internals at /srv/agenda');
  };
  const answer = await g.call('/v1/me', { token: await g.token('alice') });
  t.is(answer.status, 500);
  t.deepEqual(answer.json, { error: { code: 'internal', message: 'internal error' } });
  t.true(logged.some((line) => line.includes('secret internals')));
});

test('an answer that took longer than the slow-request bound is logged with its request id', async (t) => {
  const logged: { message: string; fields: Record<string, unknown> }[] = [];
  const g = await startTestGateway(t, nextPort(), {
    // Far above what a quick answer takes even on a loaded CI machine (one took 108 ms there).
    slowRequestMs: 600,
    logger: { info() {}, warn: (message, fields = {}) => logged.push({ message, fields }) },
  });
  const token = await g.token('alice');
  g.dispatcher.respond = () => ({ username: 'alice' });
  await g.call('/v1/me', { token });
  t.deepEqual(logged, []);
  g.dispatcher.respond = () =>
    new Promise((resolve) => setTimeout(() => resolve({ username: 'alice' }), 650));
  const answer = await g.call('/v1/me', { token, headers: { 'idempotency-key': 'slow-me' } });
  t.is(answer.status, 200);
  t.is(logged.length, 1);
  t.like(logged[0], {
    message: 'slow request',
    fields: { id: 'slow-me', route: 'GET /v1/me', status: 200 },
  });
  t.true((logged[0]!.fields.ms as number) >= 650);
  // With the id the op travelled under on the bus, which the service's own line names.
  t.deepEqual(logged[0]!.fields.busIds, [g.dispatcher.calls.at(-1)!.options.requestId]);
});

test('a refusal whose reason is not ASCII still answers, header and all', async (t) => {
  const g = await startTestGateway(t, nextPort());
  g.dispatcher.respond = () => {
    throw new Unauthenticated('no user named "zoë" — sign in again');
  };
  const answer = await g.call('/v1/me', { token: await g.token('alice') });
  t.is(answer.status, 401);
  t.like(answer.json, { error: { message: 'no user named "zoë" — sign in again' } });
  t.is(
    answer.headers['www-authenticate'],
    'Bearer error="invalid_token", error_description="no user named ?zo?? ? sign in again"',
  );
});

test('a result that cannot be written as JSON is a 500, and the gateway goes on', async (t) => {
  const g = await startTestGateway(t, nextPort());
  g.dispatcher.respond = () => ({ big: 1n });
  const answer = await g.call('/v1/me', { token: await g.token('alice') });
  t.is(answer.status, 500);
  t.like(answer.json, { error: { code: 'internal' } });
  t.is((await g.call('/healthz')).status, 200);
});

test('a service answering in the wrong shape is a 500, not a malformed answer', async (t) => {
  const g = await startTestGateway(t, nextPort());
  g.dispatcher.respond = () => ({ nothing: 'useful' });
  const answer = await g.call('/v1/export', { token: await g.token('alice') });
  t.is(answer.status, 500);
  t.like(answer.json, { error: { code: 'internal' } });
});

test('no answer within the deadline is a 503 naming the request id, and the op is aborted', async (t) => {
  const g = await startTestGateway(t, nextPort(), { requestDeadlineMs: 150 });
  g.dispatcher.respond = () => new Promise(() => {});
  const answer = await g.call('/v1/events/e1', {
    method: 'DELETE',
    token: await g.token('alice'),
    headers: { 'idempotency-key': 'k-1' },
  });
  t.is(answer.status, 503);
  t.like(answer.json, { error: { code: 'unavailable' } });
  t.regex((answer.json as { error: { message: string } }).error.message, /idempotency-key k-1/);
  t.true(g.dispatcher.only().options.signal?.aborted);
});

test('a read past the deadline is a 503 that mentions no idempotency key (nothing to apply twice)', async (t) => {
  const g = await startTestGateway(t, nextPort(), { requestDeadlineMs: 150 });
  g.dispatcher.respond = () => new Promise(() => {});
  const answer = await g.call('/v1/events/e1', { token: await g.token('alice') });
  t.is(answer.status, 503);
  const { message } = (answer.json as { error: { message: string } }).error;
  t.notRegex(message, /idempotency/);
  t.regex(message, /did not answer within 0.15 s; try again later/);
});

/** The users service as the login route sees it: `right-password` is everyone's password. */
function checkPasswords(call: { op: { type: string; password?: string } }): unknown {
  if (call.op.type === 'account.login' && call.op.password !== 'right-password') {
    throw new Unauthenticated('wrong username or password');
  }
  return {};
}

test('failed logins are limited per username and address; good logins do not count; the 429 says which limit and when', async (t) => {
  const g = await startTestGateway(t, nextPort(), {
    abuseLimits: { loginFailuresPerUserAndAddress: { points: 3, durationSec: 60 } },
  });
  g.dispatcher.respond = checkPasswords;
  const login = (username: string, password: string) =>
    g.call('/v1/sessions', { body: { username, password } });
  for (let i = 0; i < 5; i++) t.is((await login('alice', 'right-password')).status, 200);
  for (let i = 0; i < 3; i++) t.is((await login('alice', 'guess-guess')).status, 401);
  const refused = await login('alice', 'right-password');
  t.is(refused.status, 429);
  const retryAfter = Number(refused.headers['retry-after']);
  t.true(retryAfter >= 1 && retryAfter <= 60, `retry-after ${String(retryAfter)}`);
  t.like(refused.json, {
    error: { code: 'rate_limited', details: { limit: 'login-user-address' } },
  });
  t.regex((refused.json as { error: { message: string } }).error.message, /alice/);
  t.is(g.dispatcher.calls.length, 8, 'a refused attempt never reaches the users service');
  // Another account from the same address is not affected, the same one in another case is.
  t.is((await login('bob', 'right-password')).status, 200);
  t.is((await login('ALICE', 'right-password')).status, 429);
  t.regex(
    await g.gateway.metrics.render(),
    /agenda_gateway_rate_limited_total\{limit="login-user-address"\} 2/,
  );
});

test('a login nobody could answer does not count as a failed guess', async (t) => {
  const g = await startTestGateway(t, nextPort(), {
    abuseLimits: { loginFailuresPerUserAndAddress: { points: 2, durationSec: 60 } },
  });
  g.dispatcher.respond = () => {
    throw new Unavailable('the users service did not answer');
  };
  const login = () =>
    g.call('/v1/sessions', { body: { username: 'alice', password: 'right-password' } });
  for (let i = 0; i < 4; i++) t.is((await login()).status, 503);
  g.dispatcher.respond = checkPasswords;
  t.is((await login()).status, 200);
});

test('login attempts are limited per address across usernames', async (t) => {
  const g = await startTestGateway(t, nextPort(), {
    abuseLimits: { loginsPerAddress: { points: 4, durationSec: 60 } },
  });
  for (let i = 0; i < 4; i++) {
    const answer = await g.call('/v1/sessions', {
      body: { username: `user${i}`, password: 'guess-guess' },
    });
    t.is(answer.status, 200);
  }
  const refused = await g.call('/v1/sessions', {
    body: { username: 'user9', password: 'guess-guess' },
  });
  t.is(refused.status, 429);
  t.truthy(refused.headers['retry-after']);
  t.like(refused.json, { error: { code: 'rate_limited', details: { limit: 'login-address' } } });
  t.regex((refused.json as { error: { message: string } }).error.message, /this address/);
});

test('registrations are limited per client address, before any reaches the users service', async (t) => {
  const g = await startTestGateway(t, nextPort(), {
    abuseLimits: { registrationsPerAddress: { points: 2, durationSec: 600 } },
  });
  const register = (username: string) =>
    g.call('/v1/users', { body: { username, password: 'long-enough-pw' } });
  t.is((await register('ann')).status, 201);
  t.is((await register('ben')).status, 201);
  const refused = await register('cat');
  t.is(refused.status, 429);
  t.like(refused.json, {
    error: { code: 'rate_limited', details: { limit: 'register-address' } },
  });
  t.true(Number(refused.headers['retry-after']) > 500, 'the window is ten minutes');
  t.is(g.dispatcher.calls.length, 2);
});

test('a forged x-forwarded-for does not move a client to another address', async (t) => {
  const g = await startTestGateway(t, nextPort(), {
    abuseLimits: { registrationsPerAddress: { points: 1, durationSec: 600 } },
  });
  const register = (username: string, forwardedFor: string) =>
    g.call('/v1/users', {
      body: { username, password: 'long-enough-pw' },
      headers: { 'x-forwarded-for': forwardedFor },
    });
  t.is((await register('ann', '203.0.113.1')).status, 201);
  t.is((await register('ben', '203.0.113.2')).status, 429);
});

test("a signed-in user's requests are capped per window, per user", async (t) => {
  const g = await startTestGateway(t, nextPort(), {
    abuseLimits: { requestsPerUser: { points: 3, durationSec: 60 } },
  });
  const alice = await g.token('alice');
  for (let i = 0; i < 3; i++) t.is((await g.call('/v1/me', { token: alice })).status, 200);
  const refused = await g.call('/v1/me', { token: alice });
  t.is(refused.status, 429);
  t.like(refused.json, { error: { code: 'rate_limited', details: { limit: 'requests-user' } } });
  t.truthy(refused.headers['retry-after']);
  t.is(g.dispatcher.calls.length, 3);
  t.is((await g.call('/v1/me', { token: await g.token('bob') })).status, 200);
  // Anonymous routes are not counted against anyone.
  t.is((await g.call('/healthz')).status, 200);
});

test("a user's reads in flight are bounded: more wait their turn, a full line is refused, others never wait", async (t) => {
  const g = await startTestGateway(t, nextPort(), {
    abuseLimits: { readsInFlight: 2, readsWaiting: 3 },
  });
  const [alice, bob] = [await g.token('alice'), await g.token('bob')];
  const held: (() => void)[] = [];
  const inFlight = new Map<string, number>();
  let alicesMost = 0;
  g.dispatcher.respond = ({ actor }) => {
    const who = actor ?? '';
    inFlight.set(who, (inFlight.get(who) ?? 0) + 1);
    if (who === 'alice') alicesMost = Math.max(alicesMost, inFlight.get(who) ?? 0);
    return new Promise((resolve) =>
      held.push(() => {
        inFlight.set(who, (inFlight.get(who) ?? 1) - 1);
        resolve({ username: who });
      }),
    );
  };
  const reads = Array.from({ length: 5 }, () => g.call('/v1/me', { token: alice }));
  await waitFor(() => held.length === 2, 'two reads at the service');
  const refused = await g.call('/v1/me', { token: alice });
  t.is(refused.status, 429);
  t.like(refused.json, { error: { code: 'rate_limited', details: { limit: 'reads-in-flight' } } });
  t.truthy(refused.headers['retry-after']);
  // bob's read goes at once, past alice's line.
  const bobs = g.call('/v1/me', { token: bob });
  await waitFor(() => inFlight.get('bob') === 1, "bob's read at the service");
  t.is(held.length, 3);
  // Answer whatever reaches the service until every read is answered.
  const answering = setInterval(() => held.splice(0).forEach((answer) => answer()), 5);
  t.teardown(() => clearInterval(answering));
  t.is((await bobs).status, 200);
  for (const r of await Promise.all(reads)) t.is(r.status, 200);
  t.is(alicesMost, 2);
});

test('/readyz follows the probe, and says why not', async (t) => {
  let state: { ready: boolean; reason?: string } = { ready: false, reason: 'redis is down' };
  const g = await startTestGateway(t, nextPort(), { readiness: () => Promise.resolve(state) });
  const down = await g.call('/readyz');
  t.is(down.status, 503);
  t.deepEqual(down.json, { error: { code: 'unavailable', message: 'redis is down' } });
  state = { ready: true };
  t.is((await g.call('/readyz')).status, 200);
  t.is((await g.call('/healthz')).status, 200);
});

test('close is idempotent and stops serving', async (t) => {
  const g = await startTestGateway(t, nextPort());
  t.is((await g.call('/healthz')).status, 200);
  await Promise.all([g.gateway.close(), g.gateway.close()]);
  await g.gateway.close();
  await t.throwsAsync(g.call('/healthz'));
});
