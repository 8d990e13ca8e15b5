import { crc32 } from 'node:zlib';
import type { SqlJsStatic } from 'sql.js';
import { RaftError } from '../core/errors.js';
import type { ConfChange, Message, NodeId, Snapshot } from '../core/types.js';
import {
  encodeKvCommand,
  KvStateMachine,
  type KvCommand,
  type KvQuery,
  type KvReadResult,
  type KvResult,
} from '../kv/kv-state-machine.js';
import {
  RaftHost,
  type AppliedCommand,
  type AsyncStateMachine,
  type Callback,
  type StateMachine,
} from '../runtime/host.js';
import { DurableStorage } from '../storage/durable-log.js';
import { StorageCorruptError } from '../storage/errors.js';
import { SimFileSystem, SimPowerCutError } from '../storage/sim-fs.js';
import type { KvInput, KvOutput, Operation } from '../../base/history.js';
import { checkKvHistory } from '../../base/linearizability.js';
import { Rng } from '../../base/rng.js';

/** The knobs of one simulated run. Every field is derived from the seed by {@link profileFor}. */
export interface SimProfile {
  readonly nodes: number;
  /** Steps of client load with faults, then a healing phase. */
  readonly chaosSteps: number;
  readonly stepsPerTick: number;
  readonly clients: number;
  readonly keys: number;
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** Messages take 1..maxDelay steps, so they are reordered. */
  readonly maxDelay: number;
  /** Per-step chances of each fault. */
  readonly crashChance: number;
  readonly powerCutChance: number;
  readonly partitionChance: number;
  readonly pauseChance: number;
  readonly transferChance: number;
  /** Chance per step that the leader starts the next membership change of the churn cycle. */
  readonly churnChance: number;
  readonly snapshotEvery: number;
  readonly snapshotRetain: number;
  /** RaftHost's followerApplyBatch: 0 applies at once, otherwise followers batch applies. */
  readonly followerApplyBatch: number;
  /**
   * RaftHost's readBudgetMs against a clock that moves 1 ms per reading: a budget of 2 serves
   * about two reads a round and leaves the rest for later rounds. 0: no budget.
   */
  readonly readBudget: number;
  /**
   * Steps each piece of state machine work (apply, read, snapshot, restore) takes before it
   * completes, in order, as a worker thread's would: 0 completes at once. With a delay,
   * `applied` trails `commit`, reads wait for the machine, and snapshots are taken of a
   * machine that is still busy.
   */
  readonly applyDelay: number;
  /**
   * Steps a member's WAL fdatasync takes when it is done in the background
   * (`RaftHost` `syncInBackground`): 0 syncs in place. With a delay, the rest of the Ready and
   * every input that arrives meanwhile wait for it, and a crash before it is done loses what
   * it was syncing.
   */
  readonly syncDelay: number;
  /**
   * Per-step chance that the leader starts replacing a member as an operator replaces one
   * with a lost disk: remove it, wipe its disk, add it back as a learner that joins from an
   * empty log (it starts with no voters), promote it once caught up.
   */
  readonly replaceChance: number;
  /**
   * The step at which a member is replaced once early in the run, before most members (the
   * leader too) have taken any snapshot, so the joiner replays the log from the founding
   * entry; -1: never.
   */
  readonly earlyReplaceAt: number;
  /**
   * Per-step chance that the membership shrinks to the leader as its only voter with the
   * others as learners (a single-voter phase; churn grows it back later).
   */
  readonly singleVoterChance: number;
  /**
   * The membership churn may propose its next change while the previous one is still in
   * flight (a careless operator): the core must refuse it, one change at a time.
   */
  readonly concurrentChurn: boolean;
  /**
   * Chance that a member is killed just after a membership change applies, so restarts
   * happen with several changes since the member's last snapshot.
   */
  readonly confRestartChance: number;
  /**
   * Per-step chance of a quick restart (back within a few steps) of a member with a read in
   * flight, or of a voter during an election: late answers to the earlier run, and votes
   * granted by the earlier run, meet the next one.
   */
  readonly quickRestartChance: number;
  /**
   * Per-step chance of bit rot: a member is killed and one bit of a synced WAL record that
   * has valid records after it flips. It must refuse to start (`WalCorruptError`), never cut
   * the record as a torn tail; it is then replaced (wipe + rejoin as a learner).
   */
  readonly bitFlipChance: number;
  /**
   * Per-step chance that the leader's clock stalls (no ticks, everything else runs) while
   * it is cut off from the others: it believes it leads long after a new leader has
   * committed more, which only a quorum round (ReadIndex) can tell it before it serves a read.
   */
  readonly stallChance: number;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure?: string;
  /**
   * The history check's verdict (`unchecked` if the run stopped before it). Callers count a
   * run as passed only with `linearizable`, whatever `ok` says: a check that did not finish
   * proves nothing, and this keeps that rule in two places.
   */
  readonly historyVerdict: 'linearizable' | 'not_linearizable' | 'timeout' | 'unchecked';
  /** The last events before the end (or the failure), for a human to read. */
  readonly trace: readonly string[];
  readonly stats: {
    readonly steps: number;
    readonly acked: number;
    readonly unknown: number;
    readonly reads: number;
    readonly crashes: number;
    readonly partitions: number;
    readonly snapshotsInstalled: number;
    readonly leaders: number;
    readonly fsyncs: number;
    readonly commitIndex: number;
    readonly membershipChanges: number;
    /** Members wiped and re-added; of those, how many while the leader had no snapshot. */
    readonly wipes: number;
    readonly wipesBeforeLeaderSnapshot: number;
    readonly singleVoterPhases: number;
    readonly quickRestarts: number;
    /** Bit flips injected, and refusals to start on them (they must match by the end). */
    readonly bitFlips: number;
    readonly corruptionRefused: number;
  };
}

/** Derives a fault profile from a seed: some runs are calm, some brutal. */
export function profileFor(seed: number): SimProfile {
  const r = new Rng(seed ^ 0x5eed);
  const harsh = r.chance(0.5);
  return {
    nodes: r.pick([3, 5, 5, 5]),
    chaosSteps: r.int(1500, 3000),
    stepsPerTick: 4,
    clients: r.int(2, 5),
    keys: r.int(2, 6),
    dropRate: r.pick([0, 0.01, 0.05, harsh ? 0.15 : 0.02]),
    duplicateRate: r.pick([0, 0.01, 0.05]),
    maxDelay: r.pick([1, 3, 8, harsh ? 20 : 4]),
    crashChance: harsh ? 0.004 : 0.0015,
    powerCutChance: harsh ? 0.002 : 0.0005,
    partitionChance: harsh ? 0.003 : 0.001,
    pauseChance: harsh ? 0.002 : 0.0005,
    transferChance: 0.001,
    churnChance: r.pick([0, 0.002, 0.004]),
    snapshotEvery: r.pick([20, 50, 200]),
    snapshotRetain: r.pick([0, 5, 50]),
    followerApplyBatch: r.pick([0, 3, 64]),
    readBudget: r.pick([0, 2]),
    applyDelay: r.pick([0, 0, 2, 15]),
    // Drawn last, so the knobs above stay what they were for every seed.
    syncDelay: r.pick([0, 0, 1, 6]),
    // The fault classes of issue 12, drawn after everything above for the same reason.
    replaceChance: r.pick([0, 0.0004, 0.001]),
    earlyReplaceAt: r.chance(0.3) ? r.int(30, 250) : -1,
    singleVoterChance: r.pick([0, 0, 0.0005, 0.001]),
    concurrentChurn: r.chance(0.3),
    confRestartChance: r.pick([0, 0.3, 0.7]),
    quickRestartChance: r.pick([0, 0.001, 0.004]),
    bitFlipChance: r.pick([0, 0, 0.0004, 0.001]),
    stallChance: r.pick([0, 0.001, 0.002]),
  };
}

/** A broken invariant: the run stops and reports it. */
class SimFailure extends Error {}

type AppliedResult = KvResult & { readonly index: number; readonly term: number };

/** Wraps the sql.js key-value machine to report every applied command to the checker. */
class RecordingStateMachine implements StateMachine<AppliedResult, KvQuery, KvReadResult> {
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
class DelayedStateMachine implements AsyncStateMachine<AppliedResult, KvQuery, KvReadResult> {
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
class DelayedSyncStorage {
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

interface SimNode {
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
  host: RaftHost<AppliedResult, KvQuery, KvReadResult> | null;
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

interface InFlight {
  readonly op: Operation;
  readonly client: SimClient;
  readonly deadline: number;
  attempts: number;
  retryAt: number;
  /** Which attempt's callback still counts; late answers to older attempts are ignored. */
  attemptId: number;
  done: boolean;
  /** The member the current attempt went to, and when. */
  target: NodeId;
  dispatchedAt: number;
  /** {@link Simulation.readLosses} when the current attempt was sent. */
  lossMark: number;
}

interface SimClient {
  readonly id: number;
  leaderGuess: NodeId;
  current: InFlight | null;
  nextAt: number;
  counter: number;
}

interface QueuedMessage {
  readonly at: number;
  readonly seq: number;
  readonly msg: Message;
}

/** What a membership episode wants each member to be, reached one change at a time. */
type MemberRole = 'voter' | 'learner' | 'out';

interface Episode {
  readonly kind: 'remove' | 'single' | 'replace' | 'restore';
  readonly desired: Map<NodeId, MemberRole>;
  /** For `replace`: the member to remove, wipe and add back; whether it was wiped yet. */
  readonly replace?: NodeId;
  wiped?: boolean;
}

const DECODER = new TextDecoder();
const OP_DEADLINE = 400;
const HEAL_LIMIT = 4000;

/**
 * A deterministic simulation of a whole cluster: real cores, real hosts, real storage code
 * on a simulated disk and the sql.js state machine, driven by one seeded scheduler that
 * drops, delays, duplicates and reorders messages, partitions the network, pauses members,
 * crashes them (losing un-synced writes, sometimes mid-write) and restarts them, while
 * clients write and read. Safety invariants are checked as it runs; at the end the network
 * heals, the cluster must converge, every member's database must be byte-identical, and the
 * client history must be linearizable.
 */
export class Simulation {
  private readonly rng: Rng;
  private readonly netRng: Rng;
  private readonly faultRng: Rng;
  private readonly clientRng: Rng;
  private readonly electionRng: Rng;
  private finalReadKeys: string[] = [];
  private readonly nodes: SimNode[] = [];
  private readonly clients: SimClient[] = [];
  private readonly queue = new MessageHeap();
  private readonly blocked = new Set<string>();
  private partitionHealAt = -1;
  private now = 0;
  private seq = 0;
  private readonly history: Operation[] = [];
  private readonly trace: string[] = [];
  private readonly traceLimit: number;
  /** Time the linearizability check may take before the run fails as unchecked. */
  private readonly checkBudgetMs: number;
  /** index → the entry every member must have applied there. */
  private readonly applied = new Map<number, { term: number; data: string }>();
  private readonly leaders = new Map<number, NodeId>();
  private readonly snapshotDigests = new Map<number, string>();
  private readonly ackedWrites: { index: number; term: number; op: Operation }[] = [];
  private stats = {
    acked: 0,
    unknown: 0,
    reads: 0,
    crashes: 0,
    partitions: 0,
    snapshotsInstalled: 0,
  };
  private chaos = true;
  private membershipPendingSince = -1;
  /** Members whose membership change is in flight. */
  private readonly changing = new Set<NodeId>();
  private episode: Episode | null = null;
  /** A membership change just applied and a member is to be killed (confRestartChance). */
  private killAfterChange = false;
  /** Read contexts members sent, with the run (start number) that sent them. */
  private readonly readContexts = new Map<string, number>();
  /** The start number of each member's current run. */
  private readonly runOf = new Map<NodeId, number>();
  private historyVerdict: SimResult['historyVerdict'] = 'unchecked';
  /** The end of the latest clock stall (see stallChance). */
  private stalledUntil = 0;
  /** Churn waits until this step after a refused change. */
  private churnRetryAt = 0;
  /** The highest commit index any member has reported: a read started now must see it. */
  private maxCommitSeen = 0;
  /**
   * Counts everything that may leave a forwarded read unanswered in correct code: a lost
   * readIndex or readIndexResp message, and any crash. A read that waited out its deadline
   * while this did not move was dropped by the members.
   */
  private readLosses = 0;
  /** A read's query object → the commit index it must observe (see checkRead). */
  private readonly readFloor = new WeakMap<KvQuery, { required: number; op: Operation }>();
  private faultStats = {
    membershipChanges: 0,
    wipes: 0,
    wipesBeforeLeaderSnapshot: 0,
    singleVoterPhases: 0,
    quickRestarts: 0,
    bitFlips: 0,
    corruptionRefused: 0,
  };
  /** Members started so far: names each run of a member apart, deterministically. */
  private starts = 0;

  constructor(
    private readonly seed: number,
    private readonly SQL: SqlJsStatic,
    readonly profile: SimProfile = profileFor(seed),
    options: { traceLimit?: number; checkBudgetMs?: number } = {},
  ) {
    this.traceLimit = options.traceLimit ?? 300;
    this.checkBudgetMs = options.checkBudgetMs ?? 20_000;
    this.rng = new Rng(seed);
    this.netRng = this.rng.fork();
    this.faultRng = this.rng.fork();
    this.clientRng = this.rng.fork();
    this.electionRng = this.rng.fork();
    for (let i = 1; i <= profile.nodes; i++) {
      const node: SimNode = {
        id: i,
        fs: new SimFileSystem(),
        joiner: false,
        heldDown: false,
        corruptedAt: null,
        leaderCommit: { term: 0, commit: 0 },
        tickStalledUntil: 0,
        votes: new Map(),
        heldReads: new Map(),
        heldReadsDue: -1,
        host: null,
        sm: null,
        storage: null,
        pausedUntil: 0,
        downUntil: 0,
        tickPhase: this.rng.int(0, profile.stepsPerTick - 1),
        stepsPerTick: profile.stepsPerTick * this.rng.pick([1, 1, 1, 2]),
        wasLeaderInTerm: 0,
      };
      this.nodes.push(node);
      this.start(node);
    }
    for (let c = 1; c <= profile.clients; c++) {
      this.clients.push({
        id: c,
        leaderGuess: this.rng.int(1, profile.nodes),
        current: null,
        nextAt: 0,
        counter: 0,
      });
    }
  }

  run(): SimResult {
    try {
      for (; this.now < this.profile.chaosSteps; this.now++) {
        this.injectFaults();
        this.step();
      }
      this.heal();
      this.converge();
      this.finalChecks();
      return this.result(true);
    } catch (err) {
      const reason =
        err instanceof SimFailure
          ? err.message
          : `unexpected error: ${(err as Error).stack ?? String(err)}`;
      this.log(`FAILURE: ${reason}`);
      return this.result(false, reason);
    } finally {
      for (const n of this.nodes) this.stop(n);
    }
  }

  /** A digest of the whole trace, to prove that a seed replays exactly. */
  fingerprint(): string {
    let h = 0x811c9dc5;
    for (const line of this.trace) {
      for (let i = 0; i < line.length; i++) h = Math.imul(h ^ line.charCodeAt(i), 0x01000193) >>> 0;
    }
    return h.toString(16);
  }

  // ---------------------------------------------------------------------------------------
  // Members

  private start(node: SimNode): void {
    const sm = new DelayedStateMachine(
      new RecordingStateMachine(
        new KvStateMachine(this.SQL),
        (c) => this.checkApply(node.id, c),
        (q) => this.checkRead(node, q),
      ),
      this.profile.applyDelay,
      () => this.now,
    );
    const storage = new DelayedSyncStorage(
      new DurableStorage({
        fs: node.fs,
        dir: '/data',
        logger: { warn: (m) => this.log(`n${node.id} storage: ${m}`) },
      }),
      this.profile.syncDelay,
      () => this.now,
    );
    node.storage = storage;
    // A wiped member joins: no voters of its own, the membership comes from the leader's log.
    const voters = node.joiner ? [] : Array.from({ length: this.profile.nodes }, (_, i) => i + 1);
    node.sm = sm;
    let readClock = 0;
    try {
      node.host = this.newHost(node, sm, storage, voters, () => ++readClock);
    } catch (err) {
      node.sm = null;
      node.storage = null;
      sm.recording.inner.close();
      if (!(err instanceof StorageCorruptError) || node.corruptedAt === null) throw err;
      // Detected, as it must be: the member stays down until it is replaced.
      this.faultStats.corruptionRefused++;
      this.log(`n${node.id} refuses to start: ${err.message}`);
      node.corruptedAt = null;
      node.heldDown = true;
      this.beginReplace(node.id);
      return;
    }
    if (node.corruptedAt !== null) {
      throw new SimFailure(
        `n${node.id} started on a WAL with ${node.corruptedAt}: the corruption went undetected`,
      );
    }
    this.log(
      `n${node.id} started${node.joiner ? ' (joining)' : ''} (term ${node.host.status().term}, last index ${node.host.status().lastIndex})`,
    );
  }

  private runStarted(node: SimNode): number {
    this.runOf.set(node.id, ++this.starts);
    return this.starts;
  }

  private newHost(
    node: SimNode,
    sm: DelayedStateMachine,
    storage: DelayedSyncStorage,
    voters: NodeId[],
    readClock: () => number,
  ): RaftHost<AppliedResult, KvQuery, KvReadResult> {
    return new RaftHost({
      raft: {
        id: node.id,
        electionTicks: 10,
        heartbeatTicks: 2,
        random: () => this.electionRng.float(),
        maxAppendBytes: 4096,
        maxInflightMsgs: 8,
        snapshotChunkBytes: 1024,
      },
      storage,
      stateMachine: sm,
      syncInBackground: this.profile.syncDelay > 0,
      onBackgroundSync: (error) => {
        if (error !== null) throw error;
      },
      bootstrap: { voters, learners: [] },
      incarnation: `run${this.runStarted(node)}`,
      send: (msgs) => this.send(node, msgs),
      snapshotEvery: this.profile.snapshotEvery,
      snapshotPhase: (node.id * 7) % this.profile.snapshotEvery,
      snapshotRetain: this.profile.snapshotRetain,
      followerApplyBatch: this.profile.followerApplyBatch,
      ...(this.profile.readBudget > 0
        ? { readBudgetMs: this.profile.readBudget, clock: readClock }
        : {}),
      onSoftState: (s) => {
        this.log(
          `n${node.id} is ${s.role}${s.leader ? ` (leader n${s.leader})` : ''} term ${node.host?.status().term ?? '?'}`,
        );
        // Its refusals leave with this Ready, after a background fsync at the latest.
        if (s.role !== 'leader' && node.heldReads.size > 0 && node.heldReadsDue < 0)
          node.heldReadsDue = this.now + this.profile.syncDelay + 2;
      },
      onSnapshot: (snap, how) => this.checkSnapshot(node, snap, how),
    });
  }

  private stop(node: SimNode): void {
    // What a stopped member held is lost with it: a loss the readers' timeouts cover.
    node.heldReads.clear();
    node.heldReadsDue = -1;
    node.host?.close();
    node.sm?.recording.inner.close();
    node.host = null;
    node.sm = null;
    node.storage = null;
  }

  private crash(node: SimNode, why: string, downFor?: number): void {
    this.stats.crashes++;
    this.readLosses++;
    this.log(`n${node.id} crashes (${why})`);
    this.stop(node);
    node.fs.crash(() => this.faultRng.float());
    node.downUntil = this.now + (downFor ?? this.faultRng.int(20, 400));
    // The members connected to it see their connections reset, as the transport reports
    // (`RaftCore.peerUnreachable`); some only later, by their timers.
    for (const other of this.nodes) {
      if (other === node || !this.up(other) || this.blocked.has(`${node.id}>${other.id}`)) continue;
      if (this.faultRng.chance(0.8)) this.guard(other, (h) => h.peerUnreachable(node.id));
    }
  }

  private up(node: SimNode): boolean {
    return node.host !== null;
  }

  /**
   * The operator's part of a replacement, once the member is out of the membership: stop
   * it, give it an empty disk, and start it as a joiner a little later.
   */
  private wipe(node: SimNode, leaderHasSnapshot: boolean): void {
    if (node.host) this.readLosses++;
    this.stop(node);
    node.fs = new SimFileSystem();
    node.votes.clear();
    node.joiner = true;
    node.heldDown = false;
    node.corruptedAt = null;
    node.downUntil = this.now + this.faultRng.int(1, 20);
    this.faultStats.wipes++;
    if (!leaderHasSnapshot) this.faultStats.wipesBeforeLeaderSnapshot++;
    this.log(
      `n${node.id} wiped; it will join from an empty log (the leader ${leaderHasSnapshot ? 'has' : 'has no'} snapshot)`,
    );
  }

  /**
   * Bit rot in a stopped member's WAL: one bit of a synced record that has a valid record
   * after it (so recovery cannot take it for a torn write). Returns what was flipped, or null
   * when the log holds fewer than two whole records. The record framing is read here
   * independently of wal.ts: length (u32 LE), CRC32 (u32 LE) of the bytes from offset 8 to
   * the end, then 9 header bytes in all.
   */
  private flipWalBit(node: SimNode): string | null {
    const r = this.faultRng;
    const dir = '/data/wal';
    if (!node.fs.exists(dir)) return null;
    const names = node.fs.list(dir).filter((n) => n.endsWith('.wal'));
    const candidates: { path: string; start: number; end: number }[] = [];
    for (const name of names) {
      const path = `${dir}/${name}`;
      const bytes = node.fs.readFile(path);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const records: { start: number; end: number }[] = [];
      for (let at = 0; at + 9 <= bytes.length;) {
        const end = at + 9 + view.getUint32(at, true);
        if (
          end > bytes.length ||
          crc32(bytes.subarray(at + 8, end)) !== view.getUint32(at + 4, true)
        )
          break;
        records.push({ start: at, end });
        at = end;
      }
      // The last whole record of the file has nothing valid after it: damage there is
      // indistinguishable from a torn write, and the WAL rightly cuts it.
      for (const rec of records.slice(0, -1)) candidates.push({ path, ...rec });
    }
    if (candidates.length === 0) return null;
    const rec = r.pick(candidates);
    const offset = r.int(rec.start, rec.end - 1);
    const mask = 1 << r.int(0, 7);
    node.fs.flipBits(rec.path, offset, mask);
    return `bit ${mask} of byte ${offset} of ${rec.path} flipped (record ${rec.start}..${rec.end})`;
  }

  // ---------------------------------------------------------------------------------------
  // The scheduler

  private step(): void {
    for (const node of this.nodes) {
      if (!node.host && !node.heldDown && this.now >= node.downUntil) this.start(node);
    }
    if (this.partitionHealAt >= 0 && this.now >= this.partitionHealAt) {
      this.blocked.clear();
      this.partitionHealAt = -1;
      this.log('network heals');
    }
    this.deliver();
    for (const node of this.nodes) {
      if (
        node.host &&
        this.now >= node.pausedUntil &&
        this.now >= node.tickStalledUntil &&
        (this.now + node.tickPhase) % node.stepsPerTick === 0
      ) {
        this.guard(node, (h) => h.tick());
      }
    }
    this.driveClients();
    for (const node of this.nodes) {
      if (node.host && this.now >= node.pausedUntil) {
        this.guard(node, (h) => {
          node.storage?.drain();
          node.sm?.drain();
          h.process();
        });
      }
    }
    this.checkLeaders();
    this.checkHeldReads();
    if (this.now % 50 === 0) this.checkLogMatching();
  }

  /** Runs host work; a simulated power cut inside storage crashes the member right there. */
  private guard(
    node: SimNode,
    f: (h: RaftHost<AppliedResult, KvQuery, KvReadResult>) => void,
  ): void {
    const host = node.host;
    if (!host) return;
    try {
      f(host);
    } catch (err) {
      if (err instanceof SimPowerCutError) {
        this.crash(node, 'power cut in the middle of a write');
        return;
      }
      throw err;
    }
  }

  private injectFaults(): void {
    const r = this.faultRng;
    const p = this.profile;
    const live = this.nodes.filter((n) => this.up(n));
    if (r.chance(p.crashChance) && live.length > 0) this.crash(r.pick(live), 'killed');
    if (r.chance(p.transferChance)) {
      const leader = live.find((n) => n.host?.status().role === 'leader');
      const target = r.pick(this.nodes);
      if (leader?.host && target !== leader) {
        this.log(`n${leader.id} asked to hand leadership to n${target.id}`);
        try {
          leader.host.transferLeadership(target.id);
        } catch (err) {
          this.log(`transfer refused: ${(err as Error).message}`);
        }
      }
    }
    if (r.chance(p.churnChance)) this.churnMembership(false);
    if (r.chance(p.powerCutChance)) {
      const node = r.pick(this.nodes);
      if (node.host) {
        // The power goes out a few writes from now, possibly mid-record.
        node.fs.cutPowerAfter(r.int(0, 6));
        this.log(`n${node.id} will lose power soon`);
      }
    }
    if (r.chance(p.partitionChance) && this.partitionHealAt < 0) this.partition();
    if (r.chance(p.pauseChance)) {
      const node = r.pick(this.nodes);
      node.pausedUntil = this.now + r.int(10, 120);
      this.log(`n${node.id} paused until step ${node.pausedUntil}`);
    }
    // The knobs below are 0 for some seeds; those draw nothing, so the faults above meet
    // those seeds' runs exactly as before.
    if (p.earlyReplaceAt === this.now || (p.replaceChance > 0 && r.chance(p.replaceChance)))
      this.startEpisode('replace');
    if (p.singleVoterChance > 0 && r.chance(p.singleVoterChance)) this.startEpisode('single');
    // Replacements and single-voter phases move on by themselves, not only on churn's draws.
    if (this.episode?.kind === 'replace' || this.episode?.kind === 'single')
      this.churnMembership(false);
    if (this.killAfterChange) {
      this.killAfterChange = false;
      const live = this.nodes.filter((n) => this.up(n));
      if (live.length > 0)
        this.crash(r.pick(live), 'killed after a membership change', r.int(5, 120));
    }
    if (p.quickRestartChance > 0 && r.chance(p.quickRestartChance)) this.quickRestart();
    if (p.bitFlipChance > 0 && r.chance(p.bitFlipChance)) this.rot();
    if (p.stallChance > 0 && r.chance(p.stallChance)) this.stallLeader();
  }

  /** See stallChance: the leader is cut off and its clock stops for a while. */
  private stallLeader(): void {
    const leader = this.nodes.find((n) => n.host?.status().role === 'leader');
    if (!leader || this.partitionHealAt >= 0) return;
    const r = this.faultRng;
    this.stats.partitions++;
    for (const n of this.nodes) {
      if (n !== leader) this.blocked.add(`${leader.id}>${n.id}`).add(`${n.id}>${leader.id}`);
    }
    // The network heals when the clock resumes, not before: the new leader's messages would
    // depose it at once, and the window in which only a quorum round can tell is the point.
    leader.tickStalledUntil = this.now + r.int(150, 400);
    this.stalledUntil = Math.max(this.stalledUntil, leader.tickStalledUntil);
    this.partitionHealAt = leader.tickStalledUntil;
    this.log(`n${leader.id} isolated, its clock stalled until step ${leader.tickStalledUntil}`);
  }

  private partition(): void {
    const r = this.faultRng;
    this.stats.partitions++;
    const ids = this.nodes.map((n) => n.id);
    const kind = r.int(0, 2);
    if (kind === 0) {
      // Two sides.
      const side = new Set(ids.filter(() => r.chance(0.5)));
      for (const a of ids)
        for (const b of ids) if (side.has(a) !== side.has(b)) this.blocked.add(`${a}>${b}`);
      this.log(
        `partition {${[...side].join(',')}} | {${ids.filter((i) => !side.has(i)).join(',')}}`,
      );
    } else if (kind === 1) {
      // One member isolated, most often the leader: the case leases and ReadIndex exist for.
      const leader = this.nodes.find((n) => n.host?.status().role === 'leader')?.id;
      const x = leader !== undefined && r.chance(0.7) ? leader : r.pick(ids);
      for (const b of ids) if (b !== x) this.blocked.add(`${x}>${b}`).add(`${b}>${x}`);
      this.log(`n${x} isolated`);
    } else {
      // Some one-way links broken.
      for (const a of ids)
        for (const b of ids) if (a !== b && r.chance(0.25)) this.blocked.add(`${a}>${b}`);
      this.log(`one-way link failures: ${[...this.blocked].join(' ')}`);
    }
    this.partitionHealAt = this.now + r.int(50, 600);
  }

  private send(from: SimNode, msgs: readonly Message[]): void {
    const r = this.netRng;
    for (const msg of msgs) {
      if (msg.type === 'readIndexResp') from.heldReads.delete(msg.context);
      if (msg.type === 'voteResp' && msg.granted && !msg.pre)
        this.checkVote(from, msg.term, msg.to);
      if (msg.type === 'readIndex') this.checkReadContext(from, msg.context);
      if (this.chaos && r.chance(this.profile.dropRate)) {
        this.lost(msg);
        continue;
      }
      const copies = this.chaos && r.chance(this.profile.duplicateRate) ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        this.queue.push({
          at: this.now + r.int(1, this.chaos ? this.profile.maxDelay : 2),
          seq: this.seq++,
          msg,
        });
      }
    }
    void from;
  }

  /** A message that will not arrive; see readLosses. */
  private lost(msg: Message): void {
    if (msg.type === 'readIndex' || msg.type === 'readIndexResp') this.readLosses++;
  }

  private deliver(): void {
    const later: QueuedMessage[] = [];
    for (let q = this.queue.peek(); q && q.at <= this.now; q = this.queue.peek()) {
      this.queue.pop();
      const to = this.nodes[q.msg.to - 1];
      if (!to || !to.host || this.blocked.has(`${q.msg.from}>${q.msg.to}`)) {
        this.lost(q.msg);
        continue;
      }
      if (this.now < to.pausedUntil) {
        later.push({ ...q, at: to.pausedUntil });
        continue;
      }
      if (q.msg.type === 'readIndex' && to.host.status().role === 'leader')
        to.heldReads.set(q.msg.context, this.now);
      this.guard(to, (h) => h.receive(q.msg));
    }
    for (const q of later) this.queue.push(q);
  }

  // ---------------------------------------------------------------------------------------
  // Clients

  private driveClients(): void {
    for (const c of this.clients) {
      const f = c.current;
      if (f) {
        if (this.now >= f.deadline) {
          this.checkReadAnswered(f);
          this.finishUnknown(f, 'timed out');
        } else if (f.retryAt >= 0 && this.now >= f.retryAt) {
          this.dispatch(f);
        }
        continue;
      }
      if (!this.chaos) {
        const key = this.finalReadKeys.pop();
        if (key) this.invoke(c, { kind: 'get', key });
        continue;
      }
      if (this.now < c.nextAt) continue;
      this.invoke(c, this.randomInput(c));
    }
  }

  private randomInput(c: SimClient): KvInput {
    const r = this.clientRng;
    const key = `k${r.int(1, this.profile.keys)}`;
    const roll = r.float();
    c.counter++;
    const value = `c${c.id}.${c.counter}`;
    if (roll < 0.45) return { kind: 'put', key, value };
    if (roll < 0.85) return { kind: 'get', key };
    if (roll < 0.95)
      return {
        kind: 'cas',
        key,
        expected: r.chance(0.3)
          ? null
          : `c${r.int(1, this.profile.clients)}.${r.int(1, c.counter)}`,
        value,
      };
    return { kind: 'delete', key };
  }

  private invoke(client: SimClient, input: KvInput): InFlight {
    const op: Operation = {
      clientId: client.id,
      input,
      call: this.now,
      return: null,
      output: null,
    };
    const f: InFlight = {
      op,
      client,
      deadline: this.now + OP_DEADLINE,
      attempts: 0,
      retryAt: -1,
      attemptId: 0,
      done: false,
      target: client.leaderGuess,
      dispatchedAt: this.now,
      lossMark: this.readLosses,
    };
    client.current = f;
    this.dispatch(f);
    return f;
  }

  private dispatch(f: InFlight): void {
    f.retryAt = -1;
    f.attempts++;
    const attempt = ++f.attemptId;
    const target = this.nodes[f.client.leaderGuess - 1];
    if (!target?.host || this.now < target.pausedUntil) {
      this.retry(f, this.clientRng.int(1, this.profile.nodes));
      return;
    }
    const host = target.host;
    const input = f.op.input;
    f.target = target.id;
    f.dispatchedAt = this.now;
    f.lossMark = this.readLosses;
    if (input.kind === 'get') {
      const query: KvQuery = { op: 'get', key: input.key };
      this.readFloor.set(query, { required: this.observeCommits(), op: f.op });
      host.read(query, (err, res) => {
        if (f.done || attempt !== f.attemptId) return;
        if (err || !res) return this.retry(f, this.redirect(err, target.id));
        this.complete(f, { kind: 'get', value: res.value });
      });
      return;
    }
    const cmd: KvCommand =
      input.kind === 'put'
        ? { op: 'put', key: input.key, value: input.value }
        : input.kind === 'delete'
          ? { op: 'delete', key: input.key }
          : { op: 'cas', key: input.key, expected: input.expected, value: input.value };
    host.propose(encodeKvCommand(cmd), (err, res) => {
      if (f.done || attempt !== f.attemptId) return;
      if (err || !res) {
        const code = err instanceof RaftError ? err.code : 'unknown';
        // Only answers that prove the write never happened may be retried.
        if (code === 'not_leader' || code === 'proposal_dropped')
          return this.retry(f, this.redirect(err, target.id));
        return this.finishUnknown(f, `${code}: ${err?.message ?? ''}`);
      }
      this.ackedWrites.push({ index: res.index, term: res.term, op: f.op });
      this.complete(
        f,
        input.kind === 'cas'
          ? { kind: 'cas', ok: res.ok }
          : input.kind === 'put'
            ? { kind: 'put' }
            : { kind: 'delete' },
      );
    });
  }

  private redirect(err: Error | null, tried: NodeId): NodeId {
    const leader = (err as { leader?: NodeId } | null)?.leader;
    if (leader && leader !== tried) return leader;
    // A member that is restarting will be back in a few steps: ask its next run.
    if (err instanceof RaftError && err.code === 'stopped') return tried;
    return this.clientRng.int(1, this.profile.nodes);
  }

  private retry(f: InFlight, next: NodeId): void {
    f.client.leaderGuess = next;
    f.retryAt = this.now + this.clientRng.int(1, 8);
  }

  private complete(f: InFlight, output: KvOutput): void {
    f.done = true;
    f.op.return = this.now + 0.5;
    f.op.output = output;
    f.client.current = null;
    f.client.nextAt = this.now + this.clientRng.int(0, 10);
    this.history.push(f.op);
    if (output.kind === 'get') this.stats.reads++;
    else this.stats.acked++;
    this.log(`client ${f.op.clientId} ${describe(f.op.input)} -> ${JSON.stringify(output)}`);
  }

  private finishUnknown(f: InFlight, why: string): void {
    f.done = true;
    f.client.current = null;
    this.history.push(f.op);
    this.stats.unknown++;
    this.log(`client ${f.op.clientId} ${describe(f.op.input)} -> unknown (${why})`);
  }

  // ---------------------------------------------------------------------------------------
  // Invariants

  /** State machine safety: every member applies the same command at the same index. */
  private checkApply(node: NodeId, c: AppliedCommand): void {
    const data = DECODER.decode(c.data);
    const known = this.applied.get(c.index);
    if (!known) {
      this.applied.set(c.index, { term: c.term, data });
      return;
    }
    if (known.term !== c.term || known.data !== data) {
      throw new SimFailure(
        `n${node} applied ${data} (term ${c.term}) at index ${c.index}, but another member applied ${known.data} (term ${known.term})`,
      );
    }
  }

  /** The highest commit index any member knows now or knew before (see maxCommitSeen). */
  private observeCommits(): number {
    for (const n of this.nodes) {
      const commit = n.host?.status().commit ?? 0;
      if (commit > this.maxCommitSeen) this.maxCommitSeen = commit;
    }
    return this.maxCommitSeen;
  }

  /**
   * Read freshness, stricter than the history check: a read's query runs on a state machine
   * that has applied at least every entry committed anywhere before the read was sent (what
   * ReadIndex guarantees), whether or not a later write would have shown the difference.
   */
  private checkRead(node: SimNode, q: KvQuery): void {
    const floor = this.readFloor.get(q);
    const applied = node.host?.status().applied;
    if (!floor || applied === undefined || applied >= floor.required) return;
    throw new SimFailure(
      `n${node.id} served ${describe(floor.op.input)} at applied index ${applied}, but index ${floor.required} was committed before the read was sent: a stale read`,
    );
  }

  /**
   * Liveness of reads: one that waited out its deadline at a live member, with no read
   * message lost and no member crashed meanwhile, was dropped by a member (a leader that
   * stepped down must refuse the reads it holds, so the asking member fails them at once).
   */
  private checkReadAnswered(f: InFlight): void {
    if (f.op.input.kind !== 'get' || f.retryAt >= 0 || !this.chaos) return;
    if (f.lossMark !== this.readLosses || this.now - f.dispatchedAt < 300) return;
    // A leader whose clock stalled cannot step down, and its reads rightly wait for it.
    if (this.stalledUntil > f.dispatchedAt) return;
    const target = this.nodes[f.target - 1];
    if (!target?.host) return;
    // A member out of the membership hears from no leader and cannot catch up to a read's
    // index; its reads wait, as its clients' timeouts expect.
    const conf = this.nodes.find((n) => n.host?.status().role === 'leader')?.host?.status().conf;
    if (!conf || ![...conf.voters, ...conf.learners].includes(target.id)) return;
    throw new SimFailure(
      `${describe(f.op.input)} sent to n${f.target} at step ${f.dispatchedAt} was never answered, though no read message was lost and no member crashed`,
    );
  }

  /**
   * One vote per member and term, across its restarts (a wipe forgets them, as it must):
   * the vote is what a member must persist before it answers.
   */
  private checkVote(voter: SimNode, term: number, candidate: NodeId): void {
    const earlier = voter.votes.get(term);
    if (earlier !== undefined && earlier !== candidate) {
      throw new SimFailure(
        `n${voter.id} voted for n${earlier} and then for n${candidate} in term ${term}`,
      );
    }
    voter.votes.set(term, candidate);
  }

  /**
   * Read contexts are unique across a member's runs: a leader may answer a read of an
   * earlier run after a restart, and the answer is matched by context alone.
   */
  private checkReadContext(from: SimNode, context: string): void {
    const run = this.runOf.get(from.id) ?? 0;
    const earlier = this.readContexts.get(context);
    if (earlier !== undefined && earlier !== run) {
      throw new SimFailure(
        `n${from.id} sent read context ${context}, which its run ${earlier} used before this run (${run})`,
      );
    }
    this.readContexts.set(context, run);
  }

  /**
   * A leader that stops leading answers every read forwarded to it that it still holds (a
   * refusal, so the asking member's readers retry at once), with the Ready that reports it.
   */
  private checkHeldReads(): void {
    for (const node of this.nodes) {
      if (node.heldReadsDue < 0 || this.now < node.heldReadsDue) continue;
      if (this.now < node.pausedUntil) {
        // A paused member sends nothing; its answers are due once it runs again.
        node.heldReadsDue = node.pausedUntil + this.profile.syncDelay + 2;
        continue;
      }
      node.heldReadsDue = -1;
      if (!node.host || node.host.status().role === 'leader') continue;
      const [context] = node.heldReads.keys();
      if (context !== undefined) {
        throw new SimFailure(
          `n${node.id} stopped leading without answering the forwarded read ${context}`,
        );
      }
    }
  }

  /** Snapshots at the same index must be byte-identical, wherever they were taken. */
  private checkSnapshot(node: SimNode, snap: Snapshot, how: 'taken' | 'installed'): void {
    if (how === 'installed') this.stats.snapshotsInstalled++;
    const digest = digestBytes(snap.data);
    const known = this.snapshotDigests.get(snap.meta.index);
    if (known === undefined) this.snapshotDigests.set(snap.meta.index, digest);
    else if (known !== digest) {
      throw new SimFailure(
        `n${node.id} ${how} a snapshot at ${snap.meta.index} that differs from another member's`,
      );
    }
    this.log(`n${node.id} ${how} snapshot at ${snap.meta.index}`);
  }

  /**
   * Election safety and leader completeness; and two rules seen from outside: a leader's
   * commit index moves only to an entry of its own term (Raft §5.4.2; earlier entries commit
   * with it), and a leader's log holds at most one membership change above the highest
   * commit index known anywhere (one change at a time).
   */
  private checkLeaders(): void {
    const committed = this.observeCommits();
    for (const node of this.nodes) {
      if (!node.host) continue;
      const s = node.host.status();
      const seen = node.leaderCommit;
      if (s.role !== 'leader') {
        node.leaderCommit = { term: 0, commit: 0 };
        continue;
      }
      if (seen.term === s.term && s.commit > seen.commit) {
        const term = node.host.core.termAt(s.commit);
        if (term !== s.term) {
          throw new SimFailure(
            `leader n${node.id} of term ${s.term} moved its commit index to ${s.commit}, an entry of term ${term ?? '?'}: only entries of the leader's term commit by counting replicas`,
          );
        }
      }
      node.leaderCommit = { term: s.term, commit: s.commit };
      let changes = 0;
      for (let i = Math.max(committed, s.snapshotIndex) + 1; i <= s.lastIndex; i++) {
        if (node.host.core.entry(i)?.type === 'conf') changes++;
      }
      if (changes > 1) {
        throw new SimFailure(
          `leader n${node.id} holds ${changes} membership changes above the highest commit index ${committed}: at most one may be in flight`,
        );
      }
      const other = this.leaders.get(s.term);
      if (other !== undefined && other !== node.id) {
        throw new SimFailure(`two leaders in term ${s.term}: n${other} and n${node.id}`);
      }
      if (node.wasLeaderInTerm === s.term) continue;
      node.wasLeaderInTerm = s.term;
      this.leaders.set(s.term, node.id);
      for (const [index, e] of this.applied) {
        if (index <= s.snapshotIndex || index < s.firstIndex) continue;
        const term = node.host.core.termAt(index);
        if (term !== e.term) {
          throw new SimFailure(
            `leader n${node.id} of term ${s.term} lacks committed entry ${index} (term ${e.term}); it has ${term ?? 'nothing'}`,
          );
        }
      }
    }
  }

  /** Log matching: two logs that agree on an entry's term agree on everything before it. */
  private checkLogMatching(): void {
    const live = this.nodes.filter((n) => n.host);
    for (let i = 0; i < live.length; i++) {
      for (let j = i + 1; j < live.length; j++) {
        const a = live[i]?.host;
        const b = live[j]?.host;
        if (!a || !b) continue;
        const sa = a.status();
        const sb = b.status();
        const lo = Math.max(sa.firstIndex, sb.firstIndex);
        let hi = Math.min(sa.lastIndex, sb.lastIndex);
        while (hi >= lo && a.core.termAt(hi) !== b.core.termAt(hi)) hi--;
        for (let k = hi; k >= lo; k--) {
          const ea = a.core.entry(k);
          const eb = b.core.entry(k);
          if (
            !ea ||
            !eb ||
            ea.term !== eb.term ||
            DECODER.decode(ea.data) !== DECODER.decode(eb.data)
          ) {
            throw new SimFailure(
              `log matching violated between n${sa.id} and n${sb.id}: they agree at ${hi} but differ at ${k}`,
            );
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // The end

  /**
   * Membership churn, one single-server change at a time, along several paths: remove one
   * or two voters and add them back (as learners that keep their old log, then promoted);
   * shrink to the leader as the only voter with the others as learners and grow back; replace
   * a member (remove, wipe, rejoin from an empty log, promote). With `restoreOnly`, only the
   * steps that bring the cluster back to full size are taken (a replacement is finished).
   */
  private churnMembership(restoreOnly: boolean): void {
    const pending =
      this.membershipPendingSince >= 0 && this.now - this.membershipPendingSince < 400;
    if (pending && !this.profile.concurrentChurn) return;
    if (this.now < this.churnRetryAt) return;
    // A change whose answer never came within the window is forgotten (its leader is gone).
    if (!pending) this.changing.clear();
    const leader = this.nodes.find((n) => n.host?.status().role === 'leader');
    const host = leader?.host;
    if (!leader || !host) return;
    const status = host.status();
    const conf = status.conf;
    const roleOf = (id: NodeId): MemberRole =>
      conf.voters.includes(id) ? 'voter' : conf.learners.includes(id) ? 'learner' : 'out';
    const full = this.nodes.every((n) => roleOf(n.id) === 'voter');
    // A member that refused to start on corrupt storage is replaced before anything else.
    const held = this.nodes.find((n) => n.heldDown);
    if (held && this.episode?.replace !== held.id) this.beginReplace(held.id);
    if (restoreOnly && this.episode?.kind !== 'replace') {
      this.episode = full ? null : { kind: 'restore', desired: new Map() };
      if (full) return;
    }
    if (!this.episode) {
      if (full && conf.voters.length > 2 && !this.rotting()) {
        const others = conf.voters.filter((id) => id !== leader.id);
        const first = this.faultRng.pick(others);
        const second = this.faultRng.pick(others.filter((id) => id !== first));
        const victims =
          conf.voters.length >= 5 && this.faultRng.chance(0.4) ? [first, second] : [first];
        this.episode = {
          kind: 'remove',
          desired: new Map(victims.map((id) => [id, 'out'])),
        };
      } else if (!full) this.episode = { kind: 'restore', desired: new Map() };
      else return;
      this.log(`membership episode: ${describeEpisode(this.episode)}`);
    }
    const ep = this.episode;
    const want = (id: NodeId): MemberRole => {
      if (ep.kind === 'restore') return 'voter';
      if (ep.kind === 'replace' && id === ep.replace) return ep.wiped ? 'voter' : 'out';
      return ep.desired.get(id) ?? roleOf(id);
    };
    if (
      ep.kind === 'replace' &&
      ep.replace !== undefined &&
      !ep.wiped &&
      roleOf(ep.replace) === 'out'
    ) {
      const node = this.nodes[ep.replace - 1];
      if (node) this.wipe(node, status.snapshotIndex > 0);
      ep.wiped = true;
    }
    const ids = this.nodes.map((n) => n.id).filter((id) => !this.changing.has(id));
    let cc: ConfChange | null = null;
    const demote = ids.find((id) => roleOf(id) === 'voter' && want(id) !== 'voter');
    const drop = ids.find((id) => roleOf(id) === 'learner' && want(id) === 'out');
    const add = ids.find((id) => roleOf(id) === 'out' && want(id) !== 'out');
    const promote = ids.find((id) => roleOf(id) === 'learner' && want(id) === 'voter');
    // A leader removing itself to leave one voter is not done: should that voter restart
    // before it stores the removal's commit, it believes in two voters, and the removed
    // leader (its log longer) refuses it its vote; nothing brings them back (see README).
    const lastButOne = demote === leader.id && conf.voters.length === 2;
    if (lastButOne) {
      this.log(
        `membership episode abandoned (the leader would remove itself): ${describeEpisode(ep)}`,
      );
      this.episode = null;
      return;
    }
    if (demote !== undefined && conf.voters.length > 1) cc = { kind: 'remove', node: demote };
    else if (drop !== undefined) cc = { kind: 'remove', node: drop };
    else if (add !== undefined) cc = { kind: 'addLearner', node: add };
    else if (promote !== undefined) cc = { kind: 'promote', node: promote };
    if (cc === null) {
      // A new leader may not have applied every change it holds: judge only once it has.
      if (this.changing.size === 0 && !pending && status.applied >= status.commit) {
        this.log(`membership episode done: ${describeEpisode(ep)}`);
        this.episode = null;
      }
      return;
    }
    const change = cc;
    this.membershipPendingSince = this.now;
    this.changing.add(change.node);
    this.log(
      `n${leader.id} proposes ${change.kind} n${change.node}${pending ? ' (another change is in flight)' : ''}`,
    );
    host.proposeConfChange(change, (err) => {
      this.changing.delete(change.node);
      if (this.changing.size === 0) this.membershipPendingSince = -1;
      this.log(`${change.kind} n${change.node}: ${err ? `not done (${err.message})` : 'applied'}`);
      // Refused (another change in flight, a leader without a commit in its term): an
      // operator would retry a little later, not every step.
      if (err) {
        this.churnRetryAt = this.now + 10;
        return;
      }
      this.faultStats.membershipChanges++;
      // Not here, inside the leader's processing: the next step's faults kill someone.
      if (this.chaos && this.profile.confRestartChance > 0) {
        this.killAfterChange ||= this.faultRng.chance(this.profile.confRestartChance);
      }
    });
  }

  /** Starts a membership episode drawn by its own knob, unless one is under way. */
  private startEpisode(kind: 'replace' | 'single'): void {
    if (this.episode || this.membershipPendingSince >= 0 || this.rotting()) return;
    const leader = this.nodes.find((n) => n.host?.status().role === 'leader');
    const conf = leader?.host?.status().conf;
    if (!leader || !conf) return;
    if (kind === 'single') {
      if (conf.voters.length < 2) return;
      const desired = new Map<NodeId, MemberRole>(this.nodes.map((n) => [n.id, 'learner']));
      desired.set(leader.id, 'voter');
      this.faultStats.singleVoterPhases++;
      this.episode = { kind: 'single', desired };
    } else {
      // Only from a full membership: a member removed earlier and still running keeps an old
      // membership, in which the wiped member's vote (its log empty) would count (see README).
      // And with every member caught up: a wiped member promoted before it caught up holds
      // nothing yet, and losing a second member then loses what only they held.
      if (conf.voters.length !== this.nodes.length || !this.allCaughtUp()) return;
      const members = conf.voters.filter((id) => id !== leader.id);
      this.episode = {
        kind: 'replace',
        desired: new Map(),
        replace: this.faultRng.pick(members),
        wiped: false,
      };
    }
    this.log(`membership episode: ${describeEpisode(this.episode)}`);
  }

  /**
   * A member has rotten storage, found or not yet: the membership must not shrink meanwhile,
   * or two voters with one of them lost for good would leave no quorum to remove it.
   */
  /** Every member is up and holds everything the leader has committed. */
  private allCaughtUp(): boolean {
    const leader = this.nodes.find((n) => n.host?.status().role === 'leader')?.host?.status();
    if (!leader) return false;
    return this.nodes.every((n) => (n.host?.status().lastIndex ?? -1) >= leader.commit);
  }

  private rotting(): boolean {
    return this.nodes.some((n) => n.heldDown || n.corruptedAt !== null);
  }

  /** A member refused to start on corrupt storage: replacing it goes before any other episode. */
  private beginReplace(id: NodeId): void {
    this.episode = { kind: 'replace', desired: new Map(), replace: id, wiped: false };
    this.log(`membership episode: ${describeEpisode(this.episode)}`);
  }

  /** Bit rot in a member that can be spared (see bitFlipChance); it is killed first. */
  private rot(): void {
    if (this.episode || this.membershipPendingSince >= 0) return;
    // One rotten member at a time: the next waits until this one is replaced.
    if (this.rotting()) return;
    const leader = this.nodes.find((n) => n.host?.status().role === 'leader');
    const conf = leader?.host?.status().conf;
    // From a full membership only, as for any replacement (see startEpisode).
    if (!conf || conf.voters.length !== this.nodes.length || !this.allCaughtUp()) return;
    // A voter only while two others remain, so the survivors can still remove it.
    const spare = this.nodes.filter(
      (n) =>
        n.host &&
        (conf.learners.includes(n.id) || (conf.voters.includes(n.id) && conf.voters.length >= 3)),
    );
    if (spare.length === 0) return;
    const node = this.faultRng.pick(spare);
    this.crash(node, 'killed for bit rot');
    const what = this.flipWalBit(node);
    if (what === null) return;
    this.faultStats.bitFlips++;
    node.corruptedAt = what;
    this.log(`n${node.id}: ${what}`);
  }

  /**
   * Restarts a member within a few steps: one with a client's read in flight (the leader may
   * answer the earlier run's read after the restart), or a voter while an election runs (its
   * vote must survive).
   */
  private quickRestart(): void {
    const r = this.faultRng;
    const reading = this.clients
      .filter((c) => c.current && !c.current.done && c.current.op.input.kind === 'get')
      .map((c) => this.nodes[(c.current?.target ?? 0) - 1])
      .filter((n): n is SimNode => n !== undefined && this.up(n));
    const electing = this.nodes.some((n) => {
      const role = n.host?.status().role;
      return role === 'candidate' || role === 'preCandidate';
    });
    const voters = electing
      ? this.nodes.filter((n) => this.up(n) && n.host?.status().role === 'follower')
      : [];
    const pool = [...reading, ...voters];
    if (pool.length === 0) return;
    const node = r.pick(pool);
    this.faultStats.quickRestarts++;
    this.crash(
      node,
      reading.includes(node)
        ? 'quick restart with a read in flight'
        : 'quick restart during an election',
      r.int(1, 4),
    );
  }

  private heal(): void {
    this.chaos = false;
    this.blocked.clear();
    this.partitionHealAt = -1;
    for (const n of this.nodes) {
      n.pausedUntil = 0;
      n.downUntil = 0;
    }
    this.log('--- healing: faults stop, every member comes back ---');
  }

  /** After healing, a leader must emerge and every member must apply everything. */
  private converge(): void {
    const limit = this.now + HEAL_LIMIT;
    let verified = false;
    for (; this.now < limit; this.now++) {
      this.step();
      this.churnMembership(true);
      const busy = this.clients.some((c) => c.current) || this.finalReadKeys.length > 0;
      if (busy) continue;
      const leader = this.nodes.find((n) => n.host?.status().role === 'leader')?.host;
      if (!leader) continue;
      if (!verified) {
        // Linearizable reads of every key close the history: a lost write shows up here.
        verified = true;
        this.finalReadKeys = Array.from({ length: this.profile.keys }, (_, i) => `k${i + 1}`);
        continue;
      }
      const full = leader.status().conf.voters.length === this.nodes.length;
      const target = leader.status().commit;
      const caughtUp =
        full &&
        this.nodes.every(
          (n) => n.host && n.host.status().applied === target && n.host.status().commit === target,
        );
      if (caughtUp) return;
    }
    const states = this.nodes.map((n) => {
      const s = n.host?.status();
      return s
        ? `n${s.id}:${s.role}/t${s.term}/c${s.commit}/a${s.applied}/l${s.lastIndex}`
        : `n${n.id}:down`;
    });
    throw new SimFailure(`no convergence ${HEAL_LIMIT} steps after healing: ${states.join(' ')}`);
  }

  private finalChecks(): void {
    this.checkLogMatching();
    // Every member's database is byte-identical once they applied the same log.
    const digests = new Set(
      this.nodes.map((n) => (n.sm ? digestBytes(n.sm.recording.snapshot()) : 'down')),
    );
    if (digests.size !== 1)
      throw new SimFailure(
        `members' databases differ after convergence: ${[...digests].join(', ')}`,
      );
    // Every acknowledged write is in the committed log, where it was acknowledged.
    for (const w of this.ackedWrites) {
      const e = this.applied.get(w.index);
      if (!e || e.term !== w.term) {
        throw new SimFailure(
          `acknowledged ${describe(w.op.input)} at index ${w.index} is missing after recovery`,
        );
      }
    }
    const verdict = checkKvHistory(this.history, { timeoutMs: this.checkBudgetMs });
    this.historyVerdict = verdict.verdict;
    if (verdict.verdict === 'not_linearizable') {
      throw new SimFailure(`history is not linearizable: ${verdict.failure?.explanation ?? ''}`);
    }
    // An unchecked history proves nothing: a run whose check ran out of budget fails.
    if (verdict.verdict === 'timeout') {
      throw new SimFailure(
        `the linearizability check ran out of its ${this.checkBudgetMs} ms budget (keys ${verdict.timedOutKeys?.join(', ') ?? '?'})`,
      );
    }
  }

  private result(ok: boolean, failure?: string): SimResult {
    const leaderStatus = this.nodes.map((n) => n.host?.status()).find((s) => s?.role === 'leader');
    return {
      seed: this.seed,
      ok,
      historyVerdict: this.historyVerdict,
      ...(failure === undefined ? {} : { failure }),
      trace: this.trace,
      stats: {
        steps: this.now,
        ...this.stats,
        leaders: this.leaders.size,
        fsyncs: this.nodes.reduce((sum, n) => sum + n.fs.fsyncCount, 0),
        commitIndex: leaderStatus?.commit ?? 0,
        ...this.faultStats,
      },
    };
  }

  private log(line: string): void {
    this.trace.push(`[${this.now}] ${line}`);
    if (this.trace.length > this.traceLimit * 2)
      this.trace.splice(0, this.trace.length - this.traceLimit);
  }
}

function describeEpisode(e: Episode): string {
  switch (e.kind) {
    case 'restore':
      return 'back to every member a voter';
    case 'replace':
      return `replace n${e.replace ?? '?'} (remove, wipe, rejoin as a learner, promote)`;
    case 'remove':
    case 'single':
      return `${e.kind}: ${[...e.desired].map(([id, role]) => `n${id} ${role}`).join(', ')}`;
  }
}

function describe(input: KvInput): string {
  switch (input.kind) {
    case 'put':
      return `put ${input.key}=${input.value}`;
    case 'get':
      return `get ${input.key}`;
    case 'delete':
      return `delete ${input.key}`;
    case 'cas':
      return `cas ${input.key} ${input.expected ?? 'null'}→${input.value}`;
  }
}

function digestBytes(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] ?? 0), 0x01000193) >>> 0;
  return `${b.length}:${h.toString(16)}`;
}

/** A binary min-heap of messages by delivery step, then send order (deterministic). */
class MessageHeap {
  private readonly items: QueuedMessage[] = [];

  push(q: QueuedMessage): void {
    const a = this.items;
    a.push(q);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p] as QueuedMessage, a[i] as QueuedMessage];
      i = p;
    }
  }

  peek(): QueuedMessage | undefined {
    return this.items[0];
  }

  pop(): QueuedMessage | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as QueuedMessage, a[i] as QueuedMessage];
        i = m;
      }
    }
    return top;
  }
}

function less(x: QueuedMessage | undefined, y: QueuedMessage | undefined): boolean {
  if (!x || !y) return false;
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}
