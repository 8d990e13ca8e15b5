/**
 * What every part of a simulated run shares: the members, the step clock, whether faults
 * are still on, the counters the result reports and the trace a human reads. The network,
 * the faults, the membership churn, the workload and the invariant checks each own their
 * own state and reach each other's only through this and their constructors.
 */
import type { SimNode } from './members.js';
import type { SimProfile } from './profile.js';

export class SimCluster {
  readonly nodes: SimNode[] = [];
  /** The current step. */
  now = 0;
  /** Faults are on (the chaos phase); off once the run heals. */
  chaos = true;
  /**
   * Counts everything that may leave a forwarded read unanswered in correct code: a lost
   * readIndex or readIndexResp message, and any crash. A read that waited out its deadline
   * while this did not move was dropped by the members.
   */
  readLosses = 0;
  /** The end of the latest clock stall (see stallChance). */
  stalledUntil = 0;
  readonly stats = {
    acked: 0,
    unknown: 0,
    reads: 0,
    crashes: 0,
    partitions: 0,
    snapshotsInstalled: 0,
  };
  readonly faultStats = {
    membershipChanges: 0,
    wipes: 0,
    wipesBeforeLeaderSnapshot: 0,
    singleVoterPhases: 0,
    quickRestarts: 0,
    bitFlips: 0,
    corruptionRefused: 0,
  };
  /** The last events, for a human to read; at most twice the limit, cut back to the limit. */
  readonly trace: string[] = [];

  constructor(
    readonly profile: SimProfile,
    private readonly traceLimit: number,
  ) {}

  log(line: string): void {
    this.trace.push(`[${this.now}] ${line}`);
    if (this.trace.length > this.traceLimit * 2)
      this.trace.splice(0, this.trace.length - this.traceLimit);
  }
}
