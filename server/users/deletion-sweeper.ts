/**
 * Finishes deleted accounts whose own request could not: a deletion removes the account's
 * data a batch at a time for as long as its request may take (users-service.ts), and a large
 * account, or a replica that died halfway, leaves the rest to this. Every users replica runs
 * one; the first sweep comes at a random moment of the first interval, so replicas started
 * together do not sweep together.
 */

/** How the sweeper reports. */
export interface SweeperLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface DeletionSweeperOptions {
  /** One sweep: finishes what it can, answers how many accounts it finished. */
  readonly sweep: (signal: AbortSignal) => Promise<number>;
  readonly intervalMs: number;
  readonly log: SweeperLog;
  /** In [0, 1): where in the first interval the first sweep comes. Default: Math.random. */
  readonly random?: () => number;
}

/** Sweeps every `intervalMs`, one sweep at a time, until closed. */
export class DeletionSweeper {
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: DeletionSweeperOptions) {}

  start(): void {
    if (this.closed || this.timer !== undefined) return;
    const first = Math.floor((this.options.random ?? Math.random)() * this.options.intervalMs);
    this.schedule(first);
  }

  /** Stops sweeping; a sweep under way is aborted and waited for. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.stopping.abort();
    await this.running;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running = this.sweepOnce().finally(() => {
        this.running = undefined;
        if (!this.closed) this.schedule(this.options.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async sweepOnce(): Promise<void> {
    try {
      const finished = await this.options.sweep(this.stopping.signal);
      if (finished > 0) this.options.log.info('finished deleting accounts', { finished });
    } catch (error) {
      if (this.stopping.signal.aborted) return;
      // The next sweep tries again: what is left stays listed in the store.
      this.options.log.warn('could not finish deleting accounts; the next sweep tries again', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
