import test from 'ava';
import type { ClusterSnapshot, DbMember, FailoverKind } from './model.js';
import { dbLeader, detectFailovers, redisPrimary, sortGossipMembers } from './model.js';
import { follower, gossipMember, healthyCluster } from './fixtures.js';

const before = healthyCluster(1_000);

/** `healthyCluster` at a later instant, changed by `change`. */
function after(change: (snapshot: ClusterSnapshot) => ClusterSnapshot): ClusterSnapshot {
  return change(healthyCluster(2_000));
}

function downMember(id: string): DbMember {
  return { id, address: `10.0.0.${id.slice(1)}:7000`, up: false, lastContactMs: 1500 };
}

const cases: {
  name: string;
  previous: ClusterSnapshot | undefined;
  next: ClusterSnapshot;
  expected: [FailoverKind, string][];
}[] = [
  { name: 'the first snapshot is the baseline', previous: undefined, next: before, expected: [] },
  { name: 'nothing changed', previous: before, next: after((s) => s), expected: [] },
  {
    name: 'the DB leader died and another was elected',
    previous: before,
    next: after((s) => ({
      ...s,
      dbMembers: [
        downMember('n1'),
        { ...follower('n2', 'n2', 4, 121), role: 'leader' },
        follower('n3', 'n2', 4, 121),
        follower('n4', 'n2', 4, 121),
        follower('n5', 'n2', 4, 121),
      ],
    })),
    expected: [
      ['db-leader', 'DB leader n1 → n2 (term 4)'],
      ['member-down', 'DB member n1 is down'],
    ],
  },
  {
    name: 'an election is under way',
    previous: before,
    next: after((s) => ({
      ...s,
      dbMembers: s.dbMembers?.map((m) => (m.up ? { ...m, role: 'candidate', leader: null } : m)),
    })),
    expected: [['db-leader', 'DB leader n1 lost; no leader']],
  },
  {
    name: 'a deposed leader that has not noticed does not hide the new one',
    previous: before,
    next: after((s) => ({
      ...s,
      dbMembers: [
        ...(s.dbMembers ?? []).slice(0, 4),
        { ...follower('n5', 'n5', 5, 121), role: 'leader' },
      ],
    })),
    expected: [['db-leader', 'DB leader n1 → n5 (term 5)']],
  },
  {
    name: 'the Redis primary was replaced',
    previous: before,
    next: after((s) => ({
      ...s,
      redis: [
        { name: 'redis-a', address: '10.0.0.1:6379', up: false },
        {
          name: 'redis-b',
          address: '10.0.0.2:6379',
          up: true,
          role: 'primary',
          offset: 5200,
          linkUp: true,
          epoch: 2,
        },
      ],
    })),
    expected: [
      ['redis-primary', 'Redis primary redis-a → redis-b (epoch 2)'],
      ['member-down', 'Redis redis-a is down'],
    ],
  },
  {
    name: 'the VIP moved',
    previous: before,
    next: after((s) => ({ ...s, vip: { ...s.vip!, owner: 'vm2' } })),
    expected: [['vip', 'VIP 10.0.0.100 vm1 → vm2']],
  },
  {
    name: 'the VIP was released',
    previous: before,
    next: after((s) => ({ ...s, vip: { ...s.vip!, owner: null } })),
    expected: [['vip', 'VIP 10.0.0.100 vm1 → unowned']],
  },
  {
    name: 'another supervisor took the lease',
    previous: before,
    next: after((s) => ({
      ...s,
      supervisor: { holder: 'sup-vm2', epoch: 5, leaseExpiresInMs: 5000 },
    })),
    expected: [['supervisor', 'supervisor lease sup-vm1 → sup-vm2 (epoch 5)']],
  },
  {
    name: 'the same supervisor re-acquired its lease under a new epoch',
    previous: before,
    next: after((s) => ({
      ...s,
      supervisor: { holder: 'sup-vm1', epoch: 5, leaseExpiresInMs: 5000 },
    })),
    expected: [['supervisor', 'supervisor lease re-acquired by sup-vm1 after it lapsed (epoch 5)']],
  },
  {
    name: 'a DB member came back',
    previous: { ...before, dbMembers: [...(before.dbMembers ?? []).slice(0, 4), downMember('n5')] },
    next: before,
    expected: [['member-up', 'DB member n5 is back up']],
  },
  {
    name: 'gossip: suspicion is not death, death is',
    previous: before,
    next: after((s) => ({
      ...s,
      gossip: [
        gossipMember('gw-1', 'gateway', '10.0.0.1:7946', 'suspect', 1_900),
        gossipMember('gw-2', 'gateway', '10.0.0.2:7946', 'alive', 0),
        gossipMember('users-1', 'users', '10.0.0.1:7947', 'dead', 1_900),
      ],
    })),
    expected: [['member-down', 'gossip users users-1 is down']],
  },
  {
    name: 'gossip: a graceful leave is told apart from a death',
    previous: before,
    next: after((s) => ({
      ...s,
      gossip: s.gossip?.map((m) => (m.id === 'gw-2' ? { ...m, state: 'left' } : m)),
    })),
    expected: [['member-down', 'gossip gateway gw-2 left']],
  },
  {
    name: 'the passive VIP agent stopped answering',
    previous: before,
    next: after((s) => ({
      ...s,
      vip: {
        ...s.vip!,
        agents: [
          s.vip!.agents[0]!,
          { ...s.vip!.agents[1]!, state: 'down', vipConfigured: null, error: 'ECONNREFUSED' },
        ],
      },
    })),
    expected: [['member-down', 'VIP agent vip-2 is down']],
  },
  {
    name: 'the VIP configured on two hosts at once is reported once',
    previous: before,
    next: after((s) => ({ ...s, vip: { ...s.vip!, claimants: ['vm1', 'vm2'] } })),
    expected: [['vip', 'VIP 10.0.0.100 configured on vm1 and vm2']],
  },
  {
    name: 'a section the feed could not observe is not a change',
    previous: before,
    next: { at: 2_000, vip: before.vip },
    expected: [],
  },
  {
    name: 'a member leaving the list is not a failure',
    previous: before,
    next: after((s) => ({ ...s, gossip: s.gossip?.slice(0, 1) })),
    expected: [],
  },
];

for (const { name, previous, next, expected } of cases) {
  test(`detectFailovers: ${name}`, (t) => {
    const events = detectFailovers(previous, next);
    t.deepEqual(
      events.map((event) => [event.kind, event.message]),
      expected,
    );
    t.true(events.every((event) => event.at === next.at));
  });
}

test('dbLeader ignores unreachable members and prefers the highest term', (t) => {
  t.is(dbLeader([]), null);
  t.is(dbLeader([downMember('n1')]), null);
  const stale = { ...follower('n1', 'n1', 3, 10), role: 'leader' as const };
  const fresh = { ...follower('n2', 'n2', 4, 10), role: 'leader' as const };
  t.is(dbLeader([stale, fresh])?.id, 'n2');
  t.is(dbLeader([fresh, stale])?.id, 'n2');
});

test('redisPrimary prefers the highest epoch when an old primary still says primary', (t) => {
  const old = {
    name: 'a',
    address: 'a:1',
    up: true as const,
    role: 'primary' as const,
    offset: 1,
    linkUp: true,
    epoch: 1,
  };
  const promoted = { ...old, name: 'b', address: 'b:1', epoch: 2 };
  t.is(redisPrimary([old, promoted])?.name, 'b');
  t.is(redisPrimary([{ name: 'a', address: 'a:1', up: false }]), null);
});

test('sortGossipMembers lists the request path first, then by id in numeric order', (t) => {
  const member = (id: string, role: string) => gossipMember(id, role, 'h:1', 'alive', 0);
  const sorted = sortGossipMembers([
    member('observer-x', 'observer'),
    member('users-10', 'users'),
    member('zeta-1', 'zeta'),
    member('users-2', 'users'),
    member('alpha-1', 'alpha'),
    member('gateway-2', 'gateway'),
    member('vip-1', 'vip'),
  ]);
  t.deepEqual(
    sorted.map((m) => m.id),
    ['gateway-2', 'users-2', 'users-10', 'vip-1', 'observer-x', 'alpha-1', 'zeta-1'],
  );
});
