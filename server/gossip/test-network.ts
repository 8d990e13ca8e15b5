/**
 * A deterministic in-memory network for {@link Swim} cores: seeded latency, killed members,
 * broken links and lossy senders, on a virtual clock. The same seed replays the same run.
 */
import { Rng } from '../../base/rng.js';
import { Swim } from './swim.js';
import type { SwimConfig } from './swim.js';
import type { GossipMessage, MemberId, MemberView, MembershipEvent } from './types.js';

/** Protocol tunables the tests share: 1 s periods, stepped every 10 ms. */
export const TEST_PROTOCOL = {
  protocolPeriodMs: 1000,
  ackTimeoutMs: 300,
  indirectProbes: 3,
  suspicionMultiplier: 4,
  retransmitMultiplier: 4,
  maxPiggyback: 8,
  deadRetentionMs: 60_000,
  syncEveryPeriods: 10,
} satisfies Partial<SwimConfig>;

const STEP_MS = 10;

interface Member {
  core: Swim;
  up: boolean;
  /** Every event this member's view produced, with the time. */
  readonly events: { at: number; event: MembershipEvent }[];
}

interface InFlight {
  readonly deliverAt: number;
  readonly from: MemberId;
  readonly to: string;
  readonly message: GossipMessage;
}

/** One message as it left its sender, for assertions on traffic. */
export interface SentMessage {
  readonly at: number;
  readonly from: MemberId;
  readonly to: string;
  readonly message: GossipMessage;
}

export class TestNetwork {
  now = 0;
  readonly sent: SentMessage[] = [];
  private readonly rng: Rng;
  private readonly members = new Map<MemberId, Member>();
  private readonly byAddress = new Map<string, MemberId>();
  private inFlight: InFlight[] = [];
  private readonly brokenLinks = new Set<string>();
  private readonly ackLoss = new Map<MemberId, number>();

  constructor(
    seed: number,
    private readonly protocol: Partial<SwimConfig> = TEST_PROTOCOL,
  ) {
    this.rng = new Rng(seed);
  }

  static address(id: MemberId): string {
    return `${id}.test:7946`;
  }

  /** Starts a member (again, with a fresh core, if it existed) that joins through `seeds`. */
  start(id: MemberId, seeds: readonly MemberId[], role = 'users'): Swim {
    const random = this.rng.fork();
    const core = new Swim({
      ...this.protocol,
      self: { id, role, address: TestNetwork.address(id), meta: { zone: 'lab' } },
      seeds: seeds.map((seed) => TestNetwork.address(seed)),
      random: () => random.float(),
      now: this.now,
    });
    const previous = this.members.get(id);
    this.members.set(id, { core, up: true, events: previous?.events ?? [] });
    this.byAddress.set(TestNetwork.address(id), id);
    return core;
  }

  /** Starts `ids` all joining through the first one. */
  startAll(ids: readonly MemberId[]): void {
    const first = ids[0];
    if (first === undefined) return;
    for (const id of ids) this.start(id, id === first ? [] : [first]);
  }

  /** The member stops dead: it neither ticks nor receives, and says nothing. */
  kill(id: MemberId): void {
    this.member(id).up = false;
  }

  /** Every message between `a` and `b` is lost, both ways. */
  breakLink(a: MemberId, b: MemberId): void {
    this.brokenLinks.add(`${a}|${b}`).add(`${b}|${a}`);
  }

  /** Messages between `a` and `b` flow again. */
  healLink(a: MemberId, b: MemberId): void {
    this.brokenLinks.delete(`${a}|${b}`);
    this.brokenLinks.delete(`${b}|${a}`);
  }

  /** `id` loses this fraction of the acks it sends: a slow or overloaded member. */
  loseAcksFrom(id: MemberId, fraction: number): void {
    this.ackLoss.set(id, fraction);
  }

  core(id: MemberId): Swim {
    return this.member(id).core;
  }

  /** How `observer` sees `subject`, or undefined when it does not know it. */
  view(observer: MemberId, subject: MemberId): MemberView | undefined {
    return this.core(observer)
      .members()
      .find((m) => m.id === subject);
  }

  events(id: MemberId): { at: number; event: MembershipEvent }[] {
    return this.member(id).events;
  }

  /** Ids of every member ever started, killed ones included. */
  allMembers(): MemberId[] {
    return [...this.members.keys()];
  }

  /** Ids of running members. */
  running(): MemberId[] {
    return [...this.members].filter(([, m]) => m.up).map(([id]) => id);
  }

  /** Advances the clock by `ms`. */
  run(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) this.advance();
  }

  /** Advances until `done()` holds; returns the time it took, or throws after `limitMs`. */
  runUntil(done: () => boolean, limitMs: number): number {
    const start = this.now;
    while (!done()) {
      if (this.now - start >= limitMs) {
        throw new Error(`condition not reached within ${limitMs} ms (seed run at ${this.now})`);
      }
      this.advance();
    }
    return this.now - start;
  }

  private advance(): void {
    this.now += STEP_MS;
    const due = this.inFlight.filter((m) => m.deliverAt <= this.now);
    this.inFlight = this.inFlight.filter((m) => m.deliverAt > this.now);
    due.sort((a, b) => a.deliverAt - b.deliverAt);
    for (const item of due) {
      const toId = this.byAddress.get(item.to);
      const to = toId === undefined ? undefined : this.members.get(toId);
      if (toId === undefined || to === undefined || !to.up) continue;
      if (this.brokenLinks.has(`${item.from}|${toId}`)) continue;
      to.core.tick(this.now);
      to.core.step(item.message, TestNetwork.address(item.from));
      this.collect(toId, to);
    }
    for (const [id, member] of this.members) {
      if (!member.up) continue;
      member.core.tick(this.now);
      this.collect(id, member);
    }
  }

  private collect(id: MemberId, member: Member): void {
    for (const out of member.core.outbox()) {
      this.sent.push({ at: this.now, from: id, to: out.to, message: out.message });
      const loss = out.message.type === 'ack' ? (this.ackLoss.get(id) ?? 0) : 0;
      if (loss > 0 && this.rng.chance(loss)) continue;
      this.inFlight.push({
        deliverAt: this.now + this.rng.int(1, 20),
        from: id,
        to: out.to,
        message: out.message,
      });
    }
    for (const event of member.core.takeEvents()) member.events.push({ at: this.now, event });
  }

  private member(id: MemberId): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new Error(`no member ${id}`);
    return member;
  }
}
