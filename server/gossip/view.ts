/**
 * A read-only view of gossip membership for the code that acts on it: gateways deciding
 * whether a service has a replica left (fail fast), `/metrics`, and the operator dashboard.
 *
 * SWIM forgets dead members after a while, and a member that just started knows nobody; a
 * naive "no live member of role R" would therefore refuse everything at start-up and stop
 * refusing once tombstones expire. {@link GossipView.unavailable} says a role is down only
 * when all of these hold:
 *
 * 1. the role has been seen: some member of it was in the view at some point (a gateway
 *    that never heard of a service has no opinion on it);
 * 2. the start-up window is over: `settleMs` have passed since the first contact with
 *    another member, time for the initial sync and the news that follows it;
 * 3. no member of the role is alive or suspect (a suspect is often just slow);
 * 4. the view is trustworthy: some other member is live, or every other member we know of
 *    left cleanly. When everyone else looks dead, this member is more likely cut off than
 *    the whole cluster down, and its requests should take their chance rather than be
 *    refused on the word of a deaf view.
 *
 * Members with the `observer` role (the dashboard) are ignored by all of these: watching
 * the cluster proves nothing about it. Members are remembered in their last known state
 * after the protocol forgets them, so the reason can still name them.
 */
import type { GossipStats } from './node.js';
import { isDown } from './swim.js';
import { OBSERVER_ROLE } from './types.js';
import type {
  MemberId,
  MemberIdentity,
  MemberState,
  MemberView,
  MembershipEvent,
} from './types.js';

/** What the view reads; a {@link GossipNode} is one, tests pass fakes. */
export interface MembershipSource {
  readonly self: MemberIdentity;
  members(): MemberView[];
  on(event: 'change', listener: (change: MembershipEvent) => void): () => void;
  stats(): GossipStats;
}

/** How many members of a role are in a state, for gauges. */
export interface MemberCount {
  readonly role: string;
  readonly state: MemberState;
  readonly count: number;
}

export interface GossipViewOptions {
  /**
   * The start-up window: how long after the first contact with another member the view has
   * no opinion on availability. Default 3 s (three default protocol periods).
   */
  readonly settleMs?: number;
  /** Milliseconds, monotonic enough; default `Date.now`. */
  readonly clock?: () => number;
}

const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];

/** See the module comment. */
export class GossipView {
  private readonly source: MembershipSource;
  private readonly settleMs: number;
  private readonly clock: () => number;
  /** Every member ever seen, in its latest known state (also after the protocol forgot it). */
  private readonly lastKnown = new Map<MemberId, MemberView>();
  private firstContactAt: number | null = null;
  private readonly unsubscribe: () => void;

  constructor(source: MembershipSource, options: GossipViewOptions = {}) {
    this.source = source;
    this.settleMs = options.settleMs ?? 3000;
    this.clock = options.clock ?? Date.now;
    this.unsubscribe = source.on('change', (change) => this.remember(change.member));
    this.current();
  }

  /** This member's id. */
  get self(): MemberId {
    return this.source.self.id;
  }

  /** The protocol's current view, this member included, ordered by id. */
  members(): MemberView[] {
    return this.current();
  }

  /**
   * Members of `role` in their latest known state, ordered by id: the current view plus the
   * members it has forgotten (dead or left long enough ago).
   */
  membersOf(role: string): MemberView[] {
    this.current();
    return [...this.lastKnown.values()].filter((m) => m.role === role).sort(byId);
  }

  /** Members of `role` that may be up: alive or suspect. */
  liveMembers(role: string): MemberView[] {
    return this.current().filter((m) => m.role === role && !isDown(m.state));
  }

  /** Members of `role` that answer their probes: alive only. */
  aliveMembers(role: string): MemberView[] {
    return this.current().filter((m) => m.role === role && m.state === 'alive');
  }

  /** Every role seen since this view was made, sorted. */
  roles(): string[] {
    this.current();
    return [...new Set([...this.lastKnown.values()].map((m) => m.role))].sort();
  }

  /** Whether a member of `role` has ever been in the view. */
  hasSeen(role: string): boolean {
    return this.membersOf(role).length > 0;
  }

  /**
   * The current view counted by role and state; every seen role has all four states (zero
   * included), so a gauge drops to 0 instead of vanishing.
   */
  counts(): MemberCount[] {
    const current = this.current();
    return this.roles().flatMap((role) =>
      STATES.map((state) => ({
        role,
        state,
        count: current.filter((m) => m.role === role && m.state === state).length,
      })),
    );
  }

  /** What gossip knows of `role`, in words: `users-1 dead, users-2 left`. */
  describe(role: string): string {
    const members = this.membersOf(role);
    if (members.length === 0) return `no ${role} member seen`;
    return members.map((m) => `${m.id} ${m.state}`).join(', ');
  }

  /**
   * Why `role` certainly has no replica up, as a sentence for a client; null when one may be
   * up or the view cannot tell (see the module comment for the rules).
   */
  unavailable(role: string): string | null {
    if (role === OBSERVER_ROLE) return null;
    // Asked on every request: one pass over what is known, no arrays copied or sorted (that
    // was four in ten of the bytes a gateway allocated under load).
    this.current();
    let seen = false;
    for (const member of this.lastKnown.values()) {
      if (member.role !== role) continue;
      if (!isDown(member.state)) return null;
      seen = true;
    }
    if (!seen || !this.settled() || !this.trustworthy()) return null;
    return `no ${role} service replica is alive (gossip: ${this.describe(role)})`;
  }

  /** The runtime's datagram counters. */
  stats(): GossipStats {
    return this.source.stats();
  }

  /** Stops following the source's changes. Idempotent. */
  close(): void {
    this.unsubscribe();
  }

  private settled(): boolean {
    return this.firstContactAt !== null && this.clock() - this.firstContactAt >= this.settleMs;
  }

  private trustworthy(): boolean {
    const peers = [...this.lastKnown.values()].filter(
      (m) => m.id !== this.self && m.role !== OBSERVER_ROLE,
    );
    return peers.some((m) => !isDown(m.state)) || peers.every((m) => m.state === 'left');
  }

  private current(): MemberView[] {
    const members = this.source.members();
    for (const member of members) this.remember(member);
    return members;
  }

  private remember(member: MemberView): void {
    const known = this.lastKnown.get(member.id);
    // A `removed` event carries the state the member was forgotten in, which is no news.
    if (known === undefined || !sameNews(known, member)) this.lastKnown.set(member.id, member);
    if (
      this.firstContactAt === null &&
      member.id !== this.self &&
      member.role !== OBSERVER_ROLE &&
      !isDown(member.state)
    ) {
      this.firstContactAt = this.clock();
    }
  }
}

function sameNews(a: MemberView, b: MemberView): boolean {
  return a.incarnation === b.incarnation && a.state === b.state && a.role === b.role;
}

function byId(a: MemberView, b: MemberView): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
