/**
 * The chaos load outlives its access tokens: runs last longer than 15 minutes, and its users
 * must renew their sessions as their tokens run out, not fail, nor log in again each time.
 * The system's clock (tokens and store) jumps past an access token's life mid-run.
 */
import test from 'ava';
import { ChaosLoad } from './load.js';
import type { OpRecord } from './protocol.js';
import { InProcessSystem } from './test-support.js';

/** Test port 30425. */
const PORT = 30425;

/** Resolves once `condition` holds; fails after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const succeeded = (record: OpRecord): boolean =>
  (record.kind === 'create' && record.outcome === 'acked') ||
  (record.kind === 'read' && record.outcome === 'ok');

test('the load renews its sessions as their access tokens run out, and goes on', async (t) => {
  let skew = 0;
  const system = await InProcessSystem.start(PORT, () => Date.now() + skew);
  t.teardown(() => system.close());
  const records: OpRecord[] = [];
  const load = new ChaosLoad(
    {
      url: system.url,
      caPath: system.caPath,
      clients: 4,
      users: 2,
      userPrefix: 'renewal',
      attemptTimeoutMs: 2_000,
      retryDelayMs: 20,
      paceMs: 20,
      createShare: 0.5,
      seed: 7,
      windowStart: '2031-01-06T00:00:00.000Z',
      readBackTimeoutMs: 5_000,
    },
    (record) => records.push(record),
  );
  t.teardown(() => load.close());
  await load.start();
  await waitFor(() => records.filter(succeeded).length >= 10, 'operations before the jump');

  // Sixteen minutes later, as far as tokens and the store can tell.
  skew += 16 * 60_000;
  const before = records.length;
  await waitFor(
    () => records.slice(before).filter(succeeded).length >= 20,
    'operations after the jump',
  );
  await load.stop();

  const logins = system.opTypes.filter((type) => type === 'account.login').length;
  const renewals = system.opTypes.filter((type) => type === 'account.refresh').length;
  t.is(logins, 2, 'each user logged in once');
  t.true(renewals >= 2, `each user renewed its session (${renewals} renewals)`);
  const failed = records.slice(before).filter((record) => record.outcome === 'refused');
  t.deepEqual(failed, [], 'no operation was refused for its token');
});
