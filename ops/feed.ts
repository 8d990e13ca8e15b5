/**
 * Where the dashboard's snapshots come from. The real feed polls the DB members, Redis, the VIP
 * agents, the supervisor lease and gossip; tests use {@link FakeFeed}.
 */
import type { ClusterSnapshot } from './model.js';

/** A round the feed could not observe at all, said in words for the status line. */
export interface FeedError {
  error: string;
}

export type FeedItem = ClusterSnapshot | FeedError;

/** The dashboard's only source of data. */
export interface DashboardFeed {
  /**
   * Snapshots as they are taken (at least twice a second for a live view), interleaved with
   * errors for rounds that failed. The iteration ends soon after `signal` aborts; the feed
   * must release everything it holds then.
   */
  snapshots(signal: AbortSignal): AsyncIterable<FeedItem>;
}

export function isFeedError(item: FeedItem): item is FeedError {
  return 'error' in item;
}

/**
 * A feed driven by the test: each pushed item is delivered once, in order, to whichever
 * iteration is reading (items pushed before anyone reads wait in a queue).
 */
export class FakeFeed implements DashboardFeed {
  readonly #queue: FeedItem[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  #readers = 0;

  /** Iterations currently open: lets a test check the dashboard stopped reading. */
  get readers(): number {
    return this.#readers;
  }

  push(item: FeedItem): void {
    this.#queue.push(item);
    this.#notify();
  }

  /** Ends every iteration once the queue is drained, as a feed that ran out would. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  async *snapshots(signal: AbortSignal): AsyncIterable<FeedItem> {
    this.#readers += 1;
    const onAbort = (): void => this.#notify();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        const item = this.#queue.shift();
        if (item !== undefined) {
          yield item;
          continue;
        }
        if (this.#ended) return;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#readers -= 1;
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
