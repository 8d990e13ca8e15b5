import test from 'ava';
import { LoginRateLimiter, TokenBuckets } from './rate-limit.js';

test('a bucket allows its burst, then one attempt per refill interval', (t) => {
  const buckets = new TokenBuckets({ burst: 2, perMinute: 30 }, 100);
  t.is(buckets.waitFor('k', 0), 0);
  buckets.take('k', 0);
  buckets.take('k', 0);
  t.is(buckets.waitFor('k', 0), 2_000);
  t.is(buckets.waitFor('k', 1_500), 500);
  t.is(buckets.waitFor('k', 2_000), 0);
  buckets.take('k', 2_000);
  t.is(buckets.waitFor('k', 2_000), 2_000);
  // Idle long enough, the bucket is full again — never fuller than its burst.
  t.is(buckets.waitFor('k', 1_000_000), 0);
  buckets.take('k', 1_000_000);
  buckets.take('k', 1_000_000);
  t.true(buckets.waitFor('k', 1_000_000) > 0);
});

test('memory stays bounded: full buckets are forgotten first, then the least recently used', (t) => {
  const buckets = new TokenBuckets({ burst: 1, perMinute: 60 }, 1_000);
  for (let i = 0; i < 10_000; i++) buckets.take(`spray-${i}`, 0);
  t.true(buckets.size <= 1_000);
  // The most recent keys are still limited; the oldest were forgotten (treated as full).
  t.true(buckets.waitFor('spray-9999', 0) > 0);
  t.is(buckets.waitFor('spray-0', 0), 0);
  // Once time has refilled them, one sweep forgets them all.
  for (let i = 0; i < 1_000; i++) buckets.take(`later-${i}`, 60_000);
  t.true(buckets.size <= 1_000);
  t.true(buckets.waitFor('later-999', 60_000) > 0);
});

test('a refused login takes nothing from either bucket', (t) => {
  let now = 0;
  const limiter = new LoginRateLimiter(
    { perUsername: { burst: 1, perMinute: 60 }, perAddress: { burst: 2, perMinute: 60 } },
    () => now,
  );
  t.deepEqual(limiter.attempt('alice', '10.0.0.1'), { allowed: true });
  t.like(limiter.attempt('alice', '10.0.0.1'), { allowed: false, limit: 'username' });
  t.like(limiter.attempt('Alice', '10.0.0.2'), { allowed: false, limit: 'username' });
  // The refused attempts did not drain 10.0.0.1's bucket: bob still gets in from there.
  t.deepEqual(limiter.attempt('bob', '10.0.0.1'), { allowed: true });
  t.like(limiter.attempt('carol', '10.0.0.1'), {
    allowed: false,
    limit: 'address',
    retryAfterMs: 1_000,
  });
  now = 1_000;
  t.deepEqual(limiter.attempt('carol', '10.0.0.1'), { allowed: true });
});

test('nonsense settings are refused', (t) => {
  t.throws(() => new TokenBuckets({ burst: 0, perMinute: 1 }, 10), { instanceOf: RangeError });
  t.throws(() => new TokenBuckets({ burst: 1, perMinute: 0 }, 10), { instanceOf: RangeError });
});
