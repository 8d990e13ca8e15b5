/**
 * The VIP agent's status over HTTPS for operators (the dashboard reads it with the lab's
 * `operator` certificate): `GET /v1/status` answers the agent's status as JSON, `GET /healthz`
 * says the process is up. Mutual TLS like every other process of ours: a client without a
 * certificate from the lab CA does not get past the handshake, and the status answers the
 * operator role only (another daemon's certificate gets a 403, counted and logged once).
 * Read-only: nothing here can change what the agent does.
 */
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NetAddress } from '../base/host-port.js';
import { closeAtOnce, listenAt, listeningAddress } from '../base/listening.js';
import { mutualTlsServerOptions } from '../base/tls.js';
import type { MutualTlsMaterial } from '../base/tls.js';
import { sendJson } from '../base/http-answer.js';
import { HttpError, sendError } from '../server/db/http.js';
import { describeRole } from '../base/cluster-role.js';
import { silentLogger, type Logger } from '../base/log.js';
import { AccessRefusals } from '../server/net/access-refusals.js';
import { OPERATOR_ROLES, peerRole } from '../server/net/client-certificate.js';
import type { TLSSocket } from 'node:tls';

const ROUTES = ['/v1/status', '/healthz'];

/** A listening status server; {@link close} stops it. */
export class StatusServer {
  private closing: Promise<void> | null = null;

  private constructor(private readonly server: Server) {}

  /** Listens at `listen`; `status` is called for every `GET /v1/status`. */
  static async start(options: {
    readonly listen: NetAddress;
    readonly tls: MutualTlsMaterial;
    readonly status: () => unknown;
    /** Told the first refusal of each role (default: nowhere). */
    readonly logger?: Pick<Logger, 'warn'>;
  }): Promise<StatusServer> {
    const refusals = new AccessRefusals({ logger: options.logger ?? silentLogger });
    const server = createServer(mutualTlsServerOptions(options.tls), (req, res) =>
      answer(req, res, options.status, refusals),
    );
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    await listenAt(server, options.listen);
    return new StatusServer(server);
  }

  address(): NetAddress {
    return listeningAddress(this.server);
  }

  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= closeAtOnce(this.server);
    return this.closing;
  }
}

function answer(
  req: IncomingMessage,
  res: ServerResponse,
  status: () => unknown,
  refusals: AccessRefusals,
): void {
  const path = new URL(req.url ?? '/', 'https://vip-agent.invalid').pathname;
  try {
    if (req.method === 'GET' && path === '/v1/status') {
      const role = peerRole(req.socket as TLSSocket);
      if (role === null || !OPERATOR_ROLES.includes(role)) {
        const reason = `${describeRole(role)} may not read the VIP agent's status: only the operator certificate may`;
        refusals.refused(role, 'status', reason);
        throw HttpError.of('forbidden', reason, { role, operation: 'status' });
      }
      return sendJson(res, 200, status());
    }
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { ok: true });
    if (ROUTES.includes(path)) {
      throw new HttpError(405, 'invalid', `${req.method ?? ''} is not allowed on ${path}`);
    }
    throw HttpError.of('not_found', `no route ${path}`);
  } catch (error) {
    const refusal =
      error instanceof HttpError ? error : HttpError.of('internal', (error as Error).message);
    sendError(res, refusal, refusal.status === 405 ? { allow: 'GET' } : {});
  }
}
