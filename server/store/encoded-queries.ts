/**
 * Queries whose answers the store's worker writes as JSON text itself.
 *
 * A query answered over HTTPS is only ever turned into JSON by the DB member. Handed over as
 * an object, its answer is copied across the thread boundary as a graph (structured clone)
 * and then serialized on the member's event loop — the loop that runs Raft. A group agenda
 * of 480 entries is about a thousand objects; a page can reach a megabyte of JSON. As text,
 * the worker serializes it (its own time) and the hand-over is one string copy: the member's
 * loop writes it to the socket as it is.
 *
 * As UTF-8 bytes, not a string: the bytes move to the member without a copy (their buffer
 * is transferred, raft/runtime/state-machine-worker.ts) and go to the socket as they are,
 * where a string was copied across, then encoded on the member's loop — and each answer, a
 * hundred kilobytes and more, was garbage on the Raft member's heap (the leader's heap
 * reached 58 MB of ~21 MB live in `npm run bench`'s agenda phase). An answer's bytes live
 * outside the V8 heap and go as soon as the socket has written them.
 */
import type { StateMachine } from '../../raft/runtime/host.js';
import type { CalendarStore, StoreAnswer, StoreRequest } from './calendar-store.js';
import type { StoreQuery, StoreResult } from './protocol.js';

/** Asks for a query's answer as JSON text. */
export interface EncodedQuery {
  readonly encode: StoreQuery;
}

/**
 * The answer to an {@link EncodedQuery}: the query's result (a `StoreQueryResult`), as JSON
 * in UTF-8, owning its whole buffer (so that it can be transferred).
 */
export interface EncodedAnswer {
  readonly bytes: Uint8Array;
}

const utf8 = new TextEncoder();

/** What the DB member asks its store's worker, and what it answers. */
export type WorkerRequest = StoreRequest | EncodedQuery;
export type WorkerAnswer = StoreAnswer | EncodedAnswer;

export function isEncodedQuery(request: WorkerRequest): request is EncodedQuery {
  return 'encode' in request;
}

/** The query a request asks about, encoded or not (`null` for a decision). */
export function queryOf(request: WorkerRequest): StoreQuery | null {
  if (isEncodedQuery(request)) return request.encode;
  return 'decide' in request ? null : request;
}

/** The store, answering {@link EncodedQuery}s as well. */
export class EncodingStore implements StateMachine<StoreResult, WorkerRequest, WorkerAnswer> {
  constructor(private readonly store: CalendarStore) {}

  apply(...args: Parameters<CalendarStore['apply']>): StoreResult[] {
    return this.store.apply(...args);
  }

  snapshot(): Uint8Array {
    return this.store.snapshot();
  }

  restore(data: Uint8Array): void {
    this.store.restore(data);
  }

  query(request: WorkerRequest): WorkerAnswer {
    if (isEncodedQuery(request)) {
      return { bytes: utf8.encode(JSON.stringify(this.store.query(request.encode))) };
    }
    return this.store.query(request);
  }
}
