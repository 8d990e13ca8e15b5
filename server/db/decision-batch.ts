/**
 * Decisions asked for in one turn of the leader's event loop go to the store's worker
 * together, and come back together.
 *
 * Why it matters: a decision is a round trip to the worker. Asked one at a time, the
 * answers come back one message each, so their proposals reach Raft one per turn: each its
 * own log append, its own fsync on every member, its own message to every follower. Under
 * 64 concurrent writers, appends carried 1.8 entries on average and the followers spent
 * their time on per-message overhead. Decided together, the commands of a turn are proposed
 * in one turn too, and Raft appends, syncs and replicates them as one batch.
 *
 * Every decision of a batch is taken against the same applied state. Two commands of one
 * batch that touch the same keys are still ordered correctly: the first is proposed and
 * holds its keys in flight, and the second, whose decision read them, waits for it and is
 * decided again (`server/db/service.ts`, `in-flight.ts`).
 */
import type { Decided } from '../store/calendar-store.js';
import type { StoreCommand } from '../store/protocol.js';

/** Decides commands in the store, in order, all against the same state. */
export type DecideAll = (
  commands: readonly StoreCommand[],
  timeoutMs: number,
) => Promise<readonly Decided[]>;

interface Waiting {
  readonly command: StoreCommand;
  readonly deadline: number;
  resolve(decided: Decided): void;
  reject(error: unknown): void;
}

export class DecisionBatcher {
  private queued: Waiting[] = [];
  private scheduled: NodeJS.Immediate | null = null;

  /**
   * @param maxBatch the most commands one worker request decides: the worker decides them
   *   one after another, and the urgent reads queued behind (leases) wait for all of them.
   */
  constructor(
    private readonly decideAll: DecideAll,
    private readonly maxBatch = 32,
  ) {}

  /** The store's decision on `command`, taken with the others asked for in this turn. */
  decide(command: StoreCommand, timeoutMs: number): Promise<Decided> {
    return new Promise<Decided>((resolve, reject) => {
      this.queued.push({ command, deadline: Date.now() + timeoutMs, resolve, reject });
      if (this.queued.length >= this.maxBatch) this.flush();
      else this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.scheduled = null;
    const batch = this.queued.splice(0);
    if (batch.length === 0) return;
    // The batch waits as long as its most patient member; the others' own deadlines end
    // their proposals soon after, if it came to that.
    const timeoutMs = Math.max(1, Math.max(...batch.map((w) => w.deadline)) - Date.now());
    this.decideAll(
      batch.map((w) => w.command),
      timeoutMs,
    ).then(
      (decisions) => {
        if (decisions.length !== batch.length) {
          const error = new Error(
            `the store answered ${decisions.length} decisions for ${batch.length} commands`,
          );
          for (const w of batch) w.reject(error);
          return;
        }
        batch.forEach((w, i) => w.resolve(decisions[i]!));
      },
      (error: unknown) => {
        for (const w of batch) w.reject(error);
      },
    );
  }
}
