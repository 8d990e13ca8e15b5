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
 *
 * This module owns the request pipeline: route, authenticate, hand the route its call,
 * write the answer or the refusal, count and log it. Each other concern is a part it
 * composes: the HTTPS server and its connections (./https-listener.ts), who is asking
 * (./authentication.ts), calling a service within the deadline (./service-calls.ts), which
 * services can answer and `/readyz` (./availability.ts), live streams (./live-streams.ts) and
 * the counters behind `/metrics` (./metrics.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import {
  Internal,
  InvalidInput,
  isAgendaError,
  NotFound,
  Unauthenticated,
  Unavailable,
  type AgendaError,
} from '../../contract/errors.js';
import type { HealthAnswer } from '../../contract/api.js';
import { errorsOf, queryNames, type RouteDeclaration } from '../../contract/api-routes.js';
import { requestSchema } from '../../contract/request-schemas.js';
import { sendJson, sendJsonText, sendText } from '../../base/http-answer.js';
import { JsonText, resultValue } from '../../base/json-text.js';
import { SharedLimits } from '../limits/shared-limits.js';
import {
  AbuseLimits,
  clientAddressOf,
  DEFAULT_ABUSE_LIMITS,
  type AbuseLimitRules,
} from './abuse-limits.js';
import { Authentication, type Identity } from './authentication.js';
import { ServiceAvailability } from './availability.js';
import type { EventStreamOptions } from './event-stream.js';
import { HttpRefusal, readBody, refusalOf } from './http.js';
import { HttpsListener, type ListenerAddress } from './https-listener.js';
import { LiveStreams } from './live-streams.js';
import { GatewayMetrics } from './metrics.js';
import type {
  Dispatcher,
  GatewayLogger,
  NotificationFeed,
  ReadinessProbe,
  ReplicaDirectory,
} from './ports.js';
import { freshRequestId, requestIdOf, scopedRequestId } from './request-ids.js';
import { parseJsonBody, QueryParameters } from './requests.js';
import {
  apiHandlers,
  apiRouter,
  type BoundRoute,
  type Relayed,
  type RequestContext,
} from './routes.js';
import type { Router } from './router.js';
import { ServiceCalls } from './service-calls.js';
import { DEFAULT_CLOCK_TOLERANCE_SEC, type TokenVerifierOptions } from '../users/token-verifier.js';
import { AccessRefusals } from '../net/access-refusals.js';
import { InFlightGate } from '../limits/in-flight.js';
import { CalDav, isDavPath, MAX_CALENDAR_OBJECT_BYTES, type DavAnswer } from './caldav.js';
import { XML_LIMITS } from './dav-xml.js';

export type { GatewayLogger } from './ports.js';

export interface GatewayOptions {
  /** Address to listen on, e.g. `0.0.0.0` or the virtual IP. */
  readonly host: string;
  readonly port: number;
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
  /**
   * Where the abuse limits count (../limits/shared-limits.ts): Redis shared by the gateways
   * in a cluster. Default: this gateway's memory alone.
   */
  readonly sharedLimits?: SharedLimits;
  /** The abuse limits (./abuse-limits.ts); each rule left out keeps its default. */
  readonly abuseLimits?: Partial<AbuseLimitRules>;
  readonly stream?: EventStreamOptions;
  /** How long `close()` lets requests in flight finish before cutting them. Default 5 s. */
  readonly closeGraceMs?: number;
  /**
   * How long a client reading an answer sent in parts (an export) may leave a part untaken
   * before the answer is cut. Default 30 s.
   */
  readonly partDrainTimeoutMs?: number;
  readonly logger?: GatewayLogger;
}

/** The address the gateway listens on. */
export type GatewayAddress = ListenerAddress;

/** A `host` header worth echoing in a URL: a name or IP, optional port, nothing else. */
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const UNMATCHED = 'unmatched';
const silentLogger: GatewayLogger = { info() {}, warn() {} };

export class Gateway {
  /** Counters and histograms behind `/metrics`, readable in-process too. */
  readonly metrics: GatewayMetrics;
  private readonly listener: HttpsListener;
  private readonly router: Router<BoundRoute>;
  private readonly authentication: Authentication;
  private readonly abuse: AbuseLimits;
  private readonly availability: ServiceAvailability;
  private readonly services: ServiceCalls;
  private readonly liveStreams: LiveStreams;
  private readonly caldav: CalDav;
  private readonly logger: GatewayLogger;
  private closing: Promise<void> | null = null;
  /** Set the moment `close()` is first called. */
  private stopping = false;

  constructor(private readonly options: GatewayOptions) {
    this.logger = options.logger ?? silentLogger;
    const deadlineMs = options.requestDeadlineMs ?? 10_000;
    this.metrics = new GatewayMetrics(options.registry, options.replicas);
    this.authentication = new Authentication({
      ...options,
      accessRefusals: new AccessRefusals({ logger: this.logger, registry: options.registry }),
    });
    const limits = { ...DEFAULT_ABUSE_LIMITS, ...options.abuseLimits };
    this.abuse = new AbuseLimits(
      limits,
      options.sharedLimits ?? new SharedLimits({ logger: this.logger }),
      this.metrics,
    );
    this.availability = new ServiceAvailability(options);
    this.services = new ServiceCalls({
      dispatcher: options.dispatcher,
      deadlineMs,
      availability: this.availability,
      metrics: this.metrics,
      readsInFlight: new InFlightGate({
        perKey: limits.readsInFlight,
        waitingPerKey: limits.readsWaiting,
      }),
    });
    this.liveStreams = new LiveStreams({
      notifications: options.notifications,
      stream: options.stream,
      subscribeDeadlineMs: deadlineMs,
      admit: (actor) => this.abuse.admitStream(actor),
      metrics: this.metrics,
      logger: this.logger,
      tokenClock: {
        now: options.tokens.now ?? Date.now,
        toleranceMs: (options.tokens.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC) * 1000,
      },
    });
    this.caldav = new CalDav({
      admitPasswordCheck: (username, address) =>
        this.abuse.admitPasswordCheck(username, address, 'login'),
      admitRequest: (actor) => this.abuse.admitRequest(actor),
      verifyDeviceToken: (token) => this.authentication.device(token),
      call: (op, identity, signal, options) => {
        const requestId = freshRequestId();
        const busId = scopedRequestId(identity?.actor ?? null, requestId, op);
        const write = options?.write ?? false;
        // CalDAV reshapes every answer (XML, iCalendar): it reads the value.
        return this.services
          .call(op, identity, { requestId, busId, write }, signal)
          .then(resultValue);
      },
      ...(options.tokens.now === undefined ? {} : { clock: options.tokens.now }),
    });
    this.router = apiRouter({
      ...apiHandlers,
      health: () => this.health(),
      readiness: () => this.readiness(),
      metrics: () => this.metricsText(),
    });
    this.listener = new HttpsListener(
      {
        host: options.host,
        port: options.port,
        tls: options.tls,
        closeGraceMs: options.closeGraceMs,
        logger: this.logger,
      },
      (req, res, clientGone) => {
        this.handle(req, res, clientGone).catch((error: unknown) => this.lastResort(res, error));
      },
    );
  }

  /** Starts listening; resolves once bound. Idempotent. */
  start(): Promise<void> {
    return this.listener.start();
  }

  address(): GatewayAddress {
    return this.listener.address();
  }

  /**
   * Stops accepting connections, ends live streams, lets requests in flight finish (up to
   * `closeGraceMs`), then cuts what remains. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      this.liveStreams.close();
      this.abuse.close();
      await this.listener.close();
    })();
    return this.closing;
  }

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
    clientGone: AbortController,
  ): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const queryStart = rawUrl.indexOf('?');
    const path = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart);
    const search = queryStart < 0 ? '' : rawUrl.slice(queryStart + 1);
    if (isDavPath(path)) return this.handleDav(req, res, path, clientGone, started);
    let template = UNMATCHED;
    let declaration: RouteDeclaration | undefined;
    let requestId = freshRequestId();
    let status: number;
    // The ids this request's ops travel under on the bus, for the slow-request line.
    const busIds: string[] = [];
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
      const identity = await this.authentication.actorOf(req, declaration, match.params);
      if (identity !== null) await this.abuse.admitRequest(identity.actor);
      const query = new QueryParameters(new URLSearchParams(search), queryNames(declaration));
      const answer = await route.handle(
        this.call(req, res, declaration, {
          params: match.params,
          query,
          identity,
          requestId,
          clientGone,
          busIds,
        }),
      );
      // A stream answered its headers itself and is counted when it opened.
      if (answer.kind === 'stream') return;
      const headers = { 'x-request-id': requestId };
      if (answer.kind === 'parts') {
        status = await this.sendParts(res, answer, headers, clientGone.signal, template);
      } else {
        if (!res.destroyed) {
          if (answer.kind === 'json' && answer.body instanceof JsonText) {
            // A service's result passed on as the service wrote it (protocol.ts).
            sendJsonText(res, answer.status, answer.body.text, headers);
          } else if (answer.kind === 'json') sendJson(res, answer.status, answer.body, headers);
          else sendText(res, 200, answer.contentType, answer.body, headers);
        }
        status = answer.kind === 'json' ? answer.status : 200;
      }
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
   * Sends an answer fetched a part at a time, each part written as it comes and the next
   * fetched once the client has taken it (a slow reader holds one part here, not the whole
   * answer). The first part is fetched before anything is sent, so its failure is answered
   * as any refusal (thrown); a later one's cuts the connection, which the client sees as an
   * incomplete answer — never as a complete one with its end missing. A client that leaves
   * stops the fetching. Parts made on the spot (a CalDAV multistatus's, `multistatusParts` in
   * ./dav-xml.ts) are made one per turn of the event loop, so an answer of megabytes is many
   * short turns, not one long one. Returns the status to count: `status`, or the failure's.
   */
  private async sendParts(
    res: ServerResponse,
    answer: {
      readonly status?: number;
      readonly contentType: string;
      readonly parts: AsyncIterable<string> | Iterable<string>;
    },
    headers: Readonly<Record<string, string>>,
    clientGone: AbortSignal,
    template: string,
  ): Promise<number> {
    const status = answer.status ?? 200;
    const parts =
      Symbol.asyncIterator in answer.parts
        ? answer.parts[Symbol.asyncIterator]()
        : onePerTurn(answer.parts);
    let part = await parts.next();
    if (res.destroyed) {
      await parts.return?.();
      return status;
    }
    res.writeHead(status, {
      'content-type': answer.contentType,
      'cache-control': 'no-store',
      ...headers,
    });
    try {
      while (part.done !== true) {
        if (
          !res.write(part.value) &&
          !(await drained(res, this.options.partDrainTimeoutMs ?? PART_DRAIN_TIMEOUT_MS))
        ) {
          // A client that stops reading holds a page here and a socket, not the service.
          this.logger.warn('an answer sent in parts was cut: the client stopped reading', {
            route: template,
          });
          res.destroy();
        }
        if (res.destroyed || clientGone.aborted) {
          await parts.return?.();
          return status;
        }
        part = await parts.next();
      }
      res.end();
      return status;
    } catch (error) {
      const refused = this.asRefusal(error, template);
      this.logger.warn('an answer sent in parts was cut short', {
        route: template,
        error: refused.message,
      });
      res.destroy();
      return refusalOf(refused).status;
    }
  }

  /**
   * A CalDAV request (./caldav.ts), answered in DAV's shapes rather than the API's: XML or
   * text bodies, 207 multistatus, 401 with a Basic challenge.
   */
  private async handleDav(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    clientGone: AbortController,
    started: number,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const requestId = requestIdOf(req) ?? freshRequestId();
    let answer: DavAnswer;
    try {
      answer = await this.caldav.handle({
        method,
        path,
        header: (name) => {
          const value = req.headers[name];
          return Array.isArray(value) ? value.join(', ') : value;
        },
        address: clientAddressOf(req),
        body: (kind = 'xml') =>
          kind === 'xml'
            ? readBody(req, 'xml', XML_LIMITS.maxLength)
            : readBody(req, 'calendar', MAX_CALENDAR_OBJECT_BYTES),
        signal: clientGone.signal,
      });
    } catch (error) {
      const refused = this.asRefusal(error, 'dav');
      const refusal = refusalOf(refused);
      answer = {
        status: refusal.status,
        headers: {
          ...refusal.headers,
          'content-type': 'text/plain; charset=utf-8',
        },
        body: `${refusal.body.error.message}\n`,
      };
    }
    if (!res.headersSent && !res.destroyed) {
      if (answer.reason !== undefined) res.statusMessage = answer.reason;
      const contentType = answer.headers['content-type'] ?? 'text/plain; charset=utf-8';
      const headers = { ...answer.headers, 'x-request-id': requestId };
      if (typeof answer.body === 'string') {
        sendText(res, answer.status, contentType, answer.body, headers);
      } else {
        const { status, body } = answer;
        await this.sendParts(
          res,
          { status, contentType, parts: body.parts },
          headers,
          clientGone.signal,
          'dav',
        );
      }
    }
    this.metrics.requestAnswered(
      'dav',
      method,
      answer.status,
      (performance.now() - started) / 1000,
    );
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

  private call(
    req: IncomingMessage,
    res: ServerResponse,
    declaration: RouteDeclaration,
    context: {
      readonly params: Readonly<Record<string, string>>;
      readonly query: QueryParameters;
      readonly identity: Identity | null;
      readonly requestId: string;
      readonly clientGone: AbortController;
      readonly busIds: string[];
    },
  ): RequestContext {
    const { identity, requestId, clientGone } = context;
    const actor = identity?.actor ?? null;
    return {
      params: context.params,
      query: context.query,
      actor,
      body: () => this.readDeclaredBody(req, declaration),
      dispatch: async (op) => {
        const busId = scopedRequestId(actor, requestId, op);
        context.busIds.push(busId);
        // Passed on as the route's answer: the services answer the shapes of api.ts.
        return (await this.services.call(
          op,
          identity,
          // A read (GET) changes nothing: its refusal need not say how to retry it safely.
          { requestId, busId, write: req.method !== 'GET' && req.method !== 'HEAD' },
          clientGone.signal,
        )) as Relayed;
      },
      admitRegistration: () => this.abuse.admitRegistration(clientAddressOf(req)),
      admitPasswordCheck: (username, kind) =>
        this.abuse.admitPasswordCheck(username, clientAddressOf(req), kind),
      admitRefresh: () => this.abuse.admitRefresh(clientAddressOf(req)),
      absoluteUrl: (path) => `${this.publicBase(req)}${path}`,
      stream: () => {
        if (identity === null) throw new Unauthenticated('a live stream needs a signed-in user');
        return this.liveStreams.open(res, identity, clientGone.signal);
      },
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
        return parseJsonBody(requestSchema(body.schema), text, { optional: body.optional });
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

  /** `/readyz`: not while closing, else as the services' availability says. */
  private async readiness(): Promise<HealthAnswer> {
    if (this.stopping) throw new Unavailable('the gateway is shutting down');
    return this.availability.readiness();
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

/** {@link GatewayOptions.partDrainTimeoutMs}'s default. */
const PART_DRAIN_TIMEOUT_MS = 30_000;

/** Resolves true once `res` can take more (or is gone), false if it could not within `ms`. */
function drained(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (taken: boolean) => (): void => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onDrain);
      resolve(taken);
    };
    const onDrain = done(true);
    const timer = setTimeout(done(false), ms);
    res.on('drain', onDrain);
    res.on('close', onDrain);
  });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `parts` as an async iterator that lets the event loop go before making each part. */
function onePerTurn(parts: Iterable<string>): AsyncIterator<string, undefined> {
  const iterator = parts[Symbol.iterator]();
  return {
    next: () =>
      new Promise((resolve, reject) =>
        setImmediate(() => {
          try {
            const next = iterator.next();
            resolve(next.done === true ? { done: true, value: undefined } : next);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        }),
      ),
    return: () => {
      iterator.return?.();
      return Promise.resolve({ done: true, value: undefined });
    },
  };
}
