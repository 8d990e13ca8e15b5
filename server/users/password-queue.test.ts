/**
 * The password hasher's queue: derivations beyond the machine's parallelism wait in the
 * process, where those of abandoned requests are dropped before they cost anything.
 */
import test from 'ava';
import type { AgendaError } from '../../contract/errors.js';
import { PasswordHasher } from './passwords.js';

// Costly enough that the queue forms, cheap enough for a test.
const COST = { N: 2 ** 12, r: 8, p: 1 };

test('a queued check whose request was given up is dropped unanswered; the others complete', async (t) => {
  const hasher = new PasswordHasher(COST);
  const stored = await hasher.hash('correct horse battery', Buffer.alloc(16, 1));
  const givenUp = new AbortController();
  const checks = Array.from({ length: 12 }, (_, i) =>
    hasher.verify('correct horse battery', stored, i >= 6 ? givenUp.signal : undefined).then(
      (ok) => ({ ok }),
      (error: unknown) => ({ error: (error as AgendaError).code }),
    ),
  );
  givenUp.abort();
  const outcomes = await Promise.all(checks);
  t.deepEqual(outcomes.slice(0, 6), Array(6).fill({ ok: true }));
  const dropped = outcomes.slice(6).filter((o) => 'error' in o);
  t.true(dropped.length > 0, 'the abandoned checks still waiting were dropped');
  t.true(dropped.every((o) => 'error' in o && o.error === 'unavailable'));
});

test('without abandoned requests every check completes, however many at once', async (t) => {
  const hasher = new PasswordHasher(COST);
  const stored = await hasher.hash('pw-long-enough', Buffer.alloc(16, 2));
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => hasher.verify(i % 2 ? 'pw-long-enough' : 'wrong', stored)),
  );
  t.deepEqual(
    results,
    Array.from({ length: 20 }, (_, i) => i % 2 === 1),
  );
});

test("one account's flood of checks does not hold up another account's: owners are served in turn", async (t) => {
  const hasher = new PasswordHasher(COST);
  const stored = await hasher.hash('pw-long-enough', Buffer.alloc(16, 3));
  const finished: string[] = [];
  const flood = Array.from({ length: 40 }, () =>
    hasher
      .verify('wrong-guess', stored, undefined, { key: 'mallory' })
      .then(() => finished.push('mallory')),
  );
  const bob = hasher
    .verify('pw-long-enough', stored, undefined, { key: 'bob' })
    .then((ok) => (finished.push('bob'), ok));
  t.true(await bob);
  await Promise.all(flood);
  // At most the derivations already running (4) and one more turn of mallory's go first;
  // first come, first served, bob's check was the 41st.
  t.true(finished.indexOf('bob') <= 8, `bob's check finished ${finished.indexOf('bob') + 1}th`);
  t.is(finished.length, 41);
});

test("an owner's checks past maxPending are refused at once, not queued; their turn comes back", async (t) => {
  const hasher = new PasswordHasher(COST);
  const stored = await hasher.hash('pw-long-enough', Buffer.alloc(16, 4));
  const owner = { key: 'Mallory', maxPending: 2 };
  const outcomes = await Promise.all(
    Array.from({ length: 6 }, () =>
      hasher.verify('wrong-guess', stored, undefined, owner).then(
        (ok) => ({ ok }),
        (error: unknown) => ({ error: (error as AgendaError).code }),
      ),
    ),
  );
  t.deepEqual(outcomes, [
    { ok: false },
    { ok: false },
    ...Array<object>(4).fill({ error: 'rate_limited' }),
  ]);
  t.is(hasher.pendingFor('mallory'), 0);
  // Nothing of the refused ones is left waiting; the account's next check runs.
  t.true(
    await hasher.verify('pw-long-enough', stored, undefined, { key: 'mallory', maxPending: 2 }),
  );
  // Other accounts, and logins (no cap), are not limited by mallory's cap.
  const others = await Promise.all(
    Array.from({ length: 6 }, () =>
      hasher.verify('pw-long-enough', stored, undefined, { key: 'bob' }),
    ),
  );
  t.deepEqual(others, Array(6).fill(true));
});
