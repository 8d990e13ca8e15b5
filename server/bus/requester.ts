/**
 * The gateway's side of the bus: send a request to a service and wait for its reply.
 *
 * Guarantees:
 * - The reply channel is subscribed before the first request is sent, so no reply is missed
 *   for want of a subscription.
 * - A request is re-sent, with the same id, whenever replies may have been lost or the
 *   request itself may have been (the subscriber reconnected, possibly to a new primary
 *   whose asynchronous replication lost the stream entry), whenever a caller asks for the
 *   same id again, and after every resend interval without a reply or a "still working"
 *   notice from the service handling it. The services are idempotent by request id, so re-sending
 *   can never apply anything twice; duplicate and stray replies are ignored here.
 * - Every call ends by its deadline: with the first reply, or with {@link OutcomeUnknown}.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidInput, Unavailable } from '../../contract/errors.js';
import { boundedSignal, errorMessage, silentBusLogger, untilAborted } from './connection.js';
import type { BusConnection, BusLogger, Unsubscribe } from './connection.js';
import {
  BUS_PROTOCOL_VERSION,
  busId,
  decodeRelayedReply,
  decodeReply,
  isProgress,
  encodeRequest,
  MAX_ENVELOPE_LENGTH,
  replyChannel,
  requestStream,
} from './protocol.js';
import type { BusReply, BusRequest, BusCredential, ServiceName } from './protocol.js';

/**
 * No reply came before the deadline (or the caller gave up): the request may or may not have
 * been applied. Retrying with the same request id is safe and tells which.
 */
export class OutcomeUnknown extends Unavailable {
  constructor(
    readonly requestId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RequesterOptions {
  /** Shared with the rest of the gateway; the requester does not close it. */
  readonly connection: BusConnection;
  /** This gateway's id, unique among gateways: replies come on `agenda:reply:<gatewayId>`. */
  readonly gatewayId: string;
  /** Silence after which a request is re-sent once. Default 1.5 s. */
  readonly resendAfterMs?: number;
  /** Approximate bound on each request stream's length (`XADD MAXLEN ~`). Default 100 000. */
  readonly maxStreamLength?: number;
  readonly logger?: BusLogger;
  /**
   * Deliver successful results as the {@link JsonText} their service wrote, unparsed
   * (`decodeRelayedReply`): a gateway passes most of them on as they are. Default false.
   */
  readonly relayResults?: boolean;
}

export interface RequestOptions {
  /** The end-to-end idempotency key; a fresh UUID when absent. */
  readonly id?: string;
  /** How long to wait for the reply; also bounds the service's work. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  /** The actor's token, which the service verifies again (see BusRequest). */
  readonly credential?: BusCredential;
}

/** Counters for the gateway's metrics. */
export interface RequesterStats {
  /** Stream entries written, re-sends included. */
  readonly sent: number;
  /** Of which re-sends. */
  readonly resent: number;
  /** Replies delivered to callers. */
  readonly answered: number;
  /** Replies nobody waited for: duplicates after re-sends, or answers after a deadline. */
  readonly strayReplies: number;
  /** "Still working" notices from services, each of which put off a re-send. */
  readonly progress: number;
  /** Calls ended by their deadline or their signal. */
  readonly abandoned: number;
}

interface Waiter {
  resolve(reply: BusReply): void;
  reject(error: Error): void;
}

/** One request id awaiting its reply, possibly for several callers. */
interface Outstanding {
  request: BusRequest;
  readonly waiters: Set<Waiter>;
  /** Aborted once the request is answered or abandoned: stops its (re)transmission. */
  readonly done: AbortController;
  transmitting: boolean;
  transmitAgain: boolean;
  /** Set while a silence re-send is armed. */
  silenceTimer: NodeJS.Timeout | null;
  /** The next silence before a re-send: doubles after each one, back to the base on progress. */
  silenceMs: number;
  /** When the latest copy was handed to {@link Requester.transmit}. */
  lastSentAt: number;
}

/** Why a request's transmission stops: it was answered or abandoned. */
const SETTLED = new Unavailable('the request was answered or abandoned');

/** A caller joining a request whose latest copy is at least this old sends it again. */
const RETRY_RESEND_AFTER_MS = 250;

/**
 * Refuses a request whose envelope is longer than the bus carries. JSON escapes control
 * characters six-fold, so what decides is the encoded length, not the size of the input.
 */
function refuseOversized(request: BusRequest): void {
  const length = encodeRequest(request)[1].length;
  if (length > MAX_ENVELOPE_LENGTH) {
    throw new InvalidInput(
      `the request is too large to carry: ${length} characters once encoded, at most ` +
        `${MAX_ENVELOPE_LENGTH}; send less at once`,
    );
  }
}

/** Whether a request in flight is the one `service`, `actor` and `op` describe (a retry of it). */
function isSameRequest(
  request: BusRequest,
  service: ServiceName,
  actor: string | null,
  op: unknown,
): boolean {
  return (
    request.service === service &&
    request.actor === actor &&
    JSON.stringify(request.op) === JSON.stringify(op)
  );
}

/** Sends requests over the bus and matches replies to them. One per gateway process. */
export class Requester {
  private readonly logger: BusLogger;
  private readonly outstanding = new Map<string, Outstanding>();
  private readonly closing = new AbortController();
  private started: Promise<void> | null = null;
  private unsubscribe: Unsubscribe | null = null;
  private readonly stopResending: () => void;
  private counters = {
    sent: 0,
    resent: 0,
    answered: 0,
    strayReplies: 0,
    progress: 0,
    abandoned: 0,
  };

  /** The first silence after which a request is sent again. */
  private readonly baseSilenceMs: number;

  constructor(private readonly options: RequesterOptions) {
    this.baseSilenceMs = options.resendAfterMs ?? 1_500;
    if (!busId.safeParse(options.gatewayId).success) {
      throw new InvalidInput('a gateway id uses letters, digits, "_" and "-"', {
        field: 'gatewayId',
      });
    }
    this.logger = options.logger ?? silentBusLogger;
    // Replies published while the subscriber was away are lost: ask again.
    this.stopResending = options.connection.onResubscribed(() => this.resendAll());
  }

  /**
   * Subscribes to this gateway's reply channel; resolves once the subscription is live.
   * Idempotent; {@link request} calls it, so calling it first only moves the wait earlier.
   */
  start(signal?: AbortSignal): Promise<void> {
    this.started ??= this.options.connection
      .subscribe(
        replyChannel(this.options.gatewayId),
        (message) => this.onReply(message),
        this.closing.signal,
      )
      .then((unsubscribe) => {
        this.unsubscribe = unsubscribe;
      });
    return untilAborted(this.started, signal);
  }

  /**
   * Sends `op` to `service` on behalf of `actor` and resolves with the service's reply
   * (a refusal is a reply with `ok: false`). Concurrent calls with the same id and the same
   * request share one request and all receive its reply; a call with the id of another
   * request in flight is refused. `Result` is the caller's claim about the service.
   * @throws OutcomeUnknown when no reply came before the deadline or the signal aborted.
   * @throws InvalidInput for an id that is not a bus id or is in flight for another
   * request, or a request too large to carry (every worker would drop it unread: waiting for
   * its reply would only run out the deadline).
   * @throws Unavailable when the requester is closed, or when the reply channel could not
   * be subscribed in time (then nothing was sent).
   */
  async request<Result = unknown>(
    service: ServiceName,
    actor: string | null,
    op: unknown,
    options: RequestOptions,
  ): Promise<BusReply<Result>> {
    const id = options.id ?? randomUUID();
    if (!busId.safeParse(id).success) {
      throw new InvalidInput('a request id uses letters, digits, "_" and "-" (at most 64)', {
        field: 'id',
      });
    }
    const deadline = Date.now() + options.deadlineMs;
    const request: BusRequest = {
      v: BUS_PROTOCOL_VERSION,
      id,
      service,
      replyTo: this.options.gatewayId,
      deadline,
      actor,
      ...(options.credential ? { credential: options.credential } : {}),
      op,
    };
    refuseOversized(request);
    // Once subscribed (every request but the first few), there is nothing to wait for.
    if (this.unsubscribe === null) await this.subscribed(options);
    if (this.closing.signal.aborted) throw new Unavailable('the requester is closed');
    const inFlight = this.outstanding.get(id)?.request;
    if (inFlight !== undefined && !isSameRequest(inFlight, service, actor, op)) {
      // Sharing it would answer this caller with another request's reply (another user's
      // data, or an answer of another shape), and what it asked for would never be sent.
      throw new InvalidInput(`the request id ${id} is in flight for another request`, {
        field: 'id',
      });
    }
    const reply = await new Promise<BusReply>((resolve, reject) => {
      let entry = this.outstanding.get(id);
      const isNew = entry === undefined;
      if (entry === undefined) {
        entry = {
          request,
          waiters: new Set(),
          done: new AbortController(),
          transmitting: false,
          transmitAgain: false,
          silenceTimer: null,
          silenceMs: this.baseSilenceMs,
          lastSentAt: 0,
        };
        this.outstanding.set(id, entry);
      } else if (deadline > entry.request.deadline) {
        // A retry that waits longer: the services must not skip the request before then.
        entry.request = { ...entry.request, deadline };
      }
      const outstanding = entry;
      const onAbort = (): void =>
        this.leave(
          outstanding,
          waiter,
          new OutcomeUnknown(id, `the caller stopped waiting for request ${id}`, {
            cause: options.signal?.reason,
          }),
        );
      const timer = setTimeout(
        () =>
          this.leave(
            outstanding,
            waiter,
            new OutcomeUnknown(
              id,
              `no reply to request ${id} within ${options.deadlineMs} ms; it may or may not have been applied`,
            ),
          ),
        Math.max(0, deadline - Date.now()),
      );
      const finish = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        resolve: (value) => {
          finish();
          resolve(value);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      };
      outstanding.waiters.add(waiter);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (isNew) {
        this.transmit(outstanding);
      } else if (Date.now() - outstanding.lastSentAt >= RETRY_RESEND_AFTER_MS) {
        // A caller asking again (a client retrying with its idempotency key) has waited long
        // enough to doubt the copy out there: it may sit with a replica that died or was cut
        // off. Callers arriving together share one copy.
        this.counters.resent++;
        this.transmit(outstanding);
      }
    });
    return reply as BusReply<Result>;
  }

  /** Waits for the reply channel's subscription, within the request's deadline. */
  private async subscribed(options: RequestOptions): Promise<void> {
    const bounded = boundedSignal(options.signal, options.deadlineMs);
    try {
      await this.start(bounded.signal);
    } catch (error) {
      if (this.closing.signal.aborted) throw new Unavailable('the requester is closed');
      throw new Unavailable('the reply channel could not be subscribed in time', { cause: error });
    } finally {
      bounded.dispose();
    }
  }

  /** Requests awaiting a reply. */
  get pending(): number {
    return this.outstanding.size;
  }

  stats(): RequesterStats {
    return { ...this.counters };
  }

  /**
   * Stops: outstanding calls fail with {@link OutcomeUnknown}, the reply channel is
   * unsubscribed. The connection stays open (it is not the requester's). Idempotent.
   */
  close(): Promise<void> {
    if (this.closing.signal.aborted) return Promise.resolve();
    this.closing.abort();
    this.stopResending();
    this.unsubscribe?.();
    for (const outstanding of [...this.outstanding.values()]) {
      for (const waiter of [...outstanding.waiters]) {
        this.leave(
          outstanding,
          waiter,
          new OutcomeUnknown(outstanding.request.id, 'the gateway is shutting down'),
        );
      }
    }
    return Promise.resolve();
  }

  private onReply(message: string): void {
    const decoded = this.options.relayResults ? decodeRelayedReply(message) : decodeReply(message);
    if (!decoded.ok) {
      this.logger.warn('dropped a malformed reply', { reason: decoded.reason });
      return;
    }
    const reply = decoded.value;
    const outstanding = this.outstanding.get(reply.id);
    if (isProgress(reply)) {
      // A service is on it: the request is not lost, so the silence starts again from now.
      if (outstanding === undefined || outstanding.done.signal.aborted) return;
      this.counters.progress++;
      this.disarmSilenceResend(outstanding);
      outstanding.silenceMs = this.baseSilenceMs;
      this.armSilenceResend(outstanding);
      return;
    }
    if (outstanding === undefined) {
      this.counters.strayReplies++;
      this.logger.debug('ignored a reply nobody waits for', { id: reply.id });
      return;
    }
    this.settle(outstanding);
    for (const waiter of outstanding.waiters) {
      this.counters.answered++;
      waiter.resolve(reply);
    }
  }

  private leave(outstanding: Outstanding, waiter: Waiter, error: Error): void {
    if (!outstanding.waiters.delete(waiter)) return;
    this.counters.abandoned++;
    waiter.reject(error);
    // Nobody waits any more: stop re-sending (a late reply is a stray).
    if (outstanding.waiters.size === 0) this.settle(outstanding);
  }

  private settle(outstanding: Outstanding): void {
    if (this.outstanding.get(outstanding.request.id) === outstanding) {
      this.outstanding.delete(outstanding.request.id);
    }
    // With a reason made once: a fresh AbortError per answered request costs a stack trace.
    outstanding.done.abort(SETTLED);
    this.disarmSilenceResend(outstanding);
  }

  private resendAll(): void {
    for (const outstanding of this.outstanding.values()) {
      this.counters.resent++;
      this.transmit(outstanding);
    }
  }

  /** Writes the request to its stream; a call during a write makes it write once more after. */
  private transmit(outstanding: Outstanding): void {
    outstanding.lastSentAt = Date.now();
    if (outstanding.transmitting) {
      outstanding.transmitAgain = true;
      return;
    }
    outstanding.transmitting = true;
    void this.transmitLoop(outstanding).finally(() => {
      outstanding.transmitting = false;
    });
  }

  private async transmitLoop(outstanding: Outstanding): Promise<void> {
    const signal = outstanding.done.signal;
    let backoffMs = 25;
    do {
      outstanding.transmitAgain = false;
      for (;;) {
        if (signal.aborted) return;
        try {
          const redis = await this.options.connection.commands(signal);
          await redis.xadd(
            requestStream(outstanding.request.service),
            'MAXLEN',
            '~',
            this.options.maxStreamLength ?? 100_000,
            '*',
            ...encodeRequest(outstanding.request),
          );
          this.counters.sent++;
          break;
        } catch (error) {
          if (signal.aborted || this.options.connection.closed) return;
          // The connection dropped or the primary moved: send again, to the current one.
          this.logger.debug('sending a request failed; retrying', {
            id: outstanding.request.id,
            error: errorMessage(error),
          });
          try {
            await sleep(backoffMs, undefined, { signal });
          } catch {
            return;
          }
          backoffMs = Math.min(backoffMs * 2, 250);
        }
      }
      this.armSilenceResend(outstanding);
    } while (outstanding.transmitAgain);
  }

  /**
   * Asynchronous replication may lose an entry without any connection dropping, and a replica
   * cut off from the network keeps what it read: after a silence of `resendAfterMs` (no reply,
   * no progress notice), ask again, until the reply or the deadline. Each silence in a row is
   * twice as long as the one before: a request stuck behind a backlog is not copied into it
   * again and again.
   */
  private armSilenceResend(outstanding: Outstanding): void {
    if (outstanding.silenceTimer !== null || outstanding.done.signal.aborted) return;
    const silenceMs = outstanding.silenceMs;
    outstanding.silenceTimer = setTimeout(() => {
      outstanding.silenceTimer = null;
      if (outstanding.done.signal.aborted) return;
      outstanding.silenceMs = silenceMs * 2;
      this.counters.resent++;
      this.transmit(outstanding);
    }, silenceMs);
  }

  private disarmSilenceResend(outstanding: Outstanding): void {
    if (outstanding.silenceTimer !== null) clearTimeout(outstanding.silenceTimer);
    outstanding.silenceTimer = null;
  }
}
