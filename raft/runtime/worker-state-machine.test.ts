/**
 * Consensus never waits for the state machine: members whose machine runs in a worker keep
 * their leader, their term and their event loop while every apply and every query takes
 * seconds; a worker that dies stops its member instead of leaving it serving half a state.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createCertificateAuthority, issueCertificate } from '../../base/pki.js';
import type { NodeId } from '../core/types.js';
import {
  encodeKvCommand,
  type KvQuery,
  type KvReadResult,
  type KvResult,
} from '../kv/kv-state-machine.js';
import { silentLogger } from '../../base/log.js';
import { RaftNode, type MemberAddress } from './raft-node.js';
import type { SlowKvOptions } from './test-support.js';
import { MAX_OVERTAKEN, WorkerStateMachine } from './worker-state-machine.js';

const BASE_PORT = 26_100;
type KvNode = RaftNode<KvResult, KvQuery, KvReadResult>;

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Starts members 1..3 on `basePort + id`, each with its machine in a worker. */
async function startCluster(basePort: number, machine: (id: NodeId) => SlowKvOptions) {
  const dir = mkdtempSync(join(tmpdir(), 'agenda-raft-worker-'));
  const ca = await createCertificateAuthority();
  const members = new Map<NodeId, MemberAddress>(
    [1, 2, 3].map((id) => [id, { raft: { host: '127.0.0.1', port: basePort + id } }]),
  );
  const nodes = new Map<NodeId, KvNode>();
  const machines: WorkerStateMachine<KvResult, KvQuery, KvReadResult>[] = [];
  const fatal = new Map<NodeId, Error>();
  for (const id of members.keys()) {
    const cert = await issueCertificate(ca, {
      name: `member-${id}`,
      ipAddresses: ['127.0.0.1'],
      usages: 'both',
      days: 1,
    });
    const sm = await WorkerStateMachine.start<KvResult, KvQuery, KvReadResult>({
      module: new URL('./test-support.js', import.meta.url),
      options: machine(id),
    });
    machines.push(sm);
    const node = await RaftNode.start(
      {
        id,
        clusterId: 'worker-test',
        dataDir: join(dir, `m${id}`),
        members,
        tls: { ca: ca.certPem, cert: cert.certPem, key: cert.keyPem },
        tickMs: 20,
        logger: silentLogger,
      },
      sm,
    );
    node.onFatal = (error) => fatal.set(id, error);
    nodes.set(id, node);
  }
  const leader = () => [...nodes.values()].find((n) => n.status().role === 'leader');
  await until('a leader', () => leader() !== undefined);
  return {
    nodes,
    fatal,
    leader,
    close: async () => {
      await Promise.all([...nodes.values()].map((n) => n.close()));
      await Promise.all(machines.map((m) => m.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('applies and queries of 5 s each leave the leader, the term and the event loop alone', async (t) => {
  t.timeout(60_000);
  const cluster = await startCluster(BASE_PORT, () => ({ applyMs: 5_000, queryMs: 5_000 }));
  const delay = monitorEventLoopDelay({ resolution: 10 });
  try {
    const leader = cluster.leader();
    if (!leader) throw new Error('no leader');
    const { term, leader: leaderId } = leader.status();
    await until('every member to follow the leader', () =>
      [...cluster.nodes.values()].every((n) => n.status().leader === leaderId),
    );
    // What every member believes, sampled while the machines are busy.
    const beliefs = new Set<string>();
    const sample = setInterval(() => {
      for (const n of cluster.nodes.values()) {
        const s = n.status();
        beliefs.add(`${s.role === 'leader' ? 'leader' : 'other'}:${s.leader}:${s.term}`);
      }
    }, 50);
    delay.enable();
    const started = performance.now();
    const written = leader.propose(encodeKvCommand({ op: 'put', key: 'k', value: 'v' }), {
      timeoutMs: 30_000,
    });
    t.deepEqual(await written, { ok: true, prev: null });
    // Asked once the write is done, so it must see it (asked together, it may go first: the
    // two would be concurrent, and a read index taken before the write commits is right).
    const read = leader.read({ op: 'get', key: 'k' }, { timeoutMs: 30_000 });
    t.deepEqual(await read, { value: 'v' });
    const took = performance.now() - started;
    delay.disable();
    clearInterval(sample);

    t.true(took >= 9_000, `the apply and the read took their 10 s (${Math.round(took)} ms)`);
    for (const n of cluster.nodes.values()) {
      t.is(n.status().term, term, `member ${n.id} is still in term ${term}`);
      t.is(n.status().leader, leaderId, `member ${n.id} still follows member ${leaderId}`);
    }
    t.deepEqual(
      [...beliefs].sort(),
      [`leader:${leaderId}:${term}`, `other:${leaderId}:${term}`],
      'nobody ever saw another leader or term',
    );
    const worstMs = delay.max / 1e6;
    t.true(worstMs < 250, `the members' event loop was never held up long (worst ${worstMs} ms)`);
    t.is(cluster.fatal.size, 0);
  } finally {
    delay.disable();
    await cluster.close();
  }
});

test('a state machine worker that dies stops its member', async (t) => {
  t.timeout(30_000);
  const cluster = await startCluster(BASE_PORT + 10, (id) => ({ crashOnApply: id === 1 }));
  try {
    const leader = cluster.leader();
    if (!leader) throw new Error('no leader');
    await leader
      .propose(encodeKvCommand({ op: 'put', key: 'k', value: 'v' }), {
        timeoutMs: 10_000,
      })
      .catch(() => undefined);
    await until('member 1 to stop', () => cluster.fatal.has(1));
    t.regex(cluster.fatal.get(1)?.message ?? '', /worker exited/);
    t.false(cluster.fatal.has(2) || cluster.fatal.has(3), 'the other members keep going');
  } finally {
    await cluster.close();
  }
});

test('applies and urgent queries go before the ordinary queries waiting, in their own order', async (t) => {
  const sm = await WorkerStateMachine.start<KvResult, KvQuery, KvReadResult>({
    module: new URL('./test-support.js', import.meta.url),
    options: { queryMs: 60 } satisfies SlowKvOptions,
    urgent: (query) => (query as KvQuery).key.startsWith('lease'),
  });
  t.teardown(() => sm.close());
  const order: string[] = [];
  let leaseSeen: string | null | undefined;
  const query = (key: string) =>
    new Promise<void>((resolve, reject) =>
      sm.startQuery({ op: 'get', key }, (error, answer) => {
        if (error) return reject(error);
        order.push(key);
        if (key === 'lease') leaseSeen = answer?.value;
        resolve();
      }),
    );
  const applyPut = () =>
    new Promise<void>((resolve, reject) =>
      sm.startApply(
        [{ index: 1, term: 1, data: encodeKvCommand({ op: 'put', key: 'lease', value: 'held' }) }],
        (error) => {
          if (error) return reject(error);
          order.push('apply');
          resolve();
        },
      ),
    );
  // q1 goes to the worker, q2..q4 wait (one ordinary query in the worker at a time); then
  // the apply, q5 and q6; the lease read is asked for last.
  const ordinary = ['q1', 'q2', 'q3', 'q4'].map(query);
  const apply = applyPut();
  const afterApply = ['q5', 'q6'].map(query);
  const lease = query('lease');
  await Promise.all([...ordinary, apply, ...afterApply, lease]);
  t.deepEqual(order, ['q1', 'apply', 'lease', 'q2', 'q3', 'q4', 'q5', 'q6']);
  t.is(leaseSeen, 'held', 'it still saw the apply handed over before it');
});

test('a stream of applies overtakes a waiting ordinary query a bounded number of times', async (t) => {
  const sm = await WorkerStateMachine.start<KvResult, KvQuery, KvReadResult>({
    module: new URL('./test-support.js', import.meta.url),
    options: { queryMs: 60 } satisfies SlowKvOptions,
  });
  t.teardown(() => sm.close());
  const order: string[] = [];
  const query = (key: string) =>
    new Promise<void>((resolve, reject) =>
      sm.startQuery({ op: 'get', key }, (error) => {
        if (error) return reject(error);
        order.push(key);
        resolve();
      }),
    );
  const applyPut = (index: number) =>
    new Promise<void>((resolve, reject) =>
      sm.startApply(
        [{ index, term: 1, data: encodeKvCommand({ op: 'put', key: `k${index}`, value: 'v' }) }],
        (error) => {
          if (error) return reject(error);
          order.push(`apply${index}`);
          resolve();
        },
      ),
    );
  const queries = [query('q1'), query('q2')];
  const applies = Array.from({ length: MAX_OVERTAKEN + 8 }, (_, i) => applyPut(i + 1));
  await Promise.all([...queries, ...applies]);
  // q1 was in the worker; q2 let exactly MAX_OVERTAKEN applies go first, then had its turn.
  t.is(order.indexOf('q2'), 1 + MAX_OVERTAKEN);
  t.deepEqual(
    order.filter((o) => o.startsWith('apply')),
    applies.map((_, i) => `apply${i + 1}`),
    'the applies kept their order',
  );
});
