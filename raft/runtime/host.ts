import { decodeConfChange } from '../core/conf-change.js';
import { RaftError, ProposalDroppedError } from '../core/errors.js';
import { RaftCore, type RaftConfig } from '../core/raft.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
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
  compact(index: number): void;
  sync(): void;
}

export interface HostOptions<R, Q, QR> {
  readonly raft: RaftConfig;
  readonly storage: HostStorage;
  readonly stateMachine: StateMachine<R, Q, QR>;
  /** Membership for a brand-new cluster (ignored once storage holds a snapshot). */
  readonly bootstrap: ConfState;
  /**
   * Hands messages to the network; must not block. Called after persisting, except for a
   * leader's appends, heartbeats and snapshot chunks, which go out first (see handleReady).
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
}

interface PendingProposal<R> {
  readonly term: number;
  readonly done: Callback<R>;
}

interface PendingRead<Q, QR> {
  readonly query: Q;
  readonly done: Callback<QR>;
}

/**
 * Drives a {@link RaftCore} against storage, a network and a state machine, in the order
 * the Ready contract requires: send the leader's replication, persist (one fsync per batch),
 * send the rest, then apply, then advance. It owns no timers or sockets: the real runtime and the simulator both call
 * `tick`, `receive` and `process`, so the simulator exercises exactly this code.
 *
 * Reads are batched: every read queued while a ReadIndex round is in flight shares the next
 * round, so a burst of reads costs one heartbeat round, not one each.
 */
export class RaftHost<R, Q, QR> {
  readonly core: RaftCore;
  private readonly storage: HostStorage;
  private readonly sm: StateMachine<R, Q, QR>;
  private readonly opts: HostOptions<R, Q, QR>;
  private readonly pending = new Map<number, PendingProposal<R>>();
  private readQueue: PendingRead<Q, QR>[] = [];
  private readonly readsInFlight = new Map<string, PendingRead<Q, QR>[]>();
  /** Read batches whose index is known, waiting for the state machine to catch up. */
  private readsAwaitingApply: { index: number; reads: PendingRead<Q, QR>[] }[] = [];
  private readCounter = 0;
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
  private applied: number;
  private snapshotIndex: number;
  private closed = false;
  /** Committed entries a follower has not applied yet (see followerApplyBatch). */
  private held: Entry[] = [];
  private role: SoftState['role'] = 'follower';
  /** A snapshot is being written in the background (see HostOptions.background). */
  private snapshotInFlight = false;

  constructor(opts: HostOptions<R, Q, QR>) {
    this.opts = opts;
    this.storage = opts.storage;
    this.sm = opts.stateMachine;
    const recovered = opts.storage.load();
    if (recovered.snapshot) this.sm.restore(recovered.snapshot.data);
    this.applied = recovered.snapshot?.meta.index ?? 0;
    this.snapshotIndex = this.applied;
    this.core = new RaftCore(opts.raft, {
      hardState: recovered.hardState,
      snapshot: recovered.snapshot,
      entries: recovered.entries,
      conf: opts.bootstrap,
    });
  }

  tick(): void {
    if (this.closed) return;
    this.applyHeld();
    this.core.tick();
  }

  receive(m: Message): void {
    if (this.closed) return;
    this.core.step(m);
  }

  /**
   * Proposes a command; `done` runs once it is applied (with the state machine's result) or
   * when it certainly will not be (NotLeader, ProposalDropped), or with `outcome_unknown`
   * when this member can no longer tell.
   */
  propose(data: Uint8Array, done: Callback<R>): void {
    if (this.closed) return done(new RaftError('stopped', 'the member is shutting down'));
    if (data.length === 0) return done(new RaftError('invariant_violated', 'empty command'));
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

  /** The core's view, with `applied` as far as the state machine has really got. */
  status(): Status {
    return { ...this.core.status(), applied: this.applied };
  }

  metrics(): HostMetrics {
    return { ...this.counters };
  }

  /** Does all outstanding work. Call after every input (tick, message, proposal, read). */
  process(): void {
    if (this.closed) return;
    const { clock, readBudgetMs } = this.opts;
    const readsUntil =
      clock !== undefined && readBudgetMs !== undefined ? clock() + readBudgetMs : Infinity;
    this.startReadRound();
    while (this.core.hasReady()) {
      const rd = this.core.ready();
      this.handleReady(rd);
      this.core.advance(rd);
      this.reportConfChanges();
      this.serveReads(readsUntil);
      this.maybeSnapshot();
    }
    // Reads left over by an earlier round's budget.
    this.serveReads(readsUntil);
    // A snapshot that came due while the last one was being written.
    this.maybeSnapshot();
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
  }

  private handleReady(rd: Ready): void {
    this.counters.readies++;
    if (rd.softState) this.role = rd.softState.role;
    // 0. A leader's replication goes out before its own fsync, so the followers' fsyncs
    //    overlap it (Raft thesis §10.2.1). This is safe because the leader counts a follower's
    //    acknowledgement only in a later round, after this one's fsync has returned.
    const [early, late] = splitLeaderReplication(rd.messages);
    if (early.length > 0) {
      this.counters.messagesSent += early.length;
      this.opts.send(early);
      if (rd.entries.length > 0) this.opts.flush?.();
    }
    // 1. Persist. The hard state goes first so no stored entry is newer than the stored term.
    if (rd.hardState) this.storage.saveHardState(rd.hardState);
    if (rd.snapshot) this.storage.installSnapshot(rd.snapshot);
    if (rd.entries.length > 0) {
      this.storage.append(rd.entries);
      this.storage.sync();
      this.counters.syncedAppends++;
      this.counters.entriesAppended += rd.entries.length;
    }
    // 2. Send the rest: only now may others rely on what we persisted (a vote, an ack).
    if (late.length > 0) {
      this.counters.messagesSent += late.length;
      this.opts.send(late);
    }
    // 3. Apply (a follower may hold entries back, see followerApplyBatch).
    if (rd.snapshot) {
      const covered = rd.snapshot.meta.index;
      this.held = this.held.filter((e) => e.index > covered);
      this.applySnapshot(rd.snapshot);
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

  private applySnapshot(snap: Snapshot): void {
    this.sm.restore(snap.data);
    this.applied = snap.meta.index;
    this.snapshotIndex = snap.meta.index;
    this.opts.onSnapshot?.(snap, 'installed');
    // Our own proposals inside the snapshot may or may not be in it: we cannot tell.
    for (const [index, p] of this.pending) {
      if (index > snap.meta.index) continue;
      this.pending.delete(index);
      p.done(
        new RaftError('outcome_unknown', 'replaced by a snapshot before the outcome was known'),
      );
    }
  }

  private applyEntries(entries: readonly Entry[]): void {
    const commands: AppliedCommand[] = [];
    for (const e of entries) {
      if (e.type === 'normal' && e.data.length > 0) {
        commands.push({ index: e.index, term: e.term, data: e.data });
      }
    }
    const results = commands.length > 0 ? this.sm.apply(commands) : [];
    this.counters.entriesApplied += entries.length;
    let next = 0;
    for (const e of entries) {
      let result: R | undefined;
      if (e.type === 'normal' && e.data.length > 0) result = results[next++];
      if (e.type === 'conf') this.appliedConfChanges.push(e);
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
    const context = `${this.core.id}.${++this.readCounter}`;
    try {
      this.core.readIndex(context);
    } catch (err) {
      for (const r of batch) r.done(err as Error);
      return;
    }
    this.readsInFlight.set(context, batch);
  }

  /** Whether reads are ready to be answered but were left for the next round (readBudgetMs). */
  hasServableReads(): boolean {
    return !this.closed && this.readsAwaitingApply.some((w) => w.index <= this.applied);
  }

  /** Answers the reads whose index is applied, until the clock passes `until`. */
  private serveReads(until: number): void {
    if (this.readsAwaitingApply.length === 0) return;
    this.applyHeld();
    const clock = this.opts.clock;
    // At least one read per call, so reads progress even when the round's budget went on applying.
    let served = 0;
    const still: typeof this.readsAwaitingApply = [];
    for (const w of this.readsAwaitingApply) {
      if (w.index > this.applied) {
        still.push(w);
        continue;
      }
      for (const [i, r] of w.reads.entries()) {
        if (clock !== undefined && served > 0 && clock() >= until) {
          still.push({ index: w.index, reads: w.reads.slice(i) });
          break;
        }
        served++;
        let value: QR;
        try {
          value = this.sm.query(r.query);
        } catch (err) {
          r.done(err as Error);
          continue;
        }
        this.counters.readsServed++;
        r.done(null, value);
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
    const every = this.opts.snapshotEvery ?? 0;
    if (every <= 0 || this.snapshotInFlight) return;
    const phase = this.opts.snapshotPhase ?? 0;
    const behind = this.applied - this.snapshotIndex;
    // Due once the applied index crossed a point of this member's grid since the last one.
    const due =
      Math.floor((this.applied + phase) / every) > Math.floor((this.snapshotIndex + phase) / every);
    if (!due || (this.role === 'leader' && behind < 2 * every)) return;
    const index = this.applied;
    const term = this.core.termAt(index);
    if (term === undefined) return;
    const snap: Snapshot = {
      meta: { index, term, conf: this.core.status().conf },
      data: this.sm.snapshot(),
    };
    const { background } = this.opts;
    if (background !== undefined && this.storage.saveSnapshotInBackground !== undefined) {
      this.snapshotInFlight = true;
      background(
        this.storage.saveSnapshotInBackground(snap).then(
          (adopted) => {
            this.snapshotInFlight = false;
            if (adopted && !this.closed) this.compactTo(snap);
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
    this.compactTo(snap);
  }

  /** After a local snapshot is durable: the log before it goes, but for `snapshotRetain` entries. */
  private compactTo(snap: Snapshot): void {
    const { index } = snap.meta;
    const retain = this.opts.snapshotRetain ?? 0;
    this.core.compact(snap, retain);
    this.storage.compact(Math.max(0, index - retain));
    this.snapshotIndex = index;
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
