/**
 * The expansions of the event lists being read, kept while their pages are followed. A page
 * of `event.list` is cut from every occurrence of the actor's events in the window, sorted
 * (`expandListing` in the domain); computing that costs every series reaching the window,
 * whatever the page. Followed page by page, a year of 5,000 yearly series was expanded ten
 * times over: 250 ms to 1 s per page in the store's worker, where every other read waits
 * behind it. Kept here, the first page expands and the others cost their own rows.
 *
 * **Why a kept expansion is never stale.** It is kept with the version of the actor's
 * `agenda/<u>` key (effects.ts), which every change to what a list shows the actor stamps:
 * an attendee row of theirs, the times, rule or status of an event they attend. A list is
 * served from a kept expansion only while that version is unchanged; the version is the log
 * index of the last such change, so the same version means the same rows. The cache belongs
 * to one store image (`StoreConnection`): a restored snapshot starts with none.
 *
 * **What bounds it.** At most {@link CAPACITY} lists, the least recently read dropped first,
 * and none of more than {@link MAX_ROWS} occurrences (such a list is expanded each time, as
 * before): a few tens of megabytes at worst.
 */
import type { Interval, ListingExpansion, Username } from '../domain/index.js';

/** How many lists are kept: a few readers following pages at once. */
const CAPACITY = 4;
/** Lists with more occurrences are not kept. */
const MAX_ROWS = 50_000;

interface Kept {
  readonly version: number;
  readonly expansion: ListingExpansion;
}

export class ListingCache {
  private readonly kept = new Map<string, Kept>();
  private counts = { hits: 0, misses: 0 };

  /**
   * The expansion of `actor`'s list over `window` at `version` of their agenda: the one kept,
   * or `expand()`'s, kept for the next page when small enough.
   */
  expansion(
    actor: Username,
    window: Interval,
    version: number,
    expand: () => ListingExpansion,
  ): ListingExpansion {
    const key = JSON.stringify([actor, window.start, window.end]);
    const kept = this.kept.get(key);
    this.kept.delete(key);
    if (kept !== undefined && kept.version === version) {
      this.counts.hits++;
      this.kept.set(key, kept);
      return kept.expansion;
    }
    this.counts.misses++;
    const expansion = expand();
    if (expansion.rows.length <= MAX_ROWS) {
      this.kept.set(key, { version, expansion });
      for (const oldest of this.kept.keys()) {
        if (this.kept.size <= CAPACITY) break;
        this.kept.delete(oldest);
      }
    }
    return expansion;
  }

  /** Lists served from a kept expansion, and expanded; for tests and the curious. */
  stats(): { readonly hits: number; readonly misses: number; readonly kept: number } {
    return { ...this.counts, kept: this.kept.size };
  }
}
