/**
 * Who a request is from, as its route declares it must be told: nobody, an operator (a
 * client certificate from the cluster CA), a user by session token (`authorization: Bearer`)
 * or by feed token (in the path). Tokens are verified, never issued: the gateway holds the
 * users service's public key only. How often anyone may try is ./abuse-limits.ts's business.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Forbidden, Unauthenticated } from '../../contract/errors.js';
import { describeRole } from '../../base/cluster-role.js';
import type { RouteDeclaration } from '../../contract/api-routes.js';
import type { AccessRefusals } from '../net/access-refusals.js';
import { OPERATOR_ROLES, peerRole, presentsClusterCertificate } from '../net/client-certificate.js';
import type { BusCredential } from '../bus/protocol.js';
import {
  TokenVerifier,
  type TokenSession,
  type TokenVerifierOptions,
  type VerifiedToken,
} from '../users/token-verifier.js';

const BEARER = /^Bearer +([^\s]+) *$/i;

export interface AuthenticationOptions {
  /** How session and feed tokens are checked: the users service's public key and claims. */
  readonly tokens: TokenVerifierOptions;
  /** Where operator routes refused to other roles are counted and logged once. */
  readonly accessRefusals?: AccessRefusals;
}

/** Tells the actor of each request. */
export class Authentication {
  private readonly tokens: TokenVerifier;

  constructor(private readonly options: AuthenticationOptions) {
    this.tokens = new TokenVerifier(options.tokens);
  }

  /**
   * The actor of a request: nobody, a session token's user, or a feed token's user. Rejects
   * with `Unauthenticated` when the route's requirement is not met.
   */
  async actorOf(
    req: IncomingMessage,
    route: RouteDeclaration,
    params: Readonly<Record<string, string>>,
  ): Promise<Identity | null> {
    if (route.auth === 'none') return null;
    if (route.auth === 'operator') {
      if (!presentsClusterCertificate(req.socket as TLSSocket)) {
        throw new Unauthenticated(
          'this needs a client certificate from the cluster CA (the operator certificate)',
        );
      }
      // Any daemon holds a certificate of the cluster CA; only the operator's role may look.
      const role = peerRole(req.socket as TLSSocket);
      if (role === null || !OPERATOR_ROLES.includes(role)) {
        const reason = `${describeRole(role)} may not read ${route.path}: only the operator certificate may`;
        this.options.accessRefusals?.refused(role, route.path, reason);
        throw new Forbidden(reason);
      }
      return null;
    }
    if (route.auth === 'feed') {
      const token = params.token ?? '';
      return identityOf(await this.tokens.verify(token, 'feed'), { kind: 'feed', token });
    }
    const header = req.headers.authorization;
    if (header === undefined) {
      throw new Unauthenticated('this request needs "authorization: Bearer <token>"; log in first');
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) {
      throw new Unauthenticated('the authorization header must be "Bearer <token>"');
    }
    return identityOf(await this.tokens.verify(token, 'session'), { kind: 'session', token });
  }

  /** The identity a device token (CalDAV, ./caldav.ts) names. */
  async device(token: string): Promise<Identity> {
    return identityOf(await this.tokens.verify(token, 'device'), { kind: 'device', token });
  }
}

/**
 * Who asks, as a verified token says: the actor, the session the store checks, and the
 * token itself, which travels with the request for the service to verify again.
 */
export interface Identity {
  readonly actor: string;
  readonly session: TokenSession;
  readonly credential: BusCredential;
  /** When the token stops being accepted, epoch ms (a live stream ends then). */
  readonly expiresAt: number;
}

function identityOf(token: VerifiedToken, credential: BusCredential): Identity {
  return { actor: token.actor, session: token.session, credential, expiresAt: token.expiresAt };
}
