/**
 * A supervisor's config file (`--config supervisor-1.json`): JSON, validated with zod, paths
 * relative to the file, in the shape of the other processes' configs
 * (`server/process-config.ts`) so the lab writes them one way.
 *
 * ```json
 * { "id": "supervisor-1",
 *   "tls": { "ca": "ca.pem", "cert": "supervisor-1.pem", "key": "supervisor-1-key.pem" },
 *   "db": { "1": "10.0.0.1:7001", "2": "10.0.0.1:7002" },
 *   "redis": ["10.0.0.1:6380", "10.0.0.2:6380"],
 *   "redisAuth": { "user": "supervisor", "passwordFile": "redis-supervisor.password" },
 *   "failureThreshold": 3, "checkIntervalMs": 250, "metrics": "10.0.0.1:7404",
 *   "gossip": { "listen": "10.0.0.1:7301", "seeds": ["10.0.0.2:7301"], "keyFile": "gossip.key" } }
 * ```
 */
import { z } from 'zod';
import { hostPort } from '../base/config-file.js';
import { GossipConfigSchema } from '../server/gossip/config.js';
import { RedisAuthSchema } from '../server/bus/redis-auth.js';
import { loadProcessConfig, MetricsListenSchema } from '../server/process-config.js';
import type { Loaded } from '../server/process-config.js';
import { parseHostPort } from '../base/host-port.js';
import type { RedisAddress } from './decide.js';

export const SupervisorConfigSchema = z.strictObject({
  /** This supervisor's name on the lease: unique among supervisors. */
  id: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9_.-]+$/, 'ids use letters, digits, ".", "_" and "-"'),
  /** This process's certificate (client use, for the DB and Redis) and the lab CA. */
  tls: z.strictObject({ ca: z.string(), cert: z.string(), key: z.string() }),
  /** DB members' HTTPS API addresses by member id. */
  db: z.record(z.string().regex(/^[1-9][0-9]*$/), hostPort),
  /** Every Redis instance, primary and replicas, as `host:port` (their TLS port). */
  redis: z.array(hostPort).min(1),
  /** Redis's ACL user `supervisor` and its password file (server/bus/redis-auth.ts). */
  redisAuth: RedisAuthSchema.optional(),
  failureThreshold: z.int().min(1).max(100).default(3),
  checkIntervalMs: z.int().min(20).max(10_000).default(250),
  /** Where it serves `GET /metrics` (mutual TLS); none when absent. */
  metrics: MetricsListenSchema.optional(),
  /** Membership: the supervisor joins under its `id` with role `supervisor`. */
  gossip: GossipConfigSchema.optional(),
});
export type SupervisorConfig = z.infer<typeof SupervisorConfigSchema>;

/** A supervisor config, read, validated and with its TLS material loaded. */
export interface LoadedSupervisorConfig extends Loaded<SupervisorConfig> {
  readonly redis: readonly RedisAddress[];
}

/** Reads a supervisor config; throws an Error whose message says what is wrong and where. */
export function loadSupervisorConfig(path: string): LoadedSupervisorConfig {
  const loaded = loadProcessConfig(path, SupervisorConfigSchema);
  const redis = loaded.file.redis.flatMap((s) => {
    const address = parseHostPort(s);
    return address === null ? [] : [address];
  });
  const distinct = new Set(redis.map((a) => `${a.host}:${a.port}`));
  if (distinct.size !== redis.length)
    throw new Error(`config ${path}: a Redis instance is listed twice`);
  return { ...loaded, redis };
}
