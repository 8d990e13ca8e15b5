/**
 * The HTTPS API gateway: the one door of Agenda for clients.
 *
 * It terminates TLS (1.3 only), authenticates every request with a session token it can
 * verify but never issue (it holds the users service's public key only), turns the request
 * into an op for a logic service ({@link Dispatcher}), waits for the result within a
 * deadline and answers in the shapes of contract/api.ts. It also serves the callers'
 * live updates as server-sent events ({@link NotificationFeed}), `/healthz`, `/readyz` and
 * `/metrics`. Apart from open connections it keeps no state, so either gateway of the
 * active/passive pair can take over at any moment: retries carry the same request id
 * (`idempotency-key`), which the rest of the system applies once.
 *
 * No request can crash it: every handler's failure becomes a JSON refusal, malformed HTTP
 * is answered 400 at the socket, and a bug answers 500 and is logged.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type { Registry } from 'prom-client';
import {
  Internal,
  InvalidInput,
  isAgendaError,
  NotFound,
  RateLimited,
  Unauthenticated,
  Unavailable,
  type AgendaError,
} from '../../contract/errors.js';
import { presentsClusterCertificate } from '../net/client-certificate.js';
import type { HealthAnswer } from '../../contract/api.js';
import { API_ROUTES, errorsOf, queryNames, type RouteDeclaration } from '../../contract/api-routes.js';
import { serviceFor, type Op, type ServiceName } from '../protocol/ops.js';
import { EventStream, type EventStreamOptions } from './event-stream.js';
import { withDeadline } from './deadline.js';
import { sendJson, sendText } from '../../base/http-answer.js';
import { HttpRefusal, readBody, refusalOf } from './http.js';
import { GatewayMetrics } from './metrics.js';
import type { Dispatcher, NotificationFeed, ReadinessProbe, ReplicaDirectory } from './ports.js';
import { LoginRateLimiter, type LoginLimits } from './rate-limit.js';
import { parseJsonBody, QueryParameters } from './requests.js';
import {
  apiHandlers,
  apiRouter,
  type BoundRoute,
  type Relayed,
  type RequestContext,
  type StreamOpened,
} from './routes.js';
import type { Router } from './router.js';
import { TokenVerifier, type TokenVerifierOptions } from './tokens.js';

/** What the gateway writes to its log; any structured logger fits. */
export interface GatewayLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface GatewayOptions {
  /** Address to listen on, e.g. `0.0.0.0` or the virtual IP. */
  readonly host: string;
  readonly port: number;
  /** The server certificate chain and key, PEM. Clients need no certificate. */
  /**
   * The gateway's certificate, and the CA whose client certificates make an operator: they
   * may read `/metrics`. Users need no certificate; without `ca`, `/metrics` answers nobody.
   */
  readonly tls: { readonly cert: string; readonly key: string; readonly ca?: string };
  /**
   * The registry `/metrics` serves: the gateway adds its own metrics (./metrics.ts) to it.
   * Its owner decides what else it holds (the daemon's process metrics and event-loop delay).
   */
  readonly registry: Registry;
  /** How session and feed tokens are checked: the users service's public key and claims. */
  readonly tokens: TokenVerifierOptions;
  readonly dispatcher: Dispatcher;
  readonly notifications: NotificationFeed;
  /** `/readyz`: whether the bus and services can be reached. */
  readonly readiness: ReadinessProbe;
  /**
   * Which services have a replica up (gossip). With it, requests for a service known to have
   * none are refused at once (503), `/readyz` says which service is missing, and `/metrics`
   * shows the membership. Without it, every request goes to the dispatcher.
   */
  readonly replicas?: ReplicaDirectory;
  /**
   * An answer of a service this long before `replicas` called it down still contradicts
   * that verdict. Keep it below the directory's shortest time from a death to its verdict
   * (with gossip, a protocol period is: suspicion alone lasts several). Default 0.
   */
  readonly answerGraceMs?: number;
  /**
   * Base of the URLs handed out (feed subscriptions), e.g. `https://agenda.example:8443`.
   * Default: the `host` header of the request, which is the address the client dialled.
   */
  readonly publicUrl?: string;
  /** How long a request waits for its service's answer. Default 10 s. */
  readonly requestDeadlineMs?: number;
  /** An answer that took this long is logged as slow. Default 1 s. */
  readonly slowRequestMs?: number;
  /** Largest JSON body. Default 1 MiB. */
  readonly maxJsonBytes?: number;
  /** Largest `.ics` import. Default 8 MiB. */
  readonly maxCalendarBytes?: number;
  readonly loginLimits?: LoginLimits;
  /** The rate limiter's clock (monotonic ms); tests move it. */
  readonly loginClock?: () => number;
  readonly stream?: EventStreamOptions;
  /** How long `close()` lets requests in flight finish before cutting them. Default 5 s. */
  readonly closeGraceMs?: number;
  readonly logger?: GatewayLogger;
}

/** The address the gateway listens on. */
export interface GatewayAddress {
  readonly host: string;
  readonly port: number;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const BEARER = /^Bearer +([^\s]+) *$/i;
/** A `host` header worth echoing in a URL: a name or IP, optional port, nothing else. */
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const UNMATCHED = 'unmatched';
/** Every service a request may need: `/readyz` wants a replica of each. */
const SERVICES: readonly ServiceName[] = ['users', 'groups'];
/** Orchestrators poll `/readyz` often; a probe that hangs must not pile requests up. */
const READINESS_TIMEOUT_MS = 2_000;
const silentLogger: GatewayLogger = { info() {}, warn() {} };

export class Gateway {
  /** Counters and histograms behind `/metrics`, readable in-process too. */
  readonly metrics: GatewayMetrics;
  private readonly server: Server;
  private readonly router: Router<BoundRoute>;
  private readonly tokens: TokenVerifier;
  private readonly loginLimiter: LoginRateLimiter;
  private readonly streams = new Set<EventStream>();
  /** When each service last answered a request (performance.now()). */
  private readonly answeredAt = new Map<ServiceName, number>();
  /** Since when the replica directory has said, without a break, that a service is down. */
  private readonly downSince = new Map<ServiceName, number>();
  private readonly stopGapWatch: () => void;
  /** Open connections and how many requests each is serving, to close idle ones at once. */
  private readonly connections = new Map<Socket, number>();
  private readonly logger: GatewayLogger;
  private readonly deadlineMs: number;
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** Set the moment `close()` is first called. */
  private stopping = false;

  constructor(private readonly options: GatewayOptions) {
    this.logger = options.logger ?? silentLogger;
    this.deadlineMs = options.requestDeadlineMs ?? 10_000;
    this.metrics = new GatewayMetrics(options.registry, options.replicas);
    this.tokens = new TokenVerifier(options.tokens);
    this.loginLimiter = new LoginRateLimiter(options.loginLimits, options.loginClock);
    this.router = apiRouter({
      ...apiHandlers,
      health: () => this.health(),
      readiness: () => this.readiness(),
      metrics: () => this.metricsText(),
    });
    // A gap in live updates (the bus re-subscribed): every open stream is told to re-read.
    this.stopGapWatch =
      options.notifications.onGap?.(() => {
        for (const stream of this.streams) stream.resync('live updates may have been missed');
      }) ?? (() => {});
    this.server = createServer(
      {
        cert: options.tls.cert,
        key: options.tls.key,
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
        // Asked for, never required: users connect without one; operators are told apart.
        ...(options.tls.ca === undefined
          ? {}
          : { ca: options.tls.ca, requestCert: true, rejectUnauthorized: false }),
      },
      (req, res) => {
        this.handle(req, res).catch((error: unknown) => this.lastResort(res, error));
      },
    );
    // Slow-loris bounds: headers within 15 s, a whole request (an 8 MiB import) within 60 s.
    this.server.headersTimeout = 15_000;
    this.server.requestTimeout = 60_000;
    this.server.on('clientError', (error: Error, socket: Socket) => {
      if (socket.writable && !socket.destroyed) {
        const body = JSON.stringify({
          error: { code: 'invalid', message: `malformed HTTP request: ${error.message}` },
        });
        socket.end(
          `HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\n` +
            `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      } else {
        socket.destroy();
      }
    });
    // A failed TLS handshake concerns that client only.
    this.server.on('tlsClientError', () => {});
    this.server.on('secureConnection', (socket: Socket) => {
      this.connections.set(socket, 0);
      socket.once('close', () => this.connections.delete(socket));
    });
  }

  /** Starts listening; resolves once bound. Idempotent. */
  start(): Promise<void> {
    this.starting ??= new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        this.logger.info('gateway listening', { ...this.address() });
        resolve();
      });
    });
    return this.starting;
  }

  address(): GatewayAddress {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('not listening');
    return { host: address.address, port: address.port };
  }

  /**
   * Stops accepting connections, ends live streams, lets requests in flight finish (up to
   * `closeGraceMs`), then cuts what remains. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      this.stopGapWatch();
      for (const stream of this.streams) stream.close();
      if (!this.server.listening) return;
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      // Connections with no request in progress (some clients open spare ones) go now; the
      // others when their answer is written (see handle) or when the grace period ends.
      for (const [socket, active] of this.connections) if (active === 0) socket.destroy();
      const grace = setTimeout(
        () => this.server.closeAllConnections(),
        this.options.closeGraceMs ?? 5_000,
      );
      await closed;
      clearTimeout(grace);
      this.logger.info('gateway closed');
    })();
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const queryStart = rawUrl.indexOf('?');
    const path = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart);
    const search = queryStart < 0 ? '' : rawUrl.slice(queryStart + 1);
    let template = UNMATCHED;
    let declaration: RouteDeclaration | undefined;
    let requestId = freshRequestId();
    let status: number;
    // Aborted when the client goes away before its answer: the service need not bother.
    const clientGone = new AbortController();
    // The ids this request's ops travel under on the bus, for the slow-request line.
    const busIds: string[] = [];
    const socket = req.socket;
    this.connections.set(socket, (this.connections.get(socket) ?? 0) + 1);
    res.on('close', () => {
      if (!res.writableFinished) clientGone.abort();
      const active = this.connections.get(socket);
      if (active === undefined) return; // the connection is gone already
      this.connections.set(socket, active - 1);
      if (active === 1 && this.stopping) socket.destroy();
    });
    try {
      requestId = requestIdOf(req) ?? requestId;
      const match = this.router.match(method, path);
      if (match.kind === 'not_found') {
        throw new NotFound(`no route ${method} ${path.slice(0, 200)}`);
      }
      if (match.kind === 'method_not_allowed') {
        template = match.template;
        throw new HttpRefusal(405, 'invalid', `${method} is not allowed on ${template}`, {
          allow: match.allowed.join(', '),
        });
      }
      template = match.route.template;
      const route = match.route.handler;
      declaration = route.declaration;
      // Who asks comes first: a stranger learns nothing about what a request would need.
      const actor = await this.authenticate(req, declaration, match.params);
      const query = new QueryParameters(new URLSearchParams(search), queryNames(declaration));
      const answer = await route.handle(
        this.call(req, res, declaration, {
          params: match.params,
          query,
          actor,
          requestId,
          clientGone,
          busIds,
        }),
      );
      // A stream answered its headers itself and is counted when it opened.
      if (answer.kind === 'stream') return;
      if (!res.destroyed) {
        const headers = { 'x-request-id': requestId };
        if (answer.kind === 'json') sendJson(res, answer.status, answer.body, headers);
        else sendText(res, 200, answer.contentType, answer.body, headers);
      }
      status = answer.kind === 'json' ? answer.status : 200;
    } catch (error) {
      const refused = this.asRefusal(error, template);
      if (declaration !== undefined && isAgendaError(refused)) {
        this.checkDeclared(method, template, declaration, refused);
      }
      const refusal = refusalOf(refused);
      status = refusal.status;
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, refusal.status, refusal.body, {
          ...refusal.headers,
          'x-request-id': requestId,
        });
      }
    }
    const elapsedMs = performance.now() - started;
    this.metrics.requestAnswered(template, method, status, elapsedMs / 1000);
    if (elapsedMs >= (this.options.slowRequestMs ?? 1_000)) {
      // With the services' own "slow request" lines (under the busIds), says where the time went.
      this.logger.warn('slow request', {
        id: requestId,
        route: `${method} ${template}`,
        status,
        ms: Math.round(elapsedMs),
        ...(busIds.length > 0 ? { busIds } : {}),
        ...(clientGone.signal.aborted ? { clientLeft: true } : {}),
      });
    }
  }

  /**
   * Logs a refusal with a code the route does not declare: clients read the declaration
   * (contract/api-routes.ts) to know what to expect, so it or the route is wrong.
   */
  private checkDeclared(
    method: string,
    template: string,
    declaration: RouteDeclaration,
    error: AgendaError,
  ): void {
    if (errorsOf(declaration).has(error.code)) return;
    this.logger.warn('a route answered an error code it does not declare', {
      route: `${method} ${template}`,
      code: error.code,
    });
  }

  /** The actor of a request: nobody, a session token's user, or a feed token's user. */
  private async authenticate(
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

  private call(
    req: IncomingMessage,
    res: ServerResponse,
    declaration: RouteDeclaration,
    context: {
      readonly params: Readonly<Record<string, string>>;
      readonly query: QueryParameters;
      readonly actor: string | null;
      readonly requestId: string;
      readonly clientGone: AbortController;
      readonly busIds: string[];
    },
  ): RequestContext {
    const { actor, requestId, clientGone } = context;
    return {
      params: context.params,
      query: context.query,
      actor,
      body: () => this.readDeclaredBody(req, declaration),
      dispatch: async (op) => {
        const busId = scopedRequestId(actor, requestId, op);
        context.busIds.push(busId);
        // Passed on as the route's answer: the services answer the shapes of api.ts.
        return (await this.dispatch(op, actor, { requestId, busId }, clientGone.signal)) as Relayed;
      },
      throttleLogin: (username) => this.throttleLogin(username, req),
      absoluteUrl: (path) => `${this.publicBase(req)}${path}`,
      stream: () => this.openStream(res, actor ?? '', clientGone.signal),
    };
  }

  /** The body as `declaration` says: JSON checked against its schema, or iCalendar text. */
  private async readDeclaredBody(
    req: IncomingMessage,
    declaration: RouteDeclaration,
  ): Promise<unknown> {
    const body = declaration.body ?? { kind: 'none' };
    switch (body.kind) {
      case 'json': {
        const text = await readBody(req, 'json', this.options.maxJsonBytes ?? 1 << 20);
        return parseJsonBody(body.schema, text, { optional: body.optional });
      }
      case 'calendar': {
        const text = await readBody(req, 'calendar', this.options.maxCalendarBytes ?? 8 << 20);
        if (text === null) throw new InvalidInput('this request needs an iCalendar body');
        return text;
      }
      case 'none':
        throw new Internal(`${declaration.method} ${declaration.path} declares no body to read`);
    }
  }

  /**
   * Sends `op` to its service and waits at most the deadline. Past it the answer is 503:
   * the op may still apply, and a retry with the same request id will not apply it twice.
   * A service that gossip knows to have no replica up is refused at once, without sending:
   * nothing can apply, and the client learns why instead of waiting out the deadline.
   */
  private dispatch(
    op: Op,
    actor: string | null,
    ids: { readonly requestId: string; readonly busId: string },
    clientGone: AbortSignal,
  ): Promise<unknown> {
    const { requestId, busId } = ids;
    const service = serviceFor(op);
    const down = this.certainlyDown(service);
    if (down !== null) {
      this.metrics.failedFast(service);
      return Promise.reject(new Unavailable(down));
    }
    return this.withDeadline(
      async (signal) => {
        const answer = await this.options.dispatcher.dispatch(service, actor, op, {
          requestId: busId,
          deadlineMs: this.deadlineMs,
          signal,
        });
        this.answeredAt.set(service, performance.now());
        return answer;
      },
      clientGone,
      () =>
        new Unavailable(
          `the ${service} service did not answer within ${this.deadlineMs / 1000} s; ` +
            `retry with idempotency-key ${requestId}`,
        ),
    );
  }

  /**
   * Why no replica of `service` can answer, when the replica directory says so and no
   * answer of the service contradicts it. Gossip is hearsay: after a partition heals, the
   * side that was cut off tells everyone that the members it could not reach are dead, and
   * until those refute it (seconds) the directory may call a service down whose replicas
   * are serving. An answer that arrived after the directory gave up on the service (or
   * within `answerGraceMs` before) proves otherwise, and wins.
   */
  private certainlyDown(service: ServiceName): string | null {
    const down = this.options.replicas?.unavailable(service) ?? null;
    if (down === null) {
      this.downSince.delete(service);
      return null;
    }
    let since = this.downSince.get(service);
    if (since === undefined) {
      since = performance.now();
      this.downSince.set(service, since);
    }
    const answered = this.answeredAt.get(service) ?? -Infinity;
    return answered >= since - (this.options.answerGraceMs ?? 0) ? null : down;
  }

  private withDeadline<T>(
    work: (signal: AbortSignal) => Promise<T>,
    clientGone: AbortSignal | null,
    late: () => AgendaError,
    timeoutMs = this.deadlineMs,
  ): Promise<T> {
    return withDeadline(work, clientGone, late, timeoutMs);
  }

  private throttleLogin(username: string, req: IncomingMessage): void {
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

  /**
   * Subscribes to the caller's updates and, once the subscription is live, answers 200 and
   * streams. No subscription in time (bus down) is a 503 rather than a silent stream.
   */
  private async openStream(
    res: ServerResponse,
    actor: string,
    clientGone: AbortSignal,
  ): Promise<StreamOpened> {
    const opened = performance.now();
    const stream: EventStream = new EventStream(res, this.options.stream, {
      updateWritten: () => this.metrics.updateStreamed(),
      updateMalformed: (update) =>
        this.logger.warn('dropped a malformed live update', {
          actor,
          update: JSON.stringify(update)?.slice(0, 200),
        }),
      overflowed: () => {
        this.metrics.streamOverflowed();
        this.logger.warn('cut a live stream whose client does not keep up', { actor });
      },
      ended: () => {
        this.streams.delete(stream);
        this.metrics.streamClosed();
        this.logger.info('live stream ended', {
          actor,
          seconds: Math.round((performance.now() - opened) / 1000),
        });
      },
    });
    this.streams.add(stream);
    this.metrics.streamOpened();
    let subscribed: Promise<() => void> | undefined;
    try {
      const unsubscribe = await this.withDeadline(
        (signal) => {
          subscribed = this.options.notifications.subscribe(
            actor,
            (update) => stream.push(update),
            signal,
          );
          return subscribed;
        },
        clientGone,
        () => new Unavailable('live updates could not be subscribed in time; retry'),
      );
      if (this.stopping) throw new Unavailable('the gateway is shutting down');
      stream.open(unsubscribe);
      const { method, path } = API_ROUTES.liveUpdates;
      this.metrics.requestAnswered(path, method, 200);
      return { kind: 'stream' };
    } catch (error) {
      stream.close();
      // A subscription that goes live after all is ended at once.
      subscribed?.then(
        (unsubscribe) => unsubscribe(),
        () => undefined,
      );
      if (isAgendaError(error)) throw error;
      throw new Unavailable('live updates are not available right now', { cause: error });
    }
  }

  private publicBase(req: IncomingMessage): string {
    if (this.options.publicUrl !== undefined) return this.options.publicUrl.replace(/\/+$/, '');
    const host = req.headers.host;
    if (host !== undefined && HOST_HEADER.test(host)) return `https://${host}`;
    const { host: address, port } = this.address();
    return `https://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  private health(): Promise<HealthAnswer> {
    return Promise.resolve({ ok: true });
  }

  /**
   * Ready when the probe says so within {@link READINESS_TIMEOUT_MS}, not closing, and (with
   * gossip) no service is known to have lost every replica.
   */
  private async readiness(): Promise<HealthAnswer> {
    if (this.stopping) throw new Unavailable('the gateway is shutting down');
    let probe: { readonly ready: boolean; readonly reason?: string };
    try {
      probe = await this.withDeadline(
        () => this.options.readiness(),
        null,
        () => new Unavailable('the readiness check did not answer in time'),
        READINESS_TIMEOUT_MS,
      );
    } catch (error) {
      if (isAgendaError(error)) throw error;
      throw new Unavailable(`the readiness check failed: ${errorMessage(error)}`);
    }
    if (!probe.ready) throw new Unavailable(probe.reason ?? 'not ready');
    for (const service of SERVICES) {
      const down = this.certainlyDown(service);
      if (down !== null) throw new Unavailable(down);
    }
    return { ok: true };
  }

  private async metricsText(): Promise<{ readonly contentType: string; readonly body: string }> {
    return {
      contentType: this.metrics.contentType,
      body: await this.metrics.render(),
    };
  }

  /** Any failure as a refusal: ours as they are, anything else an internal error (logged). */
  private asRefusal(error: unknown, template: string): AgendaError | HttpRefusal {
    if (error instanceof HttpRefusal || isAgendaError(error)) return error;
    this.logger.warn('unexpected failure answered 500', {
      route: template,
      error: errorMessage(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    return new Internal('internal error');
  }

  /** Only reached if writing an answer itself failed; the connection is the only casualty. */
  private lastResort(res: ServerResponse, error: unknown): void {
    this.logger.warn('failed to answer a request', { error: errorMessage(error) });
    res.destroy();
  }
}

/** The request id: the client's `idempotency-key` when given, else a fresh random one. */
function requestIdOf(req: IncomingMessage): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new InvalidInput('the idempotency-key header has 1 to 64 letters, digits, "_" or "-"', {
      field: 'idempotency-key',
    });
  }
  return key;
}

/**
 * The id a request travels under, from the client's idempotency key: scoped to the user who
 * sent it, and for anonymous requests (register, login) to the request itself. Keys are the
 * clients' choice, so two users may pick the same one; under the bare key the second would
 * share the first's request on the bus and receive its reply — another user's data, or
 * their token. The same user retrying the same key still maps to the same id.
 */
function scopedRequestId(actor: string | null, key: string, op: Op): string {
  const scope = actor === null ? `anonymous\n${JSON.stringify(op)}` : `user\n${actor}`;
  return createHash('sha256').update(`${scope}\n${key}`).digest('base64url');
}

/** A random request id; randomUUID draws from a pool, where randomBytes asks the OS each time. */
function freshRequestId(): string {
  return randomUUID();
}

/** The client's address, IPv4-mapped IPv6 addresses written as plain IPv4. */
function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
