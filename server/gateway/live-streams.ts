/**
 * The gateway's live update streams (`GET /v1/stream`): each opened once the caller's
 * subscription is live, all told to re-read when the feed reports a gap, and all ended when
 * the gateway closes. One stream's mechanics (events, heartbeats, backpressure) are
 * ./event-stream.ts's.
 */
import type { ServerResponse } from 'node:http';
import { isAgendaError, Unavailable } from '../../contract/errors.js';
import { API_ROUTES } from '../../contract/api-routes.js';
import { withDeadline } from './deadline.js';
import { EventStream, type EventStreamOptions } from './event-stream.js';
import type { StreamLease } from '../limits/stream-leases.js';
import type { GatewayMetrics } from './metrics.js';
import type { GatewayLogger, NotificationFeed } from './ports.js';
import type { StreamOpened } from './routes.js';
import type { Identity } from './authentication.js';

export interface LiveStreamsOptions {
  readonly notifications: NotificationFeed;
  readonly stream?: EventStreamOptions;
  /** How long a subscription may take to go live, in ms. */
  readonly subscribeDeadlineMs: number;
  /** A place under the user's cap on open streams; throws `RateLimited` at the cap. */
  readonly admit: (actor: string) => Promise<StreamLease>;
  readonly metrics: GatewayMetrics;
  readonly logger: GatewayLogger;
  /**
   * The clock access tokens are checked against, and the difference tolerated on their
   * expiry: a stream ends when the token that opened it would be refused.
   */
  readonly tokenClock: { readonly now: () => number; readonly toleranceMs: number };
}

/** The open streams of one gateway. */
export class LiveStreams {
  private readonly streams = new Set<EventStream>();
  private readonly stopGapWatch: () => void;
  private closed = false;

  constructor(private readonly options: LiveStreamsOptions) {
    // A gap in live updates (the bus re-subscribed): every open stream is told to re-read.
    this.stopGapWatch =
      options.notifications.onGap?.(() => {
        for (const stream of this.streams) stream.resync('live updates may have been missed');
      }) ?? (() => {});
  }

  /**
   * Subscribes to `identity`'s updates and, once the subscription is live, answers 200 on
   * `res` and streams. No subscription in time (bus down) is a 503 rather than a silent
   * stream. A stream must not outlive the token that opened it: it ends after telling of the
   * end of that token's session (a logout of that session, or a password change ending them
   * all), and with an `expired` event when the token expires — the client renews its token
   * and reopens it, so a copy of a short-lived token does not keep a stream open for days.
   */
  async open(
    res: ServerResponse,
    identity: Identity,
    clientGone: AbortSignal,
  ): Promise<StreamOpened> {
    const { actor } = identity;
    const { notifications, metrics, logger } = this.options;
    // Before anything is set up: a refused stream is a plain 429.
    const lease = await this.options.admit(actor);
    const opened = performance.now();
    let expiry: NodeJS.Timeout | undefined;
    const stream: EventStream = new EventStream(res, this.options.stream, {
      updateWritten: () => metrics.updateStreamed(),
      updateMalformed: (update) =>
        logger.warn('dropped a malformed live update', {
          actor,
          update: JSON.stringify(update)?.slice(0, 200),
        }),
      overflowed: () => {
        metrics.streamOverflowed();
        logger.warn('cut a live stream whose client does not keep up', { actor });
      },
      ended: () => {
        clearTimeout(expiry);
        lease.release();
        this.streams.delete(stream);
        metrics.streamClosed();
        logger.info('live stream ended', {
          actor,
          seconds: Math.round((performance.now() - opened) / 1000),
        });
      },
    });
    this.streams.add(stream);
    metrics.streamOpened();
    let subscribed: Promise<() => void> | undefined;
    try {
      const unsubscribe = await withDeadline(
        (signal) => {
          subscribed = notifications.subscribe(
            actor,
            (update) => {
              stream.push(update);
              if (endsSession(update, identity.session.sid)) stream.close();
            },
            signal,
          );
          return subscribed;
        },
        clientGone,
        () => new Unavailable('live updates could not be subscribed in time; retry'),
        this.options.subscribeDeadlineMs,
      );
      if (this.closed) throw new Unavailable('the gateway is shutting down');
      stream.open(unsubscribe);
      const { now, toleranceMs } = this.options.tokenClock;
      expiry = setTimeout(
        () =>
          stream.expire(
            'the access token that opened this stream has expired; renew it and reconnect',
          ),
        Math.max(0, identity.expiresAt + toleranceMs - now()),
      );
      expiry.unref();
      const { method, path } = API_ROUTES.liveUpdates;
      metrics.requestAnswered(path, method, 200);
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

  /** Stops watching for gaps and ends every open stream. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopGapWatch();
    for (const stream of this.streams) stream.close();
  }
}

/**
 * Whether a live update tells of the end of session `sid` (or of every session, or of the
 * account).
 */
function endsSession(update: unknown, sid: string | undefined): boolean {
  if (typeof update !== 'object' || update === null) return false;
  const { kind, change, session } = update as Record<string, unknown>;
  if (kind !== 'session') return false;
  return change === 'deleted' || (change === 'ended' && (session === null || session === sid));
}
