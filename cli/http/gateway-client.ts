/**
 * HTTPS to the gateways, with failover. Each call tries the gateways in the order given (those
 * that failed lately last, below) and moves to the next one only when a gateway cannot be
 * reached (refused, reset, timed out, TLS refused) or answers 503; any other answer is final.
 * A write carries one
 * `idempotency-key` for all its attempts, so a retry on another gateway of a write the
 * first one had already applied is answered with the original result instead of applying
 * twice. Connections are kept alive and reused across calls; only the configured CA is
 * trusted when one is given. Authenticated calls send the access token of
 * {@link AccessTokens}, renewed when it has run out; a call refused because the token it
 * sent had expired (the gateway's clock ahead of ours) is renewed and sent again, once.
 *
 * Budgets. A read (GET) gives up within {@link DEFAULT_READ_DEADLINE_MS} (2.5 s) over every
 * gateway. Until a gateway has answered anything, that budget counts from the command's start
 * (`startedAt`: the process's, for the `agenda` binary), so the time spent starting up,
 * reading the profile and the CA is part of it and a command whose gateways are all down
 * ends within about 3 s; a read that comes once the service has answered, or later than the
 * budget (after a prompt, or in a long `watch`), has a whole budget of its own, and no read
 * has less than half of it (a command slow to start still gives a live gateway time). Over
 * the gateways: a refused connection costs nothing, a black-holed gateway (one that takes
 * the TCP connection and never completes TLS) at most
 * {@link DEFAULT_READ_CONNECT_TIMEOUT_MS}, and a gateway that takes the connection but does
 * not answer (its services down, waiting out their own deadline) a fair share of the time
 * left — that time over the gateways not yet tried, itself included, but never less than a
 * little more than the connect budget — so that one hung gateway cannot spend the whole
 * budget and leave the next untried. Nothing is lost by giving up on a read, and a person
 * waiting 25 s to be told "unavailable" is worse off than one told at once. A write
 * keeps the longer per-attempt timeouts ({@link DEFAULT_TIMEOUT_MS} for the answer, a
 * connect timeout of {@link DEFAULT_CONNECT_TIMEOUT_MS}): giving up early would not undo it,
 * only leave its outcome unknown — which the error then says, with how to check. The one
 * write a read waits on, the session's renewal when its access token has run out, spends
 * the read's budget as the read would ({@link GatewayCall.within}): a login whose token
 * expired while no gateway answers still ends within about 3 s, "service unavailable".
 *
 * A gateway that failed (unreachable, hung, 503) is tried after the others by the calls that
 * follow, for {@link FAILED_GATEWAY_MEMORY_MS}: a command makes several calls — the session's
 * renewal and then the read, or a read per page or per step — and one that paid a black-holed
 * gateway's connect budget on each of them added those up past the read's budget (two such
 * gateways before the live one, with a token to renew: 4 s). It is still tried, last, so a
 * gateway that was only briefly away costs nothing more than its place in the order.
 *
 * Failures say what happened ({@link unavailableMessage}): 503s are not timeouts, and any
 * other 5xx, a read's as a write's, names the gateway that answered it. A write that may
 * have reached a service — a gateway took it and did not say it passed nothing on
 * (`details.forwarded: false`) — fails saying its fate is unknown and how to check it with
 * the CLI, its `--json` details carrying `forwarded: true` and the idempotency key
 * ({@link outcomeUnknown}); one refused before any service saw it says nothing of a key, but
 * that nothing was changed.
 */
import { randomUUID } from 'node:crypto';
import { HttpsTransport, TransportTimeout, bodyText } from './https-transport.js';
import type { TransportResponse } from './https-transport.js';
import type { HttpMethod } from '../../contract/api-routes.js';
import {
  Internal,
  InvalidInput,
  Unauthenticated,
  Unavailable,
  errorFromWire,
  isAgendaError,
} from '../../contract/errors.js';
import type { AgendaError } from '../../contract/errors.js';
import { withDetails } from '../failures.js';
import type { AccessTokens } from './session-tokens.js';

export type { HttpMethod };

/** One API call, independent of which gateway answers it. */
export interface GatewayCall {
  readonly method: HttpMethod;
  /** The path as the gateway routes it, already escaped, e.g. `/v1/events/3f2c`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** A JSON body. */
  readonly json?: unknown;
  /** A `text/calendar` body. */
  readonly calendar?: string;
  /** Sends the access token; a 401 then means "log in again" (once renewing could not help). */
  readonly authenticated: boolean;
  /** The media type wanted; JSON unless said otherwise. */
  readonly accept?: string;
  /**
   * The `idempotency-key` of a write, for a caller that retries the same write across calls
   * (letters, digits, `_`, `-`; ≤ 64); a fresh one per call otherwise.
   */
  readonly idempotencyKey?: string;
  /**
   * For a read: the longest it may take over every gateway, instead of the client's
   * `readDeadlineMs` (a large export's download needs longer than a list page).
   */
  readonly deadlineMs?: number;
  /**
   * For a write: connect within a read's connect budget (1 s), not a write's (3 s). A
   * connection that was never made sent nothing, so moving on to the next gateway sooner is
   * safe for any write; a session's renewal takes it, since a read waits on it.
   */
  readonly quickConnect?: boolean;
  /**
   * A session's renewal, on the way of the person's call: no change of theirs, so its
   * failure says nothing of a change that may have been made (with its key), which would
   * send them checking for an event never sent.
   */
  readonly renewal?: boolean;
  /**
   * For a write a read waits on (the session's renewal before it): the read's deadline,
   * which bounds the write as a read's budget bounds a read — each gateway a fair share of
   * what is left, and `service unavailable` when it runs out — instead of a write's
   * timeouts, so that a read still ends in time when no gateway answers the renewal.
   */
  readonly within?: ReadDeadline;
}

/**
 * When a read's budget runs out (ms since the epoch), and the budget as messages say it
 * (`ms`): what a call made on the read's way ({@link GatewayCall.within}) keeps to.
 */
export interface ReadDeadline {
  readonly at: number;
  readonly ms: number;
}

/** A session's renewal that no gateway answered, on the way of a call (see `withToken`). */
class RenewalUnavailable extends Unavailable {}

/** Rethrows a renewal's {@link Unavailable} as a {@link RenewalUnavailable}, anything else as it is. */
function renewalFailed(error: unknown): never {
  if (error instanceof Unavailable && !(error instanceof RenewalUnavailable)) {
    throw new RenewalUnavailable(error.message, {
      ...(error.forwarded === false ? { forwarded: false } : {}),
      cause: error,
    });
  }
  throw error;
}

/** A successful (2xx) answer and the gateway that gave it. */
export interface GatewayAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly server: URL;
}

/** An open server-sent-events stream. */
export interface GatewayStream {
  readonly server: URL;
  readonly body: AsyncIterable<Buffer>;
}

export interface GatewayClientOptions {
  /** Gateways in order of preference; at least one. */
  readonly servers: readonly URL[];
  /** PEM of the only CA to trust; absent means the system's roots. */
  readonly ca?: string;
  /** Bearer token for authenticated calls: a fixed one, or a session's, renewed as it expires. */
  readonly token?: string | AccessTokens;
  /** Longest wait for an answer's headers, and between body chunks, per attempt. */
  readonly timeoutMs?: number;
  /** Longest wait to establish a connection; short, so a dead host costs little. */
  readonly connectTimeoutMs?: number;
  /**
   * Longest silence on a live-update stream before it is presumed dead: three heartbeats
   * (gateways send one every 10 s; older ones every 15 s, two of them).
   */
  readonly streamIdleMs?: number;
  /** Sent as `user-agent`. */
  readonly userAgent?: string;
  /** Longest a read (GET) may take over every gateway, unless the call says otherwise. */
  readonly readDeadlineMs?: number;
  /** Longest a read waits to connect (TCP and TLS) to one gateway before trying the next. */
  readonly readConnectTimeoutMs?: number;
  /**
   * When the command started (ms since the epoch): until a gateway has answered, reads'
   * budgets count from then (see the module comment). Absent: each read from its own start.
   */
  readonly startedAt?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
const DEFAULT_STREAM_IDLE_MS = 30_000;
/** A read's whole budget, over every gateway (see the module comment): a command ends within 3 s. */
export const DEFAULT_READ_DEADLINE_MS = 2_500;
/**
 * The longest a gateway that took the connection may take to open a live-update stream (it
 * answers once subscribed to the bus) before the next gateway is tried.
 */
const STREAM_OPEN_TIMEOUT_MS = 5_000;
/** A read's connect budget per gateway: two black-holed gateways still leave some time. */
export const DEFAULT_READ_CONNECT_TIMEOUT_MS = 1_000;
/**
 * How much more than the connect budget a read's attempt on one gateway has at least: a
 * gateway that never completes the handshake is then reported as such (its connect timeout
 * fires first), not as one that did not answer.
 */
const ATTEMPT_FLOOR_MARGIN_MS = 50;
/**
 * What a read keeps for each gateway after the one it tries (see `ReadBudget.attempt`): a
 * live gateway whose connection opens in this long answers a list.
 */
const TAIL_SHARE_MS = 400;
/**
 * How long a gateway that failed is tried after the others (see the module comment): longer
 * than any one command's calls, short enough that a long `watch` goes back to the order
 * given once the gateway it prefers is back.
 */
const FAILED_GATEWAY_MEMORY_MS = 30_000;

/** Why one gateway could not be used; the call goes on with the next. */
class GatewayUnreachable extends Error {
  override readonly name = 'GatewayUnreachable';

  /**
   * @param sent whether the request may have reached a service (a write may then have been
   * applied): false when no connection was made, or the gateway said it passed nothing on.
   */
  constructor(
    message: string,
    readonly sent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A gateway that answered 503: it is up, but the service behind it is not (or did not
 * answer in time). `reason` is what the gateway said, without its advice to retry.
 */
class GatewayAnswered503 extends GatewayUnreachable {
  constructor(
    readonly reason: string,
    sent: boolean,
  ) {
    super(`unavailable${reason === '' ? '' : `: ${reason}`}`, sent);
  }
}

/** A read's budget ran out while trying one gateway: the others are not tried. */
class OutOfTime extends GatewayUnreachable {}

/** A `--server` value that names no usable gateway. */
export class InvalidServerList extends InvalidInput {
  constructor(message: string) {
    super(message, { field: 'server' });
  }
}

/** Parses `--server` text: comma-separated URLs; a bare `host:port` means `https://host:port`. */
export function parseServerList(text: string): URL[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) {
    throw new InvalidServerList('--server names no gateway');
  }
  return entries.map((entry) => {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `https://${entry}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new InvalidServerList(`"${entry}" is not a gateway URL (like https://127.0.0.1:8443)`);
    }
    if (url.protocol !== 'https:') {
      throw new InvalidServerList(`"${entry}" is not https: gateways only speak TLS`);
    }
    return url;
  });
}

/** Talks to the gateways; close it when done so kept-alive connections let the process exit. */
export class GatewayClient {
  private readonly servers: readonly URL[];
  private readonly tokens: AccessTokens | undefined;
  private readonly timeoutMs: number;
  private readonly streamIdleMs: number;
  private readonly userAgent: string;
  private readonly agent: HttpsTransport;
  /** Reads' connections: the same, but a shorter connect timeout. */
  private readonly readAgent: HttpsTransport;
  private readonly readDeadlineMs: number;
  /** The least time a read gives one gateway (see the module comment). */
  private readonly attemptFloorMs: number;
  /** When the command started; reads' budgets count from it until a gateway answers. */
  private readonly startedAt: number | undefined;
  /** Whether any gateway has answered (anything): the service is up, reads budget afresh. */
  private answered = false;
  /** When each gateway that failed last failed (by URL): tried after the others a while. */
  private readonly failedAt = new Map<string, number>();

  constructor(options: GatewayClientOptions) {
    if (options.servers.length === 0) throw new InvalidServerList('no gateway to talk to');
    this.servers = options.servers;
    this.tokens = typeof options.token === 'string' ? fixedToken(options.token) : options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.streamIdleMs = options.streamIdleMs ?? DEFAULT_STREAM_IDLE_MS;
    this.userAgent = options.userAgent ?? 'agenda-cli';
    this.readDeadlineMs = options.readDeadlineMs ?? DEFAULT_READ_DEADLINE_MS;
    const agent = (connectTimeoutMs: number): HttpsTransport =>
      new HttpsTransport({
        // With `ca`, Node trusts that CA and nothing else: the lab's gateways, not the world's.
        ca: options.ca,
        // Covers the TLS handshake too: a gateway that takes the TCP connection and says
        // nothing (black-holed) costs this much, not the answer's timeout.
        connectTimeoutMs,
      });
    this.agent = agent(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    const readConnectTimeoutMs = Math.min(
      options.readConnectTimeoutMs ?? DEFAULT_READ_CONNECT_TIMEOUT_MS,
      options.connectTimeoutMs ?? Infinity,
    );
    this.readAgent = agent(readConnectTimeoutMs);
    this.attemptFloorMs = readConnectTimeoutMs + ATTEMPT_FLOOR_MARGIN_MS;
    this.startedAt = options.startedAt;
  }

  /**
   * Performs the call on the first gateway able to answer it. Resolves with a 2xx answer;
   * rejects with the {@link AgendaError} the gateway answered, or {@link Unavailable} naming
   * every gateway's failure when none could answer.
   */
  async call(call: GatewayCall, signal?: AbortSignal): Promise<GatewayAnswer> {
    const read = call.method === 'GET';
    const idempotencyKey = read ? undefined : (call.idempotencyKey ?? randomUUID());
    // A write whose outcome a failure leaves unknown is said to be so, with its key. A
    // renewal on a read's way is no change of the person's: there is nothing for them to
    // check before repeating it (one the service made unseen is taken up by the next
    // renewal, which sends the same request again: cli/http/session-tokens.ts).
    // `onlySending`: the key is this call's own, so no earlier call sent the write; a caller
    // that sends it again under its key (an import's request) may have had it made before.
    const write =
      idempotencyKey === undefined || call.within !== undefined || call.renewal === true
        ? undefined
        : { idempotencyKey, onlySending: call.idempotencyKey === undefined };
    const readMs = call.deadlineMs ?? this.readDeadlineMs;
    let budget = null as ReadBudget | null;
    // What a renewal of the token on the way of this call keeps to: a read's deadline as it
    // stands — the budget's once made (the second try of a token refused as expired), else
    // the one a budget made now would have — so that a read whose renewal no gateway
    // answers still ends in time. A write's renewal keeps a write's timeouts.
    const renewalDeadline = (): ReadDeadline | undefined =>
      budget?.deadline ?? (read ? this.readDeadline(readMs) : call.within);
    try {
      return await this.withToken(call.authenticated, signal, renewalDeadline, (token) => {
        // Made once the token is at hand, from the command's start while no gateway has
        // answered: a renewal that was answered leaves the read a whole budget, as any read
        // after an answer has. Both tries of a token refused as expired share it.
        if (read) budget ??= this.readBudget(readMs, signal);
        else if (call.within !== undefined) budget ??= new ReadBudget(call.within, signal);
        const readBudget = budget;
        return this.failover(
          async (server, gatewaysLeft) => {
            const attempt = readBudget?.attempt(gatewaysLeft, this.attemptFloorMs);
            try {
              const response = await this.send(
                server,
                call,
                token,
                idempotencyKey,
                attempt?.signal ?? signal,
                { attempt },
              );
              attempt?.answering();
              const body = await readBody(response, server, attempt);
              const contentType = headerValue(response.headers['content-type']);
              if (response.statusCode >= 200 && response.statusCode < 300) {
                return { status: response.statusCode, contentType, body, server };
              }
              throw this.refusal(response.statusCode, body, call.authenticated, server, write);
            } finally {
              attempt?.dispose();
            }
          },
          write,
          readBudget,
        );
      });
    } catch (error) {
      // The session could not be renewed: the person's change was never sent (a token
      // refused as expired was refused before anything was done).
      if (error instanceof RenewalUnavailable && write !== undefined) {
        throw new Unavailable(
          `${error.message}. Nothing was changed: the session could not be renewed, so the change was not sent`,
          { forwarded: false, cause: error },
        );
      }
      throw error;
    } finally {
      budget?.dispose();
    }
  }

  /** {@link call}, then the JSON answer, checked to carry `field`. */
  async json<T>(call: GatewayCall, field: string, signal?: AbortSignal): Promise<T> {
    const answer = await this.call(call, signal);
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.body);
    } catch (error) {
      throw new Internal(`${answer.server.host} answered with malformed JSON`, { cause: error });
    }
    if (typeof parsed !== 'object' || parsed === null || !(field in parsed)) {
      throw new Internal(`${answer.server.host} answered without "${field}"`);
    }
    return parsed as T;
  }

  /**
   * Opens `GET path` as a server-sent-events stream on the first gateway able to serve it.
   * The body fails when the gateway stays silent longer than the idle limit.
   */
  async openStream(
    path: string,
    signal: AbortSignal,
    lastEventId?: string,
  ): Promise<GatewayStream> {
    const call: GatewayCall = { method: 'GET', path, authenticated: true };
    // A stream's renewal keeps a write's timeouts: `watch` retries, and nobody waits on it
    // as on a read.
    return this.withToken(
      true,
      signal,
      () => undefined,
      (token) =>
        this.failover(async (server) => {
          // Opened on the read agent (a black-holed gateway costs its short connect timeout),
          // and a gateway that takes the connection but does not open the stream costs
          // STREAM_OPEN_TIMEOUT_MS, not a write's 15 s; once open, only the idle limit ends it.
          const response = await this.send(server, call, token, undefined, signal, {
            stream: {
              accept: 'text/event-stream',
              headersTimeout: Math.min(this.timeoutMs, STREAM_OPEN_TIMEOUT_MS),
              bodyTimeout: this.streamIdleMs,
              ...(lastEventId === undefined ? {} : { lastEventId }),
            },
          });
          if (response.statusCode >= 200 && response.statusCode < 300) {
            return { server, body: response.body };
          }
          const body = await readBody(response, server);
          throw this.refusal(response.statusCode, body, true, server);
        }),
    );
  }

  /** Closes kept-alive connections. Idempotent. */
  close(): Promise<void> {
    this.agent.close();
    this.readAgent.close();
    return Promise.resolve();
  }

  /**
   * The budget of a read of `ms` starting now: from the command's start while no gateway has
   * answered and the command is younger than `ms`, else from now. Never less than half of
   * `ms` (nor one gateway's least share): a command slow to start, on a loaded machine,
   * still gives a live gateway the time to answer, and ends within `ms / 2` of its read.
   */
  private readBudget(ms: number, caller: AbortSignal | undefined): ReadBudget {
    return new ReadBudget(this.readDeadline(ms), caller);
  }

  /** When a read of `ms` starting now runs out: see {@link readBudget}. */
  private readDeadline(ms: number): ReadDeadline {
    const now = Date.now();
    const from =
      this.startedAt !== undefined && !this.answered && now - this.startedAt < ms
        ? this.startedAt
        : now;
    const least = Math.max(this.attemptFloorMs, ms / 2);
    return { at: Math.max(from + ms, now + least), ms };
  }

  /**
   * Runs `attempt` with the access token (none for an anonymous call); when the gateway
   * answers that the token had expired, once more with a renewed one. A renewal on the way
   * keeps to `deadline()` when it names one: one this call starts is bounded by it itself,
   * and one it joins (started by another call, maybe with no deadline) is given up on a
   * moment after it, so that a read waits for a renewal no longer than for its answer.
   */
  private async withToken<T>(
    authenticated: boolean,
    signal: AbortSignal | undefined,
    deadline: () => ReadDeadline | undefined,
    attempt: (token: string | undefined) => Promise<T>,
  ): Promise<T> {
    const tokens = authenticated ? this.tokens : undefined;
    if (tokens === undefined) return attempt(undefined);
    const first = deadline();
    const token = await withinDeadline(tokens.current(signal, first), first).catch(renewalFailed);
    try {
      return await attempt(token);
    } catch (error) {
      if (!(error instanceof Unauthenticated && error.reason === 'token_expired')) throw error;
      const again = deadline();
      const renewed = await withinDeadline(tokens.renewed(token, signal, again), again).catch(
        renewalFailed,
      );
      if (renewed === undefined) throw error;
      return attempt(renewed);
    }
  }

  /**
   * `attempt` on each gateway in turn until one answers (`gatewaysLeft` counts the gateway
   * tried and those after it). When none does: {@link Unavailable} naming each gateway's
   * failure; for a write (`write`) that may have reached one, saying that its outcome is
   * unknown and how to find out before repeating it, and for one that reached none, that
   * nothing was changed.
   */
  private async failover<T>(
    attempt: (server: URL, gatewaysLeft: number) => Promise<T>,
    write?: { readonly idempotencyKey: string; readonly onlySending: boolean },
    budget?: ReadBudget | null,
  ): Promise<T> {
    const failures: { readonly host: string; readonly error: GatewayUnreachable }[] = [];
    let untried: string[] = [];
    const servers = this.inOrderOfTrial();
    for (const [index, server] of servers.entries()) {
      try {
        const answer = await attempt(server, servers.length - index);
        this.failedAt.delete(server.href);
        return answer;
      } catch (error) {
        if (!(error instanceof GatewayUnreachable)) {
          // It answered (a refusal, an error of the service's): it is up.
          if (isAgendaError(error)) this.failedAt.delete(server.href);
          throw error;
        }
        this.failedAt.set(server.href, Date.now());
        failures.push({ host: server.host, error });
        if (error instanceof OutOfTime || budget?.spent === true) {
          untried = servers.slice(index + 1).map((s) => s.host);
          break;
        }
      }
    }
    const message = unavailableMessage(failures, untried, budget?.spent === true ? budget : null);
    if (write === undefined) throw new Unavailable(message);
    if (failures.some(({ error }) => error.sent)) {
      throw outcomeUnknown(new Unavailable(`${message}${OUTCOME_UNKNOWN}`), write.idempotencyKey);
    }
    // Nothing reached a service: the write certainly was not made, which is said as plainly
    // as the other case, since the two call for opposite things (run it again; look first).
    // Not for a write sent before under the same key: that sending's fate is the caller's.
    if (!write.onlySending) throw new Unavailable(message, { forwarded: false });
    throw new Unavailable(`${message}. Nothing was changed: the request reached no service`, {
      forwarded: false,
    });
  }

  /**
   * The gateways in the order a call tries them: as given, but those that failed within
   * {@link FAILED_GATEWAY_MEMORY_MS} after the others (the one that failed last, last).
   */
  private inOrderOfTrial(): URL[] {
    const now = Date.now();
    // When it failed last; 0 (before any failure) when it has not, or long enough ago.
    const failed = (server: URL): number => {
      const at = this.failedAt.get(server.href) ?? 0;
      return now - at < FAILED_GATEWAY_MEMORY_MS ? at : 0;
    };
    // Array.prototype.sort is stable: gateways that have not failed keep the order given.
    return [...this.servers].sort((a, b) => failed(a) - failed(b));
  }

  private async send(
    server: URL,
    call: GatewayCall,
    token: string | undefined,
    idempotencyKey: string | undefined,
    signal: AbortSignal | undefined,
    options: {
      readonly stream?: {
        accept: string;
        headersTimeout: number;
        bodyTimeout: number;
        lastEventId?: string;
      };
      readonly attempt?: ReadAttempt | undefined;
    } = {},
  ): Promise<TransportResponse> {
    const { stream, attempt } = options;
    const headers: Record<string, string> = {
      accept: stream?.accept ?? call.accept ?? 'application/json',
      'user-agent': this.userAgent,
    };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    if (stream?.lastEventId !== undefined) headers['last-event-id'] = stream.lastEventId;
    let body: string | undefined;
    if (call.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(call.json);
    } else if (call.calendar !== undefined) {
      headers['content-type'] = 'text/calendar; charset=utf-8';
      body = call.calendar;
    }
    const read = call.method === 'GET';
    // A read waits for the answer its share of the budget, and for the body's next chunk
    // what is left of the whole budget (see ReadAttempt.answering).
    const headersTimeout =
      stream?.headersTimeout ?? (attempt === undefined ? this.timeoutMs : attempt.remainingMs);
    const bodyTimeout = attempt === undefined ? this.timeoutMs : attempt.budgetRemainingMs;
    try {
      const response = await (
        read || call.quickConnect === true ? this.readAgent : this.agent
      ).request({
        origin: server.origin,
        path: requestPath(server, call),
        method: call.method,
        headers,
        body,
        headersTimeoutMs: Math.max(1, Math.min(this.timeoutMs, headersTimeout)),
        bodyTimeoutMs: stream?.bodyTimeout ?? Math.max(1, Math.min(this.timeoutMs, bodyTimeout)),
        signal,
      });
      // A 503 says the gateway is up but not what it serves: reads keep the command's clock.
      if (response.statusCode !== 503) this.answered = true;
      return response;
    } catch (error) {
      const late = attempt?.late('no answer', error);
      if (late !== undefined) throw late;
      if (signal?.aborted === true) throw error;
      throw new GatewayUnreachable(describeTransportFailure(error), mayHaveSent(error), {
        cause: error,
      });
    }
  }

  /**
   * The error for a non-2xx answer; 503 means "try the next gateway". Any other 5xx names
   * the gateway that answered it, as the messages of gateways that could not answer do,
   * without the gateway's advice to retry (see {@link withoutRetryHint}). To a `write` it
   * also says that the change may or may not have been made: the gateway had the request,
   * and a fault on the way back (a service that applied it, then failed to answer) looks
   * the same as one before.
   */
  private refusal(
    status: number,
    body: string,
    authenticated: boolean,
    server: URL,
    write?: { readonly idempotencyKey: string },
  ): AgendaError | GatewayUnreachable {
    const error = this.refusalAsSaid(status, body, authenticated, server);
    if (status < 500 || error instanceof GatewayUnreachable) return error;
    // The one 5xx that does tell: refused before any service had it.
    if (write !== undefined && error instanceof Unavailable && error.forwarded === false) {
      return error;
    }
    const wire = error.toWire();
    const answered = `${server.host} answered ${status}`;
    const reason = withoutRetryHint(wire.message);
    const said =
      reason === '' ? answered : reason.startsWith(answered) ? reason : `${answered} (${reason})`;
    if (write === undefined) return errorFromWire({ ...wire, message: said });
    return outcomeUnknown(
      errorFromWire({ ...wire, message: `${said}${OUTCOME_UNKNOWN}` }),
      write.idempotencyKey,
    );
  }

  /** The error a non-2xx answer says, as it says it. */
  private refusalAsSaid(
    status: number,
    body: string,
    authenticated: boolean,
    server: URL,
  ): AgendaError | GatewayUnreachable {
    const wire = parseErrorBody(body);
    if (status === 503) {
      // A gateway may answer 503 once it has passed the request on (its deadline ran out),
      // or before, saying so (`forwarded: false`: the service was known to be down).
      const reason = wire === undefined ? '' : withoutRetryHint(wire.message);
      return new GatewayAnswered503(reason, wire?.details?.forwarded !== false);
    }
    if (wire === undefined) {
      return new Internal(`${server.host} answered ${status} without an error body`);
    }
    const error = errorFromWire(wire);
    if (status === 401 && authenticated && error instanceof Unauthenticated) {
      // The token was refused (expired, revoked, or signed by another cluster). An expired
      // one is renewed by the caller when it can; otherwise a login is what is left.
      return new Unauthenticated(`${error.message}: run agenda login`, {
        ...(error.reason === undefined ? {} : { reason: error.reason }),
      });
    }
    return error;
  }
}

function requestPath(server: URL, call: GatewayCall): string {
  const base = server.pathname.replace(/\/+$/, '');
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(call.query ?? {})) {
    if (value !== undefined) query.set(key, value);
  }
  const search = query.size === 0 ? '' : `?${query.toString()}`;
  return `${base}${call.path}${search}`;
}

async function readBody(
  response: TransportResponse,
  server: URL,
  attempt?: ReadAttempt,
): Promise<string> {
  try {
    return await bodyText(response);
  } catch (error) {
    const late = attempt?.late('the answer did not arrive', error);
    if (late !== undefined) throw late;
    throw new GatewayUnreachable(
      `the answer from ${server.host} was cut off (${describeTransportFailure(error)})`,
      true,
      { cause: error },
    );
  }
}

/**
 * How long past a read's deadline a renewal it joined, which another call started, is still
 * waited for: one bounded by that deadline too ends by itself at it, with its own reasons,
 * which say more than this guard's.
 */
const JOINED_RENEWAL_GRACE_MS = 250;

/**
 * `renewal` (a token on its way), or {@link Unavailable} once `deadline` has passed by
 * {@link JOINED_RENEWAL_GRACE_MS}; `renewal` itself when there is no deadline.
 */
async function withinDeadline<T>(renewal: Promise<T>, deadline: ReadDeadline | undefined) {
  if (deadline === undefined) return renewal;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        reject(
          new Unavailable(
            `service unavailable: no gateway answered within ${seconds(deadline.ms)} s (the session's renewal was still waiting for one)`,
          ),
        );
      },
      Math.max(0, deadline.at - Date.now()) + JOINED_RENEWAL_GRACE_MS,
    );
  });
  try {
    return await Promise.race([renewal, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The time a read has left over all its attempts: an abort signal that fires when it runs
 * out (or when the caller's does), so it ends a connect, a wait for headers or a body alike.
 */
class ReadBudget {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly stopFollowing: () => void;
  private readonly ms: number;
  /** When it runs out (ms since the epoch). */
  private readonly endsAt: number;
  expired = false;
  callerAborted = false;

  /**
   * @param deadline when it runs out (ms since the epoch: `ms` after the read's or the
   * command's start, see {@link GatewayClient}), and the budget as messages state it
   */
  constructor(
    deadline: ReadDeadline,
    private readonly caller: AbortSignal | undefined,
  ) {
    this.ms = deadline.ms;
    this.endsAt = deadline.at;
    this.timer = setTimeout(
      () => {
        this.expired = true;
        this.controller.abort(new Error(`no answer within ${this.seconds} s`));
      },
      Math.max(0, deadline.at - Date.now()),
    );
    this.timer.unref();
    this.stopFollowing = () => {
      this.callerAborted = true;
      this.controller.abort(caller?.reason);
    };
    if (caller?.aborted === true) this.stopFollowing();
    else caller?.addEventListener('abort', this.stopFollowing, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** When it runs out, for a call made on the read's way to keep to. */
  get deadline(): ReadDeadline {
    return { at: this.endsAt, ms: this.ms };
  }

  get remainingMs(): number {
    return Math.max(0, this.endsAt - Date.now());
  }

  /**
   * Whether the budget has run out: its timer fired, or its time has passed and the timer is
   * about to (a transport timer set for the same moment may fire first).
   */
  get spent(): boolean {
    return this.expired || this.remainingMs === 0;
  }

  /** The budget in seconds, as said in messages (`3`, `1.5`). */
  get seconds(): string {
    return seconds(this.ms);
  }

  /**
   * The part of what is left for the next gateway, `gatewaysLeft` counting it and those
   * after it: an equal share, at least `floorMs` (a TLS handshake on a loaded machine) as
   * long as that leaves each gateway after it {@link TAIL_SHARE_MS}, at most all that is
   * left. Without the reserve, with two hung gateways before a live one and a budget that
   * start-up had eaten into, the second hung one took all that was left and the live one
   * was never tried.
   */
  attempt(gatewaysLeft: number, floorMs: number): ReadAttempt {
    const left = this.remainingMs;
    const after = Math.max(0, gatewaysLeft - 1);
    const equal = Math.ceil(left / Math.max(1, gatewaysLeft));
    const share = Math.max(equal, Math.min(Math.max(floorMs, equal), left - after * TAIL_SHARE_MS));
    return new ReadAttempt(this, Math.min(left, share));
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.stopFollowing);
  }
}

/**
 * One gateway's share of a read's budget: an abort signal that fires when the share runs
 * out, or when the budget's does.
 */
class ReadAttempt {
  private readonly controller = new AbortController();
  private readonly deadline: number;
  private readonly timer: NodeJS.Timeout;
  private readonly stopFollowing: () => void;
  private timedOut = false;
  /** The gateway began to answer: only the read's budget bounds the rest. */
  private unbounded = false;

  constructor(
    private readonly budget: ReadBudget,
    private readonly ms: number,
  ) {
    this.deadline = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error(`no answer within ${seconds(ms)} s`));
    }, ms);
    this.timer.unref();
    this.stopFollowing = () => this.controller.abort(budget.signal.reason);
    if (budget.signal.aborted) this.stopFollowing();
    else budget.signal.addEventListener('abort', this.stopFollowing, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  /** What is left of the read's whole budget. */
  get budgetRemainingMs(): number {
    return this.budget.remainingMs;
  }

  /**
   * The gateway has begun to answer (its headers came): it is not hung, so its body may take
   * what is left of the read's budget, not only this share of it.
   */
  answering(): void {
    this.unbounded = true;
    clearTimeout(this.timer);
  }

  /**
   * Why the attempt failed when its time, or the read's, ran out (`what` did not come):
   * {@link OutOfTime} when the read's budget is spent, so that no other gateway is tried; a
   * {@link GatewayUnreachable} when only this gateway's share is, so that the next one is.
   * Undefined when neither ran out (the failure is another), or when the caller gave up.
   */
  late(what: string, cause: unknown): GatewayUnreachable | undefined {
    if (this.budget.callerAborted) return undefined;
    const message = `${what} within ${this.unbounded ? this.budget.seconds : seconds(this.ms)} s`;
    if (this.budget.spent) return new OutOfTime(message, true, { cause });
    // A handshake that timed out is said as such, even at the end of the share.
    if (cause instanceof TransportTimeout && cause.code === 'CONNECT_TIMEOUT') return undefined;
    if (!this.unbounded && (this.timedOut || this.remainingMs === 0)) {
      return new GatewayUnreachable(message, true, { cause });
    }
    return undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.budget.signal.removeEventListener('abort', this.stopFollowing);
  }
}

/**
 * What a call that no gateway could carry out fails with, saying what happened: every
 * gateway answered 503 (`service unavailable (503 from both gateways): a: …; b: …`), a
 * read's budget ran out (`no gateway answered within 2.5 s`, with the gateways not tried in
 * time), none answered at all (refused, timed out), or some of each. Each gateway is named
 * with its failure. "Within 2.5 s" is said only when the time did run out: gateways that
 * answered 503 or refused the connection at once are not a timeout.
 */
function unavailableMessage(
  failures: readonly { readonly host: string; readonly error: GatewayUnreachable }[],
  untried: readonly string[],
  spent: ReadBudget | null,
): string {
  const tried = [
    ...failures.map(({ host, error }) => `${host}: ${error.message}`),
    ...(untried.length > 0 ? [`not tried in time: ${untried.join(', ')}`] : []),
  ].join('; ');
  const answered = failures.filter(({ error }) => error instanceof GatewayAnswered503);
  if (spent === null && failures.length > 0 && answered.length === failures.length) {
    const n = failures.length;
    const who = n === 1 ? 'the gateway' : n === 2 ? 'both gateways' : `all ${n} gateways`;
    const reasons = failures.map(({ host, error }) => {
      const reason = error instanceof GatewayAnswered503 ? error.reason : error.message;
      return `${host}: ${reason === '' ? 'no reason given' : reason}`;
    });
    return `service unavailable (503 from ${who}): ${reasons.join('; ')}`;
  }
  if (spent !== null) {
    return `service unavailable: no gateway answered within ${spent.seconds} s (tried ${tried})`;
  }
  const none = answered.length === 0 ? 'no gateway answered' : 'no gateway could answer';
  return `service unavailable: ${none} (tried ${tried})`;
}

/**
 * What a write's failure adds to its message when the write may have been made: what is left
 * to the person, with the CLI, to look before running the command again. Not its key: a
 * command run again is a new write, with a key of its own, so a person can do nothing with
 * it (the CLI itself sends a write again with its key, to the next gateway, where that is
 * safe); a script that can resend the request has it in the details ({@link outcomeUnknown}).
 */
const OUTCOME_UNKNOWN =
  '. The change may or may not have been made: check with agenda event list or agenda search before running the command again';

/**
 * `error`, the failure of a write that may have been made (its message ending with
 * {@link OUTCOME_UNKNOWN}), with what a script needs to resend the request safely in its
 * `--json` details: `forwarded: true` (a gateway had it, so it may have applied; `false`
 * says it certainly did not) and the `idempotencyKey` it was sent under, under which the
 * gateways apply it at most once.
 */
function outcomeUnknown<E extends AgendaError>(error: E, idempotencyKey: string): E {
  return withDetails(error, { forwarded: true, idempotencyKey });
}

/** Milliseconds as messages say them, in seconds to a tenth (`2.5`, `1.2`, `3`). */
function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

/** Error codes of transport failures that happen before a request can have left. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'CONNECT_TIMEOUT',
]);

/** Whether a request that failed this way may have reached the gateway. */
function mayHaveSent(error: unknown): boolean {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  if (code === undefined) return true;
  return !NOT_SENT_CODES.has(code) && !TLS_TRUST_CODES.has(code);
}

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

/** A token that is what it is: nothing renews it. */
function fixedToken(token: string): AccessTokens {
  return {
    current: () => Promise.resolve(token),
    renewed: () => Promise.resolve(undefined),
  };
}

/**
 * A gateway's 5xx reason without the advice it gives its clients: the gateway ends it with
 * "retry with idempotency-key <key>" for a write, "try again later" for a read
 * (server/gateway/service-calls.ts), or "; retry" (a service's own: "the calendar parser
 * stopped (…); retry"), which a person at the CLI cannot act on — a command run again is a
 * new write, with a key of its own — and which would name the key once per gateway. What
 * the CLI advises is said once, after every gateway's reason. The advice goes however it is
 * worded ("retry with the same idempotency-key <key>"), and so does any other clause naming
 * a key: a read's failure never speaks of keys, and a write's does not name one to a person.
 */
export function withoutRetryHint(message: string): string {
  const advice = /^(?:please\s+)?(?:retry|try again)\b/i;
  return message
    .replace(/\s*[,.]\s*(?:please\s+)?(?:retry|try again)\b[^;]*$/i, '')
    .split(/\s*;\s*/)
    .filter((clause) => !advice.test(clause) && !/idempotency[- ]key/i.test(clause))
    .join('; ');
}

/** The `error` member of an error body, when the body is one. */
function parseErrorBody(
  body: string,
): { code: string; message: string; details?: { forwarded?: unknown } } | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null || !('error' in parsed)) return undefined;
    const { error } = parsed;
    if (typeof error !== 'object' || error === null) return undefined;
    if (!('code' in error) || !('message' in error)) return undefined;
    if (typeof error.code !== 'string' || typeof error.message !== 'string') return undefined;
    return error as { code: string; message: string; details?: { forwarded?: unknown } };
  } catch {
    return undefined;
  }
}

const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A person-readable reason a gateway could not be used. */
function describeTransportFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host';
    case 'CONNECT_TIMEOUT':
      return 'connection timed out';
    case 'HEADERS_TIMEOUT':
    case 'BODY_TIMEOUT':
      return 'no answer in time';
    default:
      if (code !== undefined && TLS_TRUST_CODES.has(code)) {
        return `its certificate is not trusted (${code}); is --ca the lab's CA?`;
      }
      return code === undefined ? error.message : `${code}: ${error.message}`;
  }
}
