/**
 * `npm run bench:raft -- [--nodes 5] [--clients 64] [--seconds 10] [--failover] [--etcd] [--json]`
 *
 * Starts real member processes on loopback (mutual TLS, fsync on), writes 200-byte values
 * from concurrent clients for a fixed time, and prints one JSON line last:
 * `{"writesPerSec":…,"p50Ms":…,"p99Ms":…}`.
 * - `--failover` kills the leader with SIGKILL halfway through and adds
 *   `failoverUnavailableMs`: the longest time no write completed around the kill.
 * - `--etcd` then runs the same load against a 5-member etcd cluster with the same shape
 *   (TLS on peer and client traffic, fsync on) and adds its figures under `etcd`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeKvCommand } from '../kv/kv-state-machine.js';
import { ProcessCluster } from '../cluster/process-cluster.js';
import { etcdInstalled, startEtcdCluster } from './etcd.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5' },
    clients: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '10' },
    'value-bytes': { type: 'string', default: '200' },
    'base-port': { type: 'string', default: '24000' },
    failover: { type: 'boolean', default: false },
    etcd: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const nodes = Number(values.nodes);
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const valueBytes = Number(values['value-bytes']);
const basePort = Number(values['base-port']);
for (const [name, v] of Object.entries({ nodes, clients, seconds, valueBytes, basePort })) {
  if (!Number.isInteger(v) || v <= 0) {
    process.stderr.write(`--${name} must be a positive integer\n`);
    process.exit(1);
  }
}
if (values.etcd && !etcdInstalled()) {
  process.stderr.write('--etcd needs the etcd binary: apt-get install etcd-server\n');
  process.exit(1);
}

const say = (s: string) => process.stderr.write(s + '\n');
const value = 'v'.repeat(valueBytes);

interface LoadResult {
  writesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  writes: number;
  errors: number;
  seconds: number;
  completions: number[];
}

/** Runs `clients` closed loops of writes for `seconds`, while `chaos` does what it does. */
async function runLoad(
  put: (key: string) => Promise<unknown>,
  chaos: () => Promise<void>,
): Promise<LoadResult> {
  for (let i = 0; i < 200; i++) await put(`warm-${i}`);
  const latencies: number[] = [];
  const completions: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async (c: number) => {
    let n = 0;
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await put(`c${c}-${n++ % 1000}`);
        const t1 = performance.now();
        latencies.push(t1 - t0);
        completions.push(t1);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all([...Array.from({ length: clients }, (_, c) => worker(c)), chaos()]);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    round(latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0);
  return {
    writesPerSec: Math.round(latencies.length / elapsed),
    p50Ms: pct(50),
    p99Ms: pct(99),
    writes: latencies.length,
    errors,
    seconds: round(elapsed),
    completions,
  };
}

/**
 * Unavailability as clients see it: the longest stretch with no write completing, from just
 * before the kill until writes flow again (answers already in flight when the leader died can
 * land just after the kill, so "first write after the kill" would flatter us).
 */
function unavailableAround(completions: number[], killedAt: number): number | null {
  const sorted = [...completions].sort((a, b) => a - b);
  const from = killedAt - 100;
  const window = sorted.filter((t) => t >= from && t <= killedAt + 10_000);
  if (window.length === 0) return null;
  let prev = sorted.filter((t) => t < from).pop() ?? from;
  let gap = 0;
  for (const t of window) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return round(gap);
}

async function benchOurs(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'agenda-raft-bench-'));
  say(`starting ${nodes} members in ${dir} (TLS, fsync on)…`);
  const cluster = await ProcessCluster.start({ dir, size: nodes, basePort });
  const client = cluster.client(5_000);
  try {
    const leader = await cluster.waitForLeader(client);
    say(`leader is member ${leader}; ${clients} clients for ${seconds}s…`);
    let killedAt: number | null = null;
    let killed: number | null = null;
    const chaos = async () => {
      if (!values.failover) return;
      await new Promise((r) => setTimeout(r, (seconds * 1000) / 2));
      const current = (await cluster.statuses(client)).find((s) => s.role === 'leader');
      if (!current) return;
      killed = current.id;
      killedAt = performance.now();
      say(`killing leader ${killed} with SIGKILL…`);
      await cluster.kill(current.id, 'SIGKILL');
    };
    const r = await runLoad(
      (key) => client.propose(encodeKvCommand({ op: 'put', key, value }), { deadlineMs: 15_000 }),
      chaos,
    );
    for (const s of await cluster.statuses(client)) {
      const m = s.metrics;
      say(
        `  member ${s.id} (${s.role}): ${m.readies} readies, ${m.fsyncs} fsyncs, ` +
          `${(m.entriesAppended / Math.max(1, m.syncedAppends)).toFixed(1)} entries per fsync, ${m.messagesSent} messages`,
      );
    }
    const { completions, ...figures } = r;
    return {
      ...figures,
      nodes,
      clients,
      valueBytes,
      ...(killedAt === null
        ? {}
        : {
            killedLeader: killed,
            failoverUnavailableMs: unavailableAround(completions, killedAt),
          }),
    };
  } finally {
    await client.close();
    await cluster.stop();
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

async function benchEtcd(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'agenda-etcd-bench-'));
  say(`starting ${nodes} etcd members in ${dir} (TLS, fsync on)…`);
  const etcd = await startEtcdCluster(dir, nodes, basePort + 300);
  try {
    const { completions: _c, ...figures } = await runLoad(
      (key) => etcd.put(key, value),
      () => Promise.resolve(),
    );
    return { ...figures, version: 'etcd 3.4 (Debian), JSON gateway over HTTPS' };
  } finally {
    await etcd.stop();
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

const result = await benchOurs();
if (values.etcd) result.etcd = await benchEtcd();
if (!values.json) say(JSON.stringify(result, null, 2));
process.stdout.write(JSON.stringify(result) + '\n');

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
