/**
 * The three-host lab: `vm1` and `vm2`, the seed's two machines, and a small witness `vm3`,
 * so the loss of any one host keeps a Raft majority (2 + 2 + 1 members). Hosts are network
 * namespaces on the bridge `agbr0` (10.77.0.0/24); a client namespace reaches the system only
 * through the gateways' virtual IP, which the VIP agents on vm1 and vm2 move between them.
 *
 * | host | address    | processes                                                                 |
 * | ---- | ---------- | ------------------------------------------------------------------------- |
 * | vm1  | 10.77.0.11 | db-1, db-2, redis-1 (primary), users-1, groups-1, gateway-1, supervisor-1, vip-1 |
 * | vm2  | 10.77.0.12 | db-3, db-4, redis-2 (replica), users-2, groups-2, gateway-2, supervisor-2, vip-2 |
 * | vm3  | 10.77.0.13 | db-5                                                                      |
 */
import type { LabHost } from './driver.js';
import type { NetworkSpec } from './net.js';
import { LOAD_GENERATOR_LIMITS, type Topology } from './plan.js';

export const LAB_SUBNET_PREFIX = 24;
export const BRIDGE_ADDRESS = '10.77.0.1';
export const VIP_ADDRESS = '10.77.0.10';
export const CLIENT_ADDRESS = '10.77.0.100';
export const GATEWAY_PORT = 8443;
export const VIP_URL = `https://${VIP_ADDRESS}:${GATEWAY_PORT}`;

export const LAB_HOST_ADDRESSES: Readonly<Record<LabHost, string>> = {
  vm1: '10.77.0.11',
  vm2: '10.77.0.12',
  vm3: '10.77.0.13',
};

/** The lab's namespaces and links: `agenda-vm1`… and `agenda-client` on `agbr0`. */
export const LAB_NETWORK: NetworkSpec = {
  bridge: 'agbr0',
  bridgeAddress: BRIDGE_ADDRESS,
  prefixLength: LAB_SUBNET_PREFIX,
  hosts: (['vm1', 'vm2', 'vm3'] as const).map((name) => ({
    name,
    namespace: `agenda-${name}`,
    address: LAB_HOST_ADDRESSES[name],
    veth: `agv-${name}`,
  })),
  client: {
    name: 'client',
    namespace: 'agenda-client',
    address: CLIENT_ADDRESS,
    veth: 'agv-client',
    allowed: [VIP_ADDRESS],
  },
};

/** Gossip ports: one per role, the same on every host (each host has its own address). */
const GOSSIP = { gateway: 7301, users: 7302, groups: 7303, supervisor: 7304, vip: 7305 } as const;
/**
 * Metrics ports (`GET /metrics`, mutual TLS), numbered like the gossip ports; gateways serve
 * theirs on 8443, the DB members on their API port.
 */
const METRICS = { users: 7402, groups: 7403, supervisor: 7404, vip: 7405 } as const;
const MAIN_HOSTS = [
  { n: 1, host: 'vm1' },
  { n: 2, host: 'vm2' },
] as const;

export const LAB_TOPOLOGY: Topology = {
  hosts: LAB_NETWORK.hosts.map((h) => ({ name: h.name, address: h.address })),
  // The chaos load registers and logs in its users from the client host, scenario after
  // scenario: production's per-address limits would refuse it (see LOAD_GENERATOR_LIMITS).
  abuseLimits: LOAD_GENERATOR_LIMITS,
  db: [
    { id: 1, host: 'vm1' },
    { id: 2, host: 'vm1' },
    { id: 3, host: 'vm2' },
    { id: 4, host: 'vm2' },
    { id: 5, host: 'vm3' },
  ].map((m) => ({ ...m, raftPort: 7100 + m.id, apiPort: 7200 + m.id })),
  redis: MAIN_HOSTS.map(({ n, host }) => ({ id: n, host, port: 6380 })),
  supervisors: MAIN_HOSTS.map(({ n, host }) => ({
    id: n,
    host,
    gossipPort: GOSSIP.supervisor,
    metricsPort: METRICS.supervisor,
  })),
  services: (['users', 'groups'] as const).flatMap((service) =>
    MAIN_HOSTS.map(({ n, host }) => ({
      service,
      instance: n,
      host,
      gossipPort: GOSSIP[service],
      metricsPort: METRICS[service],
    })),
  ),
  gateways: MAIN_HOSTS.map(({ n, host }) => ({
    id: n,
    host,
    port: GATEWAY_PORT,
    gossipPort: GOSSIP.gateway,
    listenAll: true,
  })),
  vip: {
    address: VIP_ADDRESS,
    prefixLength: LAB_SUBNET_PREFIX,
    device: 'eth0',
    agents: MAIN_HOSTS.map(({ n, host }) => ({
      id: n,
      host,
      gateway: n,
      heartbeatPort: 7501,
      statusPort: 7502,
      gossipPort: GOSSIP.vip,
      metricsPort: METRICS.vip,
    })),
  },
};

// Where the lab keeps its data is what the operator commands look up too (`--lab`).
export { labDataDir } from '../ops/open.js';
