/**
 * Joining gossip the way the daemons do: key files (missing, short, padded, too open), the
 * protocol's timings, logging, a passive observer, and a port already taken. UDP ports
 * 30000–30009 on loopback.
 */
import test from 'ava';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RecordingLogger as BusRecordingLogger, createRedisTls } from '../bus/test-support.js';
import type { RedisTlsFiles } from '../bus/test-support.js';
import type { GossipConfig } from './config.js';
import { GossipError } from './errors.js';
import { waitFor } from './test-support.js';
import { joinGossip, protocolFor, readGossipKey } from './join.js';
import type { GossipNode } from './node.js';
import { OBSERVER_ROLE } from './types.js';
import { GossipView } from './view.js';

const KEY = 'a-cluster-key-of-32-characters!!';
const HOST = '127.0.0.1';

/** The bus tests' recording logger, plus the membership changes it saw. */
class RecordingLogger extends BusRecordingLogger {
  changes(): string[] {
    return this.lines
      .filter((line) => line.message === 'gossip membership changed')
      .map((line) => `${String(line.fields.change)} ${String(line.fields.member)}`);
  }
}

/** One CA for the file: each member joins under its own certificate, as in the lab. */
let pki: Promise<RedisTlsFiles> | null = null;
test.after.always(async () => (await pki)?.remove());
async function memberTls(id: string, role: string) {
  pki ??= createRedisTls();
  return (await pki).member(id, role === OBSERVER_ROLE ? 'operator' : (role as 'users'));
}

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agenda-gossip-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function config(port: number, seeds: number[], keyFile = 'gossip.key'): GossipConfig {
  return {
    listen: `${HOST}:${port}`,
    seeds: seeds.map((seed) => `${HOST}:${seed}`),
    keyFile,
    periodMs: 100,
  };
}

test('a missing key file is refused with the path and the reason', async (t) => {
  const dir = await tempDir(t);
  const missing = path.join(dir, 'nope.key');
  const error = await t.throwsAsync(readGossipKey(missing), { instanceOf: GossipError });
  t.is(error.code, 'invalid_config');
  t.true(error.message.includes(missing) && error.message.includes('ENOENT'), error.message);
  const joining = joinGossip(
    config(30009, []),
    (p) => path.join(dir, p),
    { id: 'x', role: 'users' },
    await memberTls('x', 'users'),
    new RecordingLogger(),
  );
  t.is((await t.throwsAsync(joining, { instanceOf: GossipError })).code, 'invalid_config');
});

test('a short key is refused; whitespace around a key does not count', async (t) => {
  const dir = await tempDir(t);
  const short = path.join(dir, 'short.key');
  await writeFile(short, '  0123456789abcde \n', { mode: 0o600 });
  const error = await t.throwsAsync(readGossipKey(short), { instanceOf: GossipError });
  t.is(error.code, 'invalid_config');
  t.regex(error.message, /holds 15 bytes; the cluster key needs at least 16/);
  const padded = path.join(dir, 'padded.key');
  await writeFile(padded, `\n  ${KEY}\n`, { mode: 0o600 });
  t.is((await readGossipKey(padded)).toString(), KEY);
});

test('the period scales the ack timeout and gossip interval with it', (t) => {
  t.deepEqual(protocolFor(), { protocolPeriodMs: 1000, ackTimeoutMs: 400, gossipIntervalMs: 200 });
  t.deepEqual(protocolFor(20), { protocolPeriodMs: 20, ackTimeoutMs: 8, gossipIntervalMs: 4 });
});

test('members join with a key relative to their config, log changes, and an observer watches', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'gossip.key'), `${KEY}\n`, { mode: 0o600 });
  const at = (p: string) => path.resolve(dir, p);
  const logs = new RecordingLogger();
  const nodes: GossipNode[] = [];
  t.teardown(() => Promise.all(nodes.map((node) => node.close())));
  const join = async (port: number, id: string, role: string, logger = new RecordingLogger()) => {
    const node = await joinGossip(
      config(port, [30000]),
      at,
      { id, role },
      await memberTls(id, role),
      logger,
    );
    nodes.push(node);
    return node;
  };
  const gateway = await join(30000, 'gateway-1', 'gateway', logs);
  await join(30001, 'users-1', 'users');
  const observer = await join(30002, 'observer-dashboard', OBSERVER_ROLE);

  await waitFor('the observer to see everyone', () =>
    ['gateway-1', 'observer-dashboard', 'users-1'].every(
      (id) => observer.members().find((m) => m.id === id)?.state === 'alive',
    ),
  );
  t.is(gateway.self.address, `${HOST}:30000`);
  // A life starts above its earlier lives' incarnations: at the clock's seconds.
  const incarnation = gateway.members().find((m) => m.id === 'gateway-1')?.incarnation ?? 0;
  t.true(incarnation >= Math.floor(Date.now() / 1000) - 60, String(incarnation));
  t.like(logs.lines[0], { level: 'info', message: 'joined gossip' });
  t.like(logs.lines[0]?.fields, { member: 'gateway-1', role: 'gateway', listen: `${HOST}:30000` });
  await waitFor('the gateway to log both joins', () =>
    ['joined users-1', 'joined observer-dashboard'].every((line) => logs.changes().includes(line)),
  );
  t.false(
    logs.lines.some((line) => line.level === 'warn' && line.message.includes('key')),
    'a 0600 key raises no warning',
  );

  // The observer is a member like any other, but it never stands in for a replica.
  const view = new GossipView(gateway, { settleMs: 0 });
  t.deepEqual(
    view.liveMembers(OBSERVER_ROLE).map((m) => m.id),
    ['observer-dashboard'],
  );
  t.is(view.unavailable(OBSERVER_ROLE), null);

  await observer.close();
  await waitFor('the gateway to see the observer leave', () =>
    logs.changes().includes('left observer-dashboard'),
  );
  t.is(view.members().find((m) => m.id === 'observer-dashboard')?.state, 'left');
  t.false(logs.changes().includes('dead observer-dashboard'));
});

test('a key others can read is used but warned about; a taken port is a clear error', async (t) => {
  const dir = await tempDir(t);
  const keyFile = path.join(dir, 'open.key');
  await writeFile(keyFile, KEY);
  await chmod(keyFile, 0o644);
  const logs = new RecordingLogger();
  const first = await joinGossip(
    config(30005, [], 'open.key'),
    (p) => path.join(dir, p),
    { id: 'a', role: 'users' },
    await memberTls('a', 'users'),
    logs,
  );
  t.teardown(() => first.close());
  t.like(
    logs.lines.find((line) => line.level === 'warn'),
    {
      message: 'the gossip key file is readable by others; chmod 600 it',
    },
  );
  const taken = joinGossip(
    config(30005, [], 'open.key'),
    (p) => path.join(dir, p),
    { id: 'b', role: 'users' },
    await memberTls('b', 'users'),
    logs,
  );
  const error = await t.throwsAsync(taken, { instanceOf: GossipError });
  t.is(error.code, 'listen_failed');
  t.regex(error.message, /cannot listen on 127\.0\.0\.1:30005: .*EADDRINUSE/);
});
