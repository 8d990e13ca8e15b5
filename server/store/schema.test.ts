/**
 * Images of an older schema are migrated when a store opens them (a member restarting on an
 * older snapshot, or receiving one); images it cannot read are refused and change nothing.
 */
import test from 'ava';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { CalendarStore } from './calendar-store.js';
import { META, SCHEMA_VERSION } from './schema.js';
import { at, DAY, StoreClient } from './test-support.js';

/** Takes the UID column and its index away, as schemas before 3 had them. */
const WITHOUT_UIDS = 'DROP INDEX events_by_organizer_uid; ALTER TABLE events DROP COLUMN uid;';

/** Takes the attendee rows' versions away, as schemas before 19 had them. */
const WITHOUT_ATTENDEE_VERSIONS =
  'DROP INDEX attendees_by_user_version; ALTER TABLE attendees DROP COLUMN mod_index;';

/** Takes CalDAV sync's tombstones and horizons away, as schemas before 18 had them. */
const WITHOUT_DAV_SYNC = `${WITHOUT_ATTENDEE_VERSIONS}
  DROP TABLE dav_removals; DROP TABLE dav_sync_horizons;`;

/** Takes the index exports page through away, as schemas before 17 had it. */
const WITHOUT_EXPORT_INDEX = `${WITHOUT_DAV_SYNC} DROP INDEX attendees_by_user_event;`;

/** Takes the versions events were imported from away, as schemas before 16 had them. */
const WITHOUT_IMPORTED_VERSIONS = `${WITHOUT_EXPORT_INDEX}
  ALTER TABLE events DROP COLUMN imported_sequence; ALTER TABLE events DROP COLUMN imported_stamp;`;

/** Takes devices' app passwords away, as schemas before 15 had them. */
const WITHOUT_DEVICES = `${WITHOUT_IMPORTED_VERSIONS} DROP TABLE devices;`;

/** Takes transparency away, as schemas before 14 had it. */
const WITHOUT_TRANSPARENCY = `${WITHOUT_DEVICES} ALTER TABLE events DROP COLUMN transparent;`;

/** Takes the answers given to changed occurrences alone away, as schemas before 13 had them. */
const WITHOUT_OWN_ANSWERS = `${WITHOUT_TRANSPARENCY} ALTER TABLE attendees DROP COLUMN own_answer;`;

/** Takes the index of changed occurrences by series away, as schemas before 12 had it. */
const WITHOUT_DETACHED_INDEX = `${WITHOUT_OWN_ANSWERS} DROP INDEX events_by_detached_series;`;

/** Takes the origin of changed occurrences away, as schemas before 11 had it. */
const WITHOUT_DETACHED = `${WITHOUT_DETACHED_INDEX} ALTER TABLE events DROP COLUMN detached_from;`;

/** Takes reminders away, as schemas before 10 had them. */
const WITHOUT_REMINDERS = `${WITHOUT_DETACHED} ALTER TABLE events DROP COLUMN reminders;`;

/** Takes the registry's history away, as schemas before 9 had it. */
const WITHOUT_REGISTRY_HISTORY = `${WITHOUT_REMINDERS} DROP TABLE registry_history;`;

/** Takes account deletion away, as schemas before 8 had it. */
const WITHOUT_ACCOUNT_DELETION = `${WITHOUT_REGISTRY_HISTORY}
  DROP TABLE deleted_users; DROP INDEX IF EXISTS group_blocks_by_user;`;

/** Takes refreshable sessions away, as schemas before 7 had it. */
const WITHOUT_REFRESH = `${WITHOUT_ACCOUNT_DELETION} DROP TABLE sessions;`;

/** Takes membership by consent away, as schemas before 5 had it. */
const WITHOUT_CONSENT = `DROP TABLE group_invitations; DROP TABLE group_blocks; ${WITHOUT_REFRESH}
  ${'DROP TABLE revoked_sessions; DROP TABLE feeds; ALTER TABLE users DROP COLUMN session_gen;'}`;

/** A store image rewritten with `sql` (the way an older version of the code left it). */
async function rewritten(image: Uint8Array, sql: string): Promise<Uint8Array> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(image);
  try {
    db.exec(sql);
    return db.export();
  } finally {
    db.close();
  }
}

test('a schema 1 image is migrated: its events longer than a day are found on every day', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice');
  const trip = at('2025-02-10T08:00:00Z');
  before.ok('alice', {
    type: 'event.create',
    draft: { title: 'Trip', start: trip, end: trip + 3 * DAY },
  });
  const standup = at('2025-02-11T09:00:00Z');
  before.ok('alice', {
    type: 'event.create',
    draft: { title: 'Standup', start: standup, end: standup + 900_000 },
    allowConflict: true,
  });
  // Schema 1 filed every one-off event of up to 31 days as short, in full time indexes,
  // and kept no UIDs.
  const v1 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_UIDS} ${WITHOUT_CONSENT}
     UPDATE events SET span_class = 0; UPDATE attendees SET span_class = 0;
     DROP INDEX attendees_short_by_start; DROP INDEX attendees_long_by_end;
     CREATE INDEX attendees_short_by_start
       ON attendees (username, span_class, start_at, series_end, status);
     CREATE INDEX attendees_long_by_end
       ON attendees (username, span_class, series_end, start_at, status);
     CREATE INDEX requests_by_at ON requests (at);
     UPDATE store_meta SET value = 1 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL));
  after.store.restore(v1);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  // The migrated image has the indexes of a fresh one.
  const indexes = (image: Uint8Array) => {
    const db = new SQL.Database(image);
    try {
      return db.exec("SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name")[0]
        ?.values;
    } finally {
      db.close();
    }
  };
  const fresh = new CalendarStore(SQL);
  t.deepEqual(indexes(after.store.snapshot()), indexes(fresh.snapshot()));
  fresh.close();
  const middle = at('2025-02-12T12:00:00Z');
  const { events } = after.read('alice', {
    type: 'event.list',
    from: middle,
    to: middle + 3_600_000,
  });
  t.deepEqual(
    events.map((e) => e.title),
    ['Trip'],
  );
  const { events: both } = after.read('alice', {
    type: 'event.list',
    from: standup,
    to: standup + 900_000,
  });
  t.deepEqual(both.map((e) => e.title).sort(), ['Standup', 'Trip']);
  after.store.close();
});

test('an image of a newer schema is refused and the store keeps its state', async (t) => {
  const SQL = await loadSqlJs();
  const c = new StoreClient(new CalendarStore(SQL));
  c.register('alice');
  const newer = await rewritten(
    c.store.snapshot(),
    `UPDATE store_meta SET value = ${SCHEMA_VERSION + 1} WHERE key = '${META.schemaVersion}';`,
  );
  c.register('bob');
  t.throws(() => c.store.restore(newer), {
    message: new RegExp(`schema ${SCHEMA_VERSION + 1}.*reads ${SCHEMA_VERSION}`),
  });
  t.is(c.read(null, { type: 'user.lookup', username: 'bob' }).user.username, 'bob');
  c.store.close();
});

test('a schema 2 image is migrated: its events have no UID, and imports keep UIDs from then on', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice');
  const start = at('2025-02-10T08:00:00Z');
  const { event } = before.ok('alice', {
    type: 'event.create',
    draft: { title: 'Standup', start, end: start + 900_000 },
  });
  const v2 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_UIDS} ${WITHOUT_CONSENT}
     UPDATE store_meta SET value = 2 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v2);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  const schemaOf = (image: Uint8Array) => {
    const db = new SQL.Database(image);
    try {
      return {
        indexes: db.exec(
          "SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name",
        )[0]?.values,
        columns: db.exec('SELECT name, type, "notnull" FROM pragma_table_info(\'events\')')[0]
          ?.values,
      };
    } finally {
      db.close();
    }
  };
  const fresh = new CalendarStore(SQL);
  t.deepEqual(schemaOf(after.store.snapshot()), schemaOf(fresh.snapshot()));
  fresh.close();
  // The old event is exported under its id, and re-importing the export finds it.
  const { ics } = after.read('alice', { type: 'agenda.export' });
  t.true(ics.includes(`UID:${event.id}`));
  const imported = after.ok(
    'alice',
    {
      type: 'event.import',
      events: [
        { uid: event.id, draft: { title: 'Standup', start, end: start + 900_000 } },
        {
          uid: 'new@example.com',
          draft: { title: 'Lunch', start: start + DAY, end: start + DAY + 3_600_000 },
        },
      ],
    },
    { ids: ['m-1', 'm-2'] },
  );
  t.deepEqual(
    imported.events.map((e) => [e.uid, e.id, e.action]),
    [
      [event.id, event.id, 'unchanged'],
      ['new@example.com', 'm-2', 'created'],
    ],
  );
  after.store.close();
});

test('a schema 4 image is migrated: its members stay members, and additions from then on are invitations', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice', 'bob', 'carol');
  before.ok('alice', { type: 'group.create', name: 'team', kind: 'hierarchical' });
  // Schema 4 added members at once; the migrated image keeps who was a member then.
  before.ok('alice', { type: 'group.addMember', group: 'team', username: 'bob', level: 1 });
  before.ok('bob', { type: 'group.join', group: 'team' });
  const v4 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_CONSENT} UPDATE store_meta SET value = 4 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v4);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  t.deepEqual(
    after.read('alice', { type: 'group.show', group: 'team' }).group.members.map((m) => m.username),
    ['alice', 'bob'],
  );
  after.ok('alice', { type: 'group.addMember', group: 'team', username: 'carol', level: 1 });
  t.deepEqual(
    after.read('carol', { type: 'invitation.list' }).groupInvitations.map((i) => i.group),
    ['team'],
  );
  after.ok('carol', { type: 'group.join', group: 'team' });
  t.is(after.read('alice', { type: 'group.show', group: 'team' }).group.members.length, 3);
});

test('a schema 6 image is migrated: sessions opened before cannot be refreshed, new ones can', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice');
  const v6 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_REFRESH} UPDATE store_meta SET value = 6 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v6);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  const refresh = (sid: string) =>
    after.send('alice', { type: 'session.refresh', sid, generation: 0, seq: 0, revokeForMs: 1000 });
  t.false(refresh('from-before').ok);
  after.ok('alice', { type: 'session.open', sid: 'new', ttlMs: DAY, generation: 0 });
  t.true(refresh('new').ok);
});

test('a schema 7 image is migrated: no name is retired, and an account can be deleted', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice', 'bob');
  before.ok('bob', { type: 'group.create', name: 'team', kind: 'flat' });
  before.ok('alice', { type: 'group.decline', group: 'team', block: true });
  const v7 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_ACCOUNT_DELETION} UPDATE store_meta SET value = 7 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v7);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  t.deepEqual(after.read(null, { type: 'user.beingPurged', limit: 10 }).usernames, []);
  after.ok('alice', { type: 'user.delete' });
  const purged = after.ok(null, { type: 'user.purge', username: 'alice' });
  t.true(purged.done);
  t.is(purged.removed.groupBlocksRemoved, 1);
  t.is(
    after.refused(null, { type: 'user.register', username: 'alice', passwordHash: 'h' }).code,
    'conflict',
  );
});

test('a schema 8 image is migrated: the registry history starts empty and records from then on', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.ok(null, { type: 'lease.acquire', name: 'vip', holder: 'vip-1', ttlMs: 1000 });
  const v8 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_REGISTRY_HISTORY} UPDATE store_meta SET value = 8 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v8);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  t.deepEqual(after.read(null, { type: 'registry.history', name: 'vip' }).entries, []);
  after.now += 5_000;
  after.ok(null, { type: 'lease.acquire', name: 'vip', holder: 'vip-2', ttlMs: 1000 });
  t.deepEqual(
    after.read(null, { type: 'registry.history', name: 'vip' }).entries.map((e) => e.holder),
    ['vip-2'],
  );
});

test('a schema 9 image is migrated: its events have no reminders, and events can have them from then on', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice');
  const start = at('2025-02-10T08:00:00Z');
  const old = before.ok('alice', {
    type: 'event.create',
    draft: { title: 'Old', start, end: start + 3_600_000 },
  }).event.id;
  const v9 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_REMINDERS} UPDATE store_meta SET value = 9 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v9);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  t.is(after.read('alice', { type: 'event.show', eventId: old }).event.reminders, undefined);
  after.ok('alice', { type: 'event.update', eventId: old, changes: { reminders: [15] } });
  t.deepEqual(after.read('alice', { type: 'event.show', eventId: old }).event.reminders, [15]);
});

test('a schema 10 image is migrated: its events came from no series, and occurrences can be changed on their own from then on', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice');
  const start = at('2025-02-10T08:00:00Z');
  before.ok(
    'alice',
    {
      type: 'event.create',
      draft: { title: 'Daily', start, end: start + 3_600_000, recurrence: 'FREQ=DAILY' },
    },
    { ids: ['daily'] },
  );
  const v10 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_DETACHED} UPDATE store_meta SET value = 10 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v10);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  t.is(after.read('alice', { type: 'event.show', eventId: 'daily' }).event.title, 'Daily');
  after.ok(
    'alice',
    {
      type: 'event.updateOccurrence',
      eventId: 'daily',
      occurrenceStart: start + DAY,
      changes: { title: 'Once' },
    },
    { ids: ['once'] },
  );
  t.is(after.read('alice', { type: 'event.show', eventId: 'once' }).event.title, 'Once');
  // Where it came from is kept with it, for an export to name the series.
  const db = new SQL.Database(after.store.snapshot());
  try {
    const row = db.exec("SELECT detached_from FROM events WHERE id = 'once'")[0]?.values[0];
    t.deepEqual(JSON.parse(String(row?.[0])), { seriesId: 'daily', occurrenceStart: start + DAY });
  } finally {
    db.close();
  }
});

/**
 * The image of a store where alice has a daily series (`daily`, bob invited) whose second
 * occurrence was changed on its own (`once`), rewritten by `sql` into an older schema's shape.
 */
async function imageWithChangedOccurrence(
  SQL: Awaited<ReturnType<typeof loadSqlJs>>,
  sql: string,
): Promise<Uint8Array> {
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice', 'bob');
  const start = at('2025-02-10T08:00:00Z');
  before.ok(
    'alice',
    {
      type: 'event.create',
      draft: { title: 'Daily', start, end: start + 3_600_000, recurrence: 'FREQ=DAILY' },
      with: ['bob'],
    },
    { ids: ['daily'] },
  );
  before.ok(
    'alice',
    {
      type: 'event.updateOccurrence',
      eventId: 'daily',
      occurrenceStart: start + DAY,
      changes: { title: 'Once' },
    },
    { ids: ['once'] },
  );
  const image = await rewritten(before.store.snapshot(), sql);
  before.store.close();
  return image;
}

test('a schema 11 image is migrated: its changed occurrences are found by series, and go when their series is cancelled', async (t) => {
  const SQL = await loadSqlJs();
  const v11 = await imageWithChangedOccurrence(
    SQL,
    `${WITHOUT_DETACHED_INDEX} UPDATE store_meta SET value = 11 WHERE key = '${META.schemaVersion}';`,
  );

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v11);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  after.ok('alice', { type: 'event.cancel', eventId: 'daily' });
  t.is(after.read('alice', { type: 'event.show', eventId: 'once' }).event.status, 'cancelled');
  const db = new SQL.Database(after.store.snapshot());
  try {
    const index = db.exec(
      "SELECT name FROM sqlite_master WHERE name = 'events_by_detached_series'",
    )[0]?.values;
    t.deepEqual(index, [['events_by_detached_series']]);
  } finally {
    db.close();
  }
});

test("a schema 12 image is migrated: its answers to changed occurrences follow their series' answers", async (t) => {
  const SQL = await loadSqlJs();
  const v12 = await imageWithChangedOccurrence(
    SQL,
    `${WITHOUT_OWN_ANSWERS} UPDATE store_meta SET value = 12 WHERE key = '${META.schemaVersion}';`,
  );

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v12);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  after.ok('bob', { type: 'invitation.accept', eventId: 'daily' });
  t.is(after.read('bob', { type: 'event.show', eventId: 'once' }).event.myStatus, 'accepted');
  // Answered alone from now on, it keeps its own answer.
  after.ok('bob', { type: 'invitation.decline', eventId: 'once' });
  after.ok('bob', { type: 'invitation.decline', eventId: 'daily' });
  after.ok('bob', { type: 'invitation.accept', eventId: 'daily' });
  t.is(after.read('bob', { type: 'event.show', eventId: 'once' }).event.myStatus, 'declined');
});

test('a schema 13 image is migrated: its events all take time, and can be made transparent from then on', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice');
  const start = at('2025-02-10T08:00:00Z');
  const holiday = before.ok('alice', {
    type: 'event.create',
    draft: { title: 'Holiday', start, end: start + DAY },
  }).event.id;
  const v13 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_TRANSPARENCY} UPDATE store_meta SET value = 13 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v13);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  t.is(after.read('alice', { type: 'event.show', eventId: holiday }).event.transparent, undefined);
  // It blocks its day, as before.
  const meeting = { title: 'Meeting', start: start + 3_600_000, end: start + 7_200_000 };
  t.is(after.send('alice', { type: 'event.create', draft: meeting }).ok, false);
  after.ok('alice', { type: 'event.update', eventId: holiday, changes: { transparent: true } });
  t.is(after.read('alice', { type: 'event.show', eventId: holiday }).event.transparent, true);
  t.true(after.send('alice', { type: 'event.create', draft: meeting }).ok);
});

test('a schema 14 image is migrated: no device has an app password, and devices can be added from then on', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice');
  const v14 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_DEVICES} UPDATE store_meta SET value = 14 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v14);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  t.deepEqual(after.read('alice', { type: 'device.list' }).devices, []);
  const passwordHash = 'a'.repeat(64);
  after.ok('alice', { type: 'device.create', did: 'd1', label: 'phone', passwordHash });
  t.is(after.read(null, { type: 'device.lookup', username: 'alice', passwordHash }).did, 'd1');
});

test('a schema 15 image is migrated: an event imported before is brought to the next file as before, and keeps its version from then on', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice');
  const start = at('2025-09-05T16:00:00Z');
  const draft = { title: 'Parents evening', start, end: start + 3_600_000 };
  const version = { sequence: 2, stamp: at('2025-08-20T09:00:00Z') };
  const imported = (c: StoreClient, title: string, ids: string[]) =>
    c.ok(
      'alice',
      {
        type: 'event.import',
        events: [{ uid: 'evening@google.com', draft: { ...draft, title }, version }],
      },
      { ids },
    ).events[0];
  const id = imported(before, 'Parents evening', ['i1'])?.id ?? '';
  const v15 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_IMPORTED_VERSIONS} UPDATE store_meta SET value = 15 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v15);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  // No version was kept: the file is followed, as before, and its version kept.
  t.like(imported(after, 'Parents evening (hall)', ['i2']), { id, action: 'updated' });
  after.ok('alice', { type: 'event.update', eventId: id, changes: { title: 'Evening' } });
  t.like(imported(after, 'Parents evening (hall)', ['i3']), { id, action: 'unchanged' });
  t.is(after.read('alice', { type: 'event.show', eventId: id }).event.title, 'Evening');
});

test('a schema 16 image is migrated: its events are exported, a page at a time, by id', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice', 'bob');
  const start = at('2025-09-05T16:00:00Z');
  for (let i = 0; i < 3; i++) {
    before.ok(
      'alice',
      {
        type: 'event.create',
        draft: { title: `event ${i}`, start: start + i * DAY, end: start + i * DAY + 3_600_000 },
        allowConflict: true,
      },
      { ids: [`e${i}`] },
    );
  }
  const declined = before.ok('bob', {
    type: 'event.create',
    draft: { title: 'declined', start, end: start + 3_600_000 },
    with: ['alice'],
    allowConflict: true,
  }).event.id;
  before.ok('alice', { type: 'invitation.decline', eventId: declined });
  const v16 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_EXPORT_INDEX} UPDATE store_meta SET value = 16 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v16);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  const page = after.read('alice', { type: 'agenda.export' });
  t.is(page.next, null);
  t.deepEqual(
    [...page.ics.matchAll(/^SUMMARY:([^\r]+)\r$/gm)].map((m) => m[1]),
    ['event 0', 'event 1', 'event 2'],
  );
  after.store.close();
});

test('a schema 17 image is migrated: sync starts with no removal remembered, and reports the next one', async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice', 'bob');
  before.ok('alice', { type: 'group.create', name: 'team', kind: 'hierarchical' });
  before.ok('alice', { type: 'group.addMember', group: 'team', username: 'bob', level: 1 });
  before.ok('bob', { type: 'group.join', group: 'team' });
  const start = at('2025-09-05T16:00:00Z');
  before.ok(
    'alice',
    {
      type: 'event.create',
      draft: { title: 'standup', start, end: start + 900_000 },
      group: 'team',
    },
    { ids: ['standup'] },
  );
  const v17 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_DAV_SYNC} UPDATE store_meta SET value = 17 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v17);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  const first = after.read('bob', { type: 'dav.sync', token: null, data: false });
  if (first.outcome !== 'synced') return t.fail(first.reason);
  t.deepEqual(
    first.changed.map((r) => r.name),
    ['standup'],
  );
  after.ok('bob', { type: 'group.leave', group: 'team' });
  const next = after.read('bob', { type: 'dav.sync', token: first.token, data: false });
  t.like(next, { outcome: 'synced', changed: [], removed: ['standup'] });
  after.store.close();
});

test("a schema 18 image is migrated: each attendee row takes its event's version, and a token given before still syncs", async (t) => {
  const SQL = await loadSqlJs();
  const before = new StoreClient(new CalendarStore(SQL));
  before.register('alice', 'bob');
  const start = at('2025-09-05T16:00:00Z');
  for (const id of ['lunch', 'review']) {
    before.ok(
      'alice',
      {
        type: 'event.create',
        draft: { title: id, start, end: start + 900_000 },
        with: ['bob'],
        allowConflict: true,
      },
      { ids: [id] },
    );
  }
  before.ok('bob', { type: 'invitation.accept', eventId: 'lunch' });
  const given = before.read('bob', { type: 'dav.sync', token: null, data: false });
  if (given.outcome !== 'synced') return t.fail(given.reason);
  const v18 = await rewritten(
    before.store.snapshot(),
    `${WITHOUT_ATTENDEE_VERSIONS} UPDATE store_meta SET value = 18 WHERE key = '${META.schemaVersion}';`,
  );
  before.store.close();

  const after = new StoreClient(new CalendarStore(SQL), 'after');
  after.store.restore(v18);
  t.is(after.read(null, { type: 'store.status' }).schemaVersion, SCHEMA_VERSION);
  // The same token for the same calendar, and nothing new since the one given.
  const again = after.read('bob', { type: 'dav.sync', token: null, data: false });
  t.like(again, { outcome: 'synced', token: given.token });
  t.like(after.read('bob', { type: 'dav.sync', token: given.token, data: false }), {
    outcome: 'synced',
    changed: [],
    removed: [],
  });
  // Every row carries its event's key version.
  const db = new SQL.Database(after.store.snapshot());
  const rows = db.exec(`SELECT a.event_id, a.mod_index, k.mod_index FROM attendees a
    JOIN key_versions k ON k.key = 'event/' || a.event_id`)[0]?.values;
  db.close();
  t.is(rows?.length, 4);
  for (const [id, mine, its] of rows ?? []) t.is(mine, its, String(id));
  after.ok('alice', {
    type: 'event.update',
    eventId: 'review',
    changes: { title: 'Review' },
    allowConflict: true,
  });
  const next = after.read('bob', { type: 'dav.sync', token: given.token, data: false });
  t.like(next, { outcome: 'synced', removed: [] });
  if (next.outcome === 'synced')
    t.deepEqual(
      next.changed.map((r) => r.name),
      ['review'],
    );
  after.store.close();
});
