/**
 * The store's SQLite schema. Every replica creates it identically, and snapshots carry it,
 * so a restored replica never runs it again; {@link SCHEMA_VERSION} in `store_meta` says
 * which layout an image has.
 *
 * The hot reads are per-user time ranges ("the events alice attends that reach into this
 * week"). They are answered from the attendee rows alone: each attendee row carries a copy
 * of its event's `start_at`, `series_end` and `span_class`, kept in step by the store, and
 * two covering indexes serve the two kinds of event:
 *
 * - short events (`span_class = 0`: one-off events that last at most a day,
 *   {@link SHORT_SPAN_MAX_MS}) are found by start, `start_at ∈ (from − 1 day, to)`: a tight
 *   range however many events the user has;
 * - long ones (`span_class = 1`: recurring events, and one-off events longer than a day,
 *   which are rare) are found by `series_end > from`.
 *
 * So an agenda query reads only the index entries of the week it shows, never the events
 * table nor anyone else's rows (asserted with EXPLAIN QUERY PLAN in the tests).
 */
import type { Database } from 'sql.js';

/**
 * Layout version of the database image; bump it with a migration ({@link migrateSchema})
 * when the schema changes. 2: short events are those of at most a day (they were those of
 * at most the longest an event may last, 31 days, so every lookup by start read a month of them);
 * the time indexes are partial, one per class; `requests` has no index on `at`.
 * 3: events keep the iCalendar UID they were imported with, unique per organizer.
 * 4: `key_versions` and the applied index, for effects' preconditions (effects.ts).
 * 5: group membership by consent: `group_invitations` and `group_blocks`.
 * 6: tokens with a lifecycle: `users.session_gen`, `revoked_sessions` and `feeds`.
 * 7: short access tokens with refresh: `sessions`, each session's refresh-token rotation.
 * 8: account deletion: `deleted_users` (retired usernames, data still being removed) and
 *    a user's group blocks by user.
 * 9: `registry_history`: the last tenures of each lease and writes of each registry key.
 * 10: reminders: `events.reminders`.
 * 11: occurrences changed on their own: `events.detached_from`.
 * 12: the live events detached from a series, by series (`events_by_detached_series`).
 * 13: answers given to an occurrence changed on its own alone: `attendees.own_answer`.
 * 14: events that take no time from their attendees (iCalendar's TRANSP:TRANSPARENT, shown
 *     as free): `events.transparent`.
 * 15: devices' app passwords for CalDAV: `devices`.
 * 16: the version of the file's VEVENT an event was imported from (SEQUENCE, LAST-MODIFIED):
 *     `events.imported_sequence`, `events.imported_stamp`.
 * 17: the events a user has not declined, by id (`attendees_by_user_event`), for exports.
 * 18: CalDAV sync (RFC 6578): what left each user's calendar without an attendee row to show
 *     it (`dav_removals`), and how far back each user's removals are still known
 *     (`dav_sync_horizons`).
 * 19: each attendee row keeps its event's version (`attendees.mod_index`, indexed by user):
 *     a calendar's CTag and a sync page are index probes, not a pass over the user's rows.
 */
export const SCHEMA_VERSION = 19;

/** `series_end` of a series that never ends (the largest instant a JS Date can hold). */
export const ENDLESS = 8_640_000_000_000_000;

/** `span_class` of a one-off event that lasts at most {@link SHORT_SPAN_MAX_MS}. */
export const SHORT_SPAN = 0;
/** `span_class` of a series, or of an event longer than {@link SHORT_SPAN_MAX_MS}. */
export const LONG_SPAN = 1;

/**
 * Longest a short-span event lasts, so lookups by start know how far back to look: a day,
 * which nearly every event fits in, so a lookup reads about a day more than it shows.
 */
export const SHORT_SPAN_MAX_MS = 24 * 60 * 60 * 1000;

// The log index that last wrote each key an effect can depend on (see effects.ts).
const KEY_VERSIONS = `
CREATE TABLE key_versions (
  key       TEXT PRIMARY KEY,
  mod_index INTEGER NOT NULL
) WITHOUT ROWID;
`;

// Membership by consent: an invitation waits for the invitee's answer; a block refuses the
// group's further invitations. Both go with their group (the store deletes them with it).
const GROUP_CONSENT = `
CREATE TABLE group_invitations (
  group_name TEXT NOT NULL,
  username   TEXT NOT NULL,
  level      INTEGER NOT NULL,
  invited_by TEXT NOT NULL,
  invited_at INTEGER NOT NULL,
  PRIMARY KEY (group_name, username)
) WITHOUT ROWID;
-- The invitations waiting for a user.
CREATE INDEX group_invitations_by_user ON group_invitations (username, group_name);

CREATE TABLE group_blocks (
  group_name TEXT NOT NULL,
  username   TEXT NOT NULL,
  PRIMARY KEY (group_name, username)
) WITHOUT ROWID;
`;

// Tokens with a lifecycle (server/users/tokens.ts). A token names its user's session
// generation, which a password change raises (ending every session at once); a session token
// names its session, which logging out revokes until the token would have expired anyway; a
// feed token names its feed, which exists until revoked or expired.
const SESSIONS = `
CREATE TABLE revoked_sessions (
  sid        TEXT PRIMARY KEY,
  username   TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
-- Revocations are forgotten once their tokens have expired.
CREATE INDEX revoked_sessions_by_expiry ON revoked_sessions (expires_at, sid);

CREATE TABLE feeds (
  fid        TEXT PRIMARY KEY,
  username   TEXT NOT NULL,
  label      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX feeds_by_user ON feeds (username, created_at, fid);
`;

// Sessions that can still be refreshed (server/users/tokens.ts): a login opens one, its
// refresh tokens name it and its place in the rotation (`refresh_seq`), and it lives until
// `expires_at` (its refresh tokens' expiry), a logout, a password change or the reuse of
// a rotated refresh token. Access tokens are not checked against it: they are refused by
// `revoked_sessions` and the generation, as before.
const REFRESHABLE_SESSIONS = `
CREATE TABLE sessions (
  sid         TEXT PRIMARY KEY,
  username    TEXT NOT NULL,
  refresh_seq INTEGER NOT NULL,
  rotated_at  INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
-- A user's sessions, oldest first (the oldest ends when a login would pass the cap).
CREATE INDEX sessions_by_user ON sessions (username, created_at, sid);
-- Sessions are forgotten once expired, a few at a time.
CREATE INDEX sessions_by_expiry ON sessions (expires_at, sid);
`;

// Deleted accounts (server/store/account-deletion.ts). The username stays, retired: it is
// never registered again. `purged_at` is null while the account's data is still being
// removed, a bounded batch per log entry; its index lists those for whoever finishes them.
// The blocks index finds a user's blocks, which go with the account.
const ACCOUNT_DELETION = `
CREATE TABLE deleted_users (
  username   TEXT PRIMARY KEY,
  deleted_at INTEGER NOT NULL,
  purged_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX deleted_users_being_purged ON deleted_users (deleted_at, username)
  WHERE purged_at IS NULL;
CREATE INDEX group_blocks_by_user ON group_blocks (username, group_name);
`;

// What the operator dashboard reads to show failovers that happened before it started: each
// new tenure of a lease (a new epoch: acquired while free, released or expired) and each write
// of a registry key (the Redis primary), at the store's clock. Renewals and releases are not
// recorded. Bounded: the newest REGISTRY_HISTORY_MAX rows of each name (registry.ts).
const REGISTRY_HISTORY = `
CREATE TABLE registry_history (
  seq    INTEGER PRIMARY KEY,
  name   TEXT NOT NULL,
  kind   TEXT NOT NULL,
  holder TEXT,
  epoch  INTEGER NOT NULL,
  at     INTEGER NOT NULL
);
CREATE INDEX registry_history_by_name ON registry_history (name, seq);
`;

// 1 when the event takes no time from its attendees (the domain's CalendarEvent.transparent,
// iCalendar's TRANSP:TRANSPARENT): it neither conflicts nor makes anyone busy. 0 otherwise.
// A device's app password (CalDAV clients), kept as its SHA-256 only: the password is 160
// random bits the server made, so a fast hash is as good as a slow one (no dictionary to try)
// and lets every request be checked by lookup (server/users/device-passwords.ts).
const DEVICES = `
CREATE TABLE devices (
  did           TEXT PRIMARY KEY,
  username      TEXT NOT NULL,
  label         TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX devices_by_user ON devices (username, created_at, did);
CREATE UNIQUE INDEX devices_by_password ON devices (username, password_hash);
`;

// CalDAV sync (server/store/dav-sync.ts): an attendee row removed (the user taken off an
// event, the event deleted) leaves a tombstone, so a sync token from before it says the
// resource is gone; the name is the resource name the event had for that user, the series
// the one a changed occurrence belonged to. Upserted by (user, event): only the last removal
// matters. Forgotten a bounded number at a time once older than the sync horizon's age
// (by `removed_at`, the entry's `at`); a user's horizon is the newest index forgotten, and a
// token older than it is refused.
const DAV_SYNC = `
CREATE TABLE dav_removals (
  username   TEXT NOT NULL,
  event_id   TEXT NOT NULL,
  name       TEXT NOT NULL,
  series_id  TEXT,
  mod_index  INTEGER NOT NULL,
  removed_at INTEGER NOT NULL,
  PRIMARY KEY (username, event_id)
) WITHOUT ROWID;
CREATE INDEX dav_removals_by_user ON dav_removals (username, mod_index, event_id);
CREATE INDEX dav_removals_by_age ON dav_removals (removed_at, username, event_id);

CREATE TABLE dav_sync_horizons (
  username TEXT PRIMARY KEY,
  horizon  INTEGER NOT NULL
) WITHOUT ROWID;
`;

// The log index that last wrote the row's event: its `event/<id>` key version (effects.ts),
// set on every row of the event whenever that key is stamped (key-versions.ts). 0 for an event
// last written before key versions were kept (schema 4). CalDAV sync lists a user's changes
// in (version, event id) order, and the CTag is the newest: both from this index alone.
const ATTENDEE_VERSION_COLUMN = 'mod_index INTEGER NOT NULL DEFAULT 0';
const ATTENDEE_VERSION_INDEX = `
CREATE INDEX attendees_by_user_version ON attendees (username, mod_index, event_id);
`;

const TRANSPARENT_COLUMN = 'transparent INTEGER NOT NULL DEFAULT 0 CHECK (transparent IN (0, 1))';

// The domain's CalendarEvent.importedVersion: the SEQUENCE and the LAST-MODIFIED (else
// DTSTAMP, ms) of the VEVENT the event was last imported from; both NULL when it never was
// (or was before schema 16), the stamp alone when the VEVENT had neither.
const IMPORTED_SEQUENCE_COLUMN = 'imported_sequence INTEGER';
const IMPORTED_STAMP_COLUMN = 'imported_stamp INTEGER';

const TABLES = `
CREATE TABLE store_meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
  username     TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  session_gen  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- The users service hashes; the store only keeps the hash for login.
CREATE TABLE credentials (
  username      TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE groups (
  name  TEXT PRIMARY KEY,
  kind  TEXT NOT NULL CHECK (kind IN ('flat', 'hierarchical')),
  owner TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE members (
  group_name TEXT NOT NULL,
  username   TEXT NOT NULL,
  level      INTEGER NOT NULL,
  PRIMARY KEY (group_name, username)
) WITHOUT ROWID;

CREATE TABLE events (
  id          TEXT PRIMARY KEY,
  title       TEXT NOT NULL,
  start_at    INTEGER NOT NULL,
  end_at      INTEGER NOT NULL,
  series_end  INTEGER NOT NULL,
  span_class  INTEGER NOT NULL,
  time_zone   TEXT NOT NULL,
  description TEXT NOT NULL,
  location    TEXT NOT NULL,
  visibility  TEXT NOT NULL CHECK (visibility IN ('public', 'busy', 'private')),
  -- JSON of the domain's Recurrence ({ rule, exceptions }), or NULL for a one-off event.
  recurrence  TEXT,
  organizer   TEXT NOT NULL,
  group_name  TEXT,
  group_kind  TEXT CHECK (group_kind IN ('flat', 'hierarchical')),
  status      TEXT NOT NULL CHECK (status IN ('confirmed', 'pending', 'cancelled')),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  revision    INTEGER NOT NULL,
  -- The iCalendar UID of an imported event (NULL for events made here, whose UID is their id).
  uid         TEXT,
  -- JSON array of minutes before each occurrence's start (ascending), or NULL for none.
  reminders   TEXT,
  -- JSON of the domain's DetachedOccurrence ({ seriesId, occurrenceStart }) of an occurrence
  -- changed on its own, or NULL.
  detached_from TEXT,
  ${TRANSPARENT_COLUMN},
  ${IMPORTED_SEQUENCE_COLUMN},
  ${IMPORTED_STAMP_COLUMN}
) WITHOUT ROWID;

-- start_at, series_end and span_class are copies of the event's, for the time indexes.
CREATE TABLE attendees (
  event_id   TEXT NOT NULL,
  username   TEXT NOT NULL,
  status     TEXT NOT NULL CHECK (status IN ('accepted', 'pending', 'declined')),
  role       TEXT NOT NULL CHECK (role IN ('organizer', 'invitee', 'imposed')),
  start_at   INTEGER NOT NULL,
  series_end INTEGER NOT NULL,
  span_class INTEGER NOT NULL,
  -- 1 when the answer was given to this occurrence changed on its own alone (the domain's
  -- Attendee.ownAnswer): answers to its series leave it as it is. 0 otherwise.
  own_answer INTEGER NOT NULL DEFAULT 0 CHECK (own_answer IN (0, 1)),
  ${ATTENDEE_VERSION_COLUMN},
  PRIMARY KEY (event_id, username)
) WITHOUT ROWID;

-- Request ids applied recently, with the outcome answered, for idempotent retries.
-- seq grows by one per remembered request; at never decreases along seq.
CREATE TABLE requests (
  seq         INTEGER PRIMARY KEY,
  request_id  TEXT NOT NULL UNIQUE,
  at          INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  outcome     TEXT NOT NULL
);

-- Compare-and-set keys with a fencing epoch.
CREATE TABLE registry (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  epoch      INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Leases; a released lease keeps its row (holder NULL) so epochs keep growing.
CREATE TABLE leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT,
  epoch      INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
${KEY_VERSIONS}
${GROUP_CONSENT}
${SESSIONS}
${REFRESHABLE_SESSIONS}
${ACCOUNT_DELETION}
${REGISTRY_HISTORY}
${DEVICES}
${DAV_SYNC}`;

// Each attendee row is in one of the two time indexes, the one of its span class: partial
// indexes, so adding an attendee updates one of them, not both.
const TIME_INDEXES = `
-- Short events a user attends, by start (agenda, lists, conflicts, free time).
CREATE INDEX attendees_short_by_start
  ON attendees (username, span_class, start_at, series_end, status) WHERE span_class = ${SHORT_SPAN};

-- Series and long events a user attends, by the end of their last occurrence.
CREATE INDEX attendees_long_by_end
  ON attendees (username, span_class, series_end, start_at, status) WHERE span_class = ${LONG_SPAN};
`;

// An export pages through the events a user has not declined by id, an order that no change
// to an event moves it in: paged by start, an event moved during an export was written twice
// or not at all. Their times ride along, so a windowed export passes over the others without
// reading an event; the status too, or SQLite reads each row to check the index's condition.
const EXPORT_INDEX = `
CREATE INDEX attendees_by_user_event
  ON attendees (username, event_id, start_at, series_end, status) WHERE status <> 'declined';
`;

// An import finds the events it made before by UID: one per UID and organizer.
const UID_INDEX = `
CREATE UNIQUE INDEX events_by_organizer_uid ON events (organizer, uid) WHERE uid IS NOT NULL;
`;

// Cancelling a series finds the occurrences changed on their own that go with it, by the
// series they came from; only live ones are in the index, so the ones already cancelled
// are never read again. Loads name both conditions for SQLite to use it.
const DETACHED_INDEX = `
CREATE INDEX events_by_detached_series ON events (json_extract(detached_from, '$.seriesId'))
  WHERE detached_from IS NOT NULL AND status <> 'cancelled';
`;

const INDEXES = `${TIME_INDEXES}

-- Invitations still to answer.
CREATE INDEX attendees_pending_by_end
  ON attendees (username, series_end) WHERE status = 'pending';

-- The groups a user belongs to.
CREATE INDEX members_by_user ON members (username, group_name);

-- A group's events that are not over (membership changes reach into them).
CREATE INDEX events_by_group
  ON events (group_name, series_end) WHERE group_name IS NOT NULL;
${UID_INDEX}
${DETACHED_INDEX}
${EXPORT_INDEX}
${ATTENDEE_VERSION_INDEX}`;

/** Keys of `store_meta`. */
export const META = {
  schemaVersion: 'schema_version',
  lastAt: 'last_at',
  lastRequestSeq: 'last_request_seq',
  /** The log index of the last entry applied: the basis of the decisions taken now. */
  appliedIndex: 'applied_index',
} as const;

/**
 * Sets the connection up for a replicated store, which lives in memory (see
 * `openMemoryDatabase`) while Raft provides durability: the rollback journal stays in memory
 * and nothing is synced. Neither setting is stored in the image, so they do not affect
 * snapshot bytes.
 */
export function configureConnection(db: Database): void {
  db.run('PRAGMA journal_mode = MEMORY');
  db.run('PRAGMA synchronous = OFF');
}

/**
 * Brings an image of an older layout to {@link SCHEMA_VERSION}, in one transaction; a no-op
 * on a current image. Deterministic: replicas that migrate the same image get the same rows.
 * @returns the version the image had.
 * @throws Error when the image is not a store, or is newer than this code (it is then unchanged).
 */
export function migrateSchema(db: Database): number | null {
  const version = schemaVersionOf(db);
  if (version === null || version > SCHEMA_VERSION) {
    throw new Error(
      `the image holds store schema ${String(version)}, this store reads ${SCHEMA_VERSION}`,
    );
  }
  if (version === SCHEMA_VERSION) return version;
  db.run('BEGIN');
  try {
    if (version < 2) {
      // 1 → 2: one-off events longer than a day move to the long class (see SHORT_SPAN_MAX_MS);
      // the time indexes become partial; requests are pruned by seq, needing no index on `at`.
      for (const table of ['events', 'attendees']) {
        db.run(
          `UPDATE ${table} SET span_class = ${LONG_SPAN}
            WHERE span_class = ${SHORT_SPAN} AND series_end - start_at > ${SHORT_SPAN_MAX_MS}`,
        );
      }
      db.exec(`DROP INDEX attendees_short_by_start; DROP INDEX attendees_long_by_end;
        DROP INDEX requests_by_at; ${TIME_INDEXES}`);
    }
    if (version < 3) {
      // 2 → 3: events keep their import UID. Events imported before had theirs thrown away,
      // so every event starts without one (an export names it by its id).
      db.exec(`ALTER TABLE events ADD COLUMN uid TEXT; ${UID_INDEX}`);
    }
    if (version < 4) {
      // 3 → 4: nothing was stamped before, so no effect decided from now on can be stale
      // because of what happened before; the applied index is learnt at the next apply.
      db.exec(KEY_VERSIONS.replace('CREATE TABLE', 'CREATE TABLE IF NOT EXISTS'));
      db.run('INSERT OR IGNORE INTO store_meta (key, value) VALUES (?, 0)', [META.appliedIndex]);
    }
    if (version < 5) {
      // 4 → 5: membership by consent. Members of the time stay members (they were added
      // under the old rules); every addition from now on is an invitation.
      db.exec(GROUP_CONSENT);
    }
    if (version < 6) {
      // 5 → 6: tokens with a lifecycle. Every user starts at generation 0, which the tokens
      // issued before carry by default (server/users/tokens.ts); feed tokens issued before
      // name no feed and are refused from now on: they could never be revoked.
      db.exec(`ALTER TABLE users ADD COLUMN session_gen INTEGER NOT NULL DEFAULT 0; ${SESSIONS}`);
    }
    if (version < 7) {
      // 6 → 7: refreshable sessions. Sessions opened before have no row, so they cannot be
      // refreshed: their 12-hour tokens are refused as longer-lived than an access token may
      // be (server/users/token-verifier.ts), and their holders log in once more.
      db.exec(REFRESHABLE_SESSIONS);
    }
    if (version < 8) {
      // 7 → 8: account deletion. No account was deleted before, so no name is retired.
      db.exec(ACCOUNT_DELETION);
    }
    if (version < 9) {
      // 8 → 9: the registry's history starts empty; only what happens from now on is in it.
      db.exec(REGISTRY_HISTORY);
    }
    if (version < 10) {
      // 9 → 10: reminders. No event had any.
      db.exec('ALTER TABLE events ADD COLUMN reminders TEXT');
    }
    if (version < 11) {
      // 10 → 11: no occurrence had been changed on its own.
      db.exec('ALTER TABLE events ADD COLUMN detached_from TEXT');
    }
    if (version < 12) {
      // 11 → 12: the occurrences changed on their own so far are indexed by their series.
      db.exec(DETACHED_INDEX);
    }
    if (version < 13) {
      // 12 → 13: every answer to a changed occurrence so far came with its series' or was
      // given to it alone, which was not told apart: all count as following the series.
      db.exec(
        'ALTER TABLE attendees ADD COLUMN own_answer INTEGER NOT NULL DEFAULT 0 CHECK (own_answer IN (0, 1))',
      );
    }
    if (version < 14) {
      // 13 → 14: no event was transparent (TRANSP was not kept): every one blocks time.
      db.exec(`ALTER TABLE events ADD COLUMN ${TRANSPARENT_COLUMN}`);
    }
    if (version < 15) {
      // 14 → 15: no device had an app password.
      db.exec(DEVICES);
    }
    if (version < 16) {
      // 15 → 16: no import kept the file's version. Such an event is brought to whatever
      // file imports it next, as before, and keeps that file's version from then on.
      db.exec(`ALTER TABLE events ADD COLUMN ${IMPORTED_SEQUENCE_COLUMN}`);
      db.exec(`ALTER TABLE events ADD COLUMN ${IMPORTED_STAMP_COLUMN}`);
    }
    if (version < 17) {
      // 16 → 17: exports page by id.
      db.exec(EXPORT_INDEX);
    }
    if (version < 18) {
      // 17 → 18: sync was not served, so no token was ever given: no removal before now
      // needs remembering, and every horizon starts at 0.
      db.exec(DAV_SYNC);
    }
    if (version < 19) {
      // 18 → 19: every attendee row takes its event's version as key_versions has it.
      db.exec(`ALTER TABLE attendees ADD COLUMN ${ATTENDEE_VERSION_COLUMN};
        UPDATE attendees SET mod_index = coalesce(
          (SELECT k.mod_index FROM key_versions k WHERE k.key = 'event/' || attendees.event_id), 0);
        ${ATTENDEE_VERSION_INDEX}`);
    }
    db.run('UPDATE store_meta SET value = ? WHERE key = ?', [SCHEMA_VERSION, META.schemaVersion]);
    db.run('COMMIT');
  } catch (error) {
    db.run('ROLLBACK');
    throw error;
  }
  return version;
}

/** Creates the schema in an empty database, in one transaction. */
export function createSchema(db: Database): void {
  db.run('BEGIN');
  db.exec(TABLES);
  db.exec(INDEXES);
  const meta = db.prepare('INSERT INTO store_meta (key, value) VALUES (?, ?)');
  try {
    for (const [key, value] of [
      [META.schemaVersion, SCHEMA_VERSION],
      [META.lastAt, 0],
      [META.lastRequestSeq, 0],
      [META.appliedIndex, 0],
    ] as const) {
      meta.run([key, value]);
    }
  } finally {
    meta.free();
  }
  db.run('COMMIT');
}

/** The schema version of an image, or null when the image has no store in it. */
export function schemaVersionOf(db: Database): number | null {
  const tables = db.exec(
    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'store_meta'",
  );
  if (tables.length === 0) return null;
  const rows = db.exec('SELECT value FROM store_meta WHERE key = ?', [META.schemaVersion]);
  const value = rows[0]?.values[0]?.[0];
  return typeof value === 'number' ? value : null;
}
