import test from 'ava';
import { Conflict, Forbidden, InvalidInput, NotFound } from '../../contract/errors.js';
import { MAX_DETACHED_ANSWERED_WITH_SERIES } from '../../contract/limits.js';
import { createEvent, updateEvent, updateOccurrence } from './events.js';
import type { EventChanges } from './events.js';
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

// ---------------------------------------------------------------------------------------
// A series and its occurrences changed on their own.

const daily = { rule: { freq: 'DAILY', interval: 1, count: 5 }, exceptions: [] } as const;

/**
 * alice's daily standup (2–6 June, 09:00–09:15) with bob and eve still to answer; its 3 June
 * occurrence moved to 14:00 on its own (`moved`), its 4 June one renamed in place (`renamed`).
 */
function standupWorld(): World {
  const series = record(
    { id: 'd', title: 'Standup', start: at('2025-06-02T09:00:00Z'), recurrence: daily },
    { bob: 'pending', eve: 'pending' },
  );
  let world = worldWith([], [series], ['bob', 'eve']);
  const change = (occurrence: string, newEventId: string, changes: EventChanges) => {
    world = commit(
      world,
      updateOccurrence(
        { actor: 'alice', eventId: 'd', occurrenceStart: at(occurrence), newEventId, now, changes },
        { record: recordOf(world, 'd'), events: recordsOf(world), detachedCount: 0 },
      ),
    );
  };
  change('2025-06-03T09:00:00Z', 'moved', { start: at('2025-06-03T14:00:00Z') });
  change('2025-06-04T09:00:00Z', 'renamed', { title: 'Standup (demo)' });
  return world;
}

/** What the store hands an answer to `eventId`: the events detached from it. */
function answerTo(world: World, eventId: string) {
  return {
    record: recordOf(world, eventId),
    events: recordsOf(world),
    detached: recordsOf(world).filter((r) => r.event.detachedFrom?.seriesId === eventId),
  };
}
function acceptAll(world: World, actor: string, eventId: string, allowConflict = false) {
  return acceptInvitation({ actor, eventId, now, allowConflict }, answerTo(world, eventId));
}
function declineAll(world: World, actor: string, eventId: string) {
  return declineInvitation({ actor, eventId, now }, answerTo(world, eventId));
}
const answers = (world: World, who: string) =>
  ['d', 'moved', 'renamed'].map((id) => statusOf(world, id, who));

test("an answer to a series reaches its occurrences changed on their own, in the same decision, and each one's organizer hears of it", (t) => {
  const world = standupWorld();
  const d = acceptAll(world, 'bob', 'd');
  const after = commit(world, d);
  t.deepEqual(answers(after, 'bob'), ['accepted', 'accepted', 'accepted']);
  t.deepEqual(answers(after, 'eve'), ['pending', 'pending', 'pending'], 'eve answers for herself');
  t.is(d.result.id, 'd');
  t.is(d.result.myStatus, 'accepted');
  t.deepEqual(
    d.notifications.map((n) => (n.kind === 'event' ? `${n.to}:${n.change}:${n.eventId}` : '')),
    [
      'bob:accepted:d',
      'alice:accepted:d',
      'bob:accepted:moved',
      'alice:accepted:moved',
      'bob:accepted:renamed',
      'alice:accepted:renamed',
    ],
  );
  // Nothing the series' answer reaches is left: accepting again changes nothing.
  t.deepEqual(acceptAll(after, 'bob', 'd').mutations, []);

  const declined = commit(after, declineAll(after, 'bob', 'd'));
  t.deepEqual(answers(declined, 'bob'), ['declined', 'declined', 'declined']);
  // No row of theirs was marked as an answer of its own.
  t.false(declined.attendees.some((a) => a.ownAnswer === true));
});

test('an answer to one changed occurrence is for it alone, and stays when the series is answered later', (t) => {
  const world = standupWorld();
  const alone = declineInvitation(
    { actor: 'bob', eventId: 'moved', now },
    answerTo(world, 'moved'),
  );
  const w1 = commit(world, alone);
  t.deepEqual(answers(w1, 'bob'), ['pending', 'declined', 'pending'], 'the series is not touched');
  t.deepEqual(told(alone.notifications), ['alice:declined', 'bob:declined']);

  const w2 = commit(w1, acceptAll(w1, 'bob', 'd'));
  t.deepEqual(answers(w2, 'bob'), ['accepted', 'declined', 'accepted'], 'his no to 14:00 stays');
  const w3 = commit(w2, declineAll(w2, 'bob', 'd'));
  t.deepEqual(answers(w3, 'bob'), ['declined', 'declined', 'declined']);
  const w4 = commit(w3, acceptAll(w3, 'bob', 'd'));
  t.deepEqual(answers(w4, 'bob'), ['accepted', 'declined', 'accepted']);

  // An answer to an occurrence that was what the series' answer made it becomes its own,
  // without anyone being told anything new.
  const same = acceptInvitation({ actor: 'bob', eventId: 'renamed', now }, answerTo(w4, 'renamed'));
  t.deepEqual(same.notifications, []);
  const w5 = commit(w4, same);
  const w6 = commit(w5, declineAll(w5, 'bob', 'd'));
  t.deepEqual(answers(w6, 'bob'), ['declined', 'declined', 'accepted']);
  t.deepEqual(
    acceptInvitation({ actor: 'bob', eventId: 'renamed', now }, answerTo(w6, 'renamed')).mutations,
    [],
    'answering it alone again changes nothing',
  );
});

test('moving a changed occurrence asks again, and the answer it had alone is no longer its own', (t) => {
  const world = standupWorld();
  const w1 = commit(
    world,
    acceptInvitation({ actor: 'bob', eventId: 'moved', now }, answerTo(world, 'moved')),
  );
  const moved = updateEvent(
    {
      actor: 'alice',
      eventId: 'moved',
      now,
      changes: { start: at('2025-06-03T16:00:00Z') },
    },
    { record: recordOf(w1, 'moved'), existingUsers: new Set(), events: recordsOf(w1) },
  );
  const w2 = commit(w1, moved);
  t.is(statusOf(w2, 'moved', 'bob'), 'pending');
  t.false(w2.attendees.some((a) => a.ownAnswer === true));
  // The series' next answer reaches it again.
  const w3 = commit(w2, declineAll(w2, 'bob', 'd'));
  t.deepEqual(answers(w3, 'bob'), ['declined', 'declined', 'declined']);
});

test('accepting a series checks its changed occurrences for conflicts too, those not over', (t) => {
  const gym = record({
    id: 'gym',
    title: 'Gym',
    organizer: 'bob',
    start: at('2025-06-03T14:30:00Z'),
  });
  const base = standupWorld();
  const world = worldWith([], [...recordsOf(base), gym], ['bob', 'eve']);
  const error = t.throws(() => acceptAll(world, 'bob', 'd'), { instanceOf: Conflict });
  t.deepEqual(
    error.conflicts.map((c) => c.id),
    ['gym'],
  );
  t.regex(error.message, /changed on their own/);
  t.deepEqual(answers(world, 'bob'), ['pending', 'pending', 'pending']);

  const allowed = acceptAll(world, 'bob', 'd', true);
  t.true(allowed.result.conflict);
  t.deepEqual(answers(commit(world, allowed), 'bob'), ['accepted', 'accepted', 'accepted']);

  // Once the moved occurrence is over, what it overlapped no longer refuses the series.
  const later = at('2025-06-03T20:00:00Z');
  t.notThrows(() =>
    acceptInvitation({ actor: 'bob', eventId: 'd', now: later }, answerTo(world, 'd')),
  );
});

test('declining a series declines its changed occurrences as declining each would, in a flat group too', (t) => {
  const world = worldWith([club]);
  const withSeries = commit(
    world,
    createEvent(
      {
        actor: 'olga',
        eventId: 'weekly',
        now,
        draft: {
          title: 'Dinner',
          ...slot,
          recurrence: 'FREQ=WEEKLY;COUNT=4',
        },
        group: 'club',
      },
      { existingUsers: new Set(), group: groupOf(world, 'club'), events: [] },
    ),
  );
  const detached = commit(
    withSeries,
    updateOccurrence(
      {
        actor: 'olga',
        eventId: 'weekly',
        occurrenceStart: slot.start + 7 * 86_400_000,
        newEventId: 'special',
        now,
        changes: { title: 'Dinner (special)' },
      },
      { record: recordOf(withSeries, 'weekly'), events: recordsOf(withSeries), detachedCount: 0 },
    ),
  );
  const d = declineAll(detached, 'pete', 'weekly');
  const after = commit(detached, d);
  t.is(after.events.get('weekly')?.status, 'cancelled');
  t.is(after.events.get('special')?.status, 'cancelled');
  t.true(
    d.notifications.some((n) => n.kind === 'event' && n.to === 'quinn' && n.eventId === 'special'),
  );
});

test('a series with more changed occurrences than one answer may reach is refused, not answered in part', (t) => {
  const series = record(
    {
      id: 'd',
      start: at('2025-06-02T09:00:00Z'),
      recurrence: { rule: { freq: 'DAILY', interval: 1 }, exceptions: [] },
    },
    { bob: 'pending' },
  );
  const many = Array.from({ length: MAX_DETACHED_ANSWERED_WITH_SERIES + 1 }, (_, i) =>
    record(
      {
        id: `o${String(i).padStart(3, '0')}`,
        start: at('2025-06-02T09:00:00Z') + (i + 1) * 86_400_000,
        detachedFrom: {
          seriesId: 'd',
          occurrenceStart: at('2025-06-02T09:00:00Z') + (i + 1) * 86_400_000,
        },
      },
      { bob: 'pending' },
    ),
  );
  const world = worldWith([], [series, ...many], ['bob']);
  const error = t.throws(() => declineAll(world, 'bob', 'd'), { instanceOf: InvalidInput });
  t.regex(error.message, /more than 200 occurrences .* answer some of them on their own first/);
  // One of them answered on its own is out of the series' reach: the rest fit.
  const alone = commit(
    world,
    declineInvitation({ actor: 'bob', eventId: 'o000', now }, answerTo(world, 'o000')),
  );
  const d = declineAll(alone, 'bob', 'd');
  t.is(commit(alone, d).attendees.filter((a) => a.status === 'declined').length, 202);
});
