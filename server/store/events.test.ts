/**
 * Accounts, events, appointments and invitations through the store: the rows the domain
 * needs are loaded, its mutations applied, and later reads see them.
 */
import test from 'ava';
import { importICalendar } from '../domain/index.js';
import type { EventView } from '../domain/index.js';
import { DESCRIPTION_MAX_LENGTH, MAX_DETACHED_PER_SERIES } from '../../contract/limits.js';
import { at, DAY, HOUR, openStore, StoreClient } from './test-support.js';

const FEB = { from: at('2025-02-01T00:00:00Z'), to: at('2025-03-01T00:00:00Z') };

function oneHour(title: string, iso: string) {
  const start = at(iso);
  return { title, start, end: start + 3_600_000 };
}

const titles = (events: readonly EventView[]) => events.map((e) => e.title);

test('registering keeps the user and the hash the users service computed, for login', async (t) => {
  const c = new StoreClient(await openStore());
  t.deepEqual(
    c.ok(null, {
      type: 'user.register',
      username: 'alice',
      displayName: 'Alice Liddell',
      passwordHash: 'scrypt$16384$8$1$salt$hash',
    }),
    { user: { username: 'alice', displayName: 'Alice Liddell' } },
  );
  t.deepEqual(c.read(null, { type: 'user.lookup', username: 'alice' }), {
    user: { username: 'alice', displayName: 'Alice Liddell' },
    passwordHash: 'scrypt$16384$8$1$salt$hash',
    sessionGeneration: 0,
  });
  t.is(
    c.refused(null, { type: 'user.register', username: 'alice', passwordHash: 'x' }).code,
    'conflict',
  );
  t.is(
    c.refused(null, { type: 'user.register', username: 'Alice!', passwordHash: 'x' }).code,
    'invalid',
  );
  const missing = c.ask(null, { type: 'user.lookup', username: 'nobody' });
  t.false(missing.ok);
  if (!missing.ok) t.is(missing.error.code, 'not_found');
});

test('only registered users act: an unknown or missing actor is unauthenticated', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  const draft = oneHour('Standup', '2025-02-03T09:00:00Z');
  t.is(c.refused('mallory', { type: 'event.create', draft }).code, 'unauthenticated');
  t.is(c.refused(null, { type: 'event.create', draft }).code, 'unauthenticated');
  const read = c.ask('mallory', { type: 'event.list', ...FEB });
  t.false(read.ok);
  if (!read.ok) t.is(read.error.code, 'unauthenticated');
  t.deepEqual(c.read('alice', { type: 'event.list', ...FEB }), { events: [], next: null });
});

test('a personal event is stored, listed in its interval only, and refuses overlaps unless allowed', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  const created = c.ok(
    'alice',
    { type: 'event.create', draft: oneHour('Standup', '2025-02-03T09:00:00Z') },
    { ids: ['standup'] },
  );
  t.is(created.event.id, 'standup');
  t.is(created.event.status, 'confirmed');

  const clash = c.refused('alice', {
    type: 'event.create',
    draft: oneHour('Clash', '2025-02-03T09:30:00Z'),
  });
  t.is(clash.code, 'conflict');
  t.deepEqual(clash.code === 'conflict' ? clash.details.conflicts.map((x) => x.id) : [], [
    'standup',
  ]);

  const allowed = c.ok(
    'alice',
    {
      type: 'event.create',
      draft: oneHour('Clash', '2025-02-03T09:30:00Z'),
      allowConflict: true,
    },
    { ids: ['clash'] },
  );
  t.deepEqual(
    allowed.conflicts.map((x) => x.id),
    ['standup'],
  );

  const { events } = c.read('alice', { type: 'event.list', ...FEB });
  t.deepEqual(titles(events), ['Standup', 'Clash']);
  t.true(events.every((e) => e.conflict));
  t.deepEqual(c.read('alice', { type: 'event.list', from: FEB.to, to: FEB.to + 86_400_000 }), {
    events: [],
    next: null,
  });
  const { conflicts } = c.read('alice', { type: 'conflicts.list', ...FEB });
  t.is(conflicts.length, 1);
  t.is(conflicts[0]?.start, '2025-02-03T09:30:00.000Z');
  t.true(c.read('alice', { type: 'event.show', eventId: 'standup' }).event.conflict);
});

test('events longer than a day are found on every day they cover and conflict in their middle', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  const DAY = 86_400_000;
  // Exactly a day (the longest a start-indexed event may be), then three days, then 31.
  const day = at('2025-02-03T08:00:00Z');
  c.ok('alice', { type: 'event.create', draft: { title: 'Day', start: day, end: day + DAY } });
  const trip = at('2025-02-10T08:00:00Z');
  c.ok('alice', {
    type: 'event.create',
    draft: { title: 'Trip', start: trip, end: trip + 3 * DAY },
  });
  const leave = at('2025-03-01T00:00:00Z');
  c.ok('alice', {
    type: 'event.create',
    draft: { title: 'Leave', start: leave, end: leave + 31 * DAY },
  });
  const on = (iso: string) => {
    const from = at(iso);
    return titles(c.read('alice', { type: 'event.list', from, to: from + 3_600_000 }).events);
  };
  t.deepEqual(on('2025-02-04T07:00:00Z'), ['Day']);
  t.deepEqual(on('2025-02-04T08:00:00Z'), []);
  t.deepEqual(on('2025-02-12T12:00:00Z'), ['Trip']);
  t.deepEqual(on('2025-03-30T12:00:00Z'), ['Leave']);
  const clash = c.refused('alice', {
    type: 'event.create',
    draft: oneHour('Call from the hotel', '2025-02-12T20:00:00Z'),
  });
  t.is(clash.code, 'conflict');
  t.deepEqual(clash.code === 'conflict' ? clash.details.conflicts.map((x) => x.title) : [], [
    'Trip',
  ]);
  t.is(
    c.refused('alice', { type: 'event.create', draft: oneHour('Late', '2025-03-31T06:00:00Z') })
      .code,
    'conflict',
  );
});

test('an appointment invites people; their answers are stored and their conflicts checked', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob', 'carol');
  c.ok('carol', { type: 'event.create', draft: oneHour('Dentist', '2025-02-04T12:30:00Z') });
  const sent = c.send(
    'alice',
    {
      type: 'event.create',
      draft: oneHour('Lunch', '2025-02-04T12:00:00Z'),
      with: ['bob', ' carol'],
    },
    { ids: ['lunch'] },
  );
  t.true(sent.ok);
  if (sent.ok) {
    t.deepEqual(
      sent.notifications.map((n) => [n.to, n.kind === 'event' ? n.change : '']),
      [
        ['alice', 'created'],
        ['bob', 'invited'],
        ['carol', 'invited'],
      ],
    );
  }
  t.deepEqual(
    c.read('bob', { type: 'invitation.list' }).invitations.map((e) => e.id),
    ['lunch'],
  );
  // Carol's dentist overlaps: the invitation warns, accepting is refused unless allowed.
  const [carolsInvitation] = c.read('carol', { type: 'invitation.list' }).invitations;
  t.true(carolsInvitation?.conflict);
  t.is(c.refused('carol', { type: 'invitation.accept', eventId: 'lunch' }).code, 'conflict');
  t.true(
    c.ok('carol', { type: 'invitation.accept', eventId: 'lunch', allowConflict: true }).event
      .conflict,
  );
  // Accepting again without allowConflict changes nothing and still says it conflicts.
  t.true(c.ok('carol', { type: 'invitation.accept', eventId: 'lunch' }).event.conflict);

  const accepted = c.send('bob', { type: 'invitation.accept', eventId: 'lunch' });
  t.true(accepted.ok);
  if (accepted.ok) {
    t.is(accepted.result.event.myStatus, 'accepted');
    t.deepEqual(accepted.notifications.map((n) => n.to).sort(), ['alice', 'bob']);
  }
  t.deepEqual(c.read('bob', { type: 'invitation.list' }), {
    invitations: [],
    groupInvitations: [],
    next: null,
  });
  t.is(c.ok('bob', { type: 'invitation.decline', eventId: 'lunch' }).event.myStatus, 'declined');
  t.deepEqual(
    c.read('bob', { type: 'event.list', ...FEB }).events.map((e) => e.myStatus),
    ['declined'],
  );
  t.deepEqual(
    c
      .read('alice', { type: 'event.show', eventId: 'lunch' })
      .event.attendees.map((a) => `${a.username}:${a.status}`),
    ['alice:accepted', 'bob:declined', 'carol:accepted'],
  );

  t.is(
    c.refused('alice', {
      type: 'event.create',
      draft: oneHour('Ghosts', '2025-02-05T12:00:00Z'),
      with: ['nobody'],
    }).code,
    'not_found',
  );
  c.register('dave');
  t.is(c.refused('dave', { type: 'invitation.accept', eventId: 'lunch' }).code, 'not_found');
});

test('moving an event moves it in every attendee index and asks accepted invitees again', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob', 'dave');
  c.ok(
    'alice',
    { type: 'event.create', draft: oneHour('Review', '2025-02-10T10:00:00Z'), with: ['bob'] },
    { ids: ['review'] },
  );
  c.ok('bob', { type: 'invitation.accept', eventId: 'review' });
  c.ok('alice', { type: 'event.create', draft: oneHour('Busy', '2025-02-14T10:00:00Z') });

  t.is(
    c.refused('bob', { type: 'event.update', eventId: 'review', changes: { title: 'Mine' } }).code,
    'forbidden',
  );
  // Into the organizer's own commitments: refused (the store loaded the new window).
  t.is(
    c.refused('alice', {
      type: 'event.update',
      eventId: 'review',
      changes: { start: at('2025-02-14T10:30:00Z') },
    }).code,
    'conflict',
  );

  const moved = c.ok('alice', {
    type: 'event.update',
    eventId: 'review',
    changes: { start: at('2025-02-12T10:00:00Z') },
    invite: ['dave'],
  });
  t.is(moved.event.start, '2025-02-12T10:00:00.000Z');
  t.is(moved.event.revision, 1);
  const week = (iso: string) => ({ from: at(iso), to: at(iso) + 86_400_000 });
  for (const who of ['alice', 'bob', 'dave']) {
    t.deepEqual(c.read(who, { type: 'event.list', ...week('2025-02-10T00:00:00Z') }).events, []);
    t.deepEqual(
      titles(c.read(who, { type: 'event.list', ...week('2025-02-12T00:00:00Z') }).events),
      ['Review'],
      who,
    );
  }
  // Bob's yes was for another time; Dave is newly invited.
  t.deepEqual(
    c.read('bob', { type: 'invitation.list' }).invitations.map((e) => e.id),
    ['review'],
  );
  t.deepEqual(
    c.read('dave', { type: 'invitation.list' }).invitations.map((e) => e.id),
    ['review'],
  );
});

test('added occurrences (RDATE): listed, conflicting, moved with their series, cancelled and changed on their own', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  // Mondays 18:00 in Madrid, twice, and also Thursday the 13th.
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: {
        ...oneHour('Gym', '2025-02-03T17:00:00Z'),
        timeZone: 'Europe/Madrid',
        recurrence: 'FREQ=WEEKLY;COUNT=2',
        additions: [at('2025-02-13T17:00:00Z')],
      },
    },
    { ids: ['gym'] },
  );
  const list = () =>
    c
      .read('alice', { type: 'event.list', ...FEB })
      .events.map((e) => `${e.id} ${e.start.slice(5, 16)}`);
  t.deepEqual(list(), ['gym 02-03T17:00', 'gym 02-10T17:00', 'gym 02-13T17:00']);
  t.deepEqual(c.read('alice', { type: 'event.show', eventId: 'gym' }).event.alsoOn, [
    '2025-02-13T17:00:00.000Z',
  ]);
  // The added occurrence takes its hour like any other.
  t.is(
    c.refused('alice', { type: 'event.create', draft: oneHour('Call', '2025-02-13T17:30:00Z') })
      .code,
    'conflict',
  );
  // Moved an hour later, the series takes its added occurrence with it.
  c.ok('alice', {
    type: 'event.update',
    eventId: 'gym',
    changes: { start: at('2025-02-03T18:00:00Z') },
  });
  t.deepEqual(list(), ['gym 02-03T18:00', 'gym 02-10T18:00', 'gym 02-13T18:00']);
  // Changed on its own, it becomes an event of its own; cancelled, it is gone.
  c.ok(
    'alice',
    {
      type: 'event.updateOccurrence',
      eventId: 'gym',
      occurrenceStart: at('2025-02-13T18:00:00Z'),
      changes: { title: 'Gym (pool)' },
    },
    { ids: ['pool'] },
  );
  t.deepEqual(list(), ['gym 02-03T18:00', 'gym 02-10T18:00', 'pool 02-13T18:00']);
  c.ok('alice', {
    type: 'event.cancelOccurrence',
    eventId: 'gym',
    occurrenceStart: at('2025-02-10T18:00:00Z'),
  });
  t.deepEqual(list(), ['gym 02-03T18:00', 'pool 02-13T18:00']);
  // An update that drops them drops the occurrence.
  c.ok('alice', { type: 'event.update', eventId: 'gym', changes: { additions: [] } });
  t.false('alsoOn' in c.read('alice', { type: 'event.show', eventId: 'gym' }).event);
});

test('recurring events: occurrences listed, one cancelled, the series cancelled; endless series found years later', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  // Mondays 18:00 in Madrid (17:00 UTC in winter).
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: {
        ...oneHour('Gym', '2025-02-03T17:00:00Z'),
        timeZone: 'Europe/Madrid',
        recurrence: 'FREQ=WEEKLY;COUNT=4',
      },
    },
    { ids: ['gym'] },
  );
  const starts = () =>
    c.read('alice', { type: 'event.list', ...FEB }).events.map((e) => e.start.slice(0, 10));
  t.deepEqual(starts(), ['2025-02-03', '2025-02-10', '2025-02-17', '2025-02-24']);

  c.ok('alice', {
    type: 'event.cancelOccurrence',
    eventId: 'gym',
    occurrenceStart: at('2025-02-10T17:00:00Z'),
  });
  t.deepEqual(starts(), ['2025-02-03', '2025-02-17', '2025-02-24']);
  // The removed occurrence no longer blocks its hour.
  c.ok('alice', { type: 'event.create', draft: oneHour('Call', '2025-02-10T17:00:00Z') });

  t.is(c.ok('alice', { type: 'event.cancel', eventId: 'gym' }).event.status, 'cancelled');
  t.deepEqual(
    c
      .read('alice', { type: 'event.list', ...FEB })
      .events.filter((e) => e.id === 'gym')
      .map((e) => e.status),
    ['cancelled', 'cancelled', 'cancelled'],
  );

  c.ok('alice', {
    type: 'event.create',
    draft: { ...oneHour('Walk', '2025-02-01T07:00:00Z'), recurrence: 'FREQ=DAILY' },
  });
  const later = c.read('alice', {
    type: 'event.list',
    from: at('2027-06-07T00:00:00Z'),
    to: at('2027-06-14T00:00:00Z'),
  });
  t.deepEqual(titles(later.events), Array<string>(7).fill('Walk'));
});

/** Alice's gym, four Mondays at 17:00 from 3 February 2025, with `invitees`: event `gym`. */
function weeklyGym(c: StoreClient, invitees: string[]): void {
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: { ...oneHour('Gym', '2025-02-03T17:00:00Z'), recurrence: 'FREQ=WEEKLY;COUNT=4' },
      with: invitees,
    },
    { ids: ['gym'] },
  );
}

test('one occurrence changed on its own: the series loses it and a stored event of its own takes its place', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  c.register('bob');
  weeklyGym(c, ['bob']);
  c.ok('bob', { type: 'invitation.accept', eventId: 'gym' });
  c.ok('alice', { type: 'event.create', draft: oneHour('Call', '2025-02-10T19:00:00Z') });
  const listed = (who: string) =>
    c
      .read(who, { type: 'event.list', ...FEB })
      .events.map((e) => `${e.start.slice(0, 16)} ${e.id} ${e.title} ${e.myStatus}`);

  const occurrenceStart = at('2025-02-10T17:00:00Z');
  const renamed = c.ok(
    'alice',
    {
      type: 'event.updateOccurrence',
      eventId: 'gym',
      occurrenceStart,
      changes: { title: 'Gym (pool)' },
    },
    { ids: ['pool'] },
  );
  t.like(renamed.event, { id: 'pool', title: 'Gym (pool)', recurrence: null, revision: 0 });
  t.deepEqual(listed('bob'), [
    '2025-02-03T17:00 gym Gym accepted',
    '2025-02-10T17:00 pool Gym (pool) accepted',
    '2025-02-17T17:00 gym Gym accepted',
    '2025-02-24T17:00 gym Gym accepted',
  ]);
  t.deepEqual(c.read('alice', { type: 'event.show', eventId: 'gym' }).event.exceptions, [
    '2025-02-10T17:00:00.000Z',
  ]);

  // The occurrence is gone from the series: it cannot be taken out twice, and the refusal
  // names the event it became, where a change to it goes now (a cancellation too).
  t.deepEqual(
    c.refused('alice', {
      type: 'event.updateOccurrence',
      eventId: 'gym',
      occurrenceStart,
      changes: { title: 'Again' },
    }),
    {
      code: 'not_found',
      message:
        'the occurrence starting at 2025-02-10T17:00:00.000Z was already changed on its own: it is now event pool',
      details: { detachedEventId: 'pool' },
    },
  );
  t.like(c.refused('alice', { type: 'event.cancelOccurrence', eventId: 'gym', occurrenceStart }), {
    code: 'not_found',
    details: { detachedEventId: 'pool' },
  });
  // Moved onto the call, another occurrence is refused as a moved event is, unless allowed.
  const move = {
    type: 'event.updateOccurrence' as const,
    eventId: 'gym',
    occurrenceStart: at('2025-02-17T17:00:00Z'),
    changes: { start: at('2025-02-10T19:30:00Z') },
  };
  t.is(c.refused('alice', move).code, 'conflict');
  const moved = c.ok('alice', { ...move, allowConflict: true }, { ids: ['moved'] });
  t.deepEqual(
    moved.conflicts.map((x) => x.title),
    ['Call'],
  );
  t.is(c.read('bob', { type: 'event.show', eventId: 'moved' }).event.myStatus, 'pending');
  t.is(
    c.refused('alice', {
      type: 'event.updateOccurrence',
      eventId: 'moved',
      occurrenceStart: at('2025-02-10T19:30:00Z'),
      changes: { title: 'x' },
    }).code,
    'invalid',
  );
  t.is(
    c.refused('bob', {
      type: 'event.updateOccurrence',
      eventId: 'gym',
      occurrenceStart: at('2025-02-24T17:00:00Z'),
      changes: { title: 'x' },
    }).code,
    'forbidden',
  );
});

test('a series moved takes the occurrences changed on their own along: they stay where they are and still belong to it', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  c.register('bob');
  weeklyGym(c, ['bob']);
  const renamed = {
    type: 'event.updateOccurrence' as const,
    eventId: 'gym',
    occurrenceStart: at('2025-02-10T17:00:00Z'),
    changes: { title: 'Gym (pool)' },
  };
  c.ok('alice', renamed, { ids: ['pool'] });
  // The whole series two hours later: its exception goes to 19:00, and the pool with it.
  c.ok('alice', {
    type: 'event.update',
    eventId: 'gym',
    changes: { start: at('2025-02-03T19:00:00Z') },
  });
  const pool = c.read('alice', { type: 'event.show', eventId: 'pool' }).event;
  t.like(pool, { start: '2025-02-10T17:00:00.000Z', title: 'Gym (pool)', status: 'confirmed' });
  t.deepEqual(c.read('alice', { type: 'event.show', eventId: 'gym' }).event.exceptions, [
    '2025-02-10T19:00:00.000Z',
  ]);
  // Changing that occurrence again still names the event it became.
  t.like(c.refused('alice', { ...renamed, occurrenceStart: at('2025-02-10T19:00:00Z') }), {
    code: 'not_found',
    details: { detachedEventId: 'pool' },
  });
  // An answer to the series still reaches it, and cancelling the series takes it along.
  c.ok('bob', { type: 'invitation.accept', eventId: 'gym' });
  t.is(c.read('bob', { type: 'event.show', eventId: 'pool' }).event.myStatus, 'accepted');
  c.ok('alice', { type: 'event.cancel', eventId: 'gym' });
  t.is(c.read('alice', { type: 'event.show', eventId: 'pool' }).event.status, 'cancelled');
});

test("a series' occurrences changed on their own are bounded when decided: one more is refused, cancelling one makes room", async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  const first = at('2025-02-03T17:00:00Z');
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: {
        ...oneHour('Gym', '2025-02-03T17:00:00Z'),
        recurrence: `FREQ=DAILY;COUNT=${MAX_DETACHED_PER_SERIES + 5}`,
      },
    },
    { ids: ['gym'] },
  );
  const change = (day: number) => ({
    type: 'event.updateOccurrence' as const,
    eventId: 'gym',
    occurrenceStart: first + day * DAY,
    changes: { title: `Gym ${day}` },
  });
  for (let day = 0; day < MAX_DETACHED_PER_SERIES; day++) {
    c.ok('alice', change(day), { ids: [`own-${day}`] });
  }
  const refused = c.refused('alice', change(MAX_DETACHED_PER_SERIES), { ids: ['one-more'] });
  t.is(refused.code, 'invalid');
  t.regex(refused.message, /changed on their own already, the most one series may have/);
  // Nothing of it was written: the series keeps that occurrence, and no event took its place.
  const show = c.read('alice', { type: 'event.show', eventId: 'gym' }).event;
  t.is(show.exceptions.length, MAX_DETACHED_PER_SERIES);
  t.is(c.ask('alice', { type: 'event.show', eventId: 'one-more' }).ok, false);
  // The series can still be cancelled whole, so no more may be detached; one cancelled on
  // its own leaves room for another.
  c.ok('alice', { type: 'event.cancel', eventId: 'own-0' });
  t.like(c.ok('alice', change(MAX_DETACHED_PER_SERIES), { ids: ['one-more'] }).event, {
    id: 'one-more',
  });
});

test('a series moved with the most occurrences changed on their own it may have takes every one along', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  const first = at('2025-02-03T17:00:00Z');
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: {
        ...oneHour('Gym', '2025-02-03T17:00:00Z'),
        recurrence: `FREQ=DAILY;COUNT=${MAX_DETACHED_PER_SERIES + 5}`,
      },
    },
    { ids: ['gym'] },
  );
  for (let day = 0; day < MAX_DETACHED_PER_SERIES; day++) {
    c.ok(
      'alice',
      {
        type: 'event.updateOccurrence',
        eventId: 'gym',
        occurrenceStart: first + day * DAY,
        changes: { title: `Gym ${day}` },
      },
      { ids: [`own-${day}`] },
    );
  }
  // Two hours later, every day: each exception moves, and its event's link with it.
  c.ok('alice', { type: 'event.update', eventId: 'gym', changes: { start: first + 2 * HOUR } });
  const show = c.read('alice', { type: 'event.show', eventId: 'gym' }).event;
  t.is(show.exceptions.length, MAX_DETACHED_PER_SERIES);
  for (let day = 0; day < MAX_DETACHED_PER_SERIES; day++) {
    const refused = c.refused('alice', {
      type: 'event.cancelOccurrence',
      eventId: 'gym',
      occurrenceStart: first + day * DAY + 2 * HOUR,
    });
    t.like(refused, { details: { detachedEventId: `own-${day}` } }, `day ${day}`);
  }
});

test('cancelling a series cancels its occurrences changed on their own in the same entry; one occurrence or one of them alone stays as it was', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob');
  weeklyGym(c, ['bob']);
  c.ok('bob', { type: 'invitation.accept', eventId: 'gym' });
  const detach = (iso: string, id: string, changes: { title?: string; start?: number }) =>
    c.ok(
      'alice',
      { type: 'event.updateOccurrence', eventId: 'gym', occurrenceStart: at(iso), changes },
      { ids: [id] },
    );
  detach('2025-02-10T17:00:00Z', 'pool', { title: 'Gym (pool)' });
  detach('2025-02-17T17:00:00Z', 'tuesday', { start: at('2025-02-18T17:00:00Z') });
  const listed = (who: string) =>
    c
      .read(who, { type: 'event.list', ...FEB })
      .events.map((e) => `${e.start.slice(0, 10)} ${e.id} ${e.status}`);

  // Cancelling one occurrence of the series leaves the changed ones alone.
  c.ok('alice', {
    type: 'event.cancelOccurrence',
    eventId: 'gym',
    occurrenceStart: at('2025-02-24T17:00:00Z'),
  });
  t.deepEqual(listed('bob'), [
    '2025-02-03 gym confirmed',
    '2025-02-10 pool confirmed',
    '2025-02-18 tuesday confirmed',
  ]);

  // Only the organizer cancels the series, and so its changed occurrences.
  t.is(c.refused('bob', { type: 'event.cancel', eventId: 'gym' }).code, 'forbidden');
  t.is(c.read('bob', { type: 'event.show', eventId: 'pool' }).event.status, 'confirmed');

  const sent = c.send('alice', { type: 'event.cancel', eventId: 'gym' });
  if (!sent.ok) return t.fail(sent.error.message);
  t.is(sent.result.event.id, 'gym');
  t.deepEqual(
    sent.notifications.map((n) => (n.kind === 'event' ? `${n.to} ${n.change} ${n.eventId}` : '')),
    [
      'alice cancelled gym',
      'bob cancelled gym',
      'alice cancelled pool',
      'bob cancelled pool',
      'alice cancelled tuesday',
      'bob cancelled tuesday',
    ],
  );
  t.deepEqual(listed('bob'), [
    '2025-02-03 gym cancelled',
    '2025-02-10 pool cancelled',
    '2025-02-18 tuesday cancelled',
  ]);
  // Cancelled, they free the organizer's hours as the series does.
  c.ok('alice', { type: 'event.create', draft: oneHour('Swim', '2025-02-18T17:00:00Z') });
  // A second cancel of the series changes nothing and tells no one.
  const again = c.send('alice', { type: 'event.cancel', eventId: 'gym' });
  t.true(again.ok);
  if (again.ok) t.deepEqual(again.notifications, []);

  // One changed occurrence cancelled on its own leaves its series as it was.
  c.ok(
    'alice',
    {
      type: 'event.create',
      draft: { ...oneHour('Yoga', '2025-02-04T07:00:00Z'), recurrence: 'FREQ=WEEKLY;COUNT=2' },
    },
    { ids: ['yoga'] },
  );
  c.ok(
    'alice',
    {
      type: 'event.updateOccurrence',
      eventId: 'yoga',
      occurrenceStart: at('2025-02-11T07:00:00Z'),
      changes: { title: 'Yoga outside' },
    },
    { ids: ['outside'] },
  );
  t.deepEqual(
    c.ok('alice', { type: 'event.cancel', eventId: 'outside' }).event.status,
    'cancelled',
  );
  t.is(c.read('alice', { type: 'event.show', eventId: 'yoga' }).event.status, 'confirmed');
});

test('an answer to a series reaches its occurrences changed on their own in the same entry, but not one answered on its own', async (t) => {
  const store = await openStore();
  const c = new StoreClient(store);
  c.register('alice', 'bob', 'carol');
  weeklyGym(c, ['bob', 'carol']);
  const detach = (iso: string, id: string, changes: { title?: string; start?: number }) =>
    c.ok(
      'alice',
      { type: 'event.updateOccurrence', eventId: 'gym', occurrenceStart: at(iso), changes },
      { ids: [id] },
    );
  detach('2025-02-10T17:00:00Z', 'pool', { title: 'Gym (pool)' });
  detach('2025-02-17T17:00:00Z', 'tuesday', { start: at('2025-02-18T17:00:00Z') });
  const listed = (who: string) =>
    c
      .read(who, { type: 'event.list', ...FEB })
      .events.map((e) => `${e.start.slice(0, 10)} ${e.id} ${e.myStatus}`);

  // bob says no to the pool day alone: the series and the rest wait for his answer.
  c.ok('bob', { type: 'invitation.decline', eventId: 'pool' });
  t.deepEqual(listed('bob'), [
    '2025-02-03 gym pending',
    '2025-02-10 pool declined',
    '2025-02-18 tuesday pending',
    '2025-02-24 gym pending',
  ]);

  // Tuesday's hour is taken in bob's agenda: accepting the series is refused for it, though
  // it is outside every one of the series' own occurrences.
  c.ok(
    'bob',
    { type: 'event.create', draft: oneHour('Dentist', '2025-02-18T17:30:00Z') },
    { ids: ['dentist'] },
  );
  const refused = c.refused('bob', { type: 'invitation.accept', eventId: 'gym' });
  t.is(refused.code, 'conflict');
  t.regex(refused.message, /changed on their own/);

  const sent = c.send('bob', { type: 'invitation.accept', eventId: 'gym', allowConflict: true });
  if (!sent.ok) return t.fail(sent.error.message);
  t.is(sent.result.event.id, 'gym');
  t.deepEqual(
    sent.notifications.map((n) => (n.kind === 'event' ? `${n.to} ${n.change} ${n.eventId}` : '')),
    ['bob accepted gym', 'alice accepted gym', 'bob accepted tuesday', 'alice accepted tuesday'],
  );
  t.deepEqual(listed('bob'), [
    '2025-02-03 gym accepted',
    '2025-02-10 pool declined',
    '2025-02-18 tuesday accepted',
    '2025-02-18 dentist accepted',
    '2025-02-24 gym accepted',
  ]);
  t.deepEqual(c.read('bob', { type: 'invitation.list' }).invitations, []);
  // carol answers for herself.
  t.is(c.read('carol', { type: 'event.show', eventId: 'tuesday' }).event.myStatus, 'pending');

  // An occurrence changed after the series' answer was decided makes that answer stale (it
  // is decided again), so no replica applies an answer that missed one.
  const decided = store.decide(c.command('carol', { type: 'invitation.decline', eventId: 'gym' }));
  if (decided.kind !== 'effect') return t.fail('the decline was not decided');
  detach('2025-02-24T17:00:00Z', 'last', { title: 'Gym (last)' });
  const [stale] = store.apply([{ index: store.appliedIndex() + 1, term: 1, data: decided.entry }]);
  t.like(stale, { ok: false, stale: true });
  c.ok('carol', { type: 'invitation.decline', eventId: 'gym' });
  t.deepEqual(
    ['gym', 'pool', 'tuesday', 'last'].map(
      (id) => c.read('carol', { type: 'event.show', eventId: id }).event.myStatus,
    ),
    ['declined', 'declined', 'declined', 'declined'],
  );
});

test('export gives the agenda as iCalendar; import creates each draft with its own id and reports refusals', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob');
  c.ok('alice', { type: 'event.create', draft: oneHour('Standup', '2025-02-03T09:00:00Z') });
  const { ics } = c.read('alice', { type: 'agenda.export' });
  t.regex(ics, /SUMMARY:Standup/);

  // Bob imports Alice's export (parsed by the domain, as the users service will do).
  const parsed = importICalendar(ics, { defaultTimeZone: 'UTC' });
  const imported = c.ok(
    'bob',
    {
      type: 'event.import',
      events: [
        ...parsed.events.map((e) => ({ uid: e.uid, draft: e.draft })),
        { uid: 'clash', draft: oneHour('Clash', '2025-02-03T09:15:00Z') },
        { uid: 'bad', draft: { title: '', start: 0, end: 1000 } },
      ],
    },
    { ids: ['imp-1', 'imp-2', 'imp-3'] },
  );
  t.deepEqual(
    imported.events.map((e) => [e.id, e.action]),
    [['imp-1', 'created']],
  );
  t.deepEqual(
    imported.failed.map((f) => [f.index, f.uid, f.error.code]),
    [
      [1, 'clash', 'conflict'],
      [2, 'bad', 'invalid'],
    ],
  );
  t.deepEqual(titles(c.read('bob', { type: 'event.list', ...FEB }).events), ['Standup']);

  const short = c.refused(
    'bob',
    { type: 'event.import', events: parsed.events.map((e) => ({ uid: e.uid, draft: e.draft })) },
    { ids: [] },
  );
  t.is(short.code, 'invalid');
});

test('fresh ids must be fresh: a missing or used id refuses the command', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice');
  const draft = oneHour('Standup', '2025-02-03T09:00:00Z');
  c.ok('alice', { type: 'event.create', draft }, { ids: ['e1'] });
  const reused = c.refused(
    'alice',
    { type: 'event.create', draft: oneHour('Other', '2025-02-04T09:00:00Z') },
    { ids: ['e1'] },
  );
  t.is(reused.code, 'invalid');
  t.regex(reused.message, /already in use/);
  t.is(
    c.refused(
      'alice',
      { type: 'event.create', draft: oneHour('Other', '2025-02-04T09:00:00Z') },
      { ids: [] },
    ).code,
    'invalid',
  );
  t.is(c.read('alice', { type: 'event.list', ...FEB }).events.length, 1);
});

test('a daily series over a crowded agenda lists at most 100 conflicts, found without going through all of them', async (t) => {
  const alice = new StoreClient(await openStore(), 'crowd');
  alice.ok(null, { type: 'user.register', username: 'alice', passwordHash: 'h' });
  const start = at('2026-12-01T10:00:00Z');
  const events = Array.from({ length: 60 }, (_, i) => ({
    uid: `daily-${i}`,
    draft: { title: `Daily ${i}`, start, end: start + HOUR, recurrence: 'FREQ=DAILY' },
  }));
  const imported = alice.ok(
    'alice',
    { type: 'event.import', events, allowConflict: true },
    { ids: events.map((_, i) => `crowd-${i}`), at: at('2026-11-01T00:00:00Z') },
  );
  t.is(imported.events.length, 60);
  const scheduled = alice.ok(
    'alice',
    {
      type: 'event.create',
      draft: { title: 'One more', start, end: start + HOUR, recurrence: 'FREQ=DAILY' },
      allowConflict: true,
    },
    { at: at('2026-11-01T00:00:00Z') },
  );
  t.is(scheduled.conflicts.length, 100);
  t.deepEqual(
    scheduled.conflicts.map((c) => c.start),
    [...scheduled.conflicts.map((c) => c.start)].sort(),
  );
});

test('reminders are stored with the event, listed with each occurrence, exported as VALARMs and imported back', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob');
  const weekly = c.ok('alice', {
    type: 'event.create',
    draft: {
      ...oneHour('Weekly', '2025-02-03T09:00:00Z'),
      recurrence: 'FREQ=WEEKLY;COUNT=3',
      reminders: [60, 10],
    },
  }).event;
  t.deepEqual(weekly.reminders, [10, 60]);
  t.deepEqual(
    c.read('alice', { type: 'event.list', ...FEB }).events.map((e) => e.reminders),
    [
      [10, 60],
      [10, 60],
      [10, 60],
    ],
  );
  const refusal = c.refused('alice', {
    type: 'event.create',
    draft: { ...oneHour('Too many', '2025-02-04T09:00:00Z'), reminders: [1, 2, 3, 4, 5, 6] },
  });
  t.is(refusal.code, 'invalid');
  t.regex(refusal.message, /at most 5 reminders/);

  const { ics } = c.read('alice', { type: 'agenda.export' });
  t.regex(
    ics,
    /BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Weekly\r\nTRIGGER:-PT10M\r\nEND:VALARM/,
  );
  t.regex(ics, /TRIGGER:-PT1H/);

  // Bob imports Alice's export: his copy has her reminders; importing again changes nothing.
  const parsed = importICalendar(ics, { defaultTimeZone: 'UTC' });
  const events = parsed.events.map((e) => ({ uid: e.uid, draft: e.draft }));
  const first = c.ok('bob', { type: 'event.import', events }, { ids: ['imp-r1'] });
  t.is(first.events[0]?.action, 'created');
  const copy = first.events[0]?.id ?? '';
  t.deepEqual(c.read('bob', { type: 'event.show', eventId: copy }).event.reminders, [10, 60]);
  t.is(
    c.ok('bob', { type: 'event.import', events }, { ids: ['imp-r2'] }).events[0]?.action,
    'unchanged',
  );
  // A file that drops an alarm brings the copy to the file's version.
  const fewer = importICalendar(
    ics.replace(/BEGIN:VALARM\r\n(?:(?!END:VALARM).*\r\n)*?TRIGGER:-PT1H\r\nEND:VALARM\r\n/, ''),
    {
      defaultTimeZone: 'UTC',
    },
  );
  const again = c.ok(
    'bob',
    { type: 'event.import', events: fewer.events.map((e) => ({ uid: e.uid, draft: e.draft })) },
    { ids: ['imp-r3'] },
  );
  t.is(again.events[0]?.action, 'updated');
  t.deepEqual(c.read('bob', { type: 'event.show', eventId: copy }).event.reminders, [10]);
});

test('invitations come a page at a time, in order, each page bounded; group invitations on the first', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob');
  c.ok('alice', { type: 'group.create', name: 'team', kind: 'flat' });
  c.ok('alice', { type: 'group.addMember', group: 'team', username: 'bob' });
  // Seven invitations, made out of order, two starting at the same time (then by id); one
  // over already, which is not listed; one conflicting with Bob's own event.
  c.ok('bob', { type: 'event.create', draft: oneHour('Dentist', '2025-02-06T09:30:00Z') });
  const starts = [
    '2025-02-09',
    '2025-02-03',
    '2025-02-07',
    '2025-02-05',
    '2025-02-05',
    '2025-02-06',
    '2025-02-04',
  ];
  starts.forEach((day, i) => {
    c.ok(
      'alice',
      {
        type: 'event.create',
        draft: oneHour(`Meeting ${i}`, `${day}T09:00:00Z`),
        with: ['bob'],
        allowConflict: true,
      },
      { ids: [`m${i}`] },
    );
  });
  c.ok(
    'alice',
    { type: 'event.create', draft: oneHour('Past', '2024-02-01T09:00:00Z'), with: ['bob'] },
    { ids: ['past'] },
  );
  const whole = c.read('bob', { type: 'invitation.list' });
  t.is(whole.next, null);
  t.deepEqual(
    whole.invitations.map((e) => e.id),
    ['m1', 'm6', 'm3', 'm4', 'm5', 'm2', 'm0'],
  );
  t.true(whole.invitations.find((e) => e.id === 'm5')?.conflict);
  t.deepEqual(
    whole.groupInvitations.map((g) => g.group),
    ['team'],
  );

  const paged: string[] = [];
  const groups: string[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const page = c.read('bob', { type: 'invitation.list', limit: 3, ...(after ? { after } : {}) });
    t.true(page.invitations.length <= 3);
    paged.push(...page.invitations.map((e) => e.id));
    groups.push(...page.groupInvitations.map((g) => g.group));
    if (page.invitations.some((e) => e.id === 'm5')) {
      t.true(
        page.invitations.find((e) => e.id === 'm5')?.conflict,
        'the conflict flag is kept on a later page',
      );
    }
    after = page.next ?? undefined;
    pages += 1;
  } while (after !== undefined && pages < 10);
  t.deepEqual(
    paged,
    whole.invitations.map((e) => e.id),
  );
  t.deepEqual(groups, ['team']);
  t.is(pages, 3);

  // Answering one between two pages neither repeats nor skips the others.
  const first = c.read('bob', { type: 'invitation.list', limit: 2 });
  c.ok('bob', { type: 'invitation.accept', eventId: 'm1' });
  c.ok('bob', { type: 'invitation.decline', eventId: 'm3' });
  const second = c.read('bob', { type: 'invitation.list', limit: 2, after: first.next ?? '' });
  t.deepEqual(
    second.invitations.map((e) => e.id),
    ['m4', 'm5'],
  );

  // A cursor of another list, or garbage, is refused as a bad `after`.
  const eventCursor = c.read('bob', { type: 'event.list', ...FEB, limit: 1 }).next ?? '';
  for (const after of ['bm90IGEgY3Vyc29y', eventCursor]) {
    const answer = c.ask('bob', { type: 'invitation.list', after });
    t.false(answer.ok);
    if (!answer.ok) t.like(answer.error, { code: 'invalid', details: { field: 'after' } });
  }
});

test('invitations of the largest size come in pages cut by their text, each once', async (t) => {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob');
  // Two hundred invitations each with the longest description (5,000 characters): about
  // 1.1 MB of views, past a page's 1 Mi characters before its 500 items.
  const description = 'x'.repeat(DESCRIPTION_MAX_LENGTH);
  for (let i = 0; i < 200; i++) {
    const start = at('2025-03-01T09:00:00Z') + i * HOUR;
    c.ok(
      'alice',
      {
        type: 'event.create',
        draft: { title: `Long ${i}`, start, end: start + HOUR, description },
        with: ['bob'],
      },
      { ids: [`long${String(i).padStart(3, '0')}`] },
    );
  }
  const ids: string[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const page = c.read('bob', { type: 'invitation.list', ...(after ? { after } : {}) });
    t.true(page.invitations.length > 0);
    t.true(
      JSON.stringify(page.invitations).length <= 1024 * 1024 + 8_000,
      'one item past the bound at most',
    );
    ids.push(...page.invitations.map((e) => e.id));
    after = page.next ?? undefined;
    pages += 1;
  } while (after !== undefined && pages < 10);
  t.true(pages >= 2, `${pages} pages`);
  t.deepEqual(
    ids,
    Array.from({ length: 200 }, (_, i) => `long${String(i).padStart(3, '0')}`),
  );
});
