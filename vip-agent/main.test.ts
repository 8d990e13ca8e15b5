/**
 * The VIP agent as a process. Refusals need no privileges beyond reading: a bad config, bad
 * timings, a missing device, no CAP_NET_ADMIN — each exits 1 with the reason. Then the real
 * thing in a throwaway network namespace (root, like CI): a one-member DB service holds the
 * lease, the agent claims the VIP on a veth device with `ip`, answers its status and its
 * metrics over mutual TLS, and on SIGTERM takes the VIP off and releases the lease. Ports
 * 30380–30399.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureCertificate, ensureCertificateAuthority } from '../base/pki.js';
import { ManagedProcess } from '../base/process.js';
import type { NodeConfigFile } from '../raft/cmd/config.js';
import { waitFor } from '../server/bus/test-support.js';
import { configuredAddresses } from './address.js';
import { vipPorts } from './test-support.js';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '..');
const MAIN = path.join(import.meta.dirname, 'main.ts');
const DB_MAIN = path.join(REPO, 'server/db/main.ts');
const ports = vipPorts(30_380, 30_399);

interface Files {
  readonly dir: string;
  /** Writes an agent config (TLS paths filled in) and returns its path. */
  readonly config: (name: string, fields: object) => Promise<string>;
}

async function files(t: ExecutionContext): Promise<Files> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agenda-vip-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pki = path.join(dir, 'pki');
  const ca = await ensureCertificateAuthority(pki);
  const both = { ca, usages: 'both' as const, ipAddresses: ['127.0.0.1'], days: 1 };
  await ensureCertificate(pki, 'vip-1', { ...both, role: 'vip-agent' });
  await ensureCertificate(pki, 'member-1', { ...both, role: 'db' });
  await ensureCertificate(pki, 'operator', { ca, usages: 'client', days: 1, role: 'operator' });
  await writeFile(path.join(dir, 'vip.key'), 'vip-pair-key-for-tests-0123456789\n');
  return {
    dir,
    config: async (name, fields) => {
      const file = path.join(dir, `${name}.json`);
      await writeFile(file, JSON.stringify(fields));
      return file;
    },
  };
}

/** A config for `vip-1` whose DB, gateway and peer live at the given loopback ports. */
function agentConfig(p: {
  db: number;
  heartbeat: number;
  peer: number;
  status: number;
  metrics?: number;
}) {
  return {
    id: 'vip-1',
    tls: { ca: 'pki/ca.pem', cert: 'pki/vip-1.pem', key: 'pki/vip-1-key.pem' },
    db: { '1': `127.0.0.1:${p.db}` },
    vip: { address: '10.202.0.10', prefixLength: 24, device: 'v0' },
    // The DB member's own health endpoint stands in for the local gateway's.
    gatewayHealthUrl: `https://127.0.0.1:${p.db}/healthz`,
    heartbeat: {
      listen: `127.0.0.1:${p.heartbeat}`,
      peer: `127.0.0.1:${p.peer}`,
      peerId: 'vip-2',
      keyFile: 'vip.key',
    },
    status: `127.0.0.1:${p.status}`,
    ...(p.metrics === undefined ? {} : { metrics: `127.0.0.1:${p.metrics}` }),
  };
}

/** Runs the agent to its exit; `prefix` runs it behind another command (setpriv). */
async function runToExit(configPath: string, prefix: readonly string[] = []) {
  const argv = [...prefix, process.execPath, '--import=tsx', MAIN, '--config', configPath];
  const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

const closed = { db: 30_398, heartbeat: 30_397, peer: 30_396, status: 30_395 };

test('a config that is not one exits 1 and says what is wrong', async (t) => {
  const { config } = await files(t);
  const missing = await runToExit(await config('bad', { id: 'vip-1' }));
  t.is(missing.code, 1);
  t.regex(missing.stderr, /heartbeat/);
  const same = await runToExit(
    await config('same', {
      ...agentConfig(closed),
      heartbeat: { ...agentConfig(closed).heartbeat, peerId: 'vip-1' },
    }),
  );
  t.is(same.code, 1);
  t.regex(same.stderr, /peerId must differ from id/);
  const slow = await runToExit(
    await config('slow', { ...agentConfig(closed), checkIntervalMs: 300 }),
  );
  t.is(slow.code, 1);
  t.regex(slow.stderr, /leaseMarginMs must exceed checkIntervalMs/);
});

test('an agent that could not manage the address exits 1 and says why', async (t) => {
  const { config } = await files(t);
  const noDevice = await runToExit(
    await config('nodev', {
      ...agentConfig(closed),
      vip: { address: '10.202.0.10', device: 'nosuch0' },
    }),
  );
  t.is(noDevice.code, 1);
  t.regex(
    noDevice.stderr,
    /cannot manage 10\.202\.0\.10 on nosuch0:\n {2}cannot read the addresses of nosuch0/,
  );
  if (process.getuid?.() !== 0) return t.fail('the capability half of this test needs root');
  const unprivileged = await runToExit(
    await config('nocap', {
      ...agentConfig(closed),
      vip: { address: '10.202.0.10', device: 'lo' },
    }),
    ['setpriv', '--inh-caps=-net_admin', '--bounding-set=-net_admin'],
  );
  t.is(unprivileged.code, 1);
  t.regex(unprivileged.stderr, /lacks CAP_NET_ADMIN/);
});

test('in a namespace: the agent takes the DB lease, claims the VIP, serves its status and metrics, and gives both up on SIGTERM', async (t) => {
  if (process.getuid?.() !== 0) {
    return t.fail('this test runs the agent in a network namespace and must run as root (CI does)');
  }
  t.timeout(60_000);
  const { dir, config } = await files(t);
  const ns = `agenda-t-vip-main-${process.pid}`;
  await run('ip', ['netns', 'add', ns]);
  t.teardown(() => run('ip', ['netns', 'del', ns]).then(() => undefined));
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
  await run('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
  await run('ip', ['-n', ns, 'link', 'set', 'v1', 'up']);
  const inNamespace = (name: string, entry: string, configPath: string) =>
    new ManagedProcess({
      name,
      command: 'ip',
      args: [
        'netns',
        'exec',
        ns,
        process.execPath,
        '--import',
        'tsx',
        entry,
        '--config',
        configPath,
      ],
      cwd: REPO,
      logPath: path.join(dir, `${name}.log`),
      readyWhen: /"event":"ready"/,
      readyTimeoutMs: 30_000,
    });

  const p = {
    raft: ports.take(),
    db: ports.take(),
    heartbeat: ports.take(),
    peer: ports.take(),
    status: ports.take(),
    metrics: ports.take(),
  };
  const member: NodeConfigFile = {
    id: 1,
    clusterId: 'agenda-t-vip',
    dataDir: path.join(dir, 'db-1'),
    members: { '1': { raft: `127.0.0.1:${p.raft}`, client: `127.0.0.1:${p.db}` } },
    tls: { ca: 'pki/ca.pem', cert: 'pki/member-1.pem', key: 'pki/member-1-key.pem' },
    join: false,
    tickMs: 50,
    electionTicks: 10,
    heartbeatTicks: 1,
    snapshotEvery: 50_000,
    snapshotBytes: 0,
    snapshotRetain: 5_000,
    followerApplyBatch: 64,
    peerCertificatePrefix: 'member-',
  };
  const db = inNamespace('db-1', DB_MAIN, await config('db-1', member));
  t.teardown(() => db.stop());
  await db.start();
  const agent = inNamespace('vip-1', MAIN, await config('vip-1', agentConfig(p)));
  t.teardown(() => agent.stop());
  await agent.start();

  const vipHere = async () => {
    const { stdout } = await run('ip', ['-n', ns, '-o', '-4', 'addr', 'show', 'dev', 'v0']);
    return configuredAddresses(stdout).includes('10.202.0.10');
  };
  await waitFor('the agent to claim the VIP', vipHere, 20_000);

  const status = JSON.parse(await getFromNamespace(ns, dir, p.status, '/v1/status')) as Record<
    string,
    unknown
  >;
  t.like(status, {
    id: 'vip-1',
    state: 'active',
    vipConfigured: true,
    lease: { name: 'vip', kind: 'mine', holder: 'vip-1' },
    peer: { id: 'vip-2', claimed: 'unknown', heartbeatAgeMs: null },
  });
  // On a loaded machine a renewal may come too late and the fail-safe give the VIP up before
  // claiming it again (a new lease epoch): then every release was followed by a claim.
  const counters = status.counters as { claims: number; releases: number };
  t.is(counters.claims, counters.releases + 1, JSON.stringify(counters));
  t.regex(
    await getFromNamespace(ns, dir, p.metrics, '/metrics'),
    /^agenda_event_loop_delay_worst_seconds\{service="vip-agent",member="vip-1"\} [0-9.e-]+$/m,
  );

  await agent.stop();
  t.false(await vipHere(), 'the VIP is gone once the agent has stopped');
  const log = await readFile(path.join(dir, 'vip-1.log'), 'utf8');
  const released = log.indexOf('"msg":"released the VIP"');
  const leaseReleased = log.indexOf('"msg":"released the lease"');
  t.true(released >= 0 && leaseReleased > released, 'the VIP first, then the lease');
});

/** `GET <route>` from inside the namespace, with the operator certificate. */
async function getFromNamespace(
  ns: string,
  dir: string,
  port: number,
  route: string,
): Promise<string> {
  const script = `
    const https = require('node:https');
    const fs = require('node:fs');
    const pki = ${JSON.stringify(path.join(dir, 'pki'))};
    https.get({ host: '127.0.0.1', port: ${port}, path: ${JSON.stringify(route)},
      ca: fs.readFileSync(pki + '/ca.pem'), cert: fs.readFileSync(pki + '/operator.pem'),
      key: fs.readFileSync(pki + '/operator-key.pem') }, (res) => {
      let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => process.stdout.write(body));
    }).on('error', (e) => { console.error(e.message); process.exit(1); });`;
  const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', script]);
  return stdout;
}
