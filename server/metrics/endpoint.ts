/**
 * Where a daemon serves its metrics: `GET /metrics` over HTTPS with mutual TLS, on a port of
 * its own. The rule is the gateway's: only a client presenting a certificate from the
 * cluster CA whose role is an operator's (`OPERATOR_ROLES`) is served; one without a
 * certificate, or with one from another CA, does not get past the handshake, and another
 * daemon's certificate is answered 403 (counted, and logged once per role). Read-only: nothing here changes
 * what the daemon does.
 *
 * {@link serveDaemonMetrics} is the one call a daemon makes when metrics get a port of
 * their own: the users and groups services, the supervisors and the VIP agents do
 * (`serveDaemonMetrics({ identity: { service: 'users', member: 'users-2' }, listen, tls })`,
 * then `close()` when stopping). The gateway and the DB members serve a
 * {@link DaemonMetrics} registry on the listener they already have.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Registry } from 'prom-client';
import type { NetAddress } from '../../base/host-port.js';
import { closeAtOnce, listenAt, listeningAddress } from '../../base/listening.js';
import { mutualTlsServerOptions } from '../../base/tls.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { describeRole } from '../../base/cluster-role.js';
import { silentLogger, type Logger } from '../../base/log.js';
import { AccessRefusals } from '../net/access-refusals.js';
import { OPERATOR_ROLES, peerRole, presentsClusterCertificate } from '../net/client-certificate.js';
import { DaemonMetrics, type DaemonIdentity, type DaemonMetricsOptions } from './daemon-metrics.js';

export const METRICS_PATH = '/metrics';

export interface MetricsEndpointOptions {
  readonly listen: NetAddress;
  /** The daemon's certificate and key, and the cluster CA its clients' certificates come from. */
  readonly tls: MutualTlsMaterial;
  readonly registry: Registry;
  /** Told the first refusal of each role (default: nowhere). */
  readonly logger?: Pick<Logger, 'warn'>;
  /** Aborting it closes the endpoint, like {@link MetricsEndpoint.close}. */
  readonly signal?: AbortSignal;
}

/** A listening metrics endpoint; {@link close} stops it. */
export class MetricsEndpoint {
  private closing: Promise<void> | null = null;

  private constructor(private readonly server: Server) {}

  /** Listens at `listen`; rejects when it cannot (the port is taken, `signal` aborted). */
  static async start(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
    options.signal?.throwIfAborted();
    const { registry } = options;
    const refusals = new AccessRefusals({ logger: options.logger ?? silentLogger, registry });
    const server = createServer(mutualTlsServerOptions(options.tls), (req, res) => {
      answer(req, res, registry, refusals).catch(() => res.destroy());
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    // A failed handshake (no certificate, a stranger's) concerns that client only.
    server.on('tlsClientError', () => {});
    await listenAt(server, options.listen);
    const endpoint = new MetricsEndpoint(server);
    if (options.signal) {
      const signal = options.signal;
      const stop = () => void endpoint.close();
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    }
    return endpoint;
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

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  registry: Registry,
  refusals: AccessRefusals,
) {
  const socket = req.socket as TLSSocket;
  if (!presentsClusterCertificate(socket)) {
    return refuse(
      res,
      401,
      'unauthenticated',
      'this needs a client certificate from the cluster CA',
    );
  }
  const role = peerRole(socket);
  if (role === null || !OPERATOR_ROLES.includes(role)) {
    const reason = `${describeRole(role)} may not read ${METRICS_PATH}: only the operator certificate may`;
    refusals.refused(role, 'metrics', reason);
    return refuse(res, 403, 'forbidden', reason);
  }
  const path = new URL(req.url ?? '/', 'https://metrics.invalid').pathname;
  if (path !== METRICS_PATH) return refuse(res, 404, 'not_found', `no route ${path.slice(0, 200)}`);
  if (req.method !== 'GET') {
    res.setHeader('allow', 'GET');
    return refuse(res, 405, 'invalid', `${req.method ?? ''} is not allowed on ${METRICS_PATH}`);
  }
  let text: string;
  try {
    text = await registry.metrics();
  } catch (error) {
    return refuse(res, 500, 'internal', `collecting the metrics failed: ${String(error)}`);
  }
  res.writeHead(200, {
    'content-type': registry.contentType,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** An error in the shape of every other answer of ours: `{ error: { code, message } }`. */
function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** A daemon's metrics and the endpoint serving them; closing stops both. */
export interface ServedDaemonMetrics {
  /** Where the daemon's parts register their own metrics. */
  readonly registry: Registry;
  readonly endpoint: MetricsEndpoint;
  /** Stops the endpoint and the event-loop delay monitor. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts measuring the daemon `identity` (default metrics and event-loop delay, see
 * {@link DaemonMetrics}) and serves them at `listen`. Rejects, measuring nothing, when the
 * endpoint cannot listen.
 */
export async function serveDaemonMetrics(
  options: {
    readonly identity: DaemonIdentity;
    readonly listen: NetAddress;
    readonly tls: MutualTlsMaterial;
    /** Told the first refusal of each role. */
    readonly logger?: Pick<Logger, 'warn'>;
    readonly signal?: AbortSignal;
  } & DaemonMetricsOptions,
): Promise<ServedDaemonMetrics> {
  options.signal?.throwIfAborted();
  const metrics = new DaemonMetrics(
    options.identity,
    options.resolutionMs === undefined ? {} : { resolutionMs: options.resolutionMs },
  );
  let endpoint: MetricsEndpoint;
  try {
    endpoint = await MetricsEndpoint.start({
      listen: options.listen,
      tls: options.tls,
      registry: metrics.registry,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  } catch (error) {
    metrics.close();
    throw error;
  }
  let closing: Promise<void> | null = null;
  const served: ServedDaemonMetrics = {
    registry: metrics.registry,
    endpoint,
    close() {
      closing ??= endpoint.close().finally(() => metrics.close());
      return closing;
    },
  };
  const signal = options.signal;
  if (signal) {
    const stop = () => void served.close();
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  }
  return served;
}
