/**
 * Pages of the occurrence lists (`event list`, agendas, conflicts). Each list is in a total
 * order, so a page is "the first `limit` items after a position", and the position of the
 * last item returned is the cursor of the next page: nothing is remembered between pages,
 * and a page never repeats or skips an item that was there for both requests.
 *
 * A cursor is opaque to clients: base64url of a small JSON naming the list it belongs to
 * and the sort key of an item. It is validated strictly (shape, types, bounds, kind);
 * anything else is refused as `invalid` with field `after`.
 */
import { InvalidInput } from '../../contract/errors.js';
import { MAX_PAGE_SIZE } from '../../contract/limits.js';
import type { ListKind } from '../../contract/views.js';
import { compareText } from './decisions.js';
import type { Interval, Millis, Occurrence } from './types.js';

/**
 * Most JSON text (UTF-16 code units, as the bus measures its 4 Mi envelope) the items of
 * one page may weigh: a page ends before the item that would pass it, so 500 events with
 * the longest descriptions still travel. A page always holds at least one item (the largest
 * item, a conflict, weighs well under 100 k).
 */
export const MAX_PAGE_TEXT = 1024 * 1024;
/** Longest cursor text accepted (a real one is under 300 characters). */
export const MAX_CURSOR_LENGTH = 1024;
/**
 * Longest export cursor accepted: it names the zones the export wrote so far
 * (`server/store/export-pages.ts`), and the IANA database holds ~600 of at most 32 characters.
 */
export const MAX_EXPORT_CURSOR_LENGTH = 32 * 1024;

/** What a paged query asks for: at most `limit` items after the cursor `after`. */
export interface PageRequest {
  readonly limit?: number;
  readonly after?: string;
}

/** An occurrence's place in every occurrence list: by start, then end, then event id. */
export interface OccurrenceKey {
  readonly start: Millis;
  readonly end: Millis;
  readonly eventId: string;
}

/** A conflict's place: the overlap, then the earlier and the later occurrence. */
export interface ConflictKey {
  readonly start: Millis;
  readonly end: Millis;
  readonly first: OccurrenceKey;
  readonly second: OccurrenceKey;
}

/** An agenda entry's place: the agenda's owner, then the occurrence. */
export interface AgendaKey {
  readonly user: string;
  readonly occurrence: OccurrenceKey;
}

/** An invitation's place: its event's (first) start, then the event id. */
export interface InvitationKey {
  readonly start: Millis;
  readonly eventId: string;
}

/** Cursor positions, by the list they belong to. */
export interface Positions {
  readonly event: OccurrenceKey;
  readonly conflict: ConflictKey;
  readonly agenda: AgendaKey;
  readonly invitation: InvitationKey;
}
// The contract names the lists; encodeCursor's `Positions[K]` does not compile while one of
// them has no position here.
export type { ListKind };

/** The total order of occurrence lists. */
export function compareOccurrenceKeys(a: OccurrenceKey, b: OccurrenceKey): number {
  return a.start - b.start || a.end - b.end || compareText(a.eventId, b.eventId);
}

/** The total order of conflict lists. */
export function compareConflictKeys(a: ConflictKey, b: ConflictKey): number {
  return (
    a.start - b.start ||
    a.end - b.end ||
    compareOccurrenceKeys(a.first, b.first) ||
    compareOccurrenceKeys(a.second, b.second)
  );
}

export function occurrenceKey(occurrence: Occurrence): OccurrenceKey {
  return { start: occurrence.start, end: occurrence.end, eventId: occurrence.eventId };
}

// ---------------------------------------------------------------------------------------
// Cursor text

type Tuple = [Millis, Millis, string];

function toTuple(key: OccurrenceKey): Tuple {
  return [key.start, key.end, key.eventId];
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

function refuse(reason: string): InvalidInput {
  return new InvalidInput(`"after" is not a cursor of this list: ${reason}`, { field: 'after' });
}

function isInstant(value: unknown): value is Millis {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

function readTuple(value: unknown): OccurrenceKey {
  if (!Array.isArray(value) || value.length !== 3) throw refuse('malformed position');
  const [start, end, eventId] = value as unknown[];
  if (!isInstant(start) || !isInstant(end) || typeof eventId !== 'string' || !ID.test(eventId)) {
    throw refuse('malformed position');
  }
  return { start, end, eventId };
}

function hasExactly(value: object, keys: readonly string[]): boolean {
  const own = Object.keys(value).sort();
  return own.length === keys.length && [...keys].sort().every((k, i) => own[i] === k);
}

/** The cursor text for the position of `key` in a list of `kind`. */
export function encodeCursor<K extends ListKind>(kind: K, key: Positions[K]): string {
  let body: unknown;
  if (kind === 'event') body = { k: kind, o: toTuple(key as OccurrenceKey) };
  else if (kind === 'conflict') {
    const c = key as ConflictKey;
    body = { k: kind, s: c.start, e: c.end, a: toTuple(c.first), b: toTuple(c.second) };
  } else if (kind === 'invitation') {
    const i = key as InvitationKey;
    body = { k: kind, s: i.start, i: i.eventId };
  } else {
    const a = key as AgendaKey;
    body = { k: kind, u: a.user, o: toTuple(a.occurrence) };
  }
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/**
 * The position a cursor of a `kind` list names.
 * @throws InvalidInput (field `after`) when it is not base64url of such a cursor.
 */
export function decodeCursor<K extends ListKind>(kind: K, text: string): Positions[K] {
  if (text.length === 0 || text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) {
    throw refuse('not base64url text of a sensible length');
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw refuse('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw refuse('not an object');
  }
  const v = value as Record<string, unknown>;
  if (v.k !== kind) throw refuse(`it belongs to another list (${JSON.stringify(v.k)})`);
  if (kind === 'event') {
    if (!hasExactly(v, ['k', 'o'])) throw refuse('unexpected fields');
    return readTuple(v.o) as Positions[K];
  }
  if (kind === 'conflict') {
    if (!hasExactly(v, ['k', 's', 'e', 'a', 'b']) || !isInstant(v.s) || !isInstant(v.e)) {
      throw refuse('malformed position');
    }
    const key: ConflictKey = {
      start: v.s,
      end: v.e,
      first: readTuple(v.a),
      second: readTuple(v.b),
    };
    return key as Positions[K];
  }
  if (kind === 'invitation') {
    if (!hasExactly(v, ['k', 's', 'i']) || !isInstant(v.s)) throw refuse('malformed position');
    if (typeof v.i !== 'string' || !ID.test(v.i)) throw refuse('malformed position');
    const key: InvitationKey = { start: v.s, eventId: v.i };
    return key as Positions[K];
  }
  if (!hasExactly(v, ['k', 'u', 'o']) || typeof v.u !== 'string' || v.u.length === 0) {
    throw refuse('malformed position');
  }
  if (v.u.length > 64) throw refuse('malformed position');
  const key: AgendaKey = { user: v.u, occurrence: readTuple(v.o) };
  return key as Positions[K];
}

/**
 * The page size asked for: `limit` when given (a whole number from 1 to
 * {@link MAX_PAGE_SIZE}), else the maximum.
 * @throws InvalidInput (field `limit`).
 */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return MAX_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InvalidInput(`"limit" is a whole number from 1 to ${MAX_PAGE_SIZE}`, {
      field: 'limit',
    });
  }
  return limit;
}

/** How much text an item of a page weighs, in UTF-16 code units of its JSON. */
export function textWeight(item: unknown): number {
  return JSON.stringify(item).length;
}

/**
 * The first items of `items` (sorted, all after the cursor already) that fit one page — at
 * most `limit`, at most {@link MAX_PAGE_TEXT} of `weight` (but at least one) — and the key
 * of the last one when more follow.
 */
export function takePage<T, P>(
  items: readonly T[],
  limit: number,
  keyOf: (item: T) => P,
  weight: (item: T) => number,
): { readonly items: readonly T[]; readonly last: P | null } {
  let text = 0;
  let count = 0;
  while (count < items.length && count < limit) {
    text += weight(items[count] as T);
    if (count > 0 && text > MAX_PAGE_TEXT) break;
    count += 1;
  }
  if (count === items.length) return { items, last: null };
  const page = items.slice(0, count);
  return { items: page, last: keyOf(page[count - 1] as T) };
}

/**
 * The part of `window` a page that resumes after a cursor at `after` still has to look at:
 * every later item starts at or after the cursor's start, and whatever overlaps one reaches
 * past that start. Null when nothing of the window is left.
 */
export function windowAfter(
  window: Interval,
  after: { readonly start: Millis } | null,
): Interval | null {
  const start = after === null ? window.start : Math.max(window.start, after.start);
  return start < window.end ? { start, end: window.end } : null;
}
