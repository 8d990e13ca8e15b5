/**
 * `npm run bench -- [--clients 64] [--seconds 10] [--json]`: the full request path under
 * load. Starts the `npm start` topology in a temporary directory, registers one user per
 * client, then (1) creates events through the first gateway from `clients` concurrent HTTPS
 * clients for `seconds` (one every hour of each user's calendar), and (2) reads the agenda
 * of a 20-member group over one day for `seconds` (`agendaEntries` says how many entries a
 * read returns: every member is busy every hour, so a day is already a full agenda).
 *
 * Each phase first runs the same load for `--warmup` seconds (default 5) and does not count
 * it: the processes have just started, so those seconds measure the JIT compiler, TLS
 * handshakes and cold caches more than the system. What the warm-up saw is reported too
 * (`warmup.createP99Ms`, …), so nothing is hidden.
 *
 * `cpuMsPerCreate` says how much CPU each kind of process spent per event created over the
 * counted seconds (from /proc): where a create's cost goes on this machine. `machine` says how
 * fast the machine was before and after the load, in microseconds per event applied to an
 * in-memory store by one process (calibrate.ts): a reference, not the whole story.
 * `eventLoopDelayWorstMs` says, per kind of process, the longest its event loop stalled
 * during the counted seconds of either phase (the worst of its processes, read from their
 * `/metrics`; null for a kind with no process that answered, as the VIP agents, which
 * `npm start` does not run): the stalls behind the p99. `eventLoopDelaySinceStartMs` is the
 * same since each process started: start-up (module loading, recovery) and warm-up included.
 * `memory` checks issue 17's bound under load: each process's resident memory at rest before
 * the load (`--settle` seconds after start-up, as `npm run footprint` waits; the median of
 * three samples) against the most it held while the bench ran (sampled every second, the
 * users' registration included): `worst` is the largest ratio and its process, `ok` whether it
 * is at most 2.
 * The last line is
 * `{"createsPerSec","createP50Ms","createP99Ms","agendaPerSec","agendaP99Ms",…}`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent } from 'undici';
import type { SessionTokens } from '../../cli/http/session-tokens.js';
import { noDelays, worseOf } from '../event-loop-delay.js';
import { delayScraperOf, startLocalSystem } from '../local/system.js';
import { benchClient, benchLogin } from './bench-client.js';
import { closedLoops, latencySummary } from './closed-loops.js';
import { LOAD_GENERATOR_LIMITS } from '../plan.js';
import { storeApplyMicros } from './calibrate.js';
import { startCpuCount } from './cpu.js';
import { loadedRssReport, medianRssMib, startRssPeaks } from './memory.js';
import { radicaleInstalled, startRadicale } from './radicale.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    /** Seconds at rest after start-up before the idle resident memory is read. */
    settle: { type: 'string', default: '60' },
    /** Run only the create phase (for profiling); the agenda figures are then 0. */
    'creates-only': { type: 'boolean', default: false },
    /** Then the same kind of load on Radicale (apt-get install radicale), for comparison. */
    radicale: { type: 'boolean', default: false },
    'radicale-clients': { type: 'string', default: '8' },
  },
});
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const settle = Number(values.settle);
const valid =
  Number.isInteger(settle) &&
  settle >= 0 &&
  Number.isInteger(clients) &&
  clients >= 20 &&
  Number.isInteger(seconds) &&
  seconds > 0 &&
  Number.isInteger(warmup) &&
  warmup >= 0;
if (!valid) {
  process.stderr.write(
    '--clients must be an integer ≥ 20 (the group has 20 members), --seconds a positive integer, --warmup and --settle integers ≥ 0\n',
  );
  process.exit(1);
}
const say = (s: string) => process.stderr.write(s + '\n');
if (values.radicale && !radicaleInstalled()) {
  process.stderr.write('--radicale needs radicale: apt-get install radicale\n');
  process.exit(1);
}

/** Event PUTs into one Radicale calendar from `--radicale-clients` clients for `seconds`. */
async function benchRadicale(): Promise<Record<string, unknown>> {
  const n = Number(values['radicale-clients']);
  const radicale = await startRadicale(join(dataDir, 'radicale'), 5232);
  try {
    say(`PUTting events into Radicale from ${n} clients for ${warmup}s + ${seconds}s…`);
    const week = Date.UTC(2031, 0, 6);
    const r = await load(
      (c, i) => radicale.put(`r-${c}-${i}`, new Date(week + i * 3_600_000 + c * 60_000)),
      n,
    );
    return {
      putsPerSec: r.perSec,
      putP50Ms: r.p50,
      putP99Ms: r.p99,
      puts: r.count,
      errors: r.errors,
      clients: n,
    };
  } finally {
    await radicale.stop();
  }
}

say('timing this machine on store work (see calibrate.ts)…');
const applyMicrosBefore = await storeApplyMicros();
const dataDir = mkdtempSync(join(tmpdir(), 'agenda-bench-'));
say(`starting the whole system in ${dataDir}…`);
// One process registers and logs in every user: the per-address abuse limits are raised.
const system = await startLocalSystem({ dataDir, say, abuseLimits: LOAD_GENERATOR_LIMITS });
const base = system.gateways[0] ?? '';
const dispatcher = new Agent({
  connect: { ca: readFileSync(system.ca) },
  connections: clients,
  keepAliveTimeout: 30_000,
});

const call = benchClient(base, dispatcher);

type Op = (client: number, n: number) => Promise<boolean>;

/**
 * Runs `concurrency` closed loops of `op` for `durationS` seconds; returns the latencies of
 * the successes. `next[c]` numbers client c's operations across calls, so a measured phase
 * goes on where its warm-up stopped.
 */
async function run(op: Op, concurrency: number, durationS: number, next: number[]) {
  const ok = async (c: number, n: number) => (await op(c, n)) || 'failed';
  const { latencies, errors, elapsedMs } = await closedLoops(ok, concurrency, durationS, next);
  return { ...latencySummary(latencies, elapsedMs), count: latencies.length, errors };
}

/** The daemons' process ids, for CPU accounting. */
function daemonPids(): Map<string, number> {
  const pids = new Map<string, number>();
  for (const [name, p] of system.processes) if (p.pid !== undefined) pids.set(name, p.pid);
  return pids;
}

/**
 * `--warmup` seconds of `op`, not counted, then `seconds` counted, with the CPU every kind
 * of process used meanwhile (ms per successful operation) and the longest event-loop stall
 * of each kind of process over the counted seconds.
 */
async function load(op: Op, concurrency = clients) {
  const next = Array.from({ length: concurrency }, () => 0);
  const warm = warmup > 0 ? await run(op, concurrency, warmup, next) : null;
  const delays = delayScraperOf(system);
  // Starts every process's window (see lab/event-loop-delay.ts): what follows is the load's.
  await delays.scrape(undefined, { since: 'previous-scrape' });
  const cpu = startCpuCount(daemonPids());
  const measured = await run(op, concurrency, seconds, next);
  const stalls = await delays
    .scrape(undefined, { since: 'previous-scrape' })
    .finally(() => delays.close());
  const perOp: Record<string, number> = {};
  let total = 0;
  for (const [role, ms] of [...cpu()].sort((a, b) => b[1] - a[1])) {
    perOp[role] = Math.round((ms / Math.max(1, measured.count)) * 1000) / 1000;
    total += ms;
  }
  perOp.total = Math.round((total / Math.max(1, measured.count)) * 1000) / 1000;
  return { ...measured, warm, cpuMsPerOp: perOp, eventLoopDelayWorstMs: stalls.worstMs };
}

/** The worst event-loop delay of each kind of process since it started. */
async function eventLoopDelaysSinceStart() {
  const scraper = delayScraperOf(system);
  try {
    const { worstMs, missing } = await scraper.scrape();
    for (const { name, reason } of missing) say(`no event-loop delay from ${name}: ${reason}`);
    return worstMs;
  } finally {
    await scraper.close();
  }
}

let result: Record<string, unknown>;
say(`at rest for ${settle} s, then the resident memory of every process…`);
await new Promise((resolve) => setTimeout(resolve, settle * 1_000));
const idleRss = await medianRssMib(daemonPids());
const stopRssPeaks = startRssPeaks(daemonPids());
try {
  say(`registering ${clients} users and a 20-member hierarchical group…`);
  const tokens: SessionTokens[] = [];
  for (let i = 0; i < clients; i++) {
    const username = `bench-${i}`;
    const password = `password-${i}`;
    const reg = await call('POST', '/v1/users', { username, password });
    if (reg.status !== 201)
      throw new Error(`register ${username}: ${reg.status} ${JSON.stringify(reg.json)}`);
    tokens.push(await benchLogin(call, username, password));
  }
  const owner = tokens[0];
  await call('POST', '/v1/groups', { name: 'bench', kind: 'hierarchical' }, owner);
  // Membership is by consent: each member is invited, then joins.
  for (let i = 1; i < 20; i++) {
    await call('POST', '/v1/groups/bench/members', { username: `bench-${i}`, level: 1 }, owner);
    await call('POST', '/v1/groups/bench/join', {}, tokens[i]);
  }

  // Each client writes its own slots (an hour apart) so creations never conflict.
  const week = Date.UTC(2031, 0, 6);
  say(`creating events from ${clients} clients for ${warmup}s of warm-up, then ${seconds}s…`);
  const creates = await load(async (c, n) => {
    const start = new Date(week + n * 3_600_000 + c * 60_000).toISOString();
    const r = await call(
      'POST',
      '/v1/events',
      { title: `bench ${c}.${n}`, start, duration: '30m', allowConflict: true },
      tokens[c],
    );
    return r.status === 201;
  });
  say(`reading the group's agenda for a day from ${clients} clients for ${warmup}s + ${seconds}s…`);
  const from = new Date(week).toISOString();
  const to = new Date(week + 86_400_000).toISOString();
  const agendaPath = `/v1/agendas?group=bench&from=${from}&to=${to}`;
  const sample = await call('GET', agendaPath, undefined, tokens[1]);
  const agendaEntries = (
    (sample.json as { agendas?: { entries: unknown[] }[] }).agendas ?? []
  ).reduce((sum, a) => sum + a.entries.length, 0);
  const agendas = values['creates-only']
    ? {
        perSec: 0,
        p50: 0,
        p99: 0,
        count: 0,
        errors: 0,
        warm: null,
        cpuMsPerOp: {},
        eventLoopDelayWorstMs: noDelays(),
      }
    : await load(
        async (c) => (await call('GET', agendaPath, undefined, tokens[c % 20])).status === 200,
      );
  say('reading the worst event-loop delay of every process since it started…');
  const eventLoopDelaySinceStartMs = await eventLoopDelaysSinceStart();
  result = {
    createsPerSec: creates.perSec,
    createP50Ms: creates.p50,
    createP99Ms: creates.p99,
    agendaPerSec: agendas.perSec,
    agendaP50Ms: agendas.p50,
    agendaP99Ms: agendas.p99,
    creates: creates.count,
    createErrors: creates.errors,
    agendaReads: agendas.count,
    agendaEntries,
    agendaErrors: agendas.errors,
    clients,
    seconds,
    warmupSeconds: warmup,
    cpuMsPerCreate: creates.cpuMsPerOp,
    cpuMsPerAgenda: agendas.cpuMsPerOp,
    eventLoopDelayWorstMs: worseOf(creates.eventLoopDelayWorstMs, agendas.eventLoopDelayWorstMs),
    eventLoopDelaySinceStartMs,
    memory: loadedRssReport(idleRss, stopRssPeaks()),
    warmup: {
      createsPerSec: creates.warm?.perSec ?? 0,
      createP50Ms: creates.warm?.p50 ?? 0,
      createP99Ms: creates.warm?.p99 ?? 0,
      agendaPerSec: agendas.warm?.perSec ?? 0,
      agendaP99Ms: agendas.warm?.p99 ?? 0,
    },
  };
} finally {
  stopRssPeaks();
  await dispatcher.close();
  await system.stop();
}
const report: Record<string, unknown> = {
  ...result,
  machine: {
    storeApplyMicrosBefore: applyMicrosBefore,
    storeApplyMicrosAfter: await storeApplyMicros(),
  },
};
try {
  if (values.radicale) report.radicale = await benchRadicale();
} finally {
  if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
}
if (!values.json) say(JSON.stringify(report, null, 2));
process.stdout.write(JSON.stringify(report) + '\n');
