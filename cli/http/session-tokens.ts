/**
 * The access token a client sends, renewed when it runs out. Access tokens live minutes
 * (contract/api.ts, `LoginAnswer`); a session's refresh token renews them
 * (`POST /v1/sessions/refresh`) for its 30 days, and is spent by doing so: each renewal
 * answers the next refresh token, and a spent one sent again ends the session on the server
 * (someone else holds a copy). So renewals are careful to spend each refresh token once:
 * one renewal at a time per process, and before renewing, the latest tokens another process
 * of the same stored login may have saved are taken up instead.
 *
 * A renewal the server carried out but whose answer never came back (a service that stalled
 * past the client's deadline, then went on) has spent the refresh token all the same: sent
 * again after its grace under another id, it would end the session. So each renewal is
 * first written down as pending ({@link PendingRefresh}: the refresh token and an
 * idempotency key), sent under that key, and the record goes with the answer's tokens. A
 * renewal that finds one pending for the refresh token it holds — in this process or in
 * the store, from another — sends the same request again, key and token, and the server
 * answers the rotation it made (server/gateway/request-ids.ts).
 *
 * The gateway client ({@link GatewayClient}) asks for {@link SessionTokens.current} before
 * each call, and for {@link SessionTokens.renewed} once when a gateway answers that the
 * token it sent has expired (a clock behind the gateway's), then retries the call.
 */
import { randomUUID } from 'node:crypto';
import { Unauthenticated } from '../../contract/errors.js';
import type { LoginAnswer } from '../../contract/api.js';
import { withDetails } from '../failures.js';
import type { ReadDeadline } from './gateway-client.js';

/** A session's tokens as a client keeps them (the fields of a `LoginAnswer` but the user). */
export interface SessionTokenSet {
  /** The access token. */
  readonly token: string;
  /** ISO instant the access token stops being accepted. */
  readonly expiresAt: string;
  /** Absent from logins stored before sessions could be renewed: those end with their token. */
  readonly refreshToken?: string;
  /** ISO instant the session ends. */
  readonly refreshExpiresAt?: string;
  /** A renewal sent whose answer has not been kept yet; see the module comment. */
  readonly pendingRefresh?: PendingRefresh;
}

/** A renewal on its way, or whose answer was lost: sent again as it was. */
export interface PendingRefresh {
  /** The refresh token it spends (the set's own, while it is pending). */
  readonly refreshToken: string;
  /** The `idempotency-key` it is sent under. */
  readonly key: string;
}

/** Where a session's tokens are kept between processes sharing them (a profile file). */
export interface SessionTokenStore {
  /** The tokens saved last, or null when the login is gone (logged out, or another user's). */
  load(): Promise<SessionTokenSet | null>;
  save(tokens: SessionTokenSet): Promise<void>;
}

/**
 * Where the gateway client gets the access token it sends. `within` is the deadline of the
 * read waiting for the token, which a renewal started for it keeps to (see
 * {@link RenewSession}).
 */
export interface AccessTokens {
  /** The token to send: the one held, renewed first when it has expired by this clock. */
  current(signal?: AbortSignal, within?: ReadDeadline): Promise<string>;
  /**
   * A token to send instead of `rejected`, which a gateway refused as expired: one renewed
   * meanwhile, or renewed now. Undefined when the session cannot be renewed (a login stored
   * before refresh tokens).
   * @throws Unauthenticated when the server refuses to renew the session (ended, expired).
   */
  renewed(
    rejected: string,
    signal?: AbortSignal,
    within?: ReadDeadline,
  ): Promise<string | undefined>;
}

/**
 * Renews a session: sends its refresh token to the refresh route under `idempotencyKey`,
 * within the deadline of the read that waits for it, when one does (a write's timeouts
 * otherwise).
 */
export type RenewSession = (
  refreshToken: string,
  signal: AbortSignal | undefined,
  within: ReadDeadline | undefined,
  idempotencyKey: string,
) => Promise<LoginAnswer>;

export interface SessionTokensOptions {
  readonly tokens: SessionTokenSet;
  readonly renew: RenewSession;
  /** Shared with other processes of the same login; none keeps the tokens in memory only. */
  readonly store?: SessionTokenStore;
  /** Epoch ms; `Date.now` unless a test says otherwise. */
  readonly now?: () => number;
  /** Said in refusals: how to start a new session. */
  readonly loginHint?: string;
  /**
   * When the session ended (an ISO instant), as said in the refusal: as a person reads times
   * (their zone), which the command knows; the instant as it is otherwise.
   */
  readonly showEnd?: (iso: string) => string;
}

/**
 * Renewed this long before the access token's expiry: a request sent with a token about to
 * expire would be refused on the way, at the price of a round trip.
 */
const EARLY_RENEWAL_MS = 30_000;

/** The access token of one session, renewed as it runs out; see the module comment. */
export class SessionTokens implements AccessTokens {
  private tokens: SessionTokenSet;
  private readonly now: () => number;
  private renewal: Promise<string | undefined> | null = null;
  /** Refresh tokens this process sent: never sent again, whatever a store holds. */
  private readonly spent = new Set<string>();

  constructor(private readonly options: SessionTokensOptions) {
    this.tokens = options.tokens;
    this.now = options.now ?? Date.now;
  }

  /** The tokens held now (after any renewal). */
  get held(): SessionTokenSet {
    return this.tokens;
  }

  async current(signal?: AbortSignal, within?: ReadDeadline): Promise<string> {
    if (!this.expiresSoon(this.tokens)) return this.tokens.token;
    return (await this.renewed(this.tokens.token, signal, within)) ?? this.tokens.token;
  }

  renewed(
    rejected: string,
    signal?: AbortSignal,
    within?: ReadDeadline,
  ): Promise<string | undefined> {
    if (this.renewal !== null) return this.renewal;
    if (this.tokens.token !== rejected && !this.expiresSoon(this.tokens)) {
      return Promise.resolve(this.tokens.token);
    }
    const renewal = this.renew(rejected, signal, within).finally(() => {
      this.renewal = null;
    });
    this.renewal = renewal;
    return renewal;
  }

  private async renew(
    rejected: string,
    signal?: AbortSignal,
    within?: ReadDeadline,
  ): Promise<string | undefined> {
    const { store, loginHint = 'log in again' } = this.options;
    if (store !== undefined) {
      const saved = await store.load();
      if (saved === null) throw new Unauthenticated(`you were logged out: ${loginHint}`);
      // Another process renewed the session: its tokens are the newest, and the refresh
      // token held here may be spent already. (Unless the store holds one this process
      // spent: its saving failed, and what is held here is newer.)
      if (saved.refreshToken === undefined || !this.spent.has(saved.refreshToken)) {
        this.tokens = saved;
      }
      if (this.tokens.token !== rejected && !this.expiresSoon(this.tokens)) {
        return this.tokens.token;
      }
    }
    const { refreshToken, refreshExpiresAt } = this.tokens;
    if (refreshToken === undefined) return undefined;
    if (refreshExpiresAt !== undefined && Date.parse(refreshExpiresAt) <= this.now()) {
      const at = this.options.showEnd?.(refreshExpiresAt) ?? refreshExpiresAt;
      // The instant itself for a script (`--json`'s details), as when a command starts late.
      throw withDetails(new Unauthenticated(`the session ended at ${at}: ${loginHint}`), {
        expiresAt: refreshExpiresAt,
      });
    }
    // The same request as a renewal of this token that went unanswered, else a new one,
    // written down before it leaves (see the module comment).
    const pending = this.tokens.pendingRefresh;
    const key =
      pending !== undefined && pending.refreshToken === refreshToken ? pending.key : randomUUID();
    if (pending?.key !== key) {
      this.tokens = { ...this.tokens, pendingRefresh: { refreshToken, key } };
      await store?.save(this.tokens);
    }
    let answer: LoginAnswer;
    this.spent.add(refreshToken);
    try {
      answer = await this.options.renew(refreshToken, signal, within, key);
    } catch (error) {
      if (error instanceof Unauthenticated) {
        throw new Unauthenticated(
          `the session could not be renewed (${error.message}): ${loginHint}`,
          { cause: error },
        );
      }
      throw error;
    }
    this.tokens = {
      token: answer.token,
      expiresAt: answer.expiresAt,
      refreshToken: answer.refreshToken,
      refreshExpiresAt: answer.refreshExpiresAt,
    };
    await store?.save(this.tokens);
    return this.tokens.token;
  }

  private expiresSoon(tokens: SessionTokenSet): boolean {
    return Date.parse(tokens.expiresAt) - EARLY_RENEWAL_MS <= this.now();
  }
}
