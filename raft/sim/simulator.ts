/**
 * The deterministic simulator of a whole Raft cluster, composed of its parts: the members
 * (members.ts) on a simulated network (network.ts), the faults (faults.ts) and membership
 * churn (churn.ts) that strike them, the clients' workload (workload.ts) and the invariant
 * checks (invariants.ts), sharing one clock and trace (cluster.ts). This module starts the
 * members and runs the steps; the order of the steps and of each part's draws from the
 * seed's streams is what makes a seed replay exactly.
 */
import type { SqlJsStatic } from 'sql.js';
import type { NodeId } from '../core/types.js';
import { KvStateMachine } from '../kv/kv-state-machine.js';
import { RaftHost } from '../runtime/host.js';
import { DurableStorage } from '../storage/durable-log.js';
import { StorageCorruptError } from '../storage/errors.js';
import { SimFileSystem } from '../storage/sim-fs.js';
import { Rng } from '../../base/rng.js';
import { MembershipChurn } from './churn.js';
import { SimCluster } from './cluster.js';
import { Faults } from './faults.js';
import { Invariants, SimFailure, type HistoryVerdict } from './invariants.js';
import {
  DelayedStateMachine,
  DelayedSyncStorage,
  RecordingStateMachine,
  stopMember,
  type SimHost,
  type SimNode,
} from './members.js';
import { SimNetwork } from './network.js';
import { profileFor, type SimProfile } from './profile.js';
import { Workload } from './workload.js';

export { profileFor, type SimProfile } from './profile.js';

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure?: string;
  /**
   * The history check's verdict (`unchecked` if the run stopped before it). Callers count a
   * run as passed only with `linearizable`, whatever `ok` says: a check that did not finish
   * proves nothing, and this keeps that rule in two places.
   */
  readonly historyVerdict: HistoryVerdict;
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
  private readonly cluster: SimCluster;
  private readonly rng: Rng;
  private readonly electionRng: Rng;
  private readonly invariants: Invariants;
  private readonly network: SimNetwork;
  private readonly churn: MembershipChurn;
  private readonly workload: Workload;
  private readonly faults: Faults;
  /** Members started so far: names each run of a member apart, deterministically. */
  private starts = 0;

  constructor(
    private readonly seed: number,
    private readonly SQL: SqlJsStatic,
    readonly profile: SimProfile = profileFor(seed),
    options: { traceLimit?: number; checkBudgetMs?: number } = {},
  ) {
    this.cluster = new SimCluster(profile, options.traceLimit ?? 300);
    this.invariants = new Invariants(this.cluster, options.checkBudgetMs ?? 20_000);
    // One stream per part, forked in this order: a part's draws never move another's.
    this.rng = new Rng(seed);
    const netRng = this.rng.fork();
    const faultRng = this.rng.fork();
    const clientRng = this.rng.fork();
    this.electionRng = this.rng.fork();
    this.network = new SimNetwork(this.cluster, netRng, {
      sent: (from, msg) => this.invariants.sent(from, msg),
      arriving: (to, msg) => this.invariants.arriving(to, msg),
      guard: (node, f) => this.faults.guard(node, f),
    });
    this.churn = new MembershipChurn(this.cluster, faultRng);
    this.workload = new Workload(this.cluster, clientRng, this.invariants);
    this.faults = new Faults(this.cluster, faultRng, this.network, this.churn, this.workload);
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
      this.cluster.nodes.push(node);
      this.start(node);
    }
    for (let c = 1; c <= profile.clients; c++)
      this.workload.addClient(this.rng.int(1, profile.nodes));
  }

  run(): SimResult {
    try {
      for (; this.cluster.now < this.profile.chaosSteps; this.cluster.now++) {
        this.faults.inject();
        this.step();
      }
      this.heal();
      this.converge();
      this.invariants.finalChecks(this.workload.history, this.workload.ackedWrites);
      return this.result(true);
    } catch (err) {
      const reason =
        err instanceof SimFailure
          ? err.message
          : `unexpected error: ${(err as Error).stack ?? String(err)}`;
      this.cluster.log(`FAILURE: ${reason}`);
      return this.result(false, reason);
    } finally {
      for (const n of this.cluster.nodes) stopMember(n);
    }
  }

  /** A digest of the whole trace, to prove that a seed replays exactly. */
  fingerprint(): string {
    let h = 0x811c9dc5;
    for (const line of this.cluster.trace) {
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
        (c) => this.invariants.checkApply(node.id, c),
        (q) => this.invariants.checkRead(node, q),
      ),
      this.profile.applyDelay,
      () => this.cluster.now,
    );
    const storage = new DelayedSyncStorage(
      new DurableStorage({
        fs: node.fs,
        dir: '/data',
        logger: { warn: (m) => this.cluster.log(`n${node.id} storage: ${m}`) },
      }),
      this.profile.syncDelay,
      () => this.cluster.now,
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
      this.cluster.faultStats.corruptionRefused++;
      this.cluster.log(`n${node.id} refuses to start: ${err.message}`);
      node.corruptedAt = null;
      node.heldDown = true;
      this.churn.beginReplace(node.id);
      return;
    }
    if (node.corruptedAt !== null) {
      throw new SimFailure(
        `n${node.id} started on a WAL with ${node.corruptedAt}: the corruption went undetected`,
      );
    }
    this.cluster.log(
      `n${node.id} started${node.joiner ? ' (joining)' : ''} (term ${node.host.status().term}, last index ${node.host.status().lastIndex})`,
    );
  }

  private runStarted(node: SimNode): number {
    this.invariants.memberStarted(node.id, ++this.starts);
    return this.starts;
  }

  private newHost(
    node: SimNode,
    sm: DelayedStateMachine,
    storage: DelayedSyncStorage,
    voters: NodeId[],
    readClock: () => number,
  ): SimHost {
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
      send: (msgs) => this.network.send(node, msgs),
      snapshotEvery: this.profile.snapshotEvery,
      snapshotPhase: (node.id * 7) % this.profile.snapshotEvery,
      snapshotBytes: this.profile.snapshotBytes,
      snapshotRetain: this.profile.snapshotRetain,
      followerApplyBatch: this.profile.followerApplyBatch,
      ...(this.profile.readBudget > 0
        ? { readBudgetMs: this.profile.readBudget, clock: readClock }
        : {}),
      onSoftState: (s) => {
        this.cluster.log(
          `n${node.id} is ${s.role}${s.leader ? ` (leader n${s.leader})` : ''} term ${node.host?.status().term ?? '?'}`,
        );
        this.invariants.roleChanged(node, s.role);
      },
      onSnapshot: (snap, how) => this.invariants.checkSnapshot(node, snap, how),
    });
  }

  // ---------------------------------------------------------------------------------------
  // The scheduler

  private step(): void {
    for (const node of this.cluster.nodes) {
      if (!node.host && !node.heldDown && this.cluster.now >= node.downUntil) this.start(node);
    }
    this.network.healWhenDue();
    this.network.deliver();
    for (const node of this.cluster.nodes) {
      if (
        node.host &&
        this.cluster.now >= node.pausedUntil &&
        this.cluster.now >= node.tickStalledUntil &&
        (this.cluster.now + node.tickPhase) % node.stepsPerTick === 0
      ) {
        this.faults.guard(node, (h) => h.tick());
      }
    }
    this.workload.drive();
    for (const node of this.cluster.nodes) {
      if (node.host && this.cluster.now >= node.pausedUntil) {
        this.faults.guard(node, (h) => {
          node.storage?.drain();
          node.sm?.drain();
          h.process();
        });
      }
    }
    this.invariants.checkLeaders();
    this.invariants.checkHeldReads();
    if (this.cluster.now % 50 === 0) this.invariants.checkLogMatching();
  }

  // ---------------------------------------------------------------------------------------
  // The end

  private heal(): void {
    this.cluster.chaos = false;
    this.network.blocked.clear();
    this.network.partitionHealAt = -1;
    for (const n of this.cluster.nodes) {
      n.pausedUntil = 0;
      n.downUntil = 0;
    }
    this.cluster.log('--- healing: faults stop, every member comes back ---');
  }

  /** After healing, a leader must emerge and every member must apply everything. */
  private converge(): void {
    const limit = this.cluster.now + HEAL_LIMIT;
    let verified = false;
    for (; this.cluster.now < limit; this.cluster.now++) {
      this.step();
      this.churn.advance(true);
      if (this.workload.busy()) continue;
      const leader = this.cluster.nodes.find((n) => n.host?.status().role === 'leader')?.host;
      if (!leader) continue;
      if (!verified) {
        // Linearizable reads of every key close the history: a lost write shows up here.
        verified = true;
        this.workload.readEveryKey();
        continue;
      }
      const full = leader.status().conf.voters.length === this.cluster.nodes.length;
      const target = leader.status().commit;
      const caughtUp =
        full &&
        this.cluster.nodes.every(
          (n) => n.host && n.host.status().applied === target && n.host.status().commit === target,
        );
      if (caughtUp) return;
    }
    const states = this.cluster.nodes.map((n) => {
      const s = n.host?.status();
      return s
        ? `n${s.id}:${s.role}/t${s.term}/c${s.commit}/a${s.applied}/l${s.lastIndex}`
        : `n${n.id}:down`;
    });
    throw new SimFailure(`no convergence ${HEAL_LIMIT} steps after healing: ${states.join(' ')}`);
  }

  private result(ok: boolean, failure?: string): SimResult {
    const leaderStatus = this.cluster.nodes
      .map((n) => n.host?.status())
      .find((s) => s?.role === 'leader');
    return {
      seed: this.seed,
      ok,
      historyVerdict: this.invariants.historyVerdict,
      ...(failure === undefined ? {} : { failure }),
      trace: this.cluster.trace,
      stats: {
        steps: this.cluster.now,
        ...this.cluster.stats,
        leaders: this.invariants.leaders.size,
        fsyncs: this.cluster.nodes.reduce((sum, n) => sum + n.fs.fsyncCount, 0),
        commitIndex: leaderStatus?.commit ?? 0,
        ...this.cluster.faultStats,
      },
    };
  }
}
