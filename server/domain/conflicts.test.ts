import test from 'ava';
import fc from 'fast-check';
import { InvalidInput } from '../../contract/errors.js';
import { CommitmentIndex, conflictWindow, conflictsFor, findConflicts } from './conflicts.js';
import { CONFLICT_HORIZON_MS } from '../../contract/limits.js';
import { at, event, record, recordsOf, worldWith } from './test-fixtures.js';
import type { CalendarEvent, EventRecord } from './types.js';
import { validateEventDraft } from './validation.js';

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

test('events that take no time, instants and transparent ones, conflict with nothing', (t) => {
  const start = at('2025-06-02T09:00:00Z');
  const meeting = record(event({ id: 'meeting', start, end: start + 3_600_000 }));
  const instant = event({ id: 'instant', start: start + 1_800_000, end: start + 1_800_000 });
  const free = event({ id: 'free', start, end: start + 3_600_000, transparent: true });
  for (const candidate of [instant, free]) {
    t.deepEqual(findConflicts(candidate, 'alice', [meeting], now), [], candidate.id);
    // Nor is anything in their way, however it lies.
    t.deepEqual(findConflicts(meeting.event, 'alice', [record(candidate)], now), [], candidate.id);
  }
  const window = { from: start - 3_600_000, to: start + 7_200_000 };
  t.deepEqual(
    conflictsFor(
      { actor: 'alice', ...window },
      { events: [meeting, record(instant), record(free)] },
    ),
    [],
  );
});

// ---------------------------------------------------------------------------------------
// The commitment index of an import

const DAY_MS = 24 * 3_600_000;
const BASE = at('2025-03-01T00:00:00Z');
const RULES = [
  null,
  null,
  'FREQ=DAILY;COUNT=6',
  'FREQ=WEEKLY;BYDAY=MO,TH',
  'FREQ=MONTHLY;BYMONTHDAY=15',
  'FREQ=YEARLY',
  'FREQ=WEEKLY;INTERVAL=2;UNTIL=20251201T000000Z',
];

/**
 * A random event: one-off or recurring, short or long (or an instant), in a zone with DST
 * changes or not, now and then transparent (shown as free).
 */
const anEvent = fc.record({
  startMinute: fc.integer({ min: -60 * 24 * 30, max: 60 * 24 * 400 }),
  minutes: fc.oneof(
    fc.integer({ min: 15, max: 240 }),
    fc.constantFrom(0, 24 * 60, 2 * 24 * 60, 5 * 24 * 60),
  ),
  rule: fc.constantFrom(...RULES),
  zone: fc.constantFrom('UTC', 'Europe/Madrid', 'America/New_York'),
  transparent: fc.constantFrom(false, false, false, true),
});
type RandomEvent = typeof anEvent extends fc.Arbitrary<infer T> ? T : never;

/** The event `spec` describes as `id`, or undefined when validation refuses it. */
function eventOf(id: string, spec: RandomEvent, fields: Partial<CalendarEvent> = {}) {
  const start = BASE + spec.startMinute * 60_000;
  try {
    const details = validateEventDraft({
      title: id,
      start,
      end: start + spec.minutes * 60_000,
      timeZone: spec.zone,
      recurrence: spec.rule,
      transparent: spec.transparent,
    });
    return event({ id, ...details, ...fields });
  } catch {
    return undefined;
  }
}

const anAgenda = fc.array(
  fc.record({
    spec: anEvent,
    // Only alice's accepted, live events are commitments; the rest must be ignored.
    mine: fc.constantFrom('organizer', 'accepted', 'pending', 'declined', 'cancelled', 'bobs'),
  }),
  { maxLength: 25 },
);

function agendaOf(items: { spec: RandomEvent; mine: string }[]): EventRecord[] {
  return items.flatMap(({ spec, mine }, i) => {
    const id = `r${i}`;
    const fields: Partial<CalendarEvent> =
      mine === 'cancelled'
        ? { status: 'cancelled' }
        : mine === 'organizer'
          ? {}
          : { organizer: 'bob' };
    const e = eventOf(id, spec, fields);
    if (e === undefined) return [];
    const status = mine === 'pending' || mine === 'declined' ? mine : 'accepted';
    return [
      record(
        e,
        mine === 'organizer' || mine === 'cancelled' || mine === 'bobs' ? {} : { alice: status },
      ),
    ];
  });
}

test('the commitment index answers exactly what findConflicts answers, and follows what a batch creates', (t) => {
  fc.assert(
    fc.property(
      anAgenda,
      fc.array(anEvent, { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: 200 }),
      (agenda, candidateSpecs, nowDay) => {
        const now = BASE + nowDay * DAY_MS;
        const records = agendaOf(agenda);
        const candidates = candidateSpecs.flatMap((spec, i) => eventOf(`c${i}`, spec) ?? []);
        const index = CommitmentIndex.of(
          'alice',
          candidates.map((c) => conflictWindow(c, now)),
          records,
        );
        // Each candidate is checked, then "created": later ones must see it.
        const known = [...records];
        for (const candidate of candidates) {
          const expected = findConflicts(candidate, 'alice', known, now);
          t.deepEqual(index.conflictsOf(candidate, now), expected);
          index.follow([{ kind: 'insertEvent', event: candidate }]);
          known.push(record(candidate));
        }
      },
    ),
    { numRuns: 150, seed: 20250301 },
  );
});

test('the commitment index forgets a cancelled event and re-indexes an updated one', (t) => {
  const start = at('2025-06-02T09:00:00Z');
  const first = event({ id: 'first', start });
  const candidate = event({ id: 'later', start: start + 1_800_000 });
  const index = CommitmentIndex.of('alice', [conflictWindow(candidate, now)], [record(first)]);
  t.deepEqual(
    index.conflictsOf(candidate, now).map((c) => c.id),
    ['first'],
  );
  index.follow([
    { kind: 'updateEvent', event: { ...first, start: start - 7_200_000, end: start - 3_600_000 } },
  ]);
  t.deepEqual(index.conflictsOf(candidate, now), []);
  index.follow([{ kind: 'updateEvent', event: { ...first, status: 'cancelled' } }]);
  t.deepEqual(index.conflictsOf(candidate, now), []);
  // Other people's events and candidates outside its windows are not its business.
  index.follow([{ kind: 'insertEvent', event: { ...first, organizer: 'bob' } }]);
  t.deepEqual(index.conflictsOf(candidate, now), []);
  t.throws(() => index.conflictsOf(event({ id: 'far', start: start + 400 * DAY_MS }), now), {
    message: /outside the windows/,
  });
});

test('the commitment index stays exact over a long batch of creations, moves and cancellations', (t) => {
  // Enough events added one at a time that the index merges its sorted runs many times,
  // with moves and cancellations (which drop occurrences from runs) in between.
  const aStep = fc.record({
    spec: anEvent,
    change: fc.constantFrom('create', 'create', 'create', 'move', 'cancel'),
    target: fc.nat(),
  });
  fc.assert(
    fc.property(
      anAgenda,
      fc.array(aStep, { minLength: 20, maxLength: 80 }),
      fc.integer({ min: 0, max: 200 }),
      (agenda, steps, nowDay) => {
        const now = BASE + nowDay * DAY_MS;
        const records = agendaOf(agenda);
        const candidates = steps.map(({ spec }, i) => eventOf(`c${i}`, spec));
        const index = CommitmentIndex.of(
          'alice',
          candidates.flatMap((c) => (c === undefined ? [] : [conflictWindow(c, now)])),
          records,
        );
        const known = new Map(records.map((r) => [r.event.id, r]));
        const created: CalendarEvent[] = [];
        for (const [i, { change, target }] of steps.entries()) {
          const candidate = candidates[i];
          const earlier = created[target % Math.max(1, created.length)];
          if (change === 'create' || earlier === undefined) {
            if (candidate === undefined) continue;
            const expected = findConflicts(candidate, 'alice', [...known.values()], now);
            t.deepEqual(index.conflictsOf(candidate, now), expected);
            index.follow([{ kind: 'insertEvent', event: candidate }]);
            known.set(candidate.id, record(candidate));
            created.push(candidate);
          } else {
            const changed: CalendarEvent =
              change === 'cancel' || candidate === undefined
                ? { ...earlier, status: 'cancelled' }
                : { ...candidate, id: earlier.id, title: earlier.title };
            index.follow([{ kind: 'updateEvent', event: changed }]);
            known.set(changed.id, record(changed));
          }
        }
      },
    ),
    { numRuns: 60, seed: 20261205 },
  );
});
