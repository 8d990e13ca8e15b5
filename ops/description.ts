/**
 * What the operator observer watches, described as data so that one observer serves every
 * topology: `npm start` on loopback (`lab/local/observer.ts` builds it), the three-namespace
 * lab and the Multipass VMs (each writes it as `observer.json` next to its configs).
 *
 * ```json
 * { "name": "lab",
 *   "tls": { "ca": "pki/ca.pem", "cert": "pki/operator.pem", "key": "pki/operator-key.pem" },
 *   "db": { "members": [{ "id": 1, "name": "db-1", "api": "10.77.0.11:7201" }], "tickMs": 50 },
 *   "redis": [{ "name": "redis-1", "address": "10.77.0.11:6380" }],
 *   "redisAuth": { "user": "operator", "passwordFile": "pki/redis-operator.password" },
 *   "vip": { "address": "10.77.0.10", "leaseName": "vip",
 *            "agents": [{ "id": "vip-1", "host": "vm1", "status": "10.77.0.11:7502" }] },
 *   "gossip": { "listen": "10.77.0.1:0", "seeds": ["10.77.0.11:7301"], "keyFile": "gossip.key" } }
 * ```
 *
 * Every section but `tls` is optional: what is not described is shown as "not observed".
 * Paths in a file are relative to the file; {@link loadClusterDescription} resolves them.
 */
import { writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
import { hostPort, readJsonConfig } from '../base/config-file.js';
import { parseHostPort } from '../base/host-port.js';
import { RedisAuthSchema } from '../server/bus/redis-auth.js';

/** Like `hostPort`, but port 0 is allowed: "any free port". */
const bindAddress = z
  .string()
  .refine((s) => /^.+:0$/.test(s) || parseHostPort(s) !== null, 'expected host:port (port 0: any)');
const name = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.-]+$/, 'names use letters, digits, ".", "_" and "-"');

export const ClusterDescriptionSchema = z.strictObject({
  /** What to call this topology in messages: `local`, `lab`, `multipass`. */
  name: name.default('cluster'),
  /** The operator's certificate: a client certificate every process of the topology accepts. */
  tls: z.strictObject({ ca: z.string().min(1), cert: z.string().min(1), key: z.string().min(1) }),
  /** The DB (Raft) members' HTTPS API addresses; the registry (leases, Redis primary) is read there. */
  db: z
    .strictObject({
      members: z
        .array(
          z.strictObject({
            id: z.int().positive(),
            /** Shown name; `db-<id>` by default. */
            name: name.optional(),
            api: hostPort,
          }),
        )
        .min(1)
        .max(64),
      /** Milliseconds per Raft tick, to turn "ticks since contact" into time. */
      tickMs: z.int().min(1).max(10_000).default(50),
    })
    .optional(),
  /** Redis instances (TLS, the same CA), asked `ROLE`. */
  redis: z
    .array(z.strictObject({ name, address: hostPort }))
    .max(16)
    .optional(),
  /** The ACL user Redis is asked as (`operator`) and its password file; none: `default`. */
  redisAuth: RedisAuthSchema.optional(),
  /** The virtual IP and the agents that move it; each serves `GET /v1/status` (mutual TLS). */
  vip: z
    .strictObject({
      address: z.ipv4(),
      /** The lease the agents contend for in the DB registry. */
      leaseName: z.string().min(1).max(200).default('vip'),
      agents: z
        .array(z.strictObject({ id: name, host: name, status: hostPort }))
        .min(1)
        .max(8),
    })
    .optional(),
  /** Gossip: the observer joins as a member of role `observer` and shows its own view. */
  gossip: z
    .strictObject({
      /** Where the observer's UDP socket binds; others must reach it there. Port 0: any free. */
      listen: bindAddress,
      seeds: z.array(hostPort).min(1).max(64),
      /** The shared cluster key's file (at least 16 bytes; surrounding whitespace ignored). */
      keyFile: z.string().min(1),
      /**
       * The observer's member id; `observer-<hostname>-<pid>` by default. It must begin with
       * `observer-`: only such ids may be signed for with the operator's certificate
       * (server/gossip/proof.ts), so an observer can never speak for a daemon.
       */
      id: name
        .refine((id) => id.startsWith('observer-'), 'an observer id begins with "observer-"')
        .optional(),
      /** Protocol period in ms; must match the cluster's for sensible suspicion timing. */
      periodMs: z.int().min(20).max(10_000).optional(),
    })
    .optional(),
  /** How often a snapshot is taken, in ms (the dashboard wants at least two a second). */
  pollMs: z.int().min(50).max(60_000).default(500),
  /** How long one target may take to answer before it counts as down this round. */
  timeoutMs: z.int().min(50).max(60_000).default(400),
});

/** A topology to observe, as written by hand or in `observer.json` (defaults not yet applied). */
export type ClusterDescriptionInput = z.input<typeof ClusterDescriptionSchema>;
/** A topology to observe, validated, defaults applied. */
export type ClusterDescription = z.output<typeof ClusterDescriptionSchema>;

/** Validates a description built in code; throws an Error saying what is wrong. */
export function parseClusterDescription(input: unknown): ClusterDescription {
  const parsed = ClusterDescriptionSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(`invalid cluster description: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * Reads `observer.json` (or any description file), resolving its paths against the file's
 * directory; throws an Error whose message names the file and what is wrong.
 */
export function loadClusterDescription(path: string): ClusterDescription {
  const file = readJsonConfig(path, ClusterDescriptionSchema);
  const at = (p: string) => resolve(dirname(resolve(path)), p);
  return {
    ...file,
    tls: { ca: at(file.tls.ca), cert: at(file.tls.cert), key: at(file.tls.key) },
    ...(file.gossip ? { gossip: { ...file.gossip, keyFile: at(file.gossip.keyFile) } } : {}),
    ...(file.redisAuth
      ? { redisAuth: { ...file.redisAuth, passwordFile: at(file.redisAuth.passwordFile) } }
      : {}),
  };
}

/**
 * Writes a description to `path` for {@link loadClusterDescription}, validated first. Absolute
 * paths in it are written relative to the file's directory, so the directory can move.
 */
export function writeClusterDescription(path: string, description: ClusterDescriptionInput): void {
  const checked = parseClusterDescription(description);
  const base = dirname(resolve(path));
  const rel = (p: string) => (isAbsolute(p) ? relative(base, p) || '.' : p);
  const file: ClusterDescriptionInput = {
    ...checked,
    tls: { ca: rel(checked.tls.ca), cert: rel(checked.tls.cert), key: rel(checked.tls.key) },
    ...(checked.gossip
      ? { gossip: { ...checked.gossip, keyFile: rel(checked.gossip.keyFile) } }
      : {}),
    ...(checked.redisAuth
      ? { redisAuth: { ...checked.redisAuth, passwordFile: rel(checked.redisAuth.passwordFile) } }
      : {}),
  };
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
}
