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
