import test from 'ava';
import { Conflict, Forbidden, InvalidInput, NotFound } from '../../contract/errors.js';
import {
  cancelEvent,
  cancelOccurrence,
  createEvent,
  listEvents,
  showEvent,
  updateEvent,
  updateOccurrence,
} from './events.js';
import type { CreateEventCommand, UpdateOccurrenceCommand } from './events.js';
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
import type { CalendarEvent, Notification } from './types.js';
import {
  MAX_DETACHED_ANSWERED_WITH_SERIES,
  MAX_DETACHED_CANCELLED_WITH_SERIES,
  MAX_DETACHED_PER_SERIES,
  MAX_EXCEPTIONS,
} from '../../contract/limits.js';

const now = at('2025-06-01T00:00:00Z');
const corp = group('corp', 'hierarchical', { boss: 0, manager: 1, manager2: 1, dev: 2 });
const club = group('club', 'flat', { olga: 0, pete: 0, quinn: 0 });
const slot = { start: at('2025-06-02T09:00:00Z'), end: at('2025-06-02T10:00:00Z') };

function create(world: World, command: Omit<CreateEventCommand, 'now'>) {
  return createEvent(
    { now, ...command },
    {
      existingUsers: new Set(world.users.keys()),
      group: command.group === undefined ? undefined : groupOf(world, command.group),
      events: recordsOf(world),
    },
  );
}

function told(notifications: readonly Notification[]): string[] {
  return notifications.map((n) => `${n.to}:${n.change}`).sort();
}

test('a personal event is confirmed and accepted for its organizer', (t) => {
  const world = worldWith([], [], ['alice']);
  const d = create(world, { actor: 'alice', eventId: 'e1', draft: { title: 'Dentist', ...slot } });
  t.like(d.result.event, {
    id: 'e1',
    title: 'Dentist',
    status: 'confirmed',
    myStatus: 'accepted',
    organizer: 'alice',
    group: null,
    conflict: false,
    start: '2025-06-02T09:00:00.000Z',
    end: '2025-06-02T10:00:00.000Z',
  });
  t.deepEqual(told(d.notifications), ['alice:created']);
  const after = commit(world, d);
  t.is(statusOf(after, 'e1', 'alice'), 'accepted');
});

test('an appointment is confirmed for the organizer and pending for each invitee', (t) => {
  const world = worldWith([], [], ['alice', 'bob', 'carol']);
  const d = create(world, {
    actor: 'alice',
    eventId: 'e1',
    draft: { title: 'Coffee', ...slot },
    with: ['bob', 'carol', 'bob'],
  });
  const after = commit(world, d);
  t.is(after.events.get('e1')?.status, 'confirmed');
  t.is(statusOf(after, 'e1', 'alice'), 'accepted');
  t.is(statusOf(after, 'e1', 'bob'), 'pending');
  t.is(statusOf(after, 'e1', 'carol'), 'pending');
  t.deepEqual(told(d.notifications), ['alice:created', 'bob:invited', 'carol:invited']);
});

test('a refusal of unknown invitees names no one, so it tells no one which names exist', (t) => {
  const world = worldWith([corp], [], ['alice']);
  const refusal = (invited: string[]) =>
    t.throws(() =>
      create(world, {
        actor: 'alice',
        eventId: 'e',
        draft: { title: 'x', ...slot },
        with: invited,
      }),
    );
  // dev exists and ghost does not; ghost2 and ghost3 neither.
  const existing = refusal(['dev', 'ghost']);
  const unknown = refusal(['ghost2', 'ghost']);
  t.true(existing instanceof NotFound);
  t.is(existing?.message, unknown?.message);
  t.is(existing?.message, refusal(['ghost3'])?.message);
  t.notRegex(existing?.message ?? '', /dev|ghost/);
});

test('appointments refuse unknown people, yourself, and a group at the same time', (t) => {
  const world = worldWith([corp], [], ['alice']);
  t.throws(
    () =>
      create(world, {
        actor: 'alice',
        eventId: 'e',
        draft: { title: 'x', ...slot },
        with: ['ghost'],
      }),
    { instanceOf: NotFound },
  );
  t.throws(
    () =>
      create(world, {
        actor: 'alice',
        eventId: 'e',
        draft: { title: 'x', ...slot },
        with: ['alice'],
      }),
    { instanceOf: InvalidInput },
  );
  t.throws(
    () =>
      create(world, {
        actor: 'boss',
        eventId: 'e',
        draft: { title: 'x', ...slot },
        with: ['dev'],
        group: 'corp',
      }),
    { instanceOf: InvalidInput },
  );
});

test('a hierarchical group event is imposed below the organizer and an invitation at or above', (t) => {
  // dev already has something at that time: the imposition goes ahead and is flagged.
  const busy = record({ id: 'busy', organizer: 'dev', ...slot });
  const world = worldWith([corp], [busy]);
  const d = create(world, {
    actor: 'manager',
    eventId: 'e1',
    draft: { title: 'Sprint review', ...slot },
    group: 'corp',
  });
  const after = commit(world, d);
  t.is(after.events.get('e1')?.status, 'confirmed');
  t.is(statusOf(after, 'e1', 'manager'), 'accepted');
  t.is(statusOf(after, 'e1', 'dev'), 'accepted', 'ranked below: accepted at once');
  t.is(statusOf(after, 'e1', 'boss'), 'pending', 'ranked above: invited');
  t.is(statusOf(after, 'e1', 'manager2'), 'pending', 'same rank: invited');
  t.deepEqual(d.result.imposedConflicts, ['dev']);
  t.deepEqual(told(d.notifications), [
    'boss:invited',
    'dev:imposed',
    'manager2:invited',
    'manager:created',
  ]);
  t.deepEqual(d.result.event.group, 'corp');
  // The imposed conflict shows up in dev's list.
  const listed = listEvents(
    { actor: 'dev', from: at('2025-06-02T00:00:00Z'), to: at('2025-06-03T00:00:00Z') },
    { events: recordsOf(after) },
  );
  t.deepEqual(
    listed.map((e) => [e.id, e.conflict]),
    [
      ['busy', true],
      ['e1', true],
    ],
  );
});

test('a flat group event is pending until everyone answers', (t) => {
  const world = worldWith([club]);
  const after = commit(
    world,
    create(world, {
      actor: 'olga',
      eventId: 'e1',
      draft: { title: 'Dinner', ...slot },
      group: 'club',
    }),
  );
  t.is(after.events.get('e1')?.status, 'pending');
  t.is(statusOf(after, 'e1', 'pete'), 'pending');
  t.is(after.events.get('e1')?.group?.kind, 'flat');
});

test('group events need an existing group and a member organizer', (t) => {
  const world = worldWith([corp], [], ['stranger']);
  t.throws(
    () =>
      create(world, { actor: 'boss', eventId: 'e', draft: { title: 'x', ...slot }, group: 'nope' }),
    { instanceOf: NotFound },
  );
  t.throws(
    () =>
      create(world, {
        actor: 'stranger',
        eventId: 'e',
        draft: { title: 'x', ...slot },
        group: 'corp',
      }),
    { instanceOf: Forbidden },
  );
});

test('creating over your own commitments is refused with the list, unless allowed', (t) => {
  const world = worldWith(
    [],
    [
      record({ id: 'lunch', title: 'Lunch', start: at('2025-06-02T09:30:00Z') }),
      record({ id: 'maybe', start: at('2025-06-02T09:00:00Z') }, {}),
      record({ id: 'gone', start: at('2025-06-02T09:00:00Z'), status: 'cancelled' }),
      record({ id: 'adjacent', start: at('2025-06-02T10:00:00Z') }),
    ],
  );
  // "maybe" is organized by alice too, so it is a commitment: remove it to test pending.
  const world2 = {
    ...world,
    attendees: world.attendees.map((a) =>
      a.eventId === 'maybe' ? { ...a, status: 'pending' as const } : a,
    ),
  };
  const error = t.throws(() =>
    create(world2, { actor: 'alice', eventId: 'e1', draft: { title: 'x', ...slot } }),
  );
  t.true(error instanceof Conflict);
  t.deepEqual((error as Conflict).conflicts, [
    {
      id: 'lunch',
      title: 'Lunch',
      start: '2025-06-02T09:30:00.000Z',
      end: '2025-06-02T10:30:00.000Z',
    },
  ]);
  t.regex(error.message, /"Lunch"/);
  const d = create(world2, {
    actor: 'alice',
    eventId: 'e1',
    draft: { title: 'x', ...slot },
    allowConflict: true,
  });
  t.true(d.result.event.conflict);
  t.is(d.result.conflicts.length, 1);
});

test('a recurring event conflicts through its occurrences, across a DST change', (t) => {
  // Weekly 09:00 Madrid from March; a one-off at 07:00Z on 7 April is 09:00 CEST.
  const weekly = record({
    id: 'weekly',
    title: 'Weekly',
    start: at('2025-03-17T08:00:00Z'),
    end: at('2025-03-17T09:00:00Z'),
    timeZone: 'Europe/Madrid',
    recurrence: { rule: { freq: 'WEEKLY', interval: 1 }, exceptions: [] },
  });
  const world = worldWith([], [weekly]);
  const march = at('2025-03-01T00:00:00Z');
  const clash = () =>
    createEvent(
      {
        actor: 'alice',
        eventId: 'x',
        now: march,
        draft: { title: 'x', start: at('2025-04-07T07:00:00Z'), end: at('2025-04-07T07:30:00Z') },
      },
      { existingUsers: new Set(), group: undefined, events: recordsOf(world) },
    );
  const error = t.throws(clash, { instanceOf: Conflict });
  t.deepEqual(
    error.conflicts.map((c) => c.start),
    ['2025-04-07T07:00:00.000Z'],
  );
  // 08:00Z that day is 10:00 in Madrid: free, although it was the meeting's UTC time in winter.
  t.notThrows(() =>
    createEvent(
      {
        actor: 'alice',
        eventId: 'y',
        now: march,
        draft: { title: 'y', start: at('2025-04-07T08:00:00Z'), end: at('2025-04-07T08:30:00Z') },
      },
      { existingUsers: new Set(), group: undefined, events: recordsOf(world) },
    ),
  );
});

test('the organizer updates; a new time asks every invitee who answered again, imposed ones stay', (t) => {
  const hier = { name: 'corp', kind: 'hierarchical' } as const;
  const world = worldWith(
    [corp],
    [
      record(
        { id: 'e1', organizer: 'manager', ...slot, group: hier },
        { boss: 'accepted', manager2: 'declined', dev: ['accepted', 'imposed'] },
      ),
    ],
  );
  const context = {
    record: recordOf(world, 'e1'),
    existingUsers: new Set(world.users.keys()),
    events: recordsOf(world),
  };
  const renamed = updateEvent(
    { actor: 'manager', eventId: 'e1', now, changes: { title: 'Renamed' } },
    context,
  );
  const w1 = commit(world, renamed);
  t.is(w1.events.get('e1')?.title, 'Renamed');
  t.is(w1.events.get('e1')?.revision, 1);
  t.is(statusOf(w1, 'e1', 'boss'), 'accepted', 'a new title does not reopen answers');
  t.deepEqual(told(renamed.notifications), ['boss:updated', 'dev:updated', 'manager:updated']);

  const moved = updateEvent(
    { actor: 'manager', eventId: 'e1', now, changes: { start: at('2025-06-03T09:00:00Z') } },
    context,
  );
  const w2 = commit(world, moved);
  t.is(w2.events.get('e1')?.end, at('2025-06-03T10:00:00Z'), 'moving the start keeps the duration');
  t.is(statusOf(w2, 'e1', 'boss'), 'pending');
  t.is(statusOf(w2, 'e1', 'dev'), 'accepted');
  // Their no was about the old time too: the new one may suit them, so they are invited again.
  t.is(statusOf(w2, 'e1', 'manager2'), 'pending');
  t.deepEqual(told(moved.notifications), [
    'boss:updated',
    'dev:updated',
    'manager2:invited',
    'manager:updated',
  ]);

  t.deepEqual(
    updateEvent({ actor: 'manager', eventId: 'e1', now, changes: { title: 'e1' } }, context)
      .mutations,
    [],
    'no change, no write',
  );
  t.throws(
    () => updateEvent({ actor: 'boss', eventId: 'e1', now, changes: { title: 'Mine' } }, context),
    { instanceOf: Forbidden },
  );
  t.throws(
    () =>
      updateEvent({ actor: 'stranger', eventId: 'e1', now, changes: { title: 'Mine' } }, context),
    { instanceOf: NotFound },
  );
  t.throws(
    () =>
      // An end at the start would make it an instant; one before it is no event.
      updateEvent(
        { actor: 'manager', eventId: 'e1', now, changes: { end: slot.start - 60_000 } },
        context,
      ),
    { instanceOf: InvalidInput },
  );
  t.throws(
    () =>
      updateEvent(
        { actor: 'manager', eventId: 'e1', now, changes: {}, invite: ['boss2'] },
        context,
      ),
    { instanceOf: NotFound },
  );
});

test('moving a flat-group event makes it wait for everyone again', (t) => {
  const flat = { name: 'club', kind: 'flat' } as const;
  const world = worldWith(
    [club],
    [
      record(
        { id: 'e1', organizer: 'olga', ...slot, group: flat },
        { pete: 'accepted', quinn: 'accepted' },
      ),
    ],
  );
  const d = updateEvent(
    { actor: 'olga', eventId: 'e1', now, changes: { start: at('2025-06-05T09:00:00Z') } },
    { record: recordOf(world, 'e1'), existingUsers: new Set(), events: recordsOf(world) },
  );
  const after = commit(world, d);
  t.is(after.events.get('e1')?.status, 'pending');
  t.is(statusOf(after, 'e1', 'pete'), 'pending');
});

test('updates can invite more people to an appointment, and refuse a clashing new time', (t) => {
  const world = worldWith(
    [],
    [
      record({ id: 'e1', ...slot }),
      record({ id: 'other', title: 'Other', start: at('2025-06-03T09:00:00Z') }),
    ],
    ['bob'],
  );
  const context = {
    record: recordOf(world, 'e1'),
    existingUsers: new Set(world.users.keys()),
    events: recordsOf(world),
  };
  const invited = updateEvent(
    { actor: 'alice', eventId: 'e1', now, changes: {}, invite: ['bob'] },
    context,
  );
  t.is(statusOf(commit(world, invited), 'e1', 'bob'), 'pending');
  t.true(
    invited.notifications.some(
      (n) => n.to === 'bob' && n.kind === 'event' && n.change === 'invited',
    ),
  );
  t.throws(
    () =>
      updateEvent(
        { actor: 'alice', eventId: 'e1', now, changes: { start: at('2025-06-03T09:30:00Z') } },
        context,
      ),
    { instanceOf: Conflict },
  );
  t.notThrows(() =>
    updateEvent(
      {
        actor: 'alice',
        eventId: 'e1',
        now,
        changes: { start: at('2025-06-03T09:30:00Z') },
        allowConflict: true,
      },
      context,
    ),
  );
});

test('cancelling tells everyone who has not declined; only the organizer may', (t) => {
  const world = worldWith(
    [],
    [record({ id: 'e1', ...slot }, { bob: 'accepted', carol: 'pending', dan: 'declined' })],
  );
  const d = cancelEvent(
    { actor: 'alice', eventId: 'e1', now },
    { record: recordOf(world, 'e1'), detached: [] },
  );
  t.is(commit(world, d).events.get('e1')?.status, 'cancelled');
  t.deepEqual(told(d.notifications), ['alice:cancelled', 'bob:cancelled', 'carol:cancelled']);
  t.throws(
    () =>
      cancelEvent(
        { actor: 'bob', eventId: 'e1', now },
        { record: recordOf(world, 'e1'), detached: [] },
      ),
    { instanceOf: Forbidden, message: /decline/ },
  );
  const again = cancelEvent(
    { actor: 'alice', eventId: 'e1', now },
    { record: recordOf(commit(world, d), 'e1'), detached: [] },
  );
  t.deepEqual(again.mutations, []);
  t.throws(
    () =>
      updateEvent(
        { actor: 'alice', eventId: 'e1', now, changes: { title: 'z' } },
        { record: recordOf(commit(world, d), 'e1'), existingUsers: new Set(), events: [] },
      ),
    { instanceOf: InvalidInput, message: /cancelled/ },
  );
});

test('one occurrence of a series can be cancelled', (t) => {
  const daily = record({
    id: 'd',
    start: at('2025-06-02T09:00:00Z'),
    recurrence: { rule: { freq: 'DAILY', interval: 1, count: 5 }, exceptions: [] },
  });
  const world = worldWith([], [daily]);
  const d = cancelOccurrence(
    { actor: 'alice', eventId: 'd', occurrenceStart: at('2025-06-03T09:00:00Z'), now },
    { record: recordOf(world, 'd') },
  );
  const after = commit(world, d);
  const listed = listEvents(
    { actor: 'alice', from: at('2025-06-01T00:00:00Z'), to: at('2025-06-10T00:00:00Z') },
    { events: recordsOf(after) },
  );
  t.deepEqual(
    listed.map((e) => e.start.slice(0, 10)),
    ['2025-06-02', '2025-06-04', '2025-06-05', '2025-06-06'],
  );
  t.true(listed.every((e) => e.id === 'd' && e.recurrence === 'FREQ=DAILY;COUNT=5'));
  t.throws(
    () =>
      cancelOccurrence(
        { actor: 'alice', eventId: 'd', occurrenceStart: at('2025-06-03T10:00:00Z'), now },
        { record: recordOf(world, 'd') },
      ),
    { instanceOf: NotFound },
  );
});

test('moving a whole series moves its exceptions with it: a cancelled occurrence stays cancelled', (t) => {
  const weekly = record({
    id: 'w',
    start: at('2027-03-01T08:00:00Z'),
    end: at('2027-03-01T09:00:00Z'),
    timeZone: 'Europe/Paris',
    recurrence: { rule: { freq: 'WEEKLY', interval: 1, count: 6 }, exceptions: [] },
  });
  const world = worldWith([], [weekly]);
  // The third Monday, 15 March, is cancelled; then every occurrence moves to 10:00 the next
  // day (Tuesday), across the switch to summer time on 28 March.
  const cancelled = commit(
    world,
    cancelOccurrence(
      { actor: 'alice', eventId: 'w', occurrenceStart: at('2027-03-15T08:00:00Z'), now },
      { record: recordOf(world, 'w') },
    ),
  );
  const moved = commit(
    cancelled,
    updateEvent(
      { actor: 'alice', eventId: 'w', now, changes: { start: at('2027-03-02T09:00:00Z') } },
      { record: recordOf(cancelled, 'w'), existingUsers: new Set(), events: [] },
    ),
  );
  const listed = listEvents(
    { actor: 'alice', from: at('2027-02-01T00:00:00Z'), to: at('2027-05-01T00:00:00Z') },
    { events: recordsOf(moved) },
  );
  t.deepEqual(
    listed.map((e) => e.start),
    [
      // 10:00 in Paris: +01:00 until 28 March, +02:00 after.
      '2027-03-02T09:00:00.000Z',
      '2027-03-09T09:00:00.000Z',
      '2027-03-23T09:00:00.000Z',
      '2027-03-30T08:00:00.000Z',
      '2027-04-06T08:00:00.000Z',
    ],
  );
});

test('a series moved with as many exceptions as it may hold keeps every one of them', (t) => {
  const day = 86_400_000;
  const first = at('2025-06-02T09:00:00Z');
  const full = record({
    id: 'd',
    start: first,
    end: first + 15 * 60_000,
    timeZone: 'America/New_York',
    recurrence: {
      rule: { freq: 'DAILY', interval: 1, count: MAX_EXCEPTIONS + 10 },
      exceptions: Array.from({ length: MAX_EXCEPTIONS }, (_, i) => first + i * day),
    },
  });
  const world = worldWith([], [full]);
  const moved = commit(
    world,
    updateEvent(
      { actor: 'alice', eventId: 'd', now, changes: { start: first + 3 * 3_600_000 } },
      { record: recordOf(world, 'd'), existingUsers: new Set(), events: [] },
    ),
  );
  const after = recordOf(moved, 'd')?.event.recurrence;
  t.is(after?.exceptions.length, MAX_EXCEPTIONS);
  // Only the ten days no exception removed are left (a list spans at most a year: its last
  // one, past the switches to and from daylight saving time).
  const listed = listEvents(
    { actor: 'alice', from: first + 700 * day, to: first + (MAX_EXCEPTIONS + 20) * day },
    { events: recordsOf(moved) },
  );
  t.is(listed.length, 10);
});

test('a series holds at most MAX_EXCEPTIONS cancelled or changed occurrences', (t) => {
  const day = 86_400_000;
  const first = at('2025-06-02T09:00:00Z');
  const daily = (exceptions: number[]) =>
    record({
      id: 'd',
      start: first,
      recurrence: { rule: { freq: 'DAILY', interval: 1, count: MAX_EXCEPTIONS + 10 }, exceptions },
    });
  const world = worldWith(
    [],
    [daily(Array.from({ length: MAX_EXCEPTIONS }, (_, i) => first + i * day))],
  );
  const next = first + MAX_EXCEPTIONS * day;
  t.throws(
    () =>
      cancelOccurrence(
        { actor: 'alice', eventId: 'd', occurrenceStart: next, now },
        { record: recordOf(world, 'd') },
      ),
    { instanceOf: InvalidInput, message: /the most one may have/ },
  );
  const roomy = worldWith([], [daily([])]);
  t.notThrows(() =>
    cancelOccurrence(
      { actor: 'alice', eventId: 'd', occurrenceStart: next, now },
      { record: recordOf(roomy, 'd') },
    ),
  );
});

/** A daily 09:00 series of five, organized by alice with bob invited and dev imposed. */
function dailyWorld(answers: Record<string, 'accepted' | 'pending' | 'declined'> = {}) {
  const daily = record(
    {
      id: 'd',
      title: 'Standup',
      start: at('2025-06-02T09:00:00Z'),
      end: at('2025-06-02T09:15:00Z'),
      visibility: 'private',
      reminders: [5],
      recurrence: { rule: { freq: 'DAILY', interval: 1, count: 5 }, exceptions: [] },
    },
    { bob: answers.bob ?? 'accepted', dev: ['accepted', 'imposed'], eve: 'declined' },
  );
  return worldWith([], [daily], ['bob', 'dev', 'eve']);
}

/**
 * What the store tells a change of one occurrence of `seriesId` starting at `start` about
 * the series' occurrences changed on their own: how many are live, and which one that
 * occurrence became (if it did).
 */
function occurrenceContext(world: World, seriesId: string, start: number) {
  const live = recordsOf(world).filter(
    (r) => r.event.detachedFrom?.seriesId === seriesId && r.event.status !== 'cancelled',
  );
  return {
    record: recordOf(world, seriesId),
    detachedThere: live.find((r) => r.event.detachedFrom?.occurrenceStart === start)?.event.id,
    detachedCount: live.length,
  };
}

function changeOccurrence(
  world: ReturnType<typeof dailyWorld>,
  command: Partial<UpdateOccurrenceCommand> & Pick<UpdateOccurrenceCommand, 'changes'>,
) {
  const full = {
    actor: 'alice',
    eventId: 'd',
    occurrenceStart: at('2025-06-03T09:00:00Z'),
    newEventId: 'x',
    now,
    ...command,
  };
  return updateOccurrence(full, {
    ...occurrenceContext(world, full.eventId, full.occurrenceStart),
    events: recordsOf(world),
  });
}

test('one occurrence changed on its own leaves the series and keeps what the series had', (t) => {
  const world = dailyWorld();
  const d = changeOccurrence(world, { changes: { title: 'Standup (demo)', location: 'Room 4' } });
  const after = commit(world, d);
  t.deepEqual(after.events.get('d')?.recurrence?.exceptions, [at('2025-06-03T09:00:00Z')]);
  t.is(after.events.get('d')?.revision, 1);
  t.like(after.events.get('x'), {
    title: 'Standup (demo)',
    location: 'Room 4',
    start: at('2025-06-03T09:00:00Z'),
    end: at('2025-06-03T09:15:00Z'),
    recurrence: null,
    visibility: 'private',
    reminders: [5],
    organizer: 'alice',
    status: 'confirmed',
    revision: 0,
    detachedFrom: { seriesId: 'd', occurrenceStart: at('2025-06-03T09:00:00Z') },
  });
  // The time did not change, so every answer stands.
  t.is(statusOf(after, 'x', 'bob'), 'accepted');
  t.is(statusOf(after, 'x', 'dev'), 'accepted');
  t.is(statusOf(after, 'x', 'eve'), 'declined');
  t.like(d.result, { conflicts: [], imposedConflicts: [] });
  t.is(d.result.event.id, 'x');
  t.deepEqual(told(d.notifications), ['alice:updated', 'bob:updated', 'dev:updated']);
  const listed = listEvents(
    { actor: 'bob', from: at('2025-06-01T00:00:00Z'), to: at('2025-06-10T00:00:00Z') },
    { events: recordsOf(after) },
  );
  t.deepEqual(
    listed.map((e) => `${e.start.slice(0, 10)} ${e.id} ${e.title}`),
    [
      '2025-06-02 d Standup',
      '2025-06-03 x Standup (demo)',
      '2025-06-04 d Standup',
      '2025-06-05 d Standup',
      '2025-06-06 d Standup',
    ],
  );
});

test('moving one occurrence asks every invitee who answered again, as moving an event does', (t) => {
  const world = dailyWorld();
  const d = changeOccurrence(world, { changes: { start: at('2025-06-03T14:00:00Z') } });
  const after = commit(world, d);
  t.like(after.events.get('x'), {
    start: at('2025-06-03T14:00:00Z'),
    end: at('2025-06-03T14:15:00Z'),
  });
  t.is(statusOf(after, 'x', 'bob'), 'pending');
  t.is(statusOf(after, 'x', 'eve'), 'pending', 'her no was about 09:00');
  t.is(statusOf(after, 'x', 'dev'), 'accepted');
  t.is(statusOf(after, 'x', 'alice'), 'accepted');
  // The series keeps bob's yes and eve's no for its other occurrences.
  t.is(statusOf(after, 'd', 'bob'), 'accepted');
  t.is(statusOf(after, 'd', 'eve'), 'declined');
  t.deepEqual(told(d.notifications), [
    'alice:updated',
    'bob:updated',
    'dev:updated',
    'eve:invited',
  ]);
});

test('a moved occurrence meets the same conflict rules as a moved event', (t) => {
  const lunch = record({
    id: 'lunch',
    start: at('2025-06-03T12:00:00Z'),
    end: at('2025-06-03T13:00:00Z'),
  });
  const world = worldWith([], [...recordsOf(dailyWorld()), lunch], ['bob', 'dev', 'eve']);
  const clash = () => changeOccurrence(world, { changes: { start: at('2025-06-03T12:30:00Z') } });
  const error = t.throws(clash, { instanceOf: Conflict });
  t.deepEqual(
    error.conflicts.map((c) => c.id),
    ['lunch'],
  );
  const allowed = changeOccurrence(world, {
    changes: { start: at('2025-06-03T12:30:00Z') },
    allowConflict: true,
  });
  t.deepEqual(
    allowed.result.conflicts.map((c) => c.id),
    ['lunch'],
  );
  t.true(allowed.result.event.conflict);
  // The occurrence does not collide with its own former place in the series, but does with
  // the series' next occurrence.
  t.notThrows(() => changeOccurrence(world, { changes: { start: at('2025-06-03T09:10:00Z') } }));
  t.throws(() => changeOccurrence(world, { changes: { start: at('2025-06-04T09:05:00Z') } }), {
    instanceOf: Conflict,
  });
});

test('changing one occurrence needs the organizer, a series, and an occurrence starting then', (t) => {
  const world = dailyWorld();
  t.throws(() => changeOccurrence(world, { actor: 'bob', changes: { title: 'Mine' } }), {
    instanceOf: Forbidden,
  });
  t.throws(
    () =>
      changeOccurrence(world, {
        occurrenceStart: at('2025-06-03T10:00:00Z'),
        changes: { title: 'Later' },
      }),
    { instanceOf: NotFound, message: /no occurrence starting at 2025-06-03T10:00:00.000Z/ },
  );
  t.throws(() => changeOccurrence(world, { eventId: 'nope', changes: {} }), {
    instanceOf: NotFound,
  });
  t.throws(() => changeOccurrence(world, { changes: { recurrence: 'FREQ=WEEKLY' } }), {
    instanceOf: InvalidInput,
  });
  // An occurrence already taken out (cancelled, or changed on its own) is not there any more.
  const once = commit(world, changeOccurrence(world, { changes: { title: 'Once' } }));
  t.throws(() => changeOccurrence(once, { newEventId: 'y', changes: { title: 'Twice' } }), {
    instanceOf: NotFound,
  });
  const single = worldWith([], [record({ id: 'd', start: at('2025-06-03T09:00:00Z') })]);
  t.throws(() => changeOccurrence(single, { changes: { title: 'One-off' } }), {
    instanceOf: InvalidInput,
    message: /does not repeat/,
  });
});

test('an occurrence changed on its own already is refused naming the event it became, to change or cancel there', (t) => {
  const world = dailyWorld();
  const start = at('2025-06-03T09:00:00Z');
  const moved = commit(
    world,
    changeOccurrence(world, { changes: { start: at('2025-06-03T15:00:00Z') } }),
  );
  const again = t.throws(
    () => changeOccurrence(moved, { newEventId: 'y', changes: { title: 'Twice' } }),
    { instanceOf: NotFound },
  );
  t.is(
    again.message,
    'the occurrence starting at 2025-06-03T09:00:00.000Z was already changed on its own: it is now event x',
  );
  t.is(again.detachedEventId, 'x');
  t.deepEqual(again.toWire().details, { detachedEventId: 'x' });
  const cancelling = t.throws(
    () =>
      cancelOccurrence(
        { actor: 'alice', eventId: 'd', occurrenceStart: start, now },
        occurrenceContext(moved, 'd', start),
      ),
    { instanceOf: NotFound },
  );
  t.is(cancelling.detachedEventId, 'x');

  // Once that event is cancelled too, nothing is left to point to.
  const gone = commit(
    moved,
    cancelEvent(
      { actor: 'alice', eventId: 'x', now },
      {
        record: recordOf(moved, 'x'),
        detached: [],
      },
    ),
  );
  const none = t.throws(
    () => changeOccurrence(gone, { newEventId: 'y', changes: { title: 'Twice' } }),
    { instanceOf: NotFound },
  );
  t.regex(none.message, /no longer in the series: it was cancelled, or changed on its own$/);
  t.is(none.detachedEventId, undefined);
  // An occurrence cancelled on its own says so as well; a start the rule never had does not.
  const fourth = at('2025-06-04T09:00:00Z');
  const cancelled = commit(
    world,
    cancelOccurrence(
      { actor: 'alice', eventId: 'd', occurrenceStart: fourth, now },
      occurrenceContext(world, 'd', fourth),
    ),
  );
  t.throws(
    () => changeOccurrence(cancelled, { occurrenceStart: fourth, changes: { title: 'x' } }),
    {
      instanceOf: NotFound,
      message: /no longer in the series/,
    },
  );
  t.throws(
    () =>
      changeOccurrence(world, {
        occurrenceStart: at('2025-06-04T10:00:00Z'),
        changes: { title: 'x' },
      }),
    { instanceOf: NotFound, message: /^the event has no occurrence starting at/ },
  );
});

test('a series has at most MAX_DETACHED_PER_SERIES occurrences changed on their own', (t) => {
  const world = dailyWorld();
  const command = {
    actor: 'alice',
    eventId: 'd',
    occurrenceStart: at('2025-06-03T09:00:00Z'),
    newEventId: 'x',
    now,
    changes: { title: 'One more' },
  };
  const context = { record: recordOf(world, 'd'), events: recordsOf(world) };
  t.notThrows(() =>
    updateOccurrence(command, { ...context, detachedCount: MAX_DETACHED_PER_SERIES - 1 }),
  );
  const error = t.throws(
    () => updateOccurrence(command, { ...context, detachedCount: MAX_DETACHED_PER_SERIES }),
    { instanceOf: InvalidInput },
  );
  t.is(error.field, 'occurrence');
  t.regex(
    error.message,
    new RegExp(
      `^${MAX_DETACHED_PER_SERIES} occurrences of this series are changed on their own already, .*: cancel some of them, or change the whole series$`,
    ),
  );
  // The bound is what cancelling or answering the series can take along with it.
  t.true(MAX_DETACHED_PER_SERIES <= MAX_DETACHED_CANCELLED_WITH_SERIES);
  t.true(MAX_DETACHED_PER_SERIES <= MAX_DETACHED_ANSWERED_WITH_SERIES);
});

/** The events of `world` detached from the series `seriesId`, as the store finds them. */
function detachedFrom(world: World, seriesId: string) {
  return recordsOf(world).filter((r) => r.event.detachedFrom?.seriesId === seriesId);
}

test('cancelling a series cancels the occurrences changed on its own with it, and tells their attendees', (t) => {
  const world = dailyWorld();
  const once = commit(world, changeOccurrence(world, { changes: { title: 'Demo' } }));
  const twice = commit(
    once,
    changeOccurrence(once, {
      occurrenceStart: at('2025-06-05T09:00:00Z'),
      newEventId: 'y',
      changes: { start: at('2025-06-05T15:00:00Z') },
    }),
  );
  const d = cancelEvent(
    { actor: 'alice', eventId: 'd', now },
    { record: recordOf(twice, 'd'), detached: detachedFrom(twice, 'd') },
  );
  const after = commit(twice, d);
  t.deepEqual(
    ['d', 'x', 'y'].map((id) => after.events.get(id)?.status),
    ['cancelled', 'cancelled', 'cancelled'],
  );
  t.is(after.events.get('x')?.revision, 1);
  t.is(d.result.id, 'd');
  // Every attendee who has not declined hears of each: eve declined the series and the
  // occurrence changed in place; bob and eve, asked again about the moved one, have not.
  t.deepEqual(
    d.notifications.map((n) => (n.kind === 'event' ? `${n.to}:${n.change}:${n.eventId}` : '')),
    [
      'alice:cancelled:d',
      'bob:cancelled:d',
      'dev:cancelled:d',
      'alice:cancelled:x',
      'bob:cancelled:x',
      'dev:cancelled:x',
      'alice:cancelled:y',
      'bob:cancelled:y',
      'dev:cancelled:y',
      'eve:cancelled:y',
    ],
  );
  t.deepEqual(
    listEvents(
      { actor: 'bob', from: at('2025-06-01T00:00:00Z'), to: at('2025-06-10T00:00:00Z') },
      { events: recordsOf(after) },
    ).filter((e) => e.status !== 'cancelled'),
    [],
  );
});

test('only the whole series takes its detached occurrences along, and only live ones', (t) => {
  const world = dailyWorld();
  const once = commit(world, changeOccurrence(world, { changes: { title: 'Demo' } }));
  // Cancelling another occurrence leaves the detached one alone, as before.
  const occurrence = commit(
    once,
    cancelOccurrence(
      { actor: 'alice', eventId: 'd', occurrenceStart: at('2025-06-04T09:00:00Z'), now },
      { record: recordOf(once, 'd') },
    ),
  );
  t.is(occurrence.events.get('x')?.status, 'confirmed');
  // So does cancelling the detached event on its own: the series stays.
  const alone = commit(
    once,
    cancelEvent(
      { actor: 'alice', eventId: 'x', now },
      { record: recordOf(once, 'x'), detached: detachedFrom(once, 'x') },
    ),
  );
  t.is(alone.events.get('x')?.status, 'cancelled');
  t.is(alone.events.get('d')?.status, 'confirmed');
  // A detached event already cancelled is not cancelled again, nor its attendees told.
  const d = cancelEvent(
    { actor: 'alice', eventId: 'd', now },
    { record: recordOf(alone, 'd'), detached: detachedFrom(alone, 'd') },
  );
  t.deepEqual(
    d.mutations.map((m) => (m.kind === 'updateEvent' ? m.event.id : m.kind)),
    ['d'],
  );
  t.true(d.notifications.every((n) => n.kind === 'event' && n.eventId === 'd'));
  // Events detached from another series are none of this one's.
  const other = record({
    id: 'z',
    start: at('2025-06-03T12:00:00Z'),
    detachedFrom: { seriesId: 'other', occurrenceStart: at('2025-06-03T12:00:00Z') },
  });
  const ignored = cancelEvent(
    { actor: 'alice', eventId: 'd', now },
    { record: recordOf(once, 'd'), detached: [...detachedFrom(once, 'd'), other] },
  );
  t.deepEqual(
    ignored.mutations.map((m) => (m.kind === 'updateEvent' ? m.event.id : m.kind)),
    ['d', 'x'],
  );
});

test('cancelling a series checks the detached occurrences as cancelling each would, and bounds them', (t) => {
  const world = dailyWorld();
  const series = { record: recordOf(world, 'd') };
  const detached = (id: string, fields: Partial<CalendarEvent> = {}) =>
    record(
      {
        id,
        start: at('2025-06-03T09:00:00Z'),
        detachedFrom: { seriesId: 'd', occurrenceStart: at('2025-06-03T09:00:00Z') },
        ...fields,
      },
      fields.organizer === undefined ? {} : { alice: 'accepted' },
    );
  // One organized by someone else cannot come from detaching, but would not be cancelled.
  t.throws(
    () =>
      cancelEvent(
        { actor: 'alice', eventId: 'd', now },
        { ...series, detached: [detached('z', { organizer: 'bob' })] },
      ),
    { instanceOf: Forbidden },
  );
  const many = Array.from({ length: MAX_DETACHED_CANCELLED_WITH_SERIES + 1 }, (_, i) =>
    detached(`x${i}`),
  );
  t.notThrows(() =>
    cancelEvent({ actor: 'alice', eventId: 'd', now }, { ...series, detached: many.slice(1) }),
  );
  t.throws(
    () => cancelEvent({ actor: 'alice', eventId: 'd', now }, { ...series, detached: many }),
    { instanceOf: InvalidInput, message: /cancel some of them first/ },
  );
});

test('a flat-group occurrence that moves waits for everyone again', (t) => {
  const series = record(
    {
      id: 'd',
      organizer: 'olga',
      start: at('2025-06-02T18:00:00Z'),
      group: { name: 'club', kind: 'flat' },
      recurrence: { rule: { freq: 'WEEKLY', interval: 1 }, exceptions: [] },
    },
    { pete: 'accepted', quinn: 'accepted' },
  );
  const world = worldWith([club], [series]);
  const d = updateOccurrence(
    {
      actor: 'olga',
      eventId: 'd',
      occurrenceStart: at('2025-06-09T18:00:00Z'),
      newEventId: 'x',
      now,
      changes: { start: at('2025-06-09T19:00:00Z') },
    },
    { record: recordOf(world, 'd'), events: recordsOf(world), detachedCount: 0 },
  );
  const after = commit(world, d);
  t.is(after.events.get('x')?.status, 'pending');
  t.deepEqual(after.events.get('x')?.group, { name: 'club', kind: 'flat' });
  t.is(after.events.get('d')?.status, 'confirmed');
});

test('lists show every event you are on, with your answer and conflicts', (t) => {
  const world = worldWith(
    [],
    [
      record({ id: 'mine', organizer: 'bob', start: at('2025-06-02T09:00:00Z') }),
      record({ id: 'invite', start: at('2025-06-02T09:30:00Z') }, { bob: 'pending' }),
      record({ id: 'no', start: at('2025-06-02T09:00:00Z') }, { bob: 'declined' }),
      record(
        { id: 'off', start: at('2025-06-02T09:00:00Z'), status: 'cancelled' },
        { bob: 'accepted' },
      ),
      record({ id: 'later', start: at('2025-06-02T15:00:00Z') }, { bob: 'accepted' }),
      record({ id: 'not-bobs', start: at('2025-06-02T09:00:00Z') }),
    ],
  );
  const listed = listEvents(
    { actor: 'bob', from: at('2025-06-02T00:00:00Z'), to: at('2025-06-03T00:00:00Z') },
    { events: recordsOf(world) },
  );
  t.deepEqual(
    listed.map((e) => [e.id, e.status, e.myStatus, e.conflict]),
    [
      ['mine', 'confirmed', 'accepted', false], // the overlapping invitation is not accepted
      ['no', 'confirmed', 'declined', false],
      ['off', 'cancelled', 'accepted', false],
      ['invite', 'confirmed', 'pending', true],
      ['later', 'confirmed', 'accepted', false],
    ],
  );
});

test('show gives attendees to people on the list only', (t) => {
  const world = worldWith([], [record({ id: 'e1', ...slot }, { bob: 'pending' })]);
  const shown = showEvent(
    { actor: 'bob', eventId: 'e1', now },
    { record: recordOf(world, 'e1'), events: recordsOf(world) },
  );
  t.deepEqual(shown.attendees, [
    { username: 'alice', status: 'accepted', role: 'organizer' },
    { username: 'bob', status: 'pending', role: 'invitee' },
  ]);
  t.is(shown.myStatus, 'pending');
  t.throws(
    () =>
      showEvent(
        { actor: 'eve', eventId: 'e1', now },
        { record: recordOf(world, 'e1'), events: [] },
      ),
    { instanceOf: NotFound },
  );
  t.throws(
    () => showEvent({ actor: 'bob', eventId: 'e2', now }, { record: undefined, events: [] }),
    { instanceOf: NotFound },
  );
});
