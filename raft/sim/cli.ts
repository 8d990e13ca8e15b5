/**
 * `npm run sim -- --seeds <n> [--first <s>] [--seed <s>] [--json] [--verbose] [--check-ms <ms>]`:
 * runs the deterministic simulator over seeds first..first+n-1 (default 1..n). A failing seed
 * prints its trace; the same seed replays exactly.
 */
import { parseArgs } from 'node:util';
import { loadSqlJs } from '../kv/sql.js';
import { Simulation } from './simulator.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    seed: { type: 'string' },
    // The first of the --seeds seeds (default 1), to split a sweep across processes.
    first: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    // Budget of each run's linearizability check; a run whose check runs out of it fails.
    'check-ms': { type: 'string', default: '20000' },
  },
});

const SQL = await loadSqlJs();
const seeds: number[] =
  values.seed !== undefined
    ? [Number(values.seed)]
    : range(Number(values.first), Number(values.seeds));
const checkBudgetMs = Number(values['check-ms']);
if (seeds.some((s) => !Number.isSafeInteger(s) || s < 0) || !(checkBudgetMs >= 0)) {
  process.stderr.write('--seeds, --seed and --check-ms take non-negative integers\n');
  process.exit(1);
}

const failedSeeds: number[] = [];
const started = performance.now();
let acked = 0;
for (const seed of seeds) {
  const sim = new Simulation(seed, SQL, undefined, { checkBudgetMs });
  const result = sim.run();
  acked += result.stats.acked;
  // Passed means checked: a run whose history check did not say linearizable failed, even
  // if the simulator let it through.
  const passed = result.ok && result.historyVerdict === 'linearizable';
  if (!passed) {
    failedSeeds.push(seed);
    const why = result.failure ?? `the history check's verdict is ${result.historyVerdict}`;
    process.stderr.write(
      `\nseed ${seed} FAILED: ${why}\nprofile: ${JSON.stringify(sim.profile)}\n`,
    );
    process.stderr.write(result.trace.slice(-120).join('\n') + '\n');
    process.stderr.write(`replay with: npm run sim -- --seed ${seed} --verbose\n`);
  } else if (values.verbose) {
    process.stderr.write(result.trace.join('\n') + '\n');
  }
  if (values.verbose || !values.json) {
    process.stderr.write(
      `seed ${seed}: ${passed ? 'ok' : 'FAILED'} ${JSON.stringify(result.stats)}\n`,
    );
  }
}
const summary = {
  runs: seeds.length,
  failures: failedSeeds.length,
  failedSeeds,
  ackedWrites: acked,
  seconds: Math.round((performance.now() - started) / 100) / 10,
};
process.stdout.write(
  (values.json
    ? JSON.stringify(summary)
    : `\n${summary.runs} runs, ${summary.failures} failures${failedSeeds.length ? ` (seeds ${failedSeeds.join(', ')})` : ''}, ${summary.seconds}s`) +
    '\n',
);
process.exitCode = failedSeeds.length > 0 ? 1 : 0;

function range(first: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => first + i);
}
