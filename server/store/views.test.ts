/**
 * Agenda views and free time through the store: the groups and commitments of every
 * target are loaded, and privacy is decided by the domain on complete rows.
 */
import test from 'ava';
import type { AgendaEntry } from '../domain/index.js';
import { at, openStore, StoreClient } from './test-support.js';

const DAY = { from: at('2025-02-03T00:00:00Z'), to: at('2025-02-04T00:00:00Z') };

function event(title: string, iso: string, visibility?: string) {
  const start = at(iso);
  return {
    title,
    start,
    end: start + 3_600_000,
    ...(visibility === undefined ? {} : { visibility }),
  };
}

const shown = (entries: readonly AgendaEntry[]) =>
  entries.map((e) => ('busy' in e ? `busy ${e.start.slice(11, 16)}` : e.title));

async function office(): Promise<StoreClient> {
  const c = new StoreClient(await openStore());
  c.register('alice', 'bob', 'erin');
  c.ok('alice', { type: 'group.create', name: 'team', kind: 'hierarchical' });
  c.ok('alice', { type: 'group.addMember', group: 'team', username: 'bob', level: 1 });
  c.ok('bob', { type: 'group.join', group: 'team' });
  c.ok('bob', { type: 'event.create', draft: event('Dentist', '2025-02-03T08:00:00Z') });
  c.ok('bob', { type: 'event.create', draft: event('Therapy', '2025-02-03T10:00:00Z', 'private') });
  c.ok('bob', { type: 'event.create', draft: event('Talk', '2025-02-03T12:00:00Z', 'public') });
  c.ok('alice', { type: 'event.create', draft: event('Plan', '2025-02-03T09:00:00Z') });
  return c;
}

test('a superior sees busy events of subordinates in full, private ones as busy blocks', async (t) => {
  const c = await office();
  const { agendas } = c.read('alice', {
    type: 'agenda.view',
    targets: { group: 'team' },
    ...DAY,
  });
  t.deepEqual(
    agendas.map((a) => [a.user, shown(a.entries)]),
    [
      ['alice', ['Plan']],
      ['bob', ['Dentist', 'busy 10:00', 'Talk']],
    ],
  );
  // Bob is not Alice's superior: her busy event is a busy block to him.
  const fromBob = c.read('bob', { type: 'agenda.view', targets: { users: ['alice'] }, ...DAY });
  t.deepEqual(shown(fromBob.agendas[0]?.entries ?? []), ['busy 09:00']);
});

test('no view without a shared group, and no group view for outsiders', async (t) => {
  const c = await office();
  const byName = c.ask('erin', { type: 'agenda.view', targets: { users: ['bob'] }, ...DAY });
  t.false(byName.ok);
  if (!byName.ok) t.is(byName.error.code, 'forbidden');
  const byGroup = c.ask('erin', { type: 'agenda.view', targets: { group: 'team' }, ...DAY });
  t.false(byGroup.ok);
  if (!byGroup.ok) t.is(byGroup.error.code, 'forbidden');
  const unknown = c.ask('erin', { type: 'agenda.view', targets: { group: 'nope' }, ...DAY });
  t.false(unknown.ok);
  if (!unknown.ok) t.is(unknown.error.code, 'not_found');
  const tooLong = c.ask('alice', {
    type: 'agenda.view',
    targets: { group: 'team' },
    from: DAY.from,
    to: DAY.from + 400 * 86_400_000,
  });
  t.false(tooLong.ok);
  if (!tooLong.ok) t.is(tooLong.error.code, 'invalid');
});

test('common free time is what no member has committed to', async (t) => {
  const c = await office();
  const { slots } = c.read('bob', {
    type: 'free.find',
    group: 'team',
    from: at('2025-02-03T07:00:00Z'),
    to: at('2025-02-03T14:00:00Z'),
    duration: 30 * 60_000,
  });
  // Busy: 08–09 Bob, 09–10 Alice, 10–11 Bob, 12–13 Bob.
  t.deepEqual(slots, [
    { start: '2025-02-03T07:00:00.000Z', end: '2025-02-03T08:00:00.000Z' },
    { start: '2025-02-03T11:00:00.000Z', end: '2025-02-03T12:00:00.000Z' },
    { start: '2025-02-03T13:00:00.000Z', end: '2025-02-03T14:00:00.000Z' },
  ]);
  const outsider = c.ask('erin', {
    type: 'free.find',
    group: 'team',
    ...DAY,
    duration: 30 * 60_000,
  });
  t.false(outsider.ok);
  if (!outsider.ok) t.is(outsider.error.code, 'forbidden');
});
