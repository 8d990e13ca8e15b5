/**
 * `RaftNode.whenLeaderKnown`: what a member's API uses to hold a request during an election
 * (the DB service's followers do) instead of refusing it and leaving the retry to the client.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../base/pki.js';
import type { NodeId } from '../core/types.js';
import {
  KvStateMachine,
  type KvQuery,
  type KvReadResult,
  type KvResult,
} from '../kv/kv-state-machine.js';
import { loadSqlJs } from '../kv/sql.js';
import { silentLogger } from '../../base/log.js';
import { RaftNode, type MemberAddress } from './raft-node.js';

const BASE_PORT = 26_200;
type KvNode = RaftNode<KvResult, KvQuery, KvReadResult>;

/** Members 1..3, in this process, each waiting for `start` to be called. */
async function prepareCluster(basePort: number) {
  const dir = mkdtempSync(join(tmpdir(), 'agenda-raft-node-'));
  const ca = await createCertificateAuthority();
  const members = new Map<NodeId, MemberAddress>(
    [1, 2, 3].map((id) => [id, { raft: { host: '127.0.0.1', port: basePort + id } }]),
  );
  const nodes = new Map<NodeId, KvNode>();
  const start = async (id: NodeId): Promise<KvNode> => {
    const cert = await issueCertificate(ca, {
      name: `member-${id}`,
      ipAddresses: ['127.0.0.1'],
      usages: 'both',
      days: 1,
    });
    const node = await RaftNode.start(
      {
        id,
        clusterId: 'raft-node-test',
        dataDir: join(dir, `m${id}`),
        members,
        tls: { ca: ca.certPem, cert: cert.certPem, key: cert.keyPem },
        tickMs: 20,
        logger: silentLogger,
      },
      new KvStateMachine(await loadSqlJs()),
    );
    nodes.set(id, node);
    return node;
  };
  return {
    nodes,
    start,
    close: async () => {
      await Promise.all([...nodes.values()].map((n) => n.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('whenLeaderKnown: resolves as the first election ends, and again when the next one does', async (t) => {
  t.timeout(60_000);
  const cluster = await prepareCluster(BASE_PORT);
  try {
    const first = await cluster.start(1);
    t.is(await first.whenLeaderKnown(0), 0, 'no wait asked: what the member knows now');
    t.is(await first.whenLeaderKnown(100), 0, 'alone, member 1 cannot elect anyone');

    // Asked before the others start: answered by the election, not by the bound.
    const waiting = first.whenLeaderKnown(30_000);
    await cluster.start(2);
    await cluster.start(3);
    const leader = await waiting;
    t.true([1, 2, 3].includes(leader), `elected: ${leader}`);
    t.is(await first.whenLeaderKnown(30_000), leader, 'a known leader answers at once');

    // The leader goes: a follower asked for a leader other than it waits for the next one.
    const follower = [...cluster.nodes.values()].find((n) => n.id !== leader);
    if (!follower) return t.fail('no follower');
    const next = follower.whenLeaderKnown(30_000, leader);
    await cluster.nodes.get(leader)?.close();
    const newLeader = await next;
    t.not(newLeader, leader);
    t.not(newLeader, 0);
  } finally {
    await cluster.close();
  }
});

test('whenLeaderKnown: closing the member answers every waiter with 0', async (t) => {
  t.timeout(30_000);
  const cluster = await prepareCluster(BASE_PORT + 10);
  try {
    const alone = await cluster.start(1);
    const waiting = alone.whenLeaderKnown(30_000);
    const started = Date.now();
    await alone.close();
    t.is(await waiting, 0);
    t.true(Date.now() - started < 10_000, 'not left to its bound');
    t.is(await alone.whenLeaderKnown(30_000), 0, 'a closed member does not wait');
  } finally {
    await cluster.close();
  }
});
