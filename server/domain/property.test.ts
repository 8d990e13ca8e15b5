/**
 * Property test: on random agendas (seeded, so failures reproduce), conflict detection and
 * free-slot search agree with a brute-force oracle that marks every minute each occurrence
 * covers. Zones with DST changes inside the range keep the recurrence expansion honest.
 */
import test from 'ava';
import { conflictsFor, findConflicts } from './conflicts.js';
import { findCommonFreeTime } from './free-time.js';
import { expandOccurrences } from './recurrence.js';
import { at, group, record } from './test-fixtures.js';
import { validateEventDraft } from './validation.js';
import type { AttendeeStatus, EventRecord, Interval, Occurrence, Username } from './types.js';
import { seededRandom } from '../../base/rng.js';

const MINUTE = 60_000;
const BASE = at('2025-03-01T00:00:00Z'); // New York changes on 9 March, Madrid on 30 March
const RANGE: Interval = { start: BASE, end: BASE + 80 * 24 * 60 * MINUTE };
const USERS = ['ann', 'ben', 'cat', 'dan'];
const ZONES = ['UTC', 'Europe/Madrid', 'America/New_York'];
const TRIALS = 150;

/** Seeded so a failing trial is reproducible. */
const random = seededRandom;

function randomAgenda(seed: number): EventRecord[] {
  const rnd = random(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
  const records: EventRecord[] = [];
  const count = int(6, 18);
  for (let i = 0; i < count; i++) {
    const start = BASE + int(0, 20 * 24 * 60) * MINUTE;
    const duration = int(5, 240) * MINUTE;
    const recurrence = pick([
      null,
      null,
      'FREQ=DAILY;COUNT=' + int(2, 12),
      'FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=' + int(2, 9),
      'FREQ=WEEKLY;INTERVAL=2;COUNT=3',
    ]);
    const details = validateEventDraft({
      title: `e${i}`,
      start,
      end: start + duration,
      timeZone: pick(ZONES),
      recurrence,
    });
    const organizer = pick(USERS);
    const others: Record<Username, AttendeeStatus> = {};
    for (const u of USERS)
      if (u !== organizer && rnd() < 0.4)
        others[u] = pick(['accepted', 'accepted', 'pending', 'declined'] as const);
    records.push(
      record(
        { id: `e${i}`, ...details, organizer, status: rnd() < 0.1 ? 'cancelled' : 'confirmed' },
        others,
      ),
    );
  }
  return records;
}

function committed(records: readonly EventRecord[], user: Username): EventRecord[] {
  return records.filter(
    (r) =>
      r.event.status !== 'cancelled' &&
      r.attendees.some((a) => a.username === user && a.status === 'accepted'),
  );
}

/** Minute indexes (from BASE) an occurrence covers. */
function minutes(o: Interval): number[] {
  const out: number[] = [];
  for (let m = (o.start - BASE) / MINUTE; m < (o.end - BASE) / MINUTE; m++) out.push(m);
  return out;
}

function bitmap(occurrences: readonly Interval[]): Uint8Array {
  const bits = new Uint8Array((RANGE.end - RANGE.start) / MINUTE);
  for (const o of occurrences) for (const m of minutes(o)) bits[m] = 1;
  return bits;
}

function sharesMinute(a: Interval, b: Interval): boolean {
  const bits = bitmap([a]);
  return minutes(b).some((m) => bits[m] === 1);
}

test(`conflict detection agrees with a minute bitmap on ${TRIALS} random agendas`, (t) => {
  let withConflicts = 0;
  for (let seed = 1; seed <= TRIALS; seed++) {
    const records = randomAgenda(seed);
    const rnd = random(seed * 7919);
    for (const user of USERS) {
      const candidate = records[Math.floor(rnd() * records.length)];
      if (candidate === undefined) continue;
      const mine = bitmap(expandOccurrences(candidate.event, RANGE));
      const expected = committed(records, user)
        .filter((r) => r.event.id !== candidate.event.id)
        .flatMap((r) => expandOccurrences(r.event, RANGE))
        .filter((o) => minutes(o).some((m) => mine[m] === 1))
        .map((o) => `${o.eventId}@${new Date(o.start).toISOString()}`)
        .sort();
      const actual = findConflicts(candidate.event, user, records, BASE)
        .map((c) => `${c.id}@${c.start}`)
        .sort();
      t.deepEqual(actual, expected, `seed ${seed}, user ${user}, candidate ${candidate.event.id}`);
      if (expected.length > 0) withConflicts++;
    }
  }
  // The agendas must be dense enough for the comparison to mean something.
  t.true(withConflicts > TRIALS / 4, `only ${withConflicts} cases had conflicts`);
});

test(`the conflicts report agrees with a minute bitmap on ${TRIALS} random agendas`, (t) => {
  let withConflicts = 0;
  for (let seed = 1; seed <= TRIALS; seed++) {
    const records = randomAgenda(seed);
    const rnd = random(seed * 104729);
    const from = BASE + Math.floor(rnd() * 15 * 24 * 60) * MINUTE;
    const window = { start: from, end: from + Math.floor(1 + rnd() * 20 * 24 * 60) * MINUTE };
    for (const user of USERS) {
      const occurrences: Occurrence[] = committed(records, user).flatMap((r) =>
        expandOccurrences(r.event, window),
      );
      const expected: string[] = [];
      for (let i = 0; i < occurrences.length; i++) {
        for (let j = i + 1; j < occurrences.length; j++) {
          const a = occurrences[i] as Occurrence;
          const b = occurrences[j] as Occurrence;
          if (a.eventId !== b.eventId && sharesMinute(a, b)) {
            const key = [`${a.eventId}@${a.start}`, `${b.eventId}@${b.start}`].sort().join(' ');
            expected.push(`${key} ${Math.max(a.start, b.start)}-${Math.min(a.end, b.end)}`);
          }
        }
      }
      const actual = conflictsFor(
        { actor: user, from: window.start, to: window.end },
        { events: records },
      ).map((c) => {
        const key = c.events
          .map((e) => `${e.id}@${Date.parse(e.start)}`)
          .sort()
          .join(' ');
        return `${key} ${Date.parse(c.start)}-${Date.parse(c.end)}`;
      });
      t.deepEqual(actual.sort(), expected.sort(), `seed ${seed}, user ${user}`);
      if (expected.length > 0) withConflicts++;
    }
  }
  t.true(withConflicts > TRIALS / 4, `only ${withConflicts} cases had conflicts`);
});

test(`free slots agree with a minute bitmap on ${TRIALS} random agendas`, (t) => {
  let fragmented = 0;
  const everyone = group('all', 'flat', Object.fromEntries(USERS.map((u) => [u, 0])));
  for (let seed = 1; seed <= TRIALS; seed++) {
    const records = randomAgenda(seed);
    const rnd = random(seed * 31337);
    const members = USERS.filter(() => rnd() < 0.7);
    const team = {
      group: everyone.group,
      members: everyone.members.filter((m) => members.includes(m.username) || m.username === 'ann'),
      invitations: [],
    };
    const from = BASE + Math.floor(rnd() * 15 * 24 * 60) * MINUTE;
    const window = { start: from, end: from + Math.floor(60 + rnd() * 10 * 24 * 60) * MINUTE };
    const duration = Math.floor(1 + rnd() * 180) * MINUTE;

    const busy = bitmap(
      team.members.flatMap((m) =>
        committed(records, m.username).flatMap((r) => expandOccurrences(r.event, window)),
      ),
    );
    const expected: string[] = [];
    const first = (window.start - BASE) / MINUTE;
    const last = (window.end - BASE) / MINUTE;
    let runStart: number | null = null;
    for (let m = first; m <= last; m++) {
      const free = m < last && busy[m] !== 1;
      if (free && runStart === null) runStart = m;
      if (!free && runStart !== null) {
        if ((m - runStart) * MINUTE >= duration)
          expected.push(`${BASE + runStart * MINUTE}-${BASE + m * MINUTE}`);
        runStart = null;
      }
    }
    const actual = findCommonFreeTime(
      { actor: 'ann', targets: { group: 'all' }, from: window.start, to: window.end, duration },
      { group: team, events: records },
    ).map((s) => `${Date.parse(s.start)}-${Date.parse(s.end)}`);
    t.deepEqual(actual, expected, `seed ${seed}`);
    if (expected.length > 1) fragmented++;
  }
  t.true(fragmented > TRIALS / 4, `only ${fragmented} windows had several free slots`);
});
