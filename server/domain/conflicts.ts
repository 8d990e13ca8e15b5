/**
 * Conflicts. Two events conflict for a user when both are commitments of that user
 * (accepted, not cancelled) that take time ({@link blocksTime}) and an occurrence of one
 * overlaps an occurrence of the other, intervals being half-open: `[9:00, 10:00)` and
 * `[10:00, 11:00)` do not conflict, and an instant (`[9:30, 9:30)`) conflicts with nothing.
 * Recurring series are compared occurrence by occurrence over a bounded window
 * ({@link conflictWindow}).
 */
import { Conflict, Internal } from '../../contract/errors.js';
import type { ConflictingEvent } from '../../contract/errors.js';
import { blocksTime, busyCommitmentsOf } from './attendance.js';
import { compareText } from './decisions.js';
import { CONFLICT_HORIZON_MS, MAX_REPORTED_CONFLICTS, TIME } from '../../contract/limits.js';
import {
  compareConflictKeys,
  decodeCursor,
  encodeCursor,
  occurrenceKey,
  pageLimit,
  takePage,
  textWeight,
  windowAfter,
} from './paging.js';
import type { ConflictKey, PageRequest } from './paging.js';
import { expandOccurrences, mergeSorted, occurrenceEnd } from './recurrence.js';
import type { Series } from './recurrence.js';
import { validateQueryInterval } from './validation.js';
import { conflictingEvent, eventView, toIso } from './views.js';
import type { ConflictView } from './views.js';
import type {
  CalendarEvent,
  EventId,
  EventRecord,
  Interval,
  Millis,
  Mutation,
  Occurrence,
  Username,
} from './types.js';

/**
 * The window in which a candidate event is checked for conflicts: a one-off event at its
 * own time (past or future), a recurring one from its start — or from `now` if the series
 * began earlier, since past occurrences can no longer collide with anything — for
 * {@link CONFLICT_HORIZON_MS}. The store loads the commitments that reach into this window.
 */
export function conflictWindow(
  series: Pick<Series, 'start' | 'end' | 'recurrence'>,
  now: Millis,
): Interval {
  if (series.recurrence === null) return { start: series.start, end: series.end };
  const start = Math.max(series.start, now);
  return { start, end: start + CONFLICT_HORIZON_MS };
}

function pruneEnded<T extends Interval>(active: T[], instant: Millis): T[] {
  return active.filter((o) => o.end > instant);
}

/**
 * Every pair `(a, b)` with `a` from `as`, `b` from `bs`, of different events, whose
 * intervals overlap. A sweep over start times keeps it near-linear for agenda-sized inputs.
 */
export function overlappingPairs<A extends Occurrence, B extends Occurrence>(
  as: readonly A[],
  bs: readonly B[],
): Array<readonly [A, B]> {
  const items = [
    ...as.map((occurrence) => ({ side: 'a' as const, occurrence })),
    ...bs.map((occurrence) => ({ side: 'b' as const, occurrence })),
  ].sort((x, y) => x.occurrence.start - y.occurrence.start);
  let activeA: A[] = [];
  let activeB: B[] = [];
  const pairs: Array<readonly [A, B]> = [];
  for (const item of items) {
    activeA = pruneEnded(activeA, item.occurrence.start);
    activeB = pruneEnded(activeB, item.occurrence.start);
    if (item.side === 'a') {
      const a = item.occurrence;
      for (const b of activeB) if (b.eventId !== a.eventId) pairs.push([a, b]);
      activeA.push(a);
    } else {
      const b = item.occurrence;
      for (const a of activeA) if (a.eventId !== b.eventId) pairs.push([a, b]);
      activeB.push(b);
    }
  }
  return pairs;
}

/** Every unordered pair of overlapping occurrences of different events within one list. */
export function overlappingPairsWithin<T extends Occurrence>(
  list: readonly T[],
): Array<readonly [T, T]> {
  const sorted = [...list].sort((x, y) => x.start - y.start || x.end - y.end);
  let active: T[] = [];
  const pairs: Array<readonly [T, T]> = [];
  for (const occurrence of sorted) {
    active = pruneEnded(active, occurrence.start);
    for (const other of active)
      if (other.eventId !== occurrence.eventId) pairs.push([other, occurrence]);
    active.push(occurrence);
  }
  return pairs;
}

/** The occurrences of each record that overlap `window`, flattened. */
export function occurrencesIn(records: readonly EventRecord[], window: Interval): Occurrence[] {
  return records.flatMap((r) => expandOccurrences(r.event, window));
}

/**
 * The user's commitments that would collide with `candidate`: each overlapping occurrence
 * once, in start order. `records` may hold anything the store loaded; only the user's
 * commitments other than the candidate itself count.
 */
export function findConflicts(
  candidate: Series,
  username: Username,
  records: readonly EventRecord[],
  now: Millis,
): ConflictingEvent[] {
  if (!blocksTime(candidate)) return [];
  const window = conflictWindow(candidate, now);
  const mine = expandOccurrences(candidate, window);
  if (mine.length === 0) return [];
  const others = busyCommitmentsOf(username, records).filter((r) => r.event.id !== candidate.id);
  const byId = new Map(others.map((r) => [r.event.id, r.event]));
  const found = new Map<string, ConflictingEvent>();
  for (const [, theirs] of overlappingPairs(mine, occurrencesIn(others, window))) {
    const event = byId.get(theirs.eventId);
    if (event !== undefined)
      found.set(`${theirs.eventId}@${theirs.start}`, conflictingEvent(event, theirs));
  }
  return inConflictOrder(found.values());
}

/**
 * Conflicting occurrences in the order every conflict list uses (by start, then event id),
 * the first {@link MAX_REPORTED_CONFLICTS} of them: enough to say what is in the way, and a
 * bound on what a daily series over a crowded agenda costs to answer.
 */
function inConflictOrder(conflicts: Iterable<ConflictingEvent>): ConflictingEvent[] {
  return [...conflicts]
    .sort((a, b) => compareText(a.start, b.start) || compareText(a.id, b.id))
    .slice(0, MAX_REPORTED_CONFLICTS);
}

/**
 * The subset of `occurrences` that overlap an occurrence of a different event among
 * `commitments` — the `conflict` flag of lists. Both lists hold only occurrences of events
 * that take time ({@link blocksTime}: callers leave transparent ones out); instants among
 * them, which overlap nothing, are passed over.
 */
export function conflictingSubset<T extends Occurrence>(
  occurrences: readonly T[],
  commitments: readonly Occurrence[],
): Set<T> {
  return new Set(
    overlappingPairs(occurrences.filter(blocksTime), commitments.filter(blocksTime)).map(
      ([mine]) => mine,
    ),
  );
}

export interface ConflictsQuery {
  readonly actor: Username;
  readonly from: Millis;
  readonly to: Millis;
}

export interface ConflictsContext {
  /** The actor's events that may reach into `[from, to)` (extra rows are ignored). */
  readonly events: readonly EventRecord[];
}

/**
 * `agenda conflicts`: every pair of the actor's commitments whose occurrences overlap
 * within `[from, to)`, with the overlap, in order of the overlap (start, end), then of the
 * two occurrences (the earlier first in each conflict).
 */
export function conflictsFor(query: ConflictsQuery, context: ConflictsContext): ConflictView[] {
  const window = validateQueryInterval(query.from, query.to);
  return conflictsIn(query.actor, window, context).map((c) => c.view);
}

/** A page of {@link conflictsFor}: `next` is the cursor of the following page, null at the end. */
export interface ConflictsPage {
  readonly conflicts: ConflictView[];
  readonly next: string | null;
}

/**
 * One page of {@link conflictsFor}: the first `limit` conflicts after the cursor `after`.
 * Only occurrences reaching past the cursor's overlap start are compared: both occurrences
 * of a later conflict last beyond it.
 * @throws InvalidInput (interval, `limit`, `after`).
 */
export function conflictsPage(
  query: ConflictsQuery & PageRequest,
  context: ConflictsContext,
): ConflictsPage {
  const window = validateQueryInterval(query.from, query.to);
  const limit = pageLimit(query.limit);
  const after = query.after === undefined ? null : decodeCursor('conflict', query.after);
  const scan = windowAfter(window, after);
  if (scan === null) return { conflicts: [], next: null };
  const found = conflictsIn(query.actor, scan, context).filter(
    (c) => after === null || compareConflictKeys(c.key, after) > 0,
  );
  const page = takePage(
    found,
    limit,
    (c) => c.key,
    (c) => textWeight(c.view),
  );
  return {
    conflicts: page.items.map((c) => c.view),
    next: page.last === null ? null : encodeCursor('conflict', page.last),
  };
}

function conflictsIn(
  actor: Username,
  window: Interval,
  context: ConflictsContext,
): Array<{ key: ConflictKey; view: ConflictView }> {
  const commitments = busyCommitmentsOf(actor, context.events);
  const byId = new Map(commitments.map((r) => [r.event.id, r.event]));
  const found: Array<{ key: ConflictKey; view: ConflictView }> = [];
  for (const pair of overlappingPairsWithin(occurrencesIn(commitments, window))) {
    const [a, b] = compareOccurrences(pair[0], pair[1]) <= 0 ? pair : [pair[1], pair[0]];
    const first = byId.get(a.eventId);
    const second = byId.get(b.eventId);
    if (first === undefined || second === undefined) continue;
    const start = Math.max(a.start, b.start);
    const end = Math.min(a.end, b.end);
    found.push({
      key: { start, end, first: occurrenceKey(a), second: occurrenceKey(b) },
      view: {
        start: toIso(start),
        end: toIso(end),
        events: [eventView(first, a, 'accepted', true), eventView(second, b, 'accepted', true)],
      },
    });
  }
  return found.sort((x, y) => compareConflictKeys(x.key, y.key));
}

/**
 * How a conflict's message ends: the API's way past it. Clients that have no such option
 * (CalDAV, server/gateway/caldav.ts) put their own in its place.
 */
export const ALLOW_CONFLICT_HINT = ' (allow conflicts to go ahead anyway)';

/** A `conflict` error naming (some of) the events in the way and listing all their occurrences. */
export function conflictError(reason: string, conflicts: readonly ConflictingEvent[]): Conflict {
  const titles = [...new Set(conflicts.map((c) => `"${c.title}"`))];
  const named = titles.slice(0, 3).join(', ') + (titles.length > 3 ? ', …' : '');
  return new Conflict(`${reason}: ${named}${ALLOW_CONFLICT_HINT}`, conflicts);
}

// ---------------------------------------------------------------------------------------
// Many checks in one command

/** Occurrences that last at most this long are looked up by their start, within this much. */
const SHORT_OCCURRENCE_MS = TIME.DAY;

function compareOccurrences(a: Occurrence, b: Occurrence): number {
  return a.start - b.start || a.end - b.end || compareText(a.eventId, b.eventId);
}

/** The first index of `items` (ordered so that `before` holds for a prefix) where it fails. */
function partitionPoint<T>(items: readonly T[], before: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(items[mid] as T)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Occurrences with an upper bound on their length, kept as a few sorted runs, each (as built)
 * more than twice as long as the next: a batch added becomes a run of its own, merged (linearly) with
 * the runs before it that are at most twice its length. Adding a daily series (732
 * occurrences) to an index of a hundred others then costs a sort of the batch plus merges,
 * not a copy of the whole list; and an import adding its events one at a time (a yearly
 * series: one or two occurrences each) costs O(log n) per occurrence over the command, with
 * at most log2(n) runs for a lookup to search, instead of a sort of the whole list every
 * few events.
 */
class OccurrenceList {
  private runs: Occurrence[][] = [];
  /** No occurrence in the list lasts longer (it may once have held a longer one). */
  longest = 0;

  /** Replaces the contents; `occurrences` in any order. */
  reset(occurrences: Occurrence[]): void {
    this.runs = occurrences.length === 0 ? [] : [occurrences.sort(compareOccurrences)];
    this.longest = occurrences.reduce((max, o) => Math.max(max, o.end - o.start), 0);
  }

  /** Adds occurrences, in any order. */
  insertAll(added: readonly Occurrence[]): void {
    if (added.length === 0) return;
    let run = [...added].sort(compareOccurrences);
    for (const o of added) this.longest = Math.max(this.longest, o.end - o.start);
    for (let last = this.runs.at(-1); last !== undefined && last.length <= 2 * run.length;) {
      run = mergeSorted(last, run, compareOccurrences);
      this.runs.pop();
      last = this.runs.at(-1);
    }
    this.runs.push(run);
  }

  /** Drops every occurrence of the event. */
  deleteEvent(eventId: EventId): void {
    this.runs = this.runs
      .map((run) => run.filter((o) => o.eventId !== eventId))
      .filter((run) => run.length > 0);
  }

  /** The occurrences overlapping `interval`, in no particular order. */
  overlapping(interval: Interval): Occurrence[] {
    // Anything that still lasts at interval.start began less than `longest` before it.
    const from = interval.start - this.longest;
    const hits: Occurrence[] = [];
    for (const run of this.runs) {
      for (let i = partitionPoint(run, (o) => o.start <= from); i < run.length; i++) {
        const o = run[i] as Occurrence;
        if (o.start >= interval.end) break;
        if (o.end > interval.start) hits.push(o);
      }
    }
    return hits;
  }
}

/**
 * The union of `intervals` as disjoint intervals in start order; touching intervals are
 * joined. The windows of a {@link CommitmentIndex} and what to load for it, and the busy
 * time that free time is the gaps of.
 */
export function mergeIntervals(intervals: Iterable<Interval>): Interval[] {
  const merged: Interval[] = [];
  for (const next of [...intervals].sort((a, b) => a.start - b.start || a.end - b.end)) {
    const last = merged.at(-1);
    if (last !== undefined && next.start <= last.end) {
      merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, next.end) };
    } else {
      merged.push({ start: next.start, end: next.end });
    }
  }
  return merged;
}

/** An instant no occurrence of `event` ends after (cheap: +Infinity for COUNT rules). */
function reachOf(event: Series): Millis {
  if (event.recurrence === null) return event.end;
  const { rule, additions = [] } = event.recurrence;
  if (rule.until === undefined) return Number.POSITIVE_INFINITY;
  const last = additions.at(-1);
  return occurrenceEnd(event, last === undefined ? rule.until : Math.max(rule.until, last));
}

/**
 * What a {@link CommitmentIndex} knows of a commitment: enough to expand it and to name it
 * in a conflict. The store loads only these fields for an import, whose index holds every
 * series of the user that reaches its windows (thousands, in an import of birthdays).
 */
export type CommittedEvent = Pick<
  CalendarEvent,
  'id' | 'title' | 'start' | 'end' | 'timeZone' | 'recurrence' | 'transparent'
>;

/**
 * One user's commitments over a fixed set of windows, so that a command checking many
 * candidates — an import of a few hundred events — loads and expands the user's agenda
 * once instead of once per candidate.
 *
 * Guarantees:
 * - For a candidate whose {@link conflictWindow} lies within the index's windows,
 *   {@link CommitmentIndex.conflictsOf} answers exactly what {@link findConflicts} answers
 *   for the same user given the same commitments (the property tests compare them).
 * - Building expands each commitment once, over the windows it reaches, and keeps only the
 *   occurrences inside them, sorted; a check costs a binary search and the hits per
 *   occurrence of the candidate (plus the occurrences longer than a day that start in the
 *   longest of them before it: there are few).
 * - It is the domain's one mutable structure, and it never outlives the command that built
 *   it: the command tells it what each decision changed ({@link CommitmentIndex.follow}),
 *   so that later candidates conflict with the events earlier ones created.
 */
export class CommitmentIndex {
  /** Merged, disjoint, in order. */
  readonly windows: readonly Interval[];
  private readonly events = new Map<EventId, CommittedEvent>();
  private readonly occurrencesOf = new Map<EventId, readonly Occurrence[]>();
  private readonly short = new OccurrenceList();
  private readonly long = new OccurrenceList();
  /** Passed over by every check for the time of {@link passingOver}. */
  private passedOver: ReadonlySet<EventId> = new Set();

  /**
   * @param username whose commitments these are.
   * @param windows the conflict windows of the candidates to check (any order, overlapping or not).
   * @param commitments the user's commitments (accepted, not cancelled) that may reach into
   *   the windows; more is harmless, fewer is a bug. Repeated ids count once; those that take
   *   no time ({@link blocksTime}) are left out.
   */
  constructor(
    readonly username: Username,
    windows: Iterable<Interval>,
    commitments: Iterable<CommittedEvent>,
  ) {
    this.windows = mergeIntervals(windows);
    const short: Occurrence[] = [];
    const long: Occurrence[] = [];
    for (const event of commitments) {
      if (this.events.has(event.id) || !blocksTime(event)) continue;
      const occurrences = this.expand(event);
      this.events.set(event.id, event);
      this.occurrencesOf.set(event.id, occurrences);
      for (const o of occurrences) (o.end - o.start <= SHORT_OCCURRENCE_MS ? short : long).push(o);
    }
    this.short.reset(short);
    this.long.reset(long);
  }

  /** An index of the user's commitments among `records` (anything the store loaded). */
  static of(
    username: Username,
    windows: Iterable<Interval>,
    records: readonly EventRecord[],
  ): CommitmentIndex {
    return new CommitmentIndex(
      username,
      windows,
      busyCommitmentsOf(username, records).map((r) => r.event),
    );
  }

  /**
   * Runs `decide` with the events in `ids` passed over by every check it makes: a series
   * imported again is decided against the user's agenda without the occurrences it had
   * detached, which the same import brings to the file's version and checks itself (one
   * renamed in place would otherwise refuse its own series).
   */
  passingOver<T>(ids: ReadonlySet<EventId>, decide: () => T): T {
    const before = this.passedOver;
    this.passedOver = new Set([...before, ...ids]);
    try {
      return decide();
    } finally {
      this.passedOver = before;
    }
  }

  /**
   * {@link findConflicts} for the index's user: the commitments that would collide with
   * `candidate`, each overlapping occurrence once, in start order. Events in `ignoring` are
   * passed over: an import checks a series' changed occurrences against the series and its
   * other occurrences as the command leaves them, not as the index still has them.
   * @throws Internal when the candidate's conflict window is not within the index's windows.
   */
  conflictsOf(
    candidate: Series,
    now: Millis,
    ignoring: ReadonlySet<EventId> = new Set(),
  ): ConflictingEvent[] {
    if (!blocksTime(candidate)) return [];
    const window = conflictWindow(candidate, now);
    const covering = this.windows[partitionPoint(this.windows, (w) => w.end <= window.start)];
    if (covering === undefined || covering.start > window.start || covering.end < window.end) {
      throw new Internal('a candidate was checked outside the windows its commitment index covers');
    }
    const found = new Map<string, ConflictingEvent>();
    const starts: number[] = [];
    const longest = Math.max(this.short.longest, this.long.longest);
    for (const mine of expandOccurrences(candidate, window)) {
      // Once MAX_REPORTED_CONFLICTS are known, stop where nothing later can start before
      // the last of the first of them: what is reported is exactly what a full search gives.
      if (starts.length >= MAX_REPORTED_CONFLICTS) {
        starts.sort((a, b) => a - b);
        starts.length = MAX_REPORTED_CONFLICTS;
        if (mine.start - longest > (starts[MAX_REPORTED_CONFLICTS - 1] ?? Infinity)) break;
      }
      for (const theirs of [...this.short.overlapping(mine), ...this.long.overlapping(mine)]) {
        // Like findConflicts, which expands the others over the candidate's window only.
        if (theirs.eventId === candidate.id || theirs.start >= window.end) continue;
        if (ignoring.has(theirs.eventId) || this.passedOver.has(theirs.eventId)) continue;
        if (theirs.end <= window.start) continue;
        const event = this.events.get(theirs.eventId);
        const key = `${theirs.eventId}@${theirs.start}`;
        if (event !== undefined && !found.has(key)) {
          found.set(key, conflictingEvent(event, theirs));
          starts.push(theirs.start);
        }
      }
    }
    return inConflictOrder(found.values());
  }

  /**
   * Takes in what a decision changes about the user's own events (those they organize,
   * which their organizer always accepts): an inserted or updated event is indexed anew,
   * a cancelled one is dropped. Other mutations do not concern the index.
   */
  follow(mutations: readonly Mutation[]): void {
    for (const mutation of mutations) {
      if (mutation.kind !== 'insertEvent' && mutation.kind !== 'updateEvent') continue;
      const { event } = mutation;
      if (event.organizer !== this.username) continue;
      this.remove(event.id);
      if (event.status !== 'cancelled' && blocksTime(event)) this.put(event);
    }
  }

  private put(event: CommittedEvent): void {
    const occurrences = this.expand(event);
    this.events.set(event.id, event);
    this.occurrencesOf.set(event.id, occurrences);
    this.short.insertAll(occurrences.filter((o) => this.listFor(o) === this.short));
    this.long.insertAll(occurrences.filter((o) => this.listFor(o) === this.long));
  }

  private remove(id: EventId): void {
    const occurrences = this.occurrencesOf.get(id) ?? [];
    if (occurrences.some((o) => this.listFor(o) === this.short)) this.short.deleteEvent(id);
    if (occurrences.some((o) => this.listFor(o) === this.long)) this.long.deleteEvent(id);
    this.occurrencesOf.delete(id);
    this.events.delete(id);
  }

  private listFor(occurrence: Occurrence): OccurrenceList {
    return occurrence.end - occurrence.start <= SHORT_OCCURRENCE_MS ? this.short : this.long;
  }

  /** The event's occurrences that overlap one of the windows, with one expansion. */
  private expand(event: CommittedEvent): Occurrence[] {
    const windows = this.windows;
    const first = partitionPoint(windows, (w) => w.end <= event.start);
    const reach = reachOf(event);
    const last = partitionPoint(windows, (w) => w.start < reach) - 1;
    const from = windows[first];
    const to = windows[last];
    if (from === undefined || to === undefined || first > last) return [];
    const inside: Occurrence[] = [];
    let w = first;
    for (const o of expandOccurrences(event, { start: from.start, end: to.end })) {
      while (w <= last && (windows[w] as Interval).end <= o.start) w++;
      if (w > last) break;
      if ((windows[w] as Interval).start < o.end) inside.push(o);
    }
    return inside;
  }
}
