import test from 'ava';
import { Conflict, Forbidden, InvalidInput, NotFound } from '../../contract/errors.js';
import { createEvent } from './events.js';
import { acceptInvitation, declineInvitation, listInvitations } from './invitations.js';
import {
  at,
  commit,
  group,
  groupOf,
  record,
  recordOf,
  recordsOf,
  statusOf,
  worldWith,
} from './test-fixtures.js';
import type { World } from './test-fixtures.js';
import type { Notification } from './types.js';

const now = at('2025-06-01T00:00:00Z');
const slot = { start: at('2025-06-02T09:00:00Z'), end: at('2025-06-02T10:00:00Z') };
const club = group('club', 'flat', { olga: 0, pete: 0, quinn: 0 });

function accept(world: World, actor: string, eventId: string, allowConflict = false) {
  return acceptInvitation(
    { actor, eventId, now, allowConflict },
    { record: recordOf(world, eventId), events: recordsOf(world) },
  );
}
function decline(world: World, actor: string, eventId: string) {
  return declineInvitation({ actor, eventId, now }, { record: recordOf(world, eventId) });
}
function told(notifications: readonly Notification[]): string[] {
  return notifications.map((n) => `${n.to}:${n.change}`).sort();
}

function flatMeeting(): World {
  const world = worldWith([club]);
  return commit(
    world,
    createEvent(
      { actor: 'olga', eventId: 'dinner', now, draft: { title: 'Dinner', ...slot }, group: 'club' },
      { existingUsers: new Set(), group: groupOf(world, 'club'), events: [] },
    ),
  );
}

test('accepting an appointment tells the organizer', (t) => {
  const world = worldWith([], [record({ id: 'e1', ...slot }, { bob: 'pending' })]);
  const d = accept(world, 'bob', 'e1');
  t.is(statusOf(commit(world, d), 'e1', 'bob'), 'accepted');
  t.deepEqual(told(d.notifications), ['alice:accepted', 'bob:accepted']);
  t.is(d.result.myStatus, 'accepted');
  t.deepEqual(
    accept(commit(world, d), 'bob', 'e1').mutations,
    [],
    'accepting twice changes nothing',
  );
});

test('accepting over your commitments is refused with the list, unless allowed', (t) => {
  const world = worldWith(
    [],
    [
      record({ id: 'e1', ...slot }, { bob: 'pending' }),
      record({ id: 'gym', title: 'Gym', organizer: 'bob', start: at('2025-06-02T09:59:00Z') }),
    ],
  );
  const error = t.throws(() => accept(world, 'bob', 'e1'), { instanceOf: Conflict });
  t.deepEqual(
    error.conflicts.map((c) => c.id),
    ['gym'],
  );
  const d = accept(world, 'bob', 'e1', true);
  t.true(d.result.conflict);
  t.is(statusOf(commit(world, d), 'e1', 'bob'), 'accepted');
});

test('accepting again answers the conflict an accepted event still has', (t) => {
  const world = worldWith(
    [],
    [
      record({ id: 'e1', ...slot }, { bob: 'pending' }),
      record({ id: 'gym', title: 'Gym', organizer: 'bob', start: at('2025-06-02T09:59:00Z') }),
    ],
  );
  const accepted = commit(world, accept(world, 'bob', 'e1', true));
  // Accepted over the gym with allowConflict; a repeat without it changes nothing, is not
  // refused, and must not say that the event is clear.
  const again = accept(accepted, 'bob', 'e1');
  t.deepEqual(again.mutations, []);
  t.true(again.result.conflict);
  t.is(again.result.myStatus, 'accepted');
});

test('a flat-group event is confirmed when the last member accepts, and everyone hears it', (t) => {
  let world = flatMeeting();
  const first = accept(world, 'pete', 'dinner');
  world = commit(world, first);
  t.is(world.events.get('dinner')?.status, 'pending');
  t.deepEqual(told(first.notifications), ['olga:accepted', 'pete:accepted', 'quinn:accepted']);
  const last = accept(world, 'quinn', 'dinner');
  world = commit(world, last);
  t.is(world.events.get('dinner')?.status, 'confirmed');
  t.true(
    ['olga', 'pete', 'quinn'].every((u) =>
      last.notifications.some((n) => n.to === u && n.kind === 'event' && n.change === 'confirmed'),
    ),
  );
});

test('declining in a flat group cancels the event for everyone, and everyone is told', (t) => {
  let world = flatMeeting();
  world = commit(world, accept(world, 'pete', 'dinner'));
  const d = decline(world, 'quinn', 'dinner');
  world = commit(world, d);
  t.is(world.events.get('dinner')?.status, 'cancelled');
  t.is(statusOf(world, 'dinner', 'quinn'), 'declined');
  for (const member of ['olga', 'pete', 'quinn']) {
    t.true(
      d.notifications.some(
        (n) => n.to === member && n.kind === 'event' && n.change === 'cancelled',
      ),
      member,
    );
  }
  t.throws(() => accept(world, 'pete', 'dinner'), {
    instanceOf: InvalidInput,
    message: /cancelled/,
  });
});

test('a confirmed flat-group event is still cancelled by a later decline', (t) => {
  let world = flatMeeting();
  world = commit(world, accept(world, 'pete', 'dinner'));
  world = commit(world, accept(world, 'quinn', 'dinner'));
  t.is(world.events.get('dinner')?.status, 'confirmed');
  world = commit(world, decline(world, 'pete', 'dinner'));
  t.is(world.events.get('dinner')?.status, 'cancelled');
});

test('declining an appointment leaves it standing for the others', (t) => {
  const world = worldWith(
    [],
    [record({ id: 'e1', ...slot }, { bob: 'pending', carol: 'accepted' })],
  );
  const d = decline(world, 'bob', 'e1');
  const after = commit(world, d);
  t.is(after.events.get('e1')?.status, 'confirmed');
  t.deepEqual(told(d.notifications), ['alice:declined', 'bob:declined']);
  t.is(
    statusOf(commit(after, accept(after, 'bob', 'e1')), 'e1', 'bob'),
    'accepted',
    'people may change their mind',
  );
});

test('an event imposed by a superior cannot be declined', (t) => {
  const world = worldWith(
    [],
    [
      record(
        { id: 'e1', organizer: 'boss', ...slot, group: { name: 'corp', kind: 'hierarchical' } },
        { dev: ['accepted', 'imposed'] },
      ),
    ],
  );
  t.throws(() => decline(world, 'dev', 'e1'), { instanceOf: Forbidden, message: /superior boss/ });
});

test('organizers and strangers do not answer', (t) => {
  const world = worldWith([], [record({ id: 'e1', ...slot }, { bob: 'pending' })]);
  t.throws(() => accept(world, 'alice', 'e1'), { instanceOf: InvalidInput, message: /organize/ });
  t.throws(() => decline(world, 'eve', 'e1'), { instanceOf: NotFound });
  t.throws(() => accept(world, 'bob', 'nope'), { instanceOf: NotFound });
});

test('the invitation list holds what is still to answer, soonest first', (t) => {
  const world = worldWith(
    [],
    [
      record({ id: 'later', start: at('2025-06-09T09:00:00Z') }, { bob: 'pending' }),
      record({ id: 'soon', start: at('2025-06-02T09:00:00Z') }, { bob: 'pending' }),
      record({ id: 'past', start: at('2025-05-02T09:00:00Z') }, { bob: 'pending' }),
      record(
        { id: 'off', start: at('2025-06-03T09:00:00Z'), status: 'cancelled' },
        { bob: 'pending' },
      ),
      record({ id: 'answered', start: at('2025-06-04T09:00:00Z') }, { bob: 'accepted' }),
      record({ id: 'clash', organizer: 'bob', start: at('2025-06-09T09:30:00Z') }),
    ],
  );
  const list = listInvitations({ actor: 'bob', now }, { events: recordsOf(world) });
  t.deepEqual(
    list.map((i) => [i.id, i.conflict]),
    [
      ['soon', false],
      ['later', true],
    ],
  );
});
