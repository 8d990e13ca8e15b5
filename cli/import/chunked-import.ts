/**
 * An `.ics` file imported as a series of requests, each within the server's limits
 * (see split-calendar.ts), sent one after another: what `agenda import` does, and what the
 * import benchmark drives.
 *
 * Guarantees:
 * - Each request carries an idempotency key of its own, kept across its retries: a request
 *   the gateways could not answer (503, no answer in time, unreachable) is sent again with
 *   the same key, with growing pauses, so a request that did apply is answered with its
 *   original outcome instead of being reported unavailable — or applied twice.
 * - Stopping (`stop`) takes effect between requests; the request in flight finishes first.
 *   Importing the same file again resumes: the server finds each event by its UID, so those
 *   already imported come back `unchanged`.
 * - A request refused as a whole for its content (`invalid`) fails its events and the
 *   import goes on; any other refusal (a login that expired, …) would refuse every later
 *   request too, so the import stops there, and says how far it got.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAgendaError } from '../../contract/errors.js';
import type { AgendaError } from '../../contract/errors.js';
import type { ImportAnswer } from '../../contract/api.js';
import type { AgendaApi } from '../http/agenda-api.js';
import { REQUEST_LIMITS } from './split-calendar.js';
import type { CalendarChunk, SplitCalendar } from './split-calendar.js';

/** How a request nobody answered is tried again. */
export interface RetryPolicy {
  /** Attempts per request, the first included. */
  readonly attempts: number;
  readonly firstPauseMs: number;
  readonly longestPauseMs: number;
}

/** About a minute of trying per request before giving up. */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 9,
  firstPauseMs: 500,
  longestPauseMs: 10_000,
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
  /** Told once before the first request and after each one. */
  readonly onProgress?: (progress: ImportProgress) => void;
  /** Once aborted, no further request is sent; the one in flight finishes. */
  readonly stop?: AbortSignal;
  /** Once aborted, the request in flight is abandoned too (it may still apply). */
  readonly abort?: AbortSignal;
  readonly retry?: RetryPolicy;
}

export interface ChunkedImport {
  /**
   * Every answer combined, in file order. A failure's `index` counts the file's events that
   * were imported or failed, from 0 (events too big to send come first).
   */
  readonly answer: ImportAnswer;
  readonly progress: ImportProgress;
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
  let decided = 0;
  let done = 0;
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
    answer: { events, failed, skipped },
    progress: { done, total: split.events },
    stoppedBy,
  });
  report();
  for (const chunk of split.chunks) {
    if (aborted(options.stop) || aborted(options.abort)) {
      return finish({ kind: 'interrupt' });
    }
    let answer: ImportAnswer;
    try {
      answer = await sendWithRetries(api, chunk, options);
    } catch (error) {
      if (aborted(options.abort)) return finish({ kind: 'interrupt' });
      if (!isAgendaError(error)) throw error;
      if (error.code !== 'invalid') return finish({ kind: 'error', error });
      // Refused for what it holds: its events fail, the others may still go in.
      const uids = chunk.uids.length === 0 ? [null] : chunk.uids;
      for (const uid of uids) {
        failed.push({ index: decided++, uid, error: { code: error.code, message: error.message } });
      }
      done += chunk.events;
      report();
      continue;
    }
    events.push(...answer.events);
    failed.push(...answer.failed.map((f) => ({ ...f, index: f.index + decided })));
    skipped.push(...answer.skipped);
    decided += answer.events.length + answer.failed.length;
    done += chunk.events;
    report();
  }
  return finish(null);
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
  for (let attempt = 1; ; attempt++) {
    try {
      return await api.importCalendar(chunk.text, options.allowConflict, options.timeZone, {
        idempotencyKey,
        ...(options.abort === undefined ? {} : { signal: options.abort }),
      });
    } catch (error) {
      if (!isAgendaError(error) || !retryable(error) || attempt >= retry.attempts) throw error;
      await sleep(pause, undefined, options.abort === undefined ? {} : { signal: options.abort });
      pause = Math.min(retry.longestPauseMs, pause * 2);
    }
  }
}
