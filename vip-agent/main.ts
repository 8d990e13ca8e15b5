/**
 * The VIP agent process, one per gateway host: `tsx vip-agent/main.ts --config vip-1.json`.
 * Logs JSON lines on stderr, prints a readiness line on stdout, serves its status over HTTPS,
 * and on SIGTERM/SIGINT takes the VIP off this host and then releases the lease, so the peer
 * takes over at once. It refuses to start (exit 1, with the reason) when it could not manage
 * the address: no `ip`, no such device, or no CAP_NET_ADMIN — an agent that cannot remove
 * the VIP must never be in a position to hold it. With a `gossip` section it joins the
 * membership under its id (role `vip-agent`), so operators see both agents in one view; with
 * `metrics` it serves its process metrics and event-loop delay there (server/metrics).
 */
import { jsonLogger } from '../base/log.js';
import { announceReady, exitOnStartFailure, loadOrExit, stopOnSignals } from '../base/daemon.js';
import { parseHostPort } from '../base/host-port.js';
import { DbClient } from '../server/db/client.js';
import { joinGossip } from '../server/gossip/join.js';
import { serveDaemonMetrics, type ServedDaemonMetrics } from '../server/metrics/endpoint.js';
import type { GossipNode } from '../server/gossip/node.js';
import { DbRegistry } from '../supervisor/registry.js';
import { IpAddressControl, addressControlProblems } from './address.js';
import { VipAgent } from './agent.js';
import { loadVipAgentConfig } from './config.js';
import { HttpsGatewayHealth } from './gateway-health.js';
import { HeartbeatChannel } from './heartbeat.js';
import { StatusServer } from './status-server.js';

const PROGRAM = 'agenda-vip-agent';
const config = loadOrExit(PROGRAM, loadVipAgentConfig);
const { file } = config;
const logger = jsonLogger({ process: 'vip-agent', id: file.id });

const problems = await addressControlProblems(file.vip);
if (problems.length > 0) {
  process.stderr.write(
    `${PROGRAM}: cannot manage ${file.vip.address} on ${file.vip.device}:\n  ${problems.join('\n  ')}\n`,
  );
  process.exit(1);
}

// The config loader checked that the lease margin covers a check's worth of the slowest calls.
const { checkIntervalMs, callTimeoutMs } = file;
const db = new DbClient({ members: config.db, tls: config.tls });
const registry = new DbRegistry(db, callTimeoutMs);
const gateway = new HttpsGatewayHealth({
  url: file.gatewayHealthUrl,
  tls: config.tls,
  // Answered within the check's call timeout, never raced by it: a slow answer is pending.
  timeoutMs: Math.max(1, Math.floor(callTimeoutMs * 0.8)),
});
// The schema checked these are host:port.
const address = (hostPort: string) => parseHostPort(hostPort) ?? { host: '', port: 0 };

let heartbeat: HeartbeatChannel;
let status: StatusServer;
let agent: VipAgent;
let gossip: GossipNode | null = null;
let metrics: ServedDaemonMetrics | null = null;
try {
  if (file.metrics) {
    metrics = await serveDaemonMetrics({
      identity: { service: 'vip-agent', member: file.id },
      listen: address(file.metrics),
      tls: config.tls,
      logger,
    });
  }
  heartbeat = await HeartbeatChannel.open({
    self: file.id,
    peerId: file.heartbeat.peerId,
    listen: address(file.heartbeat.listen),
    peer: address(file.heartbeat.peer),
    key: config.heartbeatKey,
    restartAfterMs: file.peerDeadAfterMs,
  });
  agent = new VipAgent({
    id: file.id,
    leaseName: file.leaseName,
    registry,
    address: new IpAddressControl(file.vip),
    vip: file.vip,
    heartbeat,
    gateway,
    checkIntervalMs,
    callTimeoutMs,
    decision: file,
    logger,
  });
  status = await StatusServer.start({
    listen: address(file.status),
    tls: config.tls,
    status: () => agent.status(),
    logger,
  });
  if (file.gossip) {
    gossip = await joinGossip(
      file.gossip,
      config.path,
      { id: file.id, role: 'vip-agent' },
      config.tls,
      logger,
    );
  }
} catch (error) {
  exitOnStartFailure(logger, error);
}
agent.start();
announceReady({ process: 'vip-agent', id: file.id, vip: file.vip.address, status: file.status });
stopOnSignals(logger, async () => {
  await gossip?.close();
  await agent.close();
  await status.close();
  await heartbeat.close();
  await gateway.close();
  await db.close();
  await metrics?.close();
});
