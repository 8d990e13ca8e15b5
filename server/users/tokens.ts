/**
 * The tokens the users service issues (the gateways and services verify them with the public
 * key only: server/users/token-verifier.ts). All are JWTs signed ES256 by the users service,
 * issued by `agenda-users`, naming the user in `sub`, with `iat`, `exp` and a unique `jti`.
 *
 * - An **access** token (audience `agenda`) authenticates API requests. It lives minutes
 *   (15 by default, never more than {@link MAX_ACCESS_TTL_MS}): a copy that leaks is of use
 *   for no longer than that. It names its session (`sid`), which logging out revokes.
 * - A **refresh** token (audience `agenda-refresh`) is only ever sent to
 *   `POST /v1/sessions/refresh`, which answers a new access token and a new refresh token.
 *   It names the same session and its place in the session's rotation (`rsq`): each is
 *   accepted once, and one accepted before coming back (a copy someone else used) ends the
 *   session (OAuth 2.1's refresh-token rotation with reuse detection). It expires when the
 *   session does, 30 days after the login by default: a fixed lifetime, not a sliding one,
 *   so a stolen login is not kept alive for ever by whoever refreshes it.
 * - A **feed** token has audience `agenda-feed` and `scope: "feed"` and lives a year: it
 *   sits in a subscription URL that calendar apps fetch (`/v1/feeds/:token/calendar.ics`),
 *   so it is written down in places an access token never is. It names its feed (`fid`),
 *   which exists in the store until its owner revokes it.
 *
 * - A **device** token has audience `agenda-dav` and `scope: "device"` and lives as an access
 *   token does. The users service issues it when a CalDAV client signs in with a device's app
 *   password (./device-passwords.ts); the gateway keeps it for that client's next requests,
 *   which never carry the account password. It names its device (`did`), which exists in the
 *   store until revoked, so a revocation holds from the next request on.
 *
 * Each kind has its own audience, so a verifier checking one refuses the others without
 * having to know about them. All name the user's session generation (`gen`): a password
 * change raises it, so every token issued before is refused at once. The store checks
 * generation, session and feed on every request (server/store/calendar-store.ts) and keeps
 * each session's rotation (server/store/commands.ts, `session.refresh`), so a revoked token
 * stops working everywhere at once.
 */
import { createPublicKey, KeyObject } from 'node:crypto';
import { importSPKI, SignJWT } from 'jose';
import type { CryptoKey } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { TOKEN_ALGORITHM } from './keys.js';
import {
  DEVICE_AUDIENCE,
  DEVICE_SCOPE,
  FEED_AUDIENCE,
  FEED_SCOPE,
  MAX_ACCESS_TTL_MS,
  REFRESH_AUDIENCE,
  SESSION_AUDIENCE,
  TOKEN_ISSUER,
} from './token-claims.js';
import { TokenVerifier, type VerifiedToken } from './token-verifier.js';

export {
  DEVICE_AUDIENCE,
  DEVICE_SCOPE,
  FEED_AUDIENCE,
  FEED_SCOPE,
  MAX_ACCESS_TTL_MS,
  REFRESH_AUDIENCE,
  SESSION_AUDIENCE,
  TOKEN_ISSUER,
} from './token-claims.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** How long an access token lasts unless configured otherwise. */
export const DEFAULT_ACCESS_TTL_MS = 15 * MINUTE_MS;
/** How long a session (its refresh tokens) lasts after the login, unless configured otherwise. */
export const DEFAULT_REFRESH_TTL_MS = 30 * 24 * HOUR_MS;
/** How long a feed token lasts unless configured otherwise. */
export const DEFAULT_FEED_TTL_MS = 365 * 24 * HOUR_MS;

/** A signed token and the instant it stops being accepted. */
export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

/** An access token, with the id of the session it belongs to. */
export interface IssuedSession extends IssuedToken {
  readonly sid: string;
}

/** A refresh token that passed every check: its user, session and place in the rotation. */
export interface VerifiedRefresh extends VerifiedToken {
  readonly session: { readonly generation: number; readonly sid: string };
  readonly refreshSeq: number;
}

export interface TokenIssuerOptions {
  /** How long access tokens last; at most {@link MAX_ACCESS_TTL_MS}. */
  readonly accessTtlMs?: number;
  /** How long a session can be refreshed after its login. */
  readonly refreshTtlMs?: number;
  readonly feedTtlMs?: number;
  /** Epoch milliseconds; `Date.now` unless a test says otherwise. */
  readonly clock?: () => number;
}

/** Signs access, refresh and feed tokens with the users service's private key. */
export class TokenIssuer {
  private readonly accessTtlMs: number;
  private readonly refreshTtlMs: number;
  private readonly feedTtlMs: number;
  private readonly clock: () => number;
  private refreshVerifier: Promise<TokenVerifier> | undefined;

  constructor(
    private readonly privateKey: CryptoKey,
    options: TokenIssuerOptions = {},
  ) {
    this.accessTtlMs = options.accessTtlMs ?? DEFAULT_ACCESS_TTL_MS;
    this.refreshTtlMs = options.refreshTtlMs ?? DEFAULT_REFRESH_TTL_MS;
    this.feedTtlMs = options.feedTtlMs ?? DEFAULT_FEED_TTL_MS;
    this.clock = options.clock ?? Date.now;
    for (const ttl of [this.accessTtlMs, this.refreshTtlMs, this.feedTtlMs]) {
      if (!Number.isInteger(ttl) || ttl < 1000) {
        throw new RangeError(
          `a token lifetime is a whole number of milliseconds ≥ 1000, not ${ttl}`,
        );
      }
    }
    if (this.accessTtlMs > MAX_ACCESS_TTL_MS) {
      throw new RangeError(
        `an access token lives at most ${MAX_ACCESS_TTL_MS} ms, not ${this.accessTtlMs}`,
      );
    }
  }

  /** How long an access token lasts. */
  get accessTtl(): number {
    return this.accessTtlMs;
  }

  /** How long a session can be refreshed after its login: its refresh tokens' lifetime. */
  get refreshTtl(): number {
    return this.refreshTtlMs;
  }

  /** How long a feed token lasts. */
  get feedTtl(): number {
    return this.feedTtlMs;
  }

  /**
   * An access token for `username` in a new session, which nothing can refresh unless the
   * store has opened it (a login does both: server/users/users-service.ts).
   */
  async session(username: string, generation: number): Promise<IssuedSession> {
    const sid = newTokenId();
    return { ...(await this.access(username, generation, sid)), sid };
  }

  /**
   * A token that authenticates `username`'s API requests in session `sid`, for the access
   * lifetime but not past `notAfter` (the session's own end), epoch ms.
   */
  access(
    username: string,
    generation: number,
    sid: string,
    notAfter = Number.POSITIVE_INFINITY,
  ): Promise<IssuedToken> {
    const expiry =
      notAfter - this.clock() < this.accessTtlMs ? { at: notAfter } : { ttl: this.accessTtlMs };
    return this.sign(username, SESSION_AUDIENCE, expiry, { sid, gen: generation });
  }

  /**
   * The refresh token at place `seq` of session `sid`'s rotation, accepted until the session
   * ends at `expiresAt` (epoch ms, as the store opened it).
   */
  refresh(
    username: string,
    generation: number,
    sid: string,
    seq: number,
    expiresAt: number,
  ): Promise<IssuedToken> {
    return this.sign(
      username,
      REFRESH_AUDIENCE,
      { at: expiresAt },
      {
        sid,
        gen: generation,
        rsq: seq,
      },
    );
  }

  /**
   * A token that lets calendar apps fetch `username`'s agenda as iCalendar, and nothing else,
   * while feed `fid` exists (the store keeps it until revoked) and until `expiresAt`.
   */
  feed(username: string, generation: number, fid: string, expiresAt: number): Promise<IssuedToken> {
    return this.sign(
      username,
      FEED_AUDIENCE,
      { at: expiresAt },
      {
        scope: FEED_SCOPE,
        fid,
        gen: generation,
      },
    );
  }

  /**
   * A token that lets a CalDAV client read `username`'s calendar, and nothing else, while
   * device `did` exists, for an access token's lifetime.
   */
  device(username: string, generation: number, did: string): Promise<IssuedToken> {
    return this.sign(
      username,
      DEVICE_AUDIENCE,
      { ttl: this.accessTtlMs },
      { scope: DEVICE_SCOPE, did, gen: generation },
    );
  }

  /**
   * Checks a refresh token this service (or a replica sharing its key) issued: only the users
   * service ever reads refresh tokens, so it checks them with its own key's public half.
   * @throws Unauthenticated with the reason.
   */
  async verifyRefresh(token: string): Promise<VerifiedRefresh> {
    this.refreshVerifier ??= (async () => {
      // The public half, derived natively: a key loaded from its PEM file is not extractable
      // (server/users/keys.ts), so exporting it as a JWK threw and every refresh answered 500.
      const spki = createPublicKey(KeyObject.from(this.privateKey)).export({
        type: 'spki',
        format: 'pem',
      });
      const publicKey = await importSPKI(spki.toString(), TOKEN_ALGORITHM);
      return new TokenVerifier({ publicKey, now: this.clock });
    })();
    const verified = await (await this.refreshVerifier).verify(token, 'refresh');
    const { sid } = verified.session;
    // The verifier checked both for this kind; the types cannot say so.
    if (sid === undefined || verified.refreshSeq === undefined) {
      throw new RangeError('a verified refresh token lacks its session or place');
    }
    return {
      ...verified,
      session: { generation: verified.session.generation, sid },
      refreshSeq: verified.refreshSeq,
    };
  }

  /**
   * Signs a token that expires `ttl` ms after now, or at `at` (epoch ms): a session's refresh
   * tokens all expire at the same second, whenever each was signed. In whole seconds, as
   * JWTs count; never at or before the second it was issued in.
   */
  private async sign(
    username: string,
    audience: string,
    expiry: { readonly ttl: number } | { readonly at: number },
    claims: Record<string, string | number>,
  ): Promise<IssuedToken> {
    const issuedAt = Math.floor(this.clock() / 1000);
    const expiresAt = Math.max(
      issuedAt + 1,
      'at' in expiry ? Math.floor(expiry.at / 1000) : issuedAt + Math.floor(expiry.ttl / 1000),
    );
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT' })
      .setSubject(username)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresAt: new Date(expiresAt * 1000) };
  }
}

/** A session or feed id: 128 random bits, as the store's ids are spelt. */
export function newTokenId(): string {
  return randomBytes(16).toString('base64url');
}
