/**
 * `user.replacePasswordHash`: a login's upgrade of the hash it verified replaces that hash
 * only, so racing logins and other changes are never overwritten by a stale decision.
 */
import test from 'ava';
import type { CommandBody } from './protocol.js';
import { decideAndApply, openStore, StoreClient } from './test-support.js';

const replace = (previousHash: string, passwordHash: string): CommandBody => ({
  type: 'user.replacePasswordHash',
  username: 'alice',
  previousHash,
  passwordHash,
});

function storedHash(c: StoreClient): string {
  return c.read(null, { type: 'user.lookup', username: 'alice' }).passwordHash;
}

test('a password hash is replaced only while it is still the one the login verified', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  t.deepEqual(c.ok(null, replace('hash-alice', 'stronger')), { replaced: true });
  t.is(storedHash(c), 'stronger');
  t.deepEqual(c.ok(null, replace('hash-alice', 'another')), { replaced: false });
  t.is(storedHash(c), 'stronger');
  t.deepEqual(
    c.ok(null, { ...replace('x', 'y'), username: 'nobody' } as CommandBody),
    { replaced: false },
    'an unknown user has no hash to replace',
  );
});

test('of two replacements decided on the same hash, the second applied comes back stale and is then refused', async (t) => {
  const store = await openStore();
  const c = new StoreClient(store);
  c.register('alice');
  const first = c.command(null, replace('hash-alice', 'first'));
  const second = c.command(null, replace('hash-alice', 'second'));
  const decided = [store.decide(first), store.decide(second)];
  const index = store.appliedIndex();
  const effects = decided.map((d, i) => {
    if (d.kind !== 'effect') throw new Error('a replacement is decided into an effect');
    return { index: index + 1 + i, term: 1, data: d.entry };
  });
  const [applied, stale] = store.apply(effects);
  t.like(applied, { ok: true, result: { replaced: true } });
  t.like(stale, { ok: false, stale: true });
  t.is(storedHash(c), 'first');
  // Decided again, as the leader does: the hash it verified is gone.
  t.like(decideAndApply(store, second), { ok: true, result: { replaced: false } });
  t.is(storedHash(c), 'first');
});
