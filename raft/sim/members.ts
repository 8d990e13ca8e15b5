/**
 * A simulated member and what it runs on: the sql.js key-value machine wrapped to report
 * what it applies and serves to the invariant checks, run with a worker thread's delay, and
 * durable storage on a simulated disk whose fsync may finish steps later. Starting a member
 * wires it to the rest of the simulation and lives in `simulator.ts`; stopping it is here.
 */
import type { Snapshot, NodeId } from '../core/types.js';
import type { KvQuery, KvReadResult, KvResult, KvStateMachine } from '../kv/kv-state-machine.js';
import type {
  AppliedCommand,
  AsyncStateMachine,
  Callback,
  RaftHost,
  StateMachine,
} from '../runtime/host.js';
import type { DurableStorage } from '../storage/durable-log.js';
import type { SimFileSystem } from '../storage/sim-fs.js';
import { SimFailure } from './invariants.js';

/** What an applied command returns, with the index and term it was applied at. */
export type AppliedResult = KvResult & { readonly index: number; readonly term: number };

/** Wraps the sql.js key-value machine to report every applied command to the checker. */
export class RecordingStateMachine implements StateMachine<AppliedResult, KvQuery, KvReadResult> {
  constructor(
    readonly inner: KvStateMachine,
    private readonly onApply: (c: AppliedCommand) => void,
    private readonly onQuery: (q: KvQuery) => void,
  ) {}

  apply(commands: readonly AppliedCommand[]): AppliedResult[] {
    for (const c of commands) this.onApply(c);
    return this.inner
      .apply(commands)
      .map((r, i) => ({ ...r, index: commands[i]?.index ?? 0, term: commands[i]?.term ?? 0 }));
  }

  snapshot(): Uint8Array {
    return this.inner.snapshot();
  }

  restore(data: Uint8Array): void {
    this.inner.restore(data);
  }

  query(q: KvQuery): KvReadResult {
    this.onQuery(q);
    return this.inner.query(q);
  }
}

/**
 * The state machine as a worker thread would run it: each piece of work is queued and done
 * `delay` steps later (in call order), when the simulator {@link drain}s it. With no delay,
 * work is done at once, inside the call.
 */
export class DelayedStateMachine implements AsyncStateMachine<
  AppliedResult,
  KvQuery,
  KvReadResult
> {
  private readonly queue: { readonly at: number; readonly run: () => void }[] = [];

  constructor(
    readonly recording: RecordingStateMachine,
    private readonly delay: number,
    private readonly now: () => number,
  ) {}

  startApply(commands: readonly AppliedCommand[], done: Callback<AppliedResult[]>): void {
    this.later(() => this.recording.apply(commands), done);
  }

  startQuery(q: KvQuery, done: Callback<KvReadResult>): void {
    this.later(() => this.recording.query(q), done);
  }

  startSnapshot(done: Callback<Uint8Array>): void {
    this.later(() => this.recording.snapshot(), done);
  }

  startRestore(data: Uint8Array, done: Callback<void>): void {
    this.later(() => this.recording.restore(data), done);
  }

  /** Finishes the queued work that is due, oldest first. */
  drain(): void {
    while (this.queue.length > 0 && (this.queue[0]?.at ?? Infinity) <= this.now()) {
      this.queue.shift()?.run();
    }
  }

  private later<T>(work: () => T, done: Callback<T>): void {
    const run = () => {
      let value: T;
      try {
        value = work();
      } catch (err) {
        // A broken invariant stops the run; it is not the state machine's error to report.
        if (err instanceof SimFailure) throw err;
        done(err as Error);
        return;
      }
      done(null, value);
    };
    if (this.delay === 0 && this.queue.length === 0) return run();
    const last = this.queue.at(-1)?.at ?? 0;
    this.queue.push({ at: Math.max(last, this.now() + this.delay), run });
  }
}

/**
 * The member's storage with its fsync done `delay` steps after it is asked for, as a disk's
 * would be off the event loop: the sync really happens then (a crash before loses the
 * records it was for), and its callback runs from the simulator's {@link drain}.
 */
export class DelayedSyncStorage {
  private readonly queue: { readonly at: number; readonly run: () => void }[] = [];

  constructor(
    readonly inner: DurableStorage,
    private readonly delay: number,
    private readonly now: () => number,
  ) {}

  load = () => this.inner.load();
  saveHardState = (hs: Parameters<DurableStorage['saveHardState']>[0]) =>
    this.inner.saveHardState(hs);
  append = (entries: Parameters<DurableStorage['append']>[0]) => this.inner.append(entries);
  installSnapshot = (snap: Snapshot) => this.inner.installSnapshot(snap);
  saveSnapshot = (snap: Snapshot) => this.inner.saveSnapshot(snap);
  compact = (index: number) => this.inner.compact(index);
  sync = () => this.inner.sync();

  syncInBackground(done: (error: Error | null) => void): void {
    this.queue.push({
      at: this.now() + this.delay,
      // A power cut inside the sync propagates from drain(), and crashes the member there.
      run: () => {
        this.inner.sync();
        done(null);
      },
    });
  }

  /** Finishes the syncs that are due, oldest first. */
  drain(): void {
    while (this.queue.length > 0 && (this.queue[0]?.at ?? Infinity) <= this.now()) {
      this.queue.shift()?.run();
    }
  }
}

/** One member of the simulated cluster, across its runs (restarts) and wipes. */
export interface SimNode {
  readonly id: NodeId;
  /** Replaced by an empty disk when the member is wiped. */
  fs: SimFileSystem;
  /** Wiped: starts with no voters and learns the membership from the leader (`join`). */
  joiner: boolean;
  /** Refused to start on corrupt storage: stays down until it is removed and wiped. */
  heldDown: boolean;
  /** A flipped bit waits in its WAL: its next start must refuse (what was flipped, for the trace). */
  corruptedAt: string | null;
  /** The votes it granted, by term, since its disk was last wiped. */
  readonly votes: Map<number, NodeId>;
  /** No ticks before this step (see stallChance). */
  tickStalledUntil: number;
  /**
   * Forwarded reads this member received while leading and has not answered: context →
   * the step it came. When it stops leading it must answer each (a refusal), see checkHeldReads.
   */
  heldReads: Map<string, number>;
  /** The step by which a former leader must have answered its held reads; -1: none due. */
  heldReadsDue: number;
  /** The commit index last seen while leader, in the term it led. */
  leaderCommit: { term: number; commit: number };
  host: SimHost | null;
  sm: DelayedStateMachine | null;
  storage: DelayedSyncStorage | null;
  pausedUntil: number;
  downUntil: number;
  tickPhase: number;
  /**
   * Steps between this member's ticks. Some members' clocks run slow: a leader with a slow
   * clock notices late that it lost its quorum, which is exactly when reads must still be
   * confirmed by a quorum (ReadIndex), not served from a belief of leadership.
   */
  stepsPerTick: number;
  wasLeaderInTerm: number;
}

/** The host every simulated member runs. */
export type SimHost = RaftHost<AppliedResult, KvQuery, KvReadResult>;

export function isUp(node: SimNode): boolean {
  return node.host !== null;
}

/** Stops a member's run; its disk stays as it is. */
export function stopMember(node: SimNode): void {
  // What a stopped member held is lost with it: a loss the readers' timeouts cover.
  node.heldReads.clear();
  node.heldReadsDue = -1;
  node.host?.close();
  node.sm?.recording.inner.close();
  node.host = null;
  node.sm = null;
  node.storage = null;
}
