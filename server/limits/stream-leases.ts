/**
 * A cap on the live streams one user holds open at once, over all gateways. A stream is a
 * connection to one gateway process, so a plain shared counter would leak whenever a
 * gateway dies with streams open. Each open stream holds a *lease* instead: a member of the
 * user's sorted set in Redis, scored by its expiry, which the gateway holding it renews
 * while it is open and removes when it ends. A dead gateway's leases expire by themselves
 * within one lease time (default 30 s), which is also the wait a refused client is told.
 *
 * Like the rate limits (./shared-limits.ts), every Redis call runs within the limits' time
 * budget: when Redis cannot answer, the cap is applied to this gateway's own streams
 * (fail open to a local cap), and a renewal that fails is simply tried again next time.
 */
import type { Redis } from 'ioredis';
import type { SharedLimits } from './shared-limits.js';

/** Keys are `<STREAM_LEASE_KEY_PREFIX>:<user>` by default, as server/bus/acl.ts grants them. */
export const STREAM_LEASE_KEY_PREFIX = 'agenda:streams';

export interface StreamLeasesOptions {
  /** Streams one user may hold open at once. */
  readonly perUser: number;
  /** How long a lease lives without renewal, in ms. Default 30 s; renewed every third of it. */
  readonly leaseMs?: number;
  /** Names the keys: `<keyPrefix>:<user>`. Default `agenda:streams`. */
  readonly keyPrefix?: string;
}

/** One open stream's place under the cap; {@link release} it when the stream ends. */
export interface StreamLease {
  /** Gives the place back. Idempotent. */
  release(): void;
}

export type LeaseOutcome =
  | { readonly granted: true; readonly lease: StreamLease }
  | { readonly granted: false; readonly retryAfterMs: number };

/**
 * Drops expired leases, then adds one if fewer than the cap remain. Redis's own clock scores
 * the leases, so the gateways' clocks need not agree. Answers 1 (granted) or 0.
 * KEYS[1] the user's set; ARGV: cap, lease ms, lease id.
 */
const ACQUIRE = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** Pushes back the expiry of leases still held (XX: a lease already expired stays gone). */
const RENEW = `
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', ms + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

let nextLeaseId = 0;

/** The leases of this gateway's open streams, and the cap they are counted against. */
export class StreamLeases {
  private readonly leaseMs: number;
  private readonly keyPrefix: string;
  /** The leases held here, by user: renewed together, and the local cap's count. */
  private readonly held = new Map<string, Set<string>>();
  private readonly renewal: NodeJS.Timeout;
  /** Unique per process, so two gateways' lease ids never collide. */
  private readonly owner = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

  constructor(
    private readonly options: StreamLeasesOptions,
    private readonly limits: SharedLimits,
  ) {
    if (!(options.perUser >= 1)) throw new RangeError('a stream cap needs perUser >= 1');
    this.leaseMs = options.leaseMs ?? 30_000;
    this.keyPrefix = options.keyPrefix ?? STREAM_LEASE_KEY_PREFIX;
    this.renewal = setInterval(() => void this.renewAll(), this.leaseMs / 3);
    this.renewal.unref();
  }

  /** A place for one more stream of `user`, if the cap allows. */
  async acquire(user: string): Promise<LeaseOutcome> {
    const id = `${this.owner}-${nextLeaseId++}`;
    const key = this.keyOf(user);
    const shared = await this.limits.withRedis(
      async (client) =>
        (await client.eval(ACQUIRE, 1, key, this.options.perUser, this.leaseMs, id)) === 1,
    );
    const mine = this.held.get(user) ?? new Set<string>();
    const granted = shared ?? mine.size < this.options.perUser;
    if (!granted) return { granted: false, retryAfterMs: this.leaseMs };
    mine.add(id);
    this.held.set(user, mine);
    let released = false;
    return {
      granted: true,
      lease: {
        release: () => {
          if (released) return;
          released = true;
          mine.delete(id);
          if (mine.size === 0 && this.held.get(user) === mine) this.held.delete(user);
          // Best effort: a lease not removed expires within one lease time.
          void this.limits.withRedis((client) => client.zrem(key, id));
        },
      },
    };
  }

  /** Leases held here now, for tests and metrics. */
  heldBy(user: string): number {
    return this.held.get(user)?.size ?? 0;
  }

  /** Stops renewing; leases still held expire on their own. Idempotent. */
  close(): void {
    clearInterval(this.renewal);
  }

  private async renewAll(): Promise<void> {
    // In one go: the connection pipelines the scripts issued in one turn.
    await Promise.all(
      [...this.held].map(([user, ids]) =>
        this.limits.withRedis((client: Redis) =>
          client.eval(RENEW, 1, this.keyOf(user), this.leaseMs, ...ids),
        ),
      ),
    );
  }

  private keyOf(user: string): string {
    return `${this.keyPrefix}:${user.toLowerCase()}`;
  }
}
