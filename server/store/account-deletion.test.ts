/**
 * Deleting an account through the store: every token refused at once, the name retired,
 * and what the account leaves behind removed in bounded batches by the rules of
 * server/domain/accounts.ts — others' calendars and groups updated, and told.
 */
import test from 'ava';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { ACCOUNT_PURGE_BUDGET, GROUP_EVENTS_PER_BATCH } from './account-deletion.js';
import { parseEffect } from './effects.js';
import type { CommandResults, QueryBody, SessionRef } from './protocol.js';
import { at, DAY, EPOCH, HOUR, StoreClient, openStore } from './test-support.js';

const WEEK = { from: EPOCH, to: EPOCH + 7 * DAY };
const TOMORROW = EPOCH + DAY + 9 * HOUR;

function draft(title: string, start = TOMORROW) {
  return { title, start, end: start + HOUR };
}

/** Purges `username` batch by batch until done; answers every batch. */
function purgeAll(c: StoreClient, username: string): CommandResults['user.purge'][] {
  const batches: CommandResults['user.purge'][] = [];
  for (let i = 0; i < 10_000; i += 1) {
    const batch = c.ok(null, { type: 'user.purge', username });
    batches.push(batch);
    if (batch.done) return batches;
  }
  throw new Error(`the purge of ${username} does not end`);
}

/** Every notification a purge of `username` answered, as "to change subject". */
function purgeNotices(c: StoreClient, username: string): string[] {
  const told: string[] = [];
  for (let i = 0; i < 10_000; i += 1) {
    const outcome = c.send(null, { type: 'user.purge', username });
    if (!outcome.ok) throw new Error(outcome.error.message);
    for (const n of outcome.notifications) {
      if (n.kind === 'event') told.push(`${n.to} ${n.change} ${n.eventId}`);
      if (n.kind === 'group') told.push(`${n.to} ${n.change} ${n.group} ${n.member}`);
    }
    if (outcome.result.done) return told.sort();
  }
  throw new Error(`the purge of ${username} does not end`);
}

/** Rows of the store's image that still name `username`, by table. */
async function rowsNaming(c: StoreClient, username: string): Promise<Record<string, number>> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(c.store.snapshot());
  try {
    const count = (sql: string) => Number(db.exec(sql, [username])[0]?.values[0]?.[0] ?? 0);
    return {
      users: count('SELECT count(*) FROM users WHERE username = ?'),
      credentials: count('SELECT count(*) FROM credentials WHERE username = ?'),
      attendees: count('SELECT count(*) FROM attendees WHERE username = ?'),
      members: count('SELECT count(*) FROM members WHERE username = ?'),
      groupInvitations: count('SELECT count(*) FROM group_invitations WHERE username = ?'),
      groupBlocks: count('SELECT count(*) FROM group_blocks WHERE username = ?'),
      feeds: count('SELECT count(*) FROM feeds WHERE username = ?'),
      sessions: count('SELECT count(*) FROM sessions WHERE username = ?'),
      ownedGroups: count('SELECT count(*) FROM groups WHERE owner = ?'),
      eventsOnlyTheirs: count(
        `SELECT count(*) FROM events e WHERE e.organizer = ?1
           AND NOT EXISTS (SELECT 1 FROM attendees a WHERE a.event_id = e.id)`,
      ),
    };
  } finally {
    db.close();
  }
}

const NOTHING = {
  users: 0,
  credentials: 0,
  attendees: 0,
  members: 0,
  groupInvitations: 0,
  groupBlocks: 0,
  feeds: 0,
  sessions: 0,
  ownedGroups: 0,
  eventsOnlyTheirs: 0,
};

function refusalOf(c: StoreClient, actor: string, body: QueryBody, session?: SessionRef) {
  const outcome = c.store.query({
    v: 1,
    actor,
    ...(session ? { session } : {}),
    at: c.now,
    body,
  });
  return outcome.ok ? undefined : outcome.error;
}

test('a deleted account is gone at once: every token refused, feeds revoked, streams told, the name retired', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob');
  c.ok('alice', { type: 'feed.create', fid: 'feed-1', label: 'phone', expiresAt: EPOCH + DAY });
  c.ok('alice', { type: 'session.open', sid: 'session-1', ttlMs: DAY, generation: 0 });
  const session = { generation: 0, sid: 'session-1' };
  t.is(refusalOf(c, 'alice', { type: 'event.list', ...WEEK }, session), undefined);

  const outcome = c.send('alice', { type: 'user.delete' });
  if (!outcome.ok) throw new Error(outcome.error.message);
  t.is(outcome.result.removed.feedsRevoked, 1);
  t.deepEqual(outcome.notifications, [
    { kind: 'session', to: 'alice', change: 'deleted', sid: null },
  ]);

  // Every token: a session's, a feed's, and a request naming no session at all.
  for (const token of [session, { generation: 0, fid: 'feed-1' }, undefined]) {
    t.is(refusalOf(c, 'alice', { type: 'event.list', ...WEEK }, token)?.code, 'unauthenticated');
    t.is(refusalOf(c, 'alice', { type: 'agenda.export' }, token)?.code, 'unauthenticated');
  }
  t.is(c.refused('alice', { type: 'event.create', draft: draft('Ghost') }).code, 'unauthenticated');
  t.is(c.refused('alice', { type: 'user.delete' }).code, 'unauthenticated');
  const refresh = { sid: 'session-1', generation: 0, seq: 0, revokeForMs: HOUR };
  t.is(c.refused('alice', { type: 'session.refresh', ...refresh }).code, 'unauthenticated');
  // A login finds no such user; the name cannot be registered again.
  t.is(refusalOf(c, 'bob', { type: 'user.lookup', username: 'alice' })?.code, 'not_found');
  const again = c.refused(null, { type: 'user.register', username: 'alice', passwordHash: 'h' });
  t.is(again.code, 'conflict');
  t.regex(again.message, /the username alice is taken/);
  // Others cannot reach the account: no invitation, no agenda.
  t.is(
    c.refused('bob', { type: 'event.create', draft: draft('Lunch'), with: ['alice'] }).code,
    'not_found',
  );
  t.is(
    refusalOf(c, 'bob', { type: 'agenda.view', targets: { users: ['alice'] }, ...WEEK })?.code,
    refusalOf(c, 'bob', { type: 'agenda.view', targets: { users: ['nobody'] }, ...WEEK })?.code,
  );

  t.deepEqual(c.read(null, { type: 'user.beingPurged', limit: 10 }).usernames, ['alice']);
  t.is(purgeAll(c, 'alice')[0]?.removed.sessionsEnded, 1);
  t.deepEqual(c.read(null, { type: 'user.beingPurged', limit: 10 }).usernames, []);
  t.deepEqual(await rowsNaming(c, 'alice'), NOTHING);
  // Finished is finished: another purge changes nothing; a name never deleted has none.
  t.true(c.ok(null, { type: 'user.purge', username: 'alice' }).done);
  t.is(c.refused(null, { type: 'user.purge', username: 'bob' }).code, 'not_found');
});

test('her events: hers alone deleted, hers with others cancelled for them, theirs left with the organizer told', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob', 'carol');
  const solo = c.ok('alice', { type: 'event.create', draft: draft('Dentist') }).event.id;
  const meeting = c.ok('alice', {
    type: 'event.create',
    draft: draft('Planning', TOMORROW + 2 * HOUR),
    with: ['bob', 'carol'],
  }).event.id;
  c.ok('bob', { type: 'invitation.accept', eventId: meeting });
  c.ok('carol', { type: 'invitation.decline', eventId: meeting });
  const past = at('2024-12-20T10:00:00Z');
  const history = c.ok('alice', {
    type: 'event.create',
    draft: draft('Retro', past),
    with: ['bob'],
  }).event.id;
  const bobs = c.ok('bob', {
    type: 'event.create',
    draft: draft('Lunch', TOMORROW + 4 * HOUR),
    with: ['alice'],
  }).event.id;
  c.ok('alice', { type: 'invitation.accept', eventId: bobs });

  c.ok('alice', { type: 'user.delete' });
  t.deepEqual(purgeNotices(c, 'alice'), [`bob cancelled ${meeting}`, `bob left ${bobs}`]);
  const status = (who: string, id: string) =>
    c
      .read(who, { type: 'event.list', from: at('2024-12-01T00:00:00Z'), to: WEEK.to })
      .events.find((e) => e.id === id);
  // Bob keeps her meeting as cancelled, and the retro that happened as it was.
  t.is(status('bob', meeting)?.status, 'cancelled');
  t.is(status('bob', history)?.status, 'confirmed');
  t.is(status('carol', meeting)?.status, 'cancelled');
  // His lunch goes on without her.
  const lunch = c.read('bob', { type: 'event.show', eventId: bobs }).event;
  t.deepEqual(
    lunch.attendees.map((a) => a.username),
    ['bob'],
  );
  t.is(lunch.status, 'confirmed');
  // Her own event is gone for everyone.
  t.is(refusalOf(c, 'bob', { type: 'event.show', eventId: solo })?.code, 'not_found');
  t.deepEqual(await rowsNaming(c, 'alice'), NOTHING);
});

test('a flat-group event waiting only for her is confirmed for the others', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob', 'carol');
  c.ok('bob', { type: 'group.create', name: 'book-club', kind: 'flat' });
  for (const who of ['alice', 'carol']) {
    c.ok('bob', { type: 'group.addMember', group: 'book-club', username: who });
    c.ok(who, { type: 'group.join', group: 'book-club' });
  }
  const reading = c.ok('bob', {
    type: 'event.create',
    draft: draft('Reading'),
    group: 'book-club',
  }).event.id;
  c.ok('carol', { type: 'invitation.accept', eventId: reading });
  t.is(c.read('bob', { type: 'event.show', eventId: reading }).event.status, 'pending');

  c.ok('alice', { type: 'user.delete' });
  const told = purgeNotices(c, 'alice');
  t.true(told.includes(`bob confirmed ${reading}`));
  t.true(told.includes(`carol confirmed ${reading}`));
  t.true(told.includes('bob member_left book-club alice'));
  t.is(c.read('carol', { type: 'event.show', eventId: reading }).event.status, 'confirmed');
  t.deepEqual(
    c.read('bob', { type: 'group.show', group: 'book-club' }).group.members.map((m) => m.username),
    ['bob', 'carol'],
  );
});

test('her groups: an owned one passes to the highest-ranked member, one she was alone in dissolves, invitations and blocks go', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob', 'carol', 'dave', 'erin');
  c.ok('alice', { type: 'group.create', name: 'team', kind: 'hierarchical' });
  for (const [who, level] of [
    ['carol', 2],
    ['bob', 2],
    ['dave', 3],
  ] as const) {
    c.ok('alice', { type: 'group.addMember', group: 'team', username: who, level });
    c.ok(who, { type: 'group.join', group: 'team' });
  }
  // Alone in a group with an event still tied to it (Bob's, who left), and an invitation out.
  c.ok('alice', { type: 'group.create', name: 'solo', kind: 'flat' });
  c.ok('alice', { type: 'group.addMember', group: 'solo', username: 'bob' });
  c.ok('bob', { type: 'group.join', group: 'solo' });
  const tied = c.ok('bob', { type: 'event.create', draft: draft('Duet'), group: 'solo' }).event.id;
  c.ok('bob', { type: 'group.leave', group: 'solo' });
  c.ok('alice', { type: 'group.addMember', group: 'solo', username: 'erin' });
  // Erin's group invites her; she blocks Dave's.
  c.ok('erin', { type: 'group.create', name: 'choir', kind: 'flat' });
  c.ok('erin', { type: 'group.addMember', group: 'choir', username: 'alice' });
  c.ok('dave', { type: 'group.create', name: 'spam', kind: 'flat' });
  c.ok('alice', { type: 'group.decline', group: 'spam', block: true });

  const deleted = c.send('alice', { type: 'user.delete' });
  if (!deleted.ok) throw new Error(deleted.error.message);
  t.is(deleted.result.removed.groupInvitationsDeclined, 1);
  t.deepEqual(
    deleted.notifications.filter((n) => n.to === 'erin'),
    [
      {
        kind: 'group',
        to: 'erin',
        change: 'invitation_declined',
        group: 'choir',
        member: 'alice',
        by: 'alice',
      },
    ],
  );
  const told = purgeNotices(c, 'alice');
  t.true(told.includes('bob owner_changed team bob'));
  t.true(told.includes('erin invitation_withdrawn solo erin'));

  // Bob and Carol were both at level 2: the first name takes the group, at level 0.
  const team = c.read('carol', { type: 'group.show', group: 'team' }).group;
  t.is(team.owner, 'bob');
  t.deepEqual(
    team.members.map((m) => `${m.username}:${String(m.level)}`),
    ['bob:0', 'carol:2', 'dave:3'],
  );
  // The new owner runs it.
  c.ok('bob', { type: 'group.changeLevel', group: 'team', username: 'carol', level: 1 });
  // Solo dissolved: nobody can join it, and a new group of that name inherits nothing.
  t.is(c.refused('erin', { type: 'group.join', group: 'solo' }).code, 'not_found');
  c.ok('erin', { type: 'group.create', name: 'solo', kind: 'flat' });
  c.ok('erin', { type: 'group.addMember', group: 'solo', username: 'carol' });
  c.ok('carol', { type: 'group.join', group: 'solo' });
  t.deepEqual(c.read('carol', { type: 'invitation.list' }).invitations, []);
  t.is(c.read('bob', { type: 'event.show', eventId: tied }).event.group, null);
  // Dave's group may invite the name no more than anyone: it is nobody's.
  t.is(
    c.refused('dave', { type: 'group.addMember', group: 'spam', username: 'alice' }).code,
    'not_found',
  );
  t.deepEqual(await rowsNaming(c, 'alice'), NOTHING);
});

test('a large account is removed in bounded batches, each entry within the budget, and nothing is left', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob');
  // 1,200 events of hers, 300 of Bob's she is on, 150 groups she is alone in with events
  // tied to one of them beyond a page.
  for (let chunk = 0; chunk < 6; chunk += 1) {
    c.ok(
      'alice',
      {
        type: 'event.import',
        allowConflict: true,
        events: Array.from({ length: 200 }, (_, i) => ({
          uid: `uid-${chunk}-${i}`,
          draft: draft(`Imported ${chunk}-${i}`, TOMORROW + (chunk * 200 + i) * HOUR),
        })),
      },
      { ids: Array.from({ length: 200 }, (_, i) => `imp-${chunk}-${i}`) },
    );
  }
  for (let i = 0; i < 300; i += 1) {
    c.ok('bob', {
      type: 'event.create',
      draft: draft(`Bob ${i}`, TOMORROW + i * HOUR),
      with: ['alice'],
      allowConflict: true,
    });
  }
  for (let i = 0; i < 150; i += 1) {
    c.ok('alice', { type: 'group.create', name: `g-${i}`, kind: 'flat' });
  }
  for (let i = 0; i < GROUP_EVENTS_PER_BATCH + 20; i += 1) {
    c.ok('alice', {
      type: 'event.create',
      draft: draft(`Group ${i}`, TOMORROW + i * HOUR),
      group: 'g-0',
      allowConflict: true,
    });
  }
  c.ok('alice', { type: 'user.delete' });

  const entrySizes: number[] = [];
  const removed = { eventsDeleted: 0, eventsLeft: 0, groupsDissolved: 0 };
  for (let i = 0; i < 100; i += 1) {
    const command = c.command(null, { type: 'user.purge', username: 'alice' });
    const decided = c.store.decide(command);
    if (decided.kind !== 'effect') throw new Error('a purge was answered without the log');
    const effect = parseEffect(JSON.parse(new TextDecoder().decode(decided.entry)));
    entrySizes.push(decided.entry.length);
    // The budget bounds what an entry writes, stamps and tells, give or take its last item.
    t.true(effect.writes.length + effect.stamps.length <= 2 * ACCOUNT_PURGE_BUDGET + 50);
    const [result] = c.store.apply([
      { index: c.store.appliedIndex() + 1, term: 1, data: decided.entry },
    ]);
    if (result === undefined || !result.ok) throw new Error('a purge failed');
    const batch = result.result as CommandResults['user.purge'];
    removed.eventsDeleted += batch.removed.eventsDeleted;
    removed.eventsLeft += batch.removed.eventsLeft;
    removed.groupsDissolved += batch.removed.groupsDissolved;
    if (batch.done) break;
  }
  t.log(`${entrySizes.length} batches of ${entrySizes.join(', ')} bytes`);
  t.true(entrySizes.length >= 3, `${entrySizes.length} batches`);
  t.deepEqual(removed, {
    eventsDeleted: 1200 + GROUP_EVENTS_PER_BATCH + 20,
    eventsLeft: 300,
    groupsDissolved: 150,
  });
  t.true(Math.max(...entrySizes) < 1_000_000, `largest entry ${Math.max(...entrySizes)} bytes`);
  t.deepEqual(await rowsNaming(c, 'alice'), NOTHING);
  t.is(c.read('bob', { type: 'event.list', ...WEEK }).events.length > 0, true);
});

test('a group event scheduled while her data is being removed is found by a later batch', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob');
  c.ok('bob', { type: 'group.create', name: 'team', kind: 'hierarchical' });
  c.ok('bob', { type: 'group.addMember', group: 'team', username: 'alice', level: 1 });
  c.ok('alice', { type: 'group.join', group: 'team' });
  c.ok('alice', { type: 'user.delete' });
  // Still a member until a batch takes her out: Bob's event is imposed on her row.
  const imposed = c.ok('bob', { type: 'event.create', draft: draft('All hands'), group: 'team' });
  t.deepEqual(imposed.imposedConflicts, []);
  purgeAll(c, 'alice');
  t.deepEqual(
    c
      .read('bob', { type: 'event.show', eventId: imposed.event.id })
      .event.attendees.map((a) => a.username),
    ['bob'],
  );
  t.deepEqual(await rowsNaming(c, 'alice'), NOTHING);
});

test('a decision taken before the deletion applied is decided again, and refused', async (t) => {
  const store = await openStore();
  const c = new StoreClient(store);
  c.register('alice', 'bob');
  // Alice's event is decided, then her deletion goes into the log first.
  const create = store.decide(c.command('alice', { type: 'event.create', draft: draft('Late') }));
  const remove = store.decide(c.command('alice', { type: 'user.delete' }));
  if (create.kind !== 'effect' || remove.kind !== 'effect') throw new Error('expected effects');
  const [deleted, late] = store.apply([
    { index: store.appliedIndex() + 1, term: 1, data: remove.entry },
    { index: store.appliedIndex() + 2, term: 1, data: create.entry },
  ]);
  t.true(deleted?.ok);
  t.true(late?.ok === false && late.stale === true);
});
