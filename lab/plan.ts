/**
 * One plan, two runners: a {@link Topology} says which process runs on which host at which
 * ports; {@link buildPlan} turns it into every process's config, command line, log file,
 * readiness line and certificate names. `npm start` (everything on loopback,
 * `lab/local/topology.ts`) and the three-host lab (`lab/topology.ts`) differ only in their
 * topology, so a config a process reads in the lab is the one it reads under `npm start`.
 */
import { join } from 'node:path';
import type { NodeConfigFile } from '../raft/cmd/config.js';
import type { NetAddress } from '../base/host-port.js';
import type { GossipConfig } from '../server/gossip/config.js';
import type { DaemonKind } from '../server/metrics/daemon-metrics.js';
import type { AbuseLimitsConfig, GatewayConfig, ServiceConfig } from '../server/process-config.js';

/**
 * The abuse limits of a test bed driven by one load generator: it registers and logs in
 * hundreds of users from one address in seconds, and refreshes their sessions as often, which
 * the per-address limits exist to stop (20 registrations, 60 logins and 120 refreshes a minute
 * per address). Only those are raised; the per-user and per-account ones stay as in
 * production, so the chaos load and the benchmarks still run through them.
 */
export const LOAD_GENERATOR_LIMITS: AbuseLimitsConfig = {
  registrationsPerAddress: { points: 1_000_000, durationSec: 60 },
  loginsPerAddress: { points: 1_000_000, durationSec: 60 },
  refreshesPerAddress: { points: 1_000_000, durationSec: 60 },
};
import type { SupervisorConfig } from '../supervisor/config.js';
import type { VipAgentConfigSchema } from '../vip-agent/config.js';
import type { z } from 'zod';
import type { DataLayout } from './layout.js';
import { redisArgs, type RedisSpec } from '../base/redis-server.js';
import type { ClusterRole } from '../base/cluster-role.js';

export interface TopologyHost {
  readonly name: string;
  readonly address: string;
}

/** Where every process of the system runs. Process names derive from kinds and ids. */
export interface Topology {
  readonly hosts: readonly TopologyHost[];
  readonly db: readonly { id: number; host: string; raftPort: number; apiPort: number }[];
  /** Redis instances; the first is the primary on a fresh start, the others its replicas. */
  readonly redis: readonly { id: number; host: string; port: number }[];
  /**
   * `metricsPort`: where the process serves `GET /metrics` (mutual TLS). Gateways serve it on
   * their own port, the DB members on their API port.
   */
  readonly supervisors: readonly {
    id: number;
    host: string;
    gossipPort: number;
    metricsPort: number;
  }[];
  readonly services: readonly {
    service: 'users' | 'groups';
    instance: number;
    host: string;
    gossipPort: number;
    metricsPort: number;
  }[];
  readonly gateways: readonly {
    id: number;
    host: string;
    port: number;
    gossipPort: number;
    /** Listen on every address of the host (so the gateway answers on a VIP it moves to). */
    listenAll: boolean;
  }[];
  /** Overrides of the gateways' abuse limits; the defaults where absent (`npm start`). */
  readonly abuseLimits?: AbuseLimitsConfig;
  /** The gateways' virtual address and the pair of agents that move it; none locally. */
  readonly vip?: {
    readonly address: string;
    readonly prefixLength: number;
    readonly device: string;
    readonly agents: readonly {
      id: number;
      host: string;
      /** The gateway on the same host, whose health decides. */
      gateway: number;
      heartbeatPort: number;
      statusPort: number;
      gossipPort: number;
      metricsPort: number;
    }[];
  };
}

/** Start order: each stage needs the ones before it. */
export const STAGES = [
  'db',
  'redis-primary',
  'redis-replicas',
  'supervisors',
  'services',
  'gateways',
  'vip-agents',
] as const;
export type Stage = (typeof STAGES)[number];

export type Program =
  | {
      readonly kind: 'node';
      /** Entry file, relative to the repository. */
      readonly entry: string;
      readonly configPath: string;
      readonly config: unknown;
    }
  | { readonly kind: 'redis'; readonly args: readonly string[]; readonly dir: string };

export interface PlannedProcess {
  readonly name: string;
  readonly host: string;
  readonly stage: Stage;
  readonly program: Program;
  readonly logPath: string;
  readonly readyWhen: RegExp;
  /** The IP addresses its certificate names (clients dial it at these). */
  readonly certificateAddresses: readonly string[];
  /** What its certificate lets it do in the cluster (base/pki.ts). */
  readonly role: ClusterRole;
  /**
   * A command run on the process's host after it exits, however it exited (systemd's
   * `ExecStopPost`). The VIP agent's removes the VIP: the kernel keeps an address after the
   * process that added it is killed, and the peer claims once the lease runs out.
   */
  readonly afterExit?: readonly string[];
}

export interface SystemPlan {
  readonly topology: Topology;
  readonly layout: DataLayout;
  readonly processes: readonly PlannedProcess[];
  /** DB members' HTTPS API addresses by member id. */
  readonly dbApis: ReadonlyMap<number, NetAddress>;
  /** Recorded in the DB registry as the Redis primary on a fresh start. */
  readonly initialRedisPrimary: NetAddress;
  /** Every Redis instance's host address: the only ones a supervisor may make a replica follow. */
  readonly redisHosts: readonly string[];
  /** Each gateway's own base URL. */
  readonly gatewayUrls: readonly string[];
  /** The URLs clients use: the VIP when there is one, else every gateway. */
  readonly clientUrls: readonly string[];
}

/** The token-signing key pair the users service signs with and the gateways verify with. */
export interface SigningKeyPaths {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
}

type VipAgentConfigFile = z.input<typeof VipAgentConfigSchema>;

const NODE_READY = /"event":"ready"/;
const REDIS_READY = /Ready to accept connections/;

/** The whole system for `topology`, its files under `layout`. */
export function buildPlan(
  topology: Topology,
  layout: DataLayout,
  signing: SigningKeyPaths,
): SystemPlan {
  const hostAddress = (host: string): string => {
    const found = topology.hosts.find((h) => h.name === host);
    if (!found) throw new Error(`the topology places a process on unknown host ${host}`);
    return found.address;
  };
  const at = (host: string, port: number) => `${hostAddress(host)}:${port}`;
  const dbApis = Object.fromEntries(topology.db.map((m) => [String(m.id), at(m.host, m.apiPort)]));
  const members: NodeConfigFile['members'] = {};
  for (const m of topology.db)
    members[String(m.id)] = { raft: at(m.host, m.raftPort), client: at(m.host, m.apiPort) };

  // Every gossip member seeds from all the others, so any one of them being down is harmless.
  const gossipMembers = [
    ...topology.gateways.map((g) => at(g.host, g.gossipPort)),
    ...topology.services.map((s) => at(s.host, s.gossipPort)),
    ...topology.supervisors.map((s) => at(s.host, s.gossipPort)),
    ...(topology.vip?.agents ?? []).map((a) => at(a.host, a.gossipPort)),
  ];
  const gossip = (host: string, port: number): GossipConfig => {
    const listen = at(host, port);
    return { listen, seeds: gossipMembers.filter((m) => m !== listen), keyFile: layout.gossipKey };
  };

  const processes: PlannedProcess[] = [];
  const addresses = (host: string, ...extra: string[]) => [
    ...new Set([hostAddress(host), '127.0.0.1', ...extra]),
  ];
  const node = (
    name: string,
    role: ClusterRole,
    host: string,
    stage: Stage,
    entry: string,
    config: unknown,
    extraAddresses: string[] = [],
    afterExit?: readonly string[],
  ) =>
    processes.push({
      name,
      host,
      stage,
      program: { kind: 'node', entry, configPath: layout.configFile(name), config },
      logPath: layout.logFile(name),
      readyWhen: NODE_READY,
      certificateAddresses: addresses(host, ...extraAddresses),
      role,
      ...(afterExit ? { afterExit } : {}),
    });

  for (const m of topology.db) {
    const config: NodeConfigFile = {
      id: m.id,
      clusterId: 'agenda-db',
      dataDir: join(layout.dir(`db-${m.id}`), 'data'),
      members,
      tls: layout.tls(`db-${m.id}`),
      join: false,
      tickMs: 50,
      electionTicks: 10,
      heartbeatTicks: 1,
      snapshotEvery: 50_000,
      // The log a member keeps in memory is bounded by size too (issue 17): 16 MiB, or the
      // state's image if that is larger.
      snapshotBytes: 16 * 1024 * 1024,
      snapshotRetain: 5_000,
      followerApplyBatch: 64,
      peerCertificatePrefix: 'db-',
    };
    node(`db-${m.id}`, 'db', m.host, 'db', 'server/db/main.ts', config);
  }

  const primary = topology.redis[0];
  if (!primary) throw new Error('the topology has no Redis instance');
  const redisDir = layout.dir('redis');
  for (const r of topology.redis) {
    const name = `redis-${r.id}`;
    const spec: RedisSpec = {
      name,
      host: hostAddress(r.host),
      tlsPort: r.port,
      dir: redisDir,
      tls: layout.tls(name),
      // The same on every instance: the ACL users, and the login a replica uses.
      configFile: layout.redisAuthConfig,
      ...(r === primary
        ? {}
        : { replicaOf: { host: hostAddress(primary.host), port: primary.port } }),
    };
    processes.push({
      name,
      host: r.host,
      stage: r === primary ? 'redis-primary' : 'redis-replicas',
      program: { kind: 'redis', args: redisArgs(spec), dir: redisDir },
      logPath: layout.logFile(name),
      readyWhen: REDIS_READY,
      certificateAddresses: addresses(r.host),
      role: 'redis',
    });
  }

  for (const s of topology.supervisors) {
    const config: SupervisorConfig = {
      id: `supervisor-${s.id}`,
      tls: layout.tls(`supervisor-${s.id}`),
      db: dbApis,
      redis: topology.redis.map((r) => at(r.host, r.port)),
      redisAuth: { user: 'supervisor', passwordFile: layout.redisPassword('supervisor') },
      failureThreshold: 3,
      checkIntervalMs: 250,
      gossip: gossip(s.host, s.gossipPort),
      metrics: at(s.host, s.metricsPort),
    };
    node(`supervisor-${s.id}`, 'supervisor', s.host, 'supervisors', 'supervisor/main.ts', config);
  }

  for (const s of topology.services) {
    const name = `${s.service}-${s.instance}`;
    const config: ServiceConfig = {
      service: s.service,
      instance: s.instance,
      tls: layout.tls(name),
      db: dbApis,
      redisAuth: { user: s.service, passwordFile: layout.redisPassword(s.service) },
      ...(s.service === 'users' ? { signingKey: signing.privateKeyPath } : {}),
      verificationKey: signing.publicKeyPath,
      concurrency: 32,
      gossip: gossip(s.host, s.gossipPort),
      metrics: at(s.host, s.metricsPort),
    };
    node(name, s.service, s.host, 'services', 'server/services/main.ts', config);
  }

  const vip = topology.vip;
  const gatewayUrls = topology.gateways.map((g) => `https://${at(g.host, g.port)}`);
  for (const g of topology.gateways) {
    const config: GatewayConfig = {
      id: g.id,
      listen: g.listenAll ? `0.0.0.0:${g.port}` : at(g.host, g.port),
      tls: layout.tls(`gateway-${g.id}`),
      db: dbApis,
      redisAuth: { user: 'gateway', passwordFile: layout.redisPassword('gateway') },
      verificationKey: signing.publicKeyPath,
      publicUrl: vip ? `https://${vip.address}:${g.port}` : `https://${at(g.host, g.port)}`,
      gossip: gossip(g.host, g.gossipPort),
      ...(topology.abuseLimits ? { abuseLimits: topology.abuseLimits } : {}),
    };
    const extra = vip ? [vip.address] : [];
    node(`gateway-${g.id}`, 'gateway', g.host, 'gateways', 'server/gateway/main.ts', config, extra);
  }

  for (const a of vip?.agents ?? []) {
    if (!vip) break;
    const peer = vip.agents.find((p) => p !== a);
    const gateway = topology.gateways.find((g) => g.id === a.gateway);
    if (!peer || !gateway) throw new Error(`VIP agent ${a.id} needs a peer agent and a gateway`);
    const config: VipAgentConfigFile = {
      id: `vip-${a.id}`,
      tls: layout.tls(`vip-${a.id}`),
      db: dbApis,
      vip: { address: vip.address, prefixLength: vip.prefixLength, device: vip.device },
      gatewayHealthUrl: `https://${at(gateway.host, gateway.port)}/healthz`,
      heartbeat: {
        listen: at(a.host, a.heartbeatPort),
        peer: at(peer.host, peer.heartbeatPort),
        peerId: `vip-${peer.id}`,
        keyFile: layout.vipHeartbeatKey,
      },
      status: at(a.host, a.statusPort),
      checkIntervalMs: 100,
      gossip: gossip(a.host, a.gossipPort),
      metrics: at(a.host, a.metricsPort),
    };
    const removeVip = [
      'ip',
      'addr',
      'del',
      `${vip.address}/${vip.prefixLength}`,
      'dev',
      vip.device,
    ];
    node(
      `vip-${a.id}`,
      'vip-agent',
      a.host,
      'vip-agents',
      'vip-agent/main.ts',
      config,
      [],
      removeVip,
    );
  }

  const firstGateway = topology.gateways[0];
  return {
    topology,
    layout,
    processes,
    dbApis: new Map(topology.db.map((m) => [m.id, { host: hostAddress(m.host), port: m.apiPort }])),
    initialRedisPrimary: { host: hostAddress(primary.host), port: primary.port },
    redisHosts: topology.redis.map((r) => hostAddress(r.host)),
    gatewayUrls,
    clientUrls: vip && firstGateway ? [`https://${vip.address}:${firstGateway.port}`] : gatewayUrls,
  };
}

/** A process whose `/metrics` an operator may scrape. */
export interface MetricsTarget {
  /** The process's name: `gateway-1`, `users-2`, `db-3`, … */
  readonly name: string;
  readonly kind: DaemonKind;
  /** Its `/metrics` URL (HTTPS, the operator's certificate). */
  readonly url: string;
}

/**
 * Every daemon of `topology` with where its metrics are: the addresses {@link buildPlan}
 * writes into the configs. Redis is not a daemon of ours and is not listed.
 */
export function metricsTargets(topology: Topology): MetricsTarget[] {
  const at = (host: string, port: number) => {
    const found = topology.hosts.find((h) => h.name === host);
    if (!found) throw new Error(`the topology places a process on unknown host ${host}`);
    return `https://${found.address}:${port}/metrics`;
  };
  return [
    ...topology.gateways.map((g) => ({
      name: `gateway-${g.id}`,
      kind: 'gateway' as const,
      url: at(g.host, g.port),
    })),
    ...topology.services.map((s) => ({
      name: `${s.service}-${s.instance}`,
      kind: s.service,
      url: at(s.host, s.metricsPort),
    })),
    ...topology.supervisors.map((s) => ({
      name: `supervisor-${s.id}`,
      kind: 'supervisor' as const,
      url: at(s.host, s.metricsPort),
    })),
    ...(topology.vip?.agents ?? []).map((a) => ({
      name: `vip-${a.id}`,
      kind: 'vip-agent' as const,
      url: at(a.host, a.metricsPort),
    })),
    ...topology.db.map((m) => ({
      name: `db-${m.id}`,
      kind: 'db' as const,
      url: at(m.host, m.apiPort),
    })),
  ];
}

/** The processes of `plan` on `host`, in start order. */
export function processesOn(plan: SystemPlan, host: string): PlannedProcess[] {
  return plan.processes.filter((p) => p.host === host);
}
