/**
 * Rate limits kept in Redis, so every gateway counts against the same budget: an attacker
 * who spreads requests over both gateways gets no more than one who uses one. Counting is
 * rate-limiter-flexible's `RateLimiterRedis` (one Lua script per count: atomic, fixed
 * windows, keys expire with their window).
 *
 * Redis is the bus, and the chaos suite kills its primaries: a limit must never take the
 * API down or make a request wait on a dead Redis. So every shared count has a time budget
 * (default 150 ms, covering both finding a ready connection and the script's answer); past
 * it, or when no primary is known, the count is made in this gateway's memory instead
 * (fail open to a local limit, not to no limit), and Redis is left alone for a moment
 * (default 1 s) so that during an outage requests do not each pay the budget. While the
 * local limiter stands in, each gateway limits on its own: at worst twice the budget with two.
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { errorMessage, untilAborted } from '../bus/connection.js';

/** Keys are `<LIMIT_KEY_PREFIX>:<limit>:<key>` by default, as server/bus/acl.ts grants them. */
/**
 * The commands rate-limiter-flexible defines on a Redis client it is given (`defineCommand`).
 * A client with automatic pipelining must not pipeline them: a limiter made for a fresh
 * connection (after a Redis failover) while a pipeline of that connection was waiting
 * found the pipeline without its command, and the pipeline's answers then fell one short
 * of its callbacks: ioredis threw `results[i] is not iterable` from a callback and the
 * gateway process died (chaos, vm1-isolate; redis/ioredis#1931).
 */
export const RATE_LIMITER_COMMANDS = ['rlflxIncr'] as const;

export const LIMIT_KEY_PREFIX = 'agenda:limit';

/** What the limits log: a fallback to local counting, and the return to Redis. */
export interface LimitsLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A fixed window: `points` counts per `durationSec` seconds, per key. */
export interface LimitRule {
  readonly points: number;
  readonly durationSec: number;
}

/** Hands out the command connection to the current Redis primary, once one is ready. */
export type RedisCommands = (signal: AbortSignal) => Promise<Redis>;

/** What a count decided, and who decided it. */
export type LimitVerdict =
  | { readonly allowed: true; readonly decidedBy: 'redis' | 'local' }
  | {
      readonly allowed: false;
      readonly decidedBy: 'redis' | 'local';
      /** When the window that refused ends. */
      readonly retryAfterMs: number;
    };

export interface SharedLimitsOptions {
  /** The shared store; without it every limit is local (one gateway, or tests). */
  readonly redis?: RedisCommands;
  /** Longest a count waits for Redis before the local limiter decides. Default 150 ms. */
  readonly budgetMs?: number;
  /** After Redis failed a count, how long counts go straight to the local limiter. Default 1 s. */
  readonly pauseAfterFailureMs?: number;
  /** Names the keys: `<keyPrefix>:<limit>:<key>`. Default `agenda:limit`. */
  readonly keyPrefix?: string;
  readonly logger?: LimitsLogger;
  /** Monotonic ms, for the pause after a failure. */
  readonly now?: () => number;
}

/** The Redis side of all the gateway's limits: the time budget and the pause after a failure. */
export class SharedLimits {
  private readonly budgetMs: number;
  private readonly pauseMs: number;
  private readonly now: () => number;
  private skipRedisUntil = -Infinity;
  private failing = false;

  constructor(private readonly options: SharedLimitsOptions = {}) {
    this.budgetMs = options.budgetMs ?? 150;
    this.pauseMs = options.pauseAfterFailureMs ?? 1_000;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * A limit named `name` (unique per kind of count) with `rule`. With `keepLocal`, every
   * count is also kept by this gateway's own limiter and refused when either refuses: when
   * Redis stops answering in time, the local limit goes on from what this gateway counted
   * rather than from zero. For counts of failures (password guesses), where a slow Redis
   * must not hand an attacker a fresh budget: under load, a flood of wrong passwords got 14
   * checks past a budget of 10 when counts moved from Redis to a local limiter that had
   * seen none. Its windows start when this gateway first counts, so it may refuse a little
   * earlier than Redis would: for failures, the safe side.
   */
  limit(name: string, rule: LimitRule, options: { keepLocal?: boolean } = {}): SharedLimit {
    if (!(rule.points >= 1) || !(rule.durationSec >= 1) || !Number.isInteger(rule.durationSec)) {
      throw new RangeError(`limit ${name} needs points >= 1 and a whole durationSec >= 1`);
    }
    return new SharedLimit(
      `${this.options.keyPrefix ?? LIMIT_KEY_PREFIX}:${name}`,
      rule,
      this,
      options.keepLocal ?? false,
    );
  }

  /**
   * Runs `operation` on the current primary's connection within the budget; `undefined`
   * when Redis could not answer in time (no primary, a dead one, an error).
   */
  async withRedis<T>(operation: (client: Redis) => Promise<T>): Promise<T | undefined> {
    const source = this.options.redis;
    if (source === undefined || this.now() < this.skipRedisUntil) return undefined;
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(), this.budgetMs);
    try {
      // untilAborted stops the wait, not the command: a late answer is dropped.
      const result = await untilAborted(
        source(budget.signal).then((client) => operation(client)),
        budget.signal,
      );
      if (this.failing) this.options.logger?.info('rate limits are shared through Redis again');
      this.failing = false;
      return result;
    } catch (error) {
      this.skipRedisUntil = this.now() + this.pauseMs;
      // Once per outage: every request would log it otherwise.
      if (!this.failing) {
        this.options.logger?.warn('rate limits fall back to this gateway alone', {
          error: budget.signal.aborted
            ? `Redis did not answer within ${this.budgetMs} ms`
            : errorMessage(error),
        });
      }
      this.failing = true;
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** One named limit: counts per key, in Redis when it answers in time, locally otherwise. */
export class SharedLimit {
  /** One Redis limiter per connection: a failover hands out a new connection. */
  private readonly byConnection = new WeakMap<Redis, RateLimiterRedis>();
  private readonly local: RateLimiterMemory;

  constructor(
    private readonly keyPrefix: string,
    private readonly rule: LimitRule,
    private readonly limits: SharedLimits,
    /** Whether every count is kept locally too (see {@link SharedLimits.limit}). */
    private readonly keepLocal = false,
  ) {
    this.local = new RateLimiterMemory({
      keyPrefix,
      points: rule.points,
      duration: rule.durationSec,
    });
  }

  /** Counts one for `key`; refused once the window has used up its points. */
  async consume(key: string): Promise<LimitVerdict> {
    const [shared, local] = await Promise.all([
      this.limits.withRedis((client) => verdictOf(this.redisLimiter(client).consume(key))),
      this.keepLocal ? verdictOf(this.local.consume(key)) : undefined,
    ]);
    if (shared === undefined) {
      return { ...(local ?? (await verdictOf(this.local.consume(key)))), decidedBy: 'local' };
    }
    // Kept locally too: refused when either refuses (Redis's verdict when both do).
    if (local !== undefined && shared.allowed && !local.allowed) {
      return { ...local, decidedBy: 'local' };
    }
    return { ...shared, decidedBy: 'redis' };
  }

  /** Gives back one count of `key` (an attempt that turned out not to count, e.g. a good login). */
  async refund(key: string): Promise<void> {
    const done = await this.limits.withRedis(async (client) => {
      await this.redisLimiter(client).reward(key);
      return true;
    });
    if (done === undefined || this.keepLocal) await this.local.reward(key);
  }

  private redisLimiter(client: Redis): RateLimiterRedis {
    let limiter = this.byConnection.get(client);
    if (limiter === undefined) {
      limiter = new RateLimiterRedis({
        storeClient: client,
        keyPrefix: this.keyPrefix,
        points: this.rule.points,
        duration: this.rule.durationSec,
        // A connection that is not ready fails at once instead of waiting out the budget.
        rejectIfRedisNotReady: true,
      });
      this.byConnection.set(client, limiter);
    }
    return limiter;
  }
}

/** rate-limiter-flexible refuses by rejecting with a `RateLimiterRes`; anything else is a failure. */
async function verdictOf(
  count: Promise<RateLimiterRes>,
): Promise<{ allowed: true } | { allowed: false; retryAfterMs: number }> {
  try {
    await count;
    return { allowed: true };
  } catch (refusal) {
    if (refusal instanceof RateLimiterRes) {
      return { allowed: false, retryAfterMs: Math.max(1, refusal.msBeforeNext) };
    }
    throw refusal;
  }
}
