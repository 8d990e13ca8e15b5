/**
 * The agenda's own load (`agendaCommitments`, then whole events only for what is shown in
 * detail) gives the domain what the whole records of `eventsAttending` give it: the same
 * commitments, the same attendance of the viewer, and so the same pages — on a random
 * calendar with every kind of answer, cancelled events, series and group events.
 */
import test from 'ava';
import {
  agendaContextOf,
  eventsShownInDetail,
  viewAgendasPage,
  type AgendaCommitment,
  type AgendasPage,
} from '../domain/index.js';
import type { Username } from '../domain/index.js';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { CalendarRows } from './calendar-rows.js';
import { StatementSet } from './statements.js';
import { at, DAY, HOUR, openStore, seededRandom, StoreClient } from './test-support.js';

const USERS = Array.from({ length: 12 }, (_, i) => `user${String(i).padStart(2, '0')}`);
const START = at('2025-03-03T00:00:00Z');

/** A calendar of twelve people in a hierarchical and a flat group, built by commands. */
async function randomCalendar(seed: number): Promise<Uint8Array> {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const c = new StoreClient(await openStore());
  c.register(...USERS);
  c.ok('user00', { type: 'group.create', name: 'tree', kind: 'hierarchical' });
  for (const [i, u] of USERS.slice(1, 8).entries()) {
    c.ok('user00', { type: 'group.addMember', group: 'tree', username: u, level: 1 + (i % 3) });
    c.ok(u, { type: 'group.join', group: 'tree' });
  }
  c.ok('user06', { type: 'group.create', name: 'flat', kind: 'flat' });
  for (const u of USERS.slice(7)) {
    c.ok('user06', { type: 'group.addMember', group: 'flat', username: u });
    c.ok(u, { type: 'group.join', group: 'flat' });
  }
  const made: { id: string; by: string }[] = [];
  for (let n = 0; n < 160; n++) {
    const by = pick(USERS);
    const start = START + Math.floor(random() * 10 * 24) * HOUR;
    const draft = {
      title: `event ${n}`,
      start,
      end: start + pick([1, 2, 30]) * HOUR,
      visibility: pick(['public', 'busy', 'private']),
      ...(random() < 0.1 ? { recurrence: 'FREQ=DAILY;COUNT=5' } : {}),
    };
    const kind = random();
    const body =
      kind < 0.15
        ? {
            type: 'event.create' as const,
            draft,
            group: pick(['tree', 'flat']),
            allowConflict: true,
          }
        : kind < 0.4
          ? {
              type: 'event.create' as const,
              draft,
              with: [pick(USERS), pick(USERS)],
              allowConflict: true,
            }
          : { type: 'event.create' as const, draft, allowConflict: true };
    const outcome = c.send(by, body);
    if (outcome.ok) made.push({ id: outcome.result.event.id, by });
    const other = made.length > 0 ? pick(made) : undefined;
    if (other !== undefined && random() < 0.3) {
      const type = pick(['invitation.accept', 'invitation.decline'] as const);
      c.send(pick(USERS), { type, eventId: other.id, allowConflict: true } as never);
    }
    if (other !== undefined && random() < 0.05) {
      c.send(other.by, { type: 'event.cancel', eventId: other.id });
    }
  }
  const image = c.store.snapshot();
  c.store.close();
  return image;
}

function key(c: AgendaCommitment): string {
  return `${c.owner} ${c.event.id} ${c.viewerAttends}`;
}

test('the agenda load gives the pages the whole records give, for every viewer and target', async (t) => {
  const SQL = await loadSqlJs();
  // What the queries met, so that the comparison is known not to be of empty agendas.
  const met = { attended: 0, notAttended: 0, detailed: 0, busy: 0, refused: 0 };
  for (const seed of [1, 2, 3]) {
    const db = new SQL.Database(await randomCalendar(seed));
    const statements = new StatementSet(db);
    try {
      const rows = new CalendarRows(statements);
      const random = seededRandom(seed * 101);
      for (let q = 0; q < 60; q++) {
        const viewer = USERS[Math.floor(random() * USERS.length)] as Username;
        const from = START + Math.floor(random() * 12 * 24) * HOUR - DAY;
        const window = { start: from, end: from + Math.ceil(random() * 4 * 24) * HOUR };
        const groups = rows.groupsOf(viewer);
        const targets = USERS.filter(() => random() < 0.5);
        const loaded = rows.agendaCommitments(targets, viewer, window);
        const whole = agendaContextOf(viewer, rows.eventsAttending(targets, window, 'accepted'));
        const expected = whole.commitments.filter((c) => targets.includes(c.owner));
        t.deepEqual(loaded.map(key).sort(), expected.map(key).sort(), `seed ${seed}, query ${q}`);
        for (const c of loaded) t.like(whole.events.get(c.event.id), c.event);

        const shown = eventsShownInDetail(viewer, groups, loaded);
        const events = rows.events(shown);
        t.deepEqual([...events.keys()].sort(), [...shown].sort());
        const query = {
          viewer,
          targets: { users: targets.length > 0 ? targets : [viewer] },
          from: window.start,
          to: window.end,
          limit: 1 + Math.floor(random() * 30),
        };
        const page = (context: Parameters<typeof viewAgendasPage>[1]): AgendasPage | string => {
          try {
            return viewAgendasPage(query, context);
          } catch (error) {
            return (error as Error).name;
          }
        };
        const answer = page({ groups, commitments: loaded, events });
        t.deepEqual(answer, page({ groups, ...whole }));
        for (const c of loaded) met[c.viewerAttends ? 'attended' : 'notAttended'] += 1;
        if (typeof answer === 'string') met.refused += 1;
        else {
          for (const e of answer.agendas.flatMap((a) => a.entries)) {
            met['busy' in e ? 'busy' : 'detailed'] += 1;
          }
        }
      }
    } finally {
      statements.free();
      db.close();
    }
  }
  t.true(
    Object.values(met).every((n) => n > 10),
    JSON.stringify(met),
  );
});
