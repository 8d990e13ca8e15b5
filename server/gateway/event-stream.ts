/**
 * One `GET /v1/stream` connection: server-sent events of one user's live updates.
 *
 * Each update is `event: update` + `data: <LiveUpdate JSON>`; a comment line every
 * `heartbeatMs` keeps proxies and idle timers from closing a quiet stream. Memory per stream
 * is bounded whatever the update rate and however slow the client: updates the socket cannot
 * take yet wait in a queue of at most `maxQueuedUpdates`; past that the stream is cut (the
 * client reconnects and rereads its agenda) rather than silently losing updates.
 *
 * Updates come from the bus as the services published them, so each is checked against the
 * {@link LiveUpdate} shape before a client sees it; anything else is dropped.
 */
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { LiveUpdate } from '../../contract/api.js';

export interface EventStreamOptions {
  /**
   * Interval of keep-alive comments. Default 10 s: clients presume a stream silent for 30 s
   * dead (`agenda watch`), so a gateway that hangs is left within half a minute.
   */
  readonly heartbeatMs?: number;
  /** Updates held while the client is not reading. Default 256. */
  readonly maxQueuedUpdates?: number;
}

/** What the stream reports to its owner (metrics, logs, bookkeeping). */
export interface EventStreamHooks {
  readonly updateWritten?: () => void;
  readonly updateMalformed?: (update: unknown) => void;
  readonly overflowed?: () => void;
  /** Called once, however the stream ended (client gone, overflow, server closing). */
  readonly ended?: () => void;
}

const text = z.string().max(1000);
const liveUpdate: z.ZodType<LiveUpdate> = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('event'),
    change: text,
    eventId: text,
    by: text,
    at: text,
  }),
  z.strictObject({
    kind: z.literal('group'),
    change: text,
    group: text,
    member: text,
    by: text,
    at: text,
  }),
  // The end of the stream's session, or of the account: the client is told why it closes.
  z.strictObject({
    kind: z.literal('session'),
    change: text,
    session: text.nullable(),
    at: text,
  }),
]);

export class EventStream {
  private readonly queue: string[] = [];
  private readonly maxQueued: number;
  private opened = false;
  private congested = false;
  private ended = false;
  private unsubscribe: (() => void) | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  /**
   * A stream not yet open: updates pushed before {@link open} are held (within the same
   * bound), so nothing delivered between the subscription going live and the headers being
   * written is lost.
   */
  constructor(
    private readonly res: ServerResponse,
    private readonly options: EventStreamOptions = {},
    private readonly hooks: EventStreamHooks = {},
  ) {
    this.maxQueued = options.maxQueuedUpdates ?? 256;
    res.on('close', () => this.end());
    // A write racing the client's disconnect must not become an unhandled 'error'.
    res.on('error', () => this.end());
    res.on('drain', () => this.flush());
  }

  /** Whether the stream has ended (for whatever reason). */
  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Answers 200 and starts streaming; `unsubscribe` is called when the stream ends. If it
   * ended already (the client left while subscribing), unsubscribes at once.
   */
  open(unsubscribe: () => void): void {
    this.unsubscribe = unsubscribe;
    if (this.ended) {
      unsubscribe();
      return;
    }
    this.opened = true;
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    this.res.socket?.setNoDelay(true);
    this.write(': stream open\n\n');
    this.heartbeat = setInterval(() => {
      if (!this.congested) this.write(': keep-alive\n\n');
    }, this.options.heartbeatMs ?? 10_000);
    this.heartbeat.unref();
    this.flush();
  }

  /** Queues one update for the client. Never throws: it runs inside the feed's delivery. */
  push(update: unknown): void {
    if (this.ended) return;
    const checked = liveUpdate.safeParse(update);
    if (!checked.success) {
      this.hooks.updateMalformed?.(update);
      return;
    }
    const frame = `event: update\ndata: ${JSON.stringify(checked.data)}\n\n`;
    if (!this.opened || this.congested) {
      if (this.queue.length >= this.maxQueued) {
        this.hooks.overflowed?.();
        // Dropped, not ended: ending would wait for a client that does not read to drain.
        this.res.destroy();
        this.end();
        return;
      }
      this.queue.push(frame);
      return;
    }
    this.write(frame);
    this.hooks.updateWritten?.();
  }

  /**
   * Tells the client that updates may have been missed (the bus subscription was
   * re-established after a Redis failover or reconnect), so it should re-read what it shows.
   */
  resync(reason: string): void {
    if (this.ended) return;
    const frame = `event: resync\ndata: ${JSON.stringify({ reason })}\n\n`;
    if (!this.opened || this.congested) this.queue.push(frame);
    else this.write(frame);
  }

  /**
   * Ends the stream because the access token that opened it expired: after what is queued,
   * an `expired` event tells the client to reopen it with a renewed token. Idempotent.
   */
  expire(reason: string): void {
    if (this.ended) return;
    if (this.opened) {
      // In order, whatever the backpressure: the response buffers what the socket cannot
      // take yet, and ends after it. The queue is bounded, so this is too.
      for (const frame of this.queue.splice(0)) this.res.write(frame);
      this.res.write(`event: expired\ndata: ${JSON.stringify({ reason })}\n\n`);
    }
    this.close();
  }

  /** Ends the stream after what was written so far; idempotent. */
  close(): void {
    if (this.ended) return;
    if (this.opened) this.res.end();
    this.end();
  }

  private write(frame: string): void {
    if (this.ended) return;
    if (!this.res.write(frame)) this.congested = true;
  }

  private flush(): void {
    this.congested = false;
    while (this.opened && !this.congested && !this.ended) {
      const frame = this.queue.shift();
      if (frame === undefined) return;
      this.write(frame);
      this.hooks.updateWritten?.();
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.queue.length = 0;
    try {
      this.unsubscribe?.();
    } finally {
      this.hooks.ended?.();
    }
  }
}
