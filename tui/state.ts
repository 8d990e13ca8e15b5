/**
 * The dashboard's memory between snapshots, as a pure reducer so the rules (what is kept, how
 * the failover log is bounded) are testable without rendering.
 */
import type { FeedItem } from '../ops/feed.js';
import { isFeedError } from '../ops/feed.js';
import type { ClusterSnapshot, FailoverEvent } from '../ops/model.js';
import { dbLeader, detectFailovers } from '../ops/model.js';

/** How long without a snapshot before the header says the view is stale. */
export const STALE_AFTER_MS = 2000;

export interface DashboardState {
  /** The newest snapshot, if any arrived. */
  snapshot: ClusterSnapshot | undefined;
  /** When (dashboard clock) the newest snapshot arrived: staleness is judged on our clock. */
  receivedAt: number | undefined;
  /** Failovers seen so far, oldest first, at most `logLimit` of them. */
  failovers: FailoverEvent[];
  /** The feed's latest complaint; cleared by the next good snapshot. */
  error: string | undefined;
  /** The first snapshot's time: what the log saw live starts there. */
  startedAt?: number;
  /** The DB leader's term when first seen: the elections before it were not seen. */
  startTerm?: number;
  /** Whether the cluster's recorded failovers (the snapshot's `history`) are in the log. */
  historyMerged?: boolean;
}

export const emptyDashboardState: DashboardState = {
  snapshot: undefined,
  receivedAt: undefined,
  failovers: [],
  error: undefined,
};

/** The recorded failovers before `startedAt` and the live log, in time order. */
function withHistory(
  live: readonly FailoverEvent[],
  history: readonly FailoverEvent[],
  startedAt: number,
): FailoverEvent[] {
  // What happened since the dashboard started it saw itself.
  const before = history.filter((event) => event.at < startedAt);
  return [...before, ...live].sort((a, b) => a.at - b.at);
}

/** The state after `item` arrived at `now`, keeping only the newest `logLimit` failovers. */
export function receiveFeedItem(
  state: DashboardState,
  item: FeedItem,
  now: number,
  logLimit: number,
): DashboardState {
  if (isFeedError(item)) return { ...state, error: item.error };
  const startedAt = state.startedAt ?? item.at;
  let failovers = [...state.failovers, ...detectFailovers(state.snapshot, item)];
  const merge = state.historyMerged !== true && item.history !== undefined;
  if (merge) failovers = withHistory(failovers, item.history ?? [], startedAt);
  const leader = item.dbMembers === undefined ? null : dbLeader(item.dbMembers);
  return {
    snapshot: item,
    receivedAt: now,
    failovers: failovers.slice(Math.max(0, failovers.length - logLimit)),
    error: undefined,
    startedAt,
    ...((state.startTerm ?? leader?.term) === undefined
      ? {}
      : { startTerm: state.startTerm ?? leader?.term }),
    historyMerged: state.historyMerged === true || merge,
  };
}

/** Milliseconds since the last snapshot if that is longer than {@link STALE_AFTER_MS}. */
export function staleFor(state: DashboardState, now: number): number | undefined {
  if (state.receivedAt === undefined) return undefined;
  const age = now - state.receivedAt;
  return age > STALE_AFTER_MS ? age : undefined;
}
