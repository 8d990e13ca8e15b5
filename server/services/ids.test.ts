/**
 * Fresh ids: of the form the store takes, never repeated, every character equally likely
 * (drawn from a pool of system random bytes, refilled as it runs out).
 */
import test from 'ava';
import { FRESH_ID_LENGTH, freshId, freshIdCount, freshIdsFor } from './ids.js';

test('fresh ids are 16 lowercase letters and digits, and 20,000 of them are all different', (t) => {
  const ids = Array.from({ length: 20_000 }, freshId);
  t.true(ids.every((id) => /^[a-z0-9]{16}$/.test(id)));
  t.is(new Set(ids).size, ids.length);
});

test('every character of the alphabet is about equally likely, across pool refills', (t) => {
  const counts = new Map<string, number>();
  const ids = 10_000;
  for (let i = 0; i < ids; i++) {
    for (const c of freshId()) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  t.is(counts.size, 36);
  const expected = (ids * FRESH_ID_LENGTH) / 36;
  // 160,000 draws: a fair character lands within ±5 % of its share (about 11 standard
  // deviations); a plain modulo of a byte would put the first four 14 % above the rest.
  for (const [c, n] of counts) t.true(Math.abs(n - expected) / expected < 0.05, `${c}: ${n}`);
});

test('an import gets one fresh id per draft', (t) => {
  const body = {
    type: 'event.import' as const,
    events: Array.from({ length: 3 }, (_, i) => ({
      uid: `u${i}`,
      draft: { title: 't', start: 0, end: 60_000 },
    })),
  };
  t.is(freshIdCount(body), 3);
  t.is(freshIdsFor(body).length, 3);
});
