/**
 * The single-machine topology `npm start` runs on loopback: five DB members, a Redis primary
 * and replica watched by two supervisors, two users and two groups service replicas, two
 * gateways, all joined by gossip. Every port is fixed and below 32768, so restarts find each
 * other again and no port collides with the ephemeral range. The configs themselves come from
 * the plan shared with the three-host lab (`lab/plan.ts`).
 */
import type { Topology } from '../plan.js';

export { DataLayout as LocalLayout, type TlsFiles } from '../layout.js';

export const HOST = '127.0.0.1';
const LOCAL = 'local';

export const DB_MEMBERS = [1, 2, 3, 4, 5].map((id) => ({
  id,
  raft: { host: HOST, port: 7100 + id },
  api: { host: HOST, port: 7200 + id },
}));

export const REDIS = {
  primary: { name: 'redis-1', host: HOST, port: 6380 },
  replica: { name: 'redis-2', host: HOST, port: 6381 },
} as const;

export const SUPERVISORS = [1, 2];
export const USERS_REPLICAS = [1, 2];
export const GROUPS_REPLICAS = [1, 2];
export const GATEWAYS = [
  { id: 1, host: HOST, port: 8443 },
  { id: 2, host: HOST, port: 8444 },
];

/** Gossip ports on loopback: 73<kind><instance>, one per member since they share an address. */
const GOSSIP_PORT = { gateway: 7310, users: 7320, groups: 7330, supervisor: 7340 } as const;
/**
 * Metrics ports (`GET /metrics`, mutual TLS): 74<kind><instance>, as the gossip ports.
 * Gateways serve theirs on their own port, the DB members on their API port.
 */
const METRICS_PORT = { users: 7420, groups: 7430, supervisor: 7440 } as const;

export const LOCAL_TOPOLOGY: Topology = {
  hosts: [{ name: LOCAL, address: HOST }],
  db: DB_MEMBERS.map((m) => ({
    id: m.id,
    host: LOCAL,
    raftPort: m.raft.port,
    apiPort: m.api.port,
  })),
  redis: [REDIS.primary, REDIS.replica].map((r, i) => ({ id: i + 1, host: LOCAL, port: r.port })),
  supervisors: SUPERVISORS.map((id) => ({
    id,
    host: LOCAL,
    gossipPort: GOSSIP_PORT.supervisor + id,
    metricsPort: METRICS_PORT.supervisor + id,
  })),
  services: [
    ...USERS_REPLICAS.map((instance) => ({
      service: 'users' as const,
      instance,
      host: LOCAL,
      gossipPort: GOSSIP_PORT.users + instance,
      metricsPort: METRICS_PORT.users + instance,
    })),
    ...GROUPS_REPLICAS.map((instance) => ({
      service: 'groups' as const,
      instance,
      host: LOCAL,
      gossipPort: GOSSIP_PORT.groups + instance,
      metricsPort: METRICS_PORT.groups + instance,
    })),
  ],
  gateways: GATEWAYS.map((g) => ({
    id: g.id,
    host: LOCAL,
    port: g.port,
    gossipPort: GOSSIP_PORT.gateway + g.id,
    listenAll: false,
  })),
};
