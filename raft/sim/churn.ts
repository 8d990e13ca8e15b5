/**
 * Membership churn, as operators change a cluster: episodes of single-server changes that
 * remove voters and add them back, shrink to a single voter and grow back, or replace a
 * member (remove it, wipe its disk, let it rejoin from an empty log, promote it). Its draws
 * come from the fault stream, interleaved with the faults' own, so it shares their Rng.
 */
import type { ConfChange, NodeId } from '../core/types.js';
import type { Rng } from '../../base/rng.js';
import { SimFileSystem } from '../storage/sim-fs.js';
import type { SimCluster } from './cluster.js';
import { stopMember, type SimNode } from './members.js';

/** What a membership episode wants each member to be, reached one change at a time. */
export type MemberRole = 'voter' | 'learner' | 'out';

export interface Episode {
  readonly kind: 'remove' | 'single' | 'replace' | 'restore';
  readonly desired: Map<NodeId, MemberRole>;
  /** For `replace`: the member to remove, wipe and add back; whether it was wiped yet. */
  readonly replace?: NodeId;
  wiped?: boolean;
}

export class MembershipChurn {
  /** When the change in flight was proposed; -1: none is. */
  membershipPendingSince = -1;
  /** Members whose membership change is in flight. */
  private readonly changing = new Set<NodeId>();
  episode: Episode | null = null;
  /** A membership change just applied and a member is to be killed (confRestartChance). */
  killAfterChange = false;
  /** Churn waits until this step after a refused change. */
  private churnRetryAt = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: Rng,
  ) {}

  /**
   * Takes the next step of the membership churn, one single-server change at a time, along
   * several paths: remove one or two voters and add them back (as learners that keep their
   * old log, then promoted); shrink to the leader as the only voter with the others as
   * learners and grow back; replace a member (remove, wipe, rejoin from an empty log,
   * promote). With `restoreOnly`, only the steps that bring the cluster back to full size are
   * taken (a replacement is finished).
   */
  advance(restoreOnly: boolean): void {
    const pending =
      this.membershipPendingSince >= 0 && this.cluster.now - this.membershipPendingSince < 400;
    if (pending && !this.cluster.profile.concurrentChurn) return;
    if (this.cluster.now < this.churnRetryAt) return;
    // A change whose answer never came within the window is forgotten (its leader is gone).
    if (!pending) this.changing.clear();
    const leader = this.cluster.nodes.find((n) => n.host?.status().role === 'leader');
    const host = leader?.host;
    if (!leader || !host) return;
    const status = host.status();
    const conf = status.conf;
    const roleOf = (id: NodeId): MemberRole =>
      conf.voters.includes(id) ? 'voter' : conf.learners.includes(id) ? 'learner' : 'out';
    const full = this.cluster.nodes.every((n) => roleOf(n.id) === 'voter');
    // A member that refused to start on corrupt storage is replaced before anything else.
    const held = this.cluster.nodes.find((n) => n.heldDown);
    if (held && this.episode?.replace !== held.id) this.beginReplace(held.id);
    if (restoreOnly && this.episode?.kind !== 'replace') {
      this.episode = full ? null : { kind: 'restore', desired: new Map() };
      if (full) return;
    }
    if (!this.episode) {
      if (full && conf.voters.length > 2 && !this.rotting()) {
        const others = conf.voters.filter((id) => id !== leader.id);
        const first = this.rng.pick(others);
        const second = this.rng.pick(others.filter((id) => id !== first));
        const victims = conf.voters.length >= 5 && this.rng.chance(0.4) ? [first, second] : [first];
        this.episode = {
          kind: 'remove',
          desired: new Map(victims.map((id) => [id, 'out'])),
        };
      } else if (!full) this.episode = { kind: 'restore', desired: new Map() };
      else return;
      this.cluster.log(`membership episode: ${describeEpisode(this.episode)}`);
    }
    const ep = this.episode;
    const want = (id: NodeId): MemberRole => {
      if (ep.kind === 'restore') return 'voter';
      if (ep.kind === 'replace' && id === ep.replace) return ep.wiped ? 'voter' : 'out';
      return ep.desired.get(id) ?? roleOf(id);
    };
    if (
      ep.kind === 'replace' &&
      ep.replace !== undefined &&
      !ep.wiped &&
      roleOf(ep.replace) === 'out'
    ) {
      const node = this.cluster.nodes[ep.replace - 1];
      if (node) this.wipe(node, status.snapshotIndex > 0);
      ep.wiped = true;
    }
    const ids = this.cluster.nodes.map((n) => n.id).filter((id) => !this.changing.has(id));
    let cc: ConfChange | null = null;
    const demote = ids.find((id) => roleOf(id) === 'voter' && want(id) !== 'voter');
    const drop = ids.find((id) => roleOf(id) === 'learner' && want(id) === 'out');
    const add = ids.find((id) => roleOf(id) === 'out' && want(id) !== 'out');
    const promote = ids.find((id) => roleOf(id) === 'learner' && want(id) === 'voter');
    // A leader removing itself to leave one voter is not done: should that voter restart
    // before it stores the removal's commit, it believes in two voters, and the removed
    // leader (its log longer) refuses it its vote; nothing brings them back (see README).
    const lastButOne = demote === leader.id && conf.voters.length === 2;
    if (lastButOne) {
      this.cluster.log(
        `membership episode abandoned (the leader would remove itself): ${describeEpisode(ep)}`,
      );
      this.episode = null;
      return;
    }
    if (demote !== undefined && conf.voters.length > 1) cc = { kind: 'remove', node: demote };
    else if (drop !== undefined) cc = { kind: 'remove', node: drop };
    else if (add !== undefined) cc = { kind: 'addLearner', node: add };
    else if (promote !== undefined) cc = { kind: 'promote', node: promote };
    if (cc === null) {
      // A new leader may not have applied every change it holds: judge only once it has.
      if (this.changing.size === 0 && !pending && status.applied >= status.commit) {
        this.cluster.log(`membership episode done: ${describeEpisode(ep)}`);
        this.episode = null;
      }
      return;
    }
    const change = cc;
    this.membershipPendingSince = this.cluster.now;
    this.changing.add(change.node);
    this.cluster.log(
      `n${leader.id} proposes ${change.kind} n${change.node}${pending ? ' (another change is in flight)' : ''}`,
    );
    host.proposeConfChange(change, (err) => {
      this.changing.delete(change.node);
      if (this.changing.size === 0) this.membershipPendingSince = -1;
      this.cluster.log(
        `${change.kind} n${change.node}: ${err ? `not done (${err.message})` : 'applied'}`,
      );
      // Refused (another change in flight, a leader without a commit in its term): an
      // operator would retry a little later, not every step.
      if (err) {
        this.churnRetryAt = this.cluster.now + 10;
        return;
      }
      this.cluster.faultStats.membershipChanges++;
      // Not here, inside the leader's processing: the next step's faults kill someone.
      if (this.cluster.chaos && this.cluster.profile.confRestartChance > 0) {
        this.killAfterChange ||= this.rng.chance(this.cluster.profile.confRestartChance);
      }
    });
  }

  /** Starts a membership episode drawn by its own knob, unless one is under way. */
  startEpisode(kind: 'replace' | 'single'): void {
    if (this.episode || this.membershipPendingSince >= 0 || this.rotting()) return;
    const leader = this.cluster.nodes.find((n) => n.host?.status().role === 'leader');
    const conf = leader?.host?.status().conf;
    if (!leader || !conf) return;
    if (kind === 'single') {
      if (conf.voters.length < 2) return;
      const desired = new Map<NodeId, MemberRole>(this.cluster.nodes.map((n) => [n.id, 'learner']));
      desired.set(leader.id, 'voter');
      this.cluster.faultStats.singleVoterPhases++;
      this.episode = { kind: 'single', desired };
    } else {
      // Only from a full membership: a member removed earlier and still running keeps an old
      // membership, in which the wiped member's vote (its log empty) would count (see README).
      // And with every member caught up: a wiped member promoted before it caught up holds
      // nothing yet, and losing a second member then loses what only they held.
      if (conf.voters.length !== this.cluster.nodes.length || !this.allCaughtUp()) return;
      const members = conf.voters.filter((id) => id !== leader.id);
      this.episode = {
        kind: 'replace',
        desired: new Map(),
        replace: this.rng.pick(members),
        wiped: false,
      };
    }
    this.cluster.log(`membership episode: ${describeEpisode(this.episode)}`);
  }

  /** Every member is up and holds everything the leader has committed. */
  allCaughtUp(): boolean {
    const leader = this.cluster.nodes
      .find((n) => n.host?.status().role === 'leader')
      ?.host?.status();
    if (!leader) return false;
    return this.cluster.nodes.every((n) => (n.host?.status().lastIndex ?? -1) >= leader.commit);
  }

  /**
   * A member has rotten storage, found or not yet: the membership must not shrink meanwhile,
   * or two voters with one of them lost for good would leave no quorum to remove it.
   */
  rotting(): boolean {
    return this.cluster.nodes.some((n) => n.heldDown || n.corruptedAt !== null);
  }

  /** A member refused to start on corrupt storage: replacing it goes before any other episode. */
  beginReplace(id: NodeId): void {
    this.episode = { kind: 'replace', desired: new Map(), replace: id, wiped: false };
    this.cluster.log(`membership episode: ${describeEpisode(this.episode)}`);
  }

  /**
   * The operator's part of a replacement, once the member is out of the membership: stop
   * it, give it an empty disk, and start it as a joiner a little later.
   */
  private wipe(node: SimNode, leaderHasSnapshot: boolean): void {
    if (node.host) this.cluster.readLosses++;
    stopMember(node);
    node.fs = new SimFileSystem();
    node.votes.clear();
    node.joiner = true;
    node.heldDown = false;
    node.corruptedAt = null;
    node.downUntil = this.cluster.now + this.rng.int(1, 20);
    this.cluster.faultStats.wipes++;
    if (!leaderHasSnapshot) this.cluster.faultStats.wipesBeforeLeaderSnapshot++;
    this.cluster.log(
      `n${node.id} wiped; it will join from an empty log (the leader ${leaderHasSnapshot ? 'has' : 'has no'} snapshot)`,
    );
  }
}

function describeEpisode(e: Episode): string {
  switch (e.kind) {
    case 'restore':
      return 'back to every member a voter';
    case 'replace':
      return `replace n${e.replace ?? '?'} (remove, wipe, rejoin as a learner, promote)`;
    case 'remove':
    case 'single':
      return `${e.kind}: ${[...e.desired].map(([id, role]) => `n${id} ${role}`).join(', ')}`;
  }
}
