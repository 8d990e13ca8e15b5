/**
 * An `.ics` file imported as a series of requests, each within the server's limits
 * (see split-calendar.ts), sent in order, two at a time: what `agenda import` does, and what
 * the import benchmark drives.
 *
 * Guarantees:
 * - Each request carries an idempotency key of its own, kept across its retries: a request
 *   the gateways could not answer (503, no answer in time, unreachable) is sent again with
 *   the same key, with growing pauses, so a request that did apply is answered with its
 *   original outcome instead of being reported unavailable — or applied twice.
 * - Stopping (`stop`) sends no further request; those in flight finish first, and count.
 *   Importing the same file again resumes: the server finds each event by its UID, so those
 *   already imported come back `unchanged`.
 * - A request refused as a whole for its content (`invalid`) fails its events and the
 *   import goes on; any other refusal (a login that expired, …) would refuse every later
 *   request too, so the import stops there, and says how far it got.
 * - Answers are combined in file order, whatever order they come in.
 * - Conflicts between the events of two requests are found as if the requests went one by
 *   one: the DB decides a user's imports one at a time, each on the state the one before
 *   left (server/db/service.ts). Which of the two requests reports the conflict may vary;
 *   no UID is in two requests (split-calendar.ts), so no event can be imported twice.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAgendaError } from '../../contract/errors.js';
import type { AgendaError } from '../../contract/errors.js';
import type { ImportAnswer } from '../../contract/api.js';
import type { Visibility } from '../../contract/views.js';
import type { AgendaApi } from '../http/agenda-api.js';
import { REQUEST_LIMITS } from './split-calendar.js';
import type { CalendarChunk, SplitCalendar } from './split-calendar.js';

/** How a request nobody answered is tried again. */
export interface RetryPolicy {
  /** Attempts per request, the first included. */
  readonly attempts: number;
  readonly firstPauseMs: number;
  readonly longestPauseMs: number;
  /**
   * No attempt starts this long after the first one did. Attempts alone did not bound it:
   * with no DB quorum each waited for both gateways to give up, and nine of them took almost
   * four minutes of silence.
   */
  readonly giveUpAfterMs: number;
}

/**
 * Requests kept in flight: two, so that while the DB decides and replicates one, a users
 * service already parses the next (each is about half the time of a request; the DB decides
 * an actor's imports one at a time, in the order they come). More would only queue.
 */
export const IMPORT_DEPTH = 2;

/** How a request ended: with its answer, or with what it was refused or failed with. */
type Sent = { readonly answer: ImportAnswer } | { readonly error: unknown };

/** About a minute of trying per request before giving up. */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 9,
  firstPauseMs: 500,
  longestPauseMs: 10_000,
  giveUpAfterMs: 60_000,
};

export interface ImportProgress {
  /** Events in the requests answered so far (and those too big to send). */
  readonly done: number;
  readonly total: number;
}

export interface ChunkedImportOptions {
  readonly allowConflict: boolean;
  /** Reads the file's times that name no zone. */
  readonly timeZone: string;
  /** The visibility of the events whose VEVENT says no CLASS (the server's default: public). */
  readonly visibility?: Visibility;
  /** Told once before the first request and after each one. */
  readonly onProgress?: (progress: ImportProgress) => void;
  /** Once aborted, no further request is sent; the one in flight finishes. */
  readonly stop?: AbortSignal;
  /** Once aborted, the request in flight is abandoned too (it may still apply). */
  readonly abort?: AbortSignal;
  readonly retry?: RetryPolicy;
  /** Requests in flight at once (default {@link IMPORT_DEPTH}; 1 sends them one by one). */
  readonly depth?: number;
}

export interface ChunkedImport {
  /**
   * Every answer combined, in file order. A failure's `index` counts the file's events that
   * were imported or failed, from 0 (events too big to send come first).
   */
  readonly answer: ImportAnswer;
  readonly progress: ImportProgress;
  /**
   * Events in requests abandoned in flight (a second Ctrl-C): not counted in `progress`,
   * yet the server may have imported them.
   */
  readonly abandonedEvents: number;
  /** Why the import ended before the last request, if it did. */
  readonly stoppedBy:
    { readonly kind: 'interrupt' } | { readonly kind: 'error'; readonly error: AgendaError } | null;
}

function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function retryable(error: AgendaError): boolean {
  return error.code === 'unavailable' || error.code === 'rate_limited';
}

/** Sends `split`'s requests in order (guarantees in the module comment). */
export async function importInChunks(
  api: AgendaApi,
  split: SplitCalendar,
  options: ChunkedImportOptions,
): Promise<ChunkedImport> {
  const events: ImportAnswer['events'][number][] = [];
  const failed: ImportAnswer['failed'][number][] = [];
  const skipped: ImportAnswer['skipped'][number][] = [];
  const changed: NonNullable<ImportAnswer['changed']>[number][] = [];
  const withoutClass: string[] = [];
  let given: Visibility | undefined;
  let decided = 0;
  let done = 0;
  let abandoned = 0;
  const megabytes = REQUEST_LIMITS.maxBytes / 1024 / 1024;
  for (const big of split.tooBig) {
    failed.push({
      index: decided++,
      uid: big.uid,
      error: {
        code: 'invalid',
        message: `with its changed occurrences it is larger than one import request may be (${megabytes} MB, ${REQUEST_LIMITS.maxEvents} events)`,
      },
    });
    done += big.events;
  }
  const report = () => options.onProgress?.({ done, total: split.events });
  const finish = (stoppedBy: ChunkedImport['stoppedBy']): ChunkedImport => ({
    answer: {
      events,
      failed,
      skipped,
      changed,
      ...(given === undefined ? {} : { withoutClass: { visibility: given, uids: withoutClass } }),
    },
    progress: { done, total: split.events },
    abandonedEvents: abandoned,
    stoppedBy,
  });
  report();
  // Requests in flight, oldest first; each settles to its answer or its error, never rejects.
  const inFlight: { chunk: CalendarChunk; outcome: Promise<Sent> }[] = [];
  let next = 0;
  let stoppedBy: ChunkedImport['stoppedBy'] = null;
  const stopping = () => stoppedBy !== null || aborted(options.stop) || aborted(options.abort);
  const fill = () => {
    const depth = options.depth ?? IMPORT_DEPTH;
    for (let chunk = split.chunks[next]; chunk !== undefined; chunk = split.chunks[next]) {
      if (inFlight.length >= depth || stopping()) return;
      next++;
      inFlight.push({
        chunk,
        outcome: sendWithRetries(api, chunk, options).then(
          (answer) => ({ answer }),
          (error: unknown) => ({ error }),
        ),
      });
    }
  };
  fill();
  for (let sent = inFlight.shift(); sent !== undefined; fill(), sent = inFlight.shift()) {
    const { chunk } = sent;
    const outcome = await sent.outcome;
    if ('error' in outcome) {
      const { error } = outcome;
      if (aborted(options.abort)) {
        stoppedBy ??= { kind: 'interrupt' };
        abandoned += chunk.events;
        continue;
      }
      if (!isAgendaError(error)) throw error;
      if (error.code !== 'invalid') {
        // No further request is sent; those already in flight are still counted as they end,
        // since they may have applied.
        stoppedBy ??= { kind: 'error', error };
        continue;
      }
      // Refused for what it holds: its events fail, the others may still go in.
      const uids = chunk.uids.length === 0 ? [null] : chunk.uids;
      for (const uid of uids) {
        failed.push({ index: decided++, uid, error: { code: error.code, message: error.message } });
      }
      done += chunk.events;
      report();
      continue;
    }
    const { answer } = outcome;
    events.push(...answer.events);
    failed.push(...answer.failed.map((f) => ({ ...f, index: f.index + decided })));
    skipped.push(...answer.skipped);
    changed.push(...(answer.changed ?? []));
    if (answer.withoutClass !== undefined) {
      given = answer.withoutClass.visibility;
      withoutClass.push(...answer.withoutClass.uids);
    }
    decided += answer.events.length + answer.failed.length;
    done += chunk.events;
    report();
  }
  if (stoppedBy === null && next < split.chunks.length) stoppedBy = { kind: 'interrupt' };
  return finish(stoppedBy);
}

/** One request, sent again under the same key while nobody could answer it. */
async function sendWithRetries(
  api: AgendaApi,
  chunk: CalendarChunk,
  options: ChunkedImportOptions,
): Promise<ImportAnswer> {
  const retry = options.retry ?? DEFAULT_RETRY;
  const idempotencyKey = randomUUID();
  let pause = retry.firstPauseMs;
  const giveUpAt = Date.now() + retry.giveUpAfterMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await api.importCalendar(chunk.text, options.allowConflict, options.timeZone, {
        ...(options.visibility === undefined ? {} : { visibility: options.visibility }),
        idempotencyKey,
        ...(options.abort === undefined ? {} : { signal: options.abort }),
      });
    } catch (error) {
      if (!isAgendaError(error) || !retryable(error) || attempt >= retry.attempts) throw error;
      if (Date.now() + pause >= giveUpAt) throw error;
      await sleep(pause, undefined, options.abort === undefined ? {} : { signal: options.abort });
      pause = Math.min(retry.longestPauseMs, pause * 2);
    }
  }
}
