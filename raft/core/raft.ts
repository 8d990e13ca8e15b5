import {
  applyConfChange,
  confChangeProblem,
  decodeConfChange,
  encodeConfChange,
  isBootstrapEntry,
} from './conf-change.js';
import { InvariantViolation, NotLeaderError, ProposalDroppedError, RaftError } from './errors.js';
import { entryBytes, RaftLog } from './log.js';
import { Progress } from './progress.js';
import { quorumMatchIndex, quorumSize, tallyVotes } from './quorum.js';
import { ReadOnlyQueue } from './read-only.js';
import type {
  AppendMsg,
  AppendRespMsg,
  ConfChange,
  ConfState,
  Entry,
  HardState,
  HeartbeatMsg,
  HeartbeatRespMsg,
  Message,
  NodeId,
  ReadIndexMsg,
  ReadIndexRespMsg,
  ReadState,
  Ready,
  Role,
  Snapshot,
  SnapshotChunkMsg,
  SnapshotRespMsg,
  SoftState,
  Status,
  VoteMsg,
  VoteRespMsg,
} from './types.js';
import { NO_NODE } from './types.js';
import { candidateLogIsUpToDate } from './vote-check.js';

/** How soon the lower-id candidate of a split vote campaigns again (see breakSplitVote). */
export const SPLIT_VOTE_RETRY_TICKS = 2;

/** Tunables of one member. Time is in ticks; the runtime decides how long a tick is. */
export interface RaftConfig {
  readonly id: NodeId;
  /** A follower that hears nothing for this many ticks (randomized up to twice) campaigns. */
  readonly electionTicks: number;
  /** A leader sends heartbeats every this many ticks. Must be well below electionTicks. */
  readonly heartbeatTicks: number;
  /** Injected randomness in [0, 1): the core never calls Math.random. */
  readonly random: () => number;
  /** Campaign only after a pre-vote shows a quorum would elect us (Raft thesis §9.6). */
  readonly preVote?: boolean;
  /** A leader steps down when it has not heard from a quorum for an election timeout. */
  readonly checkQuorum?: boolean;
  /** Upper bound of one append message's entry bytes. */
  readonly maxAppendBytes?: number;
  /** Appends in flight to one follower before the leader waits for acknowledgements. */
  readonly maxInflightMsgs?: number;
  readonly maxInflightBytes?: number;
  /** Upper bound of the committed entries handed out in one Ready. */
  readonly maxApplyBytes?: number;
  readonly snapshotChunkBytes?: number;
  /** A learner is promoted only when at most this many entries behind the leader. */
  readonly promotionLag?: number;
}

/**
 * What a member starts from: its recovered storage, plus the bootstrap membership.
 *
 * Membership is derived from the log, as it is while running: the snapshot's (or, for a log
 * that begins with the founding membership entry, none), then every configuration entry up
 * to the recorded commit index is re-applied in the first Readies, and the member does not
 * campaign until they are (a member that believed an older membership could win an
 * election with a quorum of it, beside a leader elected by a quorum of the newer one).
 */
export interface InitialState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  /**
   * Membership when there is no snapshot and the log does not begin with the founding
   * membership (`bootstrapEntry`): the bootstrap voters for a log written before that entry
   * existed, empty for a joining member.
   */
  readonly conf: ConfState;
}

type CampaignKind = 'pre' | 'election' | 'transfer';

interface IncomingSnapshot {
  readonly meta: Snapshot['meta'];
  readonly total: number;
  readonly chunks: Uint8Array[];
  received: number;
}

/**
 * One member's Raft state machine: deterministic, with no timers, I/O or hidden
 * randomness. Drive it with `tick()`, `step(msg)`, `propose(data)`, `readIndex(ctx)`;
 * collect work with `ready()`; and acknowledge it with `advance(ready)` after persisting,
 * sending and applying it, in that order. Nothing may be stepped between `ready()` and
 * `advance()`.
 */
export class RaftCore {
  readonly id: NodeId;
  private term: number;
  private vote: NodeId;
  private role: Role = 'follower';
  private leaderId: NodeId = NO_NODE;
  private readonly log: RaftLog;
  private conf: ConfState;
  private progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId = NO_NODE;
  /** Index of the newest membership change proposed; none may follow until it is applied. */
  private pendingConfIndex = 0;
  private readonly readOnly = new ReadOnlyQueue();
  /** ReadIndex requests that arrived before the leader committed an entry of its term. */
  private deferredReads: { context: string; from: NodeId }[] = [];
  private incomingSnapshot: IncomingSnapshot | null = null;
  /** The newest snapshot this member can send to followers that fell behind compaction. */
  private snapshot: Snapshot | null;

  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private failedReads: string[] = [];
  /** Appends are coalesced and sent once per Ready rather than once per event. */
  private appendsDue = false;
  private commitDue = false;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private inReady = false;

  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly random: () => number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxAppendBytes: number;
  private readonly maxInflightMsgs: number;
  private readonly maxInflightBytes: number;
  private readonly maxApplyBytes: number;
  private readonly snapshotChunkBytes: number;
  private readonly promotionLag: number;

  constructor(config: RaftConfig, initial: InitialState) {
    if (config.id <= 0) throw new RaftError('invariant_violated', 'member id must be positive');
    if (config.heartbeatTicks <= 0 || config.electionTicks <= config.heartbeatTicks) {
      throw new RaftError('invariant_violated', 'electionTicks must exceed heartbeatTicks > 0');
    }
    this.id = config.id;
    this.electionTicks = config.electionTicks;
    this.heartbeatTicks = config.heartbeatTicks;
    this.random = config.random;
    this.preVote = config.preVote ?? true;
    this.checkQuorum = config.checkQuorum ?? true;
    this.maxAppendBytes = config.maxAppendBytes ?? 1 << 20;
    this.maxInflightMsgs = config.maxInflightMsgs ?? 256;
    this.maxInflightBytes = config.maxInflightBytes ?? 32 << 20;
    this.maxApplyBytes = config.maxApplyBytes ?? 8 << 20;
    this.snapshotChunkBytes = config.snapshotChunkBytes ?? 1 << 20;
    this.promotionLag = config.promotionLag ?? 1000;

    const founded = !initial.snapshot && isBootstrapEntry(initial.entries[0]);
    this.log = new RaftLog({
      snapshot: initial.snapshot,
      entries: initial.entries,
      // The founding membership is committed by construction: every founder wrote it.
      committed: Math.max(initial.hardState.commit ?? 0, founded ? 1 : 0),
    });
    this.snapshot = initial.snapshot;
    // The membership before the first entry not yet applied; the committed configuration
    // entries after it are re-applied (in advance()) before this member may campaign.
    const empty: ConfState = { voters: [], learners: [] };
    this.conf = initial.snapshot?.meta.conf ?? (founded ? empty : initial.conf);
    // A term older than our newest entry would let us vote for stale candidates.
    this.term = Math.max(initial.hardState.term, this.log.lastTerm());
    this.vote = this.term === initial.hardState.term ? initial.hardState.vote : NO_NODE;
    this.prevHard = {
      term: initial.hardState.term,
      vote: initial.hardState.vote,
      commit: initial.hardState.commit ?? 0,
    };
    this.prevSoft = { leader: NO_NODE, role: 'follower' };
    this.resetRandomizedTimeout();
  }

  // ---------------------------------------------------------------------------------------
  // Inputs

  /** Advances logical time by one tick. */
  tick(): void {
    this.assertNotInReady();
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /** Feeds a message from another member. Messages for other members are ignored. */
  step(m: Message): void {
    this.assertNotInReady();
    if (m.to !== this.id || m.from === this.id) return;
    if (m.term > this.term) {
      if (m.type === 'vote') {
        const inLease =
          this.checkQuorum &&
          this.leaderId !== NO_NODE &&
          this.electionElapsed < this.electionTicks;
        // A member that heard from a live leader recently ignores campaigns, so a
        // partitioned member rejoining cannot depose a healthy leader (thesis §4.2.3).
        if (!m.transfer && inLease) return;
        if (m.pre) {
          this.handleVoteRequest(m);
          return;
        }
        this.becomeFollower(m.term, NO_NODE);
      } else if (m.type === 'voteResp' && m.pre && m.granted) {
        // Granted pre-votes carry the term we would campaign in; adopt it only by campaigning.
      } else if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NO_NODE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'app' || m.type === 'heartbeat')) {
        // A stale leader learns our term from this and steps down; otherwise, with pre-vote
        // and check-quorum, it could keep a partitioned follower from ever rejoining.
        this.send({
          type: 'appResp',
          to: m.from,
          index: 0,
          reject: false,
          hintIndex: 0,
          hintTerm: 0,
        });
      } else if (m.type === 'vote' && m.pre) {
        this.send({ type: 'voteResp', to: m.from, pre: true, granted: false }, this.term);
      } else if (m.type === 'readIndex') {
        // A member of an older term (a removed one, say, that no leader talks to any more)
        // forwarded a read: refuse it, so its reader retries, and let it learn our term.
        this.refuseRead(m.from, m.context);
      }
      return;
    }

    if (m.type === 'vote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        break;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        break;
      case 'follower':
        this.stepFollower(m);
        break;
    }
  }

  /**
   * A hint from the transport: the connection to `peer` broke (reset, refused, or silent past
   * the transport's liveness bound), which is what a crashed or killed member looks like. A
   * follower whose leader that is stops counting on it: it forgets the leader, so it no longer
   * turns (pre-)votes away for the rest of the leader's lease, and it campaigns within
   * electionTicks ticks instead of waiting out a whole randomized election timeout
   * (electionTicks to twice that).
   *
   * All the leader's followers get the hint within milliseconds of each other, so when each
   * campaigns is what decides whether their campaigns collide. They take turns by id: the
   * lowest-id remaining voter campaigns after {@link FIRST_TURN_TICKS} ticks (by then the
   * others got the hint too and no longer ignore its pre-vote as their leader's lease), the
   * next one {@link TURN_STRIDE_TICKS} ticks later, and so on, none later than electionTicks.
   * A pre-vote round took 50-100 ms in the lab and a vote round 100-200 ms (each vote is
   * fsynced). With random delays over the same span (the rule before), two followers often
   * campaigned within one round of each other and split the vote or, worse, the loser's
   * retry deposed the winner a moment after it won (a 1.5 s outage instead of 0.4 s). With
   * turns, the next follower's pre-vote comes when the voters have granted the first one's
   * real vote (and refuse it) or the first has won (its heartbeat resets the timer).
   * (Holding a member back once it granted a pre-vote would spread them further, but the
   * simulator found it can starve elections: a candidate that wins pre-votes and loses real
   * ones kept silencing the one member that could win.)
   *
   * Only timing changes: every vote rule holds, and the campaign starts with a pre-vote that
   * members still hearing the leader refuse (their lease), so a hint about a live leader (a
   * connection reset by the network) costs at most a refused pre-vote; the leader's next
   * heartbeat restores it here. Anything else (not a follower, another member) is ignored.
   */
  peerUnreachable(peer: NodeId): void {
    this.assertNotInReady();
    if (this.role !== 'follower' || this.leaderId !== peer || peer === NO_NODE) return;
    this.leaderId = NO_NODE;
    const turn = campaignTurnAfterLeaderLoss(this.conf.voters, peer, this.id, this.electionTicks);
    if (turn === null) return;
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - turn);
  }

  /**
   * Appends a client command to the leader's log. Returns where it landed; it takes effect
   * once that entry is committed and applied. Throws NotLeaderError on other members and
   * ProposalDroppedError while leadership is being transferred.
   */
  propose(data: Uint8Array): { index: number; term: number } {
    this.assertNotInReady();
    this.assertCanPropose();
    const e = this.appendEntry('normal', data);
    return { index: e.index, term: e.term };
  }

  /**
   * Proposes a single-server membership change. Refused while another change is not yet
   * applied, or when a learner has not caught up (`membership_change_refused`); and, for a
   * moment after an election, before the leader has committed an entry of its own term (the
   * fix for the single-server change bug, thesis errata), with `busy`: that passes by itself
   * within a round trip, so the caller may retry at once.
   */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    this.assertNotInReady();
    this.assertCanPropose();
    const refuse = (why: string) => new RaftError('membership_change_refused', why);
    if (this.pendingConfIndex > this.log.applied) {
      throw refuse('another membership change is still in progress');
    }
    if (this.log.term(this.log.committed) !== this.term) {
      throw new RaftError('busy', 'the leader has not yet committed an entry in its term');
    }
    const problem = confChangeProblem(this.conf, cc);
    if (problem) throw refuse(problem);
    if (cc.kind === 'promote') {
      const pr = this.progress.get(cc.node);
      const lag = this.log.lastIndex() - (pr?.match ?? 0);
      if (lag > this.promotionLag) {
        throw refuse(`learner ${cc.node} is ${lag} entries behind; promote it once caught up`);
      }
    }
    const e = this.appendEntry('conf', encodeConfChange(cc));
    this.pendingConfIndex = e.index;
    return { index: e.index, term: e.term };
  }

  /**
   * Asks for a linearizable read point. When it is safe, a ReadState with `context`
   * appears in a Ready: the read may run once the state machine has applied its index.
   * On a follower the request is forwarded to the leader.
   */
  readIndex(context: string): void {
    this.assertNotInReady();
    if (this.role === 'leader') {
      this.handleReadIndex(context, this.id);
      return;
    }
    if (this.leaderId === NO_NODE) throw new RaftError('no_leader', 'no leader is known right now');
    this.send({ type: 'readIndex', to: this.leaderId, context });
  }

  /** Hands leadership to `target` once it has caught up (thesis §3.10). */
  transferLeadership(target: NodeId): void {
    this.assertNotInReady();
    if (this.role !== 'leader') throw new NotLeaderError(this.leaderId);
    if (target === this.id) return;
    if (!this.conf.voters.includes(target)) {
      throw new RaftError('transfer_refused', `member ${target} is not a voter`);
    }
    if (this.leadTransferee === target) return;
    this.leadTransferee = target;
    // The transfer must finish within one election timeout or it is abandoned.
    this.electionElapsed = 0;
    const pr = this.progress.get(target);
    if (pr && pr.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    else this.appendsDue = true;
  }

  /**
   * Records a durable snapshot taken by the runtime at an applied index and forgets log
   * entries before it, keeping `retain` entries so slightly lagging followers can still be
   * caught up from the log instead of by snapshot.
   */
  compact(snapshot: Snapshot, retain = 0): void {
    this.assertNotInReady();
    const { index, term } = snapshot.meta;
    if (index > this.log.applied) {
      throw new InvariantViolation(`snapshot at ${index} is beyond applied ${this.log.applied}`);
    }
    if (this.log.term(index) !== term) {
      throw new InvariantViolation(`snapshot term ${term} does not match the log at ${index}`);
    }
    if (!this.snapshot || index > this.snapshot.meta.index) this.snapshot = snapshot;
    const keepFrom = Math.max(this.log.base().index, index - retain);
    this.log.compact(keepFrom);
  }

  // ---------------------------------------------------------------------------------------
  // Output

  hasReady(): boolean {
    return (
      this.appendsDue ||
      this.commitDue ||
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.failedReads.length > 0 ||
      this.log.unstableSnapshot !== null ||
      this.log.hasUnstableEntries() ||
      this.log.hasNextCommittedEntries() ||
      this.hardStateChanged() ||
      this.softStateChanged()
    );
  }

  /** Collects the work to do. Must be followed by `advance(ready)` once it is done. */
  ready(): Ready {
    this.assertNotInReady();
    this.flushAppends();
    const soft = this.softStateChanged() ? { leader: this.leaderId, role: this.role } : null;
    const snapshot = this.log.unstableSnapshot;
    let entries = this.log.unstableEntries();
    // A configuration entry goes to storage only at the head of a Ready, whose hard state
    // (stored first) records the commit index up to just before it: whoever holds a change
    // then also knows the change before it committed (the leader proposed this one only once
    // that one was applied, and sent its commit index with it), so after a restart it is at
    // most one change behind, which single-server changes tolerate. Conf changes are rare;
    // this costs one more fsync each. Messages (acknowledgements of the whole batch among
    // them), reads and failures wait for the Ready that stores the rest.
    const nextConf = entries.findIndex((e, i) => i > 0 && e.type === 'conf');
    const partial = nextConf > 0;
    if (partial) entries = entries.slice(0, nextConf);
    const hard = this.hardStateToStore(entries, snapshot);
    const durableBy = entries.at(-1)?.index ?? this.log.persistedIndex();
    const committedEntries = this.log.nextCommittedEntries(this.maxApplyBytes, durableBy);
    const last = committedEntries[committedEntries.length - 1];
    if (last) this.log.applying = last.index;
    const rd: Ready = {
      softState: soft,
      hardState: hard,
      entries,
      snapshot,
      committedEntries,
      messages: partial ? [] : this.msgs,
      readStates: partial ? [] : this.readStates,
      failedReads: partial ? [] : this.failedReads,
      mustSync: hard !== null || entries.length > 0 || snapshot !== null,
    };
    if (!partial) {
      this.msgs = [];
      this.readStates = [];
      this.failedReads = [];
    }
    if (soft) this.prevSoft = soft;
    if (hard) this.prevHard = hard;
    this.inReady = true;
    return rd;
  }

  /** Acknowledges that `rd` was persisted, sent and applied. */
  advance(rd: Ready): void {
    this.inReady = false;
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) {
      this.log.stableTo(lastEntry.index, lastEntry.term);
      // The leader's own copy counts toward a quorum only now that it is durable (as in
      // etcd-io/raft): its appends went out before its fsync, and a single voter must not
      // let a learner apply an entry the voter could still lose in a crash.
      const self = this.role === 'leader' ? this.progress.get(this.id) : undefined;
      if (self?.maybeUpdate(this.log.persistedIndex()) && this.maybeCommit()) {
        this.commitDue = true;
      }
    }
    if (rd.snapshot) {
      this.log.snapshotTaken(rd.snapshot.meta.index);
      if (!this.snapshot || rd.snapshot.meta.index > this.snapshot.meta.index) {
        this.snapshot = rd.snapshot;
      }
    }
    for (const e of rd.committedEntries) {
      if (e.type === 'conf') this.applyConfEntry(e);
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied) this.log.applied = lastApplied.index;
  }

  status(): Status {
    const peers =
      this.role === 'leader'
        ? [...this.progress.entries()]
            .filter(([id]) => id !== this.id)
            .map(([id, pr]) => ({
              id,
              voter: !pr.isLearner,
              match: pr.match,
              next: pr.next,
              state: pr.state,
              recentActive: pr.recentActive,
              ticksSinceContact: pr.ticksSinceContact,
            }))
        : [];
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      snapshotIndex: this.snapshot?.meta.index ?? 0,
      conf: this.conf,
      transferee: this.leadTransferee,
      peers,
    };
  }

  /** The leader this member follows (itself when leading), or NO_NODE. */
  leader(): NodeId {
    return this.leaderId;
  }

  /** Read-only access for invariant checkers and tests. */
  entry(index: number): Entry | undefined {
    return this.log.entry(index);
  }

  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  // ---------------------------------------------------------------------------------------
  // Roles

  private becomeFollower(term: number, leader: NodeId): void {
    this.reset(term);
    this.role = 'follower';
    this.leaderId = leader;
  }

  private becomePreCandidate(): void {
    // A pre-candidate keeps its term and vote: pre-votes must disrupt nothing.
    this.failPendingReads();
    this.role = 'preCandidate';
    this.leaderId = NO_NODE;
    this.votes = new Map();
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.role = 'candidate';
    this.vote = this.id;
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.role = 'leader';
    this.leaderId = this.id;
    this.rebuildProgress();
    // Membership changes are refused until this term's first entry commits.
    this.pendingConfIndex = this.log.lastIndex();
    // The empty entry commits everything before it (a leader cannot count replicas of
    // older terms' entries, §5.4.2) and serves as the barrier for ReadIndex.
    this.appendEntry('normal', new Uint8Array(0));
  }

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NO_NODE;
    }
    this.leaderId = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedTimeout();
    this.leadTransferee = NO_NODE;
    this.votes = new Map();
    this.progress = new Map();
    this.appendsDue = false;
    this.commitDue = false;
    this.failPendingReads();
  }

  /**
   * Leadership is lost (or was never confirmed): no read waiting here will be served, so each
   * is failed, locally or by a rejection to the follower that forwarded it, which fails its
   * readers at once (retryable) instead of leaving them to their timeout.
   */
  private failPendingReads(): void {
    const pending = [...this.readOnly.reset(), ...this.deferredReads];
    this.deferredReads = [];
    for (const r of pending) {
      if (r.from === this.id) this.failedReads.push(r.context);
      else
        this.send({
          type: 'readIndexResp',
          to: r.from,
          context: r.context,
          index: 0,
          reject: true,
        });
    }
  }

  private rebuildProgress(): void {
    const next = this.log.lastIndex() + 1;
    const old = this.progress;
    this.progress = new Map();
    const add = (id: NodeId, learner: boolean) => {
      const pr =
        old.get(id) ?? new Progress(next, learner, this.maxInflightMsgs, this.maxInflightBytes);
      const fresh =
        pr.isLearner === learner
          ? pr
          : Object.assign(
              new Progress(pr.next, learner, this.maxInflightMsgs, this.maxInflightBytes),
              {
                match: pr.match,
                recentActive: pr.recentActive,
              },
            );
      if (id === this.id) {
        // Only what is durable counts as the leader's own copy (see advance()).
        fresh.match = this.log.persistedIndex();
        fresh.recentActive = true;
        fresh.becomeReplicate();
      }
      this.progress.set(id, fresh);
    };
    for (const id of this.conf.voters) add(id, false);
    for (const id of this.conf.learners) add(id, true);
  }

  private resetRandomizedTimeout(): void {
    this.randomizedElectionTimeout =
      this.electionTicks + Math.floor(this.random() * this.electionTicks);
  }

  private promotable(): boolean {
    return this.conf.voters.includes(this.id);
  }

  // ---------------------------------------------------------------------------------------
  // Time

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign(this.preVote ? 'pre' : 'election');
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      pr.ticksSinceContact++;
      if (pr.state === 'snapshot') {
        // Snapshot chunks are acknowledged one by one; resend the expected one if it was lost.
        pr.snapshotIdleTicks++;
        if (pr.snapshotIdleTicks >= Math.max(2, this.heartbeatTicks * 3))
          this.sendSnapshotChunk(id, pr);
      }
    }
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, NO_NODE);
          return;
        }
        for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
      }
      if (this.leadTransferee !== NO_NODE) this.leadTransferee = NO_NODE;
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(this.readOnly.last() ?? '');
    }
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.conf.voters) {
      if (id === this.id || this.progress.get(id)?.recentActive) active++;
    }
    return active >= quorumSize(this.conf.voters.length);
  }

  // ---------------------------------------------------------------------------------------
  // Elections

  private campaign(kind: CampaignKind): void {
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChange()) return;
    let voteTerm: number;
    if (kind === 'pre') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    const pre = kind === 'pre';
    this.votes.set(this.id, true);
    if (this.tallyAndAct(pre)) return;
    for (const id of this.conf.voters) {
      if (id === this.id) continue;
      this.send(
        {
          type: 'vote',
          to: id,
          pre,
          lastIndex: this.log.lastIndex(),
          lastTerm: this.log.lastTerm(),
          transfer: kind === 'transfer',
        },
        voteTerm,
      );
    }
  }

  /** Returns true when the election was decided. */
  private tallyAndAct(pre: boolean): boolean {
    const outcome = tallyVotes(this.conf.voters, this.votes);
    if (outcome === 'won') {
      if (pre) this.campaign('election');
      else this.becomeLeader();
      return true;
    }
    if (outcome === 'lost') {
      this.becomeFollower(this.term, NO_NODE);
      return true;
    }
    return false;
  }

  private hasUnappliedConfChange(): boolean {
    for (let i = this.log.applied + 1; i <= this.log.committed; i++) {
      if (this.log.entry(i)?.type === 'conf') return true;
    }
    return false;
  }

  private handleVoteRequest(m: VoteMsg): void {
    const alreadyVotedForThem = this.vote === m.from;
    const free = this.vote === NO_NODE && this.leaderId === NO_NODE;
    const futureTerm = m.pre && m.term > this.term;
    const upToDate = candidateLogIsUpToDate(
      { lastTerm: m.lastTerm, lastIndex: m.lastIndex },
      { lastTerm: this.log.lastTerm(), lastIndex: this.log.lastIndex() },
    );
    if ((alreadyVotedForThem || free || futureTerm) && upToDate) {
      if (!m.pre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
      // A granted pre-vote answers in the candidate's prospective term.
      this.send({ type: 'voteResp', to: m.from, pre: m.pre, granted: true }, m.term);
    } else {
      this.send({ type: 'voteResp', to: m.from, pre: m.pre, granted: false });
      this.breakSplitVote(m);
    }
  }

  /**
   * A rival candidate asked for our vote in our own term: the vote is split. With three of
   * five voters reachable a split leaves nobody a majority, and both would wait out a whole
   * randomized timeout (0.5-1 s in the DB) before trying again, as likely to collide again
   * as before. So the lower id of the two, if the other would vote for it, campaigns again
   * within {@link SPLIT_VOTE_RETRY_TICKS}, while the higher keeps its own timeout. Only a
   * timer changes: safety is untouched, and if the quick one cannot win, the other still
   * campaigns when its timeout comes.
   */
  private breakSplitVote(m: VoteMsg): void {
    if (m.pre || this.role !== 'candidate' || this.vote !== this.id || m.term !== this.term) return;
    if (m.from < this.id) return;
    const theyWouldVoteForUs = candidateLogIsUpToDate(
      { lastTerm: this.log.lastTerm(), lastIndex: this.log.lastIndex() },
      { lastTerm: m.lastTerm, lastIndex: m.lastIndex },
    );
    if (!theyWouldVoteForUs) return;
    this.electionElapsed = Math.max(
      this.electionElapsed,
      this.randomizedElectionTimeout - SPLIT_VOTE_RETRY_TICKS,
    );
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'app':
      case 'heartbeat':
      case 'snap':
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'voteResp': {
        const pre = this.role === 'preCandidate';
        if (m.pre !== pre) return;
        if (!this.votes.has(m.from)) this.votes.set(m.from, m.granted);
        this.tallyAndAct(pre);
        return;
      }
      case 'readIndex':
        // Forwarded to a leader that is campaigning now: no answer would ever come.
        this.refuseRead(m.from, m.context);
        return;
      default:
        return;
    }
  }

  /** Tells a member that forwarded a read that it will not be served here (it retries). */
  private refuseRead(to: NodeId, context: string): void {
    this.send({ type: 'readIndexResp', to, context, index: 0, reject: true });
  }

  // ---------------------------------------------------------------------------------------
  // Follower

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'app':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snap':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleSnapshotChunk(m);
        return;
      case 'timeoutNow':
        // Our leader asks us to take over: skip the pre-vote and ignore leases.
        this.campaign('transfer');
        return;
      case 'readIndexResp':
        if (m.reject) this.failedReads.push(m.context);
        else this.readStates.push({ index: m.index, context: m.context });
        return;
      case 'readIndex':
        // We are not the leader (any more); let the asker retry elsewhere.
        this.send({
          type: 'readIndexResp',
          to: m.from,
          context: m.context,
          index: 0,
          reject: true,
        });
        return;
      default:
        return;
    }
  }

  private handleAppend(m: AppendMsg): void {
    if (m.prevIndex < this.log.committed) {
      // Everything up to our commit index is settled; tell the leader where to resume.
      this.respondAppend(m.from, this.log.committed);
      return;
    }
    if (this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      const lastNew = m.prevIndex + m.entries.length;
      const conflict = this.log.findConflict(m.entries);
      if (conflict !== 0) {
        if (conflict <= this.log.committed) {
          throw new InvariantViolation(
            `leader ${m.from} (term ${m.term}) conflicts with committed entry ${conflict}`,
          );
        }
        this.log.append(m.entries.slice(conflict - (m.prevIndex + 1)));
      }
      this.log.commitTo(Math.min(m.commit, lastNew));
      this.respondAppend(m.from, lastNew);
      return;
    }
    const hintIndex = this.log.findConflictByTerm(
      Math.min(m.prevIndex, this.log.lastIndex()),
      m.prevTerm,
    );
    this.send({
      type: 'appResp',
      to: m.from,
      index: m.prevIndex,
      reject: true,
      hintIndex,
      hintTerm: this.log.term(hintIndex) ?? 0,
    });
  }

  private respondAppend(to: NodeId, index: number): void {
    this.send({ type: 'appResp', to, index, reject: false, hintIndex: 0, hintTerm: 0 });
  }

  private handleHeartbeat(m: HeartbeatMsg): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send({ type: 'heartbeatResp', to: m.from, context: m.context });
  }

  private handleSnapshotChunk(m: SnapshotChunkMsg): void {
    const respond = (nextOffset: number, applied: boolean, index: number, reject = false) =>
      this.send({ type: 'snapResp', to: m.from, index, nextOffset, applied, reject });
    if (m.meta.index <= this.log.committed) {
      this.incomingSnapshot = null;
      respond(m.total, true, this.log.committed);
      return;
    }
    const same = (s: IncomingSnapshot | null): s is IncomingSnapshot =>
      s !== null &&
      s.meta.index === m.meta.index &&
      s.meta.term === m.meta.term &&
      s.total === m.total;
    if (m.offset === 0 && !(same(this.incomingSnapshot) && this.incomingSnapshot.received > 0)) {
      this.incomingSnapshot = { meta: m.meta, total: m.total, chunks: [], received: 0 };
    }
    const inc = this.incomingSnapshot;
    if (!same(inc) || inc.received !== m.offset) {
      // Out of order or for another snapshot: say which byte we expect.
      respond(same(inc) ? inc.received : 0, false, m.meta.index);
      return;
    }
    if (m.chunk.length > 0) {
      inc.chunks.push(m.chunk.slice());
      inc.received += m.chunk.length;
    }
    if (inc.received > inc.total || (m.done && inc.received !== inc.total)) {
      this.incomingSnapshot = null;
      respond(0, false, m.meta.index, true);
      return;
    }
    if (!m.done) {
      respond(inc.received, false, m.meta.index);
      return;
    }
    this.incomingSnapshot = null;
    const data = new Uint8Array(inc.total);
    let off = 0;
    for (const c of inc.chunks) {
      data.set(c, off);
      off += c.length;
    }
    const snap: Snapshot = { meta: inc.meta, data };
    if (this.log.matchTerm(snap.meta.index, snap.meta.term)) {
      // We already hold that prefix: just learn that it is committed.
      this.log.commitTo(snap.meta.index);
    } else {
      this.log.restore(snap);
      this.conf = snap.meta.conf;
    }
    respond(inc.total, true, snap.meta.index);
  }

  // ---------------------------------------------------------------------------------------
  // Leader

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    switch (m.type) {
      case 'appResp':
        if (pr) this.handleAppendResponse(m, pr);
        return;
      case 'heartbeatResp':
        if (pr) this.handleHeartbeatResponse(m, pr);
        return;
      case 'snapResp':
        if (pr) this.handleSnapshotResponse(m, pr);
        return;
      case 'readIndex':
        this.handleReadIndex(m.context, m.from);
        return;
      default:
        return;
    }
  }

  private markContact(pr: Progress): void {
    pr.recentActive = true;
    pr.ticksSinceContact = 0;
  }

  private handleAppendResponse(m: AppendRespMsg, pr: Progress): void {
    this.markContact(pr);
    if (m.reject) {
      const hint =
        m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.appendsDue = true;
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (pr.maybeUpdate(m.index)) {
      if (pr.state === 'probe') pr.becomeReplicate();
      else if (pr.state === 'snapshot' && pr.match >= (pr.snapshot?.meta.index ?? 0))
        pr.becomeProbe();
      else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);
      if (this.maybeCommit()) this.commitDue = true;
      this.appendsDue = true;
      if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
        this.sendTimeoutNow(m.from);
      }
    } else if (wasPaused && !pr.isPaused()) {
      this.appendsDue = true;
    }
  }

  private handleHeartbeatResponse(m: HeartbeatRespMsg, pr: Progress): void {
    this.markContact(pr);
    if (pr.state === 'probe') pr.probeSent = false;
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) {
      // Something we sent may have been lost: an append (even an empty one) will tell.
      pr.probeDue = true;
      this.appendsDue = true;
    }
    if (m.context === '' || pr.isLearner) return;
    const acks = this.readOnly.acks(m.context);
    if (acks.size === 0) return;
    this.readOnly.recvAck(m.from, m.context);
    let voterAcks = 0;
    for (const id of this.readOnly.acks(m.context)) if (this.conf.voters.includes(id)) voterAcks++;
    if (voterAcks < quorumSize(this.conf.voters.length)) return;
    for (const r of this.readOnly.release(m.context)) this.releaseRead(r.context, r.index, r.from);
  }

  private handleSnapshotResponse(m: SnapshotRespMsg, pr: Progress): void {
    this.markContact(pr);
    if (pr.state !== 'snapshot') {
      // A late answer to an old transfer; the follower may have moved ahead.
      if (m.applied) pr.maybeUpdate(m.index);
      return;
    }
    if (m.reject) {
      pr.becomeProbe();
      this.appendsDue = true;
      return;
    }
    if (m.applied) {
      pr.maybeUpdate(m.index);
      pr.becomeProbe();
      this.appendsDue = true;
      return;
    }
    const total = pr.snapshot?.data.length ?? 0;
    if (m.index !== pr.snapshot?.meta.index || m.nextOffset > total) return;
    // The chunk this answer asks for was sent already (it answers a copy that was resent
    // while the first was on its way): sending it again would start a second stream of
    // chunks, each answer then asking for the next one twice. Seen at 13x a 137 MB image.
    // If that chunk is lost, the idle timer resends it.
    if (m.nextOffset === pr.snapshotOffset) return;
    pr.snapshotOffset = m.nextOffset;
    this.sendSnapshotChunk(m.from, pr);
  }

  private handleReadIndex(context: string, from: NodeId): void {
    if (this.log.term(this.log.committed) !== this.term) {
      // Until an entry of this term commits, our commit index may lag what earlier
      // leaders committed; the read waits (thesis §6.4 step 1).
      this.deferredReads.push({ context, from });
      return;
    }
    const index = this.log.committed;
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {
      this.releaseRead(context, index, from);
      return;
    }
    this.readOnly.add(context, index, from, this.id);
    this.broadcastHeartbeat(context);
  }

  private releaseRead(context: string, index: number, from: NodeId): void {
    if (from === this.id) this.readStates.push({ index, context });
    else this.send({ type: 'readIndexResp', to: from, context, index, reject: false });
  }

  /**
   * The commit rule: an index is committed once a quorum of voters hold it AND it belongs
   * to the current term (§5.4.2). Entries of earlier terms commit only indirectly.
   */
  private maybeCommit(): boolean {
    const match = (id: NodeId) => this.progress.get(id)?.match ?? 0;
    let mci = quorumMatchIndex(this.conf.voters, match);
    // A removal commits only once a quorum of the voters that remain hold it too, not with
    // the removed member's copy: that member may be wiped as soon as it is out (an operator
    // replacing it), and a member still on the older membership (it restarted, or lagged)
    // could then win an election with the wiped member's vote and lack the removal.
    for (let i = this.log.committed + 1; i <= mci; i++) {
      const e = this.log.entry(i);
      const cc = e?.type === 'conf' ? decodeConfChange(e.data) : null;
      if (cc?.kind !== 'remove' || !this.conf.voters.includes(cc.node)) continue;
      const remaining = this.conf.voters.filter((id) => id !== cc.node);
      if (quorumMatchIndex(remaining, match) < i) mci = i - 1;
      break;
    }
    if (mci <= this.log.committed || this.log.term(mci) !== this.term) return false;
    this.log.commitTo(mci);
    const deferred = this.deferredReads;
    this.deferredReads = [];
    for (const r of deferred) this.handleReadIndex(r.context, r.from);
    return true;
  }

  /** Appends to the leader's log; its own copy counts once stored (see advance()). */
  private appendEntry(type: Entry['type'], data: Uint8Array): Entry {
    const e: Entry = { index: this.log.lastIndex() + 1, term: this.term, type, data };
    this.log.append([e]);
    this.appendsDue = true;
    return e;
  }

  private assertCanPropose(): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.leaderId);
    if (this.leadTransferee !== NO_NODE) {
      throw new ProposalDroppedError('leadership is being transferred; retry shortly');
    }
    if (!this.progress.has(this.id)) {
      throw new ProposalDroppedError('this member is leaving the cluster');
    }
  }

  /** Sends what each follower is due: new entries, or an empty append carrying the commit. */
  private flushAppends(): void {
    if (this.role !== 'leader' || (!this.appendsDue && !this.commitDue)) {
      this.appendsDue = false;
      this.commitDue = false;
      return;
    }
    const commitDue = this.commitDue;
    this.appendsDue = false;
    this.commitDue = false;
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      let sendIfEmpty = commitDue || pr.probeDue;
      pr.probeDue = false;
      while (this.sendAppend(id, pr, sendIfEmpty)) sendIfEmpty = false;
    }
  }

  /** Returns true when an append with entries was sent (so another may follow). */
  private sendAppend(to: NodeId, pr: Progress, sendIfEmpty: boolean): boolean {
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.maxAppendBytes);
    if (prevTerm === undefined || entries === undefined) {
      this.startSnapshot(to, pr);
      return false;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'app', to, prevIndex, prevTerm, entries, commit: this.log.committed });
    const last = entries[entries.length - 1];
    if (!last) return false;
    if (pr.state === 'replicate') {
      pr.optimisticUpdate(last.index);
      let bytes = 0;
      for (const e of entries) bytes += entryBytes(e);
      pr.inflights.add(last.index, bytes);
    } else {
      pr.probeSent = true;
    }
    return true;
  }

  private startSnapshot(to: NodeId, pr: Progress): void {
    if (!pr.recentActive || !this.snapshot) return;
    pr.becomeSnapshot(this.snapshot);
    this.sendSnapshotChunk(to, pr);
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const snap = pr.snapshot;
    if (!snap) return;
    const offset = pr.snapshotOffset;
    const chunk = snap.data.subarray(offset, offset + this.snapshotChunkBytes);
    pr.snapshotIdleTicks = 0;
    this.send({
      type: 'snap',
      to,
      meta: snap.meta,
      offset,
      total: snap.data.length,
      chunk,
      done: offset + chunk.length >= snap.data.length,
    });
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', to });
  }

  private broadcastHeartbeat(context: string): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      this.send({
        type: 'heartbeat',
        to: id,
        commit: Math.min(pr.match, this.log.committed),
        context: pr.isLearner ? '' : context,
      });
    }
  }

  // ---------------------------------------------------------------------------------------
  // Membership

  private applyConfEntry(e: Entry): void {
    const cc = decodeConfChange(e.data);
    if (!cc) throw new InvariantViolation(`malformed membership change at index ${e.index}`);
    this.conf = applyConfChange(this.conf, cc);
    if (this.role !== 'leader') return;
    if (!this.conf.voters.includes(this.id) && !this.conf.learners.includes(this.id)) {
      // Removed leaders step down once the change is applied; the others elect a successor.
      this.becomeFollower(this.term, NO_NODE);
      return;
    }
    this.rebuildProgress();
    if (this.maybeCommit()) this.commitDue = true;
    this.appendsDue = true;
    // Reads waiting for acknowledgements now need a quorum of the new voters, which those
    // already received may make: with the leader the only voter left, none would ever come.
    this.releaseConfirmedReads();
  }

  /** Releases every read up to the newest one a quorum of the current voters confirmed. */
  private releaseConfirmedReads(): void {
    const quorum = quorumSize(this.conf.voters.length);
    const contexts = this.readOnly.contexts();
    for (let i = contexts.length - 1; i >= 0; i--) {
      const context = contexts[i] ?? '';
      let voterAcks = 0;
      for (const id of this.readOnly.acks(context)) if (this.conf.voters.includes(id)) voterAcks++;
      if (voterAcks < quorum) continue;
      for (const r of this.readOnly.release(context)) this.releaseRead(r.context, r.index, r.from);
      return;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Plumbing

  /** Queues a message. Votes may carry a term other than ours; everything else carries ours. */
  private send(m: DistributiveOmit<Message, 'from' | 'term'>, term = this.term): void {
    this.msgs.push({ ...m, from: this.id, term });
  }

  private hardStateChanged(): boolean {
    return this.term !== this.prevHard.term || this.vote !== this.prevHard.vote;
  }

  /**
   * The hard state a Ready must store, or null: when term or vote changed, or when it stores a
   * configuration entry (at its head, see ready()). The commit index it records covers only
   * entries already durable, so that it may be stored before this Ready's entries and still
   * never name an entry a crash could lose or a stale one it could keep; a snapshot being
   * installed is not durable yet either.
   */
  private hardStateToStore(entries: readonly Entry[], snapshot: Snapshot | null): HardState | null {
    const stored = this.prevHard.commit ?? 0;
    const commit = snapshot
      ? stored
      : Math.max(stored, Math.min(this.log.committed, this.log.persistedIndex()));
    const confAhead = entries[0]?.type === 'conf' && commit > stored;
    if (!this.hardStateChanged() && !confAhead) return null;
    return { term: this.term, vote: this.vote, commit };
  }

  private softStateChanged(): boolean {
    return this.leaderId !== this.prevSoft.leader || this.role !== this.prevSoft.role;
  }

  private assertNotInReady(): void {
    if (this.inReady) {
      throw new InvariantViolation('the core was driven between ready() and advance()');
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export type { ReadIndexMsg, ReadIndexRespMsg, VoteRespMsg };

/** A follower that lost its leader campaigns in turn: the first turn comes after this many ticks. */
export const FIRST_TURN_TICKS = 2;
/** Ticks between one follower's turn and the next one's (see `RaftCore.peerUnreachable`). */
export const TURN_STRIDE_TICKS = 3;

/**
 * How many ticks after losing its leader `self` campaigns (see `RaftCore.peerUnreachable`):
 * {@link FIRST_TURN_TICKS} for the lowest-id voter other than the lost leader, then
 * {@link TURN_STRIDE_TICKS} more for each next one, never later than `electionTicks`. Null for
 * a member that is not a voter.
 */
export function campaignTurnAfterLeaderLoss(
  voters: readonly NodeId[],
  lostLeader: NodeId,
  self: NodeId,
  electionTicks: number,
): number | null {
  const remaining = voters.filter((v) => v !== lostLeader).sort((a, b) => a - b);
  const rank = remaining.indexOf(self);
  if (rank < 0) return null;
  return Math.min(electionTicks, FIRST_TURN_TICKS + rank * TURN_STRIDE_TICKS);
}
