/**
 * Who a daemon logs in to Redis as: the ACL users, the `redisAuth` section of a config file
 * and the password it names (how and why: ./redis-auth.ts).
 *
 * Apart from the client (./redis-auth.ts) because every daemon's config is read with this
 * schema, and the ones that never talk to Redis (the VIP agents, the DB members) should not
 * load ioredis to read it: 16 MB of private memory each.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The Redis ACL users, one per role that talks to Redis: the bus's (gateways, the users and
 * the groups services), the supervisors', the operator's, and the replicas' link to their
 * primary (`replication`, `masteruser` in the Redis config).
 */
export const REDIS_USERS = [
  'gateway',
  'users',
  'groups',
  'supervisor',
  'operator',
  'replication',
] as const;
export type RedisUser = (typeof REDIS_USERS)[number];

/** A config file's `redisAuth` section: the ACL user and the file holding its password. */
export const RedisAuthSchema = z.strictObject({
  user: z.enum(REDIS_USERS),
  /** Mode 0600; the password is the file's content without surrounding whitespace. */
  passwordFile: z.string().min(1),
});
export type RedisAuthFile = z.infer<typeof RedisAuthSchema>;

/** Who a client logs in to Redis as. */
export interface RedisCredentials {
  readonly user: RedisUser;
  readonly password: string;
}

/** Shorter passwords are refused: the lab's are 64 hex digits. */
const MIN_PASSWORD_LENGTH = 16;

/**
 * The credentials `file` names, the password read from `resolve(file.passwordFile)`.
 * @throws Error naming the file when it cannot be read or holds too short a password.
 */
export function readRedisCredentials(
  file: RedisAuthFile,
  resolve: (path: string) => string = (p) => p,
): RedisCredentials {
  const path = resolve(file.passwordFile);
  let password: string;
  try {
    password = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new Error(`cannot read the Redis password of ${file.user}: ${(err as Error).message}`);
  }
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new Error(
      `the Redis password file ${path} holds fewer than ${MIN_PASSWORD_LENGTH} characters`,
    );
  }
  return { user: file.user, password };
}
