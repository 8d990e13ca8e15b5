/**
 * Membership changes on real members (in-process, loopback, mutual TLS, fsync): a new member
 * joins as a learner, catches up through a snapshot, is promoted, and an old one is removed —
 * while the cluster keeps serving.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../base/pki.js';
import type { NodeId } from '../../raft/core/types.js';
import {
  encodeKvCommand,
  KvStateMachine,
  type KvQuery,
  type KvReadResult,
  type KvResult,
} from '../../raft/kv/kv-state-machine.js';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { formatMemberAddress, RaftNode, type MemberAddress } from '../../raft/runtime/raft-node.js';
import { silentLogger } from '../../base/log.js';

const BASE_PORT = 26_000;
type KvNode = RaftNode<KvResult, KvQuery, KvReadResult>;

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a learner joins, catches up by snapshot, is promoted; a voter is removed; writes continue', async (t) => {
  t.timeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), 'agenda-raft-membership-'));
  const SQL = await loadSqlJs();
  const ca = await createCertificateAuthority();
  const address = (id: NodeId): MemberAddress => ({
    raft: { host: '127.0.0.1', port: BASE_PORT + id },
  });
  const initial = new Map<NodeId, MemberAddress>([1, 2, 3].map((id) => [id, address(id)]));
  const nodes = new Map<NodeId, KvNode>();
  const machines: KvStateMachine[] = [];
  const start = async (id: NodeId, members: Map<NodeId, MemberAddress>, joining: boolean) => {
    const cert = await issueCertificate(ca, {
      name: `member-${id}`,
      ipAddresses: ['127.0.0.1'],
      usages: 'both',
      days: 1,
    });
    const sm = new KvStateMachine(SQL);
    machines.push(sm);
    const node = await RaftNode.start(
      {
        id,
        clusterId: 'membership-test',
        dataDir: join(dir, `m${id}`),
        members,
        join: joining,
        tls: { ca: ca.certPem, cert: cert.certPem, key: cert.keyPem },
        tickMs: 20,
        snapshotEvery: 50,
        snapshotRetain: 5,
        logger: silentLogger,
      },
      sm,
    );
    nodes.set(id, node);
    return node;
  };
  const leader = () => [...nodes.values()].find((n) => n.status().role === 'leader');
  const write = async (key: string) => {
    await until('a leader', () => leader() !== undefined);
    const l = leader();
    if (!l) throw new Error('no leader');
    return l.propose(encodeKvCommand({ op: 'put', key, value: key }));
  };
  try {
    for (const id of [1, 2, 3]) await start(id, initial, false);
    for (let i = 0; i < 120; i++) await write(`before-${i}`);
    await until('a snapshot on the leader', () => (leader()?.status().snapshotIndex ?? 0) > 0);

    // Member 4 starts knowing only itself and the others' addresses, and waits to be added.
    const joiner = await start(4, new Map([...initial, [4, address(4)]]), true);
    t.is(joiner.status().role, 'follower');
    await leader()?.changeMembership({
      kind: 'addLearner',
      node: 4,
      address: formatMemberAddress(address(4)),
    });
    await until(
      'the learner to catch up',
      () => joiner.status().applied >= (leader()?.status().commit ?? Infinity),
    );
    t.true(joiner.status().snapshotIndex > 0, 'the learner was caught up with a snapshot');
    t.deepEqual(await joiner.read({ op: 'get', key: 'before-119' }), { value: 'before-119' });

    await leader()?.changeMembership({ kind: 'promote', node: 4 });
    await until('the promotion to apply everywhere', () =>
      [...nodes.values()].every((n) => n.status().conf.voters.includes(4)),
    );

    // Remove member 1 (whoever leads), stop it, and keep writing with 2, 3 and 4.
    await leader()?.changeMembership({ kind: 'remove', node: 1 });
    await until('the removal to apply', () =>
      [2, 3, 4].every((id) => !nodes.get(id)?.status().conf.voters.includes(1)),
    );
    await nodes.get(1)?.close();
    nodes.delete(1);
    for (let i = 0; i < 20; i++) await write(`after-${i}`);
    const l = leader();
    t.truthy(l);
    t.deepEqual(l?.status().conf, { voters: [2, 3, 4], learners: [] });
    t.deepEqual(await nodes.get(4)?.read({ op: 'get', key: 'after-19' }), { value: 'after-19' });
  } finally {
    await Promise.all([...nodes.values()].map((n) => n.close()));
    for (const sm of machines) sm.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
