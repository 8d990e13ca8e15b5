/**
 * Determinism, the property replication rests on: a seeded random command log — every
 * command type, refusals, retries, garbage, clocks that jump back — applied to stores with
 * different batchings gives identical results and byte-identical images, and snapshot →
 * restore → continue gives the same image as never snapshotting. Byte for byte holds while
 * the request log keeps every request (the retention below); once it forgets some, replicas
 * that batched differently hold the same rows in pages laid out differently, so with pruning
 * the rows are compared (the last test).
 */
import test from 'ava';
import type { CommandBody, StoreCommand, StoreResult } from './protocol.js';
import { encodeCommand, parseCommand } from './protocol.js';
import { at, entries, openStore, seededRandom } from './test-support.js';
import type { CalendarStore } from './calendar-store.js';
import { freshIdCount } from '../services/ids.js';
import type { SqlJsStatic } from 'sql.js';
import { loadSqlJs } from '../../raft/kv/sql.js';

const USERS = ['ana', 'ben', 'cai', 'dov', 'eva', 'fay'];
/** A retention that forgets nothing within these logs (hours of clock, hundreds of requests). */
const KEEP_ALL = { retention: { maxRequests: 1_000_000, maxAgeMs: 365 * 24 * 3_600_000 } };
const GROUPS = ['g-flat', 'g-tree', 'g-more'];
const START = at('2025-02-01T00:00:00Z');
const HOUR = 3_600_000;

/** A random log of `length` entries; deterministic for a seed. */
function randomLog(seed: number, length: number): Uint8Array[] {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const chance = (p: number) => random() < p;
  const log: Uint8Array[] = [];
  const sent: StoreCommand[] = [];
  const eventIds: string[] = [];
  let clock = Date.UTC(2025, 0, 1);
  let n = 0;

  const push = (actor: string | null, body: CommandBody, ids: string[] = []) => {
    // As many fresh ids as the services give the command (server/services/ids.ts): a store
    // that needs more than they give refuses every such command in production.
    if (ids.length !== freshIdCount(body)) {
      throw new Error(`${body.type}: ${ids.length} ids, the services give ${freshIdCount(body)}`);
    }
    n += 1;
    // Mostly forward, sometimes backwards (a new leader with a slower clock).
    clock += chance(0.05) ? -Math.floor(random() * 30_000) : Math.floor(random() * 60_000);
    const command: StoreCommand = { v: 1, requestId: `r${n}`, actor, at: clock, ids, body };
    sent.push(command);
    log.push(encodeCommand(command));
  };
  const slot = () => START + Math.floor(random() * 24 * 20) * HOUR;
  const draft = () => {
    const start = slot();
    return {
      title: `t${n}`,
      start,
      end: start + (1 + Math.floor(random() * 3)) * HOUR,
      visibility: pick(['public', 'busy', 'private']),
      ...(chance(0.15)
        ? { recurrence: pick(['FREQ=WEEKLY;COUNT=3', 'FREQ=DAILY;INTERVAL=2', 'FREQ=WEEKLY']) }
        : {}),
      ...(chance(0.1) ? { timeZone: 'Europe/Madrid' } : {}),
    };
  };
  const newEventId = () => {
    const id = chance(0.03) && eventIds.length > 0 ? pick(eventIds) : `e${n + 1}`;
    eventIds.push(id);
    return [id];
  };

  for (const u of USERS) push(null, { type: 'user.register', username: u, passwordHash: `h-${u}` });
  for (const g of GROUPS) {
    push(pick(USERS), {
      type: 'group.create',
      name: g,
      kind: g === 'g-flat' ? 'flat' : 'hierarchical',
    });
  }

  while (log.length < length) {
    const actor = pick(USERS);
    const roll = random();
    if (roll < 0.03) {
      log.push(new TextEncoder().encode(chance(0.5) ? '{"v":1' : JSON.stringify({ v: 1 })));
    } else if (roll < 0.08 && sent.length > 0) {
      // A retry: the same command again, re-stamped by the leader.
      const again = pick(sent);
      log.push(encodeCommand({ ...again, at: clock }));
    } else if (roll < 0.35) {
      const kind = random();
      push(
        actor,
        {
          type: 'event.create',
          draft: draft(),
          ...(kind < 0.3 ? { with: [pick(USERS), pick(USERS)] } : {}),
          ...(kind > 0.75 ? { group: pick(GROUPS) } : {}),
          allowConflict: chance(0.5),
        },
        newEventId(),
      );
    } else if (roll < 0.45 && eventIds.length > 0) {
      push(actor, {
        type: 'event.update',
        eventId: pick(eventIds),
        changes: chance(0.5) ? { start: slot() } : { title: `u${n}`, visibility: 'public' },
        ...(chance(0.2) ? { invite: [pick(USERS)] } : {}),
        allowConflict: chance(0.5),
      });
    } else if (roll < 0.62 && eventIds.length > 0) {
      push(actor, {
        type: chance(0.6) ? 'invitation.accept' : 'invitation.decline',
        eventId: pick(eventIds),
      });
    } else if (roll < 0.67 && eventIds.length > 0) {
      const which = random();
      if (which < 0.4) push(actor, { type: 'event.cancel', eventId: pick(eventIds) });
      else if (which < 0.7) {
        push(actor, {
          type: 'event.cancelOccurrence',
          eventId: pick(eventIds),
          occurrenceStart: slot(),
        });
      } else {
        // One occurrence changed on its own becomes an event with a fresh id.
        push(
          actor,
          {
            type: 'event.updateOccurrence',
            eventId: pick(eventIds),
            occurrenceStart: slot(),
            changes: chance(0.5) ? { start: slot() } : { title: `o${n}` },
            allowConflict: chance(0.5),
          },
          newEventId(),
        );
      }
    } else if (roll < 0.8) {
      const group = pick(GROUPS);
      const other = pick(USERS);
      const which = random();
      push(
        actor,
        which < 0.3
          ? {
              type: 'group.addMember',
              group,
              username: other,
              ...(group !== 'g-flat' && chance(0.7) ? { level: Math.floor(random() * 4) } : {}),
            }
          : which < 0.4
            ? { type: 'group.join', group }
            : which < 0.45
              ? { type: 'group.decline', group, block: chance(0.3) }
              : which < 0.6
                ? { type: 'group.removeMember', group, username: other }
                : which < 0.7
                  ? { type: 'group.leave', group }
                  : which < 0.85
                    ? {
                        type: 'group.changeLevel',
                        group,
                        username: other,
                        level: 1 + Math.floor(random() * 3),
                      }
                    : { type: 'group.transferOwnership', group, to: other },
      );
    } else if (roll < 0.84) {
      const count = 1 + Math.floor(random() * 3);
      const events = Array.from({ length: count }, (_, i) => {
        const series = draft();
        // Changed occurrences (RECURRENCE-ID) of a series: moved, cancelled, or at a start
        // the rule does not have (refused); a one-off's are refused too.
        const occurrences = chance(0.4)
          ? Array.from({ length: 1 + Math.floor(random() * 2) }, (__, k) => {
              const occurrenceStart = series.start + (k + (chance(0.1) ? 0.5 : 1)) * 2 * 24 * HOUR;
              return chance(0.3)
                ? { occurrenceStart, cancelled: true as const }
                : {
                    occurrenceStart,
                    draft: {
                      title: `moved${n}`,
                      start: occurrenceStart + HOUR,
                      end: occurrenceStart + 2 * HOUR,
                    },
                  };
            })
          : [];
        return {
          uid: `u${i}`,
          draft: series,
          ...(occurrences.length === 0 ? {} : { occurrences }),
        };
      });
      const body: CommandBody = { type: 'event.import', events, allowConflict: chance(0.5) };
      push(
        actor,
        body,
        Array.from({ length: freshIdCount(body) }, () => newEventId()[0] ?? ''),
      );
    } else if (roll < 0.9) {
      push(null, {
        type: 'registry.cas',
        key: pick(['redis/primary', 'vip']),
        expectedEpoch: chance(0.2) ? null : Math.floor(random() * 4),
        value: `v${n}`,
      });
    } else {
      const name = pick(['supervisor', 'vip']);
      const holder = pick(['s1', 's2', 's3']);
      push(
        null,
        chance(0.75)
          ? { type: 'lease.acquire', name, holder, ttlMs: 1 + Math.floor(random() * 120_000) }
          : { type: 'lease.release', name, holder },
      );
    }
  }
  return log.slice(0, length);
}

/**
 * The attendee rows whose version is not their event's key version, or for a declined row
 * one between 1 and it (key-versions.ts): none, in a good image.
 */
function attendeeVersionsAstray(SQL: SqlJsStatic, image: Uint8Array): unknown[][] {
  const db = new SQL.Database(image);
  try {
    const rows = db.exec(`SELECT a.event_id, a.username, a.status, a.mod_index, k.mod_index
      FROM attendees a LEFT JOIN key_versions k ON k.key = 'event/' || a.event_id
      WHERE CASE WHEN a.status = 'declined'
        THEN a.mod_index NOT BETWEEN 1 AND coalesce(k.mod_index, 0)
        ELSE a.mod_index IS NOT coalesce(k.mod_index, 0) END`);
    const checked = db.exec('SELECT count(*) FROM attendees')[0]?.values[0]?.[0];
    if (Number(checked) === 0) return [['no attendee row to check']];
    return rows[0]?.values ?? [];
  } finally {
    db.close();
  }
}

function applyInBatches(store: CalendarStore, log: Uint8Array[], sizes: () => number, first = 1) {
  const results: StoreResult[] = [];
  for (let i = 0; i < log.length;) {
    const batch = log.slice(i, i + sizes());
    results.push(...store.apply(entries(batch, first + i)));
    i += batch.length;
  }
  return results;
}

for (const seed of [1, 2, 3]) {
  test(`seed ${seed}: replicas agree byte for byte whatever the batching, and across a snapshot`, async (t) => {
    const log = randomLog(seed, 700);
    const SQL = await loadSqlJs();
    const one = await openStore(KEEP_ALL);
    const oneResults = applyInBatches(one, log, () => 1);

    const random = seededRandom(seed * 7919);
    const batched = await openStore(KEEP_ALL);
    const batchedResults = applyInBatches(batched, log, () => 1 + Math.floor(random() * 40));
    t.deepEqual(batchedResults, oneResults);
    const image = one.snapshot();
    t.deepEqual(batched.snapshot(), image);

    const half = Math.floor(log.length / 2);
    const before = await openStore(KEEP_ALL);
    applyInBatches(before, log.slice(0, half), () => 25);
    const restored = await openStore(KEEP_ALL);
    restored.restore(before.snapshot());
    const restoredResults = applyInBatches(restored, log.slice(half), () => 25, half + 1);
    t.deepEqual(restoredResults, oneResults.slice(half));
    t.deepEqual(restored.snapshot(), image);

    // Reads agree too.
    const read = {
      v: 1,
      actor: 'ana',
      at: Date.UTC(2025, 1, 1),
      body: {
        type: 'agenda.view',
        targets: { users: USERS },
        from: START,
        to: START + 21 * 24 * HOUR,
      },
    } as const;
    t.deepEqual(restored.query(read), one.query(read));

    // Every attendee row keeps its event's version (schema 19), which CalDAV sync reads.
    t.deepEqual(attendeeVersionsAstray(SQL, image), []);

    // The log is worth its name: plenty of commands applied, plenty refused.
    const ok = oneResults.filter((r) => r.ok).length;
    const codes = new Set<string>(oneResults.flatMap((r) => (r.ok ? [] : [r.error.code])));
    t.true(ok > log.length * 0.25, `${ok} of ${log.length} applied`);
    t.true(oneResults.some((r) => r.replayed));
    for (const code of ['invalid', 'forbidden', 'not_found', 'conflict'])
      t.true(codes.has(code), code);
    for (const store of [one, batched, before, restored]) store.close();
  });
}

/**
 * The log as the DB leader writes it: each command decided on the leader's applied state,
 * up to `pipeline` decided before the earlier ones applied (so some effects come back stale
 * and are decided again, as in DbService), the effects appended to the log in order.
 */
function effectLog(
  leader: CalendarStore,
  commands: readonly Uint8Array[],
  pipeline: () => number,
): { log: Uint8Array[]; results: StoreResult[]; stale: number } {
  const log: Uint8Array[] = [];
  const results: StoreResult[] = [];
  let stale = 0;
  // Malformed commands never reach the log: the DB service refuses them before deciding.
  const queue = commands.flatMap((bytes) => {
    try {
      return [parseCommand(JSON.parse(new TextDecoder().decode(bytes)))];
    } catch {
      return [];
    }
  });
  while (queue.length > 0) {
    const batch = queue.splice(0, pipeline());
    const decided = batch.map((command) => ({ command, decided: leader.decide(command) }));
    const again: StoreCommand[] = [];
    for (const { command, decided: d } of decided) {
      if (d.kind === 'answer') {
        results.push(d.result);
        continue;
      }
      const [result] = leader.apply([{ index: log.length + 1, term: 1, data: d.entry }]);
      log.push(d.entry);
      if (result?.ok === false && result.stale === true) {
        stale++;
        again.push(command);
      } else if (result !== undefined) results.push(result);
    }
    queue.unshift(...again);
  }
  return { log, results, stale };
}

for (const seed of [4, 5]) {
  test(`seed ${seed}: effects decided by a pipelining leader apply byte-identically on replicas, whatever the batching`, async (t) => {
    const commands = randomLog(seed, 600);
    const random = seededRandom(seed * 104_729);
    const leader = await openStore(KEEP_ALL);
    const { log, results, stale } = effectLog(leader, commands, () => 1 + Math.floor(random() * 6));
    t.true(stale > 0, 'some effects were decided on a state that changed before they applied');
    t.true(results.filter((r) => r.ok).length > commands.length * 0.25);

    const image = leader.snapshot();
    const follower = await openStore(KEEP_ALL);
    const followerResults = applyInBatches(follower, log, () => 1 + Math.floor(random() * 40));
    t.deepEqual(follower.snapshot(), image);
    t.deepEqual(
      followerResults.filter((r) => !(r.ok === false && r.stale === true)).length,
      log.length - stale,
    );

    // A replica that joins from a snapshot halfway applies the rest to the same image.
    const half = Math.floor(log.length / 2);
    const before = await openStore(KEEP_ALL);
    applyInBatches(before, log.slice(0, half), () => 17);
    const restored = await openStore(KEEP_ALL);
    restored.restore(before.snapshot());
    applyInBatches(restored, log.slice(half), () => 17, half + 1);
    t.deepEqual(restored.snapshot(), image);
    for (const store of [leader, follower, before, restored]) store.close();
  });
}

/** Every row of every table of an image, table by table, with its page and free-page counts. */
function rowsOf(SQL: SqlJsStatic, image: Uint8Array): Record<string, string> {
  const db = new SQL.Database(image);
  try {
    const tables = (
      db.exec("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")[0]?.values ?? []
    ).map((row) => String(row[0]));
    const rows: Record<string, string> = {};
    for (const table of tables) {
      rows[table] = JSON.stringify(
        db.exec(`SELECT * FROM "${table}" ORDER BY 1, 2`)[0]?.values ?? [],
      );
    }
    rows['(pages)'] = JSON.stringify([
      db.exec('PRAGMA page_count')[0]?.values[0]?.[0],
      db.exec('PRAGMA freelist_count')[0]?.values[0]?.[0],
    ]);
    return rows;
  } finally {
    db.close();
  }
}

test('with the request log forgetting as it goes, replicas agree row for row whatever the batching', async (t) => {
  const SQL = await loadSqlJs();
  const log = randomLog(6, 700);
  const retention = { retention: { maxRequests: 50, maxAgeMs: 2 * 3_600_000 } };
  const one = await openStore(retention);
  const oneResults = applyInBatches(one, log, () => 1);
  const random = seededRandom(6 * 7919);
  const batched = await openStore(retention);
  t.deepEqual(
    applyInBatches(batched, log, () => 1 + Math.floor(random() * 40)),
    oneResults,
  );
  t.deepEqual(rowsOf(SQL, batched.snapshot()), rowsOf(SQL, one.snapshot()));
  for (const store of [one, batched]) store.close();
});
