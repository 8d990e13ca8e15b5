/**
 * The `gossip` section every long-running process's config file may carry (gateways, users
 * and groups services, supervisors, VIP agents): where its UDP socket listens, whom to join
 * through, and the shared cluster key. Paths are relative to the config file, like the TLS
 * material. Without the section the process does not take part in gossip.
 *
 * ```json
 * "gossip": { "listen": "10.77.0.11:7301", "seeds": ["10.77.0.12:7301"], "keyFile": "gossip.key" }
 * ```
 */
import { z } from 'zod';
import { hostPort } from '../../base/config-file.js';

export const GossipConfigSchema = z.strictObject({
  /** Bind address of the UDP socket; also the address other members reach this one at. */
  listen: hostPort,
  /** Members to join through (`host:port`); this member's own address may be among them. */
  seeds: z.array(hostPort).max(64).default([]),
  /** File holding the shared cluster key (at least 16 bytes; whitespace around it ignored). */
  keyFile: z.string().min(1),
  /** Protocol period in milliseconds (one probe per period). */
  periodMs: z.int().min(20).max(10_000).optional(),
});
export type GossipConfig = z.infer<typeof GossipConfigSchema>;
