/**
 * The whole system on this machine, on loopback — five DB members, a Redis primary and
 * replica with two supervisors, two users and two groups service replicas, two gateways — as
 * real processes over TLS, with the lab certificate authority. Used by `npm start` and the
 * end-to-end benchmark. The configs come from the plan the three-host lab shares
 * (`lab/plan.ts`); this file only runs it.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import { DataLayout } from '../layout.js';
import type { ManagedProcess } from '../../base/process.js';
import { ensurePrerequisites, JEMALLOC, REDIS } from '../prerequisites.js';
import { PlanRunner, preparePlan, recordRedisPrimary } from '../runner.js';
import { metricsTargets, type MetricsTarget, type Stage } from '../plan.js';
import type { AbuseLimitsConfig } from '../../server/process-config.js';
import { LOCAL_TOPOLOGY } from './topology.js';
import { EventLoopDelayScraper } from '../event-loop-delay.js';
import { localClusterDescription } from './observer.js';
import { writeClusterDescription } from '../../ops/description.js';
import { descriptionFile } from '../../ops/open.js';

export interface LocalSystem {
  readonly layout: DataLayout;
  /** The gateways' base URLs, in order. */
  readonly gateways: readonly string[];
  /** The lab CA clients must trust. */
  readonly ca: string;
  /** Every process by name (`db-1`, `redis-1`, `users-1`, `gateway-1`, …). */
  readonly processes: ReadonlyMap<string, ManagedProcess>;
  /** Where each daemon serves `/metrics` (read with the operator's certificate). */
  readonly metrics: readonly MetricsTarget[];
  /** Stops every process in reverse start order, waiting for each to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly dataDir: string;
  /** Progress lines. */
  readonly say?: (line: string) => void;
  /** Told when a process exits on its own (not during stop). */
  readonly onExit?: (p: ManagedProcess, code: number | null) => void;
  /** The gateways' abuse limits, when not production's (benchmarks: LOAD_GENERATOR_LIMITS). */
  readonly abuseLimits?: AbuseLimitsConfig;
}

/** What `npm start` says as each stage begins. */
const STAGE_NEWS = {
  db: 'starting the DB service (5 Raft members)…',
  'redis-primary': 'starting Redis (primary + replica, TLS)…',
  'redis-replicas': null,
  supervisors: 'starting the Redis supervisors…',
  services: 'starting the users and groups services (2 replicas each)…',
  gateways: 'starting the gateways…',
  'vip-agents': null,
} as const satisfies Record<Stage, string | null>;

/** Starts everything and resolves once every process is ready; on failure stops what started. */
export async function startLocalSystem(options: StartOptions): Promise<LocalSystem> {
  const say = options.say ?? (() => {});
  const layout = new DataLayout(options.dataDir);
  ensurePrerequisites([REDIS, JEMALLOC], { say });
  const topology = options.abuseLimits
    ? { ...LOCAL_TOPOLOGY, abuseLimits: options.abuseLimits }
    : LOCAL_TOPOLOGY;
  const plan = await preparePlan(topology, layout);
  // What `agenda cluster status` and `agenda dashboard` read to find this system.
  writeClusterDescription(descriptionFile(options.dataDir), localClusterDescription(layout));
  const runner = new PlanRunner({ plan, ...(options.onExit ? { onExit: options.onExit } : {}) });
  try {
    await runner.start(plan.processes, {
      beforeStage: (stage) => {
        const news = STAGE_NEWS[stage];
        if (news) say(news);
      },
      // The primary's address goes into the DB registry before anyone looks for it there.
      afterStage: (stage) =>
        stage === 'redis-replicas' ? recordRedisPrimary(plan) : Promise.resolve(),
    });
  } catch (err) {
    await runner.stopAll();
    throw err;
  }
  return {
    layout,
    gateways: plan.gatewayUrls,
    ca: layout.tls('operator').ca,
    processes: runner.processes,
    metrics: metricsTargets(LOCAL_TOPOLOGY),
    stop: () => runner.stopAll(),
  };
}

/** The operator's TLS material (the cluster CA, its certificate and key), as PEM. */
function operatorTls(system: LocalSystem): { ca: Buffer; cert: Buffer; key: Buffer } {
  const files = system.layout.tls('operator');
  return {
    ca: readFileSync(files.ca),
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
  };
}

/** Reads `system`'s daemons' event-loop delays, as the operator (its certificate). */
export function delayScraperOf(system: LocalSystem): EventLoopDelayScraper {
  return new EventLoopDelayScraper(system.metrics, operatorTls(system));
}

/** An HTTPS client of `system`'s daemons as the operator (a DB member's `/v1/status`…). */
export function operatorAgentOf(system: LocalSystem): Agent {
  return new Agent({ connect: operatorTls(system) });
}
