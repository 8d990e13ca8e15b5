/**
 * Login throttling: token buckets per username (slows password guessing against one
 * account) and per client address (slows one client trying many accounts). In memory: each
 * gateway limits what passes through it, and a failover to the other gateway only starts
 * its buckets full, which at worst lets one more burst through.
 */

/** One bucket's shape: `burst` attempts at once, refilled at `perMinute`. */
export interface BucketSettings {
  readonly burst: number;
  readonly perMinute: number;
}

export interface LoginLimits {
  readonly perUsername: BucketSettings;
  readonly perAddress: BucketSettings;
  /** Most buckets of each kind remembered; full buckets are forgotten first. Default 100,000. */
  readonly maxTrackedKeys?: number;
}

/** 10 attempts at once per username, then one every 10 s; 50 at once per address, then 5 a second. */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perUsername: { burst: 10, perMinute: 6 },
  perAddress: { burst: 50, perMinute: 300 },
};

/** Which limit refused an attempt. */
export type LimitKind = 'username' | 'address';

export type AttemptOutcome =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly limit: LimitKind; readonly retryAfterMs: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Token buckets by key. A key without a bucket is a full bucket, so forgetting full buckets
 * changes nothing; that is how memory stays bounded however many keys pass by.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly refillPerMs: number;

  constructor(
    private readonly settings: BucketSettings,
    private readonly maxKeys: number,
  ) {
    if (!(settings.burst >= 1) || !(settings.perMinute > 0)) {
      throw new RangeError('a bucket needs burst >= 1 and perMinute > 0');
    }
    this.refillPerMs = settings.perMinute / 60_000;
  }

  /** How long until `key` has a whole token (0 if it has one now). */
  waitFor(key: string, now: number): number {
    const tokens = this.tokensOf(key, now);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.refillPerMs);
  }

  /** Takes one token from `key`'s bucket; call only after {@link waitFor} answered 0. */
  take(key: string, now: number): void {
    const tokens = this.tokensOf(key, now) - 1;
    // Re-inserting moves the key to the end: the map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, { tokens, updatedAt: now });
    if (this.buckets.size > this.maxKeys) this.evict(now);
  }

  /** Buckets currently remembered (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private tokensOf(key: string, now: number): number {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return this.settings.burst;
    const elapsed = Math.max(0, now - bucket.updatedAt);
    return Math.min(this.settings.burst, bucket.tokens + elapsed * this.refillPerMs);
  }

  /** Shrinks to 90% of the cap, so the full scan runs once per many insertions, not each. */
  private evict(now: number): void {
    const target = Math.floor(this.maxKeys * 0.9);
    for (const key of [...this.buckets.keys()]) {
      if (this.tokensOf(key, now) >= this.settings.burst) this.buckets.delete(key);
    }
    // Still too many non-full buckets: forget the least recently used. An attacker spraying
    // keys can only make us forget *their* oldest buckets early, i.e. grant a little more.
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= target) break;
      this.buckets.delete(key);
    }
  }
}

/** The two login limits together: an attempt passes only if both buckets have a token. */
export class LoginRateLimiter {
  private readonly byUsername: TokenBuckets;
  private readonly byAddress: TokenBuckets;

  constructor(
    limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
    private readonly now: () => number = () => performance.now(),
  ) {
    const maxKeys = limits.maxTrackedKeys ?? 100_000;
    this.byUsername = new TokenBuckets(limits.perUsername, maxKeys);
    this.byAddress = new TokenBuckets(limits.perAddress, maxKeys);
  }

  /**
   * Records a login attempt if both limits allow it. A refused attempt takes nothing from
   * either bucket, so a blocked client does not dig itself deeper by retrying.
   */
  attempt(username: string, address: string): AttemptOutcome {
    const now = this.now();
    const user = username.toLowerCase();
    const addressWait = this.byAddress.waitFor(address, now);
    const userWait = this.byUsername.waitFor(user, now);
    if (addressWait > 0 || userWait > 0) {
      return addressWait >= userWait
        ? { allowed: false, limit: 'address', retryAfterMs: addressWait }
        : { allowed: false, limit: 'username', retryAfterMs: userWait };
    }
    this.byAddress.take(address, now);
    this.byUsername.take(user, now);
    return { allowed: true };
  }
}
