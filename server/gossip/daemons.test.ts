/**
 * The daemons as processes in gossip: a supervisor joins under its id, is seen leaving on
 * SIGTERM and failing on SIGKILL; a service whose key is too short and a gateway whose key
 * file is missing refuse to start and say why. Loopback ports 30030–30039 (UDP for gossip; nothing listens on the
 * TCP ones given as the DB and Redis).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { silentLogger } from '../../base/log.js';
import { createRedisTls, waitFor } from '../bus/test-support.js';
import { createSigningKeyPair } from '../users/keys.js';
import { joinGossip } from './join.js';
import { GossipView } from './view.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const KEY = 'gossip-key-for-the-daemon-tests!';

function run(main: string, configPath: string) {
  const child = spawn(
    process.execPath,
    ['--import=tsx', path.join(ROOT, main), '--config', configPath],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  return { child, output, exited };
}

const gossip = (port: number, keyFile = 'gossip.key') => ({
  listen: `127.0.0.1:${port}`,
  seeds: ['127.0.0.1:30030'],
  keyFile,
  periodMs: 100,
});

test('a supervisor joins under its id, leaves on SIGTERM, and is found dead after SIGKILL', async (t) => {
  const tls = await createRedisTls();
  t.teardown(() => tls.remove());
  await writeFile(path.join(tls.dir, 'gossip.key'), KEY, { mode: 0o600 });
  const node = await joinGossip(
    gossip(30030),
    (p) => path.resolve(tls.dir, p),
    { id: 'gateway-1', role: 'gateway' },
    await tls.member('gateway-1', 'gateway'),
    silentLogger,
  );
  t.teardown(() => node.close());
  const view = new GossipView(node, { settleMs: 0 });
  await tls.member('supervisor-1', 'supervisor');
  const configPath = path.join(tls.dir, 'supervisor-1.json');
  await writeFile(
    configPath,
    JSON.stringify({
      id: 'supervisor-1',
      tls: { ca: 'ca.pem', cert: 'supervisor-1.pem', key: 'supervisor-1-key.pem' },
      db: { '1': '127.0.0.1:30038' },
      redis: ['127.0.0.1:30039'],
      checkIntervalMs: 50,
      gossip: gossip(30031),
    }),
  );
  const state = () => view.membersOf('supervisor').find((m) => m.id === 'supervisor-1')?.state;

  const first = run('supervisor/main.ts', configPath);
  t.teardown(() => {
    if (first.child.exitCode === null) first.child.kill('SIGKILL');
  });
  await waitFor('supervisor-1 to be seen alive', () => state() === 'alive', 30_000);
  t.is(view.membersOf('supervisor')[0]?.address, '127.0.0.1:30031');
  first.child.kill('SIGTERM');
  t.is((await first.exited)[0], 0);
  await waitFor('supervisor-1 to be seen leaving', () => state() === 'left');

  const second = run('supervisor/main.ts', configPath);
  t.teardown(() => {
    if (second.child.exitCode === null) second.child.kill('SIGKILL');
  });
  await waitFor('supervisor-1 to be back', () => state() === 'alive', 30_000);
  second.child.kill('SIGKILL');
  await second.exited;
  await waitFor('supervisor-1 to be found dead', () => state() === 'dead');
});

test('a supervisor whose certificate names another member does not start, and says why', async (t) => {
  const tls = await createRedisTls();
  t.teardown(() => tls.remove());
  await writeFile(path.join(tls.dir, 'gossip.key'), KEY, { mode: 0o600 });
  // A genuine cluster certificate, but another supervisor's: it cannot speak for this one.
  await tls.member('supervisor-2', 'supervisor');
  const configPath = path.join(tls.dir, 'supervisor-1.json');
  await writeFile(
    configPath,
    JSON.stringify({
      id: 'supervisor-1',
      tls: { ca: 'ca.pem', cert: 'supervisor-2.pem', key: 'supervisor-2-key.pem' },
      db: { '1': '127.0.0.1:30038' },
      redis: ['127.0.0.1:30039'],
      gossip: gossip(30034),
    }),
  );
  const { output, exited } = run('supervisor/main.ts', configPath);
  const [code] = await exited;
  t.is(code, 1);
  t.regex(
    output.stderr,
    /certificate cannot vouch for supervisor-1: .*supervisor-1 as its common name/,
  );
  t.notRegex(output.stdout, /"event":"ready"/);
});

test('a service whose gossip key is too short does not start, and says why', async (t) => {
  const tls = await createRedisTls();
  t.teardown(() => tls.remove());
  await writeFile(path.join(tls.dir, 'short.key'), 'too-short\n', { mode: 0o600 });
  const { publicKeyPem } = await createSigningKeyPair();
  await writeFile(path.join(tls.dir, 'token-public.pem'), publicKeyPem);
  const configPath = path.join(tls.dir, 'groups-1.json');
  await writeFile(
    configPath,
    JSON.stringify({
      service: 'groups',
      instance: 1,
      tls: { ca: 'ca.pem', cert: 'redis.pem', key: 'redis-key.pem' },
      db: { '1': '127.0.0.1:30038' },
      verificationKey: 'token-public.pem',
      gossip: gossip(30032, 'short.key'),
    }),
  );
  const { output, exited } = run('server/services/main.ts', configPath);
  const [code] = await exited;
  t.is(code, 1);
  t.regex(output.stderr, /"msg":"failed to start"/);
  t.regex(
    output.stderr,
    /the key file \S+short\.key holds 9 bytes; the cluster key needs at least 16/,
  );
  t.notRegex(output.stdout, /"event":"ready"/);
});

test('a gateway whose gossip key file is missing does not start, and says which file', async (t) => {
  const tls = await createRedisTls();
  t.teardown(() => tls.remove());
  const configPath = path.join(tls.dir, 'gateway-1.json');
  await writeFile(
    configPath,
    JSON.stringify({
      id: 1,
      listen: '127.0.0.1:30037',
      tls: { ca: 'ca.pem', cert: 'redis.pem', key: 'redis-key.pem' },
      db: { '1': '127.0.0.1:30038' },
      verificationKey: 'token-public.pem',
      gossip: gossip(30033, 'missing.key'),
    }),
  );
  const { output, exited } = run('server/gateway/main.ts', configPath);
  const [code] = await exited;
  t.is(code, 1);
  t.regex(output.stderr, /gossip: cannot read the key file \S+missing\.key: ENOENT/);
  t.notRegex(output.stdout, /"event":"ready"/);
});
