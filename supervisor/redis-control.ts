/**
 * The supervisor's hold on each Redis instance: ask its replication role, promote it, point
 * it at a primary. Owned here ({@link RedisInstance}) so the daemon does not depend on
 * ioredis; {@link IoRedisInstance} is the real one, over mutual TLS, logged in as Redis's
 * ACL user `supervisor` (ROLE, REPLICAOF and the connection's INFO: server/bus/acl.ts).
 */
import type { MutualTlsMaterial } from '../base/tls.js';
import { serverWithRole } from '../server/net/client-certificate.js';
import { AclRedis, loginOptions, RefusalLog } from '../server/bus/redis-auth.js';
import type { RedisCredentials, RefusalLogger } from '../server/bus/redis-auth.js';
import type { InstanceHealth, RedisAddress } from './decide.js';

/** One Redis instance the supervisor checks and reconfigures. */
export interface RedisInstance {
  readonly address: RedisAddress;
  /** One health check; never rejects (a failure is `up: false` with the reason). */
  check(): Promise<InstanceHealth>;
  /** `REPLICAOF NO ONE`: the instance becomes a primary, keeping its data. */
  promote(): Promise<void>;
  /** `REPLICAOF host port`: the instance drops its data and follows `primary`. */
  follow(primary: RedisAddress): Promise<void>;
  /** Closes the connection. Idempotent. */
  close(): void;
}

export interface IoRedisInstanceOptions {
  readonly tls: MutualTlsMaterial;
  /** Connect and command timeout: a check must end well within one check interval. */
  readonly timeoutMs: number;
  /** Shown in `CLIENT LIST` on the server. */
  readonly connectionName: string;
  /** The ACL user and password to log in with; none: Redis's `default` user (no ACLs). */
  readonly auth?: RedisCredentials;
  /** Where a command Redis refuses (NOPERM, WRONGPASS) is logged, once per command. */
  readonly logger?: RefusalLogger;
}

/**
 * An instance over one long-lived ioredis connection. Commands are never queued or replayed
 * while the connection is down: a check must fail now, not succeed late.
 */
export class IoRedisInstance implements RedisInstance {
  private readonly client: AclRedis;
  private lastError = 'not connected yet';

  constructor(
    readonly address: RedisAddress,
    options: IoRedisInstanceOptions,
  ) {
    this.client = new AclRedis(
      {
        host: address.host,
        port: address.port,
        tls: {
          ca: options.tls.ca,
          cert: options.tls.cert,
          key: options.tls.key,
          minVersion: 'TLSv1.3',
          // Its password goes only to a Redis of the cluster, whose certificate says so.
          checkServerIdentity: serverWithRole('redis'),
        },
        connectionName: options.connectionName,
        // Sent ahead of CLIENT SETNAME without waiting for its answer: no round trip of its own.
        ...loginOptions(options.auth),
        // CLIENT SETINFO (Redis 7.2) is not among the supervisor's commands.
        disableClientInfo: true,
        connectTimeout: options.timeoutMs,
        commandTimeout: options.timeoutMs,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        // Reconnect quickly: a primary that comes back must be seen (and demoted) soon.
        retryStrategy: (attempt: number) => Math.min(attempt * 50, 250),
      },
      new RefusalLog(options.auth?.user ?? 'default', options.logger ?? { warn() {} }),
    );
    // The failure is reported by the next check; the event would crash the process otherwise.
    this.client.on('error', (error: Error) => {
      this.lastError = error.message;
    });
  }

  async check(): Promise<InstanceHealth> {
    if (this.client.status !== 'ready') return { up: false, error: this.lastError };
    try {
      return parseRole(await this.client.call('ROLE'));
    } catch (error) {
      return { up: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  async promote(): Promise<void> {
    await this.client.call('REPLICAOF', 'NO', 'ONE');
  }

  async follow(primary: RedisAddress): Promise<void> {
    await this.client.call('REPLICAOF', primary.host, String(primary.port));
  }

  close(): void {
    this.client.disconnect();
  }
}

/**
 * The health found in a `ROLE` reply: `["master", offset, replicas]` or
 * `["slave", host, port, state, offset]`. Anything else (a sentinel, a malformed reply) is
 * not an instance the supervisor can use, so it counts as down.
 */
export function parseRole(reply: unknown): InstanceHealth {
  if (!Array.isArray(reply)) return { up: false, error: 'ROLE did not answer an array' };
  const [role, ...rest] = reply as unknown[];
  if (role === 'master' && typeof rest[0] === 'number') {
    return { up: true, role: 'primary', offset: rest[0] };
  }
  if (role === 'slave') {
    const [host, port, state, offset] = rest;
    if (typeof host === 'string' && typeof port === 'number' && typeof offset === 'number') {
      return {
        up: true,
        role: 'replica',
        following: { host, port },
        linkUp: state === 'connected',
        // -1 until the first sync: it has nothing of the primary's stream yet.
        offset: Math.max(offset, 0),
      };
    }
  }
  return { up: false, error: `unexpected ROLE reply ${JSON.stringify(reply)}` };
}
