import test, { type ExecutionContext } from 'ava';
import { StaticPrimarySource } from '../bus/primary-source.js';
import {
  createRedisTls,
  openBus,
  PortRange,
  startRedis,
  type RedisTlsFiles,
} from '../bus/test-support.js';
import { SharedLimits, type SharedLimitsOptions } from './shared-limits.js';
import { StreamLeases } from './stream-leases.js';

/** This file's Redis ports: 28450–28474 (the bus's block). */
const ports = new PortRange(28_450, 28_474);
let tls: RedisTlsFiles;

test.before(async () => {
  tls = await createRedisTls();
});
test.after.always(async () => {
  await tls.remove();
});

/** One Redis and `count` gateways' limits over it, each with its own bus connection. */
async function gatewaysOverOneRedis(
  t: ExecutionContext,
  count: number,
  options: Omit<SharedLimitsOptions, 'redis'> = {},
) {
  const redis = await startRedis({ ports, tls, teardown: (stop) => t.teardown(stop) });
  const primary = new StaticPrimarySource(redis.address(1));
  const connections = Array.from({ length: count }, (_, i) =>
    openBus(t, tls, primary, `gateway-${i + 1}`),
  );
  // Connected before the test starts: a first count must not fall back for want of a handshake.
  await Promise.all(connections.map((connection) => connection.commands()));
  const limits = connections.map(
    (connection) =>
      new SharedLimits({ ...options, redis: (signal) => connection.commands(signal) }),
  );
  return { redis, limits };
}

test('two gateways count against one budget in Redis', async (t) => {
  const { limits } = await gatewaysOverOneRedis(t, 2);
  const [a, b] = limits.map((l) => l.limit('login-user-address', { points: 4, durationSec: 60 }));
  const verdicts = [];
  for (let i = 0; i < 4; i++) verdicts.push(await (i % 2 === 0 ? a! : b!).consume('alice'));
  t.true(verdicts.every((v) => v.allowed && v.decidedBy === 'redis'));
  const refusedA = await a!.consume('alice');
  const refusedB = await b!.consume('alice');
  t.false(refusedA.allowed);
  t.false(refusedB.allowed);
  if (!refusedA.allowed) t.true(refusedA.retryAfterMs > 0 && refusedA.retryAfterMs <= 60_000);
  t.true((await a!.consume('bob')).allowed, 'another key has its own budget');
});

test('a refund on one gateway gives the count back on the other', async (t) => {
  const { limits } = await gatewaysOverOneRedis(t, 2);
  const [a, b] = limits.map((l) => l.limit('refunds', { points: 1, durationSec: 60 }));
  t.true((await a!.consume('alice')).allowed);
  t.false((await b!.consume('alice')).allowed);
  await a!.refund('alice');
  await a!.refund('alice');
  t.true((await b!.consume('alice')).allowed);
});

test('a paused Redis holds a count no longer than the budget, and the local limit decides', async (t) => {
  const { redis, limits } = await gatewaysOverOneRedis(t, 1, {
    budgetMs: 150,
    pauseAfterFailureMs: 60_000,
  });
  const limit = limits[0]!.limit('paused', { points: 2, durationSec: 60 });
  t.is((await limit.consume('alice')).decidedBy, 'redis');
  // SIGSTOP: the connection stays open and nothing answers, as with a host cut off.
  redis.pause();
  t.teardown(() => redis.resume());
  const started = performance.now();
  const first = await limit.consume('alice');
  const waited = performance.now() - started;
  t.true(waited < 400, `waited ${Math.round(waited)} ms on a paused Redis`);
  t.deepEqual(first, { allowed: true, decidedBy: 'local' });
  // The local limit is a limit, not an open door; and while Redis is suspect, no wait at all.
  const again = performance.now();
  t.true((await limit.consume('alice')).allowed);
  t.false((await limit.consume('alice')).allowed);
  t.true(performance.now() - again < 50, 'counts skip Redis while it is suspect');
});

test('a limit kept locally too goes on from its count when Redis goes quiet: no fresh budget', async (t) => {
  const { redis, limits } = await gatewaysOverOneRedis(t, 1, {
    budgetMs: 150,
    pauseAfterFailureMs: 60_000,
  });
  const kept = limits[0]!.limit('guesses', { points: 3, durationSec: 60 }, { keepLocal: true });
  const plain = limits[0]!.limit('plain', { points: 3, durationSec: 60 });
  for (let i = 0; i < 2; i++) {
    t.is((await kept.consume('mallory')).decidedBy, 'redis');
    t.is((await plain.consume('mallory')).decidedBy, 'redis');
  }
  // A refund gives the count back on both sides.
  await kept.refund('mallory');
  t.true((await kept.consume('mallory')).allowed);
  redis.pause();
  t.teardown(() => redis.resume());
  // The third count of the window is the last either allows; only the plain limit starts
  // over locally and lets three more through.
  t.deepEqual(await kept.consume('mallory'), { allowed: true, decidedBy: 'local' });
  t.false((await kept.consume('mallory')).allowed);
  const plainAfter = [];
  for (let i = 0; i < 4; i++) plainAfter.push((await plain.consume('mallory')).allowed);
  t.deepEqual(plainAfter, [true, true, true, false]);
});

test('a killed Redis fails a count over to the local limit within the budget', async (t) => {
  const { redis, limits } = await gatewaysOverOneRedis(t, 1, { budgetMs: 150 });
  const limit = limits[0]!.limit('killed', { points: 5, durationSec: 60 });
  t.is((await limit.consume('alice')).decidedBy, 'redis');
  await redis.kill();
  const started = performance.now();
  const verdict = await limit.consume('alice');
  t.true(performance.now() - started < 400);
  t.deepEqual(verdict, { allowed: true, decidedBy: 'local' });
});

test('with no Redis primary known, counts are local and do not wait', async (t) => {
  const never = new SharedLimits({
    budgetMs: 150,
    redis: (signal) =>
      new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(new Error('no primary is known'))),
      ),
  });
  const limit = never.limit('nowhere', { points: 1, durationSec: 60 });
  const started = performance.now();
  t.is((await limit.consume('alice')).decidedBy, 'local');
  // The budget (150 ms), with room for a loaded machine; a count that waited would never end.
  t.true(performance.now() - started < 1_500);
  t.false((await limit.consume('alice')).allowed);
});

test('counts go back to Redis once it answers again', async (t) => {
  const { redis, limits } = await gatewaysOverOneRedis(t, 1, {
    budgetMs: 150,
    pauseAfterFailureMs: 100,
  });
  const limit = limits[0]!.limit('back', { points: 100, durationSec: 60 });
  redis.pause();
  t.is((await limit.consume('alice')).decidedBy, 'local');
  redis.resume();
  const deadline = Date.now() + 5_000;
  let verdict = await limit.consume('alice');
  while (verdict.decidedBy !== 'redis' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    verdict = await limit.consume('alice');
  }
  t.is(verdict.decidedBy, 'redis');
});

test('stream leases cap one user over two gateways, and a released lease frees its place', async (t) => {
  const { limits } = await gatewaysOverOneRedis(t, 2);
  const [a, b] = limits.map((l) => new StreamLeases({ perUser: 2 }, l));
  t.teardown(() => {
    a!.close();
    b!.close();
  });
  const first = await a!.acquire('alice');
  const second = await b!.acquire('alice');
  t.true(first.granted && second.granted);
  const third = await a!.acquire('alice');
  t.false(third.granted);
  if (!third.granted) t.is(third.retryAfterMs, 30_000);
  t.true((await b!.acquire('bob')).granted, 'each user has their own cap');
  if (first.granted) first.lease.release();
  // Release is best effort and asynchronous; the place comes back as soon as Redis has it.
  const deadline = Date.now() + 2_000;
  let fourth = await b!.acquire('alice');
  while (!fourth.granted && Date.now() < deadline) fourth = await b!.acquire('alice');
  t.true(fourth.granted);
});

test("a dead gateway's stream leases expire, so its streams do not hold places forever", async (t) => {
  const { limits } = await gatewaysOverOneRedis(t, 2);
  const dying = new StreamLeases({ perUser: 1, leaseMs: 300 }, limits[0]!);
  const living = new StreamLeases({ perUser: 1, leaseMs: 300 }, limits[1]!);
  t.teardown(() => living.close());
  t.true((await dying.acquire('alice')).granted);
  // The gateway dies: no more renewals, no release.
  dying.close();
  t.false((await living.acquire('alice')).granted);
  await new Promise((resolve) => setTimeout(resolve, 400));
  t.true((await living.acquire('alice')).granted);
});

test('stream leases are renewed while held, and the cap falls back to local streams without Redis', async (t) => {
  const { redis, limits } = await gatewaysOverOneRedis(t, 1, { budgetMs: 150 });
  const leases = new StreamLeases({ perUser: 1, leaseMs: 300 }, limits[0]!);
  t.teardown(() => leases.close());
  t.true((await leases.acquire('alice')).granted);
  // Three lease times later the renewed lease still holds its place.
  await new Promise((resolve) => setTimeout(resolve, 900));
  t.false((await leases.acquire('alice')).granted);
  await redis.kill();
  const started = performance.now();
  t.false((await leases.acquire('alice')).granted, 'the local cap counts the stream held here');
  t.true(performance.now() - started < 400);
  t.true((await leases.acquire('bob')).granted);
});

test('a limit counted on a fresh bus connection while a pipeline waits does not crash it', async (t) => {
  // After a Redis failover, a gateway's first count on the new connection made a limiter
  // in the same turn as other commands were being pipelined: ioredis then threw from a
  // callback and the gateway died (rate-limiter-flexible's command must not be pipelined).
  const redis = await startRedis({ ports, tls, teardown: (stop) => t.teardown(stop) });
  const connection = openBus(t, tls, new StaticPrimarySource(redis.address(1)), 'gateway-1');
  const client = await connection.commands();
  const limits = new SharedLimits({ redis: () => Promise.resolve(client) });
  const limit = limits.limit('fresh', { points: 5, durationSec: 60 });
  const crashes: unknown[] = [];
  const record = (error: unknown) => crashes.push(error);
  process.on('uncaughtException', record);
  t.teardown(() => process.off('uncaughtException', record));
  const [pinged, verdict] = await Promise.all([client.ping(), limit.consume('alice')]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.is(pinged, 'PONG');
  t.like(verdict, { allowed: true, decidedBy: 'redis' });
  t.deepEqual(crashes, []);
});
