/**
 * Time as the dashboard sees it, injected so that tests can make a snapshot stale without
 * waiting.
 */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    return () => clearInterval(timer);
  },
};

/** A clock that moves only when told to; its periodic ticks fire as `advance` passes them. */
export class ManualClock implements Clock {
  #now: number;
  readonly #timers = new Set<{ ms: number; due: number; tick: () => void }>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  every(ms: number, tick: () => void): () => void {
    const timer = { ms, due: this.#now + ms, tick };
    this.#timers.add(timer);
    return () => {
      this.#timers.delete(timer);
    };
  }

  /** Moves time forward by `ms`, firing each due tick in time order. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let next: { ms: number; due: number; tick: () => void } | undefined;
      for (const timer of this.#timers) {
        if (timer.due <= until && (next === undefined || timer.due < next.due)) next = timer;
      }
      if (next === undefined) break;
      this.#now = next.due;
      next.due += next.ms;
      next.tick();
    }
    this.#now = until;
  }
}
