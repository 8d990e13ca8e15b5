/** The rules of server/domain/accounts.ts: what becomes of what a deleted account leaves behind. */
import test from 'ava';
import { leaveEventOfDeletedAccount, leaveGroupOfDeletedAccount, successorOf } from './accounts.js';
import { at, group, record } from './test-fixtures.js';

const NOW = at('2026-03-02T12:00:00Z');
const LATER = at('2026-03-03T09:00:00Z');
const EARLIER = at('2026-02-20T09:00:00Z');
const alice = { username: 'alice', now: NOW };

test('an event only she is on goes; one with others is cancelled for them, unless it is over', (t) => {
  const alone = leaveEventOfDeletedAccount(alice, record({ id: 'e1', start: LATER }));
  t.is(alone.result, 'deleted');
  t.deepEqual(alone.mutations, [{ kind: 'deleteEvent', eventId: 'e1', group: null }]);

  const shared = leaveEventOfDeletedAccount(
    alice,
    record({ id: 'e2', start: LATER }, { bob: 'accepted', carol: 'declined' }),
  );
  t.is(shared.result, 'cancelled');
  t.like(shared.mutations[0], { kind: 'updateEvent', event: { status: 'cancelled', revision: 1 } });
  t.deepEqual(shared.mutations[1], { kind: 'deleteAttendee', eventId: 'e2', username: 'alice' });
  // Carol declined: only Bob is told.
  t.deepEqual(
    shared.notifications.map((n) => n.to),
    ['bob'],
  );

  const over = leaveEventOfDeletedAccount(
    alice,
    record({ id: 'e3', start: EARLIER }, { bob: 'accepted' }),
  );
  t.is(over.result, 'left');
  t.deepEqual(over.mutations, [{ kind: 'deleteAttendee', eventId: 'e3', username: 'alice' }]);
  t.deepEqual(over.notifications, []);
});

test("she leaves others' events; the organizer is told, and a flat-group event waiting only for her is confirmed", (t) => {
  const flat = record(
    {
      id: 'e4',
      start: LATER,
      organizer: 'bob',
      status: 'pending',
      group: { name: 'club', kind: 'flat' },
    },
    { alice: 'pending', carol: 'accepted' },
  );
  const left = leaveEventOfDeletedAccount(alice, flat);
  t.is(left.result, 'left');
  t.like(left.mutations[1], { kind: 'updateEvent', event: { status: 'confirmed' } });
  t.deepEqual(
    left.notifications.map((n) => (n.kind === 'event' ? `${n.to} ${n.change}` : '')),
    ['bob left', 'bob confirmed', 'carol confirmed'],
  );
  t.throws(
    () => leaveEventOfDeletedAccount(alice, record({ id: 'e5', start: LATER, organizer: 'bob' })),
    {
      message: /not on event e5/,
    },
  );
});

test('an owned group passes to the highest rank, then the first name; a flat one to the first name', (t) => {
  const team = group('team', 'hierarchical', { alice: 0, dave: 2, carol: 1, bob: 1 });
  t.is(successorOf(team, 'alice')?.username, 'bob');
  const club = group('club', 'flat', { alice: 0, erin: 0, dave: 0 });
  t.is(successorOf(club, 'alice')?.username, 'dave');
  const handed = leaveGroupOfDeletedAccount(alice, {
    group: team,
    groupEvents: [],
    moreGroupEvents: false,
  });
  t.is(handed.result, 'handed_over');
  t.deepEqual(handed.mutations, [
    { kind: 'updateGroup', group: { name: 'team', kind: 'hierarchical', owner: 'bob' } },
    { kind: 'putMembership', membership: { group: 'team', username: 'bob', level: 0 } },
    { kind: 'deleteMembership', group: 'team', username: 'alice' },
  ]);
});

test('a group she is the last member of unties its events a page at a time, then dissolves', (t) => {
  const solo = group('solo', 'flat', { alice: 0 });
  const events = [
    record({ id: 'e6', start: LATER, organizer: 'bob', group: { name: 'solo', kind: 'flat' } }),
  ];
  const first = leaveGroupOfDeletedAccount(alice, {
    group: solo,
    groupEvents: events,
    moreGroupEvents: true,
  });
  t.is(first.result, 'dissolving');
  t.deepEqual(
    first.mutations.map((m) => m.kind),
    ['updateEvent'],
  );
  const last = leaveGroupOfDeletedAccount(alice, {
    group: solo,
    groupEvents: events,
    moreGroupEvents: false,
  });
  t.is(last.result, 'dissolved');
  t.deepEqual(
    last.mutations.map((m) => m.kind),
    ['updateEvent', 'deleteMembership', 'deleteGroup'],
  );
  // Not a member: nothing to do.
  t.deepEqual(
    leaveGroupOfDeletedAccount(
      { username: 'zoe', now: NOW },
      { group: solo, groupEvents: [], moreGroupEvents: false },
    ).mutations,
    [],
  );
});
