/**
 * The leader decides each command once where it can: two imports by one user sent at once
 * (what `agenda import` does) are decided one after the other, each on the state the other
 * left, and neither is decided for nothing. Three members in this process, on ports
 * 31740–31759.
 */
import test from 'ava';
import { request } from 'undici';
import { freshIdsFor } from '../services/ids.js';
import type { CommandBody } from '../store/protocol.js';
import { startTestCluster, type TestCluster } from './test-cluster.js';

const BASE_PORT = 31740;

let cluster: TestCluster | undefined;
test.before(async () => {
  cluster = await startTestCluster(BASE_PORT, 'decisions-test');
});
test.after.always(async () => {
  await cluster?.close();
});

let requestIds = 0;
const SESSION = { generation: 0, sid: 'ivy-session' };

function command(actor: string | null, body: CommandBody) {
  return {
    v: 1,
    requestId: `decisions-${++requestIds}`,
    actor,
    ...(actor === null || body.type === 'session.open' ? {} : { session: SESSION }),
    ids: freshIdsFor(body),
    body,
  };
}

/** `count` one-hour events a day apart from `firstDay` (days since 2030-01-01), each a UID. */
function drafts(prefix: string, firstDay: number, count: number) {
  const base = Date.UTC(2030, 0, 1, 9);
  return Array.from({ length: count }, (_, i) => ({
    uid: `${prefix}-${i}@example.com`,
    draft: {
      title: `${prefix} ${i}`,
      start: base + (firstDay + i) * 86_400_000,
      end: base + (firstDay + i) * 86_400_000 + 3_600_000,
    },
  }));
}

/** The leader's `agenda_db_decisions_total`, by outcome. */
async function decisions(c: TestCluster, leader: number): Promise<Record<string, number>> {
  const response = await request(`https://127.0.0.1:${BASE_PORT + 10 + leader}/metrics`, {
    dispatcher: c.clients.get('operator')!,
  });
  const text = await response.body.text();
  const counts: Record<string, number> = {};
  for (const [, outcome, value] of text.matchAll(
    /^agenda_db_decisions_total\{[^}]*outcome="(\w+)"[^}]*\} (\d+)$/gm,
  )) {
    counts[outcome ?? ''] = Number(value);
  }
  return counts;
}

test('two imports of one user at once are each decided once, and the second sees the first', async (t) => {
  const c = cluster!;
  const leader = await c.leader();
  const users = c.clients.get('users')!;
  const run = async (actor: string | null, body: CommandBody) => {
    const answer = await c.call(users, leader, 'POST /v1/commands', command(actor, body));
    t.is(answer.status, 200, JSON.stringify(answer.body));
    return answer.body.result as { ok: boolean; result?: unknown; error?: { code: string } };
  };
  t.like(await run(null, { type: 'user.register', username: 'ivy', passwordHash: 'scrypt$x' }), {
    ok: true,
  });
  t.like(
    await run('ivy', { type: 'session.open', sid: SESSION.sid, ttlMs: 3_600_000, generation: 0 }),
    { ok: true },
  );
  const before = await decisions(c, leader);

  // The second file's first event overlaps the first file's last: a conflict is found only
  // if the second is decided on the state the first left (or the other way round).
  const first = drafts('first', 0, 150);
  const second = drafts('second', 149, 150);
  const [a, b] = await Promise.all([
    run('ivy', { type: 'event.import', events: first }),
    run('ivy', { type: 'event.import', events: second }),
  ]);
  const outcomes = [a, b].map(
    (r) => r.result as { events: { action: string }[]; failed: { error: { code: string } }[] },
  );
  t.true(a.ok && b.ok);
  t.is(
    outcomes.reduce((n, o) => n + o.events.length, 0),
    299,
    'all but one imported',
  );
  t.deepEqual(
    outcomes.flatMap((o) => o.failed.map((f) => f.error.code)),
    ['conflict'],
  );

  const after = await decisions(c, leader);
  const delta = (outcome: string) => (after[outcome] ?? 0) - (before[outcome] ?? 0);
  t.is(delta('proposed'), 2);
  t.is(delta('waited'), 0, 'neither import was decided for nothing');
  t.is(delta('stale'), 0);
});
