import test from 'ava';
import { Forbidden, InvalidInput, NotFound } from '../../contract/errors.js';
import { mergeIntervals } from './conflicts.js';
import { findCommonFreeTime, freeGaps } from './free-time.js';
import { at, group, record, recordsOf, worldWith } from './test-fixtures.js';

const team = group('team', 'flat', { ann: 0, ben: 0 });
const h = (hh: string) => at(`2025-06-02T${hh}:00Z`);

test('intervals merge when they overlap or touch', (t) => {
  t.deepEqual(
    mergeIntervals([
      { start: 5, end: 7 },
      { start: 1, end: 3 },
      { start: 3, end: 4 },
      { start: 6, end: 9 },
    ]),
    [
      { start: 1, end: 4 },
      { start: 5, end: 9 },
    ],
  );
});

test('free gaps are maximal and at least the duration', (t) => {
  const busy = [
    { start: 10, end: 20 },
    { start: 25, end: 30 },
    { start: 0, end: 2 },
  ];
  t.deepEqual(freeGaps(busy, { start: 0, end: 40 }, 5), [
    { start: 2, end: 10 },
    { start: 20, end: 25 },
    { start: 30, end: 40 },
  ]);
  t.deepEqual(freeGaps(busy, { start: 0, end: 40 }, 6), [
    { start: 2, end: 10 },
    { start: 30, end: 40 },
  ]);
  t.deepEqual(freeGaps([], { start: 0, end: 40 }, 41), []);
});

test('common free time of a group over its members’ commitments', (t) => {
  const world = worldWith(
    [team],
    [
      record({ id: 'a', organizer: 'ann', start: h('09:00'), end: h('10:00') }),
      record({ id: 'b', organizer: 'ben', start: h('10:30'), end: h('12:00') }),
      record({ id: 'c', organizer: 'ben', start: h('13:00'), end: h('13:30') }, { ann: 'pending' }),
      record({
        id: 'd',
        organizer: 'ann',
        start: h('15:00'),
        end: h('16:00'),
        status: 'cancelled',
      }),
      record({ id: 'e', organizer: 'eve', start: h('16:00'), end: h('17:00') }),
    ],
  );
  const slots = findCommonFreeTime(
    {
      actor: 'ann',
      targets: { group: 'team' },
      from: h('08:00'),
      to: h('18:00'),
      duration: 45 * 60_000,
    },
    { group: { ...team }, events: recordsOf(world) },
  );
  t.deepEqual(slots, [
    { start: '2025-06-02T08:00:00.000Z', end: '2025-06-02T09:00:00.000Z' },
    { start: '2025-06-02T12:00:00.000Z', end: '2025-06-02T13:00:00.000Z' },
    { start: '2025-06-02T13:30:00.000Z', end: '2025-06-02T18:00:00.000Z' },
  ]);
});

test('free time is for members, with a sane duration', (t) => {
  const query = {
    actor: 'ann',
    targets: { group: 'team' },
    from: h('08:00'),
    to: h('18:00'),
    duration: 60_000,
  };
  t.throws(() => findCommonFreeTime({ ...query, actor: 'eve' }, { group: team, events: [] }), {
    instanceOf: Forbidden,
  });
  t.throws(() => findCommonFreeTime(query, { group: undefined, events: [] }), {
    instanceOf: NotFound,
  });
  t.throws(() => findCommonFreeTime({ ...query, duration: 0 }, { group: team, events: [] }), {
    instanceOf: InvalidInput,
  });
  t.throws(() => findCommonFreeTime({ ...query, duration: 90_000 }, { group: team, events: [] }), {
    instanceOf: InvalidInput,
  });
});

test('free time with named users counts the asker, and only people the asker may see', (t) => {
  // ann shares `team` with ben; cid is in `other` with ben only; dan in no group.
  const other = group('other', 'flat', { ben: 0, cid: 0 });
  const world = worldWith(
    [team, other],
    [
      record({ id: 'a', organizer: 'ann', start: h('09:00'), end: h('10:00') }),
      record({ id: 'b', organizer: 'ben', start: h('11:00'), end: h('12:00') }),
      record({ id: 'c', organizer: 'cid', start: h('13:00'), end: h('14:00') }),
    ],
  );
  const query = {
    actor: 'ann',
    targets: { users: ['ben', 'ben'] },
    from: h('08:00'),
    to: h('15:00'),
    duration: 30 * 60_000,
  };
  const groups = [team, other].filter((g) => g.members.some((m) => m.username === 'ann'));
  t.deepEqual(findCommonFreeTime(query, { groups, events: recordsOf(world) }), [
    { start: '2025-06-02T08:00:00.000Z', end: '2025-06-02T09:00:00.000Z' },
    { start: '2025-06-02T10:00:00.000Z', end: '2025-06-02T11:00:00.000Z' },
    { start: '2025-06-02T12:00:00.000Z', end: '2025-06-02T15:00:00.000Z' },
  ]);
  // cid shares a group with ben, not with ann; dan with nobody; a name nobody has alike.
  for (const stranger of ['cid', 'dan', 'nobody']) {
    t.throws(
      () =>
        findCommonFreeTime(
          { ...query, targets: { users: ['ben', stranger] } },
          { groups, events: recordsOf(world) },
        ),
      {
        instanceOf: Forbidden,
        message: `you share no group with ${stranger} (or there is no such user), so you cannot see when they are free`,
      },
    );
  }
  // Asking for oneself alone is one's own free time.
  t.is(
    findCommonFreeTime(
      { ...query, targets: { users: ['ann'] } },
      { groups: [], events: recordsOf(world) },
    ).length,
    2,
  );
});

test('free time with the most users the API takes: one pass over the groups, a bounded refusal', (t) => {
  // ann is in 40 groups of 25 others each: 1000 people she may see.
  const people = Array.from({ length: 1000 }, (_, i) => `user${i}`);
  const groups = Array.from({ length: 40 }, (_, g) =>
    group(
      `g${g}`,
      'flat',
      Object.fromEntries<number>([
        ['ann', 0],
        ...people.slice(g * 25, g * 25 + 25).map((u): [string, number] => [u, 0]),
      ]),
    ),
  );
  const query = {
    actor: 'ann',
    targets: { users: people },
    from: h('08:00'),
    to: h('15:00'),
    duration: 30 * 60_000,
  };
  t.deepEqual(findCommonFreeTime(query, { groups, events: [] }), [
    { start: '2025-06-02T08:00:00.000Z', end: '2025-06-02T15:00:00.000Z' },
  ]);
  // 1000 strangers (a group ann is not in does not count): the first ten are named.
  const strangers = Array.from({ length: 1000 }, (_, i) => `x${'\u00e9'.repeat(20)}${i}`);
  const theirs = group('theirs', 'flat', { [strangers[0] ?? '']: 0, [strangers[1] ?? '']: 0 });
  const error = t.throws(() =>
    findCommonFreeTime(
      { ...query, targets: { users: strangers } },
      { groups: [...groups, theirs], events: [] },
    ),
  );
  t.regex(error?.message ?? '', / and 990 more \(or there is no such user\)/);
  t.true((error?.message.length ?? 0) < 600);
});
