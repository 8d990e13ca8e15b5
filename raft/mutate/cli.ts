/**
 * `npm run mutate -- [--json] [--seeds n] [--jobs n] [--only name,...] [--no-tests]`: the
 * mutation harness. For each known bug in `mutations.ts` it copies the repository's `raft/`
 * and `base/` (with the root's configuration and a link to its node_modules) into
 * a temporary directory — never touching the working tree it runs from — applies the bug
 * there, runs the simulator over seeds 1..n and the bug's unit tests, and reports which
 * caught it. Exit code 1 if the simulator missed any bug, 2 if a mutation no longer
 * matches its source file exactly once.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MUTATIONS, type Mutation } from './mutations.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** What the simulator and raft's unit tests need from the repository. */
const COPIED = ['raft', 'base', 'package.json', 'tsconfig.json', 'ava.config.js'];
const TEST_TIMEOUT_MS = 240_000;

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seeds: { type: 'string', default: '150' },
    jobs: { type: 'string', default: '2' },
    only: { type: 'string' },
    'no-tests': { type: 'boolean', default: false },
  },
});

interface Outcome {
  readonly name: string;
  readonly bug: string;
  readonly file: string;
  /** Seeds (of 1..seeds) on which the simulator reported a failure. */
  readonly simFailedSeeds: readonly number[];
  readonly simCaught: boolean;
  /** Whether the bug's unit tests failed; null when none are listed or tests were skipped. */
  readonly testsCaught: boolean | null;
  readonly tests: readonly string[];
  readonly seconds: number;
}

class MutationMismatchError extends Error {}

const seeds = Number(values.seeds);
const jobs = Number(values.jobs);
if (!Number.isSafeInteger(seeds) || seeds < 1 || !Number.isSafeInteger(jobs) || jobs < 1) {
  process.stderr.write('--seeds and --jobs take positive integers\n');
  process.exit(2);
}
const only = values.only?.split(',');
const selected = MUTATIONS.filter((m) => !only || only.includes(m.name));
if (only && selected.length !== only.length) {
  process.stderr.write(
    `unknown mutation in --only; known: ${MUTATIONS.map((m) => m.name).join(', ')}\n`,
  );
  process.exit(2);
}

const started = performance.now();
const base = mkdtempSync(join(tmpdir(), 'agenda-mutate-'));
let outcomes: Outcome[];
try {
  outcomes = await runAll(selected);
} catch (err) {
  if (!(err instanceof MutationMismatchError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
} finally {
  rmSync(base, { recursive: true, force: true });
}

const survivors = outcomes.filter((o) => !o.simCaught).map((o) => o.name);
const summary = {
  seeds,
  mutations: outcomes,
  survivors,
  seconds: Math.round((performance.now() - started) / 100) / 10,
};
if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
else {
  for (const o of outcomes) {
    const tests =
      o.testsCaught === null ? 'no tests run' : o.testsCaught ? 'tests fail' : 'tests PASS';
    process.stdout.write(
      `${o.simCaught ? 'caught  ' : 'SURVIVED'} ${o.name}: ${o.simFailedSeeds.length}/${seeds} seeds fail, ${tests}\n`,
    );
  }
  process.stdout.write(`${survivors.length} survived, ${summary.seconds}s\n`);
}
process.exitCode = survivors.length > 0 ? 1 : 0;

/** Runs the mutations `jobs` at a time, in list order; results come back in that order. */
async function runAll(list: readonly Mutation[]): Promise<Outcome[]> {
  // Check every mutation against the sources first: a stale one fails before any work.
  for (const m of list) apply(m, ROOT, false);
  const results: Outcome[] = new Array<Outcome>(list.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < list.length; i = next++) {
      const m = list[i];
      if (m) results[i] = await runOne(m);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, list.length) }, worker));
  return results;
}

async function runOne(m: Mutation): Promise<Outcome> {
  const t0 = performance.now();
  const dir = join(base, m.name);
  for (const path of COPIED) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  apply(m, dir, true);
  const sim = await run(
    dir,
    [
      process.execPath,
      '--import',
      'tsx',
      'raft/sim/cli.ts',
      '--seeds',
      String(seeds),
      '--json',
      ...(m.simArgs ?? []),
    ],
    0,
  );
  const line = sim.stdout.trim().split('\n').at(-1) ?? '';
  let failedSeeds: number[];
  try {
    failedSeeds = (JSON.parse(line) as { failedSeeds: number[] }).failedSeeds;
  } catch {
    // The simulator itself did not finish (the bug crashed it): that is a catch, on every seed.
    process.stderr.write(
      `${m.name}: the simulator exited ${sim.code} without a summary\n${sim.stderr.slice(-2000)}\n`,
    );
    failedSeeds = Array.from({ length: seeds }, (_, i) => i + 1);
  }
  let testsCaught: boolean | null = null;
  if (!values['no-tests'] && m.tests.length > 0) {
    const tests = await run(
      dir,
      [process.execPath, join(ROOT, 'node_modules/ava/entrypoints/cli.mjs'), ...m.tests],
      TEST_TIMEOUT_MS,
    );
    testsCaught = tests.code !== 0;
  }
  rmSync(dir, { recursive: true, force: true });
  const outcome: Outcome = {
    name: m.name,
    bug: m.bug,
    file: m.file,
    simFailedSeeds: failedSeeds,
    simCaught: failedSeeds.length > 0,
    testsCaught,
    tests: m.tests,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
  if (!values.json) {
    process.stderr.write(
      `${m.name}: ${failedSeeds.length} seeds fail, tests ${String(testsCaught)}\n`,
    );
  }
  return outcome;
}

/** Applies `m` under `dir` (or only checks that it applies, with `write` false). */
function apply(m: Mutation, dir: string, write: boolean): void {
  const path = join(dir, m.file);
  const source = readFileSync(path, 'utf8');
  const count = source.split(m.search).length - 1;
  if (count !== 1) {
    throw new MutationMismatchError(
      `mutation ${m.name}: its search text occurs ${count} times in ${m.file} (must be exactly once); update raft/mutate/mutations.ts`,
    );
  }
  if (write)
    writeFileSync(
      path,
      source.replace(m.search, () => m.replace),
    );
}

/** Runs a command in `cwd`; kills it after `timeoutMs` (0: no limit). */
function run(
  cwd: string,
  [command, ...args]: string[],
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command ?? '', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    // Only the end of a failing run's output is worth keeping.
    child.stderr
      .setEncoding('utf8')
      .on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
    const timer = timeoutMs > 0 ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : undefined;
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code: code ?? 1, stdout, stderr });
    });
  });
}
