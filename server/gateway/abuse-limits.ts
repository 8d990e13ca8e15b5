/**
 * The gateway's abuse limits, counted in Redis so that both gateways share them
 * (../limits/shared-limits.ts, which also says what happens while Redis is away):
 *
 * - registrations per client address (each costs a 16 MiB scrypt and a Raft write, and
 *   "taken" answers tell which names exist);
 * - password checks — a login, and the current password a signed-in user gives to change
 *   it or to delete the account — per client address, and failed ones per (username,
 *   address) and per username over all addresses: one budget for all three, so a stolen
 *   access token guesses the password no faster than a login can. Each check costs a
 *   16 MiB scrypt, so at most `passwordChecksInFlight` of a signed-in user's checks from one
 *   address are in flight through a gateway at once; one more is refused at once, never
 *   queued (the users service also caps a signed-in account's checks,
 *   server/users/users-service.ts). Logins are not capped so: their attempts per address
 *   are counted whatever the outcome, and one account's several devices may well log in at
 *   the same moment;
 * - session refreshes per client address (each costs a signature check and a Raft write;
 *   a refresh token cannot be guessed, so there is no count of failures to keep);
 * - requests per signed-in user, and live streams per user open at once;
 * - a signed-in user's reads in flight at once through this gateway (`readsInFlight`, in
 *   ./service-calls.ts): they cost what they read, which a count of requests does not see.
 *
 * **The owner of an account is never locked out by strangers.** No count that other
 * addresses can raise refuses on its own: the per-username count only marks the account as
 * *under attack*, and then each address may try that account once per spacing window
 * (default 30 s) — counted per (username, address). An attacker's failures from other
 * addresses therefore never use up the owner's budget at the owner's address: the owner's
 * next attempt there passes (at worst after the spacing, if they just mistyped), while the
 * attacker's guessing is slowed to one try per address per window. What an attacker *can*
 * still do is share the owner's address (one NAT): then they share its budget too.
 *
 * A client's address is the TLS socket's remote address: nothing stands between clients and
 * the gateways, so `x-forwarded-for` is whatever the client wrote and is never read. IPv6
 * addresses count by their /64, the block one subscriber usually gets whole.
 */
import { isIPv6 } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { RateLimited } from '../../contract/errors.js';
import type {
  LimitRule,
  LimitVerdict,
  SharedLimit,
  SharedLimits,
} from '../limits/shared-limits.js';
import { StreamLeases, type StreamLease } from '../limits/stream-leases.js';
import type { GatewayMetrics } from './metrics.js';

/** The limits, each a fixed window per key (`streamsPerUser` a count of open streams). */
export interface AbuseLimitRules {
  /** Accounts registered from one address. */
  readonly registrationsPerAddress: LimitRule;
  /** Login attempts from one address, whatever the usernames (slows spraying one password). */
  readonly loginsPerAddress: LimitRule;
  /** Failed logins for one username from one address. */
  readonly loginFailuresPerUserAndAddress: LimitRule;
  /** Failed logins for one username from all addresses: past it the account is under attack. */
  readonly loginFailuresPerUser: LimitRule;
  /** While an account is under attack: login attempts for it from one address. */
  readonly loginsPerAddressUnderAttack: LimitRule;
  /** Session refreshes from one address, whatever the sessions. */
  readonly refreshesPerAddress: LimitRule;
  /** Requests of one signed-in user (session or feed token), all routes together. */
  readonly requestsPerUser: LimitRule;
  /** Live streams one user may hold open at once, over all gateways. */
  readonly streamsPerUser: number;
  /**
   * A signed-in user's password checks (password change, account deletion) from one address
   * in flight at once through this gateway.
   */
  readonly passwordChecksInFlight: number;
  /**
   * A signed-in user's reads in flight at once through this gateway; more wait their turn,
   * up to `readsWaiting`, past which one more is refused (../limits/in-flight.ts).
   */
  readonly readsInFlight: number;
  readonly readsWaiting: number;
}

/**
 * Generous for people, tight for scripts: a person registers a few accounts and mistypes a
 * password a few times; the chaos load's busiest user makes about 80 requests a second.
 */
export const DEFAULT_ABUSE_LIMITS: AbuseLimitRules = {
  registrationsPerAddress: { points: 20, durationSec: 600 },
  loginsPerAddress: { points: 60, durationSec: 60 },
  loginFailuresPerUserAndAddress: { points: 10, durationSec: 900 },
  loginFailuresPerUser: { points: 50, durationSec: 3_600 },
  loginsPerAddressUnderAttack: { points: 1, durationSec: 30 },
  // A client refreshes once per access token (15 minutes); 120 a minute is a crowd behind
  // one NAT, or a script gone wrong.
  refreshesPerAddress: { points: 120, durationSec: 60 },
  requestsPerUser: { points: 1_500, durationSec: 10 },
  streamsPerUser: 10,
  passwordChecksInFlight: 2,
  // A calendar app syncs a request at a time, a person's CLI or page a few at once; a
  // script sending dozens of full-calendar reports at once waits here, not in the store.
  readsInFlight: 4,
  readsWaiting: 64,
};

/** What a client refused for a password check already in flight is told to wait. */
const IN_FLIGHT_RETRY_AFTER_MS = 1_000;

/** A login (anyone names the username), or a signed-in user's own current password. */
export type PasswordCheckKind = 'login' | 'signed-in';

/** One admitted password check, counted as a failed login until forgiven. */
export interface PasswordCheck {
  /**
   * The check was no failed guess (the password was right, or no service answered): it is
   * taken off the failure counts. Idempotent.
   */
  forgive(): Promise<void>;
  /** The check is over (answered or not): its place in flight is free. Idempotent. */
  end(): void;
}

/** The limits the gateway applies, by what a request is. */
export class AbuseLimits {
  private readonly registrations: SharedLimit;
  private readonly loginsByAddress: SharedLimit;
  private readonly failuresByUserAndAddress: SharedLimit;
  private readonly failuresByUser: SharedLimit;
  private readonly underAttack: SharedLimit;
  private readonly refreshes: SharedLimit;
  private readonly requests: SharedLimit;
  private readonly streams: StreamLeases;
  private readonly spacingSec: number;
  private readonly checksInFlight = new Map<string, number>();
  private readonly maxChecksInFlight: number;

  constructor(
    rules: AbuseLimitRules,
    limits: SharedLimits,
    private readonly metrics: GatewayMetrics,
  ) {
    this.registrations = limits.limit('register-address', rules.registrationsPerAddress);
    this.loginsByAddress = limits.limit('login-address', rules.loginsPerAddress);
    // Password guesses are counted locally as well: a Redis slow to answer must not hand
    // a guesser a fresh budget (shared-limits.ts).
    const guesses = { keepLocal: true };
    this.failuresByUserAndAddress = limits.limit(
      'login-user-address',
      rules.loginFailuresPerUserAndAddress,
      guesses,
    );
    this.failuresByUser = limits.limit('login-user', rules.loginFailuresPerUser, guesses);
    this.underAttack = limits.limit(
      'login-user-address-spacing',
      rules.loginsPerAddressUnderAttack,
      guesses,
    );
    this.refreshes = limits.limit('refresh-address', rules.refreshesPerAddress);
    this.requests = limits.limit('requests-user', rules.requestsPerUser);
    this.streams = new StreamLeases({ perUser: rules.streamsPerUser }, limits);
    this.spacingSec = rules.loginsPerAddressUnderAttack.durationSec;
    this.maxChecksInFlight = rules.passwordChecksInFlight;
  }

  /** Counts a registration from `address`; throws {@link RateLimited} past the limit. */
  async admitRegistration(address: string): Promise<void> {
    this.refuseIfOver(
      await this.registrations.consume(address),
      'register-address',
      'too many accounts registered from this address; try again later',
    );
  }

  /**
   * Admits a check of `username`'s password from `address` (a login, or a signed-in user's
   * current password: the same budget); throws {@link RateLimited} when a limit refuses it.
   * A signed-in user's check first takes a place in flight (refused at once past
   * `passwordChecksInFlight`, before anything is counted); then the counts are taken, before
   * the password is checked, so concurrent guesses cannot all slip past one check; a good
   * password gives its counts back. The caller {@link PasswordCheck.end}s it when the check
   * is over.
   */
  async admitPasswordCheck(
    username: string,
    address: string,
    kind: PasswordCheckKind,
  ): Promise<PasswordCheck> {
    const user = username.toLowerCase();
    const pair = `${user}|${address}`;
    const end = kind === 'signed-in' ? this.takeCheckInFlight(pair) : () => {};
    try {
      return { ...(await this.countPasswordCheck(username, user, pair, address)), end };
    } catch (error) {
      end();
      throw error;
    }
  }

  /** A place in flight for a password check of `pair`, or {@link RateLimited}; the function frees it. */
  private takeCheckInFlight(pair: string): () => void {
    const inFlight = this.checksInFlight.get(pair) ?? 0;
    if (inFlight >= this.maxChecksInFlight) {
      this.metrics.limitRefused('password-checks-in-flight');
      throw new RateLimited(
        'a password check for this account from this address is still running; wait for its answer',
        { retryAfterMs: IN_FLIGHT_RETRY_AFTER_MS, limit: 'password-checks-in-flight' },
      );
    }
    this.checksInFlight.set(pair, inFlight + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.checksInFlight.get(pair) ?? 1) - 1;
      if (left === 0) this.checksInFlight.delete(pair);
      else this.checksInFlight.set(pair, left);
    };
  }

  private async countPasswordCheck(
    username: string,
    user: string,
    pair: string,
    address: string,
  ): Promise<Pick<PasswordCheck, 'forgive'>> {
    // All at once: one time budget for the lot, not one each.
    const [fromAddress, pairFailures, userFailures, spacing] = await Promise.all([
      this.loginsByAddress.consume(address),
      this.failuresByUserAndAddress.consume(pair),
      this.failuresByUser.consume(user),
      this.underAttack.consume(pair),
    ]);
    let forgiven = false;
    const forgive = async () => {
      if (forgiven) return;
      forgiven = true;
      await Promise.all([
        this.failuresByUserAndAddress.refund(pair),
        this.failuresByUser.refund(user),
        this.underAttack.refund(pair),
      ]);
    };
    try {
      this.refuseIfOver(
        fromAddress,
        'login-address',
        'too many login attempts from this address; try again later',
      );
      this.refuseIfOver(
        pairFailures,
        'login-user-address',
        `too many failed logins for ${username} from this address; try again later`,
      );
      // Only a mark: what it refuses is the spacing, per address (see the module comment).
      if (!userFailures.allowed) {
        this.refuseIfOver(
          spacing,
          'login-user-under-attack',
          `${username} is receiving many failed logins; from this address, one attempt per ` +
            `${this.spacingSec} s for now`,
        );
      }
    } catch (error) {
      // Refused before any password was checked: no guess was made, so none counts as a
      // failed one (else the owner's own attempts refused for the address's rate would lock
      // the owner out: outside attack, 533 right-password logins refused 429 did).
      await forgive().catch(() => {});
      throw error;
    }
    return { forgive };
  }

  /** Counts a session refresh from `address`; throws {@link RateLimited} past the limit. */
  async admitRefresh(address: string): Promise<void> {
    this.refuseIfOver(
      await this.refreshes.consume(address),
      'refresh-address',
      'too many session refreshes from this address; try again later',
    );
  }

  /** Counts a request of `actor`; throws {@link RateLimited} past the limit. */
  async admitRequest(actor: string): Promise<void> {
    this.refuseIfOver(
      await this.requests.consume(actor.toLowerCase()),
      'requests-user',
      'too many requests for this account; slow down',
    );
  }

  /** A place for one more live stream of `actor`; throws {@link RateLimited} at the cap. */
  async admitStream(actor: string): Promise<StreamLease> {
    const outcome = await this.streams.acquire(actor);
    if (outcome.granted) return outcome.lease;
    this.metrics.limitRefused('streams-user');
    throw new RateLimited('too many live streams open for this account; close one first', {
      retryAfterMs: outcome.retryAfterMs,
      limit: 'streams-user',
    });
  }

  /** Stops renewing stream leases. Idempotent. */
  close(): void {
    this.streams.close();
  }

  private refuseIfOver(verdict: LimitVerdict, limit: string, message: string): void {
    if (verdict.allowed) return;
    this.metrics.limitRefused(limit);
    throw new RateLimited(message, { retryAfterMs: verdict.retryAfterMs, limit });
  }
}

/**
 * The address a request's limits are counted by: the socket's peer (IPv4-mapped IPv6
 * written as IPv4), an IPv6 address cut to its /64.
 */
export function clientAddressOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  return isIPv6(address) ? ipv6Prefix64(address) : address;
}

/** The first four groups of an IPv6 address, `::` expanded: its /64. */
export function ipv6Prefix64(address: string): string {
  const [head = '', tail] = address.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
