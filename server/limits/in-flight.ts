/**
 * A bound on how many calls of one key (one user) are in flight at once, in one process.
 *
 * The per-user request limit counts requests, not their cost: one user sending 20 calendar
 * reports of a full calendar at once (each a 2 MiB read from the store) had them all reach
 * the DB members together; the store, which reads one thing at a time, answered none within
 * the DB client's attempt bound, the client asked every member, and 59 of 60 were answered
 * 503 while every DB member worked on copies of them. With a gate, one user's calls beyond
 * `perKey` wait their turn here, where waiting costs nothing, and go on in order as earlier
 * ones finish; other users' calls never wait behind them.
 */
/** A call that gave up (its signal aborted) while waiting for a place. */
export class AbortedError extends Error {
  constructor() {
    super('gave up waiting for a place in flight');
  }
}

export interface InFlightGateOptions {
  /** Calls of one key in flight at once. */
  readonly perKey: number;
  /** Calls of one key waiting for a place; one more is refused at once. */
  readonly waitingPerKey: number;
}

interface Line {
  running: number;
  readonly waiting: (() => void)[];
}

/** Gives a release once its call may go, one per call; see the module comment. */
export class InFlightGate {
  private readonly lines = new Map<string, Line>();

  constructor(private readonly options: InFlightGateOptions) {
    if (!(options.perKey >= 1) || !(options.waitingPerKey >= 0)) {
      throw new RangeError('a gate needs at least one place per key, and no negative line');
    }
  }

  /**
   * Resolves with the call's release once `key` has a place (at once if it has one), or with
   * null when `waitingPerKey` calls already wait: the caller refuses this one. Rejects with
   * {@link AbortedError} if `signal` aborts first; its place in the line is then given up.
   * Call the release when the call is over, however it ended; a second call does nothing.
   */
  enter(key: string, signal: AbortSignal): Promise<(() => void) | null> {
    if (signal.aborted) return Promise.reject(new AbortedError());
    let line = this.lines.get(key);
    if (line === undefined) {
      line = { running: 0, waiting: [] };
      this.lines.set(key, line);
    }
    if (line.running < this.options.perKey) {
      line.running++;
      return Promise.resolve(this.releaseOf(key, line));
    }
    if (line.waiting.length >= this.options.waitingPerKey) return Promise.resolve(null);
    const waitingLine = line;
    return new Promise((resolve, reject) => {
      const go = () => {
        signal.removeEventListener('abort', giveUp);
        resolve(this.releaseOf(key, waitingLine));
      };
      const giveUp = () => {
        const at = waitingLine.waiting.indexOf(go);
        if (at >= 0) waitingLine.waiting.splice(at, 1);
        this.forgetIfIdle(key, waitingLine);
        reject(new AbortedError());
      };
      waitingLine.waiting.push(go);
      signal.addEventListener('abort', giveUp, { once: true });
    });
  }

  /** Calls in flight and waiting for `key`, for tests and metrics. */
  load(key: string): { readonly running: number; readonly waiting: number } {
    const line = this.lines.get(key);
    return { running: line?.running ?? 0, waiting: line?.waiting.length ?? 0 };
  }

  /** How many keys have calls in flight or waiting (what the gate holds in memory). */
  get keys(): number {
    return this.lines.size;
  }

  private releaseOf(key: string, line: Line): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The place passes to the first waiting call, if any: `running` stays the same.
      const next = line.waiting.shift();
      if (next !== undefined) return next();
      line.running--;
      this.forgetIfIdle(key, line);
    };
  }

  private forgetIfIdle(key: string, line: Line): void {
    if (line.running === 0 && line.waiting.length === 0 && this.lines.get(key) === line) {
      this.lines.delete(key);
    }
  }
}
