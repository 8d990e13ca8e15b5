import { randomBytes } from 'node:crypto';
import { bootstrapEntry, decodeConfChange } from '../core/conf-change.js';
import { RaftError, ProposalDroppedError } from '../core/errors.js';
import { RaftCore, type RaftConfig } from '../core/raft.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  Ready,
  Snapshot,
  SoftState,
  Status,
} from '../core/types.js';

/**
 * The replicated state machine. `apply` must be deterministic: the same commands in the
 * same order yield the same results and the same `snapshot()` bytes on every member, so
 * nothing in it may read clocks, randomness or the environment.
 */
export interface StateMachine<Result, Query, QueryResult> {
  /** Applies committed commands in log order; returns one result per command. */
  apply(commands: readonly AppliedCommand[]): Result[];
  /** A self-contained image of the current state. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's image. */
  restore(data: Uint8Array): void;
  /** Answers a read against the current state; must not change it. */
  query(q: Query): QueryResult;
}

/**
 * A {@link StateMachine} that does its work elsewhere (a worker thread), so that however
 * long an apply or a query takes, the member's event loop keeps ticking, voting, appending
 * and syncing. Every call hands work over and returns at once; its `done` runs later (or at
 * once), and the `done`s of all calls run **in the order of the calls**: a query started
 * after an apply sees that apply's effects, a snapshot taken after it contains them. An
 * error given to an apply's, snapshot's or restore's `done` means the state machine can no
 * longer be trusted: the member stops, as when a synchronous `apply` throws.
 */
export interface AsyncStateMachine<Result, Query, QueryResult> {
  startApply(commands: readonly AppliedCommand[], done: Callback<Result[]>): void;
  startQuery(q: Query, done: Callback<QueryResult>): void;
  startSnapshot(done: Callback<Uint8Array>): void;
  startRestore(data: Uint8Array, done: Callback<void>): void;
}

/** Whether a state machine is an {@link AsyncStateMachine}. */
export function isAsyncStateMachine<R, Q, QR>(
  sm: StateMachine<R, Q, QR> | AsyncStateMachine<R, Q, QR>,
): sm is AsyncStateMachine<R, Q, QR> {
  return 'startApply' in sm;
}

/**
 * A synchronous state machine driven through the asynchronous interface: each call does its
 * work and runs its `done` before returning. The simulator and in-process tests use it, so
 * they go through the same completion path as members whose machine runs in a worker.
 */
export function inlineStateMachine<R, Q, QR>(
  sm: StateMachine<R, Q, QR>,
): AsyncStateMachine<R, Q, QR> {
  const run = <T>(work: () => T, done: Callback<T>): void => {
    let value: T;
    try {
      value = work();
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    done(null, value);
  };
  return {
    startApply: (commands, done) => run(() => sm.apply(commands), done),
    startQuery: (q, done) => run(() => sm.query(q), done),
    startSnapshot: (done) => run(() => sm.snapshot(), done),
    startRestore: (data, done) => run(() => sm.restore(data), done),
  };
}

export interface AppliedCommand {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}

/** What the host needs from durable storage (see raft/storage for the real one). */
export interface HostStorage {
  load(): { hardState: HardState; snapshot: Snapshot | null; entries: Entry[] };
  saveHardState(hs: HardState): void;
  append(entries: readonly Entry[]): void;
  installSnapshot(snap: Snapshot): void;
  saveSnapshot(snap: Snapshot): void;
  /**
   * saveSnapshot without blocking: true once the snapshot is durable and the newest, false
   * when it is no longer wanted (a newer one was installed, or the storage closed).
   */
  saveSnapshotInBackground?(snap: Snapshot): Promise<boolean>;
  /**
   * installSnapshot without blocking: resolves once the snapshot (and the log's reset to it)
   * is durable. Nothing else is written meanwhile (the host defers its inputs, as during a
   * background sync). A rejection is a storage failure.
   */
  installSnapshotInBackground?(snap: Snapshot): Promise<void>;
  compact(index: number): void;
  sync(): void;
  /**
   * `sync` without blocking: `done` runs once everything appended so far is durable, always
   * after this returns (never inside it). Nothing else is written meanwhile.
   */
  syncInBackground?(done: (error: Error | null) => void): void;
}

export interface HostOptions<R, Q, QR> {
  readonly raft: RaftConfig;
  readonly storage: HostStorage;
  /**
   * The replicated state machine. A synchronous one applies inside `process()`; an
   * {@link AsyncStateMachine} (a worker) applies while the member goes on: `applied` then
   * trails `commit`, reads wait for the state machine to reach their index, and proposals
   * are refused as `busy` while it trails by more than {@link maxApplyLag} entries.
   */
  readonly stateMachine: StateMachine<R, Q, QR> | AsyncStateMachine<R, Q, QR>;
  /**
   * Most committed entries the state machine may trail by before the leader refuses new
   * proposals (`busy`, retryable): a slow machine must slow clients down, not fill memory.
   * Default 4096.
   */
  readonly maxApplyLag?: number;
  /**
   * Membership for a brand-new cluster: with voters, a member whose storage is empty writes
   * it as the first log entry (`bootstrapEntry`), identical on every founding member; with
   * none, the member is joining and learns the membership from the leader's log. For a log
   * written before that entry existed, it is the membership until the first snapshot.
   */
  readonly bootstrap: ConfState;
  /**
   * Tells this run of the member apart from its earlier ones in its read requests, whose
   * answers a leader may still send after a restart. Default: 64 random bits. The simulator
   * gives its own, to stay deterministic.
   */
  readonly incarnation?: string;
  /**
   * Hands messages to the network; must not block. Called after persisting, except for a
   * leader's appends, heartbeats and snapshot chunks, which go out first (see persist).
   */
  readonly send: (messages: readonly Message[]) => void;
  /**
   * Pushes messages handed to `send` onto the wire at once, if the network batches them;
   * called after a leader's replication is sent and before it blocks in fsync.
   */
  readonly flush?: () => void;
  /**
   * Take a snapshot after this many applied entries (0 disables). A snapshot pauses the
   * member while its state machine is copied (and written, without `background`), so members
   * take theirs at different points ({@link snapshotPhase}), and a leader puts its own off
   * while it leads, up to twice this many entries: a paused follower costs nothing, a paused
   * leader costs every client a wait or an election.
   */
  readonly snapshotEvery?: number;
  /**
   * Where in the `snapshotEvery` cycle this member snapshots, in entries: a member snapshots
   * when its applied index crosses a multiple of `snapshotEvery` shifted by this. Give each
   * member a different phase, so that a majority is never paused at once. Default 0.
   */
  readonly snapshotPhase?: number;
  /**
   * Take a snapshot also once the entries handed to the state machine since the last one
   * hold this many bytes, or half as many as the last snapshot's image if that is more (0 or
   * absent: by count only). The count alone bounds the log a member keeps in memory by
   * entries, which is no bound at all when entries are large (an import's chunks); this
   * bounds it by size. Measured against the image, a snapshot is never taken before the log
   * behind it has grown to half the state it would write, so writing snapshots costs at most
   * about two bytes written per byte of log, however large the state. Half, not all of it:
   * the log waiting for a snapshot is most of what a DB member's memory swings by (with the
   * whole image, a 30-minute soak saw members climb 200 → 270 MiB over ten minutes and
   * drop at each snapshot). The phase shifts the threshold as it shifts the count's grid,
   * and a leader waits for twice it.
   */
  readonly snapshotBytes?: number;
  /** Entries kept in the log behind a snapshot for slow followers. */
  readonly snapshotRetain?: number;
  /**
   * Given, with a storage that can `saveSnapshotInBackground`, a local snapshot's file is
   * written and synced while the member goes on working (at 100 MB that took 60-300 ms), and
   * the log is compacted once it is durable; one snapshot at a time. The runtime gets the
   * work here: it must treat a rejection as a storage failure, and call `process()` once the
   * work settles. Without it (the simulator), snapshots are saved synchronously.
   */
  readonly background?: (work: Promise<void>) => void;
  /**
   * With a storage that can `syncInBackground`, a Ready's fsync runs off the event loop: the
   * rest of that Ready (acknowledgements and votes, applies, advance) waits for it, and so do
   * the core's inputs that arrive meanwhile (messages, ticks, proposals, reads), which the
   * core takes, in order, once the Ready is advanced. The event loop is free during the
   * fsync — a leader goes on receiving, a follower decoding, both answering clients — instead
   * of stalling for it (2-20 ms each on a loaded disk, up to 100 ms seen). `onBackgroundSync`
   * then runs, with the error that must stop the member, if any. With a storage that can
   * `installSnapshotInBackground`, a snapshot from the leader is written the same way (a
   * 137 MB one stalled a member for 4-12 s), and the Ready's entries are appended after it.
   */
  readonly syncInBackground?: boolean;
  /**
   * After the work that follows a background fsync (see {@link syncInBackground}): null, or
   * the failure (the fsync's, or one met finishing the Ready) that must stop the member. A
   * runtime processes the host again after it, as after any input.
   */
  readonly onBackgroundSync?: (error: Error | null) => void;
  /**
   * A follower holds committed entries back until this many are waiting, or until its next
   * tick, and applies them as one batch: a few large state machine transactions instead of
   * one per append (about 15 % of a DB member's CPU under load). Nothing waits on a
   * follower's apply except its own reads, which apply what is held first; a member applies
   * everything at once when it stops being a follower. 0 (the default) applies at once.
   */
  readonly followerApplyBatch?: number;
  /**
   * Reads answered in one `process()` round stop once they have taken this long (by `clock`);
   * the rest wait for the next round ({@link RaftHost.hasServableReads}). A burst of expensive
   * reads then cannot keep the member from its heartbeats for longer than this: 64 group
   * agendas at once took a leader half a second and cost it its leadership. Default: no bound.
   */
  readonly readBudgetMs?: number;
  /** Milliseconds for `readBudgetMs`; required with it. */
  readonly clock?: () => number;
  /**
   * Told how long each fsync of appended entries took, and how long each batch of committed
   * entries took from being handed to the state machine to being applied (queueing in a
   * worker included), in milliseconds by `clock`, which is required with it.
   */
  readonly observe?: {
    synced(ms: number): void;
    applied(ms: number, entries: number): void;
  };
  readonly onSoftState?: (s: SoftState) => void;
  readonly onConfChange?: (cc: ConfChange, conf: ConfState) => void;
  /** A snapshot was taken locally (`taken`) or installed from the leader (`installed`). */
  readonly onSnapshot?: (snap: Snapshot, how: 'taken' | 'installed') => void;
}

export type Callback<T> = (err: Error | null, value?: T) => void;

/** Counters of the host's work since it started, for operators and benchmarks. */
export interface HostMetrics {
  /** Ready rounds handled. */
  readonly readies: number;
  /** Rounds that appended entries (each is one fsync). */
  readonly syncedAppends: number;
  readonly entriesAppended: number;
  readonly messagesSent: number;
  readonly entriesApplied: number;
  readonly readsServed: number;
  readonly snapshotsTaken: number;
  /** Committed entries the state machine has not finished applying. */
  readonly applyBacklog: number;
}

interface PendingProposal<R> {
  readonly term: number;
  readonly done: Callback<R>;
}

interface PendingRead<Q, QR> {
  readonly query: Q;
  readonly done: Callback<QR>;
}

/** Work handed to the state machine, finished in the order it was handed over. */
type ApplyJob<R> =
  | {
      readonly kind: 'entries';
      readonly entries: readonly Entry[];
      /** When it was handed over, by the `observe` clock (0 without one). */
      readonly since: number;
      /** One per command entry (normal, non-empty), once the state machine answered. */
      results: R[] | null;
    }
  | {
      readonly kind: 'restore';
      readonly snapshot: Snapshot;
      /** The member's own snapshot, read back at start (not news to report). */
      readonly recovered: boolean;
      results: R[] | null;
    };

/** The applied index once a job is done. */
function lastIndexOf<R>(job: ApplyJob<R>): number {
  return job.kind === 'restore' ? job.snapshot.meta.index : (job.entries.at(-1)?.index ?? 0);
}

const DEFAULT_MAX_APPLY_LAG = 4096;
/** What an entry costs in memory beside its data (index, term, type, the object): a guess. */
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * Drives a {@link RaftCore} against storage, a network and a state machine, in the order
 * the Ready contract requires: send the leader's replication, persist (one fsync per batch),
 * send the rest, then hand committed entries to the state machine, then advance. It owns no
 * timers or sockets: the real runtime and the simulator both call `tick`, `receive` and
 * `process`, so the simulator exercises exactly this code.
 *
 * The state machine may finish its work later ({@link AsyncStateMachine}): `submitted` is
 * the last index handed to it, `applied` the last it finished. Consensus never waits for
 * it — a proposal resolves when its entry is applied, a read is started once the state
 * machine has been handed everything up to the read's index (its queue runs in order), and
 * local snapshots are images of the state machine at `submitted` when they are asked for.
 *
 * Reads are batched: every read queued while a ReadIndex round is in flight shares the next
 * round, so a burst of reads costs one heartbeat round, not one each.
 */
export class RaftHost<R, Q, QR> {
  readonly core: RaftCore;
  private readonly storage: HostStorage;
  private readonly sm: AsyncStateMachine<R, Q, QR>;
  private readonly opts: HostOptions<R, Q, QR>;
  private readonly pending = new Map<number, PendingProposal<R>>();
  private readQueue: PendingRead<Q, QR>[] = [];
  private readonly readsInFlight = new Map<string, PendingRead<Q, QR>[]>();
  /** Read batches whose index is known, waiting for the state machine to catch up. */
  private readsAwaitingApply: { index: number; reads: PendingRead<Q, QR>[] }[] = [];
  private readCounter = 0;
  /** Prefix of this run's read contexts (see HostOptions.incarnation). */
  private readonly readPrefix: string;
  private appliedConfChanges: Entry[] = [];
  private readonly counters = {
    readies: 0,
    syncedAppends: 0,
    entriesAppended: 0,
    messagesSent: 0,
    entriesApplied: 0,
    readsServed: 0,
    snapshotsTaken: 0,
  };
  /** Handed to the state machine and not yet finished, oldest first. */
  private jobs: ApplyJob<R>[] = [];
  /** The last index handed to the state machine (entries, or a restored snapshot). */
  private submitted: number;
  /** The last index the state machine finished applying. */
  private applied: number;
  private snapshotIndex: number;
  private closed = false;
  /** The state machine failed; the next call into the host throws it (the member stops). */
  private failure: Error | null = null;
  /** Committed entries a follower has not applied yet (see followerApplyBatch). */
  private held: Entry[] = [];
  private role: SoftState['role'] = 'follower';
  /** A local snapshot is being taken or written (one at a time). */
  private snapshotInFlight = false;
  /**
   * A Ready whose snapshot is being installed or whose entries are being synced in the
   * background (see HostOptions.syncInBackground). `since`: when the entries' fsync started,
   * by the `observe` clock; null while the snapshot is installed, or when there are none.
   */
  private syncing: {
    readonly rd: Ready;
    readonly late: readonly Message[];
    readonly readsUntil: number;
    readonly since: number | null;
  } | null = null;
  /**
   * Inputs for the core that came while `syncing`, in arrival order: the core takes none
   * between ready() and advance(). `drop` answers what cannot run (the member stopped).
   */
  private deferred: { readonly run: () => void; readonly drop: () => void }[] = [];
  /** Bytes of the entries handed to the state machine, ever (see `snapshotBytes`). */
  private bytesSubmitted = 0;
  /** `bytesSubmitted` where the state the last snapshot holds ends. */
  private bytesAtSnapshot = 0;
  /** `bytesSubmitted` when the snapshot being taken was asked for. */
  private bytesAtSnapshotStart = 0;
  /** The size of the last snapshot's image, taken, installed or recovered. */
  private lastImageBytes = 0;

  constructor(opts: HostOptions<R, Q, QR>) {
    this.opts = opts;
    this.storage = opts.storage;
    this.sm = isAsyncStateMachine(opts.stateMachine)
      ? opts.stateMachine
      : inlineStateMachine(opts.stateMachine);
    const recovered = RaftHost.recover(opts.storage, opts.bootstrap);
    this.readPrefix = `${opts.raft.id}.${opts.incarnation ?? randomBytes(8).toString('hex')}.`;
    this.applied = 0;
    this.submitted = 0;
    this.snapshotIndex = recovered.snapshot?.meta.index ?? 0;
    this.lastImageBytes = recovered.snapshot?.data.length ?? 0;
    if (recovered.snapshot) this.restoreStateMachine(recovered.snapshot, true);
    this.core = new RaftCore(opts.raft, {
      hardState: recovered.hardState,
      snapshot: recovered.snapshot,
      entries: recovered.entries,
      conf: opts.bootstrap,
    });
    this.throwIfFailed();
  }

  /**
   * Loads storage; a founding member's empty storage first gets the founding membership as
   * its first entry, durable before the member says anything. (A crash before that entry is
   * durable leaves storage empty, and the next start writes the same entry again.)
   */
  private static recover(
    storage: HostStorage,
    bootstrap: ConfState,
  ): ReturnType<HostStorage['load']> {
    const recovered = storage.load();
    const fresh =
      recovered.snapshot === null &&
      recovered.entries.length === 0 &&
      recovered.hardState.term === 0;
    if (!fresh || bootstrap.voters.length === 0) return recovered;
    const first = bootstrapEntry(bootstrap);
    storage.append([first]);
    storage.sync();
    return { ...recovered, entries: [first] };
  }

  tick(): void {
    if (this.closed) return;
    this.throwIfFailed();
    if (this.defer(() => this.tick())) return;
    this.applyHeld();
    this.core.tick();
  }

  receive(m: Message): void {
    if (this.closed || this.defer(() => this.receive(m))) return;
    this.core.step(m);
  }

  /** The transport lost its connection to `peer` (see `RaftCore.peerUnreachable`). */
  peerUnreachable(peer: NodeId): void {
    if (this.closed || this.defer(() => this.peerUnreachable(peer))) return;
    this.core.peerUnreachable(peer);
  }

  /** Asks the leader to hand leadership to `target` (see `RaftCore.transferLeadership`). */
  transferLeadership(target: NodeId): void {
    if (this.closed) return;
    // Asked during a background sync, its refusal (not the leader, not a voter) has nobody
    // to go to: it is dropped, as a transfer the leader gave up on would be.
    const later = () => {
      try {
        this.core.transferLeadership(target);
      } catch (error) {
        if (!(error instanceof RaftError) || error.code === 'invariant_violated') throw error;
      }
    };
    if (this.defer(later)) return;
    this.core.transferLeadership(target);
  }

  /**
   * Proposes a command; `done` runs once it is applied (with the state machine's result) or
   * when it certainly will not be (NotLeader, ProposalDropped, `busy` while the state
   * machine trails too far), or with `outcome_unknown` when this member can no longer tell.
   */
  propose(data: Uint8Array, done: Callback<R>): void {
    if (this.closed) return done(new RaftError('stopped', 'the member is shutting down'));
    if (data.length === 0) return done(new RaftError('invariant_violated', 'empty command'));
    if (this.defer(() => this.propose(data, done), done)) return;
    const lag = this.submitted + this.held.length - this.applied;
    const maxLag = this.opts.maxApplyLag ?? DEFAULT_MAX_APPLY_LAG;
    if (lag > maxLag) {
      return done(
        new RaftError(
          'busy',
          `the state machine is ${lag} entries behind (at most ${maxLag}); retry shortly`,
        ),
      );
    }
    let at: { index: number; term: number };
    try {
      at = this.core.propose(data);
    } catch (err) {
      return done(err as Error);
    }
    this.pending.set(at.index, { term: at.term, done });
  }

  /** Proposes a membership change; `done` runs once it is applied. */
  proposeConfChange(cc: ConfChange, done: Callback<void>): void {
    if (this.closed) return done(new RaftError('stopped', 'the member is shutting down'));
    if (this.defer(() => this.proposeConfChange(cc, done), done)) return;
    let at: { index: number; term: number };
    try {
      at = this.core.proposeConfChange(cc);
    } catch (err) {
      return done(err as Error);
    }
    this.pending.set(at.index, { term: at.term, done: (err) => done(err) });
  }

  /** A linearizable read: answered after a ReadIndex round and the state machine catching up. */
  read(query: Q, done: Callback<QR>): void {
    if (this.closed) return done(new RaftError('stopped', 'the member is shutting down'));
    this.readQueue.push({ query, done });
  }

  /**
   * A read of the state machine as it is once everything committed so far is applied:
   * possibly stale (no ReadIndex round), never blocking consensus.
   */
  readLocal(query: Q, done: Callback<QR>): void {
    if (this.closed) return done(new RaftError('stopped', 'the member is shutting down'));
    this.applyHeld();
    this.sm.startQuery(query, done);
  }

  /** The core's view, with `applied` as far as the state machine has really got. */
  status(): Status {
    return { ...this.core.status(), applied: this.applied };
  }

  metrics(): HostMetrics {
    return { ...this.counters, applyBacklog: this.submitted + this.held.length - this.applied };
  }

  /** Does all outstanding work. Call after every input (tick, message, proposal, read). */
  process(): void {
    if (this.closed) return;
    this.throwIfFailed();
    // A Ready is being synced in the background: the rest waits for it (afterSync).
    if (this.syncing) return;
    const { clock, readBudgetMs } = this.opts;
    const readsUntil =
      clock !== undefined && readBudgetMs !== undefined ? clock() + readBudgetMs : Infinity;
    this.startReadRound();
    while (this.core.hasReady()) {
      const rd = this.core.ready();
      const late = this.persist(rd, readsUntil);
      if (late === null) return;
      this.finishReady(rd, late, readsUntil);
    }
    // Reads left over by an earlier round's budget, or waiting for the state machine.
    this.serveReads(readsUntil);
    // A snapshot that came due while the last one was being taken.
    this.maybeSnapshot();
    this.throwIfFailed();
  }

  /** Fails everything pending; the member takes no further input. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const stopped = () => new RaftError('stopped', 'the member is shutting down');
    for (const p of this.pending.values())
      p.done(new RaftError('outcome_unknown', 'the member stopped before the command was applied'));
    this.pending.clear();
    for (const r of this.readQueue) r.done(stopped());
    for (const batch of this.readsInFlight.values()) for (const r of batch) r.done(stopped());
    for (const w of this.readsAwaitingApply) for (const r of w.reads) r.done(stopped());
    this.readQueue = [];
    this.readsInFlight.clear();
    this.readsAwaitingApply = [];
    this.jobs = [];
    const deferred = this.deferred;
    this.deferred = [];
    this.syncing = null;
    for (const input of deferred) input.drop();
  }

  /**
   * While a Ready is synced in the background, queues `input` for after it (true); otherwise
   * false, and the caller goes on. `done` is failed if the member stops before it runs.
   */
  private defer(input: () => void, done?: Callback<never>): boolean {
    if (this.syncing === null) return false;
    this.deferred.push({
      run: input,
      drop: () => done?.(new RaftError('stopped', 'the member is shutting down')),
    });
    return true;
  }

  private observing(): boolean {
    return this.opts.observe !== undefined && this.opts.clock !== undefined;
  }

  private now(): number {
    return this.opts.clock?.() ?? 0;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * Steps 0-2 of a Ready: the hard state, the leader's replication, the snapshot, the entries
   * and their fsync. Null when the snapshot's install or the fsync was started in the
   * background: {@link afterInstall} and {@link afterSync} do the rest; otherwise the Ready is
   * durable and {@link finishReady} may go on at once with the messages that had to wait for it.
   */
  private persist(rd: Ready, readsUntil: number): Message[] | null {
    this.counters.readies++;
    if (rd.softState) this.role = rd.softState.role;
    // 0. The hard state goes first: no message may leave before the term it carries is
    //    stored (a leader restarted with an older term could lead that term again, with
    //    other entries), and no stored entry may be newer than the stored term. It is rare
    //    on a leader (a new term, a configuration entry), so the overlap below stays.
    if (rd.hardState) this.storage.saveHardState(rd.hardState);
    // 1. A leader's replication goes out before its own fsync, so the followers' fsyncs
    //    overlap it (Raft thesis §10.2.1). This is safe because the leader counts a follower's
    //    acknowledgement only in a later round, after this one's fsync has returned, and
    //    counts its own copy only once that fsync is done (RaftCore.advance).
    const [early, late] = splitLeaderReplication(rd.messages);
    if (early.length > 0) {
      this.counters.messagesSent += early.length;
      this.opts.send(early);
      if (rd.entries.length > 0) this.opts.flush?.();
    }
    // 2. Persist the rest: one fsync for the batch (a snapshot from the leader is durable
    //    before its entries are appended: they follow the log's reset to it).
    if (rd.snapshot) {
      if (this.opts.syncInBackground === true && this.storage.installSnapshotInBackground) {
        // Like a background fsync: the core's inputs wait, the event loop does not.
        this.syncing = { rd, late, readsUntil, since: null };
        this.storage.installSnapshotInBackground(rd.snapshot).then(
          () => this.afterInstall(),
          (error: unknown) =>
            this.afterSync(error instanceof Error ? error : new Error(String(error))),
        );
        return null;
      }
      this.storage.installSnapshot(rd.snapshot);
    }
    return this.persistEntries(rd, late, readsUntil) ? null : late;
  }

  /**
   * Appends a Ready's entries and syncs them. True when the fsync was started in the
   * background ({@link afterSync} finishes the Ready); false when the entries are durable.
   */
  private persistEntries(rd: Ready, late: readonly Message[], readsUntil: number): boolean {
    if (rd.entries.length === 0) return false;
    this.storage.append(rd.entries);
    this.counters.syncedAppends++;
    this.counters.entriesAppended += rd.entries.length;
    const before = this.observing() ? this.now() : 0;
    if (this.opts.syncInBackground === true && this.storage.syncInBackground !== undefined) {
      this.syncing = { rd, late, readsUntil, since: before };
      this.storage.syncInBackground((error) => this.afterSync(error));
      return true;
    }
    this.storage.sync();
    if (this.observing()) this.opts.observe?.synced(this.now() - before);
    return false;
  }

  /**
   * A background install is durable: the Ready's entries go after it (their fsync in the
   * background too), and the Ready is finished once they are durable, as after a background
   * fsync. The member stopped meanwhile: nothing more.
   */
  private afterInstall(): void {
    const syncing = this.syncing;
    if (this.closed || syncing === null) return;
    try {
      if (this.persistEntries(syncing.rd, syncing.late, syncing.readsUntil)) return;
    } catch (caught) {
      this.afterSync(caught instanceof Error ? caught : new Error(String(caught)));
      return;
    }
    this.afterSync(null);
  }

  /** The rest of a durable Ready (steps 3-4), its advance, and what that makes due. */
  private finishReady(rd: Ready, late: readonly Message[], readsUntil: number): void {
    this.completeReady(rd, late);
    this.core.advance(rd);
    this.throwIfFailed();
    this.reportConfChanges();
    this.serveReads(readsUntil);
    this.maybeSnapshot();
  }

  /**
   * A background fsync (or install) is done: the Ready it was for is finished, the inputs that
   * came meanwhile go to the core, and the host is processed again (which may start the next
   * Ready's fsync). What fails here stops the member, through `onBackgroundSync`.
   */
  private afterSync(error: Error | null): void {
    const syncing = this.syncing;
    if (this.closed || syncing === null) return;
    let failure = error;
    if (failure === null) {
      try {
        if (syncing.since !== null && this.observing()) {
          this.opts.observe?.synced(this.now() - syncing.since);
        }
        this.syncing = null;
        this.finishReady(syncing.rd, syncing.late, syncing.readsUntil);
        const inputs = this.deferred;
        this.deferred = [];
        for (const input of inputs) input.run();
        this.process();
      } catch (caught) {
        failure = caught instanceof Error ? caught : new Error(String(caught));
      }
    }
    if (failure !== null) this.failure ??= failure;
    this.opts.onBackgroundSync?.(failure);
  }

  /** Steps 3-4 of a durable Ready: what may go out now, and the applies. */
  private completeReady(rd: Ready, late: readonly Message[]): void {
    // 3. Send the rest: only now may others rely on what we persisted (a vote, an ack).
    if (late.length > 0) {
      this.counters.messagesSent += late.length;
      this.opts.send(late);
    }
    // 4. Apply (a follower may hold entries back, see followerApplyBatch).
    if (rd.snapshot) {
      const covered = rd.snapshot.meta.index;
      this.held = this.held.filter((e) => e.index > covered);
      this.installSnapshot(rd.snapshot);
    }
    const batch = this.opts.followerApplyBatch ?? 0;
    if (this.role !== 'follower' || batch <= 0) {
      this.applyHeld();
      if (rd.committedEntries.length > 0) this.applyEntries(rd.committedEntries);
    } else if (rd.committedEntries.length > 0) {
      let membership = false;
      for (const e of rd.committedEntries) {
        this.held.push(e);
        membership ||= e.type === 'conf';
      }
      // Membership changes are reported as soon as they apply, not a tick later.
      if (membership || this.held.length >= batch) this.applyHeld();
    }
    if (rd.softState) {
      if (rd.softState.role !== 'leader') this.failForwardedReads();
      this.opts.onSoftState?.(rd.softState);
    }
    for (const rs of rd.readStates) {
      const reads = this.readsInFlight.get(rs.context);
      if (!reads) continue;
      this.readsInFlight.delete(rs.context);
      this.readsAwaitingApply.push({ index: rs.index, reads });
    }
    for (const ctx of rd.failedReads) {
      const reads = this.readsInFlight.get(ctx);
      if (!reads) continue;
      this.readsInFlight.delete(ctx);
      for (const r of reads)
        r.done(new RaftError('no_leader', 'leadership changed during the read; retry'));
    }
  }

  /** Applies the committed entries a follower held back, if any. */
  private applyHeld(): void {
    if (this.held.length === 0) return;
    const entries = this.held;
    this.held = [];
    this.applyEntries(entries);
  }

  /** A snapshot from the leader replaces the state machine's state (after what it was given). */
  private installSnapshot(snap: Snapshot): void {
    this.snapshotIndex = snap.meta.index;
    this.bytesAtSnapshot = this.bytesSubmitted;
    this.lastImageBytes = snap.data.length;
    this.restoreStateMachine(snap, false);
    // Our own proposals inside the snapshot may or may not be in it: we cannot tell.
    for (const [index, p] of this.pending) {
      if (index > snap.meta.index) continue;
      this.pending.delete(index);
      p.done(
        new RaftError('outcome_unknown', 'replaced by a snapshot before the outcome was known'),
      );
    }
  }

  private restoreStateMachine(snap: Snapshot, recovered: boolean): void {
    const job: ApplyJob<R> = { kind: 'restore', snapshot: snap, recovered, results: null };
    this.enqueue(job);
    this.sm.startRestore(snap.data, (err) => this.finish(job, err, []));
  }

  private applyEntries(entries: readonly Entry[]): void {
    const commands: AppliedCommand[] = [];
    for (const e of entries) {
      this.bytesSubmitted += e.data.length + ENTRY_OVERHEAD_BYTES;
      if (e.type === 'normal' && e.data.length > 0) {
        commands.push({ index: e.index, term: e.term, data: e.data });
      }
      // Membership is the core's business and is already in force; it is reported now.
      if (e.type === 'conf') this.appliedConfChanges.push(e);
    }
    const since = this.observing() ? this.now() : 0;
    const job: ApplyJob<R> = { kind: 'entries', entries, since, results: null };
    this.enqueue(job);
    if (commands.length === 0) this.finish(job, null, []);
    else this.sm.startApply(commands, (err, results) => this.finish(job, err, results));
  }

  private enqueue(job: ApplyJob<R>): void {
    this.jobs.push(job);
    this.submitted = lastIndexOf(job);
  }

  /** A job's answer: jobs finish in order, so everything before it is done too. */
  private finish(job: ApplyJob<R>, err: Error | null, results: R[] | undefined): void {
    if (this.closed) return;
    if (err) {
      this.failure ??= err;
      return;
    }
    job.results = results ?? [];
    while (this.jobs[0]?.results) {
      const done = this.jobs.shift();
      if (done) this.completed(done);
    }
  }

  private completed(job: ApplyJob<R>): void {
    if (job.kind === 'restore') {
      this.applied = job.snapshot.meta.index;
      if (!job.recovered) this.opts.onSnapshot?.(job.snapshot, 'installed');
      return;
    }
    const results = job.results ?? [];
    this.counters.entriesApplied += job.entries.length;
    if (this.observing()) this.opts.observe?.applied(this.now() - job.since, job.entries.length);
    let next = 0;
    for (const e of job.entries) {
      let result: R | undefined;
      if (e.type === 'normal' && e.data.length > 0) result = results[next++];
      const p = this.pending.get(e.index);
      if (p) {
        this.pending.delete(e.index);
        if (p.term === e.term) p.done(null, result);
        else p.done(new ProposalDroppedError('another leader overwrote the proposal; retry'));
      }
      this.applied = e.index;
    }
  }

  /** Reports membership changes once the core has applied them (in advance()). */
  private reportConfChanges(): void {
    const entries = this.appliedConfChanges;
    if (entries.length === 0) return;
    this.appliedConfChanges = [];
    const conf = this.core.status().conf;
    for (const e of entries) {
      const cc = decodeConfChange(e.data);
      if (cc) this.opts.onConfChange?.(cc, conf);
    }
  }

  private startReadRound(): void {
    if (this.readQueue.length === 0) return;
    const batch = this.readQueue;
    this.readQueue = [];
    // Unique across restarts: a leader may still answer a read of an earlier run, and an
    // answer is matched to its readers by context alone.
    const context = `${this.readPrefix}${++this.readCounter}`;
    try {
      this.core.readIndex(context);
    } catch (err) {
      for (const r of batch) r.done(err as Error);
      return;
    }
    this.readsInFlight.set(context, batch);
  }

  /** Whether reads are ready to be started but were left for the next round (readBudgetMs). */
  hasServableReads(): boolean {
    return !this.closed && this.readsAwaitingApply.some((w) => w.index <= this.submitted);
  }

  /**
   * Starts the reads whose index the state machine has been given (it answers them after
   * applying that far), until the clock passes `until`.
   */
  private serveReads(until: number): void {
    if (this.readsAwaitingApply.length === 0) return;
    this.applyHeld();
    const clock = this.opts.clock;
    // At least one read per call, so reads progress even when the round's budget went on applying.
    let served = 0;
    const still: typeof this.readsAwaitingApply = [];
    for (const w of this.readsAwaitingApply) {
      if (w.index > this.submitted) {
        still.push(w);
        continue;
      }
      for (const [i, r] of w.reads.entries()) {
        if (clock !== undefined && served > 0 && clock() >= until) {
          still.push({ index: w.index, reads: w.reads.slice(i) });
          break;
        }
        served++;
        this.sm.startQuery(r.query, (err, value) => {
          if (err) return r.done(err);
          this.counters.readsServed++;
          r.done(null, value);
        });
      }
    }
    this.readsAwaitingApply = still;
  }

  /** Reads forwarded to a leader we no longer follow will never be answered. */
  private failForwardedReads(): void {
    for (const [ctx, reads] of this.readsInFlight) {
      this.readsInFlight.delete(ctx);
      for (const r of reads)
        r.done(new RaftError('no_leader', 'leadership changed during the read; retry'));
    }
  }

  private maybeSnapshot(): void {
    if (this.snapshotInFlight || !this.snapshotDue()) return;
    const index = this.submitted;
    const term = this.core.termAt(index);
    if (term === undefined) return;
    this.bytesAtSnapshotStart = this.bytesSubmitted;
    // The state machine's image once it has applied everything up to `index` (its queue
    // runs in order), with the membership in force there: the core has applied every
    // configuration entry handed over so far, and no later one.
    const meta = { index, term, conf: this.core.status().conf };
    this.snapshotInFlight = true;
    this.sm.startSnapshot((err, data) => {
      if (this.closed) return;
      if (err || data === undefined) {
        this.failure ??= err ?? new RaftError('invariant_violated', 'the snapshot has no image');
        return;
      }
      this.saveSnapshot({ meta, data });
    });
  }

  /** Whether the log since the last snapshot is long enough, by count or by size, for another. */
  private snapshotDue(): boolean {
    const every = this.opts.snapshotEvery ?? 0;
    const bytes = this.opts.snapshotBytes ?? 0;
    const phase = this.opts.snapshotPhase ?? 0;
    const leading = this.role === 'leader';
    const index = this.submitted;
    if (every > 0) {
      // Due once the handed-over index crossed a point of this member's grid since the last one.
      const crossed =
        Math.floor((index + phase) / every) > Math.floor((this.snapshotIndex + phase) / every);
      if (crossed && (!leading || index - this.snapshotIndex >= 2 * every)) return true;
    }
    if (bytes > 0) {
      const shift = every > 0 ? 1 + (phase % every) / every : 1;
      const threshold = Math.max(bytes, this.lastImageBytes / 2) * shift * (leading ? 2 : 1);
      if (this.bytesSubmitted - this.bytesAtSnapshot >= threshold) return true;
    }
    return false;
  }

  private saveSnapshot(snap: Snapshot): void {
    // A snapshot installed from the leader meanwhile makes this one useless.
    if (snap.meta.index <= this.snapshotIndex) {
      this.snapshotInFlight = false;
      return;
    }
    const { background } = this.opts;
    if (background !== undefined && this.storage.saveSnapshotInBackground !== undefined) {
      background(
        this.storage.saveSnapshotInBackground(snap).then(
          (adopted) => {
            this.snapshotInFlight = false;
            if (adopted && !this.closed && snap.meta.index > this.snapshotIndex) {
              this.compactTo(snap);
            }
          },
          (error: unknown) => {
            this.snapshotInFlight = false;
            throw error;
          },
        ),
      );
      return;
    }
    this.storage.saveSnapshot(snap);
    this.snapshotInFlight = false;
    this.compactTo(snap);
  }

  /** After a local snapshot is durable: the log before it goes, but for `snapshotRetain` entries. */
  private compactTo(snap: Snapshot): void {
    // A background snapshot may become durable while a Ready is synced: compact after it.
    const later = () => {
      if (snap.meta.index > this.snapshotIndex) this.compactTo(snap);
    };
    if (this.defer(later)) return;
    const { index } = snap.meta;
    const retain = this.opts.snapshotRetain ?? 0;
    this.core.compact(snap, retain);
    this.storage.compact(Math.max(0, index - retain));
    this.snapshotIndex = index;
    this.bytesAtSnapshot = this.bytesAtSnapshotStart;
    this.lastImageBytes = snap.data.length;
    this.counters.snapshotsTaken++;
    this.opts.onSnapshot?.(snap, 'taken');
  }
}

/**
 * Splits a Ready's messages into the leader's replication (appends, heartbeats, snapshot
 * chunks: only a leader sends these, and they promise nothing about the sender's disk) and
 * everything else (votes, acknowledgements), which must wait for the fsync.
 */
function splitLeaderReplication(messages: readonly Message[]): [Message[], Message[]] {
  const early: Message[] = [];
  const late: Message[] = [];
  for (const m of messages) {
    if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') early.push(m);
    else late.push(m);
  }
  return [early, late];
}
