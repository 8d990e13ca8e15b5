/**
 * CalDAV sync in the store (./dav-sync.ts, `dav.sync`): from an initial sync on, every
 * change to the calendar — made, changed, answered by someone else, declined, taken off,
 * cancelled, another attendee's account gone, come back — is reported once, under the name
 * the listing gives it, with the token to ask from next; an unchanged calendar answers
 * nothing and keeps its token; tokens that are not ours, from the future or from before the
 * removals the store still remembers are refused.
 */
import test from 'ava';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { CalendarStore } from './calendar-store.js';
import { DAV_SYNC_HORIZON_MS, DAV_SYNC_SQL } from './dav-sync.js';
import type { CommandOf } from './protocol.js';
import { configureConnection, createSchema } from './schema.js';
import { at, DAY, StoreClient } from './test-support.js';

const HOUR = 3_600_000;
const FEB = at('2025-02-03T09:00:00Z');

/** The n-th hour-long slot of February (so nothing conflicts). */
function slot(n: number): { start: number; end: number } {
  return { start: FEB + n * DAY, end: FEB + n * DAY + HOUR };
}

async function client(): Promise<StoreClient> {
  const c = new StoreClient(new CalendarStore(await loadSqlJs()));
  c.register('alice', 'bob', 'carol');
  return c;
}

interface Synced {
  readonly token: string;
  readonly truncated: boolean;
  /** name → etag */
  readonly changed: Record<string, string>;
  readonly removed: readonly string[];
}

function sync(c: StoreClient, user: string, token: string | null, limit?: number): Synced {
  const answer = c.read(user, {
    type: 'dav.sync',
    token,
    data: false,
    ...(limit === undefined ? {} : { limit }),
  });
  if (answer.outcome !== 'synced') throw new Error(`refused: ${answer.reason}`);
  return {
    token: answer.token,
    truncated: answer.truncated,
    changed: Object.fromEntries(answer.changed.map((r) => [r.name, r.etag])),
    removed: [...answer.removed].sort(),
  };
}

/** The listing's names and tags, to compare with. */
function listing(c: StoreClient, user: string): Record<string, string> {
  const read = c.read(user, { type: 'dav.calendar', data: false });
  return Object.fromEntries(read.resources.map((r) => [r.name, r.etag]));
}

/** Alice's hierarchical group `team`, which the members join below her (and so get its events). */
function team(c: StoreClient, ...members: string[]): void {
  c.ok('alice', { type: 'group.create', name: 'team', kind: 'hierarchical' });
  for (const user of members) join(c, user);
}

function join(c: StoreClient, user: string): void {
  c.ok('alice', { type: 'group.addMember', group: 'team', username: user, level: 1 });
  c.ok(user, { type: 'group.join', group: 'team' });
}

function create(
  c: StoreClient,
  who: string,
  id: string,
  n: number,
  more: Partial<CommandOf<'event.create'>> = {},
): void {
  c.ok(
    who,
    { type: 'event.create', draft: { title: id, ...slot(n) }, allowConflict: true, ...more },
    { ids: [id] },
  );
}

test('each change to a calendar is reported once, as the listing names and tags it, and the token moves only when something changed', async (t) => {
  const c = await client();
  create(c, 'alice', 'lunch', 1, { with: ['bob'] });
  create(c, 'bob', 'gym', 2);
  const first = sync(c, 'bob', null);
  t.deepEqual(first.changed, listing(c, 'bob'));
  t.deepEqual(Object.keys(first.changed).sort(), ['gym', 'lunch']);
  t.deepEqual(first.removed, []);
  t.false(first.truncated);
  // Nothing changed: nothing to say, and the same token; other users' writes do not move it.
  create(c, 'carol', 'elsewhere', 3);
  const quiet = sync(c, 'bob', first.token);
  t.deepEqual(quiet, { token: first.token, truncated: false, changed: {}, removed: [] });
  t.is(
    c.read('bob', { type: 'dav.sync', token: null, data: false, tokenOnly: true }).outcome,
    'synced',
  );
  const property = c.read('bob', { type: 'dav.sync', token: null, data: false, tokenOnly: true });
  t.like(property, { token: first.token, changed: [], removed: [] });

  // Made.
  create(c, 'alice', 'party', 4, { with: ['bob', 'carol'] });
  const made = sync(c, 'bob', first.token);
  t.deepEqual(made.changed, { party: listing(c, 'bob').party ?? '' });
  t.deepEqual(made.removed, []);
  t.true(Number(made.token) > Number(first.token));

  // Changed by its organizer.
  c.ok('alice', {
    type: 'event.update',
    eventId: 'lunch',
    changes: { title: 'Long lunch' },
    allowConflict: true,
  });
  const updated = sync(c, 'bob', made.token);
  t.deepEqual(Object.keys(updated.changed), ['lunch']);
  t.not(updated.changed.lunch, first.changed.lunch);
  t.is(updated.changed.lunch, listing(c, 'bob').lunch);

  // Another attendee answering changes the text (ATTENDEE PARTSTAT) and the tag, and the
  // CTag with them, though it stamps neither Bob's agenda nor anything else of Bob's.
  const ctag = () => c.read('bob', { type: 'dav.calendar', data: false }).ctag;
  const ctagBefore = ctag();
  c.ok('carol', { type: 'invitation.accept', eventId: 'party' });
  const answered = sync(c, 'bob', updated.token);
  t.deepEqual(Object.keys(answered.changed), ['party']);
  t.not(answered.changed.party, made.changed.party);
  t.not(ctag(), ctagBefore);
  t.is(ctag(), answered.token);
  // Others' writes elsewhere leave it.
  create(c, 'carol', 'elsewhere-again', 5);
  t.is(ctag(), answered.token);

  // Declined: gone from the calendar.
  c.ok('bob', { type: 'invitation.decline', eventId: 'lunch' });
  const declined = sync(c, 'bob', answered.token);
  t.deepEqual(declined, { ...declined, changed: {}, removed: ['lunch'] });
  t.is(ctag(), declined.token);
  // Changed by its organizer after that: none of Bob's calendar's business any more.
  c.ok('alice', {
    type: 'event.update',
    eventId: 'lunch',
    changes: { title: 'Lunch without Bob' },
    allowConflict: true,
  });
  t.is(ctag(), declined.token);
  t.deepEqual(sync(c, 'bob', declined.token), {
    token: declined.token,
    truncated: false,
    changed: {},
    removed: [],
  });

  // Cancelled by its organizer: gone.
  c.ok('alice', { type: 'event.cancel', eventId: 'party' });
  const cancelled = sync(c, 'bob', declined.token);
  t.deepEqual(cancelled.changed, {});
  t.deepEqual(cancelled.removed, ['party']);

  // Every step again from the first token: the end state, each name once.
  const all = sync(c, 'bob', first.token);
  t.deepEqual(all.changed, {});
  t.deepEqual(all.removed, ['lunch', 'party']);
  t.is(all.token, cancelled.token);
  t.deepEqual(sync(c, 'bob', cancelled.token).changed, {});
});

test('the user taken off an event, another attendee’s account deleted and the user put back are each reported once', async (t) => {
  const c = await client();
  team(c, 'bob', 'carol');
  create(c, 'alice', 'standup', 5, { group: 'team' });
  create(c, 'alice', 'review', 6, { with: ['bob', 'carol'] });
  c.ok('carol', { type: 'invitation.accept', eventId: 'review' });
  const start = sync(c, 'bob', null);
  t.deepEqual(Object.keys(start.changed).sort(), ['review', 'standup']);

  // Taken off the group's future events: no attendee row left, a tombstone says so.
  c.ok('bob', { type: 'group.leave', group: 'team' });
  const left = sync(c, 'bob', start.token);
  t.deepEqual(left.changed, {});
  t.deepEqual(left.removed, ['standup']);
  t.deepEqual(sync(c, 'bob', left.token).removed, []);

  // Another attendee's account goes: the review's attendees change, so does its tag.
  c.ok('carol', { type: 'user.delete' });
  while (!c.ok(null, { type: 'user.purge', username: 'carol' }).done) {
    // A batch at a time.
  }
  const purged = sync(c, 'bob', left.token);
  t.deepEqual(Object.keys(purged.changed), ['review']);
  t.not(purged.changed.review, start.changed.review);
  t.is(purged.changed.review, listing(c, 'bob').review);
  t.deepEqual(purged.removed, []);

  // Back in the group: back on its future events, reported as there (not also as gone).
  join(c, 'bob');
  const back = sync(c, 'bob', purged.token);
  t.deepEqual(back.removed, []);
  t.deepEqual(back.changed, { standup: listing(c, 'bob').standup ?? '' });
  // From before it left: there now, once.
  const across = sync(c, 'bob', start.token);
  t.deepEqual(across.removed, []);
  t.deepEqual(across.changed, listing(c, 'bob'));
});

test('resources are named as the listing names them: the organizer’s by UID, written and removed over CalDAV', async (t) => {
  const c = await client();
  const start = sync(c, 'alice', null);
  t.deepEqual(start.changed, {});
  c.ok('alice', {
    type: 'dav.put',
    name: 'ab12@example.com',
    event: { uid: 'ab12@example.com', draft: { title: 'Dentist', ...slot(7) } },
    answer: null,
  });
  const made = sync(c, 'alice', start.token);
  t.deepEqual(made.changed, listing(c, 'alice'));
  t.deepEqual(Object.keys(made.changed), ['ab12@example.com']);
  c.ok('alice', { type: 'dav.delete', name: 'ab12@example.com' });
  const gone = sync(c, 'alice', made.token);
  t.deepEqual(gone.changed, {});
  t.deepEqual(gone.removed, ['ab12@example.com']);
});

test('a sync past its limit is cut, and its token continues where it stopped until all is said', async (t) => {
  const c = await client();
  for (let i = 0; i < 5; i++) create(c, 'alice', `e${i}`, i, { with: ['bob'] });
  const seen: string[] = [];
  let token: string | null = null;
  let answers = 0;
  for (;;) {
    const page = sync(c, 'bob', token, 2);
    answers += 1;
    seen.push(...Object.keys(page.changed));
    token = page.token;
    if (!page.truncated) break;
    t.regex(page.token, /^\d+\.e\d$/);
  }
  t.is(answers, 3);
  t.deepEqual(seen.sort(), ['e0', 'e1', 'e2', 'e3', 'e4']);
  t.regex(token, /^\d+$/);
  t.deepEqual(sync(c, 'bob', token).changed, {});
  // Calendar data rides along when asked for.
  const withData = c.read('bob', { type: 'dav.sync', token: null, data: true });
  t.true(
    withData.outcome === 'synced' &&
      withData.changed.every((r) => /BEGIN:VEVENT/.test(r.ics ?? '')),
  );
});

test('tokens that are not ours, from a later state, or older than the removals remembered are refused', async (t) => {
  const c = await client();
  team(c, 'bob');
  create(c, 'alice', 'standup', 40, { group: 'team' });
  const old = sync(c, 'bob', null);
  for (const token of ['garbage', '-1', '01', '1.', '1.a b', `${Number.MAX_SAFE_INTEGER}9`]) {
    t.like(
      c.read('bob', { type: 'dav.sync', token, data: false }),
      { outcome: 'invalid-token' },
      token,
    );
  }
  const future = c.read('bob', { type: 'dav.sync', token: '100000', data: false });
  t.regex(future.outcome === 'invalid-token' ? future.reason : '', /later state/);

  // Bob leaves (a tombstone), and 61 days later someone else's removal forgets it.
  c.ok('bob', { type: 'group.leave', group: 'team' });
  const recent = sync(c, 'bob', old.token);
  t.deepEqual(recent.removed, ['standup']);
  c.now += DAV_SYNC_HORIZON_MS + DAY;
  create(c, 'alice', 'later', 80, { group: 'team' });
  join(c, 'carol');
  c.ok('carol', { type: 'group.leave', group: 'team' });
  const refused = c.read('bob', { type: 'dav.sync', token: old.token, data: false });
  t.like(refused, { outcome: 'invalid-token' });
  if (refused.outcome === 'invalid-token') t.regex(refused.reason, /older than the removals/);
  // A token from after the removal it forgot is still good, and so is the property's.
  t.deepEqual(sync(c, 'bob', recent.token).removed, []);
  t.is(sync(c, 'bob', null).token, recent.token);
});

test('sync reads ranges of indexes only: the attendees and the removals by user and version', async (t) => {
  const SQL = await loadSqlJs();
  const db = new SQL.Database();
  configureConnection(db);
  createSchema(db);
  for (const [name, sql] of Object.entries(DAV_SYNC_SQL)) {
    const statement = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
    const steps: string[] = [];
    while (statement.step()) steps.push(String(statement.get()[3]));
    statement.free();
    // No scan at all, not even of an index: a scan is O(the user's rows), a search O(log n).
    const scans = steps.filter((s) => /^SCAN (?!\(subquery)/.test(s));
    t.deepEqual(scans, [], `${name}: ${steps.join(' | ')}`);
  }
  db.close();
});

test('a calendar of many changes and removals syncs a page at a time, each reported once, whatever the page size', async (t) => {
  const c = await client();
  team(c, 'bob');
  // Sixty group events Bob gets, then forty invitations interleaved in the log; leaving the
  // group takes him off the sixty at once (sixty tombstones of one index).
  for (let i = 0; i < 60; i++) {
    create(c, 'alice', `g${i}`, i % 28, { group: 'team' });
    if (i % 3 === 0) create(c, 'alice', `w${i}`, (i + 1) % 28, { with: ['bob'] });
  }
  const start = sync(c, 'bob', null);
  t.is(Object.keys(start.changed).length, 80);
  c.ok('bob', { type: 'group.leave', group: 'team' });
  for (let i = 0; i < 60; i += 2) create(c, 'alice', `x${i}`, i % 28, { with: ['bob'] });
  const expected = listing(c, 'bob');
  for (const limit of [1, 2, 7, 59, 60, 61]) {
    const changed: string[] = [];
    const removed: string[] = [];
    let token = start.token;
    let pages = 0;
    for (;;) {
      const page = sync(c, 'bob', token, limit);
      pages += 1;
      t.true(Object.keys(page.changed).length + page.removed.length <= limit, `limit ${limit}`);
      changed.push(...Object.keys(page.changed));
      removed.push(...page.removed);
      token = page.token;
      if (!page.truncated) break;
      if (pages > 200) return t.fail(`limit ${limit}: no end`);
    }
    t.deepEqual(
      changed.sort(),
      Object.keys(expected)
        .filter((n) => n.startsWith('x'))
        .sort(),
    );
    t.deepEqual(
      removed.sort(),
      Array.from({ length: 60 }, (_, i) => `g${i}`).sort(),
      `limit ${limit}`,
    );
    t.deepEqual(sync(c, 'bob', token), { token, truncated: false, changed: {}, removed: [] });
  }
});

test('a series with many occurrences changed on their own is one resource, answered once however its occurrences page', async (t) => {
  const c = await client();
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: { title: 'daily', ...slot(0), recurrence: 'FREQ=DAILY;COUNT=120' },
      with: ['bob'],
      allowConflict: true,
    },
    { ids: ['daily'] },
  );
  const start = sync(c, 'bob', null);
  // Forty occurrences changed on their own: forty events of the same resource, each changed.
  for (let k = 0; k < 40; k++) {
    c.ok(
      'alice',
      {
        type: 'event.updateOccurrence',
        eventId: 'daily',
        occurrenceStart: slot(k + 1).start,
        changes: { title: `day ${k + 1}` },
        allowConflict: true,
      },
      { ids: [`o${k}`] },
    );
  }
  const whole = sync(c, 'bob', start.token);
  t.deepEqual(whole.changed, { daily: listing(c, 'bob').daily ?? '' });
  // Each changed occurrence's own id is said gone (a client may hold it from a time its
  // series was not in the calendar), once.
  const occurrences = Array.from({ length: 40 }, (_, k) => `o${k}`).sort();
  t.deepEqual(whole.removed, occurrences);
  for (const limit of [1, 3]) {
    const seen = new Set<string>();
    let token = start.token;
    for (let pages = 0; pages < 100; pages++) {
      const page = sync(c, 'bob', token, limit);
      for (const name of [...Object.keys(page.changed), ...page.removed]) seen.add(name);
      token = page.token;
      if (!page.truncated) break;
    }
    t.deepEqual([...seen].sort(), ['daily', ...occurrences].sort(), `limit ${limit}`);
    t.deepEqual(sync(c, 'bob', token).changed, {});
  }
});
