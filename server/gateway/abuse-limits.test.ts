import test, { type ExecutionContext } from 'ava';
import { Unauthenticated } from '../../contract/errors.js';
import { StaticPrimarySource } from '../bus/primary-source.js';
import {
  createRedisTls,
  openBus,
  PortRange,
  startRedis,
  type RedisProcess,
  type RedisTlsFiles,
} from '../bus/test-support.js';
import { SharedLimits } from '../limits/shared-limits.js';
import type { AbuseLimitRules } from './abuse-limits.js';
import { ipv6Prefix64 } from './abuse-limits.js';
import { portsFrom, startTestGateway, type TestAnswer, type TestGateway } from './test-support.js';

/** This file's ports: gateways 30070–30089, Redis 28475–28499 (the bus's block). */
const nextPort = portsFrom(30_070, 20);
const redisPorts = new PortRange(28_475, 28_499);
let tls: RedisTlsFiles;

test.before(async () => {
  tls = await createRedisTls();
});
test.after.always(async () => {
  await tls.remove();
});

/** The users service as the gateways see it: `right-password` is everyone's password. */
function checkPasswords(call: { op: { type: string; password?: string } }): unknown {
  if (call.op.type === 'account.login' && call.op.password !== 'right-password') {
    throw new Unauthenticated('wrong username or password');
  }
  return {};
}

/** Two gateways as in `npm start`: each its own process state, one Redis between them. */
async function twoGateways(
  t: ExecutionContext,
  abuseLimits: Partial<AbuseLimitRules>,
): Promise<{ gateways: [TestGateway, TestGateway]; redis: RedisProcess }> {
  const redis = await startRedis({ ports: redisPorts, tls, teardown: (stop) => t.teardown(stop) });
  const primary = new StaticPrimarySource(redis.address(1));
  const gateways: TestGateway[] = [];
  for (const id of [1, 2]) {
    const connection = openBus(t, tls, primary, `gateway-${id}`);
    await connection.commands();
    const g = await startTestGateway(t, nextPort(), {
      sharedLimits: new SharedLimits({
        redis: (signal) => connection.commands(signal),
        budgetMs: 150,
      }),
      abuseLimits,
    });
    g.dispatcher.respond = checkPasswords;
    gateways.push(g);
  }
  return { gateways: gateways as [TestGateway, TestGateway], redis };
}

function login(g: TestGateway, username: string, password: string, from: string) {
  return g.call('/v1/sessions', { body: { username, password }, from });
}

function limitOf(answer: TestAnswer): unknown {
  return (answer.json as { error?: { details?: { limit?: string } } }).error?.details?.limit;
}

test('failed logins through either gateway count against one budget', async (t) => {
  const { gateways } = await twoGateways(t, {
    loginFailuresPerUserAndAddress: { points: 4, durationSec: 60 },
  });
  for (let i = 0; i < 4; i++) {
    t.is((await login(gateways[i % 2]!, 'alice', 'guess-guess', '127.0.0.2')).status, 401);
  }
  for (const g of gateways) {
    const refused = await login(g, 'alice', 'guess-guess', '127.0.0.2');
    t.is(refused.status, 429);
    t.is(limitOf(refused), 'login-user-address');
    const retryAfter = Number(refused.headers['retry-after']);
    t.true(retryAfter >= 1 && retryAfter <= 60, `retry-after ${String(retryAfter)}`);
  }
  const reached = gateways[0].dispatcher.calls.length + gateways[1].dispatcher.calls.length;
  t.is(reached, 4, 'one budget, not one per gateway');
});

test("an attacker hammering wrong passwords from other addresses never stops the owner's correct login from their address", async (t) => {
  const { gateways } = await twoGateways(t, {
    loginFailuresPerUserAndAddress: { points: 5, durationSec: 900 },
    loginFailuresPerUser: { points: 10, durationSec: 3_600 },
    loginsPerAddressUnderAttack: { points: 1, durationSec: 30 },
  });
  const attackers = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
  const answers: TestAnswer[] = [];
  for (let round = 0; round < 10; round++) {
    for (const [i, address] of attackers.entries()) {
      answers.push(await login(gateways[(round + i) % 2]!, 'alice', 'guess-guess', address));
    }
  }
  const refused = answers.filter((a) => a.status === 429);
  t.true(refused.length > 0, 'the attacker is throttled');
  t.true(refused.every((a) => a.headers['retry-after'] !== undefined));
  t.true(refused.some((a) => limitOf(a) === 'login-user-under-attack'));
  const guesses = answers.filter((a) => a.status === 401).length;
  t.true(guesses <= 10 + attackers.length, `${guesses} guesses reached the users service`);

  // The owner, from their own address, through either gateway, gets in at once.
  t.is((await login(gateways[0], 'alice', 'right-password', '127.0.0.1')).status, 200);
  // Still under attack: the owner's own address has its own spacing, untouched by the attacker.
  t.is((await login(gateways[1], 'alice', 'right-password', '127.0.0.1')).status, 200);
});

test('while an account is under attack, a mistyped password costs its owner one spacing window, not a lockout', async (t) => {
  const { gateways } = await twoGateways(t, {
    loginFailuresPerUser: { points: 3, durationSec: 3_600 },
    loginsPerAddressUnderAttack: { points: 1, durationSec: 2 },
  });
  for (const address of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) {
    await login(gateways[0], 'alice', 'guess-guess', address);
  }
  t.is((await login(gateways[1], 'alice', 'typo-typo', '127.0.0.1')).status, 401);
  const slowed = await login(gateways[0], 'alice', 'right-password', '127.0.0.1');
  t.is(slowed.status, 429);
  t.is(limitOf(slowed), 'login-user-under-attack');
  const wait = Number(slowed.headers['retry-after']);
  t.true(wait >= 1 && wait <= 2, `retry-after ${String(wait)}`);
  await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 100));
  t.is((await login(gateways[0], 'alice', 'right-password', '127.0.0.1')).status, 200);
});

test("logins refused for the address's rate are no failed guesses: the owner is not locked out by them (outside attack)", async (t) => {
  const { gateways } = await twoGateways(t, {
    loginsPerAddress: { points: 3, durationSec: 2 },
    loginFailuresPerUserAndAddress: { points: 3, durationSec: 900 },
    loginFailuresPerUser: { points: 3, durationSec: 3_600 },
  });
  const answers: TestAnswer[] = [];
  for (let i = 0; i < 8; i++) {
    answers.push(await login(gateways[i % 2]!, 'alice', 'right-password', '127.0.0.1'));
  }
  t.deepEqual(
    answers.map((a) => (a.status === 429 ? limitOf(a) : a.status)),
    [200, 200, 200, ...Array<string>(5).fill('login-address')],
  );
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  t.is((await login(gateways[0], 'alice', 'right-password', '127.0.0.1')).status, 200);
});

test('registrations are counted per client address over both gateways', async (t) => {
  const { gateways } = await twoGateways(t, {
    registrationsPerAddress: { points: 2, durationSec: 600 },
  });
  const register = (g: TestGateway, username: string, from: string) =>
    g.call('/v1/users', { body: { username, password: 'long-enough-pw' }, from });
  t.is((await register(gateways[0], 'ann', '127.0.0.2')).status, 201);
  t.is((await register(gateways[1], 'ben', '127.0.0.2')).status, 201);
  const refused = await register(gateways[0], 'cat', '127.0.0.2');
  t.is(refused.status, 429);
  t.is(limitOf(refused), 'register-address');
  const retryAfter = Number(refused.headers['retry-after']);
  t.true(retryAfter > 500 && retryAfter <= 600, `retry-after ${String(retryAfter)}`);
  t.is((await register(gateways[1], 'cat', '127.0.0.2')).status, 429);
  t.is((await register(gateways[1], 'cat', '127.0.0.3')).status, 201, 'another address is not');
});

test("a user's live streams are capped over both gateways", async (t) => {
  const { gateways } = await twoGateways(t, { streamsPerUser: 2 });
  const controllers: AbortController[] = [];
  const open = async (g: TestGateway) => {
    const controller = new AbortController();
    controllers.push(controller);
    const { request } = await import('undici');
    const response = await request(`${g.url}/v1/stream`, {
      dispatcher: g.agent,
      headers: { authorization: `Bearer ${await g.token('alice')}` },
      signal: controller.signal,
    });
    if (response.statusCode !== 200) await response.body.text();
    return response;
  };
  t.teardown(() => controllers.forEach((c) => c.abort()));
  t.is((await open(gateways[0])).statusCode, 200);
  t.is((await open(gateways[1])).statusCode, 200);
  const refused = await open(gateways[0]);
  t.is(refused.statusCode, 429);
  t.is(refused.headers['retry-after'], '30');
});

test('with Redis paused, logins are still answered within a short bound and still limited', async (t) => {
  const { gateways, redis } = await twoGateways(t, {
    loginFailuresPerUserAndAddress: { points: 3, durationSec: 60 },
  });
  redis.pause();
  t.teardown(() => redis.resume());
  const started = performance.now();
  t.is((await login(gateways[0], 'alice', 'guess-guess', '127.0.0.2')).status, 401);
  t.true(performance.now() - started < 1_000, 'no request waits on a dead Redis');
  t.is((await login(gateways[0], 'alice', 'guess-guess', '127.0.0.2')).status, 401);
  t.is((await login(gateways[0], 'alice', 'guess-guess', '127.0.0.2')).status, 401);
  t.is((await login(gateways[0], 'alice', 'guess-guess', '127.0.0.2')).status, 429);
  t.is((await login(gateways[0], 'alice', 'right-password', '127.0.0.3')).status, 200);
  t.is((await gateways[1].call('/v1/me', { token: await gateways[1].token('bob') })).status, 200);
});

test('IPv6 clients are counted by their /64', (t) => {
  t.is(ipv6Prefix64('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  t.is(ipv6Prefix64('2001:0db8:0001:0002::1'), '2001:db8:1:2::/64');
  t.is(ipv6Prefix64('2001:db8::1'), '2001:db8:0:0::/64');
  t.is(ipv6Prefix64('::1'), '0:0:0:0::/64');
  t.is(ipv6Prefix64('fe80::1%eth0'), 'fe80:0:0:0::/64');
});
