import type { NodeId } from './types.js';

/** Votes needed out of `voters` members: a strict majority. */
export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/**
 * The highest index replicated on a majority of voters: the quorum's "committed" index
 * before the current-term restriction. `match` must hold an entry for every voter
 * (missing voters count as 0).
 */
export function quorumMatchIndex(voters: readonly NodeId[], match: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const indexes = voters.map(match).sort((a, b) => b - a);
  return indexes[quorumSize(voters.length) - 1] ?? 0;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** Tallies granted and rejected votes among `voters`. */
export function tallyVotes(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = quorumSize(voters.length);
  if (granted >= q) return 'won';
  if (rejected > voters.length - q) return 'lost';
  return 'pending';
}
