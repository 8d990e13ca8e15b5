/**
 * The service's side of the bus: consume the service's request stream as one member of the
 * service's consumer group, run the handler, publish the reply, acknowledge.
 *
 * Guarantees:
 * - Each request is delivered to one replica of the service. A replica that stops (crash,
 *   partition, shutdown mid-request) leaves its requests pending; another replica claims
 *   them once they have been idle for `claimIdleMs`. A live replica keeps claiming its own
 *   requests while it works on them, so a slow handler is not taken over.
 * - Delivery is at least once: after a takeover or a failover a request may be handled
 *   twice. Handlers MUST therefore be idempotent by `request.id` (the services pass it to the
 *   DB as the command's request id, and the DB applies a request id once).
 * - A request past its deadline is acknowledged without running the handler: nobody waits.
 * - A malformed entry is logged, acknowledged and deleted; it never stops the worker.
 * - At most `concurrency` handlers run at once.
 * - A request handled for longer than a claim tick is reported as still being worked on
 *   (BusProgress), so the gateway does not send it again while it is merely slow.
 */
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { asAgendaError, InvalidInput } from '../../contract/errors.js';
import { boundedSignal, errorMessage, silentBusLogger } from './connection.js';
import type { BusConnection, BusLogger } from './connection.js';
import {
  BUS_PROTOCOL_VERSION,
  busId,
  decodeRequest,
  encodeProgress,
  encodeReply,
  replyChannel,
  requestGroup,
  requestStream,
} from './protocol.js';
import type { PrimaryAddress } from './primary-source.js';
import { isAccessRefusal } from './redis-auth.js';
import type { BusReply, BusRequest, ReplyOutcome, ServiceName } from './protocol.js';

/**
 * Handles one request. MUST be idempotent by `request.id`: it may run more than once for one
 * request (after a takeover or a failover), and every run after the first must have no
 * further effect and should answer the same. `signal` aborts at the request's deadline or
 * when the worker gives up on shutdown. Throwing an AgendaError answers its code; anything
 * else thrown answers `internal`.
 */
export type RequestHandler = (request: BusRequest, signal: AbortSignal) => Promise<ReplyOutcome>;

export interface RequestWorkerOptions {
  /** Shared with the rest of the service process; the worker does not close it. */
  readonly connection: BusConnection;
  readonly service: ServiceName;
  /** This replica's consumer name, unique among the service's replicas (e.g. host and pid). */
  readonly consumer: string;
  readonly handler: RequestHandler;
  /** Handlers running at once, at most. Default 16. */
  readonly concurrency?: number;
  /** A request pending this long on another consumer is taken over. Default 2 s. */
  readonly claimIdleMs?: number;
  /** How long one blocking read waits before the loop looks around again. Default 1 s. */
  readonly blockMs?: number;
  /** Consumers idle this long with nothing pending are removed from the group. Default 60 s. */
  readonly forgetConsumersAfterMs?: number;
  /** On close, how long running handlers may finish before they are abandoned. Default 5 s. */
  readonly drainTimeoutMs?: number;
  /** A request that waited and ran this long in all is logged as slow. Default 1 s. */
  readonly slowRequestMs?: number;
  readonly logger?: BusLogger;
}

/** Counters for the service's metrics. */
export interface RequestWorkerStats {
  /** Handler runs. */
  readonly handled: number;
  /** Requests taken over from other consumers. */
  readonly claimed: number;
  /** Malformed entries dropped. */
  readonly dropped: number;
  /** Requests skipped because their deadline had passed. */
  readonly expired: number;
  /** Re-sent copies of a request this replica was already working on, skipped. */
  readonly duplicates: number;
}

interface StreamEntry {
  readonly id: string;
  /** Null when the entry was deleted while pending. */
  readonly fields: readonly string[] | null;
}

/** How long dropping or acknowledging an entry is retried across reconnects. */
const ACK_RETRY_MS = 5_000;

/** Consumes one service's requests. Starts when constructed; {@link close} stops it. */
export class RequestWorker {
  private readonly logger: BusLogger;
  private readonly stream: string;
  private readonly group: string;
  /** The connection's blocking lane of this worker's reads. */
  private readonly lane: string;
  private readonly concurrency: number;
  private readonly claimIdleMs: number;
  private readonly stopping = new AbortController();
  /** Aborted when the drain time is over: running handlers are abandoned, not acknowledged. */
  private readonly abandoning = new AbortController();
  private readonly queue: StreamEntry[] = [];
  /** Entries queued or running: ours to finish. */
  private readonly owned = new Set<string>();
  /** Requests being handled, by request id: who to tell that they are still being worked on. */
  private readonly working = new Map<string, { replyTo: string; since: number }>();
  private running = 0;
  private readonly idleWaiters = new Set<() => void>();
  /** Server-side ids of our blocking connections, for CLIENT UNBLOCK. */
  private readonly blockingClientIds = new WeakMap<object, number>();
  private blockedClientId: number | null = null;
  /** The primary on which the group is known to exist; null when it must be (re)created. */
  private groupEnsuredFor: PrimaryAddress | null = null;
  private claimCursor = '0-0';
  private lastJanitorAt = 0;
  private counters = { handled: 0, claimed: 0, dropped: 0, expired: 0, duplicates: 0 };
  private readonly loops: Promise<void>;
  private closed: Promise<void> | null = null;

  constructor(private readonly options: RequestWorkerOptions) {
    if (!busId.safeParse(options.consumer).success) {
      throw new InvalidInput('a consumer name uses letters, digits, "_" and "-"', {
        field: 'consumer',
      });
    }
    this.logger = options.logger ?? silentBusLogger;
    this.stream = requestStream(options.service);
    this.group = requestGroup(options.service);
    this.lane = `${options.service}-${options.consumer}`;
    this.concurrency = Math.max(1, options.concurrency ?? 16);
    this.claimIdleMs = options.claimIdleMs ?? 2_000;
    // One listener per running handler.
    setMaxListeners(this.concurrency + 10, this.abandoning.signal);
    this.loops = Promise.all([this.readLoop(), this.maintenanceLoop()]).then(() => undefined);
  }

  stats(): RequestWorkerStats {
    return { ...this.counters };
  }

  /**
   * Stops reading, lets running handlers finish for up to `drainTimeoutMs`, then abandons
   * the rest unacknowledged (another replica takes them over). Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    this.stopping.abort();
    this.wakeIdleWaiters();
    await this.unblockRead();
    await this.loops;
    this.options.connection.releaseBlocking(this.lane);
    const drained = this.whenDrained();
    const timer = setTimeout(() => this.abandoning.abort(), this.options.drainTimeoutMs ?? 5_000);
    await drained;
    clearTimeout(timer);
  }

  private whenDrained(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.owned.size > 0 && !this.abandoning.signal.aborted) return;
        this.idleWaiters.delete(check);
        resolve();
      };
      this.idleWaiters.add(check);
      this.abandoning.signal.addEventListener('abort', check, { once: true });
      check();
    });
  }

  private async readLoop(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      await this.untilCapacity();
      if (signal.aborted) break;
      try {
        await this.ensureGroup(signal);
        const redis = await this.options.connection.blocking(this.lane, signal);
        let clientId = this.blockingClientIds.get(redis);
        if (clientId === undefined) {
          clientId = await redis.client('ID');
          this.blockingClientIds.set(redis, clientId);
        }
        if (signal.aborted) break;
        this.blockedClientId = clientId;
        const raw = await redis.call(
          'XREADGROUP',
          'GROUP',
          this.group,
          this.options.consumer,
          'COUNT',
          this.concurrency - this.owned.size,
          'BLOCK',
          this.options.blockMs ?? 1_000,
          'STREAMS',
          this.stream,
          '>',
        );
        this.blockedClientId = null;
        // Read while stopping or not: entries delivered to us are ours to finish.
        this.accept(readGroupEntries(raw));
      } catch (error) {
        this.blockedClientId = null;
        if (signal.aborted || this.options.connection.closed) break;
        await this.recover(error, 'reading requests failed');
      }
    }
  }

  /** Ends a blocking read at once (it returns empty), so closing need not wait `blockMs`. */
  private async unblockRead(): Promise<void> {
    const clientId = this.blockedClientId;
    if (clientId === null || this.options.connection.closed) return;
    try {
      const redis = await this.options.connection.commands(AbortSignal.timeout(500));
      await redis.call('CLIENT', 'UNBLOCK', clientId);
    } catch (error) {
      this.logger.debug('could not end the blocking read early', { error: errorMessage(error) });
    }
  }

  /** Takes over idle requests, keeps our own claimed, forgets long-gone consumers. */
  private async maintenanceLoop(): Promise<void> {
    const signal = this.stopping.signal;
    const tickMs = Math.max(10, Math.floor(this.claimIdleMs / 3));
    while (!signal.aborted) {
      try {
        await sleep(tickMs, undefined, { signal });
      } catch {
        break;
      }
      try {
        await this.ensureGroup(signal);
        const redis = await this.options.connection.commands(signal);
        if (this.owned.size > 0) {
          // Resets their idle time, so no other replica takes over requests we are working on.
          await redis.call(
            'XCLAIM',
            this.stream,
            this.group,
            this.options.consumer,
            0,
            ...this.owned,
            'JUSTID',
          );
          await this.reportProgress(tickMs);
        }
        const room = this.concurrency - this.owned.size;
        if (room > 0) await this.takeOver(room);
        const forgetAfterMs = this.options.forgetConsumersAfterMs ?? 60_000;
        if (Date.now() - this.lastJanitorAt >= forgetAfterMs / 2) {
          this.lastJanitorAt = Date.now();
          await this.forgetIdleConsumers(forgetAfterMs);
        }
      } catch (error) {
        if (signal.aborted || this.options.connection.closed) break;
        await this.recover(error, 'taking over idle requests failed');
      }
    }
  }

  /**
   * Tells the gateways waiting on requests handled for `slowMs` or more that they are still
   * being worked on, so they do not send them again (see BusProgress).
   */
  private async reportProgress(slowMs: number): Promise<void> {
    const now = Date.now();
    const slow = [...this.working].filter(([, w]) => now - w.since >= slowMs);
    if (slow.length === 0) return;
    const redis = await this.options.connection.commands(this.stopping.signal);
    const pipeline = redis.pipeline();
    for (const [id, w] of slow) pipeline.publish(replyChannel(w.replyTo), encodeProgress(id));
    await pipeline.exec();
  }

  private async takeOver(room: number): Promise<void> {
    const redis = await this.options.connection.commands(this.stopping.signal);
    const raw = await redis.call(
      'XAUTOCLAIM',
      this.stream,
      this.group,
      this.options.consumer,
      this.claimIdleMs,
      this.claimCursor,
      'COUNT',
      room,
    );
    const claimed = autoClaimResult(raw);
    this.claimCursor = claimed.next;
    if (claimed.deleted.length > 0) {
      // Pending entries whose stream entry is gone (deleted by another replica that also
      // finished them): nothing to do but forget them.
      await redis.call('XACK', this.stream, this.group, ...claimed.deleted);
    }
    const fresh = claimed.entries.filter((entry) => !this.owned.has(entry.id));
    if (fresh.length > 0) {
      this.counters.claimed += fresh.length;
      this.logger.info('took over idle requests', {
        service: this.options.service,
        count: fresh.length,
      });
      this.accept(fresh);
    }
  }

  private async forgetIdleConsumers(forgetAfterMs: number): Promise<void> {
    const redis = await this.options.connection.commands(this.stopping.signal);
    const consumers = consumerInfo(await redis.call('XINFO', 'CONSUMERS', this.stream, this.group));
    for (const consumer of consumers) {
      // A consumer with pending requests keeps them until they are taken over; deleting it
      // would lose them.
      if (consumer.name === this.options.consumer || consumer.pending > 0) continue;
      if (consumer.idleMs < forgetAfterMs) continue;
      await redis.call('XGROUP', 'DELCONSUMER', this.stream, this.group, consumer.name);
      this.logger.info('forgot an idle consumer', {
        service: this.options.service,
        consumer: consumer.name,
      });
    }
  }

  /**
   * Creates the consumer group (and the stream) on each new primary, and again when Redis
   * says it is missing: a promoted replica may not have received it. Starting from `0`
   * delivers whatever requests that primary holds; handling one twice is harmless.
   */
  private async ensureGroup(signal: AbortSignal): Promise<void> {
    const redis = await this.options.connection.commands(signal);
    const primary = this.options.connection.primary;
    if (primary === this.groupEnsuredFor) return;
    try {
      await redis.call('XGROUP', 'CREATE', this.stream, this.group, '0', 'MKSTREAM');
      this.logger.info('created the consumer group', {
        service: this.options.service,
        epoch: primary?.epoch,
      });
    } catch (error) {
      if (!errorMessage(error).startsWith('BUSYGROUP')) throw error;
    }
    this.groupEnsuredFor = primary;
  }

  private async recover(error: unknown, what: string): Promise<void> {
    const message = errorMessage(error);
    if (message.startsWith('NOGROUP')) {
      this.groupEnsuredFor = null;
      return;
    }
    this.logger.debug(what, { service: this.options.service, error: message });
    if (message.startsWith('READONLY')) this.options.connection.recheckPrimary();
    try {
      // A refusal by the ACL (logged once by the connection) would only be refused again.
      const pauseMs = isAccessRefusal(message) ? 1_000 : 100;
      await sleep(pauseMs, undefined, { signal: this.stopping.signal });
    } catch {
      // Stopping: the loop ends.
    }
  }

  private accept(entries: readonly StreamEntry[]): void {
    for (const entry of entries) {
      if (this.owned.has(entry.id)) continue;
      this.owned.add(entry.id);
      this.queue.push(entry);
    }
    this.pump();
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const entry = this.queue.shift();
      if (entry === undefined) return;
      this.running++;
      void this.handle(entry).finally(() => {
        this.running--;
        this.owned.delete(entry.id);
        this.wakeIdleWaiters();
        this.pump();
      });
    }
  }

  private untilCapacity(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.owned.size >= this.concurrency && !this.stopping.signal.aborted) return;
        this.idleWaiters.delete(check);
        resolve();
      };
      this.idleWaiters.add(check);
      check();
    });
  }

  private wakeIdleWaiters(): void {
    for (const check of [...this.idleWaiters]) check();
  }

  private async handle(entry: StreamEntry): Promise<void> {
    const decoded =
      entry.fields === null
        ? { ok: false as const, reason: 'the entry was deleted' }
        : decodeRequest(entry.fields);
    if (!decoded.ok || decoded.value.service !== this.options.service) {
      this.counters.dropped++;
      this.logger.warn('dropped a malformed request', {
        service: this.options.service,
        entry: entry.id,
        reason: decoded.ok ? `addressed to ${decoded.value.service}` : decoded.reason,
      });
      await this.finish(entry.id, null, Date.now() + ACK_RETRY_MS);
      return;
    }
    const request = decoded.value;
    if (this.working.has(request.id)) {
      // A re-sent copy of a request this replica is working on: the first copy answers.
      this.counters.duplicates++;
      await this.finish(entry.id, null, Date.now() + ACK_RETRY_MS);
      return;
    }
    const remainingMs = request.deadline - Date.now();
    if (remainingMs <= 0) {
      this.counters.expired++;
      this.logger.debug('skipped a request past its deadline', { id: request.id });
      await this.finish(entry.id, null, Date.now() + ACK_RETRY_MS);
      return;
    }
    const bounded = boundedSignal(this.abandoning.signal, remainingMs);
    this.counters.handled++;
    const startedAt = Date.now();
    this.working.set(request.id, { replyTo: request.replyTo, since: startedAt });
    let outcome: ReplyOutcome;
    try {
      outcome = await this.options.handler(request, bounded.signal);
    } catch (error) {
      // Abandoned on shutdown: left pending, another replica takes it over.
      if (this.abandoning.signal.aborted) return;
      if (Date.now() >= request.deadline) {
        this.counters.expired++;
        await this.finish(entry.id, null, Date.now() + ACK_RETRY_MS);
        return;
      }
      const agendaError = asAgendaError(error);
      if (agendaError.code === 'internal') {
        this.logger.warn('a request handler failed', {
          id: request.id,
          error: errorMessage(error),
        });
      }
      outcome = { ok: false, error: agendaError.toWire() };
    } finally {
      bounded.dispose();
      this.working.delete(request.id);
    }
    const reply = { v: BUS_PROTOCOL_VERSION, id: request.id, ...outcome } as BusReply;
    await this.finish(entry.id, { reply, to: request.replyTo }, request.deadline);
    this.noteIfSlow(entry.id, request, startedAt, outcome);
  }

  /**
   * Logs a request whose answer took `slowRequestMs` or more since it entered the stream,
   * with where the time went: waiting in the stream (a backlog, or a replica that read it and
   * vanished), the handler, or publishing the reply.
   */
  private noteIfSlow(
    entryId: string,
    request: BusRequest,
    startedAt: number,
    outcome: ReplyOutcome,
  ): void {
    const now = Date.now();
    // A stream entry id starts with the primary's clock when the entry was added.
    const stamp = Number(entryId.slice(0, entryId.indexOf('-')));
    const enqueuedAt = Number.isFinite(stamp) ? stamp : startedAt;
    if (now - enqueuedAt < (this.options.slowRequestMs ?? 1_000)) return;
    this.logger.warn('slow request', {
      service: this.options.service,
      id: request.id,
      op: describeBusOp(request.op),
      queuedMs: startedAt - enqueuedAt,
      handledMs: now - startedAt,
      outcome: outcome.ok ? 'ok' : outcome.error.code,
    });
  }

  /**
   * Publishes the reply (if any), acknowledges and deletes the entry, atomically;
   * retried across reconnects until `retryUntil`. If it never succeeds the entry stays
   * pending and is handled again later, which idempotent handlers make harmless.
   */
  private async finish(
    entryId: string,
    answer: { readonly reply: BusReply; readonly to: string } | null,
    retryUntil: number,
  ): Promise<void> {
    let backoffMs = 25;
    for (;;) {
      const remainingMs = retryUntil - Date.now();
      if (remainingMs <= 0 || this.options.connection.closed) {
        this.logger.debug('could not acknowledge a request; it stays pending', { entry: entryId });
        return;
      }
      // Not AbortSignal.timeout: its timer and the signal would live on for the whole
      // remaining time (seconds) after every request, thousands a second under load.
      const bounded = boundedSignal(undefined, remainingMs);
      try {
        const redis = await this.options.connection.commands(bounded.signal);
        await finishEntry(redis, [
          this.stream,
          answer === null ? '' : replyChannel(answer.to),
          answer === null ? '' : encodeReply(answer.reply),
          this.group,
          entryId,
        ]);
        return;
      } catch (error) {
        this.logger.debug('acknowledging a request failed; retrying', {
          entry: entryId,
          error: errorMessage(error),
        });
        await sleep(Math.min(backoffMs, Math.max(0, retryUntil - Date.now())));
        backoffMs = Math.min(backoffMs * 2, 250);
      } finally {
        bounded.dispose();
      }
    }
  }
}

/**
 * Publishes a reply (unless the channel is empty), acknowledges and deletes the entry, as
 * one script: atomic like a MULTI, but one command to build and send rather than five (the
 * MULTI's pipeline was half of what a users service allocated per request).
 * KEYS[1] stream; ARGV channel, reply, group, entry id.
 */
const FINISH_SCRIPT = `if ARGV[1] ~= '' then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
redis.call('XACK', KEYS[1], ARGV[3], ARGV[4])
redis.call('XDEL', KEYS[1], ARGV[4])
return 1`;
const FINISH_SHA = createHash('sha1').update(FINISH_SCRIPT).digest('hex');

/** Runs {@link FINISH_SCRIPT} by its hash, sending it whole to a server that lacks it. */
async function finishEntry(
  redis: Redis,
  [stream, channel, reply, group, entryId]: readonly [string, string, string, string, string],
): Promise<void> {
  try {
    await redis.evalsha(FINISH_SHA, 1, stream, channel, reply, group, entryId);
  } catch (error) {
    // A new primary (after a failover or a restart) has no scripts cached yet.
    if (!errorMessage(error).startsWith('NOSCRIPT')) throw error;
    await redis.eval(FINISH_SCRIPT, 1, stream, channel, reply, group, entryId);
  }
}

/** `command event.create`, `account.login`: what a request asked, for a log line. */
function describeBusOp(op: unknown): string {
  if (typeof op !== 'object' || op === null) return 'unknown';
  const { type, body } = op as { type?: unknown; body?: { type?: unknown } };
  if (typeof type !== 'string') return 'unknown';
  return typeof body?.type === 'string' ? `${type} ${body.type}` : type;
}

// Shapes of Redis replies, checked rather than cast: a surprise is a logged error, not a crash.

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function streamEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) throw new TypeError('stream entries are not a list');
  const entries: StreamEntry[] = [];
  for (const item of raw as unknown[]) {
    // Redis 6.2 lists deleted pending entries as nil; 7 lists them separately.
    if (item === null) continue;
    if (!Array.isArray(item) || typeof item[0] !== 'string') {
      throw new TypeError('a stream entry is not [id, fields]');
    }
    const fields: unknown = item[1];
    entries.push({ id: item[0], fields: isStringArray(fields) ? fields : null });
  }
  return entries;
}

/** XREADGROUP: nil, or `[[stream, entries]]`. */
function readGroupEntries(raw: unknown): StreamEntry[] {
  if (raw === null) return [];
  if (!Array.isArray(raw)) throw new TypeError('XREADGROUP answered something else than a list');
  return (raw as unknown[]).flatMap((stream) => {
    if (!Array.isArray(stream))
      throw new TypeError('XREADGROUP listed a stream that is not a pair');
    return streamEntries(stream[1]);
  });
}

/** XAUTOCLAIM: `[next cursor, entries, deleted ids]`. */
function autoClaimResult(raw: unknown): {
  next: string;
  entries: StreamEntry[];
  deleted: string[];
} {
  if (!Array.isArray(raw) || typeof raw[0] !== 'string') {
    throw new TypeError('XAUTOCLAIM answered something else than [cursor, entries, deleted]');
  }
  const deleted: unknown = raw[2];
  return {
    next: raw[0],
    entries: streamEntries(raw[1]),
    deleted: isStringArray(deleted) ? deleted : [],
  };
}

/** XINFO CONSUMERS: a list of flat `[name, n, pending, p, idle, ms, …]` maps. */
function consumerInfo(raw: unknown): { name: string; pending: number; idleMs: number }[] {
  if (!Array.isArray(raw))
    throw new TypeError('XINFO CONSUMERS answered something else than a list');
  return (raw as unknown[]).flatMap((item) => {
    if (!Array.isArray(item)) return [];
    const fields = new Map<unknown, unknown>();
    for (let i = 0; i + 1 < item.length; i += 2) fields.set(item[i], item[i + 1]);
    const name = fields.get('name');
    const pending = fields.get('pending');
    const idle = fields.get('idle');
    if (typeof name !== 'string' || typeof pending !== 'number' || typeof idle !== 'number')
      return [];
    return [{ name, pending, idleMs: idle }];
  });
}
