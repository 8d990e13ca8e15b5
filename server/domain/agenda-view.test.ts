import test from 'ava';
import { Forbidden, InvalidInput, NotFound } from '../../contract/errors.js';
import { agendaContextOf, viewAgendas } from './agenda-view.js';
import type { AgendaEntry } from './agenda-view.js';
import { at, group, groupsOf, record, recordsOf, worldWith } from './test-fixtures.js';
import type { Visibility } from './types.js';

const corp = group('corp', 'hierarchical', { boss: 0, manager: 1, dev: 2, peer: 2, intern: 3 });
const club = group('club', 'flat', { friend: 0, dev: 0 });
const day = (h: number) => at(`2025-06-02T${String(h).padStart(2, '0')}:00:00Z`);
const ev = (
  id: string,
  hour: number,
  visibility: Visibility,
  others: Record<string, 'accepted' | 'pending' | 'declined'> = {},
) =>
  record(
    { id, title: id, organizer: 'dev', start: day(hour), visibility, location: `${id} room` },
    others,
  );

const world = worldWith(
  [corp, club],
  [
    ev('pub', 8, 'public'),
    ev('bsy', 9, 'busy'),
    ev('prv', 10, 'private'),
    ev('bsy-with-manager', 11, 'busy', { manager: 'accepted' }),
    ev('prv-with-friend', 12, 'private', { friend: 'pending' }),
    record({ id: 'unanswered', organizer: 'boss', start: day(13) }, { dev: 'pending' }),
    record({ id: 'refused', organizer: 'boss', start: day(14) }, { dev: 'declined' }),
    record({ id: 'called-off', organizer: 'dev', start: day(15), status: 'cancelled' }),
  ],
  ['stranger'],
);

function agendaOf(viewer: string, user = 'dev'): readonly AgendaEntry[] {
  const [view] = viewAgendas(
    { viewer, targets: { users: [user] }, from: day(0), to: day(23) },
    {
      groups: groupsOf(world),
      ...agendaContextOf(viewer, recordsOf(world)),
    },
  );
  if (view === undefined) throw new Error('no agenda');
  return view.entries;
}

function shape(entries: readonly AgendaEntry[]): string[] {
  return entries.map((e) =>
    'busy' in e ? `busy@${e.start.slice(11, 13)}` : (e as { title: string }).title,
  );
}

const matrix: ReadonlyArray<[string, string, string[]]> = [
  [
    'the owner sees everything',
    'dev',
    ['pub', 'bsy', 'prv', 'bsy-with-manager', 'prv-with-friend'],
  ],
  [
    'a superior sees busy events but not private ones',
    'boss',
    ['pub', 'bsy', 'busy@10', 'bsy-with-manager', 'busy@12'],
  ],
  [
    'an attendee sees the events they attend',
    'manager',
    ['pub', 'bsy', 'busy@10', 'bsy-with-manager', 'busy@12'],
  ],
  ['a peer sees only public details', 'peer', ['pub', 'busy@09', 'busy@10', 'busy@11', 'busy@12']],
  [
    'a subordinate sees only public details',
    'intern',
    ['pub', 'busy@09', 'busy@10', 'busy@11', 'busy@12'],
  ],
  [
    'a flat-group mate sees public details and what they attend',
    'friend',
    ['pub', 'busy@09', 'busy@10', 'busy@11', 'prv-with-friend'],
  ],
];
for (const [name, viewer, expected] of matrix) {
  test(`agenda privacy: ${name}`, (t) => {
    t.deepEqual(shape(agendaOf(viewer)), expected);
  });
}

test('a busy block says when and nothing else', (t) => {
  const block = agendaOf('peer')[1];
  t.deepEqual(block, {
    start: '2025-06-02T09:00:00.000Z',
    end: '2025-06-02T10:00:00.000Z',
    busy: true,
  });
});

test('a private event seen by a superior is only a busy block', (t) => {
  const entry = agendaOf('boss').find((e) => e.start === '2025-06-02T10:00:00.000Z');
  t.deepEqual(entry, {
    start: '2025-06-02T10:00:00.000Z',
    end: '2025-06-02T11:00:00.000Z',
    busy: true,
  });
});

test('full entries carry the event fields', (t) => {
  t.like(agendaOf('boss')[1], {
    id: 'bsy',
    title: 'bsy',
    location: 'bsy room',
    organizer: 'dev',
    myStatus: 'accepted',
    conflict: false,
  });
});

test('viewing a user who shares no group is forbidden', (t) => {
  t.throws(() => agendaOf('stranger'), {
    instanceOf: Forbidden,
    message: /share no group with dev/,
  });
  t.throws(() => agendaOf('dev', 'stranger'), { instanceOf: Forbidden });
});

test('a name nobody has is refused exactly as a stranger is, so views tell no one which names exist', (t) => {
  const stranger = t.throws(() => agendaOf('dev', 'stranger'));
  const ghost = t.throws(() => agendaOf('dev', 'ghost'));
  t.true(ghost instanceof Forbidden);
  t.is(ghost?.message.replace('ghost', 'stranger'), stranger?.message);
});

test('a group agenda lists every member, to members only', (t) => {
  const context = (viewer: string) => ({
    groups: groupsOf(world),
    ...agendaContextOf(viewer, recordsOf(world)),
  });
  const views = viewAgendas(
    { viewer: 'friend', targets: { group: 'club' }, from: day(0), to: day(23) },
    context('friend'),
  );
  t.deepEqual(
    views.map((v) => v.user),
    ['dev', 'friend'],
  );
  t.deepEqual(views[1]?.entries, []);
  t.throws(
    () =>
      viewAgendas(
        { viewer: 'stranger', targets: { group: 'club' }, from: day(0), to: day(23) },
        context('stranger'),
      ),
    { instanceOf: Forbidden },
  );
  t.throws(
    () =>
      viewAgendas(
        { viewer: 'dev', targets: { group: 'nope' }, from: day(0), to: day(23) },
        context('dev'),
      ),
    { instanceOf: NotFound },
  );
  t.throws(
    () =>
      viewAgendas(
        { viewer: 'dev', targets: { users: [] }, from: day(0), to: day(23) },
        context('dev'),
      ),
    { instanceOf: InvalidInput },
  );
  t.throws(
    () =>
      viewAgendas(
        { viewer: 'dev', targets: { group: 'club' }, from: day(2), to: day(1) },
        context('dev'),
      ),
    { instanceOf: InvalidInput },
  );
});
