/**
 * The observer's description of a system started from a {@link Topology} — the same plan
 * `npm start`, the namespace lab and the Multipass VMs run — so every topology is watched
 * the same way and a port changed in the plan is a port the dashboard follows.
 */
import type { DataLayout } from '../layout.js';
import type { Topology } from '../plan.js';
import type { ClusterDescription } from '../../ops/description.js';
import { parseClusterDescription } from '../../ops/description.js';

/** Milliseconds per Raft tick of the DB members: `buildPlan` writes `tickMs: 50`. */
const PLAN_TICK_MS = 50;

export interface DescribeTopologyOptions {
  /** Shown in messages: `local`, `lab`, `multipass`. */
  readonly name: string;
  /**
   * An address of the machine the observer runs on that the gossip members can reach (the
   * lab bridge's, the host's on the Multipass network, 127.0.0.1 locally): the observer's
   * gossip socket binds a free port there. Without it, gossip is not observed.
   */
  readonly observerAddress?: string;
}

/** What the operator should watch of the system `topology` describes, its files in `layout`. */
export function describeTopology(
  topology: Topology,
  layout: DataLayout,
  options: DescribeTopologyOptions,
): ClusterDescription {
  const address = (host: string): string => {
    const found = topology.hosts.find((h) => h.name === host);
    if (!found) throw new Error(`the topology places a process on unknown host ${host}`);
    return found.address;
  };
  const at = (host: string, port: number) => `${address(host)}:${port}`;
  const gossipSeeds = [
    ...topology.gateways.map((g) => at(g.host, g.gossipPort)),
    ...topology.services.map((s) => at(s.host, s.gossipPort)),
    ...topology.supervisors.map((s) => at(s.host, s.gossipPort)),
    ...(topology.vip?.agents ?? []).map((a) => at(a.host, a.gossipPort)),
  ];
  return parseClusterDescription({
    name: options.name,
    tls: layout.tls('operator'),
    db: {
      members: topology.db.map((m) => ({
        id: m.id,
        name: `db-${m.id}`,
        api: at(m.host, m.apiPort),
      })),
      tickMs: PLAN_TICK_MS,
    },
    redis: topology.redis.map((r) => ({ name: `redis-${r.id}`, address: at(r.host, r.port) })),
    // Redis's ACL user of the operator: ROLE (and the connection's INFO) only.
    redisAuth: { user: 'operator', passwordFile: layout.redisPassword('operator') },
    ...(topology.vip
      ? {
          vip: {
            address: topology.vip.address,
            agents: topology.vip.agents.map((a) => ({
              id: `vip-${a.id}`,
              host: a.host,
              status: at(a.host, a.statusPort),
            })),
          },
        }
      : {}),
    ...(options.observerAddress !== undefined && gossipSeeds.length > 0
      ? {
          gossip: {
            listen: `${options.observerAddress}:0`,
            seeds: [...new Set(gossipSeeds)],
            keyFile: layout.gossipKey,
          },
        }
      : {}),
  });
}
