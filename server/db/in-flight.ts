/**
 * The keys written by effects the leader has proposed and not yet applied (see
 * server/store/effects.ts). A command whose decision read one of them was decided on a state
 * that is about to change: proposing it would only earn a `stale` refusal and a second
 * round, so the leader waits for those effects to apply and decides it again. Commands on
 * unrelated keys never wait for each other.
 */
export class InFlightKeys {
  private readonly writers = new Map<string, Set<Promise<void>>>();

  /** The proposals in flight that write any of `reads`; empty when none does. */
  writersOf(reads: readonly string[]): Promise<void>[] {
    const found = new Set<Promise<void>>();
    for (const key of reads) for (const writer of this.writers.get(key) ?? []) found.add(writer);
    return [...found];
  }

  /**
   * Marks `stamps` as being written until `settled` settles (its outcome does not matter:
   * once it is decided either way, deciding again sees the truth).
   */
  hold(stamps: readonly string[], settled: Promise<unknown>): void {
    if (stamps.length === 0) return;
    const done = settled.then(
      () => undefined,
      () => undefined,
    );
    for (const key of stamps) {
      const set = this.writers.get(key) ?? new Set();
      set.add(done);
      this.writers.set(key, set);
    }
    void done.then(() => {
      for (const key of stamps) {
        const set = this.writers.get(key);
        set?.delete(done);
        if (set?.size === 0) this.writers.delete(key);
      }
    });
  }

  /** Keys being written now (for status and tests). */
  size(): number {
    return this.writers.size;
  }
}
