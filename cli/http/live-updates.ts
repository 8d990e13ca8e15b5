/**
 * Following the caller's live updates (`GET /v1/stream`) for as long as asked: the stream is
 * reopened whenever it ends or breaks, on the first gateway that answers, after a backoff
 * that grows with consecutive failures and resets once a stream has opened. A stream the
 * gateway ends because the access token that opened it expired (an `expired` event) is
 * reopened at once: the gateway client renews the token on the way. Refusals that a retry
 * cannot fix (401 once renewing could not help, 403, 404, 400) end the watch with that error.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Internal, isAgendaError } from '../../contract/errors.js';
import type { LiveUpdate } from '../../contract/api.js';
import { API_ROUTES } from '../../contract/api-routes.js';
import type { GatewayClient } from './gateway-client.js';
import { parseServerSentEvents } from './sse.js';

/** What a watcher is told besides updates, so it can tell the user. */
export interface StreamObserver {
  /** A stream is open on `server` (`reconnected`: after a loss, so updates may have been missed). */
  connected?(server: URL, reconnected: boolean): void;
  /**
   * A stream is open on `server` again, with a renewed access token, after the gateway ended
   * the last one as its token expired: updates made in the moment between were not seen.
   */
  renewed?(server: URL): void;
  /** The gateway says updates may have been missed (its messaging failed over): re-read. */
  missed?(reason: string): void;
  /**
   * The stream was lost, or could not be opened (`failure` says which); the next try comes
   * after `delayMs`.
   */
  retrying?(reason: string, delayMs: number, failure: StreamFailure): void;
}

/**
 * How an attempt failed: an open stream broke or ended (`lost`); or no stream could be
 * opened, before any had been (`not_connected`) or after one had (`not_reconnected`).
 */
export type StreamFailure = 'lost' | 'not_connected' | 'not_reconnected';

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** 200 ms, 400 ms, 800 ms… up to 5 s between attempts. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 5_000 };

/** The wait before attempt `failures + 1`. Deterministic: every CLI retries on its own schedule anyway. */
export function backoffDelay(failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, failures - 1));
}

/** Error codes for which reconnecting cannot help. */
const FINAL_CODES = new Set(['invalid', 'unauthenticated', 'forbidden', 'not_found']);

/**
 * Yields the caller's live updates until `signal` aborts (then it returns quietly) or the
 * gateway refuses the stream for good (then it throws that error).
 */
export async function* followLiveUpdates(
  gateway: GatewayClient,
  signal: AbortSignal,
  observer: StreamObserver = {},
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): AsyncGenerator<LiveUpdate> {
  let failures = 0;
  let everConnected = false;
  let expired = false;
  let lastEventId: string | undefined;
  while (!signal.aborted) {
    // Each stream gets its own abort, so leaving the loop early (a consumer's `break`)
    // closes the connection instead of leaving it open until the process ends.
    const attempt = new AbortController();
    const stopFollowing = (): void => attempt.abort();
    signal.addEventListener('abort', stopFollowing, { once: true });
    // Whether this attempt reopens a stream that ended as its token expired; `expired` says
    // it of this attempt's stream only, so that a reopening that fails waits like any other.
    const renewing = expired;
    expired = false;
    let opened = false;
    let reason: string;
    try {
      const stream = await gateway.openStream(
        API_ROUTES.liveUpdates.path,
        attempt.signal,
        lastEventId,
      );
      if (renewing) observer.renewed?.(stream.server);
      else observer.connected?.(stream.server, everConnected);
      opened = true;
      everConnected = true;
      failures = 0;
      for await (const message of parseServerSentEvents(stream.body)) {
        lastEventId = message.id ?? lastEventId;
        if (message.event === 'resync') {
          observer.missed?.(resyncReason(message.data));
          continue;
        }
        if (message.event === 'expired') {
          expired = true;
          break;
        }
        if (message.event !== 'update') continue;
        yield parseLiveUpdate(message.data);
      }
      reason = `the stream from ${stream.server.host} ended`;
    } catch (error) {
      if (signal.aborted) return;
      if (isAgendaError(error) && FINAL_CODES.has(error.code)) throw error;
      reason = error instanceof Error ? error.message : String(error);
    } finally {
      signal.removeEventListener('abort', stopFollowing);
      attempt.abort();
    }
    // Not a failure: the next stream opens with a renewed token, without waiting.
    if (expired) continue;
    failures += 1;
    const wait = backoffDelay(failures, policy);
    observer.retrying?.(
      reason,
      wait,
      opened ? 'lost' : everConnected ? 'not_reconnected' : 'not_connected',
    );
    try {
      await delay(wait, undefined, { signal });
    } catch {
      return;
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `data` of an `update` message, checked against {@link LiveUpdate}. */
export function parseLiveUpdate(data: string): LiveUpdate {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (error) {
    throw new Internal('the gateway sent a live update that is not JSON', { cause: error });
  }
  if (
    isRecord(value) &&
    typeof value.change === 'string' &&
    typeof value.by === 'string' &&
    typeof value.at === 'string'
  ) {
    if (value.kind === 'event' && typeof value.eventId === 'string') {
      return {
        kind: 'event',
        change: value.change,
        eventId: value.eventId,
        by: value.by,
        at: value.at,
      };
    }
    if (
      value.kind === 'group' &&
      typeof value.group === 'string' &&
      typeof value.member === 'string'
    ) {
      return {
        kind: 'group',
        change: value.change,
        group: value.group,
        member: value.member,
        by: value.by,
        at: value.at,
      };
    }
  }
  throw new Internal('the gateway sent a live update of an unknown shape');
}

/** The reason carried by a `resync` event, or a generic one if it is unreadable. */
function resyncReason(data: string): string {
  try {
    const value = JSON.parse(data) as { reason?: unknown };
    if (typeof value.reason === 'string') return value.reason;
  } catch {
    // Fall through to the generic reason.
  }
  return 'live updates may have been missed';
}
