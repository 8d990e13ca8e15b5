import test from 'ava';
import { emptyDashboardState, receiveFeedItem, STALE_AFTER_MS, staleFor } from './state.js';
import { healthyCluster } from '../ops/fixtures.js';

test('the failover log keeps only the newest entries', (t) => {
  let state = emptyDashboardState;
  for (let i = 0; i < 6; i += 1) {
    const snapshot = healthyCluster(i);
    state = receiveFeedItem(
      state,
      { ...snapshot, supervisor: { holder: `sup-${i}`, epoch: i, leaseExpiresInMs: 1000 } },
      i,
      3,
    );
  }
  t.deepEqual(
    state.failovers.map((event) => event.message),
    [
      'supervisor lease sup-2 → sup-3 (epoch 3)',
      'supervisor lease sup-3 → sup-4 (epoch 4)',
      'supervisor lease sup-4 → sup-5 (epoch 5)',
    ],
  );
});

test('an error keeps the last snapshot and the next snapshot clears it', (t) => {
  const seen = receiveFeedItem(emptyDashboardState, healthyCluster(10), 100, 10);
  const failed = receiveFeedItem(seen, { error: 'DB unreachable' }, 200, 10);
  t.is(failed.snapshot, seen.snapshot);
  t.is(failed.receivedAt, 100, 'an error is not a fresh observation');
  t.is(failed.error, 'DB unreachable');
  t.is(receiveFeedItem(failed, healthyCluster(20), 300, 10).error, undefined);
});

test('stale only after more than two seconds, judged on the time of arrival', (t) => {
  t.is(staleFor(emptyDashboardState, 1e9), undefined, 'nothing arrived yet: waiting, not stale');
  const state = receiveFeedItem(emptyDashboardState, healthyCluster(0), 5000, 10);
  t.is(staleFor(state, 5000 + STALE_AFTER_MS), undefined);
  t.is(staleFor(state, 5000 + STALE_AFTER_MS + 1), STALE_AFTER_MS + 1);
});
