/**
 * Five member processes on loopback with mutual TLS and fsync, under kill -9, SIGSTOP/SIGCONT
 * and restarts while clients write and read: nothing acknowledged is lost, and the recorded
 * history is linearizable.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessCluster } from '../../raft/cluster/process-cluster.js';
import { decodeKvReadResult, decodeKvResult, encodeKvQuery } from '../../raft/kv/kv-codec.js';
import { encodeKvCommand, type KvCommand } from '../../raft/kv/kv-state-machine.js';
import { RaftError } from '../../raft/core/errors.js';
import type { RaftClient } from '../../raft/client/raft-client.js';
import { HistoryRecorder, type KvInput, type KvOutput } from '../../base/history.js';
import { checkKvHistory } from '../../base/linearizability.js';
import { seededRandom } from '../../base/rng.js';

const BASE_PORT = 25_000;

async function runOp(client: RaftClient, input: KvInput): Promise<KvOutput> {
  if (input.kind === 'get') {
    const r = decodeKvReadResult(
      await client.read(encodeKvQuery({ op: 'get', key: input.key }), { deadlineMs: 4_000 }),
    );
    return { kind: 'get', value: r.value };
  }
  const cmd: KvCommand =
    input.kind === 'put'
      ? { op: 'put', key: input.key, value: input.value }
      : input.kind === 'delete'
        ? { op: 'delete', key: input.key }
        : { op: 'cas', key: input.key, expected: input.expected, value: input.value };
  const r = decodeKvResult(await client.propose(encodeKvCommand(cmd), { deadlineMs: 4_000 }));
  if (input.kind === 'cas') return { kind: 'cas', ok: r.ok };
  return input.kind === 'put' ? { kind: 'put' } : { kind: 'delete' };
}

test('a 5-process cluster stays linearizable and loses nothing under kill -9, pauses and restarts', async (t) => {
  t.timeout(240_000);
  const dir = mkdtempSync(join(tmpdir(), 'agenda-raft-mp-'));
  const cluster = await ProcessCluster.start({
    dir,
    size: 5,
    basePort: BASE_PORT,
    snapshotEvery: 300,
    snapshotRetain: 50,
  });
  const admin = cluster.client();
  const recorder = new HistoryRecorder(() => performance.now());
  // Seeded so a failing run's workload can be reproduced (RAFT_MP_SEED).
  const random = seededRandom(Number(process.env.RAFT_MP_SEED ?? 7));
  const faults: string[] = [];
  try {
    await cluster.waitForLeader(admin);
    const keys = ['a', 'b', 'c', 'd'];
    let running = true;
    let acked = 0;
    const worker = async (clientId: number) => {
      const client = cluster.client(1_500);
      let n = 0;
      try {
        while (running) {
          const key = keys[Math.floor(random() * keys.length)] ?? 'a';
          const roll = random();
          const value = `${clientId}.${n++}`;
          const input: KvInput =
            roll < 0.45
              ? { kind: 'put', key, value }
              : roll < 0.85
                ? { kind: 'get', key }
                : {
                    kind: 'cas',
                    key,
                    expected:
                      random() < 0.5
                        ? null
                        : `${Math.floor(random() * 6)}.${Math.floor(random() * n)}`,
                    value,
                  };
          const op = recorder.invoke(clientId, input);
          try {
            const out = await runOp(client, input);
            recorder.complete(op, out);
            if (input.kind !== 'get') acked++;
          } catch (err) {
            if (!(err instanceof RaftError)) throw err;
            recorder.unknown(op);
          }
        }
      } finally {
        await client.close();
      }
    };
    const nemesis = async () => {
      const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const kinds = [
        'kill-leader',
        'pause-leader',
        'kill-follower',
        'pause-follower',
        'restart-all-but-two',
      ];
      for (let round = 0; round < 6; round++) {
        await pause(1_500);
        const statuses = await cluster.statuses(admin);
        const leader = statuses.find((s) => s.role === 'leader')?.id;
        const followers = [...cluster.members.keys()].filter((id) => id !== leader);
        const victimFollower = followers[Math.floor(random() * followers.length)] ?? 1;
        const kind = kinds[round % kinds.length];
        faults.push(`${kind} (leader was ${leader ?? 'none'})`);
        switch (kind) {
          case 'kill-leader':
            if (leader) {
              await cluster.kill(leader, 'SIGKILL');
              await pause(800);
              await cluster.startMember(leader);
            }
            break;
          case 'pause-leader':
            if (leader) {
              cluster.pause(leader);
              await pause(1_500);
              cluster.resume(leader);
            }
            break;
          case 'kill-follower':
            await cluster.kill(victimFollower, 'SIGKILL');
            await pause(500);
            await cluster.startMember(victimFollower);
            break;
          case 'pause-follower':
            cluster.pause(victimFollower);
            await pause(1_000);
            cluster.resume(victimFollower);
            break;
          default: {
            // Two members down at once: the remaining three still form a quorum.
            const [x, y] = followers;
            if (x && y) {
              await Promise.all([cluster.kill(x, 'SIGKILL'), cluster.kill(y, 'SIGKILL')]);
              await pause(1_000);
              await Promise.all([cluster.startMember(x), cluster.startMember(y)]);
            }
          }
        }
      }
      running = false;
    };
    await Promise.all([...Array.from({ length: 6 }, (_, i) => worker(i + 1)), nemesis()]);

    // Close the history with a linearizable read of every key.
    await cluster.waitForLeader(admin);
    const final = cluster.client();
    for (const key of keys) {
      const op = recorder.invoke(100, { kind: 'get', key });
      recorder.complete(op, await runOp(final, { kind: 'get', key }));
    }
    await final.close();

    const history = recorder.history();
    const verdict = checkKvHistory(history, { timeoutMs: 60_000 });
    t.log(`faults: ${faults.join('; ')}`);
    t.log(`${history.length} operations, ${acked} acknowledged writes, verdict ${verdict.verdict}`);
    t.true(acked > 50, 'the cluster kept accepting writes through the faults');
    t.is(verdict.verdict, 'linearizable', verdict.failure?.explanation);

    // Every member converges on the same applied state.
    const deadline = Date.now() + 20_000;
    let converged = false;
    while (!converged && Date.now() < deadline) {
      const st = await cluster.statuses(admin);
      const leader = st.find((s) => s.role === 'leader');
      converged =
        st.length === 5 && leader !== undefined && st.every((s) => s.applied === leader.commit);
      if (!converged) await new Promise((r) => setTimeout(r, 100));
    }
    t.true(converged, 'all five members applied the same log');
  } finally {
    await admin.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
