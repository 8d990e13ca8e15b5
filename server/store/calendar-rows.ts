/**
 * Loading: the reads that build the contexts the domain's decisions and queries take.
 * Every loader returns rows in a fixed order (by id or name; the agenda's own, in its indexes'
 * order), so the same image gives the same context — and so the same decision — on every
 * replica.
 *
 * Events always come with their complete attendee lists, as the domain requires — except in
 * the agenda's own load, which reads each target's attendee row and the viewer's instead.
 */
import type { SqlValue } from 'sql.js';
import type {
  AgendaCommitment,
  AgendaEvent,
  Attendee,
  AttendeeRole,
  AttendeeStatus,
  CalendarEvent,
  CommittedEvent,
  DetachedOccurrence,
  ImportedVersion,
  EventRecord,
  EventId,
  EventStatus,
  ExportedDetached,
  GroupKind,
  GroupRecord,
  Interval,
  ListingEntry,
  Millis,
  Recurrence,
  User,
  Username,
  Visibility,
  ZoneUse,
} from '../domain/index.js';
import { Internal } from '../../contract/errors.js';
import { ENDLESS, LONG_SPAN, SHORT_SPAN, SHORT_SPAN_MAX_MS } from './schema.js';
import { integer, nullableText, oneOf, text } from './statements.js';
import type { PreparedStatement, StatementSet } from './statements.js';

const VISIBILITIES: ReadonlySet<Visibility> = new Set(['public', 'busy', 'private']);
const EVENT_STATUSES: ReadonlySet<EventStatus> = new Set(['confirmed', 'pending', 'cancelled']);
const ATTENDEE_STATUSES: ReadonlySet<AttendeeStatus> = new Set(['accepted', 'pending', 'declined']);
const ROLES: ReadonlySet<AttendeeRole> = new Set(['organizer', 'invitee', 'imposed']);
const GROUP_KINDS: ReadonlySet<GroupKind> = new Set(['flat', 'hierarchical']);

/** The whole timeline, for loads without bounds. */
export const ALL_TIME: Interval = { start: -ENDLESS, end: ENDLESS };

/** Which of a person's events a load wants. */
export type Attendance = 'any' | 'accepted';

/** An entry of `attendees_by_user_event`: an event a user has not declined, and its times. */
export interface ExportEntry {
  readonly id: EventId;
  readonly start: Millis;
  readonly seriesEnd: Millis;
}

// An event row, read by eventOf.
const EVENT_ONLY_COLUMNS = `
  e.id, e.title, e.start_at, e.end_at, e.time_zone, e.description, e.location, e.visibility,
  e.recurrence, e.organizer, e.group_name, e.group_kind, e.status, e.created_at, e.updated_at,
  e.revision, e.uid, e.reminders, e.detached_from, e.transparent, e.imported_sequence,
  e.imported_stamp`;
// What a commitment index keeps of an event (CommittedEvent), read by committedEventOf.
const COMMITTED_EVENT_COLUMNS = `e.id, e.title, e.start_at, e.end_at, e.time_zone, e.recurrence,
  e.transparent`;
// An event row followed by its attendees as JSON: one statement per load, not one per event.
const EVENT_COLUMNS = `${EVENT_ONLY_COLUMNS},
  (SELECT json_group_array(json_array(x.username, x.status, x.role, x.own_answer))
     FROM attendees x WHERE x.event_id = e.id) AS attendees`;

// What placing an event in a list needs (ListedEvent), read by listedEventOf.
const LISTED_EVENT_COLUMNS = `e.id, e.start_at, e.end_at, e.time_zone, e.recurrence, e.status,
  e.transparent`;

// What an agenda needs of an event (AgendaEvent), read by agendaEventOf.
const AGENDA_EVENT_COLUMNS = `e.id, e.start_at, e.end_at, e.time_zone, e.recurrence, e.visibility,
  e.transparent`;

const GROUP_COLUMNS = `
  g.name, g.kind, g.owner,
  (SELECT json_group_array(json_array(x.username, x.level))
     FROM members x WHERE x.group_name = g.name) AS members,
  (SELECT json_group_array(json_array(i.username, i.level, i.invited_by, i.invited_at))
     FROM group_invitations i WHERE i.group_name = g.name) AS invitations`;

/** The SQL of every load, by name (exported so tests can check their query plans). */
export const LOADS = {
  userByName: 'SELECT username, display_name FROM users WHERE username = ?',
  credentialsByName: 'SELECT password_hash FROM credentials WHERE username = ?',
  usersAmong:
    'SELECT username FROM users WHERE username IN (SELECT value FROM json_each(?)) ORDER BY username',
  groupByName: `SELECT ${GROUP_COLUMNS} FROM groups g WHERE g.name = ?`,
  groupsOfUser: `SELECT ${GROUP_COLUMNS} FROM members m JOIN groups g ON g.name = m.group_name
    WHERE m.username = ? ORDER BY g.name`,
  groupsInvitingUser: `SELECT ${GROUP_COLUMNS} FROM group_invitations gi
    JOIN groups g ON g.name = gi.group_name WHERE gi.username = ? ORDER BY g.name`,
  groupBlock: 'SELECT 1 FROM group_blocks WHERE group_name = ? AND username = ?',
  groupInvitationCount: 'SELECT count(*) FROM group_invitations WHERE username = ?',
  groupInvitationCountFrom:
    'SELECT count(*) FROM group_invitations WHERE username = ? AND invited_by = ?',
  sessionGeneration: 'SELECT session_gen FROM users WHERE username = ?',
  sessionRevoked: 'SELECT 1 FROM revoked_sessions WHERE sid = ?',
  sessionById: `SELECT sid, username, refresh_seq, rotated_at, created_at, expires_at
    FROM sessions WHERE sid = ?`,
  liveSessionsOfUser: `SELECT sid, username, refresh_seq, rotated_at, created_at, expires_at
    FROM sessions WHERE username = ? AND expires_at > ? ORDER BY created_at, sid`,
  feedById: 'SELECT fid, username, label, created_at, expires_at FROM feeds WHERE fid = ?',
  feedsOfUser: `SELECT fid, username, label, created_at, expires_at FROM feeds
    WHERE username = ? ORDER BY created_at, fid`,
  deviceById: 'SELECT did, username, label, password_hash, created_at FROM devices WHERE did = ?',
  devicesOfUser: `SELECT did, username, label, password_hash, created_at FROM devices
    WHERE username = ? ORDER BY created_at, did`,
  deviceByPassword: `SELECT did, username, label, password_hash, created_at FROM devices
    WHERE username = ? AND password_hash = ?`,
  eventById: `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.id = ?`,
  eventIdTaken: 'SELECT 1 FROM events WHERE id = ?',
  // ?1 people (JSON array), ?2 window start, ?3 window end, ?4 1 for accepted only. The
  // people drive the join, each probing the two indexes, and the hits drive the event
  // lookups (CROSS JOIN fixes that order: without statistics the planner might scan events).
  eventsInWindow: `
    WITH who AS (SELECT DISTINCT value AS username FROM json_each(?1)),
    hits AS (
      SELECT a.event_id FROM who CROSS JOIN attendees a
       WHERE a.username = who.username AND a.span_class = ${SHORT_SPAN}
         AND a.start_at > ?2 - ${SHORT_SPAN_MAX_MS} AND a.start_at < ?3 AND a.series_end > ?2
         AND (?4 = 0 OR a.status = 'accepted')
      UNION
      SELECT a.event_id FROM who CROSS JOIN attendees a
       WHERE a.username = who.username AND a.span_class = ${LONG_SPAN}
         AND a.series_end > ?2 AND a.start_at < ?3
         AND (?4 = 0 OR a.status = 'accepted')
    )
    SELECT ${EVENT_COLUMNS} FROM hits CROSS JOIN events e ON e.id = hits.event_id
    ORDER BY hits.event_id`,
  // ?1 targets (JSON array), ?2 window start, ?3 window end: each target's commitments that
  // may reach into the window, one row per target and event, with the target's place in ?1
  // (no text to decode) and only what places an event and decides its privacy (sql.js
  // decodes every text column of every row, and that, with the attendees' JSON, was most of
  // an agenda read). The two time indexes, then the event by key, as eventsInWindow.
  agendaCommitments: `
    WITH who AS (SELECT key AS place, value AS username FROM json_each(?1))
    SELECT who.place, ${AGENDA_EVENT_COLUMNS}
      FROM who CROSS JOIN attendees a CROSS JOIN events e
     WHERE a.username = who.username AND a.span_class = ${SHORT_SPAN}
       AND a.start_at > ?2 - ${SHORT_SPAN_MAX_MS} AND a.start_at < ?3 AND a.series_end > ?2
       AND a.status = 'accepted' AND e.id = a.event_id AND e.status <> 'cancelled'
    UNION ALL
    SELECT who.place, ${AGENDA_EVENT_COLUMNS}
      FROM who CROSS JOIN attendees a CROSS JOIN events e
     WHERE a.username = who.username AND a.span_class = ${LONG_SPAN}
       AND a.series_end > ?2 AND a.start_at < ?3
       AND a.status = 'accepted' AND e.id = a.event_id AND e.status <> 'cancelled'`,
  // ?1 the user, ?2 window start, ?3 window end: every event on whose attendee list the
  // user is (any answer) that may reach into the window, from the time indexes alone.
  attendingInWindow: `
    SELECT a.event_id FROM attendees a
     WHERE a.username = ?1 AND a.span_class = ${SHORT_SPAN}
       AND a.start_at > ?2 - ${SHORT_SPAN_MAX_MS} AND a.start_at < ?3 AND a.series_end > ?2
    UNION ALL
    SELECT a.event_id FROM attendees a
     WHERE a.username = ?1 AND a.span_class = ${LONG_SPAN}
       AND a.series_end > ?2 AND a.start_at < ?3`,
  // ?1 the user, ?2 window start, ?3 window end: what places each event the user is on the
  // list of (any answer) that may reach into the window, with the user's answer — no
  // attendee lists and no text beyond the zone (an event list of 5,000 series decoded them
  // all on every page). The two time indexes, then the event by key.
  listingInWindow: `
    SELECT a.status, ${LISTED_EVENT_COLUMNS}
      FROM attendees a CROSS JOIN events e
     WHERE a.username = ?1 AND a.span_class = ${SHORT_SPAN}
       AND a.start_at > ?2 - ${SHORT_SPAN_MAX_MS} AND a.start_at < ?3 AND a.series_end > ?2
       AND e.id = a.event_id
    UNION ALL
    SELECT a.status, ${LISTED_EVENT_COLUMNS}
      FROM attendees a CROSS JOIN events e
     WHERE a.username = ?1 AND a.span_class = ${LONG_SPAN}
       AND a.series_end > ?2 AND a.start_at < ?3
       AND e.id = a.event_id`,
  // ?1 ids (JSON array).
  eventsByIds: `
    WITH wanted AS (SELECT DISTINCT value AS id FROM json_each(?1))
    SELECT ${EVENT_ONLY_COLUMNS} FROM wanted CROSS JOIN events e ON e.id = wanted.id
    ORDER BY e.id`,
  // ?1 the user, ?2 windows (JSON array of [start, end]), ?3 and ?4 the windows' hull. Short
  // events are probed window by window, long ones once over the hull (there are few; any
  // extra is ignored by the index that reads them).
  commitmentsInWindows: `
    WITH win AS (
      SELECT json_extract(value, '$[0]') AS s, json_extract(value, '$[1]') AS e FROM json_each(?2)
    ),
    hits AS (
      SELECT a.event_id FROM win CROSS JOIN attendees a
       WHERE a.username = ?1 AND a.span_class = ${SHORT_SPAN}
         AND a.start_at > win.s - ${SHORT_SPAN_MAX_MS} AND a.start_at < win.e AND a.series_end > win.s
         AND a.status = 'accepted'
      UNION
      SELECT a.event_id FROM attendees a
       WHERE a.username = ?1 AND a.span_class = ${LONG_SPAN}
         AND a.series_end > ?3 AND a.start_at < ?4 AND a.status = 'accepted'
    )
    SELECT ${COMMITTED_EVENT_COLUMNS} FROM hits CROSS JOIN events e ON e.id = hits.event_id
    WHERE e.status <> 'cancelled'
    ORDER BY hits.event_id`,
  // ?1 the organizer, ?2 UIDs (JSON array).
  eventsByUid: `
    WITH wanted AS (SELECT DISTINCT value AS uid FROM json_each(?2))
    SELECT ${EVENT_COLUMNS} FROM wanted CROSS JOIN events e
    WHERE e.organizer = ?1 AND e.uid = wanted.uid
    ORDER BY e.id`,
  // ?1 the organizer, ?2 ids (JSON array): events of Agenda's own, which exports name by id.
  eventsByIdWithoutUid: `
    WITH wanted AS (SELECT DISTINCT value AS id FROM json_each(?2))
    SELECT ${EVENT_COLUMNS} FROM wanted CROSS JOIN events e
    WHERE e.id = wanted.id AND e.organizer = ?1 AND e.uid IS NULL
    ORDER BY e.id`,
  // ?1 the user, ?2 now, ?3 and ?4 the start and event id the page comes after, ?5 the most
  // to load: a page of `invite list` in its order, from the pending attendances only
  // (attendees_pending_by_end), the attendee lists of the page's events alone.
  invitationsPageOfUser: `SELECT ${EVENT_COLUMNS} FROM (
      SELECT event_id, start_at FROM attendees
      WHERE username = ?1 AND status = 'pending' AND series_end > ?2
        AND (start_at > ?3 OR (start_at = ?3 AND event_id > ?4))
      ORDER BY start_at, event_id LIMIT ?5) AS wanted
    JOIN events e ON e.id = wanted.event_id
    ORDER BY wanted.start_at, wanted.event_id`,
  eventsOfGroup: `SELECT ${EVENT_COLUMNS} FROM events e
    WHERE e.group_name = ? AND e.series_end > ? ORDER BY e.id`,
  // Account deletion (account-deletion.ts): a page at a time, each in its index's order.
  // The user, the page size: events on whose attendee list they are, from each time index.
  shortAttendanceOfUser: `SELECT event_id FROM attendees
    WHERE username = ? AND span_class = ${SHORT_SPAN}
    ORDER BY start_at, series_end, status, event_id LIMIT ?`,
  longAttendanceOfUser: `SELECT event_id FROM attendees
    WHERE username = ? AND span_class = ${LONG_SPAN}
    ORDER BY series_end, start_at, status, event_id LIMIT ?`,
  sessionIdsOfUser: `SELECT sid FROM sessions WHERE username = ?
    ORDER BY created_at, sid LIMIT ?`,
  groupNamesOfUser: `SELECT group_name FROM members WHERE username = ?
    ORDER BY group_name LIMIT ?`,
  blockedGroupsOfUser: `SELECT group_name FROM group_blocks WHERE username = ?
    ORDER BY group_name LIMIT ?`,
  // ?1 the group, ?2 now, ?3 the page size: its events not over, whatever their status.
  groupEventsPage: `SELECT ${EVENT_COLUMNS} FROM events e
    WHERE e.group_name = ?1 AND e.series_end > ?2 ORDER BY e.series_end, e.id LIMIT ?3`,
  // ?1 the series, ?2 its organizer, ?3 the most to load: the live events detached from it,
  // through events_by_detached_series (whose conditions are repeated for SQLite to use it).
  liveEventsDetachedFrom: `SELECT ${EVENT_COLUMNS} FROM events e
    WHERE e.detached_from IS NOT NULL AND e.status <> 'cancelled'
      AND json_extract(e.detached_from, '$.seriesId') = ?1 AND e.organizer = ?2
    ORDER BY e.id LIMIT ?3`,
  // ?1 the series, ?2 its organizer: how many live events are detached from it, through the
  // same index (they are MAX_DETACHED_PER_SERIES at most: no more are made).
  liveDetachedCount: `SELECT count(*) FROM events e
    WHERE e.detached_from IS NOT NULL AND e.status <> 'cancelled'
      AND json_extract(e.detached_from, '$.seriesId') = ?1 AND e.organizer = ?2`,
  // ?1 the series, ?2 its organizer, ?3 an occurrence's start: the id of the live event that
  // occurrence became, through the same index.
  liveEventDetachedAt: `SELECT e.id FROM events e
    WHERE e.detached_from IS NOT NULL AND e.status <> 'cancelled'
      AND json_extract(e.detached_from, '$.seriesId') = ?1 AND e.organizer = ?2
      AND json_extract(e.detached_from, '$.occurrenceStart') = ?3
    ORDER BY e.id LIMIT 1`,
  // ?1 the series, ?2 a user, ?3 their answer, ?4 the most to load: the live events detached
  // from it that the answer to the series changes (the user is invited there, has not
  // answered there alone, and answered otherwise), through the same index and order as
  // liveEventsDetachedFrom.
  liveEventsDetachedAnsweredWith: `SELECT ${EVENT_COLUMNS} FROM events e
    WHERE e.detached_from IS NOT NULL AND e.status <> 'cancelled'
      AND json_extract(e.detached_from, '$.seriesId') = ?1
      AND EXISTS (SELECT 1 FROM attendees a
        WHERE a.event_id = e.id AND a.username = ?2 AND a.role = 'invitee'
          AND a.own_answer = 0 AND a.status <> ?3)
    ORDER BY e.id LIMIT ?4`,
  // Export (export-pages.ts): ?1 the user, ?2 the id after which to read, ?3 the most to
  // read. The events on whose list the user is and has not declined, by id, with their times,
  // from attendees_by_user_event alone (whose condition is repeated for SQLite to use it).
  exportEntries: `
    SELECT a.event_id, a.start_at, a.series_end FROM attendees a
     WHERE a.username = ?1 AND a.status <> 'declined' AND a.event_id > ?2
     ORDER BY a.event_id LIMIT ?3`,
  // ?1 the user, ?2 window start, ?3 window end: for each zone of the events an export
  // carries, their earliest start, latest bounded end and latest endless start (what its
  // VTIMEZONE covers), from the time indexes and each event's zone alone.
  exportZones: `
    WITH hits AS (
      SELECT a.event_id, a.start_at, a.series_end FROM attendees a
       WHERE a.username = ?1 AND a.span_class = ${SHORT_SPAN}
         AND a.start_at > ?2 - ${SHORT_SPAN_MAX_MS} AND a.start_at < ?3 AND a.series_end > ?2
         AND a.status <> 'declined'
      UNION ALL
      SELECT a.event_id, a.start_at, a.series_end FROM attendees a
       WHERE a.username = ?1 AND a.span_class = ${LONG_SPAN}
         AND a.series_end > ?2 AND a.start_at < ?3 AND a.status <> 'declined'
    )
    SELECT e.time_zone, min(hits.start_at),
           max(CASE WHEN hits.series_end < ${ENDLESS} THEN hits.series_end END),
           max(CASE WHEN hits.series_end >= ${ENDLESS} THEN hits.start_at END)
      FROM hits CROSS JOIN events e ON e.id = hits.event_id
     GROUP BY e.time_zone ORDER BY e.time_zone`,
  // ?1 the series, ?2 the user, ?3 window start, ?4 window end, ?5 the most to load: the
  // live events detached from it that an export of the user's carries, through
  // events_by_detached_series (whose conditions are repeated for SQLite to use it).
  exportedDetachedOf: `
    SELECT e.id, e.start_at, json_extract(e.detached_from, '$.occurrenceStart')
      FROM events e CROSS JOIN attendees a
     WHERE e.detached_from IS NOT NULL AND e.status <> 'cancelled'
       AND json_extract(e.detached_from, '$.seriesId') = ?1
       AND a.event_id = e.id AND a.username = ?2 AND a.status <> 'declined'
       AND a.start_at < ?4 AND a.series_end > ?3
     ORDER BY e.id LIMIT ?5`,
  // ?1 an event, ?2 the user, ?3 window start, ?4 window end: the event, if an export of the
  // user's carries it.
  exportedEventById: `SELECT ${EVENT_COLUMNS} FROM events e CROSS JOIN attendees a
    WHERE e.id = ?1 AND a.event_id = e.id AND a.username = ?2 AND a.status <> 'declined'
      AND a.start_at < ?4 AND a.series_end > ?3`,
  accountDeletion: 'SELECT deleted_at, purged_at FROM deleted_users WHERE username = ?',
  accountsBeingPurged: `SELECT username FROM deleted_users WHERE purged_at IS NULL
    ORDER BY deleted_at, username LIMIT ?`,
} as const;

function parseJson(value: SqlValue | undefined): unknown {
  return JSON.parse(text(value)) as unknown;
}

/** Organizer first, then by username: how the domain lists the attendees it creates. */
function attendeeOrder(a: Attendee, b: Attendee): number {
  const organizer = Number(b.role === 'organizer') - Number(a.role === 'organizer');
  return organizer || (a.username < b.username ? -1 : a.username > b.username ? 1 : 0);
}

function attendeesOf(eventId: string, value: SqlValue | undefined): Attendee[] {
  const list = parseJson(value);
  if (!Array.isArray(list)) throw new Internal(`attendees of ${eventId} are not a list`);
  const attendees = list.map((item: unknown): Attendee => {
    if (!Array.isArray(item)) throw new Internal(`an attendee of ${eventId} is malformed`);
    const [username, status, role, ownAnswer] = item as SqlValue[];
    return {
      eventId,
      username: text(username),
      status: oneOf(status, ATTENDEE_STATUSES),
      role: oneOf(role, ROLES),
      ...(ownAnswer === 1 ? { ownAnswer: true as const } : {}),
    };
  });
  return attendees.sort(attendeeOrder);
}

/** An event from the {@link EVENT_ONLY_COLUMNS} at the start of `row`. */
function eventOf(row: SqlValue[]): CalendarEvent {
  const id = text(row[0]);
  const recurrenceJson = nullableText(row[8]);
  const groupName = nullableText(row[10]);
  const groupKind = row[11] === null ? null : oneOf(row[11], GROUP_KINDS);
  const uid = nullableText(row[16]);
  const remindersJson = nullableText(row[17]);
  const detachedJson = nullableText(row[18]);
  return {
    id,
    title: text(row[1]),
    start: integer(row[2]),
    end: integer(row[3]),
    timeZone: text(row[4]),
    description: text(row[5]),
    location: text(row[6]),
    visibility: oneOf(row[7], VISIBILITIES),
    // Written by this store from the domain's own Recurrence value.
    recurrence: recurrenceJson === null ? null : (JSON.parse(recurrenceJson) as Recurrence),
    organizer: text(row[9]),
    group: groupName === null || groupKind === null ? null : { name: groupName, kind: groupKind },
    status: oneOf(row[12], EVENT_STATUSES),
    createdAt: integer(row[13]),
    updatedAt: integer(row[14]),
    revision: integer(row[15]),
    ...(uid === null ? {} : { uid }),
    // Written by this store from the domain's validated reminders.
    ...(remindersJson === null ? {} : { reminders: JSON.parse(remindersJson) as number[] }),
    // Written by this store from the domain's own DetachedOccurrence value.
    ...(detachedJson === null
      ? {}
      : { detachedFrom: JSON.parse(detachedJson) as DetachedOccurrence }),
    ...transparency(row[19]),
    ...importedVersionOf(row[20], row[21]),
  };
}

/** `{ importedVersion }` from the `imported_sequence` and `imported_stamp` columns, else `{}`. */
function importedVersionOf(
  sequence: SqlValue | undefined,
  stamp: SqlValue | undefined,
): { importedVersion?: ImportedVersion } {
  if (sequence === null || sequence === undefined) return {};
  return {
    importedVersion: {
      sequence: integer(sequence),
      stamp: stamp === null || stamp === undefined ? null : integer(stamp),
    },
  };
}

/** `{ transparent: true }` for a transparent event's `transparent` column (1), else `{}`. */
function transparency(value: SqlValue | undefined): { transparent?: true } {
  return integer(value) === 1 ? { transparent: true } : {};
}

/** A {@link CommittedEvent} from the {@link COMMITTED_EVENT_COLUMNS}. */
function committedEventOf(row: SqlValue[]): CommittedEvent {
  const recurrenceJson = nullableText(row[5]);
  return {
    id: text(row[0]),
    title: text(row[1]),
    start: integer(row[2]),
    end: integer(row[3]),
    timeZone: text(row[4]),
    // Written by this store from the domain's own Recurrence value.
    recurrence: recurrenceJson === null ? null : (JSON.parse(recurrenceJson) as Recurrence),
    ...transparency(row[6]),
  };
}

/** An {@link AgendaEvent} from the {@link AGENDA_EVENT_COLUMNS} from `row[at]` on. */
function agendaEventOf(row: SqlValue[], at: number): AgendaEvent {
  const recurrenceJson = nullableText(row[at + 4]);
  return {
    id: text(row[at]),
    start: integer(row[at + 1]),
    end: integer(row[at + 2]),
    timeZone: text(row[at + 3]),
    // Written by this store from the domain's own Recurrence value.
    recurrence: recurrenceJson === null ? null : (JSON.parse(recurrenceJson) as Recurrence),
    visibility: oneOf(row[at + 5], VISIBILITIES),
    ...transparency(row[at + 6]),
  };
}

/** A {@link ListingEntry}: the attendee's status, then the {@link LISTED_EVENT_COLUMNS}. */
function listingEntryOf(row: SqlValue[]): ListingEntry {
  const recurrenceJson = nullableText(row[5]);
  return {
    status: oneOf(row[0], ATTENDEE_STATUSES),
    event: {
      id: text(row[1]),
      start: integer(row[2]),
      end: integer(row[3]),
      timeZone: text(row[4]),
      // Written by this store from the domain's own Recurrence value.
      recurrence: recurrenceJson === null ? null : (JSON.parse(recurrenceJson) as Recurrence),
      status: oneOf(row[6], EVENT_STATUSES),
      ...transparency(row[7]),
    },
  };
}

function eventRecordOf(row: SqlValue[]): EventRecord {
  const event = eventOf(row);
  return { event, attendees: attendeesOf(event.id, row[22]) };
}

function groupRecordOf(row: SqlValue[]): GroupRecord {
  const name = text(row[0]);
  const members = parseJson(row[3]);
  if (!Array.isArray(members)) throw new Internal(`members of ${name} are not a list`);
  const invitations = parseJson(row[4]);
  if (!Array.isArray(invitations)) throw new Internal(`invitations to ${name} are not a list`);
  return {
    group: { name, kind: oneOf(row[1], GROUP_KINDS), owner: text(row[2]) },
    members: members.map((item: unknown) => {
      if (!Array.isArray(item)) throw new Internal(`a member of ${name} is malformed`);
      const [username, level] = item as SqlValue[];
      return { group: name, username: text(username), level: integer(level) };
    }),
    invitations: invitations.map((item: unknown) => {
      if (!Array.isArray(item)) throw new Internal(`an invitation to ${name} is malformed`);
      const [username, level, invitedBy, invitedAt] = item as SqlValue[];
      return {
        group: name,
        username: text(username),
        level: integer(level),
        invitedBy: text(invitedBy),
        invitedAt: integer(invitedAt),
      };
    }),
  };
}

/** A calendar feed: a subscription URL's token names it, and lives while it does. */
export interface FeedRow {
  readonly fid: string;
  readonly username: Username;
  readonly label: string;
  readonly createdAt: Millis;
  readonly expiresAt: Millis;
}

/**
 * A device's app password (a CalDAV client's): its SHA-256, hex, never the password. A
 * device token names the device, and is refused once the device is gone.
 */
export interface DeviceRow {
  readonly did: string;
  readonly username: Username;
  readonly label: string;
  readonly passwordHash: string;
  readonly createdAt: Millis;
}

function deviceOf(row: SqlValue[]): DeviceRow {
  return {
    did: text(row[0]),
    username: text(row[1]),
    label: text(row[2]),
    passwordHash: text(row[3]),
    createdAt: integer(row[4]),
  };
}

function feedOf(row: SqlValue[]): FeedRow {
  return {
    fid: text(row[0]),
    username: text(row[1]),
    label: text(row[2]),
    createdAt: integer(row[3]),
    expiresAt: integer(row[4]),
  };
}

/** A refreshable session (server/users/tokens.ts): a login opens it, refresh tokens name it. */
export interface SessionRow {
  readonly sid: string;
  readonly username: Username;
  /** The place in the rotation of the one refresh token that renews it now. */
  readonly refreshSeq: number;
  /** When that token was issued (the one before it still renews until the grace is over). */
  readonly rotatedAt: Millis;
  readonly createdAt: Millis;
  /** When its refresh tokens expire, and the session with them. */
  readonly expiresAt: Millis;
}

function sessionOf(row: SqlValue[]): SessionRow {
  return {
    sid: text(row[0]),
    username: text(row[1]),
    refreshSeq: integer(row[2]),
    rotatedAt: integer(row[3]),
    createdAt: integer(row[4]),
    expiresAt: integer(row[5]),
  };
}

/** A deleted account: when, and whether all its data is gone yet (null while not). */
export interface AccountDeletionRow {
  readonly deletedAt: Millis;
  readonly purgedAt: Millis | null;
}

/** The calendar's reads, over one connection's prepared statements. */
export class CalendarRows {
  private readonly userByName: PreparedStatement;
  private readonly credentialsByName: PreparedStatement;
  private readonly usersAmong: PreparedStatement;
  private readonly groupByName: PreparedStatement;
  private readonly groupsOfUser: PreparedStatement;
  private readonly groupsInvitingUser: PreparedStatement;
  private readonly groupBlock: PreparedStatement;
  private readonly groupInvitationCount: PreparedStatement;
  private readonly groupInvitationCountFrom: PreparedStatement;
  private readonly sessionGenerationOf: PreparedStatement;
  private readonly sessionRevokedRow: PreparedStatement;
  private readonly sessionById: PreparedStatement;
  private readonly liveSessionsOfUser: PreparedStatement;
  private readonly feedById: PreparedStatement;
  private readonly feedsOfUser: PreparedStatement;
  private readonly deviceById: PreparedStatement;
  private readonly devicesOfUser: PreparedStatement;
  private readonly deviceByPassword: PreparedStatement;
  private readonly eventById: PreparedStatement;
  private readonly eventIdTaken: PreparedStatement;
  private readonly eventsInWindow: PreparedStatement;
  private readonly agendaCommitmentsOf: PreparedStatement;
  private readonly attendingInWindow: PreparedStatement;
  private readonly listingInWindow: PreparedStatement;
  private readonly eventsByIds: PreparedStatement;
  private readonly invitationsPageOfUser: PreparedStatement;
  private readonly eventsOfGroup: PreparedStatement;
  private readonly commitmentsInWindows: PreparedStatement;
  private readonly eventsByUid: PreparedStatement;
  private readonly eventsByIdWithoutUid: PreparedStatement;
  private readonly shortAttendanceOfUser: PreparedStatement;
  private readonly longAttendanceOfUser: PreparedStatement;
  private readonly sessionIdsOfUser: PreparedStatement;
  private readonly groupNamesOfUser: PreparedStatement;
  private readonly blockedGroupsOfUser: PreparedStatement;
  private readonly groupEventsPageOf: PreparedStatement;
  private readonly liveEventsDetachedFromSeries: PreparedStatement;
  private readonly liveEventsDetachedAnsweredWithSeries: PreparedStatement;
  private readonly liveDetachedCountOf: PreparedStatement;
  private readonly liveEventDetachedAtStart: PreparedStatement;
  private readonly exportEntryRows: PreparedStatement;
  private readonly exportZones: PreparedStatement;
  private readonly exportedDetachedRows: PreparedStatement;
  private readonly exportedEventById: PreparedStatement;
  private readonly accountDeletionOf: PreparedStatement;
  private readonly accountsBeingPurgedRows: PreparedStatement;

  constructor(statements: StatementSet) {
    this.userByName = statements.prepare(LOADS.userByName);
    this.credentialsByName = statements.prepare(LOADS.credentialsByName);
    this.usersAmong = statements.prepare(LOADS.usersAmong);
    this.groupByName = statements.prepare(LOADS.groupByName);
    this.groupsOfUser = statements.prepare(LOADS.groupsOfUser);
    this.groupsInvitingUser = statements.prepare(LOADS.groupsInvitingUser);
    this.groupBlock = statements.prepare(LOADS.groupBlock);
    this.groupInvitationCount = statements.prepare(LOADS.groupInvitationCount);
    this.groupInvitationCountFrom = statements.prepare(LOADS.groupInvitationCountFrom);
    this.sessionGenerationOf = statements.prepare(LOADS.sessionGeneration);
    this.sessionRevokedRow = statements.prepare(LOADS.sessionRevoked);
    this.sessionById = statements.prepare(LOADS.sessionById);
    this.liveSessionsOfUser = statements.prepare(LOADS.liveSessionsOfUser);
    this.feedById = statements.prepare(LOADS.feedById);
    this.feedsOfUser = statements.prepare(LOADS.feedsOfUser);
    this.deviceById = statements.prepare(LOADS.deviceById);
    this.devicesOfUser = statements.prepare(LOADS.devicesOfUser);
    this.deviceByPassword = statements.prepare(LOADS.deviceByPassword);
    this.eventById = statements.prepare(LOADS.eventById);
    this.eventIdTaken = statements.prepare(LOADS.eventIdTaken);
    this.eventsInWindow = statements.prepare(LOADS.eventsInWindow);
    this.agendaCommitmentsOf = statements.prepare(LOADS.agendaCommitments);
    this.attendingInWindow = statements.prepare(LOADS.attendingInWindow);
    this.listingInWindow = statements.prepare(LOADS.listingInWindow);
    this.eventsByIds = statements.prepare(LOADS.eventsByIds);
    this.invitationsPageOfUser = statements.prepare(LOADS.invitationsPageOfUser);
    this.eventsOfGroup = statements.prepare(LOADS.eventsOfGroup);
    this.commitmentsInWindows = statements.prepare(LOADS.commitmentsInWindows);
    this.eventsByUid = statements.prepare(LOADS.eventsByUid);
    this.eventsByIdWithoutUid = statements.prepare(LOADS.eventsByIdWithoutUid);
    this.shortAttendanceOfUser = statements.prepare(LOADS.shortAttendanceOfUser);
    this.longAttendanceOfUser = statements.prepare(LOADS.longAttendanceOfUser);
    this.sessionIdsOfUser = statements.prepare(LOADS.sessionIdsOfUser);
    this.groupNamesOfUser = statements.prepare(LOADS.groupNamesOfUser);
    this.blockedGroupsOfUser = statements.prepare(LOADS.blockedGroupsOfUser);
    this.groupEventsPageOf = statements.prepare(LOADS.groupEventsPage);
    this.liveEventsDetachedFromSeries = statements.prepare(LOADS.liveEventsDetachedFrom);
    this.liveEventsDetachedAnsweredWithSeries = statements.prepare(
      LOADS.liveEventsDetachedAnsweredWith,
    );
    this.liveDetachedCountOf = statements.prepare(LOADS.liveDetachedCount);
    this.liveEventDetachedAtStart = statements.prepare(LOADS.liveEventDetachedAt);
    this.exportEntryRows = statements.prepare(LOADS.exportEntries);
    this.exportZones = statements.prepare(LOADS.exportZones);
    this.exportedDetachedRows = statements.prepare(LOADS.exportedDetachedOf);
    this.exportedEventById = statements.prepare(LOADS.exportedEventById);
    this.accountDeletionOf = statements.prepare(LOADS.accountDeletion);
    this.accountsBeingPurgedRows = statements.prepare(LOADS.accountsBeingPurged);
  }

  user(username: Username): User | undefined {
    const row = this.userByName.first([username]);
    return row === undefined ? undefined : { username: text(row[0]), displayName: text(row[1]) };
  }

  /** The stored password hash of a registered user. */
  passwordHash(username: Username): string | undefined {
    const row = this.credentialsByName.first([username]);
    return row === undefined ? undefined : text(row[0]);
  }

  /** The registered users among `usernames`. */
  existingUsers(usernames: readonly string[]): Set<Username> {
    if (usernames.length === 0) return new Set();
    return new Set(this.usersAmong.all([JSON.stringify(usernames)]).map((row) => text(row[0])));
  }

  /** A group with its members and pending invitations. */
  group(name: string): GroupRecord | undefined {
    const row = this.groupByName.first([name]);
    return row === undefined ? undefined : groupRecordOf(row);
  }

  /** Every group the user belongs to, with members, by name. */
  groupsOf(username: Username): GroupRecord[] {
    return this.groupsOfUser.all([username]).map(groupRecordOf);
  }

  /** Every group inviting the user to join, by name. */
  groupsInviting(username: Username): GroupRecord[] {
    return this.groupsInvitingUser.all([username]).map(groupRecordOf);
  }

  /** The user's session generation (a password change raises it); undefined for no such user. */
  sessionGeneration(username: Username): number | undefined {
    const row = this.sessionGenerationOf.first([username]);
    return row === undefined ? undefined : integer(row[0]);
  }

  /** Whether the session was logged out (and its tokens have not expired yet). */
  sessionRevoked(sid: string): boolean {
    return this.sessionRevokedRow.first([sid]) !== undefined;
  }

  /** A refreshable session, by id (expired or not: it is forgotten some time after). */
  session(sid: string): SessionRow | undefined {
    const row = this.sessionById.first([sid]);
    return row === undefined ? undefined : sessionOf(row);
  }

  /** The user's sessions not expired at `now`, oldest first. */
  liveSessionsOf(username: Username, now: Millis): SessionRow[] {
    return this.liveSessionsOfUser.all([username, now]).map(sessionOf);
  }

  /** A calendar feed, by id. */
  feed(fid: string): FeedRow | undefined {
    const row = this.feedById.first([fid]);
    return row === undefined ? undefined : feedOf(row);
  }

  /** The user's calendar feeds, oldest first. */
  feedsOf(username: Username): FeedRow[] {
    return this.feedsOfUser.all([username]).map(feedOf);
  }

  /** A device's app password, by id. */
  device(did: string): DeviceRow | undefined {
    const row = this.deviceById.first([did]);
    return row === undefined ? undefined : deviceOf(row);
  }

  /** The user's devices, oldest first. */
  devicesOf(username: Username): DeviceRow[] {
    return this.devicesOfUser.all([username]).map(deviceOf);
  }

  /** The user's device whose app password hashes to `passwordHash`, if any. */
  deviceWithPassword(username: Username, passwordHash: string): DeviceRow | undefined {
    const row = this.deviceByPassword.first([username, passwordHash]);
    return row === undefined ? undefined : deviceOf(row);
  }

  /** How many group invitations wait for the user's answer. */
  groupInvitationsWaiting(username: Username): number {
    return integer(this.groupInvitationCount.first([username])?.[0] ?? 0);
  }

  /** How many of them `inviter` sent (through the index by user: at most the cap's worth). */
  groupInvitationsWaitingFrom(username: Username, inviter: Username): number {
    return integer(this.groupInvitationCountFrom.first([username, inviter])?.[0] ?? 0);
  }

  /** Whether the user refuses invitations to the group. */
  blocksGroup(group: string, username: Username): boolean {
    return this.groupBlock.first([group, username]) !== undefined;
  }

  /** An event with its attendees. */
  event(id: string): EventRecord | undefined {
    const row = this.eventById.first([id]);
    return row === undefined ? undefined : eventRecordOf(row);
  }

  /** Whether an event already has this id. */
  eventExists(id: string): boolean {
    return this.eventIdTaken.first([id]) !== undefined;
  }

  /**
   * The events any of `people` attends (`accepted` ones only, or any answer) that have an
   * occurrence reaching into `window` — possibly a few more (series are matched on their
   * bounds, not occurrence by occurrence), each once, by id.
   */
  eventsAttending(
    people: readonly Username[],
    window: Interval,
    attendance: Attendance,
  ): EventRecord[] {
    if (people.length === 0) return [];
    return this.eventsInWindow
      .all([JSON.stringify(people), window.start, window.end, attendance === 'accepted' ? 1 : 0])
      .map(eventRecordOf);
  }

  /**
   * What `username`'s event list places (see {@link LOADS.listingInWindow}): each event on
   * whose attendee list they are, with any answer, that may have an occurrence reaching into
   * `window` — possibly a few more — once, in no particular order. {@link events} loads
   * those shown whole.
   */
  listing(username: Username, window: Interval): ListingEntry[] {
    return this.listingInWindow.all([username, window.start, window.end]).map(listingEntryOf);
  }

  /**
   * What the agendas of `targets` seen by `viewer` hold: each target's commitments
   * (accepted, not cancelled) that may have an occurrence reaching into `window` — possibly
   * a few more — each once per target, in no particular order (the agenda orders them).
   * The events come as {@link AgendaEvent}s; {@link events} loads those shown whole.
   */
  agendaCommitments(
    targets: readonly Username[],
    viewer: Username,
    window: Interval,
  ): AgendaCommitment[] {
    if (targets.length === 0) return [];
    const attended = new Set(
      this.attendingInWindow.all([viewer, window.start, window.end]).map((row) => text(row[0])),
    );
    // A group event is a commitment of many targets: one value (and one recurrence parse).
    const seen = new Map<EventId, AgendaEvent>();
    return this.agendaCommitmentsOf
      .all([JSON.stringify(targets), window.start, window.end])
      .map((row): AgendaCommitment => {
        const owner = targets[integer(row[0])];
        if (owner === undefined) throw new Internal('an agenda row names no target');
        const id = text(row[1]);
        let event = seen.get(id);
        if (event === undefined) seen.set(id, (event = agendaEventOf(row, 1)));
        return { owner, event, viewerAttends: attended.has(id) };
      });
  }

  /** The events with these ids (those that exist), by id. */
  events(ids: Iterable<EventId>): Map<EventId, CalendarEvent> {
    const wanted = [...ids];
    const found = new Map<EventId, CalendarEvent>();
    if (wanted.length === 0) return found;
    for (const row of this.eventsByIds.all([JSON.stringify(wanted)])) {
      const event = eventOf(row);
      found.set(event.id, event);
    }
    return found;
  }

  /**
   * The user's commitments (accepted, not cancelled) that may have an occurrence reaching
   * into one of `windows` — possibly a few more — without attendees: what the domain's
   * `CommitmentIndex` needs. Each once, by id.
   */
  commitments(username: Username, windows: readonly Interval[]): CommittedEvent[] {
    if (windows.length === 0) return [];
    const hull = {
      start: Math.min(...windows.map((w) => w.start)),
      end: Math.max(...windows.map((w) => w.end)),
    };
    return this.commitmentsInWindows
      .all([username, JSON.stringify(windows.map((w) => [w.start, w.end])), hull.start, hull.end])
      .map(committedEventOf);
  }

  /**
   * What an import of `uids` by `organizer` finds, by UID: the events of theirs imported
   * with it, else — for the UIDs an export of Agenda's own events carries, their ids — the
   * event of theirs with that id and no UID.
   */
  eventsImportedAs(organizer: Username, uids: readonly string[]): Map<string, EventRecord> {
    const found = new Map<string, EventRecord>();
    if (uids.length === 0) return found;
    const wanted = JSON.stringify(uids);
    for (const record of this.eventsByUid.all([organizer, wanted]).map(eventRecordOf)) {
      if (record.event.uid !== undefined) found.set(record.event.uid, record);
    }
    for (const record of this.eventsByIdWithoutUid.all([organizer, wanted]).map(eventRecordOf)) {
      if (!found.has(record.event.id)) found.set(record.event.id, record);
    }
    return found;
  }

  /** Events the user is invited to, has not answered, and that are not over at `now`. */
  /**
   * Up to `limit` events the user is invited to and has not answered, not over at `now`, by
   * first start and then id, after `after` (from the first when null): a page of
   * `invite list`, which the domain filters and shows (`invitationsPage`).
   */
  pendingInvitationsPage(
    username: Username,
    now: Millis,
    after: { readonly start: Millis; readonly eventId: string } | null,
    limit: number,
  ): EventRecord[] {
    return this.invitationsPageOfUser
      .all([username, now, after?.start ?? Number.MIN_SAFE_INTEGER, after?.eventId ?? '', limit])
      .map(eventRecordOf);
  }

  /** The group's events that are not over at `now`. */
  groupEvents(group: string, now: Millis): EventRecord[] {
    return this.eventsOfGroup.all([group, now]).map(eventRecordOf);
  }

  /**
   * Up to `limit` events on whose attendee list the user is (any answer, any role), in the
   * time indexes' order: short ones first, then long ones — up to twice `limit` in all.
   */
  attendance(username: Username, limit: number): EventId[] {
    return [
      ...this.shortAttendanceOfUser.all([username, limit]),
      ...this.longAttendanceOfUser.all([username, limit]),
    ].map((row) => text(row[0]));
  }

  /** Up to `limit` of the user's refreshable sessions (expired or not), oldest first. */
  sessionIdsOf(username: Username, limit: number): string[] {
    return this.sessionIdsOfUser.all([username, limit]).map((row) => text(row[0]));
  }

  /** Up to `limit` of the groups the user is a member of, by name. */
  groupNamesOf(username: Username, limit: number): string[] {
    return this.groupNamesOfUser.all([username, limit]).map((row) => text(row[0]));
  }

  /** Up to `limit` of the groups whose invitations the user blocks, by name. */
  blockedGroupsOf(username: Username, limit: number): string[] {
    return this.blockedGroupsOfUser.all([username, limit]).map((row) => text(row[0]));
  }

  /** Up to `limit` of the group's events not over at `now` (any status), soonest ending first. */
  groupEventsPage(group: string, now: Millis, limit: number): EventRecord[] {
    return this.groupEventsPageOf.all([group, now, limit]).map(eventRecordOf);
  }

  /**
   * Up to `limit` live events (not cancelled) detached from the series — its occurrences
   * changed on their own — that `organizer` organizes, by id.
   */
  liveEventsDetachedFrom(series: EventId, organizer: Username, limit: number): EventRecord[] {
    return this.liveEventsDetachedFromSeries.all([series, organizer, limit]).map(eventRecordOf);
  }

  /** How many live events (not cancelled) that `organizer` organizes are detached from the series. */
  liveDetachedCount(series: EventId, organizer: Username): number {
    return integer(this.liveDetachedCountOf.first([series, organizer])?.[0]);
  }

  /**
   * The id of the live event that `organizer` organizes which the series' occurrence starting
   * at `occurrenceStart` became (changed on its own), if any.
   */
  liveEventDetachedAt(
    series: EventId,
    organizer: Username,
    occurrenceStart: Millis,
  ): EventId | undefined {
    const row = this.liveEventDetachedAtStart.first([series, organizer, occurrenceStart]);
    return row === undefined ? undefined : text(row[0]);
  }

  /**
   * Up to `limit` live events detached from the series that `username` is invited to, has
   * not answered on their own ({@link Attendee.ownAnswer}) and has not answered `status`,
   * by id: those their answer `status` to the series changes.
   */
  liveEventsDetachedAnsweredWith(
    series: EventId,
    username: Username,
    status: AttendeeStatus,
    limit: number,
  ): EventRecord[] {
    return this.liveEventsDetachedAnsweredWithSeries
      .all([series, username, status, limit])
      .map(eventRecordOf);
  }

  /**
   * Up to `limit` of the events `username` is on the list of and has not declined, after
   * `after` by id (from the first with null), with their times: what an export pages through.
   * An event keeps its place in this order whatever is changed in it.
   */
  exportEntries(username: Username, after: EventId | null, limit: number): ExportEntry[] {
    return this.exportEntryRows.all([username, after ?? '', limit]).map((row) => ({
      id: text(row[0]),
      start: integer(row[1]),
      seriesEnd: integer(row[2]),
    }));
  }

  /** The zones of the events `username`'s export of `window` carries ({@link LOADS.exportZones}). */
  exportZoneUses(username: Username, window: Interval): ZoneUse[] {
    return this.exportZones.all([username, window.start, window.end]).map((row) => ({
      zone: text(row[0]),
      earliestStart: integer(row[1]),
      latestEnd: row[2] === null ? null : integer(row[2]),
      latestEndlessStart: row[3] === null ? null : integer(row[3]),
    }));
  }

  /**
   * The live events detached from `seriesId` that `username`'s export of `window` carries,
   * by id, at most `limit`.
   */
  exportedDetachedOf(
    seriesId: EventId,
    username: Username,
    window: Interval,
    limit: number,
  ): ExportedDetached[] {
    return this.exportedDetachedRows
      .all([seriesId, username, window.start, window.end, limit])
      .map((row) => ({
        id: text(row[0]),
        start: integer(row[1]),
        occurrenceStart: integer(row[2]),
      }));
  }

  /** The event, with its attendees, if `username`'s export of `window` carries it. */
  exportedEvent(id: EventId, username: Username, window: Interval): EventRecord | undefined {
    const row = this.exportedEventById.first([id, username, window.start, window.end]);
    return row === undefined ? undefined : eventRecordOf(row);
  }

  /** The deletion of the account that had this username, if it was deleted. */
  accountDeletion(username: Username): AccountDeletionRow | undefined {
    const row = this.accountDeletionOf.first([username]);
    if (row === undefined) return undefined;
    return { deletedAt: integer(row[0]), purgedAt: row[1] === null ? null : integer(row[1]) };
  }

  /** Up to `limit` deleted accounts whose data is still being removed, oldest deletion first. */
  accountsBeingPurged(limit: number): Username[] {
    return this.accountsBeingPurgedRows.all([limit]).map((row) => text(row[0]));
  }
}
