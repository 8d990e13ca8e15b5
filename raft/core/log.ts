import { InvariantViolation } from './errors.js';
import type { Entry, Snapshot } from './types.js';

/** Approximate wire size of an entry: its payload plus the fixed fields. */
export function entryBytes(e: Entry): number {
  return e.data.length + 24;
}

/**
 * The in-memory view of one member's Raft log.
 *
 * Entries `(base, last]` are held in memory; `base` is the entry just before the first one
 * held (its term is kept so that `term(base)` answers consistency checks after compaction).
 * Indexes move in one direction only: `applied <= committed <= last`, and `committed`
 * never decreases. `stable` is the highest index already handed to storage; entries after
 * it are the "unstable" tail the next Ready asks the runtime to persist.
 */
export class RaftLog {
  private baseIndex: number;
  private baseTerm: number;
  private entries: Entry[];
  /** Highest index known committed on a quorum. */
  committed: number;
  /** Highest index the state machine has applied (acknowledged via advance). */
  applied: number;
  /** Highest index handed out in a Ready for applying, not yet acknowledged. */
  applying: number;
  /** Highest index handed to storage. */
  private stable: number;
  /** A snapshot received from the leader that storage and the state machine have not taken yet. */
  unstableSnapshot: Snapshot | null = null;

  /**
   * `committed` is what the member knew committed before it stopped (clamped to the log it
   * recovered): entries up to it may be applied at once, and must be before it campaigns.
   */
  constructor(init: { snapshot: Snapshot | null; entries: readonly Entry[]; committed?: number }) {
    this.baseIndex = init.snapshot?.meta.index ?? 0;
    this.baseTerm = init.snapshot?.meta.term ?? 0;
    this.entries = [...init.entries];
    const first = this.entries[0];
    if (first && first.index !== this.baseIndex + 1) {
      throw new InvariantViolation(
        `log starts at ${first.index} but the snapshot ends at ${this.baseIndex}`,
      );
    }
    // A recorded commit index points only into entries that were durable when it was
    // written, so it is never beyond the recovered log; clamping keeps a log that lost its
    // tail to a snapshot install (durable-log.ts drops a log that does not continue the
    // snapshot) from claiming entries it no longer holds.
    this.committed = Math.min(Math.max(init.committed ?? 0, this.baseIndex), this.lastIndex());
    this.applied = this.baseIndex;
    this.applying = this.baseIndex;
    this.stable = this.lastIndex();
  }

  /**
   * The highest index storage has made durable that still holds our entry (entries replaced
   * in memory since are not counted): what the leader may count as its own copy.
   */
  persistedIndex(): number {
    return this.stable;
  }

  firstIndex(): number {
    return this.baseIndex + 1;
  }

  lastIndex(): number {
    return this.baseIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The index just before the first entry held in memory (a snapshot or compaction point). */
  base(): { index: number; term: number } {
    return { index: this.baseIndex, term: this.baseTerm };
  }

  /** The term of entry `i`, or undefined when it is compacted away or beyond the end. */
  term(i: number): number | undefined {
    if (i === this.baseIndex) return this.baseTerm;
    if (i < this.baseIndex || i > this.lastIndex()) return undefined;
    return this.entries[i - this.baseIndex - 1]?.term;
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  entry(i: number): Entry | undefined {
    if (i <= this.baseIndex) return undefined;
    return this.entries[i - this.baseIndex - 1];
  }

  /**
   * Entries `[lo, hi)` but stopping once `maxBytes` is exceeded (at least one entry is
   * returned when any exist). Returns undefined when `lo` is compacted away.
   */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] | undefined {
    if (lo <= this.baseIndex) return undefined;
    const end = Math.min(hi, this.lastIndex() + 1);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < end; i++) {
      const e = this.entries[i - this.baseIndex - 1];
      if (!e) break;
      bytes += entryBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /**
   * The first index in `entries` whose term differs from ours (or that we lack), or 0 when
   * we already hold all of them. Entries must be contiguous.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The last index `<= index` whose term is `<= term`: where a leader should probe next
   * after a follower reported a conflicting entry of `term` at `index`. Lets one round trip
   * skip a whole divergent term instead of one entry at a time.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > this.baseIndex) {
      const t = this.term(i);
      if (t === undefined || t <= term) break;
      i--;
    }
    return i;
  }

  /**
   * Appends entries, replacing any existing entries from the first one's index on (the
   * caller has already established that the preceding entry matches). Committed entries
   * are never replaced: that would mean two leaders disagree on a committed entry.
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (!first) return;
    if (first.index <= this.committed) {
      throw new InvariantViolation(
        `refusing to overwrite committed entry ${first.index} (committed ${this.committed})`,
      );
    }
    if (first.index > this.lastIndex() + 1) {
      throw new InvariantViolation(
        `append at ${first.index} leaves a gap after last index ${this.lastIndex()}`,
      );
    }
    const keep = first.index - this.baseIndex - 1;
    if (keep < this.entries.length) this.entries.length = keep;
    for (const e of entries) this.entries.push(e);
    this.stable = Math.min(this.stable, first.index - 1);
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    if (index > this.lastIndex()) {
      throw new InvariantViolation(
        `commit index ${index} is beyond the last index ${this.lastIndex()}`,
      );
    }
    this.committed = index;
    return true;
  }

  hasUnstableEntries(): boolean {
    return this.stable < this.lastIndex();
  }

  /** The unstable tail: entries not yet handed to storage. */
  unstableEntries(): Entry[] {
    if (this.stable >= this.lastIndex()) return [];
    return this.entries.slice(Math.max(this.stable, this.baseIndex) - this.baseIndex);
  }

  /** Storage has taken every entry up to `index` with `term` (ignored if since replaced). */
  stableTo(index: number, term: number): void {
    if (this.term(index) === term && index > this.stable) this.stable = index;
  }

  /**
   * Committed entries not yet handed out for applying, at most `maxBytes` worth, and none
   * beyond `durableBy` (what storage holds once the current Ready is persisted): an entry is
   * applied only once this member stores it too, or a local snapshot could cover entries its
   * own log does not have.
   */
  nextCommittedEntries(maxBytes: number, durableBy: number): Entry[] {
    if (this.unstableSnapshot) return [];
    const lo = Math.max(this.applying, this.baseIndex) + 1;
    const hi = Math.min(this.committed, durableBy);
    if (lo > hi) return [];
    return this.slice(lo, hi + 1, maxBytes) ?? [];
  }

  hasNextCommittedEntries(): boolean {
    return !this.unstableSnapshot && this.committed > Math.max(this.applying, this.baseIndex);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    this.baseIndex = snapshot.meta.index;
    this.baseTerm = snapshot.meta.term;
    this.entries = [];
    this.committed = snapshot.meta.index;
    this.stable = snapshot.meta.index;
    this.unstableSnapshot = snapshot;
  }

  /** Storage and the state machine have taken the pending snapshot. */
  snapshotTaken(index: number): void {
    if (this.unstableSnapshot?.meta.index === index) this.unstableSnapshot = null;
    if (index > this.applied) this.applied = index;
    if (index > this.applying) this.applying = index;
  }

  /**
   * Forgets entries up to `index` (already covered by a durable snapshot). Only applied
   * entries may be dropped.
   */
  compact(index: number): void {
    if (index <= this.baseIndex) return;
    if (index > this.applied) {
      throw new InvariantViolation(`cannot compact to ${index} beyond applied ${this.applied}`);
    }
    const term = this.term(index);
    if (term === undefined)
      throw new InvariantViolation(`cannot compact to unknown index ${index}`);
    this.entries = this.entries.slice(index - this.baseIndex);
    this.baseIndex = index;
    this.baseTerm = term;
  }
}
