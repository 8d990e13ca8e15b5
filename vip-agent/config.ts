/**
 * A VIP agent's config file (`--config vip-vm1.json`): JSON, validated with zod, paths relative
 * to the file, in the shape of the other processes' configs (`server/process-config.ts`).
 *
 * ```json
 * { "id": "vip-vm1",
 *   "tls": { "ca": "ca.pem", "cert": "vip-vm1.pem", "key": "vip-vm1-key.pem" },
 *   "db": { "1": "10.77.0.11:7201", "2": "10.77.0.11:7202" },
 *   "vip": { "address": "10.77.0.10", "prefixLength": 24, "device": "eth0" },
 *   "gatewayHealthUrl": "https://10.77.0.11:8443/healthz",
 *   "heartbeat": { "listen": "10.77.0.11:7501", "peer": "10.77.0.12:7501", "peerId": "vip-vm2",
 *                  "keyFile": "vip.key" },
 *   "status": "10.77.0.11:7502", "metrics": "10.77.0.11:7405",
 *   "checkIntervalMs": 100 }
 * ```
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { hostPort } from '../base/config-file.js';
import { GossipConfigSchema } from '../server/gossip/config.js';
import { loadProcessConfig, MetricsListenSchema } from '../server/process-config.js';
import type { Loaded } from '../server/process-config.js';
import { vipAgentTimingProblems } from './agent.js';

const ipv4 = z.ipv4();
const agentId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.-]+$/, 'ids use letters, digits, ".", "_" and "-"');

export const VipAgentConfigSchema = z.strictObject({
  /** This agent's name on the `vip` lease and in heartbeats: unique among VIP agents. */
  id: agentId,
  /** This process's certificate (client use for the DB; server use for the status port). */
  tls: z.strictObject({ ca: z.string(), cert: z.string(), key: z.string() }),
  /** DB members' HTTPS API addresses by member id. */
  db: z.record(z.string().regex(/^[1-9][0-9]*$/), hostPort),
  /** The virtual address the active agent configures on `device`. */
  vip: z.strictObject({
    address: ipv4,
    prefixLength: z.int().min(1).max(32).default(24),
    device: z
      .string()
      .min(1)
      .max(15)
      .regex(/^[A-Za-z0-9_.@-]+$/, 'an interface name'),
  }),
  /** Name of the lease in the DB registry; both agents of a pair must use the same one. */
  leaseName: z.string().min(1).max(200).default('vip'),
  /** The local gateway's health URL (HTTPS, verified against the lab CA). */
  gatewayHealthUrl: z.url(),
  /** Authenticated UDP heartbeats with the peer agent. */
  heartbeat: z.strictObject({
    listen: hostPort,
    peer: hostPort,
    /** The peer agent's `id`: heartbeats naming anyone else are dropped. */
    peerId: agentId,
    /** File holding the key shared by the pair (at least 16 bytes). */
    keyFile: z.string().min(1),
  }),
  /** Where the agent serves `GET /v1/status` (HTTPS, client certificate required). */
  status: hostPort,
  /** Where it serves `GET /metrics` (HTTPS, client certificate required); none when absent. */
  metrics: MetricsListenSchema.optional(),
  checkIntervalMs: z.int().min(20).max(10_000).default(100),
  /**
   * Longest one call of a check (the gateway's health, the lease read, an action) may take
   * before it counts as failed. Longer than an interval, so a busy machine's slow answer is
   * still an answer: every age is measured from the send, so a late answer is never trusted
   * for longer than it deserves. `leaseMarginMs` must exceed the interval plus two of these.
   */
  callTimeoutMs: z.int().min(10).max(10_000).default(120),
  /** Timings of the decision core; see `vipDecisionConfigProblems` for how they must relate. */
  leaseTtlMs: z.int().min(100).max(60_000).default(1500),
  leaseMarginMs: z.int().min(20).max(30_000).default(500),
  renewAfterMs: z.int().min(20).max(30_000).default(300),
  maxLeaseReadAgeMs: z.int().min(20).max(30_000).default(400),
  /**
   * Silence after which the peer counts as dead. Also how long a passive peer's confirmation
   * of our "active" heartbeat lets us keep the VIP without the lease (decide.ts, rule 1): well
   * above `leaseMarginMs`, or a DB outage takes the VIP down with it.
   */
  peerDeadAfterMs: z.int().min(50).max(60_000).default(1200),
  gatewayFailureThreshold: z.int().min(1).max(100).default(3),
  gossip: GossipConfigSchema.optional(),
});
export type VipAgentConfig = z.infer<typeof VipAgentConfigSchema>;

/** A loaded config, plus the pair's heartbeat key read from `heartbeat.keyFile`. */
export type LoadedVipAgentConfig = Loaded<VipAgentConfig> & { readonly heartbeatKey: Buffer };

/**
 * Reads a VIP agent config; throws an Error whose message says what is wrong and where. The
 * timings are checked too (`vipAgentTimingProblems`), so a config that would let the agent
 * keep the VIP past its lease, or flap, is refused before anything starts.
 */
export function loadVipAgentConfig(path: string): LoadedVipAgentConfig {
  const loaded = loadProcessConfig(path, VipAgentConfigSchema);
  const { file } = loaded;
  const problems = vipAgentTimingProblems({
    checkIntervalMs: file.checkIntervalMs,
    callTimeoutMs: file.callTimeoutMs,
    decision: file,
  });
  if (file.heartbeat.peerId === file.id) problems.push('heartbeat.peerId must differ from id');
  if (problems.length > 0) throw new Error(`invalid config ${path}:\n  ${problems.join('\n  ')}`);
  let heartbeatKey: Buffer;
  try {
    // Whitespace around the key is ignored, so `openssl rand -hex 32 > vip.key` works as is.
    heartbeatKey = Buffer.from(readFileSync(loaded.path(file.heartbeat.keyFile), 'utf8').trim());
  } catch (error) {
    throw new Error(`cannot read ${file.heartbeat.keyFile}: ${(error as Error).message}`);
  }
  if (heartbeatKey.length < 16) {
    throw new Error(`config ${path}: ${file.heartbeat.keyFile} must hold at least 16 bytes`);
  }
  return { ...loaded, heartbeatKey };
}
