/**
 * Who a request is from, as its route declares it must be told: nobody, an operator (a
 * client certificate from the cluster CA), a user by session token (`authorization: Bearer`)
 * or by feed token (in the path). Tokens are verified, never issued: the gateway holds the
 * users service's public key only. Login attempts are throttled here too, by username and by
 * client address, since they are how a stranger tries to become a user.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { RateLimited, Unauthenticated } from '../../contract/errors.js';
import type { RouteDeclaration } from '../../contract/api-routes.js';
import { presentsClusterCertificate } from '../net/client-certificate.js';
import type { GatewayMetrics } from './metrics.js';
import { LoginRateLimiter, type LoginLimits } from './rate-limit.js';
import { TokenVerifier, type TokenVerifierOptions } from './tokens.js';

const BEARER = /^Bearer +([^\s]+) *$/i;

export interface AuthenticationOptions {
  /** How session and feed tokens are checked: the users service's public key and claims. */
  readonly tokens: TokenVerifierOptions;
  readonly loginLimits?: LoginLimits;
  /** The rate limiter's clock (monotonic ms); tests move it. */
  readonly loginClock?: () => number;
}

/** Tells the actor of each request, and refuses logins past the limits. */
export class Authentication {
  private readonly tokens: TokenVerifier;
  private readonly loginLimiter: LoginRateLimiter;

  constructor(
    options: AuthenticationOptions,
    private readonly metrics: GatewayMetrics,
  ) {
    this.tokens = new TokenVerifier(options.tokens);
    this.loginLimiter = new LoginRateLimiter(options.loginLimits, options.loginClock);
  }

  /**
   * The actor of a request: nobody, a session token's user, or a feed token's user. Rejects
   * with `Unauthenticated` when the route's requirement is not met.
   */
  async actorOf(
    req: IncomingMessage,
    route: RouteDeclaration,
    params: Readonly<Record<string, string>>,
  ): Promise<string | null> {
    if (route.auth === 'none') return null;
    if (route.auth === 'operator') {
      if (!presentsClusterCertificate(req.socket as TLSSocket)) {
        throw new Unauthenticated(
          'this needs a client certificate from the cluster CA (the operator certificate)',
        );
      }
      return null;
    }
    if (route.auth === 'feed') {
      return (await this.tokens.verify(params.token ?? '', 'feed')).actor;
    }
    const header = req.headers.authorization;
    if (header === undefined) {
      throw new Unauthenticated('this request needs "authorization: Bearer <token>"; log in first');
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) {
      throw new Unauthenticated('the authorization header must be "Bearer <token>"');
    }
    return (await this.tokens.verify(token, 'session')).actor;
  }

  /** Counts a login attempt for `username` from `req`'s address; throws `RateLimited` past the limits. */
  throttleLogin(username: string, req: IncomingMessage): void {
    const outcome = this.loginLimiter.attempt(username, clientAddress(req));
    if (outcome.allowed) return;
    this.metrics.loginRefused(outcome.limit);
    throw new RateLimited(
      outcome.limit === 'username'
        ? `too many login attempts for ${username}; try again later`
        : 'too many login attempts from this address; try again later',
      { retryAfterMs: outcome.retryAfterMs },
    );
  }
}

/** The client's address, IPv4-mapped IPv6 addresses written as plain IPv4. */
function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
