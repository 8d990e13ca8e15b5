/**
 * The simulated network: it drops, duplicates and delays messages (so they arrive out of
 * order) while the run is in chaos, and refuses to carry them over broken links (a
 * partition, which the faults draw) until the partition heals. Delivery order is fixed by
 * the step a message is due and the order it was sent, so a seed replays exactly.
 */
import type { Message } from '../core/types.js';
import type { Rng } from '../../base/rng.js';
import type { SimCluster } from './cluster.js';
import type { SimHost, SimNode } from './members.js';

/** What the network needs from the rest of the simulation. */
export interface NetworkHooks {
  /** Sees each message a member sends, before the network decides its fate. */
  sent(from: SimNode, msg: Message): void;
  /** Sees each message just before a member receives it. */
  arriving(to: SimNode, msg: Message): void;
  /** Runs host work on a member, as the faults allow it (a power cut crashes it). */
  guard(node: SimNode, f: (h: SimHost) => void): void;
}

interface QueuedMessage {
  readonly at: number;
  readonly seq: number;
  readonly msg: Message;
}

export class SimNetwork {
  private readonly queue = new MessageHeap();
  /** Broken links, as `from>to`. */
  readonly blocked = new Set<string>();
  /** The step at which the broken links heal; -1: none are broken. */
  partitionHealAt = -1;
  private seq = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: Rng,
    private readonly hooks: NetworkHooks,
  ) {}

  /** Mends every broken link once the partition's time is up. */
  healWhenDue(): void {
    if (this.partitionHealAt >= 0 && this.cluster.now >= this.partitionHealAt) {
      this.blocked.clear();
      this.partitionHealAt = -1;
      this.cluster.log('network heals');
    }
  }

  /** Sends a member's messages, each to arrive 1..maxDelay steps from now, once or twice, or never. */
  send(from: SimNode, msgs: readonly Message[]): void {
    const r = this.rng;
    const c = this.cluster;
    for (const msg of msgs) {
      this.hooks.sent(from, msg);
      if (c.chaos && r.chance(c.profile.dropRate)) {
        this.lost(msg);
        continue;
      }
      const copies = c.chaos && r.chance(c.profile.duplicateRate) ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        this.queue.push({
          at: c.now + r.int(1, c.chaos ? c.profile.maxDelay : 2),
          seq: this.seq++,
          msg,
        });
      }
    }
  }

  /** A message that will not arrive; see readLosses. */
  private lost(msg: Message): void {
    if (msg.type === 'readIndex' || msg.type === 'readIndexResp') this.cluster.readLosses++;
  }

  /** Hands out the messages due by now; a paused member's wait until it runs again. */
  deliver(): void {
    const c = this.cluster;
    const later: QueuedMessage[] = [];
    for (let q = this.queue.peek(); q && q.at <= c.now; q = this.queue.peek()) {
      this.queue.pop();
      const to = c.nodes[q.msg.to - 1];
      if (!to || !to.host || this.blocked.has(`${q.msg.from}>${q.msg.to}`)) {
        this.lost(q.msg);
        continue;
      }
      if (c.now < to.pausedUntil) {
        later.push({ ...q, at: to.pausedUntil });
        continue;
      }
      this.hooks.arriving(to, q.msg);
      this.hooks.guard(to, (h) => h.receive(q.msg));
    }
    for (const q of later) this.queue.push(q);
  }
}

/** A binary min-heap of messages by delivery step, then send order (deterministic). */
class MessageHeap {
  private readonly items: QueuedMessage[] = [];

  push(q: QueuedMessage): void {
    const a = this.items;
    a.push(q);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p] as QueuedMessage, a[i] as QueuedMessage];
      i = p;
    }
  }

  peek(): QueuedMessage | undefined {
    return this.items[0];
  }

  pop(): QueuedMessage | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as QueuedMessage, a[i] as QueuedMessage];
        i = m;
      }
    }
    return top;
  }
}

function less(x: QueuedMessage | undefined, y: QueuedMessage | undefined): boolean {
  if (!x || !y) return false;
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}
