/**
 * Devices' app passwords in the store (kept as hashes, capped, ended by revoking, a password
 * change or the account's deletion), what a device's session opens, and the calendar as
 * CalDAV reads it (`dav.calendar`): one resource per series with its changed occurrences,
 * entity tags that change with the events, time ranges tested occurrence by occurrence.
 */
import test from 'ava';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { CalendarStore } from './calendar-store.js';
import { DESCRIPTION_MAX_LENGTH, MAX_CALENDAR_DATA_BYTES } from '../../contract/limits.js';
import { MAX_DEVICES_PER_USER } from './protocol.js';
import type { QueryBody } from './protocol.js';
import { at, DAY, StoreClient } from './test-support.js';

const HASH = (n: number) => n.toString(16).padStart(64, '0');

async function client(): Promise<StoreClient> {
  const c = new StoreClient(new CalendarStore(await loadSqlJs()));
  c.register('alice', 'bob');
  return c;
}

/** What the store answers a request of alice's device `did`. */
function asDevice(c: StoreClient, did: string, body: QueryBody, generation = 0) {
  return c.store.query({ v: 1, actor: 'alice', at: c.now, session: { generation, did }, body });
}

const EVERYTHING: QueryBody = { type: 'dav.calendar', data: false };

test('a device keeps only its password hash, is found by it, and is listed without it', async (t) => {
  const c = await client();
  const made = c.ok('alice', {
    type: 'device.create',
    did: 'd1',
    label: 'phone',
    passwordHash: HASH(1),
  });
  t.deepEqual(made.device, { id: 'd1', label: 'phone', createdAt: new Date(c.now).toISOString() });
  t.deepEqual(c.read('alice', { type: 'device.list' }).devices, [made.device]);
  t.deepEqual(c.read(null, { type: 'device.lookup', username: 'alice', passwordHash: HASH(1) }), {
    did: 'd1',
    sessionGeneration: 0,
  });
  // Another user's name with the same password opens nothing: the hash is looked up per user.
  t.false(c.ask(null, { type: 'device.lookup', username: 'bob', passwordHash: HASH(1) }).ok);
  t.false(c.ask(null, { type: 'device.lookup', username: 'alice', passwordHash: HASH(2) }).ok);
  // A hash that is not SHA-256 hex is refused at the boundary.
  t.false(c.ask(null, { type: 'device.lookup', username: 'alice', passwordHash: 'hash-alice' }).ok);
});

test(`a user keeps at most ${MAX_DEVICES_PER_USER} devices; revoking one makes room and answers only one's own`, async (t) => {
  const c = await client();
  for (let i = 0; i < MAX_DEVICES_PER_USER; i += 1) {
    c.ok('alice', { type: 'device.create', did: `d${i}`, label: `n${i}`, passwordHash: HASH(i) });
  }
  const full = c.refused('alice', {
    type: 'device.create',
    did: 'extra',
    label: 'extra',
    passwordHash: HASH(99),
  });
  t.is(full.code, 'invalid');
  t.regex(full.message, /agenda device revoke/);
  t.is(c.refused('bob', { type: 'device.revoke', did: 'd0' }).code, 'not_found');
  c.ok('alice', { type: 'device.revoke', did: 'd0' });
  c.ok('alice', { type: 'device.create', did: 'extra', label: 'extra', passwordHash: HASH(99) });
  t.is(c.read('alice', { type: 'device.list' }).devices.length, MAX_DEVICES_PER_USER);
});

test("a device's session reads the calendar over CalDAV and nothing else, until the device is revoked", async (t) => {
  const c = await client();
  c.ok('alice', { type: 'device.create', did: 'd1', label: 'phone', passwordHash: HASH(1) });
  t.true(asDevice(c, 'd1', EVERYTHING).ok);
  const other = asDevice(c, 'd1', { type: 'event.list', from: c.now, to: c.now + DAY });
  t.false(other.ok);
  t.regex(other.ok ? '' : other.error.message, /only opens its calendar over CalDAV/);
  // A device of another user, or none at all, is no session.
  c.ok('bob', { type: 'device.create', did: 'd2', label: 'phone', passwordHash: HASH(2) });
  t.false(asDevice(c, 'd2', EVERYTHING).ok);
  t.false(asDevice(c, 'nope', EVERYTHING).ok);
  c.ok('alice', { type: 'device.revoke', did: 'd1' });
  const revoked = asDevice(c, 'd1', EVERYTHING);
  t.false(revoked.ok);
  t.is(revoked.ok ? '' : revoked.error.code, 'unauthenticated');
});

test('changing the password or deleting the account ends every device', async (t) => {
  const c = await client();
  c.ok('alice', { type: 'device.create', did: 'd1', label: 'phone', passwordHash: HASH(1) });
  c.ok('alice', {
    type: 'user.changePassword',
    previousHash: 'hash-alice',
    passwordHash: 'hash-alice-2',
    sid: 's1',
    ttlMs: DAY,
  });
  t.deepEqual(c.read('alice', { type: 'device.list' }).devices, []);
  t.false(c.ask(null, { type: 'device.lookup', username: 'alice', passwordHash: HASH(1) }).ok);
  t.false(asDevice(c, 'd1', EVERYTHING, 1).ok);

  c.ok('bob', { type: 'device.create', did: 'd2', label: 'phone', passwordHash: HASH(2) });
  const deleted = c.ok('bob', { type: 'user.delete' });
  t.is(deleted.removed.devicesRevoked, 1);
  t.false(c.ask(null, { type: 'device.lookup', username: 'bob', passwordHash: HASH(2) }).ok);
});

test('the calendar is one resource per series, its changed occurrences inside, tagged by what it is made of', async (t) => {
  const c = await client();
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: {
        title: 'Gym',
        start: at('2025-02-03T17:00:00Z'),
        end: at('2025-02-03T18:00:00Z'),
        recurrence: 'FREQ=WEEKLY;COUNT=4',
      },
      with: ['bob'],
    },
    { ids: ['gym'] },
  );
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: { title: 'Call', start: at('2025-03-10T09:00:00Z'), end: at('2025-03-10T10:00:00Z') },
    },
    { ids: ['call'] },
  );
  const listing = () => c.read('alice', EVERYTHING);
  const before = listing();
  t.deepEqual(
    before.resources.map((r) => r.id),
    ['call', 'gym'],
  );
  t.false(before.truncated);
  const gymTag = before.resources[1]?.etag;
  t.regex(gymTag ?? '', /^"[0-9a-f]{16}"$/);

  // Moving one occurrence on its own keeps it in the series' resource, as a RECURRENCE-ID.
  c.ok(
    'alice',
    {
      type: 'event.updateOccurrence',
      eventId: 'gym',
      occurrenceStart: at('2025-02-10T17:00:00Z'),
      changes: { title: 'Gym (pool)' },
    },
    { ids: ['pool'] },
  );
  const after = listing();
  t.deepEqual(
    after.resources.map((r) => r.id),
    ['call', 'gym'],
  );
  t.not(after.resources[1]?.etag, gymTag);
  t.is(after.resources[0]?.etag, before.resources[0]?.etag, 'the call did not change');
  t.not(after.ctag, before.ctag);
  const read = c.read('alice', { type: 'dav.calendar', names: ['gym', 'pool'], data: true });
  t.deepEqual(
    read.resources.map((r) => r.id),
    ['gym'],
    'the changed occurrence is no resource of its own',
  );
  const ics = read.resources[0]?.ics ?? '';
  t.is(ics.match(/BEGIN:VEVENT/g)?.length, 2);
  t.regex(ics, /RRULE:FREQ=WEEKLY;COUNT=4/);
  t.regex(ics, /RECURRENCE-ID/);
  t.regex(ics, /SUMMARY:Gym \(pool\)/);

  // Bob's answer changes the text's attendees: the tag changes, the revision does not.
  c.ok('bob', { type: 'invitation.accept', eventId: 'gym' });
  t.not(listing().resources[1]?.etag, after.resources[1]?.etag);
  // Bob sees it once he accepted; declining takes it out of his calendar.
  t.deepEqual(
    c.read('bob', EVERYTHING).resources.map((r) => r.id),
    ['gym'],
  );
  c.ok('bob', { type: 'invitation.decline', eventId: 'gym' });
  t.deepEqual(c.read('bob', EVERYTHING).resources, []);
  // A cancelled series is gone.
  c.ok('alice', { type: 'event.cancel', eventId: 'call' });
  t.deepEqual(
    listing().resources.map((r) => r.id),
    ['gym'],
  );
});

test('a time range is tested occurrence by occurrence, and open ends reach the whole calendar', async (t) => {
  const c = await client();
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: {
        title: 'Monday',
        start: at('2025-02-03T09:00:00Z'),
        end: at('2025-02-03T10:00:00Z'),
        recurrence: 'FREQ=WEEKLY',
      },
    },
    { ids: ['monday'] },
  );
  const inWindow = (from: string, to: string) =>
    c
      .read('alice', { type: 'dav.calendar', from: at(from), to: at(to), data: false })
      .resources.map((r) => r.id);
  // The series' bounds reach every Tuesday; no occurrence does.
  t.deepEqual(inWindow('2025-06-03T00:00:00Z', '2025-06-04T00:00:00Z'), []);
  t.deepEqual(inWindow('2025-06-09T09:30:00Z', '2025-06-09T09:31:00Z'), ['monday']);
  t.deepEqual(inWindow('2024-01-01T00:00:00Z', '2025-02-03T09:00:00Z'), []);
  // A window to 2200 finds the endless series at once, not after expanding it.
  t.deepEqual(inWindow('2030-01-01T00:00:00Z', '2200-01-01T00:00:00Z'), ['monday']);
  t.false(
    c.ask('alice', { type: 'dav.calendar', from: at('2025-02-03T00:00:00Z'), data: false }).ok,
  );
});

test('a listing with calendar data is cut past MAX_CALENDAR_DATA_BYTES and says so', async (t) => {
  const c = new StoreClient(new CalendarStore(await loadSqlJs()));
  c.register('alice');
  // Descriptions at their limit, in a 3-byte script: ~15 KB of text a resource.
  const description = '日'.repeat(DESCRIPTION_MAX_LENGTH);
  for (let i = 0; i < 160; i++) {
    const start = at('2025-03-03T09:00:00Z') + i * DAY;
    c.ok('alice', {
      type: 'event.create',
      draft: { title: `long ${i}`, start, end: start + 3_600_000, description },
      allowConflict: true,
    });
  }
  const listing = c.read('alice', { type: 'dav.calendar', data: true });
  t.true(listing.truncated);
  const bytes = listing.resources.reduce((n, r) => n + Buffer.byteLength(r.ics ?? ''), 0);
  t.true(bytes <= MAX_CALENDAR_DATA_BYTES, `${bytes}`);
  t.true(listing.resources.length > 100 && listing.resources.length < 160);
  // Without the text, the whole calendar fits.
  const tags = c.read('alice', { type: 'dav.calendar', data: false });
  t.false(tags.truncated);
  t.is(tags.resources.length, 160);
});
