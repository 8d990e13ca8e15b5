import test from 'ava';
import { InvalidInput } from '../errors.js';
import { conflictWindow, conflictsFor, findConflicts } from './conflicts.js';
import { CONFLICT_HORIZON_MS } from './limits.js';
import { at, event, record, recordsOf, worldWith } from './test-fixtures.js';

const now = at('2025-06-01T00:00:00Z');
const daily = { rule: { freq: 'DAILY' as const, interval: 1 }, exceptions: [] };

test('back-to-back events do not conflict: intervals are half-open', (t) => {
  const records = [record({ id: 'a', start: at('2025-06-02T09:00:00Z') })];
  t.deepEqual(
    findConflicts(event({ id: 'b', start: at('2025-06-02T10:00:00Z') }), 'alice', records, now),
    [],
  );
  t.deepEqual(
    findConflicts(event({ id: 'c', start: at('2025-06-02T08:00:00Z') }), 'alice', records, now),
    [],
  );
  t.is(
    findConflicts(event({ id: 'd', start: at('2025-06-02T09:59:00Z') }), 'alice', records, now)
      .length,
    1,
  );
});

test('only commitments count: not pending, declined or cancelled events, not other people’s', (t) => {
  const start = at('2025-06-02T09:00:00Z');
  const records = [
    record({ id: 'pending', organizer: 'bob', start }, { alice: 'pending' }),
    record({ id: 'declined', organizer: 'bob', start }, { alice: 'declined' }),
    record({ id: 'cancelled', start, status: 'cancelled' }),
    record({ id: 'bobs', organizer: 'bob', start }),
    record({ id: 'itself', start }),
  ];
  t.deepEqual(findConflicts(event({ id: 'itself', start }), 'alice', records, now), []);
});

test('recurring candidates are checked over the horizon only', (t) => {
  const start = at('2025-06-02T09:00:00Z');
  const candidate = event({ id: 'standup', start, recurrence: daily });
  const window = conflictWindow(candidate, now);
  t.deepEqual(window, { start, end: start + CONFLICT_HORIZON_MS });
  const inside = record({ id: 'inside', start: at('2027-01-05T09:30:00Z') });
  const beyond = record({ id: 'beyond', start: at('2027-06-10T09:30:00Z') });
  t.deepEqual(
    findConflicts(candidate, 'alice', [inside, beyond], now).map((c) => c.id),
    ['inside'],
  );
  // A series that began long ago is checked from now on.
  const old = event({ id: 'old', start: at('2020-01-01T09:00:00Z'), recurrence: daily });
  t.is(conflictWindow(old, now).start, now);
  t.deepEqual(
    findConflicts(old, 'alice', [record({ id: 'then', start: at('2020-01-01T09:00:00Z') })], now),
    [],
  );
  // A one-off event is checked at its own time, even in the past.
  t.deepEqual(conflictWindow(event({ id: 'x', start: at('2020-01-01T09:00:00Z') }), now), {
    start: at('2020-01-01T09:00:00Z'),
    end: at('2020-01-01T10:00:00Z'),
  });
});

test('the conflicts report lists overlapping pairs with the overlap', (t) => {
  const world = worldWith(
    [],
    [
      record({
        id: 'a',
        title: 'A',
        start: at('2025-06-02T09:00:00Z'),
        end: at('2025-06-02T11:00:00Z'),
      }),
      record({
        id: 'b',
        title: 'B',
        start: at('2025-06-02T10:00:00Z'),
        end: at('2025-06-02T12:00:00Z'),
      }),
      record({ id: 'c', title: 'C', start: at('2025-06-02T12:00:00Z') }),
      record({
        id: 'r',
        title: 'R',
        start: at('2025-06-01T10:30:00Z'),
        end: at('2025-06-01T10:45:00Z'),
        recurrence: daily,
      }),
    ],
  );
  const report = conflictsFor(
    { actor: 'alice', from: at('2025-06-02T00:00:00Z'), to: at('2025-06-03T00:00:00Z') },
    { events: recordsOf(world) },
  );
  t.deepEqual(
    report.map((c) => [c.events[0].id, c.events[1].id, c.start.slice(11, 16), c.end.slice(11, 16)]),
    [
      ['a', 'b', '10:00', '11:00'],
      ['a', 'r', '10:30', '10:45'],
      ['b', 'r', '10:30', '10:45'],
    ],
  );
  t.true(report.every((c) => c.events.every((e) => e.conflict)));
  t.throws(() => conflictsFor({ actor: 'alice', from: 1000, to: 0 }, { events: [] }), {
    instanceOf: InvalidInput,
  });
});
