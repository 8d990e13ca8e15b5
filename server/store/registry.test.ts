/**
 * The registry through the store: compare-and-set with fencing epochs, and leases whose
 * expiry is decided by the commands' `at` alone.
 */
import test from 'ava';
import { EPOCH, openStore, StoreClient } from './test-support.js';

test('compare-and-set writes only over the epoch it expects, and each write bumps the epoch', async (t) => {
  const c = new StoreClient(await openStore());
  const cas = (expectedEpoch: number | null, value: string) =>
    c.ok(null, { type: 'registry.cas', key: 'redis/primary', expectedEpoch, value });

  t.deepEqual(c.read(null, { type: 'registry.get', key: 'redis/primary' }), { entry: null });
  t.deepEqual(cas(3, '10.0.0.1:6379'), { applied: false, current: null });
  const first = { key: 'redis/primary', value: '10.0.0.1:6379', epoch: 1 };
  t.deepEqual(cas(null, '10.0.0.1:6379'), { applied: true, entry: first });
  // A second "create" and a stale epoch are refused with what is there.
  t.deepEqual(cas(null, '10.0.0.2:6379'), { applied: false, current: first });
  t.deepEqual(cas(0, '10.0.0.2:6379'), { applied: false, current: first });
  t.deepEqual(cas(1, '10.0.0.2:6379'), {
    applied: true,
    entry: { key: 'redis/primary', value: '10.0.0.2:6379', epoch: 2 },
  });
  t.deepEqual(c.read(null, { type: 'registry.get', key: 'redis/primary' }), {
    entry: { key: 'redis/primary', value: '10.0.0.2:6379', epoch: 2 },
  });
});

test('a lease has one holder until it expires by the commands clock; renewals keep the epoch', async (t) => {
  const c = new StoreClient(await openStore());
  const acquire = (holder: string, ttlMs = 1_000) =>
    c.ok(null, { type: 'lease.acquire', name: 'supervisor', holder, ttlMs });

  t.deepEqual(acquire('s1'), {
    acquired: true,
    renewed: false,
    lease: { name: 'supervisor', holder: 's1', epoch: 1, expiresAt: EPOCH + 1_000, expired: false },
  });
  c.now += 500;
  t.deepEqual(acquire('s2'), {
    acquired: false,
    lease: { name: 'supervisor', holder: 's1', epoch: 1, expiresAt: EPOCH + 1_000, expired: false },
  });
  const renewed = acquire('s1');
  t.true(renewed.acquired && renewed.renewed);
  t.is(renewed.lease.epoch, 1);
  t.is(renewed.lease.expiresAt, EPOCH + 1_500);

  // Expired exactly at expiresAt: s2 takes over with a larger epoch, s1 is now refused.
  c.now = EPOCH + 1_500;
  t.true(c.read(null, { type: 'lease.get', name: 'supervisor' }).lease?.expired);
  const takeover = acquire('s2');
  t.true(takeover.acquired);
  t.false(takeover.acquired && takeover.renewed);
  t.is(takeover.lease.epoch, 2);
  t.false(acquire('s1').acquired);
  t.deepEqual(c.read(null, { type: 'lease.get', name: 'supervisor' }).lease, {
    name: 'supervisor',
    holder: 's2',
    epoch: 2,
    expiresAt: EPOCH + 2_500,
    expired: false,
  });
  t.deepEqual(c.read(null, { type: 'lease.get', name: 'other' }), { lease: null });
});

test('a lapsed holder re-acquiring starts a new tenure with a new epoch', async (t) => {
  const c = new StoreClient(await openStore());
  c.ok(null, { type: 'lease.acquire', name: 'vip', holder: 'gw1', ttlMs: 100 });
  c.now += 100;
  const again = c.ok(null, { type: 'lease.acquire', name: 'vip', holder: 'gw1', ttlMs: 100 });
  t.true(again.acquired);
  t.false(again.acquired && again.renewed);
  t.is(again.lease.epoch, 2);
});

test('only the holder releases; the next holder still gets a larger epoch', async (t) => {
  const c = new StoreClient(await openStore());
  const release = (holder: string) => c.ok(null, { type: 'lease.release', name: 'vip', holder });
  t.deepEqual(release('gw1'), { released: false, lease: null });
  c.ok(null, { type: 'lease.acquire', name: 'vip', holder: 'gw1', ttlMs: 10_000 });
  t.false(release('gw2').released);
  const released = release('gw1');
  t.true(released.released);
  t.deepEqual(released.lease, {
    name: 'vip',
    holder: null,
    epoch: 1,
    expiresAt: EPOCH,
    expired: true,
  });
  const next = c.ok(null, { type: 'lease.acquire', name: 'vip', holder: 'gw2', ttlMs: 10_000 });
  t.is(next.lease.epoch, 2);
});

test('expiry follows the store clock, which never runs backwards: a stale `at` cannot revive a lease', async (t) => {
  const c = new StoreClient(await openStore());
  c.ok(null, { type: 'lease.acquire', name: 'l', holder: 'a', ttlMs: 1_000 });
  c.ok(
    null,
    { type: 'registry.cas', key: 'tick', expectedEpoch: null, value: '' },
    {
      at: EPOCH + 5_000,
    },
  );
  // Stamped earlier than the store's clock (a new leader with a slower clock): the store
  // still judges it at EPOCH + 5000, when a's lease is over.
  const late = c.ok(
    null,
    { type: 'lease.acquire', name: 'l', holder: 'b', ttlMs: 1_000 },
    { at: EPOCH + 500 },
  );
  t.true(late.acquired);
  t.is(late.lease.expiresAt, EPOCH + 6_000);
  c.now = EPOCH + 100;
  t.false(c.read(null, { type: 'lease.get', name: 'l' }).lease?.expired);
  t.is(c.read(null, { type: 'store.status' }).lastAt, EPOCH + 5_000);
});

test('the history keeps each new tenure and key write, not renewals, the newest 50 per name', async (t) => {
  const c = new StoreClient(await openStore());
  const acquire = (holder: string) =>
    c.ok(null, { type: 'lease.acquire', name: 'vip', holder, ttlMs: 1_000 });
  const history = (name: string) => c.read(null, { type: 'registry.history', name }).entries;

  acquire('vip-1');
  c.now += 500;
  acquire('vip-1'); // a renewal: same tenure
  c.now += 2_000;
  acquire('vip-2'); // vip-1's lapsed: a new tenure
  c.ok(null, { type: 'lease.release', name: 'vip', holder: 'vip-2' });
  c.now += 10;
  acquire('vip-2'); // after a release: a new tenure too
  t.deepEqual(history('vip'), [
    { name: 'vip', kind: 'lease', holder: 'vip-1', epoch: 1, at: EPOCH },
    { name: 'vip', kind: 'lease', holder: 'vip-2', epoch: 2, at: EPOCH + 2_500 },
    { name: 'vip', kind: 'lease', holder: 'vip-2', epoch: 3, at: EPOCH + 2_510 },
  ]);

  c.ok(null, { type: 'registry.cas', key: 'redis/primary', expectedEpoch: null, value: 'a:1' });
  c.ok(null, { type: 'registry.cas', key: 'redis/primary', expectedEpoch: 1, value: 'b:2' });
  t.deepEqual(
    history('redis/primary').map((e) => [e.kind, e.holder, e.epoch]),
    [
      ['key', 'a:1', 1],
      ['key', 'b:2', 2],
    ],
  );
  t.deepEqual(history('other'), []);

  for (let epoch = 2; epoch <= 60; epoch += 1) {
    c.ok(null, {
      type: 'registry.cas',
      key: 'redis/primary',
      expectedEpoch: epoch,
      value: `h:${epoch + 1}`,
    });
  }
  const kept = history('redis/primary');
  t.is(kept.length, 50);
  t.is(kept[0]?.epoch, 12);
  t.is(kept.at(-1)?.epoch, 61);
  t.is(history('vip').length, 3, 'one name filling up leaves the others alone');
  t.is(c.read(null, { type: 'registry.history', name: 'vip', limit: 1 }).entries[0]?.epoch, 3);
});
