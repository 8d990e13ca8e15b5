/**
 * Snapshots of the cluster to start tests from: a healthy cluster, a caught-up follower, a VIP
 * agent and a gossip member, for the model's tests and the dashboard's.
 */
import type { ClusterSnapshot, DbMemberUp, GossipMember, VipAgent } from './model.js';

/** A follower of `leader` that is caught up. */
export function follower(id: string, leader: string, term: number, index: number): DbMemberUp {
  return {
    id,
    address: `10.0.0.${id.slice(1)}:7000`,
    up: true,
    role: 'follower',
    term,
    leader,
    commit: index,
    applied: index,
    snapshotIndex: 0,
    lagEntries: 0,
    lastContactMs: 40,
  };
}

/** A VIP agent that answered: `active` ones have the VIP configured. */
export function vipAgent(
  id: string,
  host: string,
  state: 'active' | 'passive',
  lastHeartbeatMs: number | null,
): VipAgent {
  return {
    id,
    host,
    state,
    lastHeartbeatMs,
    vipConfigured: state === 'active',
    gatewayFailures: 0,
    lastAction: state === 'active' ? 'claim: lease held' : null,
    lastActionAt: null,
  };
}

/** A gossip member at incarnation 0, in `state` since `since`. */
export function gossipMember(
  id: string,
  role: string,
  address: string,
  state: GossipMember['state'],
  since: number,
): GossipMember {
  return { id, role, address, state, incarnation: 0, since };
}

/**
 * The lab cluster with everything up: n1 leads the DB, redis-a is primary, vm1 owns the VIP
 * (its agent vip-1 holds the lease), and gossip suspects users-1.
 */
export function healthyCluster(at: number): ClusterSnapshot {
  return {
    at,
    dbMembers: [
      { ...follower('n1', 'n1', 3, 120), role: 'leader', lastContactMs: null },
      follower('n2', 'n1', 3, 120),
      follower('n3', 'n1', 3, 120),
      follower('n4', 'n1', 3, 120),
      { ...follower('n5', 'n1', 3, 118), lagEntries: 2 },
    ],
    redis: [
      {
        name: 'redis-a',
        address: '10.0.0.1:6379',
        up: true,
        role: 'primary',
        offset: 5120,
        linkUp: true,
        epoch: 1,
      },
      {
        name: 'redis-b',
        address: '10.0.0.2:6379',
        up: true,
        role: 'replica',
        offset: 5100,
        linkUp: true,
      },
    ],
    vip: {
      address: '10.0.0.100',
      owner: 'vm1',
      ownerFromLease: false,
      claimants: ['vm1'],
      lease: { holder: 'vip-1', epoch: 7, remainingMs: 1200 },
      agents: [vipAgent('vip-1', 'vm1', 'active', 120), vipAgent('vip-2', 'vm2', 'passive', 90)],
    },
    supervisor: { holder: 'sup-vm1', epoch: 4, leaseExpiresInMs: 3200 },
    gossip: [
      gossipMember('gw-1', 'gateway', '10.0.0.1:7946', 'alive', at - 60_000),
      gossipMember('gw-2', 'gateway', '10.0.0.2:7946', 'alive', at - 60_000),
      gossipMember('users-1', 'users', '10.0.0.1:7947', 'suspect', at - 800),
    ],
  };
}

/**
 * The three-host lab as the observer sees it a while after a few failovers: db-1 … db-5 (db-2
 * leads, term 7, with Raft counters and `/metrics`), redis-2 primary under epoch 3, vm2 owning
 * the VIP, supervisor-2 holding its lease (epoch 5), eight daemons in gossip plus a previous
 * dashboard's observer that left, and the registry's history of the leases and the primary.
 */
export function labCluster(at: number): ClusterSnapshot {
  const db = (n: number, role: 'leader' | 'follower', index: number): DbMemberUp => ({
    id: `db-${n}`,
    address: `10.77.0.${n <= 2 ? 11 : n <= 4 ? 12 : 13}:72${String(n).padStart(2, '0')}`,
    up: true,
    role,
    term: 7,
    leader: 'db-2',
    commit: 48_213,
    applied: index,
    snapshotIndex: 40_960,
    lagEntries: role === 'leader' ? 0 : 48_213 - index,
    lastContactMs: role === 'leader' ? 0 : 50,
    membership: 'voter',
    raft: {
      lastIndex: 48_213,
      applyBacklog: 48_213 - index,
      fsyncs: 31_877 + n,
      snapshots: 3,
      lastSnapshotAt: '2026-11-26T22:41:09.000Z',
    },
    metrics: {
      at: at - 2_000,
      rssBytes: (180 + n * 7) * 1024 * 1024,
      heapUsedBytes: (61 + n * 3) * 1024 * 1024,
      fsyncMeanMs: 0.8 + n / 10,
      applyMeanMs: 0.35 + n / 100,
    },
  });
  const gossip = (id: string, role: string, host: string, port: number) =>
    gossipMember(id, role, `${host}:${port}`, 'alive', at - 1_800_000);
  return {
    at,
    dbMembers: [
      db(1, 'follower', 48_213),
      db(2, 'leader', 48_213),
      db(3, 'follower', 48_213),
      db(4, 'follower', 48_211),
      db(5, 'follower', 48_213),
    ],
    redis: [
      {
        name: 'redis-1',
        address: '10.77.0.11:6380',
        up: true,
        role: 'replica',
        offset: 9_412_730,
        linkUp: true,
      },
      {
        name: 'redis-2',
        address: '10.77.0.12:6380',
        up: true,
        role: 'primary',
        offset: 9_412_886,
        linkUp: true,
        epoch: 3,
      },
    ],
    vip: {
      address: '10.77.0.10',
      owner: 'vm2',
      ownerFromLease: false,
      claimants: ['vm2'],
      lease: { holder: 'vip-2', epoch: 4, remainingMs: 1_310 },
      agents: [
        { ...vipAgent('vip-1', 'vm1', 'passive', 110), lastAction: null },
        {
          ...vipAgent('vip-2', 'vm2', 'active', 95),
          lastAction: 'claim: lease held',
          lastActionAt: at - 400,
        },
      ],
    },
    supervisor: { holder: 'supervisor-2', epoch: 5, leaseExpiresInMs: 2_650 },
    gossip: [
      gossip('gateway-1', 'gateway', '10.77.0.11', 7301),
      gossip('gateway-2', 'gateway', '10.77.0.12', 7301),
      gossip('users-1', 'users', '10.77.0.11', 7302),
      gossip('users-2', 'users', '10.77.0.12', 7302),
      gossip('groups-1', 'groups', '10.77.0.11', 7303),
      gossip('groups-2', 'groups', '10.77.0.12', 7303),
      gossip('supervisor-1', 'supervisor', '10.77.0.11', 7304),
      gossip('supervisor-2', 'supervisor', '10.77.0.12', 7304),
      // The previous dashboard, gone: an observer, which the dashboard does not show.
      { ...gossip('observer-ops-4121', 'observer', '10.77.0.1', 40112), state: 'left' },
    ],
    history: [
      {
        at: at - 3_600_000,
        kind: 'redis-primary',
        recorded: true,
        message: 'Redis primary redis-1 (epoch 1)',
      },
      {
        at: at - 3_600_000,
        kind: 'supervisor',
        recorded: true,
        message: 'supervisor lease supervisor-1 (epoch 1)',
      },
      { at: at - 3_590_000, kind: 'vip', recorded: true, message: 'VIP lease vip-1 (epoch 1)' },
      {
        at: at - 1_900_000,
        kind: 'supervisor',
        recorded: true,
        message: 'supervisor lease supervisor-1 → supervisor-2 (epoch 5)',
      },
      {
        at: at - 1_899_000,
        kind: 'redis-primary',
        recorded: true,
        message: 'Redis primary redis-1 → redis-2 (epoch 3)',
      },
      {
        at: at - 1_850_000,
        kind: 'vip',
        recorded: true,
        message: 'VIP lease vip-1 → vip-2 (epoch 4)',
      },
    ],
  };
}
