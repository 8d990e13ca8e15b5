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
import { SimFileSystem, SimPowerCutError } from '../storage/sim-fs.js';
import type { KvInput, KvOutput, Operation } from '../../test/support/history.js';
import { checkKvHistory } from '../../test/support/linearizability.js';
import { Rng } from './rng.js';

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
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure?: string;
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
  readonly fs: SimFileSystem;
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
  /** Members started so far: names each run of a member apart, deterministically. */
  private starts = 0;

  constructor(
    private readonly seed: number,
    private readonly SQL: SqlJsStatic,
    readonly profile: SimProfile = profileFor(seed),
    options: { traceLimit?: number } = {},
  ) {
    this.traceLimit = options.traceLimit ?? 300;
    this.rng = new Rng(seed);
    this.netRng = this.rng.fork();
    this.faultRng = this.rng.fork();
    this.clientRng = this.rng.fork();
    this.electionRng = this.rng.fork();
    for (let i = 1; i <= profile.nodes; i++) {
      const node: SimNode = {
        id: i,
        fs: new SimFileSystem(),
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
      new RecordingStateMachine(new KvStateMachine(this.SQL), (c) => this.checkApply(node.id, c)),
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
    const voters = Array.from({ length: this.profile.nodes }, (_, i) => i + 1);
    node.sm = sm;
    let readClock = 0;
    node.host = new RaftHost({
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
      incarnation: `run${++this.starts}`,
      send: (msgs) => this.send(node, msgs),
      snapshotEvery: this.profile.snapshotEvery,
      snapshotPhase: (node.id * 7) % this.profile.snapshotEvery,
      snapshotRetain: this.profile.snapshotRetain,
      followerApplyBatch: this.profile.followerApplyBatch,
      ...(this.profile.readBudget > 0
        ? { readBudgetMs: this.profile.readBudget, clock: () => ++readClock }
        : {}),
      onSoftState: (s) =>
        this.log(
          `n${node.id} is ${s.role}${s.leader ? ` (leader n${s.leader})` : ''} term ${node.host?.status().term ?? '?'}`,
        ),
      onSnapshot: (snap, how) => this.checkSnapshot(node, snap, how),
    });
    this.log(
      `n${node.id} started (term ${node.host.status().term}, last index ${node.host.status().lastIndex})`,
    );
  }

  private stop(node: SimNode): void {
    node.host?.close();
    node.sm?.recording.inner.close();
    node.host = null;
    node.sm = null;
    node.storage = null;
  }

  private crash(node: SimNode, why: string): void {
    this.stats.crashes++;
    this.log(`n${node.id} crashes (${why})`);
    this.stop(node);
    node.fs.crash(() => this.faultRng.float());
    node.downUntil = this.now + this.faultRng.int(20, 400);
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

  // ---------------------------------------------------------------------------------------
  // The scheduler

  private step(): void {
    for (const node of this.nodes) {
      if (!node.host && this.now >= node.downUntil) this.start(node);
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
      if (this.chaos && r.chance(this.profile.dropRate)) continue;
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

  private deliver(): void {
    const later: QueuedMessage[] = [];
    for (let q = this.queue.peek(); q && q.at <= this.now; q = this.queue.peek()) {
      this.queue.pop();
      const to = this.nodes[q.msg.to - 1];
      if (!to || !to.host) continue;
      if (this.blocked.has(`${q.msg.from}>${q.msg.to}`)) continue;
      if (this.now < to.pausedUntil) {
        later.push({ ...q, at: to.pausedUntil });
        continue;
      }
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
    if (input.kind === 'get') {
      host.read({ op: 'get', key: input.key }, (err, res) => {
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

  /** Election safety and leader completeness. */
  private checkLeaders(): void {
    for (const node of this.nodes) {
      if (!node.host) continue;
      const s = node.host.status();
      if (s.role !== 'leader') continue;
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
   * Membership churn, one single-server change at a time: remove a follower, then add it
   * back as a learner (it still holds its old log), then promote it once it has caught up.
   * With `restoreOnly`, only the steps that bring the cluster back to full size are taken.
   */
  private churnMembership(restoreOnly: boolean): void {
    if (this.membershipPendingSince >= 0 && this.now - this.membershipPendingSince < 400) return;
    const leader = this.nodes.find((n) => n.host?.status().role === 'leader');
    const host = leader?.host;
    if (!leader || !host) return;
    const conf = host.status().conf;
    const inConf = (id: NodeId) => conf.voters.includes(id) || conf.learners.includes(id);
    const learner = conf.learners[0];
    const missing = this.nodes.map((n) => n.id).find((id) => !inConf(id));
    let cc: ConfChange;
    if (learner !== undefined) cc = { kind: 'promote', node: learner };
    else if (missing !== undefined) cc = { kind: 'addLearner', node: missing };
    else if (!restoreOnly && conf.voters.length > 2) {
      cc = {
        kind: 'remove',
        node: this.faultRng.pick(conf.voters.filter((id) => id !== leader.id)),
      };
    } else return;
    this.membershipPendingSince = this.now;
    this.log(`n${leader.id} proposes ${cc.kind} n${cc.node}`);
    host.proposeConfChange(cc, (err) => {
      this.membershipPendingSince = -1;
      this.log(`${cc.kind} n${cc.node}: ${err ? `not done (${err.message})` : 'applied'}`);
    });
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
    const verdict = checkKvHistory(this.history, { timeoutMs: 20_000 });
    if (verdict.verdict === 'not_linearizable') {
      throw new SimFailure(`history is not linearizable: ${verdict.failure?.explanation ?? ''}`);
    }
    if (verdict.verdict === 'timeout') this.log('linearizability check timed out (not a failure)');
  }

  private result(ok: boolean, failure?: string): SimResult {
    const leaderStatus = this.nodes.map((n) => n.host?.status()).find((s) => s?.role === 'leader');
    return {
      seed: this.seed,
      ok,
      ...(failure === undefined ? {} : { failure }),
      trace: this.trace,
      stats: {
        steps: this.now,
        ...this.stats,
        leaders: this.leaders.size,
        fsyncs: this.nodes.reduce((sum, n) => sum + n.fs.fsyncCount, 0),
        commitIndex: leaderStatus?.commit ?? 0,
      },
    };
  }

  private log(line: string): void {
    this.trace.push(`[${this.now}] ${line}`);
    if (this.trace.length > this.traceLimit * 2)
      this.trace.splice(0, this.trace.length - this.traceLimit);
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
