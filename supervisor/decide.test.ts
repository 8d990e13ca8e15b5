import test from 'ava';
import { countPrimaryFailures, decide } from './decide.js';
import type {
  InstanceHealth,
  Observation,
  ObservedInstance,
  RedisAddress,
  SupervisorAction,
} from './decide.js';

const A: RedisAddress = { host: '10.0.0.1', port: 6379 };
const B: RedisAddress = { host: '10.0.0.2', port: 6379 };
const C: RedisAddress = { host: '10.0.0.3', port: 6379 };
const config = { failureThreshold: 3 };

const down: InstanceHealth = { up: false, error: 'connection refused' };
const primary = (offset: number): InstanceHealth => ({ up: true, role: 'primary', offset });
const replicaOf = (following: RedisAddress, offset: number): InstanceHealth => ({
  up: true,
  role: 'replica',
  following,
  linkUp: true,
  offset,
});

const held = { kind: 'held', epoch: 4 } as const;
const recordedA = { kind: 'recorded', address: A, epoch: 7 } as const;

function observe(
  instances: [RedisAddress, InstanceHealth][],
  overrides: Partial<Observation> = {},
): Observation {
  return {
    lease: held,
    recordedPrimary: recordedA,
    instances: instances.map(([address, health]): ObservedInstance => ({ address, health })),
    primaryFailures: 0,
    ...overrides,
  };
}

const table: { name: string; observation: Observation; expected: SupervisorAction['type'] }[] = [
  {
    name: 'healthy primary and replica: nothing to do',
    observation: observe([
      [A, primary(100)],
      [B, replicaOf(A, 100)],
    ]),
    expected: 'none',
  },
  {
    name: 'lease free: acquire it',
    observation: observe([[A, primary(1)]], { lease: { kind: 'free' } }),
    expected: 'acquire-lease',
  },
  {
    name: 'partition: cut off from the DB, primary down past threshold: do nothing',
    observation: observe(
      [
        [A, down],
        [B, replicaOf(A, 50)],
      ],
      { lease: { kind: 'unknown' }, recordedPrimary: { kind: 'unknown' }, primaryFailures: 9 },
    ),
    expected: 'none',
  },
  {
    name: 'partition: primary unreachable from here only, lease held by another: do nothing',
    observation: observe(
      [
        [A, down],
        [B, replicaOf(A, 50)],
      ],
      { lease: { kind: 'held-by-other', holder: 'supervisor-2', epoch: 5 }, primaryFailures: 9 },
    ),
    expected: 'none',
  },
  {
    name: 'lease renewed but the registry cannot be read: never promote',
    observation: observe(
      [
        [A, down],
        [B, replicaOf(A, 50)],
      ],
      { recordedPrimary: { kind: 'unknown' }, primaryFailures: 9 },
    ),
    expected: 'none',
  },
  {
    name: 'nothing recorded yet: do nothing',
    observation: observe([[A, primary(1)]], { recordedPrimary: { kind: 'absent' } }),
    expected: 'none',
  },
  {
    name: 'primary down below the threshold: wait',
    observation: observe(
      [
        [A, down],
        [B, replicaOf(A, 50)],
      ],
      { primaryFailures: 2 },
    ),
    expected: 'none',
  },
  {
    name: 'primary down at the threshold: promote',
    observation: observe(
      [
        [A, down],
        [B, replicaOf(A, 50)],
      ],
      { primaryFailures: 3 },
    ),
    expected: 'promote',
  },
  {
    name: 'primary down and every other instance down: nothing to promote',
    observation: observe(
      [
        [A, down],
        [B, down],
      ],
      { primaryFailures: 5 },
    ),
    expected: 'none',
  },
  {
    name: 'old primary came back as a primary: demote it',
    observation: observe(
      [
        [A, primary(0)],
        [B, primary(300)],
      ],
      { recordedPrimary: { kind: 'recorded', address: B, epoch: 8 } },
    ),
    expected: 'demote',
  },
  {
    name: 'replica following the old primary: reconfigure it',
    observation: observe(
      [
        [A, down],
        [B, primary(300)],
        [C, replicaOf(A, 200)],
      ],
      { recordedPrimary: { kind: 'recorded', address: B, epoch: 8 } },
    ),
    expected: 'reconfigure-replica',
  },
  {
    name: 'replica with its link down but following the right primary: nothing to do',
    observation: observe([
      [A, primary(10)],
      [B, { up: true, role: 'replica', following: A, linkUp: false, offset: 0 }],
    ]),
    expected: 'none',
  },
];

for (const row of table) {
  test(`decide: ${row.name}`, (t) => {
    t.is(decide(row.observation, config).type, row.expected);
  });
}

test('decide: promotes the replica with the highest offset, from the recorded epoch', (t) => {
  const action = decide(
    observe(
      [
        [A, down],
        [B, replicaOf(A, 50)],
        [C, replicaOf(A, 80)],
      ],
      { primaryFailures: 3 },
    ),
    config,
  );
  t.deepEqual(action, { type: 'promote', replica: C, expectedEpoch: 7, failed: A });
});

test('decide: equal offsets pick the same replica whatever the order observed', (t) => {
  const instances: [RedisAddress, InstanceHealth][] = [
    [A, down],
    [C, replicaOf(A, 50)],
    [B, replicaOf(A, 50)],
  ];
  const forward = decide(observe(instances, { primaryFailures: 3 }), config);
  const backward = decide(observe([...instances].reverse(), { primaryFailures: 3 }), config);
  t.deepEqual(forward, backward);
  t.like(forward, { type: 'promote', replica: B });
});

test('decide: a recorded primary that reports itself a replica counts as failed', (t) => {
  const action = decide(
    observe(
      [
        [A, replicaOf(B, 10)],
        [B, primary(40)],
      ],
      { primaryFailures: 3 },
    ),
    config,
  );
  t.deepEqual(action, { type: 'promote', replica: B, expectedEpoch: 7, failed: A });
});

test('decide: a promotion whose registry write was lost is completed, not repeated elsewhere', (t) => {
  // B was promoted but the CAS did not land: B is a primary, C still follows A.
  const action = decide(
    observe(
      [
        [A, down],
        [B, primary(60)],
        [C, replicaOf(A, 50)],
      ],
      { primaryFailures: 4 },
    ),
    config,
  );
  t.like(action, { type: 'promote', replica: B, expectedEpoch: 7 });
});

test('decide: demotes the returning old primary to a replica of the recorded one', (t) => {
  const action = decide(
    observe(
      [
        [A, primary(0)],
        [B, primary(300)],
      ],
      { recordedPrimary: { kind: 'recorded', address: B, epoch: 8 } },
    ),
    config,
  );
  t.deepEqual(action, { type: 'demote', instance: A, primary: B });
});

test('countPrimaryFailures: counts consecutive failures of the watched primary', (t) => {
  const downA: ObservedInstance[] = [{ address: A, health: down }];
  const upA: ObservedInstance[] = [{ address: A, health: primary(1) }];
  let state = countPrimaryFailures({ primary: null, failures: 0 }, A, downA);
  t.deepEqual(state, { primary: A, failures: 1 });
  state = countPrimaryFailures(state, A, downA);
  t.is(state.failures, 2);
  // Registry unreadable: keep watching the last known primary.
  state = countPrimaryFailures(state, null, downA);
  t.is(state.failures, 3);
  state = countPrimaryFailures(state, A, upA);
  t.is(state.failures, 0);
});

test('countPrimaryFailures: a newly recorded primary starts from zero', (t) => {
  const state = countPrimaryFailures({ primary: A, failures: 5 }, B, [
    { address: B, health: primary(9) },
  ]);
  t.deepEqual(state, { primary: B, failures: 0 });
  const missing = countPrimaryFailures({ primary: A, failures: 5 }, B, []);
  t.deepEqual(missing, { primary: B, failures: 1 });
});
