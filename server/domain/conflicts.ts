/**
 * Conflicts. Two events conflict for a user when both are commitments of that user
 * (accepted, not cancelled) and an occurrence of one overlaps an occurrence of the other,
 * intervals being half-open: `[9:00, 10:00)` and `[10:00, 11:00)` do not conflict.
 * Recurring series are compared occurrence by occurrence over a bounded window
 * ({@link conflictWindow}).
 */
import { Conflict } from '../errors.js';
import type { ConflictingEvent } from '../errors.js';
import { commitmentsOf } from './attendance.js';
import { compareText } from './decisions.js';
import { CONFLICT_HORIZON_MS } from './limits.js';
import { expandOccurrences } from './recurrence.js';
import type { Series } from './recurrence.js';
import { validateQueryInterval } from './validation.js';
import { conflictingEvent, eventView, toIso } from './views.js';
import type { ConflictView } from './views.js';
import type { EventRecord, Interval, Millis, Occurrence, Username } from './types.js';

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
  const window = conflictWindow(candidate, now);
  const mine = expandOccurrences(candidate, window);
  if (mine.length === 0) return [];
  const others = commitmentsOf(username, records).filter((r) => r.event.id !== candidate.id);
  const byId = new Map(others.map((r) => [r.event.id, r.event]));
  const found = new Map<string, ConflictingEvent>();
  for (const [, theirs] of overlappingPairs(mine, occurrencesIn(others, window))) {
    const event = byId.get(theirs.eventId);
    if (event !== undefined)
      found.set(`${theirs.eventId}@${theirs.start}`, conflictingEvent(event, theirs));
  }
  return [...found.values()].sort(
    (a, b) => compareText(a.start, b.start) || compareText(a.id, b.id),
  );
}

/**
 * The subset of `occurrences` that overlap an occurrence of a different event among
 * `commitments` — the `conflict` flag of lists.
 */
export function conflictingSubset<T extends Occurrence>(
  occurrences: readonly T[],
  commitments: readonly Occurrence[],
): Set<T> {
  return new Set(overlappingPairs(occurrences, commitments).map(([mine]) => mine));
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
 * within `[from, to)`, with the overlap, in order of the overlap's start.
 */
export function conflictsFor(query: ConflictsQuery, context: ConflictsContext): ConflictView[] {
  const window = validateQueryInterval(query.from, query.to);
  const commitments = commitmentsOf(query.actor, context.events);
  const byId = new Map(commitments.map((r) => [r.event.id, r.event]));
  const views: Array<{ start: Millis; end: Millis; view: ConflictView }> = [];
  for (const [a, b] of overlappingPairsWithin(occurrencesIn(commitments, window))) {
    const first = byId.get(a.eventId);
    const second = byId.get(b.eventId);
    if (first === undefined || second === undefined) continue;
    const start = Math.max(a.start, b.start);
    const end = Math.min(a.end, b.end);
    views.push({
      start,
      end,
      view: {
        start: toIso(start),
        end: toIso(end),
        events: [eventView(first, a, 'accepted', true), eventView(second, b, 'accepted', true)],
      },
    });
  }
  return views.sort((x, y) => x.start - y.start || x.end - y.end).map((v) => v.view);
}

/** A `conflict` error naming (some of) the events in the way and listing all their occurrences. */
export function conflictError(reason: string, conflicts: readonly ConflictingEvent[]): Conflict {
  const titles = [...new Set(conflicts.map((c) => `"${c.title}"`))];
  const named = titles.slice(0, 3).join(', ') + (titles.length > 3 ? ', …' : '');
  return new Conflict(`${reason}: ${named} (allow conflicts to go ahead anyway)`, conflicts);
}
