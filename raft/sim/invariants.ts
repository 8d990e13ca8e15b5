/**
 * The invariant checks, the simulator's judge: as the run goes, state machine safety (one
 * command per index everywhere), election safety and leader completeness, the commit rule,
 * one membership change in flight at a time, log matching, one vote per member and term,
 * byte-identical snapshots, fresh reads, unique read contexts and answered forwarded reads;
 * at the end, byte-identical databases, every acknowledged write kept, and a linearizable
 * client history (base/linearizability.ts). A broken invariant throws {@link SimFailure}.
 */
import type { Message, NodeId, Role, Snapshot } from '../core/types.js';
import type { KvQuery } from '../kv/kv-state-machine.js';
import type { AppliedCommand } from '../runtime/host.js';
import type { Operation } from '../../base/history.js';
import { checkKvHistory } from '../../base/linearizability.js';
import type { SimCluster } from './cluster.js';
import type { SimNode } from './members.js';
import { describe, type AckedWrite, type InFlight } from './workload.js';

/** A broken invariant: the run stops and reports it. */
export class SimFailure extends Error {}

/** The history check's verdict, `unchecked` until it ran. */
export type HistoryVerdict = 'linearizable' | 'not_linearizable' | 'timeout' | 'unchecked';

const DECODER = new TextDecoder();

/** The checks of one run, with what they remember of it (applied entries, leaders, votes, reads). */
export class Invariants {
  /** index → the entry every member must have applied there. */
  private readonly applied = new Map<number, { term: number; data: string }>();
  /** term → its leader. */
  readonly leaders = new Map<number, NodeId>();
  private readonly snapshotDigests = new Map<number, string>();
  /** Read contexts members sent, with the run (start number) that sent them. */
  private readonly readContexts = new Map<string, number>();
  /** The start number of each member's current run. */
  private readonly runOf = new Map<NodeId, number>();
  historyVerdict: HistoryVerdict = 'unchecked';
  /** The highest commit index any member has reported: a read started now must see it. */
  private maxCommitSeen = 0;
  /** A read's query object → the commit index it must observe (see checkRead). */
  private readonly readFloor = new WeakMap<KvQuery, { required: number; op: Operation }>();

  constructor(
    private readonly cluster: SimCluster,
    /** Time the linearizability check may take before the run fails as unchecked. */
    private readonly checkBudgetMs: number,
  ) {}

  /** A member started its run number `run`. */
  memberStarted(id: NodeId, run: number): void {
    this.runOf.set(id, run);
  }

  /** Sees a message as a member sends it (see NetworkHooks). */
  sent(from: SimNode, msg: Message): void {
    if (msg.type === 'readIndexResp') from.heldReads.delete(msg.context);
    if (msg.type === 'voteResp' && msg.granted && !msg.pre) this.checkVote(from, msg.term, msg.to);
    if (msg.type === 'readIndex') this.checkReadContext(from, msg.context);
  }

  /** Sees a message as a member receives it: a leader now holds the reads forwarded to it. */
  arriving(to: SimNode, msg: Message): void {
    if (msg.type === 'readIndex' && to.host?.status().role === 'leader')
      to.heldReads.set(msg.context, this.cluster.now);
  }

  /** A member's role changed: if it stopped leading, its held reads are due soon. */
  roleChanged(node: SimNode, role: Role): void {
    // Its refusals leave with this Ready, after a background fsync at the latest.
    if (role !== 'leader' && node.heldReads.size > 0 && node.heldReadsDue < 0)
      node.heldReadsDue = this.cluster.now + this.cluster.profile.syncDelay + 2;
  }

  /** A client sends a read now: whoever serves it must have applied what is committed now. */
  readSent(query: KvQuery, op: Operation): void {
    this.readFloor.set(query, { required: this.observeCommits(), op });
  }

  /** State machine safety: every member applies the same command at the same index. */
  checkApply(node: NodeId, c: AppliedCommand): void {
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
  observeCommits(): number {
    for (const n of this.cluster.nodes) {
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
  checkRead(node: SimNode, q: KvQuery): void {
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
  checkReadAnswered(f: InFlight): void {
    if (f.op.input.kind !== 'get' || f.retryAt >= 0 || !this.cluster.chaos) return;
    if (f.lossMark !== this.cluster.readLosses || this.cluster.now - f.dispatchedAt < 300) return;
    // A leader whose clock stalled cannot step down, and its reads rightly wait for it.
    if (this.cluster.stalledUntil > f.dispatchedAt) return;
    const target = this.cluster.nodes[f.target - 1];
    if (!target?.host) return;
    // A member out of the membership hears from no leader and cannot catch up to a read's
    // index; its reads wait, as its clients' timeouts expect.
    const conf = this.cluster.nodes
      .find((n) => n.host?.status().role === 'leader')
      ?.host?.status().conf;
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
  checkHeldReads(): void {
    for (const node of this.cluster.nodes) {
      if (node.heldReadsDue < 0 || this.cluster.now < node.heldReadsDue) continue;
      if (this.cluster.now < node.pausedUntil) {
        // A paused member sends nothing; its answers are due once it runs again.
        node.heldReadsDue = node.pausedUntil + this.cluster.profile.syncDelay + 2;
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
  checkSnapshot(node: SimNode, snap: Snapshot, how: 'taken' | 'installed'): void {
    if (how === 'installed') this.cluster.stats.snapshotsInstalled++;
    const digest = digestBytes(snap.data);
    const known = this.snapshotDigests.get(snap.meta.index);
    if (known === undefined) this.snapshotDigests.set(snap.meta.index, digest);
    else if (known !== digest) {
      throw new SimFailure(
        `n${node.id} ${how} a snapshot at ${snap.meta.index} that differs from another member's`,
      );
    }
    this.cluster.log(`n${node.id} ${how} snapshot at ${snap.meta.index}`);
  }

  /**
   * Election safety and leader completeness; and two rules seen from outside: a leader's
   * commit index moves only to an entry of its own term (Raft §5.4.2; earlier entries commit
   * with it), and a leader's log holds at most one membership change above the highest
   * commit index known anywhere (one change at a time).
   */
  checkLeaders(): void {
    const committed = this.observeCommits();
    for (const node of this.cluster.nodes) {
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
  checkLogMatching(): void {
    const live = this.cluster.nodes.filter((n) => n.host);
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

  /** The checks once the cluster converged, over what the clients saw. */
  finalChecks(history: readonly Operation[], ackedWrites: readonly AckedWrite[]): void {
    this.checkLogMatching();
    // Every member's database is byte-identical once they applied the same log.
    const digests = new Set(
      this.cluster.nodes.map((n) => (n.sm ? digestBytes(n.sm.recording.snapshot()) : 'down')),
    );
    if (digests.size !== 1)
      throw new SimFailure(
        `members' databases differ after convergence: ${[...digests].join(', ')}`,
      );
    // Every acknowledged write is in the committed log, where it was acknowledged.
    for (const w of ackedWrites) {
      const e = this.applied.get(w.index);
      if (!e || e.term !== w.term) {
        throw new SimFailure(
          `acknowledged ${describe(w.op.input)} at index ${w.index} is missing after recovery`,
        );
      }
    }
    const verdict = checkKvHistory(history, { timeoutMs: this.checkBudgetMs });
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
}

function digestBytes(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] ?? 0), 0x01000193) >>> 0;
  return `${b.length}:${h.toString(16)}`;
}
