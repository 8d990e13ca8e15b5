/**
 * The knobs of a simulated run, every one derived from its seed: how many members and
 * clients, how lossy and slow the network is, and how often each fault strikes. Kept apart
 * so that a seed's profile can be read (and printed on failure) without running anything.
 */
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
  /** RaftHost's snapshotBytes: 0 snapshots by count only (drawn last, like the fault classes). */
  readonly snapshotBytes: number;
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
    snapshotBytes: r.pick([0, 0, 300, 2_000]),
  };
}
