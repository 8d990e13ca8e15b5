/**
 * Access, refresh and feed tokens as the gateways and the logic services check them (a
 * service checks again the token the gateway passed on: whoever can write to the bus cannot
 * act as a user without one), following the users service's contract
 * (server/users/tokens.ts): compact JWS signed ES256, issuer `agenda-users`, the username in
 * `sub`, `iat`, `exp` and `jti` required; access tokens have the API's audience and live at
 * most `MAX_ACCESS_TTL_MS`, refresh tokens the refresh audience and a place in their
 * session's rotation, feed tokens the feed audience and `scope: "feed"`. Each kind is
 * accepted only where it belongs: a feed URL leaked from a calendar app cannot act on the
 * API, a refresh token is no access token (nor the other way round), and an access token
 * does not open feeds (so it is never written into a URL).
 *
 * Every refusal says which check failed, because the person reading the 401 is debugging a
 * client; an access token that only expired says so in a code too (`token_expired`), for
 * clients that renew it.
 */
import { errors, jwtVerify } from 'jose';
import type { CryptoKey, JWTPayload } from 'jose';
import { Unauthenticated } from '../../contract/errors.js';
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

/**
 * Where a token may be used: the API (`session`, an access token), the refresh route
 * (`refresh`), or only its `.ics` subscription URL (`feed`).
 */
export type TokenKind = 'session' | 'refresh' | 'feed' | 'device';

/** A token that passed every check. */
export interface VerifiedToken {
  /** The username the token was issued to: the actor of the request. */
  readonly actor: string;
  /** When it stops being accepted, ms since the epoch. */
  readonly expiresAt: number;
  /**
   * What the store checks is still valid on every request (server/users/tokens.ts): the
   * user's session generation, and the session (`sid`) or the feed (`fid`) it names. The
   * signature only proves the token was issued; these say whether it still stands.
   */
  readonly session: TokenSession;
  /** A refresh token's place in its session's rotation; absent from other kinds. */
  readonly refreshSeq?: number;
}

/** A token's claims the store checks on every request (`SessionRef` in the store protocol). */
export interface TokenSession {
  readonly generation: number;
  readonly sid?: string;
  readonly fid?: string;
  readonly did?: string;
}

export interface TokenVerifierOptions {
  /** The users service's public key (see keys.ts). */
  readonly publicKey: CryptoKey;
  /** Tolerated clock difference with the users service, in seconds. Default 30 ({@link DEFAULT_CLOCK_TOLERANCE_SEC}). */
  readonly clockToleranceSec?: number;
  /** The clock tokens are checked against (epoch ms); tests move it. */
  readonly now?: () => number;
}

/** The clock difference with the users service tolerated unless configured otherwise, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE_SEC = 30;

/** Longest token accepted: real ones are a few hundred bytes; this bounds the work per request. */
const MAX_TOKEN_LENGTH = 4096;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
const USERNAME = /^[^\s\p{Cc}]{1,64}$/u;
const AUDIENCE: Readonly<Record<TokenKind, string>> = {
  session: SESSION_AUDIENCE,
  refresh: REFRESH_AUDIENCE,
  feed: FEED_AUDIENCE,
  device: DEVICE_AUDIENCE,
};
/** The refusal of an access token past its expiry, which a client answers by refreshing. */
const ACCESS_EXPIRED = 'the access token has expired; refresh it or log in again';

/** Tokens remembered as verified; a user's token is checked once, not on every request. */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Checks tokens with the users service's public key; never needs the private one.
 *
 * A signature check (ES256) costs more than the rest of a request's work at the gateway,
 * and a client sends the same token with every request, so tokens that passed are
 * remembered (bounded, oldest forgotten first). A remembered token is still refused once
 * it expires: the signature and claims cannot change, only the clock.
 */
export class TokenVerifier {
  private readonly clockToleranceSec: number;
  private readonly now: () => number;
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(private readonly options: TokenVerifierOptions) {
    this.clockToleranceSec = options.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
    this.now = options.now ?? Date.now;
  }

  /**
   * Verifies `token` as a token of `kind`.
   * @throws Unauthenticated with the reason (malformed, unsigned, bad signature, expired,
   *   wrong issuer, the other kind of token…), never anything else.
   */
  async verify(token: string, kind: TokenKind): Promise<VerifiedToken> {
    const cacheKey = `${kind}:${token}`;
    const known = this.verified.get(cacheKey);
    if (known) {
      if (this.now() <= known.expiresAt + this.clockToleranceSec * 1000) return known;
      this.verified.delete(cacheKey);
      throw expired(kind);
    }
    const checked = await this.check(token, kind);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(cacheKey, checked);
    return checked;
  }

  private async check(token: string, kind: TokenKind): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) {
      throw new Unauthenticated('the token is malformed (expected a compact JWS)');
    }
    if (token.endsWith('.')) {
      throw new Unauthenticated('the token is unsigned (alg "none" is refused)');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.options.publicKey, {
        algorithms: [TOKEN_ALGORITHM],
        issuer: TOKEN_ISSUER,
        audience: AUDIENCE[kind],
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
        clockTolerance: this.clockToleranceSec,
        currentDate: new Date(this.now()),
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw expired(kind, error);
      throw new Unauthenticated(reasonOf(error, kind), { cause: error });
    }
    const actor = payload.sub;
    if (typeof actor !== 'string' || !USERNAME.test(actor)) {
      throw new Unauthenticated('the token does not name a user');
    }
    const scope = kind === 'feed' ? FEED_SCOPE : kind === 'device' ? DEVICE_SCOPE : undefined;
    if (payload.scope !== scope) {
      throw new Unauthenticated(`the token has the wrong scope for ${describe(kind)}`);
    }
    const expiresAt = (payload.exp ?? 0) * 1000;
    if (
      (kind === 'session' || kind === 'device') &&
      expiresAt - (payload.iat ?? 0) * 1000 > MAX_ACCESS_TTL_MS
    ) {
      throw new Unauthenticated(
        'the token lives longer than an access token may (it predates short-lived access tokens); log in again',
      );
    }
    const session = sessionOf(payload, kind);
    if (kind !== 'refresh') return { actor, expiresAt, session };
    const { rsq } = payload;
    if (typeof rsq !== 'number' || !Number.isSafeInteger(rsq) || rsq < 0) {
      throw new Unauthenticated('the refresh token does not say where it stands in its session');
    }
    return { actor, expiresAt, session, refreshSeq: rsq };
  }
}

/** The refusal of an expired token: an access token can be renewed, a refresh token cannot. */
function expired(kind: TokenKind, cause?: unknown): Unauthenticated {
  return kind === 'session'
    ? new Unauthenticated(ACCESS_EXPIRED, { reason: 'token_expired', cause })
    : new Unauthenticated(
        kind === 'refresh'
          ? 'the session has expired; log in again'
          : 'the token has expired; log in again',
        { cause },
      );
}

const TOKEN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The session a token names. Tokens issued before sessions could end name none: they are
 * refused, so their holder logs in once more and gets one that logging out can end.
 */
function sessionOf(payload: JWTPayload, kind: TokenKind): TokenSession {
  const { gen } = payload;
  const id = kind === 'feed' ? payload.fid : kind === 'device' ? payload.did : payload.sid;
  if (typeof gen !== 'number' || !Number.isSafeInteger(gen) || gen < 0) {
    throw new Unauthenticated(
      kind === 'feed'
        ? 'this feed URL predates revocable feeds; create a new one (agenda feed create)'
        : 'the token predates sessions that can end; log in again',
    );
  }
  if (typeof id !== 'string' || !TOKEN_ID.test(id)) {
    throw new Unauthenticated(
      kind === 'feed'
        ? 'this feed URL predates revocable feeds; create a new one (agenda feed create)'
        : 'the token predates sessions that can end; log in again',
    );
  }
  if (kind === 'device') return { generation: gen, did: id };
  return kind === 'feed' ? { generation: gen, fid: id } : { generation: gen, sid: id };
}

function describe(kind: TokenKind): string {
  return kind === 'feed'
    ? 'a calendar feed'
    : kind === 'device'
      ? 'CalDAV'
      : kind === 'refresh'
        ? 'renewing a session'
        : 'the API';
}

/**
 * A person-readable reason for a refused token. The JOSE error classes say which check
 * failed; claims are only checked after the signature, so a wrong audience is reported
 * from an authentic payload.
 */
function reasonOf(error: unknown, kind: TokenKind): string {
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return 'the token signature is not valid';
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return `the token must be signed with ${TOKEN_ALGORITHM}`;
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'iss':
        return 'the token was not issued by Agenda';
      case 'aud': {
        const audience = error.payload.aud;
        if (kind === 'session' && audience === FEED_AUDIENCE) {
          return 'a calendar feed token only opens its feed URL; log in for the API';
        }
        if (kind === 'feed' && audience === SESSION_AUDIENCE) {
          return 'a calendar feed needs its feed token, not a session token';
        }
        if (kind === 'session' && audience === REFRESH_AUDIENCE) {
          return 'a refresh token only renews the session (POST /v1/sessions/refresh); send the access token';
        }
        if (kind === 'refresh' && audience === SESSION_AUDIENCE) {
          return 'an access token cannot renew a session; send the refresh token';
        }
        return `the token is not meant for ${describe(kind)}`;
      }
      case 'nbf':
        return 'the token is not valid yet';
      default:
        return `the token's "${error.claim}" claim is ${error.reason === 'missing' ? 'missing' : 'invalid'}`;
    }
  }
  return 'the token is malformed';
}
