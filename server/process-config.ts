/**
 * The config files of the stateless processes (logic services and gateways): JSON,
 * validated with zod, paths relative to the file. One shape for the parts they share
 * (TLS material, the DB members), so the lab writes them one way.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { hostPort, readJsonConfig } from '../base/config-file.js';
import { parseHostPort } from '../base/host-port.js';
import type { NetAddress } from '../base/host-port.js';
import type { MutualTlsMaterial } from '../base/tls.js';
import { GossipConfigSchema } from './gossip/config.js';
import { readRedisCredentials, RedisAuthSchema } from './bus/redis-credentials.js';
import type { RedisAuthFile, RedisCredentials } from './bus/redis-credentials.js';

const common = {
  /** This process's certificate (server and client use) and the lab CA. */
  tls: z.strictObject({ ca: z.string(), cert: z.string(), key: z.string() }),
  /** DB members' HTTPS API addresses by member id. */
  db: z.record(z.string().regex(/^[1-9][0-9]*$/), hostPort),
  /**
   * Redis's ACL user of this role and its password file (server/bus/redis-auth.ts); without
   * it the bus connects as Redis's `default` user, which the lab's Redis refuses.
   */
  redisAuth: RedisAuthSchema.optional(),
};

/**
 * Where a daemon serves `GET /metrics` (HTTPS; a client certificate from the cluster CA
 * required): its process metrics and event-loop delay (server/metrics). None when absent.
 */
export const MetricsListenSchema = hostPort;

export const ServiceConfigSchema = z.strictObject({
  service: z.enum(['users', 'groups']),
  instance: z.number().int().positive(),
  ...common,
  /** The users service's token-signing private key (PKCS#8 PEM, mode 0600). */
  signingKey: z.string().optional(),
  /** Its public key (SPKI PEM): each request's token is verified with it again here. */
  verificationKey: z.string(),
  concurrency: z.number().int().min(1).max(1024).default(32),
  metrics: MetricsListenSchema.optional(),
  /** Membership: the replica joins as `<service>-<instance>` with role `<service>`. */
  gossip: GossipConfigSchema.optional(),
});
export type ServiceConfig = z.infer<typeof ServiceConfigSchema>;

const limitRule = z.strictObject({
  points: z.number().int().min(1),
  durationSec: z.number().int().min(1),
});

/**
 * Overrides of the gateway's abuse limits (server/gateway/abuse-limits.ts), each optional:
 * production keeps the defaults; a test bed whose load generator registers and logs in
 * hundreds of users from one address raises the per-address ones, and says so.
 */
export const AbuseLimitsConfigSchema = z.strictObject({
  registrationsPerAddress: limitRule.optional(),
  loginsPerAddress: limitRule.optional(),
  loginFailuresPerUserAndAddress: limitRule.optional(),
  loginFailuresPerUser: limitRule.optional(),
  loginsPerAddressUnderAttack: limitRule.optional(),
  refreshesPerAddress: limitRule.optional(),
  requestsPerUser: limitRule.optional(),
  streamsPerUser: z.number().int().min(1).optional(),
});
export type AbuseLimitsConfig = z.infer<typeof AbuseLimitsConfigSchema>;

export const GatewayConfigSchema = z.strictObject({
  id: z.number().int().positive(),
  listen: hostPort,
  ...common,
  /** The users service's token verification key (SPKI PEM). */
  verificationKey: z.string(),
  /** The public base URL clients use (for feed links), e.g. https://127.0.0.1:8443. */
  publicUrl: z.string().url().optional(),
  abuseLimits: AbuseLimitsConfigSchema.optional(),
  /**
   * Membership: the gateway joins as `gateway-<id>` and refuses at once (503) requests for a
   * service that gossip knows to have no replica up.
   */
  gossip: GossipConfigSchema.optional(),
});
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

/** A config file read and validated, with its paths resolved and TLS material loaded. */
export interface Loaded<T> {
  readonly file: T;
  readonly tls: MutualTlsMaterial;
  readonly db: ReadonlyMap<number, NetAddress>;
  /** Who the process logs in to Redis as, password read; none without `redisAuth`. */
  readonly redisAuth?: RedisCredentials;
  readonly path: (p: string) => string;
}

/** Reads a config; throws an Error whose message says what is wrong and where. */
export function loadProcessConfig<
  T extends {
    tls: { ca: string; cert: string; key: string };
    db: Record<string, string>;
    redisAuth?: RedisAuthFile;
  },
>(path: string, schema: z.ZodType<T>): Loaded<T> {
  const file = readJsonConfig(path, schema);
  const base = dirname(resolve(path));
  const at = (p: string) => resolve(base, p);
  const read = (p: string) => {
    try {
      return readFileSync(at(p));
    } catch (err) {
      throw new Error(`cannot read ${p}: ${(err as Error).message}`);
    }
  };
  const db = new Map<number, NetAddress>();
  for (const [id, address] of Object.entries(file.db)) {
    const a = parseHostPort(address);
    if (a) db.set(Number(id), a);
  }
  if (db.size === 0) throw new Error(`config ${path}: no DB members listed`);
  let redisAuth: RedisCredentials | undefined;
  if (file.redisAuth !== undefined) {
    try {
      redisAuth = readRedisCredentials(file.redisAuth, at);
    } catch (err) {
      throw new Error(`config ${path}: ${(err as Error).message}`);
    }
  }
  return {
    file,
    tls: { ca: read(file.tls.ca), cert: read(file.tls.cert), key: read(file.tls.key) },
    db,
    ...(redisAuth === undefined ? {} : { redisAuth }),
    path: at,
  };
}
