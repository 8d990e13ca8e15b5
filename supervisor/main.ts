/**
 * The Redis supervisor process: `tsx supervisor/main.ts --config supervisor-1.json`.
 * Logs JSON lines on stderr, prints a readiness line on stdout, and on SIGTERM/SIGINT
 * releases its lease (so another supervisor takes over at once) before exiting. With a
 * `gossip` section it joins the membership under its id (role `supervisor`); with `metrics`
 * it serves its process metrics and event-loop delay there (server/metrics).
 */
import { DbClient } from '../server/db/client.js';
import { serveDaemonMetrics, type ServedDaemonMetrics } from '../server/metrics/endpoint.js';
import { parseHostPort } from '../base/host-port.js';
import { jsonLogger } from '../base/log.js';
import { announceReady, exitOnStartFailure, loadOrExit, stopOnSignals } from '../base/daemon.js';
import { joinGossip } from '../server/gossip/join.js';
import type { GossipNode } from '../server/gossip/node.js';
import { loadSupervisorConfig } from './config.js';
import { IoRedisInstance } from './redis-control.js';
import { DbRegistry } from './registry.js';
import { Supervisor } from './supervisor.js';

const config = loadOrExit('agenda-supervisor', loadSupervisorConfig);
const { id, failureThreshold, checkIntervalMs } = config.file;
const logger = jsonLogger({ process: 'supervisor', id });

const db = new DbClient({ members: config.db, tls: config.tls });
// A registry call that takes two intervals is as good as failed: the lease (four intervals)
// must be known lost before it actually lapses.
const registry = new DbRegistry(db, checkIntervalMs * 2);
const instances = config.redis.map(
  (address) =>
    new IoRedisInstance(address, {
      tls: config.tls,
      // A check must end within its interval, even when a partition drops packets silently.
      timeoutMs: Math.max(50, Math.floor(checkIntervalMs * 0.8)),
      connectionName: `supervisor:${id}`,
      ...(config.redisAuth === undefined ? {} : { auth: config.redisAuth }),
      logger,
    }),
);
const supervisor = new Supervisor({
  id,
  registry,
  instances,
  failureThreshold,
  checkIntervalMs,
  logger,
});
let gossip: GossipNode | null = null;
let metrics: ServedDaemonMetrics | null = null;
try {
  if (config.file.metrics) {
    metrics = await serveDaemonMetrics({
      identity: { service: 'supervisor', member: id },
      // The schema checked it is host:port.
      listen: parseHostPort(config.file.metrics) ?? { host: '', port: 0 },
      tls: config.tls,
      logger,
    });
  }
  if (config.file.gossip) {
    gossip = await joinGossip(
      config.file.gossip,
      config.path,
      { id, role: 'supervisor' },
      config.tls,
      logger,
    );
  }
} catch (err) {
  exitOnStartFailure(logger, err);
}
supervisor.start();
announceReady({ process: 'supervisor', id, redis: config.file.redis });
stopOnSignals(logger, async () => {
  await gossip?.close();
  await supervisor.close();
  await db.close();
  await metrics?.close();
});
