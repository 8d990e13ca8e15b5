import type { NodeId } from './types.js';

/** Codes of every error the Raft library raises; they cross process boundaries as-is. */
export type RaftErrorCode =
  | 'not_leader'
  | 'proposal_dropped'
  | 'membership_change_refused'
  | 'transfer_refused'
  | 'no_leader'
  | 'timeout'
  | 'outcome_unknown'
  | 'stopped'
  | 'busy'
  | 'invariant_violated';

/** Base of the library's errors: a literal `code` callers branch on, never the message. */
export class RaftError extends Error {
  constructor(
    readonly code: RaftErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RaftError';
  }
}

/** The request reached a member that is not the leader; `leader` is the one it knows of. */
export class NotLeaderError extends RaftError {
  constructor(readonly leader: NodeId) {
    super(
      'not_leader',
      leader
        ? `not the leader; the leader is member ${leader}`
        : 'not the leader; no leader is known',
    );
    this.name = 'NotLeaderError';
  }
}

/**
 * The proposal was not appended, or was overwritten by another leader's entry: it is
 * certain that it did not and will not take effect, so the caller may retry.
 */
export class ProposalDroppedError extends RaftError {
  constructor(reason: string) {
    super('proposal_dropped', reason);
    this.name = 'ProposalDroppedError';
  }
}

/**
 * A broken safety invariant. Raised instead of continuing with a state that could
 * diverge from the other members; the process should stop and an operator look.
 */
export class InvariantViolation extends RaftError {
  constructor(message: string) {
    super('invariant_violated', message);
    this.name = 'InvariantViolation';
  }
}
