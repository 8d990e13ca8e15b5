/**
 * The SWIM membership protocol (Das, Gupta, Motivala 2002) with the basics of Lifeguard
 * (Dadgar et al. 2018), as a pure, deterministic state machine: no timers, sockets, clocks or
 * `Math.random` inside. The runtime passes the time to {@link Swim.tick}, hands received
 * messages to {@link Swim.step}, and sends what {@link Swim.outbox} returns.
 *
 * Each protocol period a member probes one other member (round-robin over a shuffled list);
 * without an ack within `ackTimeoutMs` it asks `indirectProbes` others to probe on its behalf;
 * without any ack by the end of the period it marks the member suspect. A suspect that does
 * not refute (by raising its incarnation) within the suspicion timeout is declared dead, and
 * dead members are forgotten after `deadRetentionMs`. News travels piggybacked on every
 * message, each item a bounded number of times ({@link retransmitLimit}), and is also pushed
 * to a few members every gossip interval while there is any (as HashiCorp memberlist does).
 * From Lifeguard: a prober tells a suspect of its suspicion (buddy system), and a suspect
 * refutes at once and directly to whoever still accuses it. Beyond it, a member that hears
 * an accusation of a member it held alive passes it to the accused, which matters when a
 * partition heals (see {@link Swim.learn}).
 */
import { GossipError } from './errors.js';
import type {
  GossipMessage,
  MemberId,
  MemberIdentity,
  MemberProof,
  MemberState,
  MemberUpdate,
  MemberView,
  MembershipEvent,
  OutgoingMessage,
  PingReqMessage,
} from './types.js';

/** Tunables of one member. Times are in milliseconds of the clock the runtime passes in. */
export interface SwimConfig {
  readonly self: MemberIdentity;
  /** Addresses (`host:port`) to join through; the member's own address is skipped. */
  readonly seeds?: readonly string[];
  /** Injected randomness in [0, 1). */
  readonly random: () => number;
  /** The clock reading at creation. */
  readonly now: number;
  /** Length of one protocol period: one probe per period. Default 1000. */
  readonly protocolPeriodMs?: number;
  /** Wait this long for a direct ack before asking for indirect probes. Default 400. */
  readonly ackTimeoutMs?: number;
  /** How many members to ask for an indirect probe (SWIM's k). Default 3. */
  readonly indirectProbes?: number;
  /** Suspicion lasts this many periods times max(1, log10 n). Default 4. */
  readonly suspicionMultiplier?: number;
  /** Each news item is sent this many times ceil(log10(n + 1)) (SWIM's λ). Default 4. */
  readonly retransmitMultiplier?: number;
  /** At most this many news items ride on one message. Default 8. */
  readonly maxPiggyback?: number;
  /** Dead and left members stay in the view this long, so stale news cannot revive them. */
  readonly deadRetentionMs?: number;
  /** While there is news, send it to `gossipFanout` members this often. Default 200. */
  readonly gossipIntervalMs?: number;
  /** Default 3. */
  readonly gossipFanout?: number;
  /** Every this many periods, exchange the whole view with a random member or seed. */
  readonly syncEveryPeriods?: number;
  /** Start above a previous life's incarnation when the runtime remembers it. Default 0. */
  readonly initialIncarnation?: number;
  /**
   * Signs this member's identity at an incarnation (`proof.ts`). Called once per incarnation;
   * without it this member's news carries no proof, which only a cluster that checks none
   * (the protocol's own tests) accepts.
   */
  readonly prove?: (identity: MemberIdentity, incarnation: number, leaving: boolean) => MemberProof;
}

type Tunables = Required<Omit<SwimConfig, 'self' | 'seeds' | 'random' | 'now' | 'prove'>>;

const DEFAULTS: Tunables = {
  protocolPeriodMs: 1000,
  ackTimeoutMs: 400,
  indirectProbes: 3,
  suspicionMultiplier: 4,
  retransmitMultiplier: 4,
  maxPiggyback: 8,
  deadRetentionMs: 30_000,
  syncEveryPeriods: 10,
  gossipIntervalMs: 200,
  gossipFanout: 3,
  initialIncarnation: 0,
};

/** Rank of a state among news with the same incarnation: later ranks win. */
const STATE_RANK: Readonly<Record<MemberState, number>> = {
  alive: 0,
  suspect: 1,
  dead: 2,
  left: 2,
};

/**
 * The ordering of news about one member (SWIM §4.2): a higher incarnation always wins; at
 * the same incarnation suspect beats alive and dead (or left) beats both. Only the member
 * itself raises its incarnation, so a suspicion can be overturned only by that member.
 */
export function supersedes(next: MemberUpdate, current: MemberUpdate | undefined): boolean {
  if (current === undefined) return true;
  if (next.incarnation !== current.incarnation) return next.incarnation > current.incarnation;
  return STATE_RANK[next.state] > STATE_RANK[current.state];
}

/** How many times each news item is piggybacked in a cluster of `n` members (λ·log n). */
export function retransmitLimit(n: number, multiplier: number): number {
  return multiplier * Math.max(1, Math.ceil(Math.log10(n + 1)));
}

/** True for the states of a member that no longer takes part. */
export function isDown(state: MemberState): boolean {
  return state === 'dead' || state === 'left';
}

interface Entry {
  update: MemberUpdate;
  since: number;
  /** When a suspect is declared dead. */
  suspectDeadline: number;
  /** When a dead or left member is forgotten. */
  removeAt: number;
  /**
   * False for the tombstone of a member this view never knew: it only keeps older "alive"
   * news from reviving the member, and is never passed on. Passing it on would let members
   * that forgot the member at different times hand the record back and forth, each adoption
   * restarting its retention, so it would never be forgotten.
   */
  shared: boolean;
}

interface Probe {
  readonly target: MemberId;
  readonly seq: number;
  readonly sentAt: number;
  indirectSent: boolean;
  acked: boolean;
}

interface Relay {
  readonly replyTo: string;
  readonly seq: number;
  readonly expiresAt: number;
}

interface Broadcast {
  readonly update: MemberUpdate;
  transmits: number;
}

/** One member's view of the cluster and its part in the protocol. */
export class Swim {
  private self: MemberIdentity;
  private readonly seeds: readonly string[];
  private readonly random: () => number;
  private readonly prove: SwimConfig['prove'];
  /** The proof of this member's current identity and incarnation, once signed. */
  private proof: { readonly incarnation: number; readonly proof: MemberProof } | null = null;
  private readonly opts: Tunables;

  private now: number;
  private incarnation: number;
  private leaving = false;
  private readonly view = new Map<MemberId, Entry>();
  /** {@link members}, until the view changes (every change goes through `setEntry` or `forget`). */
  private membersCache: MemberView[] | null = null;
  private probeOrder: MemberId[] = [];
  private probeIndex = 0;
  private probe: Probe | null = null;
  private nextProbeAt: number;
  private nextGossipAt: number;
  private periods = 0;
  private seq = 0;
  private readonly relays = new Map<number, Relay>();
  private readonly broadcasts = new Map<MemberId, Broadcast>();
  private outgoing: OutgoingMessage[] = [];
  private events: MembershipEvent[] = [];

  constructor(config: SwimConfig) {
    const opts: Tunables = {
      protocolPeriodMs: config.protocolPeriodMs ?? DEFAULTS.protocolPeriodMs,
      ackTimeoutMs: config.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs,
      indirectProbes: config.indirectProbes ?? DEFAULTS.indirectProbes,
      suspicionMultiplier: config.suspicionMultiplier ?? DEFAULTS.suspicionMultiplier,
      retransmitMultiplier: config.retransmitMultiplier ?? DEFAULTS.retransmitMultiplier,
      maxPiggyback: config.maxPiggyback ?? DEFAULTS.maxPiggyback,
      deadRetentionMs: config.deadRetentionMs ?? DEFAULTS.deadRetentionMs,
      syncEveryPeriods: config.syncEveryPeriods ?? DEFAULTS.syncEveryPeriods,
      gossipIntervalMs: config.gossipIntervalMs ?? DEFAULTS.gossipIntervalMs,
      gossipFanout: config.gossipFanout ?? DEFAULTS.gossipFanout,
      initialIncarnation: config.initialIncarnation ?? DEFAULTS.initialIncarnation,
    };
    checkTunables(opts);
    this.opts = opts;
    this.self = { ...config.self, meta: { ...config.self.meta } };
    this.seeds = (config.seeds ?? []).filter((address) => address !== config.self.address);
    this.random = config.random;
    this.prove = config.prove;
    this.now = config.now;
    this.incarnation = opts.initialIncarnation;
    this.nextProbeAt = config.now;
    this.nextGossipAt = config.now;
    const update = this.selfUpdate('alive');
    this.view.set(this.self.id, {
      update,
      since: this.now,
      suspectDeadline: 0,
      removeAt: 0,
      shared: true,
    });
    this.enqueue(update);
  }

  /** This member's id. */
  get id(): MemberId {
    return this.self.id;
  }

  /**
   * The local view, this member included, ordered by id. Built again only after the view
   * changed: a gateway asks on every request whether a service has a replica up, and
   * copying and sorting the view each time was 1.5 % of its CPU under load.
   */
  members(): MemberView[] {
    this.membersCache ??= [...this.view.values()]
      .map((entry) => ({ ...entry.update, since: entry.since }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.membersCache.slice();
  }

  /**
   * Members of `role` that may be up: alive or suspect. Suspects count because a suspicion
   * is often a slow member, not a dead one; callers that fail fast do so only when none of
   * a role's members is left in either state.
   */
  liveMembers(role?: string): MemberView[] {
    return this.members().filter(
      (m) => !isDown(m.state) && (role === undefined || m.role === role),
    );
  }

  /** Messages to send since the last call, oldest first; the caller owns them now. */
  outbox(): OutgoingMessage[] {
    const out = this.outgoing;
    this.outgoing = [];
    return out;
  }

  /** Changes of the view since the last call, oldest first. */
  takeEvents(): MembershipEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  /** Whether {@link leave} was called: the member no longer probes nor answers. */
  get hasLeft(): boolean {
    return this.leaving;
  }

  /**
   * Advances the clock to `now` (never backwards): starts probes, escalates to indirect
   * probes, turns unanswered probes into suspicions and expired suspicions into deaths.
   */
  tick(now: number): void {
    if (now > this.now) this.now = now;
    if (this.leaving) return;
    for (const [seq, relay] of this.relays) {
      if (relay.expiresAt <= this.now) this.relays.delete(seq);
    }
    this.expireSuspicionsAndTombstones();
    const probe = this.probe;
    if (
      probe !== null &&
      !probe.acked &&
      !probe.indirectSent &&
      this.now >= probe.sentAt + this.opts.ackTimeoutMs
    ) {
      probe.indirectSent = true;
      this.sendIndirectProbes(probe);
    }
    if (this.now >= this.nextProbeAt) {
      if (probe !== null && !probe.acked) this.probeFailed(probe.target);
      this.probe = null;
      this.periods++;
      this.nextProbeAt = this.now + this.opts.protocolPeriodMs;
      const probing = this.startProbe();
      if (!probing || this.periods % this.opts.syncEveryPeriods === 0) this.sync(probing);
      else this.knockOnTheDead();
    }
    if (this.now >= this.nextGossipAt) {
      this.nextGossipAt = this.now + this.opts.gossipIntervalMs;
      this.gossip();
    }
  }

  /** Handles one message received from `from` (the sender's `host:port`). */
  step(message: GossipMessage, from: string): void {
    if (this.leaving) return;
    let accused = false;
    for (const update of message.updates) accused ||= this.learn(update);
    if (accused) {
      // The sender accuses us (or still does after we refuted): tell it directly.
      this.send(from, { type: 'gossip' }, [this.selfUpdate('alive')]);
    }
    switch (message.type) {
      case 'ping':
        // Someone else may now live at an address we had for `target`: only it may answer.
        if (message.target === this.self.id) this.send(from, { type: 'ack', seq: message.seq });
        return;
      case 'ack': {
        if (this.probe !== null && this.probe.seq === message.seq) {
          this.probe.acked = true;
          return;
        }
        const relay = this.relays.get(message.seq);
        if (relay !== undefined) {
          this.relays.delete(message.seq);
          this.send(relay.replyTo, { type: 'ack', seq: relay.seq });
        }
        return;
      }
      case 'pingReq':
        this.relayProbe(message, from);
        return;
      case 'gossip':
        return;
      case 'sync':
        for (const update of message.members) this.learn(update);
        if (!message.reply) {
          this.send(from, { type: 'sync', reply: true, members: this.snapshot() });
        }
        return;
    }
  }

  /**
   * Announces new metadata for this member (for example a changed HTTP port); the higher
   * incarnation makes it win over what others hold.
   */
  updateMeta(meta: Readonly<Record<string, string>>): void {
    if (this.leaving) return;
    this.self = { ...this.self, meta: { ...meta } };
    this.refresh();
  }

  /**
   * Leaves gracefully: marks this member `left` and tells a few live members at once, so
   * the others learn of a clean shutdown instead of suspecting a failure. The runtime
   * should flush {@link outbox} and then stop; afterwards the member ignores everything.
   */
  leave(): void {
    if (this.leaving) return;
    const update = this.selfUpdate('left');
    this.setEntry(update);
    this.enqueue(update);
    const peers = this.pick(this.peersIn('alive'), Math.max(3, this.opts.indirectProbes));
    for (const peer of peers) {
      this.send(peer.address, { type: 'ping', seq: this.nextSeq(), target: peer.id }, [update]);
    }
    this.leaving = true;
    this.probe = null;
    this.relays.clear();
  }

  private selfUpdate(state: MemberState): MemberUpdate {
    const update: MemberUpdate = { ...this.self, incarnation: this.incarnation, state };
    if (this.prove === undefined) return update;
    // Only this member says it leaves: `left` has a proof of its own, made once.
    if (state === 'left') {
      return { ...update, proof: this.prove(this.self, this.incarnation, true) };
    }
    // Identity changes (`updateMeta`) always raise the incarnation, so it keys the proof.
    if (this.proof?.incarnation !== this.incarnation) {
      this.proof = {
        incarnation: this.incarnation,
        proof: this.prove(this.self, this.incarnation, false),
      };
    }
    return { ...update, proof: this.proof.proof };
  }

  private refresh(): void {
    this.incarnation++;
    const update = this.selfUpdate('alive');
    this.setEntry(update);
    this.enqueue(update);
  }

  /**
   * Applies one news item if it is newer than what the view holds. True when it accuses
   * this member: the sender is told the refutation directly.
   */
  private learn(update: MemberUpdate): boolean {
    if (update.id === this.self.id) return this.learnAboutSelf(update);
    const entry = this.view.get(update.id);
    if (entry === undefined && isDown(update.state)) {
      // Keep a tombstone of a member we never saw, so older "alive" news cannot revive it,
      // but keep it to ourselves (see `Entry.shared`).
      this.setEntry(update, false);
      return false;
    }
    if (!supersedes(update, entry?.update)) return false;
    const before = entry?.update;
    const view = this.setEntry(update);
    this.enqueue(update);
    this.report(before, view);
    if ((update.state === 'suspect' || update.state === 'dead') && before?.state === 'alive') {
      // Hearsay about a member this one held alive: tell the accused at once, so that it
      // refutes if it can. After a partition heals, the side that was cut off declares the
      // other side dead; waiting for the rumour to reach the accused took minutes.
      this.send(update.address, { type: 'gossip' }, [update]);
    }
    return false;
  }

  /**
   * News that this member is suspect or dead is refuted with a higher incarnation, told at
   * once to a few members: the accused is often a slow member whose piggybacked answers get
   * lost. An accusation older than the refutation means it has not reached everyone yet, so
   * the refutation goes back on the queue.
   */
  private learnAboutSelf(update: MemberUpdate): boolean {
    const fromPreviousLife = update.incarnation > this.incarnation;
    const accused = update.state !== 'alive';
    const mistaken =
      update.state === 'alive' &&
      update.incarnation === this.incarnation &&
      !sameIdentity(update, this.self);
    if (accused && update.incarnation < this.incarnation) {
      if (!this.broadcasts.has(this.self.id)) this.enqueue(this.selfUpdate('alive'));
      return true;
    }
    if (!fromPreviousLife && !accused && !mistaken) return false;
    this.incarnation = Math.max(this.incarnation, update.incarnation);
    this.refresh();
    if (accused) this.gossip([this.selfUpdate('alive')]);
    return accused;
  }

  private report(before: MemberUpdate | undefined, view: MemberView): void {
    const was = before?.state;
    const push = (kind: MembershipEvent['kind']) => this.events.push({ kind, member: view });
    switch (view.state) {
      case 'alive':
        if (was === undefined || isDown(was)) push('joined');
        else if (was === 'suspect') push('alive');
        else if (before !== undefined && !sameIdentity(before, view)) push('updated');
        return;
      case 'suspect':
        if (was === undefined || isDown(was)) push('joined');
        if (was !== 'suspect') push('suspect');
        return;
      case 'dead':
      case 'left':
        if (was === undefined || !isDown(was)) push(view.state);
        return;
    }
  }

  private setEntry(update: MemberUpdate, shared = true): MemberView {
    this.membersCache = null;
    const previous = this.view.get(update.id);
    const since = previous?.update.state === update.state ? previous.since : this.now;
    this.view.set(update.id, {
      update,
      since,
      suspectDeadline:
        update.state === 'suspect'
          ? previous?.update.state === 'suspect'
            ? previous.suspectDeadline
            : this.now + this.suspicionTimeout()
          : 0,
      removeAt: isDown(update.state) ? this.now + this.opts.deadRetentionMs : 0,
      shared,
    });
    return { ...update, since };
  }

  private expireSuspicionsAndTombstones(): void {
    for (const [id, entry] of this.view) {
      if (id === this.self.id) continue;
      if (entry.update.state === 'suspect' && entry.suspectDeadline <= this.now) {
        const update: MemberUpdate = { ...entry.update, state: 'dead' };
        const before = entry.update;
        const view = this.setEntry(update);
        this.enqueue(update);
        this.report(before, view);
      } else if (isDown(entry.update.state) && entry.removeAt <= this.now) {
        this.forget(id);
        this.broadcasts.delete(id);
        // A private tombstone was never reported, so its end is not news either.
        if (entry.shared) {
          this.events.push({ kind: 'removed', member: { ...entry.update, since: this.now } });
        }
      }
    }
  }

  private forget(id: MemberId): void {
    this.membersCache = null;
    this.view.delete(id);
  }

  /** Suspicion lasts longer in bigger clusters, where news takes longer to reach everyone. */
  private suspicionTimeout(): number {
    const n = this.countMembers();
    return this.opts.suspicionMultiplier * Math.max(1, Math.log10(n)) * this.opts.protocolPeriodMs;
  }

  private countMembers(): number {
    let n = 0;
    for (const entry of this.view.values()) if (!isDown(entry.update.state)) n++;
    return n;
  }

  /** Sends the period's ping; false when there is nobody to probe. */
  private startProbe(): boolean {
    const target = this.nextProbeTarget();
    if (target === undefined) return false;
    const seq = this.nextSeq();
    this.probe = { target: target.id, seq, sentAt: this.now, indirectSent: false, acked: false };
    // Lifeguard's buddy system: a suspect learns of the suspicion from its prober at once.
    const buddy = target.state === 'suspect' ? [target] : [];
    this.send(target.address, { type: 'ping', seq, target: target.id }, buddy);
    return true;
  }

  /** Round-robin over a shuffled list, reshuffled each round (SWIM §4.3). */
  private nextProbeTarget(): MemberUpdate | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.probeIndex < this.probeOrder.length) {
        const id = this.probeOrder[this.probeIndex++];
        const entry = id === undefined ? undefined : this.view.get(id);
        if (entry !== undefined && !isDown(entry.update.state)) return entry.update;
      }
      this.probeOrder = this.shuffle([
        ...this.peersIn('alive').map((m) => m.id),
        ...this.peersIn('suspect').map((m) => m.id),
      ]);
      this.probeIndex = 0;
      if (this.probeOrder.length === 0) return undefined;
    }
    return undefined;
  }

  private sendIndirectProbes(probe: Probe): void {
    const target = this.view.get(probe.target)?.update;
    if (target === undefined || isDown(target.state)) return;
    const helpers = this.pick(
      this.peersIn('alive').filter((m) => m.id !== probe.target),
      this.opts.indirectProbes,
    );
    for (const helper of helpers) {
      this.send(helper.address, {
        type: 'pingReq',
        seq: probe.seq,
        target: target.id,
        targetAddress: target.address,
      });
    }
  }

  /**
   * Pings `request.target` for `from`, at the address this view holds for it: a member is
   * never made to send to an address only the request names (anyone holding the cluster
   * key could otherwise aim every member at a host of their choosing).
   */
  private relayProbe(request: PingReqMessage, from: string): void {
    const target = this.view.get(request.target)?.update;
    if (target === undefined || isDown(target.state) || target.id === this.self.id) return;
    const seq = this.nextSeq();
    // The requester waits until the end of its period; a relay is useless after that.
    this.relays.set(seq, {
      replyTo: from,
      seq: request.seq,
      expiresAt: this.now + this.opts.protocolPeriodMs,
    });
    const buddy = target.state === 'suspect' ? [target] : [];
    this.send(target.address, { type: 'ping', seq, target: target.id }, buddy);
  }

  private probeFailed(id: MemberId): void {
    const entry = this.view.get(id);
    if (entry === undefined || entry.update.state !== 'alive') return;
    const before = entry.update;
    const update: MemberUpdate = { ...before, state: 'suspect' };
    const view = this.setEntry(update);
    this.enqueue(update);
    this.report(before, view);
  }

  /**
   * Spreads queued news to a few live members (suspects too: a suspect that hears of its
   * suspicion can refute it). Each message draws on the news budget like any other.
   */
  private gossip(first: readonly MemberUpdate[] = []): void {
    const peers = this.pick(
      [...this.peersIn('alive'), ...this.peersIn('suspect')],
      this.opts.gossipFanout,
    );
    for (const peer of peers) {
      if (first.length === 0 && this.broadcasts.size === 0) return;
      this.send(peer.address, { type: 'gossip' }, first);
    }
  }

  /**
   * Push-pull with a random live member or seed. When `probing` is false nobody is known,
   * so every seed is tried: that is how a member joins.
   */
  private sync(probing: boolean): void {
    const candidates = new Set<string>(this.peersIn('alive').map((m) => m.address));
    for (const seed of this.seeds) candidates.add(seed);
    const targets = probing ? this.pick([...candidates], 1) : this.seeds;
    for (const to of targets) {
      this.send(to, { type: 'sync', reply: false, members: this.snapshot() });
    }
  }

  /**
   * Every period, push-pull with one member believed dead, while any is. One that was only
   * cut off answers as soon as the partition heals, and the two halves learn of each other
   * within a period instead of at the next sync that happens to cross.
   */
  private knockOnTheDead(): void {
    const [dead] = this.pick(this.peersIn('dead'), 1);
    if (dead !== undefined) {
      this.send(dead.address, { type: 'sync', reply: false, members: this.snapshot() });
    }
  }

  private snapshot(): MemberUpdate[] {
    return [...this.view.values()].filter((entry) => entry.shared).map((entry) => entry.update);
  }

  private peersIn(state: MemberState): MemberUpdate[] {
    const peers: MemberUpdate[] = [];
    for (const entry of this.view.values()) {
      if (entry.update.id !== this.self.id && entry.update.state === state) {
        peers.push(entry.update);
      }
    }
    return peers;
  }

  private enqueue(update: MemberUpdate): void {
    // Only the newest news about a member is worth spreading.
    this.broadcasts.delete(update.id);
    this.broadcasts.set(update.id, { update, transmits: 0 });
  }

  /** Picks the least-sent news, `first` before all, up to `maxPiggyback` items. */
  private piggyback(first: readonly MemberUpdate[]): MemberUpdate[] {
    const chosen = first.slice(0, this.opts.maxPiggyback);
    const limit = retransmitLimit(this.countMembers(), this.opts.retransmitMultiplier);
    const queued = [...this.broadcasts.values()]
      .filter((b) => !chosen.some((u) => u.id === b.update.id))
      .sort((a, b) => a.transmits - b.transmits)
      .slice(0, this.opts.maxPiggyback - chosen.length);
    for (const broadcast of queued) {
      chosen.push(broadcast.update);
      broadcast.transmits++;
      if (broadcast.transmits >= limit) this.broadcasts.delete(broadcast.update.id);
    }
    return chosen;
  }

  private send(
    to: string,
    message: DistributiveOmit<GossipMessage, 'from' | 'updates'>,
    first: readonly MemberUpdate[] = [],
  ): void {
    const full = { ...message, from: this.self.id, updates: this.piggyback(first) };
    this.outgoing.push({ to, message: full });
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) % Number.MAX_SAFE_INTEGER;
    return this.seq;
  }

  private pick<T>(items: readonly T[], count: number): T[] {
    return this.shuffle([...items]).slice(0, count);
  }

  /** Fisher–Yates with the injected randomness. */
  private shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const a = items[i] as T;
      items[i] = items[j] as T;
      items[j] = a;
    }
    return items;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function sameIdentity(a: MemberIdentity, b: MemberIdentity): boolean {
  if (a.role !== b.role || a.address !== b.address) return false;
  const keys = Object.keys(a.meta);
  if (keys.length !== Object.keys(b.meta).length) return false;
  return keys.every((key) => a.meta[key] === b.meta[key]);
}

function checkTunables(opts: Tunables): void {
  for (const [name, value] of Object.entries(opts)) {
    const allowsZero = name === 'initialIncarnation';
    if (!Number.isFinite(value) || value < 0 || (!allowsZero && value === 0)) {
      throw new GossipError('invalid_config', `gossip: ${name} must be a positive number`);
    }
  }
  if (opts.ackTimeoutMs >= opts.protocolPeriodMs) {
    // Indirect probes need the rest of the period to come back.
    throw new GossipError('invalid_config', 'gossip: ackTimeoutMs must be below protocolPeriodMs');
  }
}
