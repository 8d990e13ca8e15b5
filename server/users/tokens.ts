/**
 * The tokens the users service issues (the gateway verifies them, with the public key only:
 * server/gateway/tokens.ts). Both are JWTs signed ES256 by the users service, issued by
 * `agenda-users`, naming the user in `sub`, with `iat`, `exp` and a unique `jti`.
 *
 * - A **session** token (login) has audience `agenda` and lives hours: it authenticates API
 *   requests. It names its session (`sid`), which logging out revokes.
 * - A **feed** token has audience `agenda-feed` and `scope: "feed"` and lives a year: it
 *   sits in a subscription URL that calendar apps fetch (`/v1/feeds/:token/calendar.ics`),
 *   so it is written down in places a session token never is. Its own audience is what keeps
 *   a leaked feed URL from authenticating API requests: a verifier that checks the session
 *   audience refuses it without having to know about scopes. It names its feed (`fid`),
 *   which exists in the store until its owner revokes it.
 *
 * Both name the user's session generation (`gen`): a password change raises it, so every
 * token issued before is refused at once. The store checks all three on every request
 * (server/store/calendar-store.ts), so a revoked token stops working everywhere at once.
 */
import { SignJWT } from 'jose';
import type { CryptoKey } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { TOKEN_ALGORITHM } from './keys.js';

export const TOKEN_ISSUER = 'agenda-users';
/** Audience of session tokens: the API. */
export const SESSION_AUDIENCE = 'agenda';
/** Audience of feed tokens: the `.ics` subscription route only. */
export const FEED_AUDIENCE = 'agenda-feed';
/** The `scope` claim of feed tokens. */
export const FEED_SCOPE = 'feed';

const HOUR_MS = 3_600_000;
/** How long a session token lasts unless configured otherwise. */
export const DEFAULT_SESSION_TTL_MS = 12 * HOUR_MS;
/** How long a feed token lasts unless configured otherwise. */
export const DEFAULT_FEED_TTL_MS = 365 * 24 * HOUR_MS;

/** A signed token and the instant it stops being accepted. */
export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: Date;
}

/** A session token, with the id of the session it opens. */
export interface IssuedSession extends IssuedToken {
  readonly sid: string;
}

export interface TokenIssuerOptions {
  readonly sessionTtlMs?: number;
  readonly feedTtlMs?: number;
  /** Epoch milliseconds; `Date.now` unless a test says otherwise. */
  readonly clock?: () => number;
}

/** Signs session and feed tokens with the users service's private key. */
export class TokenIssuer {
  private readonly sessionTtlMs: number;
  private readonly feedTtlMs: number;
  private readonly clock: () => number;

  constructor(
    private readonly privateKey: CryptoKey,
    options: TokenIssuerOptions = {},
  ) {
    this.sessionTtlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.feedTtlMs = options.feedTtlMs ?? DEFAULT_FEED_TTL_MS;
    this.clock = options.clock ?? Date.now;
    for (const ttl of [this.sessionTtlMs, this.feedTtlMs]) {
      if (!Number.isInteger(ttl) || ttl < 1000) {
        throw new RangeError(
          `a token lifetime is a whole number of milliseconds ≥ 1000, not ${ttl}`,
        );
      }
    }
  }

  /** How long a session token lasts: a logout's revocation is kept that long. */
  get sessionTtl(): number {
    return this.sessionTtlMs;
  }

  /** How long a feed token lasts. */
  get feedTtl(): number {
    return this.feedTtlMs;
  }

  /** A token that authenticates `username`'s API requests, in a new session. */
  async session(username: string, generation: number): Promise<IssuedSession> {
    const sid = newTokenId();
    const issued = await this.sign(username, SESSION_AUDIENCE, this.sessionTtlMs, {
      sid,
      gen: generation,
    });
    return { ...issued, sid };
  }

  /**
   * A token that lets calendar apps fetch `username`'s agenda as iCalendar, and nothing else,
   * while feed `fid` exists (the store keeps it until revoked) and until `expiresAt`.
   */
  feed(username: string, generation: number, fid: string, expiresAt: number): Promise<IssuedToken> {
    return this.sign(username, FEED_AUDIENCE, expiresAt - this.clock(), {
      scope: FEED_SCOPE,
      fid,
      gen: generation,
    });
  }

  private async sign(
    username: string,
    audience: string,
    ttlMs: number,
    claims: Record<string, string | number>,
  ): Promise<IssuedToken> {
    const issuedAt = Math.floor(this.clock() / 1000);
    const expiresAt = issuedAt + Math.floor(ttlMs / 1000);
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
