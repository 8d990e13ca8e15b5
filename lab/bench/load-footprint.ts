/**
 * `npx tsx lab/bench/load-footprint.ts [--form compiled|bundled|both] [--idle 30] [--runs 5]
 * [--node-args="<flags>"] [--json]`: what loading each daemon's code costs in memory, without
 * starting anything (no port is bound, so it runs beside `npm start`; `npm run footprint`
 * measures the running system).
 *
 * For each kind of daemon it runs the program as the runner would (the kind's Node flags of
 * `lab/runner.ts`, then `--node-args`), from `dist/` as it is (`npm run build` first), with a
 * config file that does not exist: the program loads and evaluates its whole static module
 * graph, then calls `process.exit(1)` with its usual message. A module given to `--import`
 * holds that exit back for `--idle` seconds, the process doing nothing meanwhile (V8 shrinks
 * its heap at rest as in an idle daemon), then reads /proc/self/smaps_rollup; with `--idle 0`
 * it reads it at once, after three full garbage collections. The worker threads the DB members
 * (the calendar store on sql.js) and the users services (the calendar parser) start are
 * measured apart, in a process that starts only the worker and waits as long.
 *
 * Reported per kind, the median of `--runs` runs, in MiB: the resident set (`rssMib`), its
 * anonymous pages (`anonMib`: V8's heaps, compiled code, malloc's — the rest is Node's binary
 * mapped from its file, shared with the other Node processes) and the V8 heap in use.
 * `costMib` is the resident set above an idle `node` measured the same way; a worker's is
 * above a process that started an empty worker (`emptyWorkerCostMib`: a thread's own cost,
 * whatever it runs). `daemonRssMib` adds them up: what the daemon holds once loaded, before
 * any connection, request or data. The `bundled` form is dist/daemons/ (bin/build.js), what
 * base/entry-points.ts starts when it is there.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DIST, REPO } from '../../base/entry-points.js';
import type { Stage } from '../plan.js';
import { daemonNodeFlags } from '../runner.js';

const { values } = parseArgs({
  options: {
    form: { type: 'string', default: 'both' },
    idle: { type: 'string', default: '30' },
    runs: { type: 'string', default: '5' },
    'node-args': { type: 'string', default: '' },
    concurrency: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
  },
});
const forms = values.form === 'both' ? ['compiled', 'bundled'] : [values.form];
const runs = Number(values.runs);
const idleSeconds = Number(values.idle);
const concurrency = Number(values.concurrency);
const extraArgs = values['node-args'].split(' ').filter(Boolean);
if (
  !forms.every((f) => f === 'compiled' || f === 'bundled') ||
  !(runs >= 1) ||
  !(idleSeconds >= 0) ||
  !(concurrency >= 1)
) {
  process.stderr.write(
    'usage: load-footprint [--form compiled|bundled|both] [--idle s] [--runs n] [--node-args="…"]\n',
  );
  process.exit(2);
}

interface Sample {
  readonly rssMib: number;
  readonly anonMib: number;
  readonly heapUsedMib: number;
}

const MEASURE = `
import { readFileSync, writeSync } from 'node:fs';
export function measure() {
  if (${idleSeconds} === 0) for (let i = 0; i < 3; i++) globalThis.gc();
  const rollup = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const kb = (f) => Number(new RegExp('^' + f + ':\\\\s+(\\\\d+) kB$', 'm').exec(rollup)?.[1] ?? NaN);
  const mib = (k) => Math.round((k / 1024) * 10) / 10;
  writeSync(2, '\\nLOAD-FOOTPRINT ' + JSON.stringify({
    rssMib: mib(kb('Rss')),
    anonMib: mib(kb('Anonymous')),
    heapUsedMib: mib(process.memoryUsage().heapUsed / 1024),
  }) + '\\n');
}
`;
// Holds the program's exit back while it idles, then measures. process.exit must not return
// (the program would go on with no config): it throws, and the throw is swallowed.
const AT_EXIT = `
import { measure } from './measure.mjs';
const exit = process.exit.bind(process);
let held = false;
process.exit = (code) => {
  if (!held) {
    held = true;
    setTimeout(() => { measure(); exit(code); }, ${idleSeconds * 1000});
  }
  throw new Error('load-footprint: exit held back');
};
process.on('uncaughtException', (error) => {
  if (!String(error?.message).includes('exit held back')) {
    process.stderr.write('uncaught: ' + (error?.stack ?? error) + '\\n');
  }
});
`;
// A process that starts one worker (or none), waits until it is ready, idles, and measures.
const WORKER_HOST = `
import { Worker } from 'node:worker_threads';
import { measure } from './measure.mjs';
const [what, entryMjs, entry, module] = process.argv.slice(2);
let worker = null;
if (what === 'empty') {
  worker = new Worker("require('node:worker_threads').parentPort.postMessage({ type: 'ready' })", { eval: true });
} else if (what !== 'none') {
  worker = new Worker(new URL(entryMjs), {
    workerData: { registerTsx: false, entry, setup: { module, options: undefined } },
  });
}
if (worker) {
  await new Promise((resolve, reject) => {
    worker.on('message', (m) => {
      if (m.type === 'ready' || typeof m.seq === 'number') resolve();
      if (m.type === 'start_failed') reject(new Error(JSON.stringify(m.error)));
    });
    worker.on('error', reject);
    // The calendar parser says nothing until asked: an empty file is refused at once.
    if (what === 'parser') worker.postMessage({ seq: 0, text: '', options: {} });
  });
}
await new Promise((resolve) => setTimeout(resolve, Math.max(1000, ${idleSeconds * 1000})));
measure();
process.exit(0);
`;

const dir = mkdtempSync(join(tmpdir(), 'agenda-load-footprint-'));
writeFileSync(join(dir, 'measure.mjs'), MEASURE);
writeFileSync(join(dir, 'at-exit.mjs'), AT_EXIT);
writeFileSync(join(dir, 'worker-host.mjs'), WORKER_HOST);

interface Job {
  readonly args: readonly string[];
  /** The exit status the program must end with, its config error said (a daemon). */
  readonly daemon: boolean;
}

function runOnce(job: Job): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...job.args], {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = /^LOAD-FOOTPRINT (.*)$/m.exec(stderr)?.[1];
      const said = stderr.replace(/\n?LOAD-FOOTPRINT .*\n/, '');
      if (line === undefined || (job.daemon && (code !== 1 || !/cannot read config/.test(said)))) {
        return reject(new Error(`${job.args.join(' ')}: exited ${code}\n${said}`));
      }
      resolve(JSON.parse(line) as Sample);
    });
  });
}

/** Runs every job `runs` times, `concurrency` processes at once; the median of each. */
async function measureAll(jobs: ReadonlyMap<string, Job>): Promise<Map<string, Sample>> {
  const queue = [...jobs].flatMap(([key, job]) =>
    Array.from({ length: runs }, () => ({ key, job })),
  );
  const samples = new Map<string, Sample[]>();
  const next = async (): Promise<void> => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const sample = await runOnce(item.job);
      samples.set(item.key, [...(samples.get(item.key) ?? []), sample]);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, next));
  return new Map([...samples].map(([key, s]) => [key, median(s)]));
}

function median(samples: readonly Sample[]): Sample {
  const pick = (f: keyof Sample) => {
    const sorted = samples.map((s) => s[f]).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? NaN;
  };
  return { rssMib: pick('rssMib'), anonMib: pick('anonMib'), heapUsedMib: pick('heapUsedMib') };
}

const KINDS: readonly {
  kind: string;
  entry: string;
  stage: Stage;
  worker?: 'store' | 'parser';
}[] = [
  { kind: 'db', entry: 'server/db/main', stage: 'db', worker: 'store' },
  { kind: 'gateway', entry: 'server/gateway/main', stage: 'gateways' },
  { kind: 'users', entry: 'server/services/main', stage: 'services', worker: 'parser' },
  { kind: 'groups', entry: 'server/services/main', stage: 'services' },
  { kind: 'supervisor', entry: 'supervisor/main', stage: 'supervisors' },
  { kind: 'vip-agent', entry: 'vip-agent/main', stage: 'vip-agents' },
];

const root = (form: string) => (form === 'bundled' ? join(DIST, 'daemons') : DIST);
const fileUrl = (form: string, path: string) => pathToFileURL(join(root(form), path)).href;
const round = (n: number) => Math.round(n * 10) / 10;

const jobs = new Map<string, Job>();
for (const form of forms) {
  for (const k of KINDS) {
    const flags = [...daemonNodeFlags(k.stage), ...extraArgs];
    const atExit = ['--import', join(dir, 'at-exit.mjs')];
    const host = join(dir, 'worker-host.mjs');
    jobs.set(`base:${k.stage}`, {
      args: [...flags, ...atExit, '-e', 'process.exit(1)'],
      daemon: false,
    });
    jobs.set(`${form}:${k.kind}`, {
      args: [
        ...flags,
        ...atExit,
        join(root(form), `${k.entry}.js`),
        '--config',
        '/nonexistent/agenda.json',
      ],
      daemon: true,
    });
    if (k.worker) {
      const entryMjs = fileUrl(form, 'raft/runtime/worker-entry.mjs');
      jobs.set(`empty:${k.stage}`, { args: [...flags, host, 'empty'], daemon: false });
      jobs.set(`${form}:${k.kind}:worker`, {
        args:
          k.worker === 'store'
            ? [
                ...flags,
                host,
                'store',
                entryMjs,
                fileUrl(form, 'raft/runtime/state-machine-worker.js'),
                fileUrl(form, 'server/store/store-worker.js'),
              ]
            : [
                ...flags,
                host,
                'parser',
                entryMjs,
                fileUrl(form, 'server/users/calendar-parser-worker.js'),
              ],
        daemon: false,
      });
    }
  }
}

let measured: Map<string, Sample>;
try {
  measured = await measureAll(jobs);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const get = (key: string): Sample => {
  const s = measured.get(key);
  if (!s) throw new Error(`no measurement of ${key}`);
  return s;
};

const report: Record<string, Record<string, Record<string, number>>> = {};
for (const form of forms) {
  const results: Record<string, Record<string, number>> = {};
  for (const k of KINDS) {
    const base = get(`base:${k.stage}`);
    const main = get(`${form}:${k.kind}`);
    const row: Record<string, number> = {
      rssMib: main.rssMib,
      anonMib: main.anonMib,
      heapUsedMib: main.heapUsedMib,
      costMib: round(main.rssMib - base.rssMib),
      baselineRssMib: base.rssMib,
    };
    let daemon = main.rssMib;
    if (k.worker) {
      const empty = get(`empty:${k.stage}`);
      const worker = get(`${form}:${k.kind}:worker`);
      row.workerCostMib = round(worker.rssMib - empty.rssMib);
      row.emptyWorkerCostMib = round(empty.rssMib - base.rssMib);
      daemon += row.workerCostMib + row.emptyWorkerCostMib;
    }
    row.daemonRssMib = round(daemon);
    results[k.kind] = row;
    if (!values.json) {
      process.stderr.write(`${form.padEnd(8)} ${k.kind.padEnd(10)} ${JSON.stringify(row)}\n`);
    }
  }
  report[form] = results;
}
process.stdout.write(
  JSON.stringify({ idleSeconds, runs, nodeArgs: extraArgs.join(' '), ...report }) + '\n',
);
