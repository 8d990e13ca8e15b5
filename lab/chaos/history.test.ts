/**
 * From load records to the checker's history, and the unavailability measure: the longest
 * stretch without a success, measured from the last success before it to the first after.
 */
import test from 'ava';
import { historyOf, longestOutage, successTimes } from './history.js';
import type { OpRecord } from './protocol.js';

const acked = (title: string, call: number, ret: number, client = 0): OpRecord => ({
  kind: 'create',
  client,
  user: 'ann',
  title,
  call,
  outcome: 'acked',
  return: ret,
  attempts: 1,
});
const readOk = (titles: string[], call: number, ret: number, client = 1): OpRecord => ({
  kind: 'read',
  client,
  user: 'ann',
  call,
  outcome: 'ok',
  return: ret,
  titles,
});

const records: OpRecord[] = [
  acked('a', 0, 10),
  readOk(['a'], 11, 12),
  { kind: 'read', client: 1, user: 'ann', call: 13, outcome: 'failed', return: 14, error: '503' },
  {
    kind: 'create',
    client: 0,
    user: 'ann',
    title: 'b',
    call: 15,
    outcome: 'refused',
    return: 16,
    attempts: 1,
    error: '400 invalid',
  },
  {
    kind: 'create',
    client: 2,
    user: 'ann',
    title: 'c',
    call: 17,
    outcome: 'unknown',
    attempts: 3,
    error: 'timeout',
  },
  acked('d', 18, 40, 3),
];

test('the history holds acked creates, unknown ones without a return, answered reads and the read-back', (t) => {
  const history = historyOf(
    records,
    [{ user: 'ann', call: 100, return: 105, titles: ['a', 'd'] }],
    8,
  );
  t.deepEqual(history, [
    {
      clientId: 0,
      input: { kind: 'create', user: 'ann', title: 'a' },
      call: 0,
      return: 10,
      output: { kind: 'create' },
    },
    {
      clientId: 1,
      input: { kind: 'read', user: 'ann' },
      call: 11,
      return: 12,
      output: { kind: 'read', titles: ['a'] },
    },
    {
      clientId: 2,
      input: { kind: 'create', user: 'ann', title: 'c' },
      call: 17,
      return: null,
      output: null,
    },
    {
      clientId: 3,
      input: { kind: 'create', user: 'ann', title: 'd' },
      call: 18,
      return: 40,
      output: { kind: 'create' },
    },
    {
      clientId: 8,
      input: { kind: 'read', user: 'ann' },
      call: 100,
      return: 105,
      output: { kind: 'read', titles: ['a', 'd'] },
    },
  ]);
});

test('successes are acknowledged creates and answered reads, in time order', (t) => {
  t.deepEqual(successTimes(records), [10, 12, 40]);
  t.deepEqual(successTimes(records, 'creates'), [10, 40]);
});

test('the outage straddling the fault runs from the last success before it to the first after', (t) => {
  const successes = [100, 200, 290, 300, 1_900, 1_950, 2_000];
  t.deepEqual(longestOutage(successes, 310, 2_100), {
    ms: 1_600,
    from: 300,
    to: 1_900,
    recovered: true,
  });
});

test('quiet stretches that ended before the fault do not count', (t) => {
  // 1000 → 5000 is long, but over before the fault at 5100.
  const successes = [1_000, 5_000, 5_050, 5_300, 5_350];
  t.deepEqual(longestOutage(successes, 5_100, 5_400), {
    ms: 250,
    from: 5_050,
    to: 5_300,
    recovered: true,
  });
});

test('the longest of several outages after the fault is the one reported', (t) => {
  const successes = [0, 100, 600, 700, 1_500, 1_600];
  t.like(longestOutage(successes, 50, 2_000), { ms: 800, from: 700, to: 1_500 });
});

test('an operation still in flight at the stop may end the outage; if none does, it is unrecovered', (t) => {
  t.deepEqual(longestOutage([0, 100, 3_200], 150, 3_000), {
    ms: 3_100,
    from: 100,
    to: 3_200,
    recovered: true,
  });
  t.deepEqual(longestOutage([0, 100], 150, 3_000), {
    ms: 2_900,
    from: 100,
    to: 3_000,
    recovered: false,
  });
  // Later successes than the first after the stop are not looked at.
  t.like(longestOutage([0, 100, 3_200, 9_000], 150, 3_000), { ms: 3_100, to: 3_200 });
});

test('with no success before the fault the outage starts at the fault', (t) => {
  t.deepEqual(longestOutage([700, 720], 200, 1_000), {
    ms: 500,
    from: 200,
    to: 700,
    recovered: true,
  });
  t.like(longestOutage([], 200, 1_000), { ms: 800, from: 200, to: 1_000, recovered: false });
});

test('a fault nobody noticed measures about the spacing of successes', (t) => {
  const successes = Array.from({ length: 200 }, (_, i) => i * 5);
  t.like(longestOutage(successes, 300, 995), { ms: 5, recovered: true });
});
