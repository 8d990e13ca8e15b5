/**
 * The vocabulary of the Raft core: log entries, persistent state, membership and the
 * messages nodes exchange. Everything here is plain data so it can cross the wire, be
 * persisted, and be compared in the simulator.
 */

/** A member's stable identifier. Positive integers keep the wire format small. */
export type NodeId = number;

/** `none` in votes and leader fields. */
export const NO_NODE: NodeId = 0;

export type EntryType = 'normal' | 'conf';

/** One log entry. `data` is opaque to the core for `normal`, a {@link ConfChange} for `conf`. */
export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** State that must be on stable storage before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  /**
   * An index known committed, whose entries up to it were durable when this was written (so a
   * restarted member may apply them at once). Written with term and vote, and always before a
   * configuration entry is stored: a member that holds a membership change then also knows the
   * previous one committed, and re-applies it before it campaigns. Absent (read as 0) in hard
   * state written before the commit index was kept.
   */
  readonly commit?: number;
}

/** Cluster membership: voters decide elections and commits; learners only receive the log. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/**
 * A single-server membership change (Raft dissertation §4.1). `address` is opaque to the
 * core: runtimes use it to reach a member they have not met before.
 */
export type ConfChange =
  | { readonly kind: 'addLearner'; readonly node: NodeId; readonly address?: string }
  | { readonly kind: 'promote'; readonly node: NodeId }
  | { readonly kind: 'addVoter'; readonly node: NodeId; readonly address?: string }
  | { readonly kind: 'remove'; readonly node: NodeId }
  | BootstrapChange;

/**
 * The membership a new cluster starts with, as the first entry of every bootstrapping member's
 * log (see `bootstrapEntry`): it applies only to an empty membership, so it can never be
 * proposed, and a member that joins later learns the founding voters by replaying it.
 */
export interface BootstrapChange {
  readonly kind: 'bootstrap';
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** Describes the log prefix a snapshot replaces. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

/** A state-machine image at `meta.index`, with the membership in force there. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/**
 * Messages between members. `term` is the sender's term except for pre-votes, where it is
 * the term the sender would campaign in. Every message has `from` and `to`.
 */
export type Message =
  | AppendMsg
  | AppendRespMsg
  | VoteMsg
  | VoteRespMsg
  | HeartbeatMsg
  | HeartbeatRespMsg
  | SnapshotChunkMsg
  | SnapshotRespMsg
  | TimeoutNowMsg
  | ReadIndexMsg
  | ReadIndexRespMsg
  | ProposeMsg;

interface Base {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** AppendEntries. `commit` lets followers learn the commit index. */
export interface AppendMsg extends Base {
  readonly type: 'app';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Reply to AppendEntries. On success `index` is the last index now known to match. On
 * rejection `index` echoes the rejected `prevIndex` and `hintIndex`/`hintTerm` let the leader
 * skip a whole conflicting term at once.
 */
export interface AppendRespMsg extends Base {
  readonly type: 'appResp';
  readonly index: number;
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

export interface VoteMsg extends Base {
  readonly type: 'vote';
  readonly pre: boolean;
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Set by a leadership transfer: voters ignore their leader lease. */
  readonly transfer: boolean;
}

export interface VoteRespMsg extends Base {
  readonly type: 'voteResp';
  readonly pre: boolean;
  readonly granted: boolean;
}

/** Heartbeats carry the commit index (bounded by the follower's match) and a read context. */
export interface HeartbeatMsg extends Base {
  readonly type: 'heartbeat';
  readonly commit: number;
  readonly context: string;
}

export interface HeartbeatRespMsg extends Base {
  readonly type: 'heartbeatResp';
  readonly context: string;
}

/** One chunk of InstallSnapshot. Chunks are sent in order; `done` marks the last. */
export interface SnapshotChunkMsg extends Base {
  readonly type: 'snap';
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly total: number;
  readonly chunk: Uint8Array;
  readonly done: boolean;
}

/**
 * Reply to a snapshot chunk: `nextOffset` is the byte the follower expects next, or
 * `applied` when it has installed the snapshot (then `nextOffset` is `total`).
 */
export interface SnapshotRespMsg extends Base {
  readonly type: 'snapResp';
  readonly index: number;
  readonly nextOffset: number;
  readonly applied: boolean;
  readonly reject: boolean;
}

/** Leadership transfer: tells the target to campaign at once. */
export interface TimeoutNowMsg extends Base {
  readonly type: 'timeoutNow';
}

/** A follower asks the leader for a read index on behalf of a local reader. */
export interface ReadIndexMsg extends Base {
  readonly type: 'readIndex';
  readonly context: string;
}

export interface ReadIndexRespMsg extends Base {
  readonly type: 'readIndexResp';
  readonly context: string;
  readonly index: number;
  readonly reject: boolean;
}

/** Reserved for forwarding proposals member-to-member; the core never forwards on its own. */
export interface ProposeMsg extends Base {
  readonly type: 'propose';
  readonly entries: readonly Entry[];
}

export type MessageType = Message['type'];

/** A linearizable read became safe once the state machine has applied `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

/** Volatile state reported for operators and the runtime. */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/**
 * Work the runtime must do, in order: persist `hardState`, `snapshot` and `entries` (one
 * fsync covers them all); then send `messages`; then apply `snapshot` (restore) and
 * `committedEntries` to the state machine and release `readStates` once applied; then call
 * `advance(ready)`.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  /** Entries to append. An entry at an index already stored replaces it and everything after. */
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** Read contexts that will never be served (leadership lost, no leader): fail them. */
  readonly failedReads: readonly string[];
  /** False when nothing needs fsync (e.g. only messages and applies). */
  readonly mustSync: boolean;
}

/** Per-follower replication state, as the leader sees it. */
export interface PeerStatus {
  readonly id: NodeId;
  readonly voter: boolean;
  readonly match: number;
  readonly next: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly recentActive: boolean;
  readonly ticksSinceContact: number;
}

export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly conf: ConfState;
  readonly transferee: NodeId;
  /** Filled only on the leader. */
  readonly peers: readonly PeerStatus[];
}
