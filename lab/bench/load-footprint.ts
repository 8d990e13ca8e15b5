/**
 * `npx tsx lab/bench/load-footprint.ts [--form compiled|bundled|both] [--runs 3] [--json]`:
 * what loading each daemon's code costs in memory, without starting anything (no port is
 * bound, so it runs beside `npm start`; `npm run footprint` measures the running system).
 *
 * For each kind of daemon it runs the program as the runner would (the kind's Node flags,
 * `lab/runner.ts`), from `dist/` as it is (`npm run build` first), but with a config file that
 * does not exist: the program loads and evaluates its whole static module graph, then exits 1
 * with its usual message. A module given to `--import` reads /proc/self/smaps_rollup at the
 * exit, after three full garbage collections. The worker threads the DB members (the calendar
 * store on sql.js) and the users services (the calendar parser) start are measured apart, in
 * a process that starts only the worker and waits until it is ready.
 *
 * Reported per kind, the median of `--runs` runs, in MiB: the resident set (`rss`), its
 * anonymous pages (`anon`: the V8 heaps, compiled code and malloc's, what loading the code
 * adds; the rest of the resident set is Node's binary, mapped from the file, and its private
 * or shared share depends on what else runs) and the V8 heap in use; `costMib` is the
 * anonymous memory above an idle `node` measured the same way (for a worker: above a
 * process that started an empty
 * worker, whose thread costs the same whatever it runs). The `bundled` form is dist/daemons/
 * (bin/build.js), which base/entry-points.ts starts when it is there.
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
    runs: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
const forms = values.form === 'both' ? ['compiled', 'bundled'] : [values.form];
if (!forms.every((f) => f === 'compiled' || f === 'bundled')) {
  process.stderr.write('--form is compiled, bundled or both\n');
  process.exit(2);
}
const runs = Number(values.runs);

interface Sample {
  readonly rssMib: number;
  readonly pssMib: number;
  readonly anonMib: number;
  readonly heapUsedMib: number;
}

const MEASURE = `
import { readFileSync, writeSync } from 'node:fs';
export function measure() {
  for (let i = 0; i < 3; i++) globalThis.gc();
  const rollup = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const kb = (f) => Number(new RegExp('^' + f + ':\\\\s+(\\\\d+) kB$', 'm').exec(rollup)?.[1] ?? NaN);
  const mib = (k) => Math.round((k / 1024) * 10) / 10;
  writeSync(2, '\\nLOAD-FOOTPRINT ' + JSON.stringify({
    rssMib: mib(kb('Rss')),
    pssMib: mib(kb('Pss')),
    anonMib: mib(kb('Anonymous')),
    heapUsedMib: mib(process.memoryUsage().heapUsed / 1024),
  }) + '\\n');
}
`;
const ON_EXIT = `
import { measure } from './measure.mjs';
process.on('exit', measure);
`;
// A process that starts one worker (or none), waits until it is ready, and measures.
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
await new Promise((resolve) => setTimeout(resolve, 1000));
measure();
process.exit(0);
`;

const dir = mkdtempSync(join(tmpdir(), 'agenda-load-footprint-'));
writeFileSync(join(dir, 'measure.mjs'), MEASURE);
writeFileSync(join(dir, 'on-exit.mjs'), ON_EXIT);
writeFileSync(join(dir, 'worker-host.mjs'), WORKER_HOST);

function runOnce(
  args: readonly string[],
): Promise<{ sample: Sample; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...args], {
      cwd: REPO,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = /^LOAD-FOOTPRINT (.*)$/m.exec(stderr)?.[1];
      if (line === undefined)
        return reject(new Error(`no measurement from ${args.join(' ')}:\n${stderr}`));
      resolve({
        sample: JSON.parse(line) as Sample,
        stderr: stderr.replace(/\n?LOAD-FOOTPRINT .*\n/, ''),
        code,
      });
    });
  });
}

function median(samples: readonly Sample[]): Sample {
  const pick = (f: keyof Sample) => {
    const sorted = samples.map((s) => s[f]).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? NaN;
  };
  return {
    rssMib: pick('rssMib'),
    pssMib: pick('pssMib'),
    anonMib: pick('anonMib'),
    heapUsedMib: pick('heapUsedMib'),
  };
}

async function measured(args: readonly string[], expectExit?: number): Promise<Sample> {
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const { sample, stderr, code } = await runOnce(args);
    if (expectExit !== undefined && (code !== expectExit || !/cannot read config/.test(stderr))) {
      throw new Error(
        `${args.join(' ')} exited ${code}, not ${expectExit} with its config error:\n${stderr}`,
      );
    }
    samples.push(sample);
  }
  return median(samples);
}

const KINDS: readonly { kind: string; entry: string; stage: Stage; worker?: 'store' | 'parser' }[] =
  [
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

const report: Record<string, unknown> = {};
try {
  for (const form of forms) {
    const results: Record<string, unknown> = {};
    const baselines = new Map<Stage, Sample>();
    for (const k of KINDS) {
      const flags = daemonNodeFlags(k.stage);
      let base = baselines.get(k.stage);
      if (!base) {
        base = await measured([
          ...flags,
          '--import',
          join(dir, 'on-exit.mjs'),
          '-e',
          'process.exit(1)',
        ]);
        baselines.set(k.stage, base);
      }
      const main = await measured(
        [
          ...flags,
          '--import',
          join(dir, 'on-exit.mjs'),
          join(root(form), `${k.entry}.js`),
          '--config',
          '/nonexistent/agenda.json',
        ],
        1,
      );
      const row: Record<string, unknown> = {
        rssMib: main.rssMib,
        anonMib: main.anonMib,
        heapUsedMib: main.heapUsedMib,
        costMib: round(main.anonMib - base.anonMib),
        baselineAnonMib: base.anonMib,
        baselineRssMib: base.rssMib,
      };
      if (k.worker) {
        const host = join(dir, 'worker-host.mjs');
        const entryMjs = fileUrl(form, 'raft/runtime/worker-entry.mjs');
        const empty = await measured([...flags, host, 'empty']);
        const worker =
          k.worker === 'store'
            ? await measured([
                ...flags,
                host,
                'store',
                entryMjs,
                fileUrl(form, 'raft/runtime/state-machine-worker.js'),
                fileUrl(form, 'server/store/store-worker.js'),
              ])
            : await measured([
                ...flags,
                host,
                'parser',
                entryMjs,
                fileUrl(form, 'server/users/calendar-parser-worker.js'),
              ]);
        row.workerCostMib = round(worker.anonMib - empty.anonMib);
        row.emptyWorkerCostMib = round(empty.anonMib - base.anonMib);
        row.totalCostMib = round(
          (row.costMib as number) +
            (row.workerCostMib as number) +
            (row.emptyWorkerCostMib as number),
        );
      } else {
        row.totalCostMib = row.costMib;
      }
      results[k.kind] = row;
      if (!values.json) {
        process.stderr.write(`${form.padEnd(8)} ${k.kind.padEnd(10)} ${JSON.stringify(row)}\n`);
      }
    }
    report[form] = results;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify({ runs, ...report }) + '\n');
