/**
 * The DB service as five real processes: commands sent to a follower reach the leader,
 * killing the leader under load loses nothing acknowledged and applies nothing twice, and
 * malformed requests get clear 4xx answers without hurting the service.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, Agent } from 'undici';
import { ProcessCluster, type StatusProbe } from '../../raft/cluster/process-cluster.js';
import type { NetAddress } from '../../base/host-port.js';
import { DbClient, type CommandInput } from '../../server/db/client.js';

const BASE_PORT = 27_000;
const ENTRY = resolve(fileURLToPath(new URL('../../server/db/main.ts', import.meta.url)));

interface Harness {
  cluster: ProcessCluster;
  /** The users service's view: it registers and looks users up. */
  db: DbClient;
  /** The operator's: members' status. */
  operatorDb: DbClient;
  probe: StatusProbe;
  apiOf: (id: number) => NetAddress;
}

async function withCluster(
  t: { timeout: (ms: number) => void },
  run: (h: Harness) => Promise<void>,
): Promise<void> {
  t.timeout(240_000);
  const dir = mkdtempSync(join(tmpdir(), 'agenda-db-'));
  const cluster = await ProcessCluster.start({
    dir,
    size: 5,
    basePort: BASE_PORT,
    entry: ENTRY,
    clusterId: 'agenda-db',
    roles: { members: 'db', client: 'users' },
  });
  const members = new Map([...cluster.members].map(([id, m]) => [id, m.client]));
  const db = new DbClient({ members, tls: cluster.tls, deadlineMs: 15_000 });
  const operatorDb = new DbClient({
    members,
    tls: await cluster.clientTls('operator', 'operator'),
    deadlineMs: 15_000,
  });
  const probe: StatusProbe = (m) =>
    operatorDb
      .status(m.client, 1_000)
      .then((s) => s.member)
      .catch(() => null);
  try {
    await cluster.waitForLeader(probe);
    await run({
      cluster,
      db,
      operatorDb,
      probe,
      apiOf: (id) => cluster.members.get(id)?.client ?? { host: '127.0.0.1', port: 0 },
    });
  } finally {
    await db.close();
    await operatorDb.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const register = (username: string, requestId = `reg-${username}`): CommandInput => ({
  v: 1,
  requestId,
  actor: null,
  ids: [],
  body: { type: 'user.register', username, passwordHash: `scrypt$test$${username}` },
});

test.serial(
  'commands through a follower reach the leader; a leader killed under load loses nothing',
  async (t) => {
    await withCluster(t, async ({ cluster, db, probe, apiOf }) => {
      const statuses = await cluster.statuses(probe);
      const leader = statuses.find((s) => s.role === 'leader')?.id;
      const follower = statuses.find((s) => s.role === 'follower')?.id;
      t.truthy(leader);
      t.truthy(follower);
      if (!leader || !follower) return;

      // A client that only knows a follower still gets its command applied.
      const viaFollower = new DbClient({
        members: new Map([[follower, apiOf(follower)]]),
        tls: cluster.tls,
      });
      const first = await viaFollower.command(register('via-follower'));
      t.true(first.ok);
      const seen = await viaFollower.query(null, { type: 'user.lookup', username: 'via-follower' });
      t.true(seen.ok, 'a linearizable read on the follower sees the write');
      await viaFollower.close();

      // 300 registrations from 20 concurrent clients; the leader dies a third of the way in.
      const names = Array.from({ length: 300 }, (_, i) => `user-${i}`);
      let done = 0;
      const acked: string[] = [];
      const replays: string[] = [];
      const failures: string[] = [];
      const killer = (async () => {
        while (done < 100) await new Promise((r) => setTimeout(r, 5));
        await cluster.kill(leader, 'SIGKILL');
      })();
      const queue = [...names];
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          for (let name = queue.shift(); name; name = queue.shift()) {
            try {
              const r = await db.command(register(name));
              if (r.ok) acked.push(name);
              else failures.push(`${name}: ${r.error.code} ${r.error.message}`);
              if (r.replayed) replays.push(name);
            } catch (err) {
              failures.push(`${name}: ${(err as Error).message}`);
            }
            done++;
          }
        }),
      );
      await killer;
      t.deepEqual(failures, [], 'every registration was eventually acknowledged');
      t.is(acked.length, names.length);
      t.log(
        `${replays.length} commands were retried after the leader died and answered from the request log`,
      );

      // Every acknowledged user exists, exactly once, as seen by the new leader.
      await cluster.waitForLeader(probe, 20_000, leader);
      for (const name of acked) {
        const r = await db.query(null, { type: 'user.lookup', username: name });
        t.true(r.ok, `${name} survived the failover`);
      }
      // A retry of an already-applied request answers the original result, it does not fail.
      const again = await db.command(register('user-7'));
      t.true(again.ok && again.replayed);
      // A new request for the same username is refused as a conflict: nothing applies twice.
      const dup = await db.command(register('user-7', 'another-request'));
      t.false(dup.ok);
      if (!dup.ok) t.is(dup.error.code, 'conflict');

      await cluster.startMember(leader);
    });
  },
);

test.serial('malformed requests get a clear 4xx and the service keeps serving', async (t) => {
  await withCluster(t, async ({ cluster, db, operatorDb, probe, apiOf }) => {
    const agent = new Agent({
      connect: { ca: cluster.tls.ca, cert: cluster.tls.cert, key: cluster.tls.key },
    });
    const operatorTls = await cluster.clientTls('operator', 'operator');
    const operatorAgent = new Agent({
      connect: { ca: operatorTls.ca, cert: operatorTls.cert, key: operatorTls.key },
    });
    const api = apiOf(1);
    const call = async (
      path: string,
      body: string,
      contentType = 'application/json',
      method = 'POST',
    ) => {
      const res = await request(`https://${api.host}:${api.port}${path}`, {
        method: method as 'POST',
        dispatcher: agent,
        headers: { 'content-type': contentType },
        ...(method === 'GET' ? {} : { body }),
      });
      const json = (await res.body.json()) as { error?: { code: string; message: string } };
      return { status: res.statusCode, error: json.error };
    };
    const cases: [
      string,
      Promise<{ status: number; error?: { code: string; message: string } }>,
      number,
      RegExp,
    ][] = [
      ['bad JSON', call('/v1/commands', '{"v":1,'), 400, /not valid JSON/],
      ['not JSON', call('/v1/commands', 'hello', 'text/plain'), 415, /must be JSON/],
      [
        'unknown field',
        call('/v1/commands', JSON.stringify({ ...register('x'), extra: 1 })),
        400,
        /extra|Unrecognized/i,
      ],
      [
        'wrong type',
        call('/v1/commands', JSON.stringify({ ...register('x'), ids: 'nope' })),
        400,
        /ids/,
      ],
      [
        'other version',
        call('/v1/commands', JSON.stringify({ ...register('x'), v: 9 })),
        400,
        /version/,
      ],
      ['an array', call('/v1/queries', '[]'), 400, /query object/],
      [
        'injection-looking text',
        call(
          '/v1/queries',
          JSON.stringify({
            v: 1,
            actor: null,
            body: { type: "user.lookup'; DROP TABLE users;--" },
          }),
        ),
        400,
        /body|type|Invalid/i,
      ],
      [
        'huge body',
        call('/v1/commands', JSON.stringify({ pad: 'x'.repeat(9 << 20) })),
        413,
        /larger than/,
      ],
      ['unknown route', call('/v1/nothing', '{}'), 404, /no route/],
      ['wrong method', call('/v1/commands', '', 'application/json', 'GET'), 405, /not allowed/],
      ['bad consistency', call('/v1/queries?consistency=eventual', '{}'), 400, /consistency/],
      ['a batch that is a list', call('/v1/command-batch', '[]'), 400, /"commands"/],
      ['an empty batch', call('/v1/command-batch', '{"commands":[]}'), 400, /1 to 64/],
      [
        'a batch too big',
        call(
          '/v1/command-batch',
          JSON.stringify({ commands: Array.from({ length: 65 }, (_, i) => register(`b${i}`)) }),
        ),
        400,
        /1 to 64/,
      ],
      [
        'a batch with more than commands',
        call('/v1/command-batch', JSON.stringify({ commands: [register('x')], also: 1 })),
        400,
        /"commands"/,
      ],
      [
        'a batch read with GET',
        call('/v1/command-batch', '', 'application/json', 'GET'),
        405,
        /not allowed/,
      ],
    ];
    for (const [name, pending, status, reason] of cases) {
      const { status: got, error } = await pending;
      t.is(got, status, name);
      t.regex(error?.message ?? '', reason, name);
    }
    // A batch, sent to a follower: each command applied once with its own answer, a
    // malformed one refused alone, and the same batch again answered from the request log.
    const follower = (await cluster.statuses(probe)).find((s) => s.role === 'follower');
    t.truthy(follower);
    const followerApi = apiOf(follower?.id ?? 1);
    const batch = JSON.stringify({
      commands: [
        register('batched-1'),
        { ...register('batched-bad'), ids: 'nope' },
        register('batched-1', 'reg-batched-1-again'),
        register('batched-2'),
      ],
    });
    for (const replayed of [false, true]) {
      const res = await request(
        `https://${followerApi.host}:${followerApi.port}/v1/command-batch`,
        {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json' },
          body: batch,
        },
      );
      t.is(res.statusCode, 200);
      const { result } = (await res.body.json()) as {
        result: {
          results: {
            result?: { ok: boolean; replayed: boolean; error?: { code: string } };
            error?: { code: string; message: string };
          }[];
        };
      };
      const [first, bad, taken, second] = result.results;
      t.deepEqual([first?.result?.ok, first?.result?.replayed], [true, replayed]);
      t.is(bad?.error?.code, 'invalid');
      t.regex(bad?.error?.message ?? '', /ids/);
      t.deepEqual([taken?.result?.ok, taken?.result?.error?.code], [false, 'conflict']);
      t.deepEqual([second?.result?.ok, second?.result?.replayed], [true, replayed]);
    }
    // The commands of one batch are decided together and proposed together: they share log
    // appends, so the leader syncs a few times for 32 commands, not once for each.
    const leaderId = (await cluster.statuses(probe)).find((s) => s.role === 'leader')?.id ?? 1;
    const leaderApi = apiOf(leaderId);
    const fsyncs = async () => (await operatorDb.status(leaderApi)).member.metrics.fsyncs;
    const before = await fsyncs();
    const res = await request(`https://${leaderApi.host}:${leaderApi.port}/v1/command-batch`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        commands: Array.from({ length: 32 }, (_, i) => register(`together-${i}`)),
      }),
    });
    const together = (await res.body.json()) as { result: { results: { result?: unknown }[] } };
    t.is(together.result.results.filter((x) => x.result !== undefined).length, 32);
    const synced = (await fsyncs()) - before;
    t.true(synced <= 8, `${synced} leader fsyncs for one batch of 32 commands`);

    // Still serving, and nothing odd got into the store.
    const r = await db.command(register('after-the-garbage'));
    t.true(r.ok);
    const injected = await db.query(null, {
      type: 'user.lookup',
      username: "x'; DROP TABLE users;--",
    });
    t.false(injected.ok);

    // Operators read each member's metrics: its event loop, its Raft state, fsync and apply times.
    const metrics = await request(`https://${followerApi.host}:${followerApi.port}/metrics`, {
      dispatcher: operatorAgent,
    });
    t.is(metrics.statusCode, 200);
    const text = await metrics.body.text();
    for (const name of [
      'agenda_event_loop_delay_worst_seconds',
      'process_resident_memory_bytes',
      'agenda_raft_term',
      'agenda_raft_applied_index',
      'agenda_raft_fsync_seconds_bucket',
      'agenda_raft_apply_seconds_bucket',
    ]) {
      t.regex(text, new RegExp(`^${name}\\{[^}]*member="db-${follower?.id ?? 1}"`, 'm'), name);
    }
    await agent.close();
    await operatorAgent.close();
  });
});
