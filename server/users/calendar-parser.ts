/**
 * Reading iCalendar files off the users service's event loop. An import request carries up
 * to a few hundred kilobytes of `.ics`; parsing it (ical.js) and validating every event
 * (recurrence rules included) takes tens to hundreds of milliseconds — time every other
 * request this replica handles would otherwise wait. {@link WorkerCalendarParser} does it in
 * a worker thread of its own, one file at a time, in order; {@link inlineCalendarParser}
 * does it in place (tests, tools).
 */
import { Worker } from 'node:worker_threads';
import { importICalendar } from '../domain/index.js';
import type { ImportOptions, ImportResult } from '../domain/icalendar.js';
import { errorFromWire, Internal, Unavailable } from '../../contract/errors.js';
import type { WireError } from '../../contract/errors.js';

/** What the users service needs to read an import's file. */
export interface CalendarParser {
  /** @throws AgendaError the file's refusal (too large, not a calendar, …). */
  parse(text: string, options: ImportOptions): Promise<ImportResult>;
  close(): Promise<void>;
}

/** Parses on the caller's event loop. */
export const inlineCalendarParser: CalendarParser = {
  parse: (text, options) => Promise.resolve(importICalendar(text, options)),
  close: () => Promise.resolve(),
};

/** A parse request and its answer, as they cross the thread boundary. */
export type ParseRequest = {
  readonly seq: number;
  readonly text: string;
  readonly options: ImportOptions;
};
export type ParseReply =
  | { readonly seq: number; readonly ok: true; readonly result: ImportResult }
  | { readonly seq: number; readonly ok: false; readonly error: WireError };

const RUNNING_FROM_SOURCES = import.meta.url.endsWith('.ts');

/**
 * How long the worker stays after its last file: an import sends its requests back to back,
 * and a restart costs 0.2–0.6 s; a worker kept for good held 20 MB of the replica's memory
 * (84 → 104 MB resident) for as long as it ran after a single import.
 */
const IDLE_STOP_MS = 60_000;

/**
 * See the module comment. A worker that dies fails its waiting parses and is started again;
 * one with nothing to do for `idleStopMs` is stopped, and started again by the next file.
 */
export class WorkerCalendarParser implements CalendarParser {
  private worker: Worker | null = null;
  private seq = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (r: ImportResult) => void; reject: (e: Error) => void }
  >();
  private closed = false;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: { readonly idleStopMs?: number } = {}) {}

  /** Whether a worker is running now (started, or stopped after idling). */
  get running(): boolean {
    return this.worker !== null;
  }

  parse(text: string, options: ImportOptions): Promise<ImportResult> {
    if (this.closed) return Promise.reject(new Unavailable('the users service is stopping'));
    const seq = ++this.seq;
    this.stopIdleTimer();
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.started().postMessage({ seq, text, options } satisfies ParseRequest);
    });
  }

  /**
   * Starts the worker now rather than at the first import: loading the parser and the
   * domain's rules into a fresh thread takes a second or two from the sources (0.2–0.6 s from
   * the daemon's bundle), which the first import otherwise waits for. The users daemon does
   * not (server/services/main.ts): a parser loaded in advance holds 13 MB while the replica
   * rests.
   */
  start(): void {
    if (!this.closed) this.started();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopIdleTimer();
    const worker = this.worker;
    this.worker = null;
    this.failAll(new Unavailable('the users service is stopping'));
    await worker?.terminate();
  }

  private started(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(new URL('../../raft/runtime/worker-entry.mjs', import.meta.url), {
      workerData: {
        registerTsx: RUNNING_FROM_SOURCES,
        entry: new URL(
          RUNNING_FROM_SOURCES ? './calendar-parser-worker.ts' : './calendar-parser-worker.js',
          import.meta.url,
        ).href,
      },
    });
    // An idle parser must not keep the process alive.
    worker.unref();
    worker.on('message', (reply: ParseReply) => {
      const waiting = this.waiting.get(reply.seq);
      if (!waiting) return;
      this.waiting.delete(reply.seq);
      if (reply.ok) waiting.resolve(reply.result);
      else waiting.reject(errorFromWire(reply.error));
      if (this.waiting.size === 0) this.stopWhenIdle(worker);
    });
    const lost = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failAll(new Internal(`the calendar parser stopped (${why}); retry`));
    };
    worker.on('error', (error) => lost(error.message));
    worker.on('exit', (code) => lost(`exit ${code}`));
    this.worker = worker;
    return worker;
  }

  /** Stops `worker` if no file comes within the idle time. */
  private stopWhenIdle(worker: Worker): void {
    this.stopIdleTimer();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.worker !== worker || this.waiting.size > 0) return;
      // Forgotten first, so its exit is not taken for a crash.
      this.worker = null;
      void worker.terminate();
    }, this.options.idleStopMs ?? IDLE_STOP_MS);
    this.idleTimer.unref();
  }

  private stopIdleTimer(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private failAll(error: Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(error);
  }
}
