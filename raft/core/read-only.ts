import type { NodeId } from './types.js';

interface PendingRead {
  readonly index: number;
  readonly from: NodeId;
  readonly acks: Set<NodeId>;
}

/**
 * ReadIndex requests waiting for a quorum of heartbeat acknowledgements (Raft §6.4).
 * A request is safe once a quorum has confirmed the leader is still the leader *after*
 * the request arrived; an ack for a later request confirms every earlier one too.
 */
export class ReadOnlyQueue {
  private readonly pending = new Map<string, PendingRead>();
  private order: string[] = [];

  add(context: string, index: number, from: NodeId, self: NodeId): void {
    if (this.pending.has(context)) return;
    this.pending.set(context, { index, from, acks: new Set([self]) });
    this.order.push(context);
  }

  /** Records `from`'s ack; returns how many members have acknowledged `context`. */
  recvAck(from: NodeId, context: string): number {
    const p = this.pending.get(context);
    if (!p) return 0;
    p.acks.add(from);
    return p.acks.size;
  }

  acks(context: string): ReadonlySet<NodeId> {
    return this.pending.get(context)?.acks ?? new Set();
  }

  /** Removes and returns every request up to and including `context`, oldest first. */
  release(context: string): { context: string; index: number; from: NodeId }[] {
    const at = this.order.indexOf(context);
    if (at < 0) return [];
    const done = this.order.slice(0, at + 1);
    this.order = this.order.slice(at + 1);
    return done.map((ctx) => {
      const p = this.pending.get(ctx);
      this.pending.delete(ctx);
      return { context: ctx, index: p?.index ?? 0, from: p?.from ?? 0 };
    });
  }

  /** The newest pending context, whose quorum confirms all older ones. */
  last(): string | undefined {
    return this.order[this.order.length - 1];
  }

  /** The pending contexts, oldest first. */
  contexts(): readonly string[] {
    return [...this.order];
  }

  size(): number {
    return this.order.length;
  }

  /** Drops everything (on losing leadership); returns what was dropped. */
  reset(): { context: string; from: NodeId }[] {
    const dropped = this.order.map((ctx) => ({
      context: ctx,
      from: this.pending.get(ctx)?.from ?? 0,
    }));
    this.pending.clear();
    this.order = [];
    return dropped;
  }
}
