/**
 * Password hashing with scrypt. A hash carries its cost parameters and salt, so the cost
 * can be raised later without invalidating stored hashes:
 *
 *     scrypt$N=16384,r=8,p=5$<salt, base64url>$<derived key, base64url>
 *
 * and a login whose stored hash is weaker than the current cost, or needs more memory than
 * it, replaces it ({@link PasswordHasher.needsRehash}; the users service does it).
 *
 * Hashing runs on libuv's thread pool (the async `scrypt`), never on the event loop.
 *
 * The salt of a hash is derived from its request id and username instead of drawn at
 * random. Request ids are unique, so salts stay unique per account, and the same request
 * handled twice (a replica died after sending it, the bus delivered it again) yields the
 * same hash, hence the same store command: the store's idempotency recognises it and
 * answers the original result instead of refusing a different command under a used id.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Internal, RateLimited, Unavailable } from '../../contract/errors.js';

/** scrypt's cost parameters: CPU/memory cost `N` (a power of two), block size `r`, parallelism `p`. */
export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/**
 * One of the scrypt settings OWASP's Password Storage Cheat Sheet lists as equally strong:
 * N=2^17, r=8, p=1 (128 MiB); N=2^16, p=2 (64 MiB); N=2^15, p=3 (32 MiB); N=2^14, p=5
 * (16 MiB); N=2^13, p=10 (8 MiB). Production hashes at N=2^14, r=8, p=5: an eighth of the
 * memory for five eighths of the block mixes. At 2^17, the two derivations a 2-core users
 * service runs at once held 256 MiB between them, and a burst of logins took its RSS from 80
 * to over 300 MiB. A hash is also faster here than the mixes say (0.94 s against 3.7–4.0 s
 * for 2^17 on the shared 2-core machine, busy): 16 MiB stays closer to the caches. Only tests
 * pass a cheaper cost to {@link PasswordHasher}, explicitly, where hashing is not what they
 * test.
 */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 16_384, r: 8, p: 5 };

/** The memory one derivation at `cost` needs: scrypt's V array, 128·N·r bytes. */
export function scryptMemoryBytes(cost: ScryptCost): number {
  return 128 * cost.N * cost.r;
}

/** The work of one derivation at `cost`, in block mixes: N·r per lane, p lanes. */
function scryptWork(cost: ScryptCost): number {
  return cost.N * cost.r * cost.p;
}

const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Bounds on what a stored hash may ask for, so that a corrupt or hostile hash cannot make a
// login allocate gigabytes or spin for minutes.
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
const HASH_FORMAT =
  /^scrypt\$N=([1-9][0-9]{0,7}),r=([1-9][0-9]{0,2}),p=([1-9][0-9]{0,2})\$([A-Za-z0-9_-]{8,88})\$([A-Za-z0-9_-]{16,172})$/;

function checkCost(cost: ScryptCost): void {
  const { N, r, p } = cost;
  const powerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX_N || !Number.isInteger(r) || r < 1 || r > MAX_R) {
    throw new Internal(`unusable scrypt cost N=${N},r=${r},p=${p}`);
  }
  if (!Number.isInteger(p) || p < 1 || p > MAX_P) {
    throw new Internal(`unusable scrypt cost N=${N},r=${r},p=${p}`);
  }
}

function derive(password: string, salt: Buffer, cost: ScryptCost, length: number): Promise<Buffer> {
  // scrypt needs 128·N·r bytes (16 MiB at the default cost, 128 MiB for a hash made at
  // N=2^17 before it is replaced); Node refuses anything above `maxmem`, 32 MiB unless given,
  // so it is given: twice the need, for scrypt's own buffers.
  const maxmem = 2 * scryptMemoryBytes(cost) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, length, { ...cost, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

function format(cost: ScryptCost, salt: Buffer, key: Buffer): string {
  return `scrypt$N=${cost.N},r=${cost.r},p=${cost.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

interface ParsedHash {
  readonly cost: ScryptCost;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/**
 * Reads a stored hash.
 * @throws Internal when it is not a hash this module wrote (our data is broken, not the user's input).
 */
export function parsePasswordHash(stored: string): ParsedHash {
  const match = HASH_FORMAT.exec(stored);
  if (match === null) throw new Internal('a stored password hash is not in the scrypt format');
  const [, n, r, p, salt, key] = match;
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  checkCost(cost);
  return {
    cost,
    salt: Buffer.from(salt ?? '', 'base64url'),
    key: Buffer.from(key ?? '', 'base64url'),
  };
}

/** The salt of one hash (a registration, a rehash): unique per request and username, the same on a retry. */
export function registrationSalt(requestId: string, username: string): Buffer {
  return createHash('sha256')
    .update('agenda password salt v1\0')
    .update(requestId)
    .update('\0')
    .update(username)
    .digest()
    .subarray(0, SALT_BYTES);
}

/**
 * Derivations run at once, at most: as many as the thread pool runs (4) and the machine has
 * cores. The others wait in this process's queue, where one whose request was abandoned (its
 * deadline passed, its client gave up) is dropped before it costs anything. Queued in libuv
 * instead, every one ran: under load, logins whose clients had timed out and retried queued
 * ever more hashes, half a second of a core each, until a login took a minute.
 */
const CONCURRENT_DERIVATIONS = Math.max(1, Math.min(4, availableParallelism()));

/**
 * Whose password work a derivation is: the queue serves owners in turn, one derivation each
 * (round robin), so one account's flood of checks delays another account's login by at most
 * one derivation per owner waiting, never by the whole flood.
 */
export interface PasswordOwner {
  /** The account the work is for (its username, any case). */
  readonly key: string;
  /**
   * At most this many of the owner's derivations may be running or waiting at once; one more
   * is refused at once with `RateLimited`, never queued. Unset: no cap (a login, where
   * strangers choose the username: capping it would let them lock its owner out).
   */
  readonly maxPending?: number;
}

/** How long a check refused by {@link PasswordOwner.maxPending} is told to wait. */
const PENDING_RETRY_AFTER_MS = 1_000;

/** Hashes and checks passwords at one cost. */
export class PasswordHasher {
  private decoy: Promise<string> | null = null;
  private running = 0;
  /** Waiting derivations by owner; the map's order is the turn (round robin). */
  private readonly waiting = new Map<string, (() => void)[]>();
  /** Derivations running or waiting, by owner. */
  private readonly pending = new Map<string, number>();

  constructor(readonly cost: ScryptCost = DEFAULT_SCRYPT_COST) {
    checkCost(cost);
  }

  /**
   * The stored form of `password` with `salt` (see {@link registrationSalt}).
   * @throws Unavailable when `signal` aborts before the hashing starts; RateLimited past
   *   `owner.maxPending`.
   */
  async hash(
    password: string,
    salt: Uint8Array,
    signal?: AbortSignal,
    owner?: PasswordOwner,
  ): Promise<string> {
    const saltBytes = Buffer.from(salt);
    const key = await this.derive(password, saltBytes, this.cost, KEY_BYTES, signal, owner);
    return format(this.cost, saltBytes, key);
  }

  /**
   * Whether `password` is the one `stored` was made from, compared in constant time, at the
   * cost written in the hash.
   * @throws Internal when `stored` is not a well-formed hash; Unavailable when `signal`
   *   aborts before the check starts; RateLimited past `owner.maxPending`.
   */
  async verify(
    password: string,
    stored: string,
    signal?: AbortSignal,
    owner?: PasswordOwner,
  ): Promise<boolean> {
    const { cost, salt, key } = parsePasswordHash(stored);
    const candidate = await this.derive(password, salt, cost, key.length, signal, owner);
    return timingSafeEqual(candidate, key);
  }

  /** Derivations of `owner` running or waiting now. */
  pendingFor(owner: string): number {
    return this.pending.get(owner.toLowerCase()) ?? 0;
  }

  /** {@link derive}, when it is the owner's turn and the request still wants it (see CONCURRENT_DERIVATIONS). */
  private async derive(
    password: string,
    salt: Buffer,
    cost: ScryptCost,
    length: number,
    signal: AbortSignal | undefined,
    owner: PasswordOwner | undefined,
  ): Promise<Buffer> {
    // Work without an owner shares one turn.
    const key = owner?.key.toLowerCase() ?? '';
    const pending = this.pending.get(key) ?? 0;
    if (owner?.maxPending !== undefined && pending >= owner.maxPending) {
      throw new RateLimited(
        'another password check of this account is still running; try again in a moment',
        { retryAfterMs: PENDING_RETRY_AFTER_MS, limit: 'password-checks-user' },
      );
    }
    this.pending.set(key, pending + 1);
    try {
      await this.slot(key);
      try {
        if (signal?.aborted) {
          throw new Unavailable('the request was given up before its password was checked; retry');
        }
        return await derive(password, salt, cost, length);
      } finally {
        this.handOn();
      }
    } finally {
      const left = (this.pending.get(key) ?? 1) - 1;
      if (left === 0) this.pending.delete(key);
      else this.pending.set(key, left);
    }
  }

  /** Resolves once a derivation slot is this caller's: at once when one is free. */
  private slot(key: string): Promise<void> {
    // A free slot means nobody waits: a freed slot is handed to a waiter before it is freed.
    if (this.running < CONCURRENT_DERIVATIONS) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const queue = this.waiting.get(key);
      if (queue === undefined) this.waiting.set(key, [resolve]);
      else queue.push(resolve);
    });
  }

  /** A slot is done with: the next owner in turn gets it, or it is free. */
  private handOn(): void {
    const next = this.waiting.entries().next();
    if (next.done === true) {
      this.running--;
      return;
    }
    const [key, queue] = next.value;
    const wake = queue.shift();
    // This owner's turn is taken: it goes to the back of the line, if it waits for more.
    this.waiting.delete(key);
    if (queue.length > 0) this.waiting.set(key, queue);
    wake?.();
  }

  /**
   * Whether a login that verified `stored` should store a new hash at the current cost:
   * when it was made with less work than the current cost, or with less memory (a smaller N·r
   * is cheaper to attack with many parallel cores), or needs more memory than the current
   * cost (every login with it would take that much of the service's memory, as the 128 MiB
   * hashes made at N=2^17 did). A hash with more work at no more memory is kept.
   * @throws Internal when `stored` is not a well-formed hash.
   */
  needsRehash(stored: string): boolean {
    const { cost } = parsePasswordHash(stored);
    return (
      scryptWork(cost) < scryptWork(this.cost) ||
      scryptMemoryBytes(cost) !== scryptMemoryBytes(this.cost)
    );
  }

  /**
   * Spends the time of a verification and answers false: what a login for an unknown
   * username does, so that it cannot be told from a wrong password by its duration.
   */
  async verifyNobody(
    password: string,
    signal?: AbortSignal,
    owner?: PasswordOwner,
  ): Promise<false> {
    this.decoy ??= this.hash(randomBytes(KEY_BYTES).toString('base64url'), randomBytes(SALT_BYTES));
    await this.verify(password, await this.decoy, signal, owner);
    return false;
  }
}
