import type { Snapshot } from './types.js';

/**
 * A leader's view of one follower's log.
 *
 * - `probe`: the leader does not know where the logs agree. It sends one append at a time
 *   and waits for the answer (or the next heartbeat answer) before sending another.
 * - `replicate`: the logs agree up to `match`; appends are pipelined optimistically
 *   (`next` moves ahead of `match`), bounded by the inflight window.
 * - `snapshot`: the follower needs entries the leader has compacted; a snapshot is being
 *   streamed in chunks and appends wait until it is installed.
 */
export class Progress {
  match = 0;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot' = 'probe';
  /** In probe state: an append is outstanding. */
  probeSent = false;
  /**
   * Send an append even if it carries no entries: it probes a follower whose log may have
   * lost what we optimistically sent (a restart, dropped messages).
   */
  probeDue = false;
  /** Heard from during the current check-quorum window. */
  recentActive = false;
  /** Ticks since the last message from this member. */
  ticksSinceContact = 0;
  /** The snapshot being streamed and the next byte the follower expects. */
  snapshot: Snapshot | null = null;
  snapshotOffset = 0;
  /** Ticks since the last snapshot chunk was sent, to retransmit lost ones. */
  snapshotIdleTicks = 0;
  readonly inflights: Inflights;

  constructor(
    next: number,
    readonly isLearner: boolean,
    maxInflightMsgs: number,
    maxInflightBytes: number,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  becomeProbe(): void {
    // Coming back from a snapshot, the follower holds at least the snapshot's entries.
    const fromSnapshot = this.state === 'snapshot' ? (this.snapshot?.meta.index ?? 0) : 0;
    this.state = 'probe';
    this.probeSent = false;
    this.snapshot = null;
    this.snapshotOffset = 0;
    this.inflights.reset();
    this.next = Math.max(this.match, fromSnapshot) + 1;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.snapshot = null;
    this.inflights.reset();
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshot: Snapshot): void {
    this.state = 'snapshot';
    this.probeSent = false;
    this.snapshot = snapshot;
    this.snapshotOffset = 0;
    this.snapshotIdleTicks = 0;
    this.inflights.reset();
  }

  /** Records that the follower holds everything up to `index`; false if that is old news. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Pipelining: the leader sent entries up to `last` and assumes they will land. */
  optimisticUpdate(last: number): void {
    this.next = last + 1;
  }

  /**
   * The follower rejected an append whose previous entry was `rejected`; `hint` is the
   * highest index that may still match. Returns false when the rejection is stale (it
   * answers an append sent before the leader already moved on).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader must hold off sending appends to this follower. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}

/**
 * The window of appends sent but not yet acknowledged, limited by count and by bytes so a
 * slow follower cannot make the leader buffer without bound.
 */
export class Inflights {
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly maxMsgs: number,
    private readonly maxBytes: number,
  ) {}

  add(lastIndex: number, bytes: number): void {
    this.indexes.push(lastIndex);
    this.sizes.push(bytes);
    this.bytes += bytes;
  }

  /** Frees the oldest slot, so a window stuck on lost acknowledgements can move again. */
  freeFirstOne(): void {
    const first = this.indexes[this.head];
    if (first !== undefined) this.freeLE(first);
  }

  /** Frees every append whose last index is `<= index`. */
  freeLE(index: number): void {
    while (this.head < this.indexes.length && (this.indexes[this.head] ?? 0) <= index) {
      this.bytes -= this.sizes[this.head] ?? 0;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.indexes.length) {
      this.indexes.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
  }

  count(): number {
    return this.indexes.length - this.head;
  }

  full(): boolean {
    return this.count() >= this.maxMsgs || this.bytes >= this.maxBytes;
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.head = 0;
    this.bytes = 0;
  }
}
