/**
 * CalDAV sync (RFC 6578, `sync-collection`): what changed in a user's calendar since a sync
 * token, answered from what the store keeps anyway plus tombstones of removals. The design,
 * and why it holds, is in server/gateway/CALDAV.md ("Sync"); in short:
 *
 * - **Versions.** `key_versions` keeps the log index of the last write of every key, and
 *   `event/<id>` is stamped by any change to the event or to its attendee rows (effects.ts):
 *   anything a resource's text or entity tag is made of. A user's events are their attendee
 *   rows, of any answer (a decline is a change too), and each row keeps its event's version
 *   (`attendees.mod_index`, indexed by user): the newest version and a page of changes are
 *   read from that index, O(log n + the page) however large the calendar.
 * - **Removals.** When an attendee row goes (the user taken off an event, the event deleted)
 *   nothing of the user points at the event any more, so its apply leaves a tombstone in
 *   `dav_removals` at the entry's index, with the resource name the event had for the user
 *   (computed from the rows before they go: O(the rows the write deletes)).
 * - **The token** is `<n>`: every change to the calendar after it has an index above `n`.
 *   An answer's token is the newest version among the user's events, removals and horizon
 *   (at most the applied index), so it stays the same while nothing of the user's changes.
 *   An answer cut short (more than its limit) gives `<v>.<event id>`: everything up to that
 *   event of version `v` was answered, in (version, event id) order.
 * - **The horizon.** Tombstones older than {@link DAV_SYNC_HORIZON_MS} are forgotten, a
 *   bounded number per removal (at apply, by the entry's `at`: deterministic); a user's
 *   horizon is the newest index forgotten of theirs, and a token below it is refused, as is
 *   one above the applied index or not a token at all (the client syncs from scratch).
 */
import type { SqlValue } from 'sql.js';
import {
  MAX_CALENDAR_DATA_BYTES,
  MAX_CALENDAR_RESOURCES,
  resourceName,
  resourceText,
} from '../domain/index.js';
import type { CalendarResource, EventRecord, Username } from '../domain/index.js';
import { resourceNamed, resourcesOf, resourceView } from './dav-resources.js';
import type { DavResourceView, QueryOf, QueryResults } from './protocol.js';
import type { QueryEnvironment } from './queries.js';
import { integer, nullableText, text } from './statements.js';
import type { PreparedStatement, StatementSet } from './statements.js';

/** How long removals are remembered: a token older than that may be refused. */
export const DAV_SYNC_HORIZON_MS = 60 * 24 * 60 * 60 * 1000;
/**
 * Expired tombstones forgotten per tombstone written: more than one, so that forgetting
 * outpaces remembering and what has expired never piles up, and each write still costs
 * O(the rows it deletes).
 */
export const PRUNED_PER_REMOVAL = 2;

/** The log entry a write is applied for: its index and its `at`. */
export interface AppliedEntry {
  readonly index: number;
  readonly at: number;
}

// The resource name an event has for `username` (server/domain/calendar-resources.ts
// `resourceName`), in SQL: their own series by UID, anything else by id.
const NAME_FOR = (user: string) =>
  `CASE WHEN e.organizer = ${user} AND e.detached_from IS NULL THEN coalesce(e.uid, e.id) ELSE e.id END`;

const REMOVAL_COLUMNS = `INSERT INTO dav_removals
  (username, event_id, name, series_id, mod_index, removed_at)`;
const REMOVAL_UPSERT = `ON CONFLICT (username, event_id) DO UPDATE SET name = excluded.name,
  series_id = excluded.series_id, mod_index = excluded.mod_index,
  removed_at = excluded.removed_at`;

/** The statements of sync, by name (their plans are checked in dav-sync.test.ts). */
export const DAV_SYNC_SQL = {
  // ?1 event, ?2 user, ?3 index, ?4 at: the user taken off the event. Deleted accounts
  // leave none (nobody syncs them).
  attendeeRemoved: `${REMOVAL_COLUMNS}
    SELECT a.username, e.id, ${NAME_FOR('a.username')},
           json_extract(e.detached_from, '$.seriesId'), ?3, ?4
      FROM attendees a JOIN events e ON e.id = a.event_id
     WHERE a.event_id = ?1 AND a.username = ?2
       AND NOT EXISTS (SELECT 1 FROM deleted_users d WHERE d.username = a.username)
    ${REMOVAL_UPSERT}`,
  // ?1 event, ?3 index, ?4 at: the event deleted, every attendee's row with it.
  eventRemoved: `${REMOVAL_COLUMNS}
    SELECT a.username, e.id, ${NAME_FOR('a.username')},
           json_extract(e.detached_from, '$.seriesId'), ?2, ?3
      FROM attendees a JOIN events e ON e.id = a.event_id
     WHERE a.event_id = ?1
       AND NOT EXISTS (SELECT 1 FROM deleted_users d WHERE d.username = a.username)
    ${REMOVAL_UPSERT}`,
  // ?1 forget removals before this, ?2 at most this many: the oldest first, each user's
  // horizon raised to the newest index forgotten of theirs, then the same rows deleted.
  raiseHorizons: `INSERT INTO dav_sync_horizons (username, horizon)
    SELECT username, max(mod_index) FROM (
      SELECT username, mod_index FROM dav_removals WHERE removed_at < ?1
       ORDER BY removed_at, username, event_id LIMIT ?2)
     WHERE true GROUP BY username
    ON CONFLICT (username) DO UPDATE SET horizon = max(horizon, excluded.horizon)`,
  forgetRemovals: `DELETE FROM dav_removals WHERE (username, event_id) IN (
    SELECT username, event_id FROM dav_removals WHERE removed_at < ?1
     ORDER BY removed_at, username, event_id LIMIT ?2)`,
  // ?1 user, ?2 version, ?3 event id, ?4 the most: the user's events (any answer) changed
  // after (version, id), in (version, id) order, from the attendee rows' version index alone
  // (each row keeps its event's version, schema.ts): a page reads the page's index entries.
  changedEvents: `SELECT mod_index, event_id FROM attendees
     WHERE username = ?1 AND (mod_index > ?2 OR (mod_index = ?2 AND event_id > ?3))
     ORDER BY mod_index, event_id LIMIT ?4`,
  removalsAfter: `SELECT mod_index, event_id, name, series_id FROM dav_removals
     WHERE username = ?1 AND (mod_index > ?2 OR (mod_index = ?2 AND event_id > ?3))
     ORDER BY mod_index, event_id LIMIT ?4`,
  newestRemoval: 'SELECT max(mod_index) FROM dav_removals WHERE username = ?',
  newestEvent: 'SELECT max(mod_index) FROM attendees WHERE username = ?',
  horizon: 'SELECT horizon FROM dav_sync_horizons WHERE username = ?',
} as const;

/** The tombstones applies leave (see the module comment). */
export class DavRemovals {
  private readonly attendeeRemovedRow: PreparedStatement;
  private readonly eventRemovedRows: PreparedStatement;
  private readonly raiseHorizons: PreparedStatement;
  private readonly forget: PreparedStatement;

  constructor(statements: StatementSet) {
    this.attendeeRemovedRow = statements.prepare(DAV_SYNC_SQL.attendeeRemoved);
    this.eventRemovedRows = statements.prepare(DAV_SYNC_SQL.eventRemoved);
    this.raiseHorizons = statements.prepare(DAV_SYNC_SQL.raiseHorizons);
    this.forget = statements.prepare(DAV_SYNC_SQL.forgetRemovals);
  }

  /** `username` is about to be taken off `eventId` by `entry`. */
  attendeeRemoved(eventId: string, username: string, entry: AppliedEntry): void {
    this.pruned(this.attendeeRemovedRow.run([eventId, username, entry.index, entry.at]), entry);
  }

  /** `eventId` is about to be deleted by `entry`, with every attendee row. */
  eventRemoved(eventId: string, entry: AppliedEntry): void {
    this.pruned(this.eventRemovedRows.run([eventId, entry.index, entry.at]), entry);
  }

  /** Forgets expired tombstones, a bounded number for the `written` ones just written. */
  private pruned(written: number, entry: AppliedEntry): void {
    if (written === 0) return;
    const params = [entry.at - DAV_SYNC_HORIZON_MS, written * PRUNED_PER_REMOVAL];
    this.raiseHorizons.run(params);
    this.forget.run(params);
  }
}

/** A place in the (version, event id) order of a user's changes. */
export interface SyncPlace {
  readonly version: number;
  /** Everything of `version` up to this event id was answered; absent: all of it. */
  readonly after?: string;
}

/** One change: an event of the user's changed, or a removal of one. */
interface Change {
  readonly version: number;
  readonly eventId: string;
  /** A removal's resource name and series; absent for an event the user is still on. */
  readonly removal?: { readonly name: string; readonly seriesId: string | null };
}

/** Sync's reads, over one connection's prepared statements. */
export class DavSyncRows {
  private readonly changedEvents: PreparedStatement;
  private readonly removalsAfter: PreparedStatement;
  private readonly newestRemovalOf: PreparedStatement;
  private readonly newestEventOf: PreparedStatement;
  private readonly horizonOf: PreparedStatement;

  constructor(statements: StatementSet) {
    this.changedEvents = statements.prepare(DAV_SYNC_SQL.changedEvents);
    this.removalsAfter = statements.prepare(DAV_SYNC_SQL.removalsAfter);
    this.newestRemovalOf = statements.prepare(DAV_SYNC_SQL.newestRemoval);
    this.newestEventOf = statements.prepare(DAV_SYNC_SQL.newestEvent);
    this.horizonOf = statements.prepare(DAV_SYNC_SQL.horizon);
  }

  /**
   * The user's first changes after `since` (from the start with null: every event they are
   * on, no removal), in (version, event id) order, an event's removal after its change: at
   * most `most` of each kind, so a page of a calendar of any size reads a page of changes.
   * `complete` says whether they are all that follow; if not, the list stops before the
   * first place one of the kinds may have more.
   */
  changes(
    username: Username,
    since: SyncPlace | null,
    most: number,
  ): { readonly changes: Change[]; readonly complete: boolean } {
    // Ids are ASCII letters, digits, '_' and '-': none sorts after U+FFFF.
    const params = [username, since?.version ?? -1, since?.after ?? '\uffff', most];
    const events: Change[] = this.changedEvents
      .all(params)
      .map((row) => ({ version: integer(row[0]), eventId: text(row[1]) }));
    const removals: Change[] =
      since === null
        ? []
        : this.removalsAfter.all(params).map((row) => ({
            version: integer(row[0]),
            eventId: text(row[1]),
            removal: { name: text(row[2]), seriesId: nullableText(row[3]) },
          }));
    const order = (a: Change, b: Change) =>
      a.version - b.version || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
    // Where a kind that filled its `most` may go on: nothing past it is known to be complete.
    const cuts = [events, removals]
      .filter((list) => list.length >= most)
      .map((list) => list[list.length - 1] as Change)
      .sort(order);
    const cut = cuts[0];
    const merged = [...events, ...removals]
      .filter((change) => cut === undefined || order(change, cut) <= 0)
      .sort(
        (a, b) =>
          order(a, b) || (a.removal === undefined ? 0 : 1) - (b.removal === undefined ? 0 : 1),
      );
    return { changes: merged, complete: cut === undefined };
  }

  /** The newest version of anything of the user's sync: events, removals, horizon. */
  newest(username: Username): number {
    const value = (row: SqlValue[] | undefined) => {
      const v = row?.[0];
      return v === null || v === undefined ? 0 : integer(v);
    };
    return Math.max(
      value(this.newestEventOf.first([username])),
      value(this.newestRemovalOf.first([username])),
      this.horizon(username),
    );
  }

  /** The newest index of the user's removals forgotten (0: none). */
  horizon(username: Username): number {
    const row = this.horizonOf.first([username]);
    return row === undefined ? 0 : integer(row[0]);
  }
}

/** A token as the store writes it: `<n>`, or `<v>.<event id>` for an answer cut short. */
export function formatSyncToken(place: SyncPlace): string {
  return place.after === undefined ? String(place.version) : `${place.version}.${place.after}`;
}

/** The place a token names, or null when it is not one of ours. */
export function parseSyncToken(token: string): SyncPlace | null {
  const m = /^(0|[1-9][0-9]{0,15})(?:\.([A-Za-z0-9_-]{1,64}))?$/.exec(token);
  if (m === null) return null;
  const version = Number(m[1]);
  if (!Number.isSafeInteger(version)) return null;
  return m[2] === undefined ? { version } : { version, after: m[2] };
}

/**
 * `dav.sync`: the resources of the caller's calendar changed or removed since the token
 * (all of them without one), at most `limit` (`MAX_CALENDAR_RESOURCES`) and
 * `MAX_CALENDAR_DATA_BYTES` of text, each named and tagged as `dav.calendar` names and tags
 * it; or, with `tokenOnly`, only the token a sync would answer now (the collection's
 * DAV:sync-token). Cost: O(the user's attendee rows + removals since the token), index only,
 * plus the loads of the changes answered.
 */
export function davSync(
  body: QueryOf<'dav.sync'>,
  env: QueryEnvironment,
): QueryResults['dav.sync'] {
  const actor = env.actor();
  const sync = env.davSync;
  let since: SyncPlace | null = null;
  if (body.token !== null) {
    since = parseSyncToken(body.token);
    if (since === null) return invalid('this is not a sync token of this calendar');
    if (since.version > env.appliedIndex()) {
      return invalid('this sync token is from a later state than this store has');
    }
    const horizon = sync.horizon(actor);
    if (horizon > since.version || (horizon === since.version && since.after !== undefined)) {
      return invalid(
        'this sync token is older than the removals this calendar remembers: sync from scratch',
      );
    }
  }
  if (body.tokenOnly === true) {
    return synced(formatSyncToken({ version: sync.newest(actor) }), false, [], []);
  }
  const limit = Math.min(body.limit ?? MAX_CALENDAR_RESOURCES, MAX_CALENDAR_RESOURCES);
  // A change answers at least one response unless another took its names: a page of them
  // past the limit fills the answer, or leaves a place to go on from.
  const { changes, complete } = sync.changes(actor, since, limit + 1);
  const answer = new SyncAnswer(env, actor, body.data, since === null);
  let last: Change | undefined;
  let truncated = false;
  for (let i = 0; i < changes.length;) {
    // A change and the removal of the same event at the same version go together: a token
    // names a place between events, never inside one.
    const head = changes[i] as Change;
    let j = i + 1;
    while (
      j < changes.length &&
      changes[j]?.version === head.version &&
      changes[j]?.eventId === head.eventId
    ) {
      j += 1;
    }
    if (last !== undefined && answer.full(limit)) {
      truncated = true;
      break;
    }
    for (const change of changes.slice(i, j)) answer.add(change);
    last = changes[j - 1];
    i = j;
  }
  if (!truncated && !complete && last !== undefined) truncated = true;
  let token: string;
  if (truncated && last !== undefined) {
    token = formatSyncToken({ version: last.version, after: last.eventId });
  } else {
    // Everything after `since` was answered: the newest version of the user's is the place
    // (since's own, if nothing is newer).
    const newest =
      since === null ? sync.newest(actor) : Math.max(since.version, last?.version ?? 0);
    token = formatSyncToken({ version: newest });
  }
  return synced(token, truncated, answer.changed(), answer.removed());
}

function invalid(reason: string): QueryResults['dav.sync'] {
  return { outcome: 'invalid-token', reason };
}

function synced(
  token: string,
  truncated: boolean,
  changed: DavResourceView[],
  removed: string[],
): QueryResults['dav.sync'] {
  return { outcome: 'synced', token, truncated, changed, removed };
}

/** The responses a sync gathers, by resource name: a resource's view, or null when gone. */
class SyncAnswer {
  private readonly byName = new Map<string, DavResourceView | null>();
  /**
   * Events already answered as part of a resource (and their names with it). The changed
   * occurrences of one series each bring the series and all of its changed occurrences (up
   * to MAX_DETACHED_PER_SERIES): loaded again for each, a page of them cost the page times
   * that many loads.
   */
  private readonly answered = new Set<string>();
  private bytes = 0;

  constructor(
    private readonly env: QueryEnvironment,
    private readonly actor: Username,
    private readonly data: boolean,
    private readonly initial: boolean,
  ) {}

  /** Whether the answer holds `limit` responses, or its text is past its bound. */
  full(limit: number): boolean {
    return this.byName.size >= limit || this.bytes > MAX_CALENDAR_DATA_BYTES;
  }

  /**
   * Answers what `change` may have changed: the resources its event is part of now (with
   * its series, or its changed occurrences), and every name it or they may have had before
   * — its own, its series', a removal's — each answered as it is now: the resource, or gone.
   */
  add(change: Change): void {
    // The answer reads one state: an event answered already is answered as it is now.
    if (change.removal === undefined && this.answered.has(change.eventId)) return;
    const { rows } = this.env;
    const found: EventRecord[] = [];
    const record = rows.event(change.eventId);
    if (record !== undefined) found.push(record);
    const seriesId = record?.event.detachedFrom?.seriesId ?? change.removal?.seriesId ?? null;
    const series = seriesId === null ? undefined : rows.event(seriesId);
    if (series !== undefined) found.push(series);
    const resources = resourcesOf(rows, this.actor, found);
    for (const resource of resources) {
      this.present(resource);
      for (const r of resource.records) this.answered.add(r.event.id);
    }
    if (this.initial) return;
    const names = new Set<string>();
    if (change.removal !== undefined) names.add(change.removal.name);
    // Names the client may hold: those of events the user is on (of any answer).
    for (const r of [...found, ...resources.flatMap((resource) => resource.records)]) {
      if (r.attendees.some((a) => a.username === this.actor))
        names.add(resourceName(r, this.actor));
    }
    for (const name of names) {
      if (this.byName.has(name)) continue;
      const now = resourceNamed(rows, this.actor, name);
      // An alias (an id naming a resource now named by its UID) is not a member.
      if (now !== undefined && now.name === name) this.present(now);
      else this.byName.set(name, null);
    }
  }

  private present(resource: CalendarResource): void {
    if (this.byName.get(resource.name)) return;
    const view = resourceView(resource);
    if (!this.data) {
      this.byName.set(resource.name, view);
      return;
    }
    const ics = resourceText(resource, this.env.now);
    this.bytes += Buffer.byteLength(ics);
    this.byName.set(resource.name, { ...view, ics });
  }

  changed(): DavResourceView[] {
    return [...this.byName.values()].filter((v): v is DavResourceView => v !== null);
  }

  removed(): string[] {
    return [...this.byName.entries()].filter(([, v]) => v === null).map(([name]) => name);
  }
}
