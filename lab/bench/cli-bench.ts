/**
 * `npm run bench:cli -- [--runs 11] [--settle 20] [--json]`: how long the `agenda` command takes before it
 * does anything, against how long Node itself takes to start on this machine, measured in the
 * same run. Starts `npm start`'s system in a temporary directory (so stop `npm start` first:
 * they share ports), registers a user through the CLI, leaves the system `--settle` seconds
 * to finish starting (eighteen processes compiling their hot code and electing leaders keep
 * both cores busy for the first seconds), then times, `--runs` times each and interleaved
 * (so a busy moment of the machine falls on all three alike):
 *
 * - `nodeBaselineMs`: `node -e 0`;
 * - `versionMs`: `agenda --version` (start-up alone: oclif reads the manifest, imports nothing);
 * - `listMs`: `agenda event list` for a signed-in user (start-up, one command's imports, a
 *   TLS connection and one request through the gateway, services and DB).
 *
 * Medians of wall time. Targets (issue 14): `versionMs` ≤ 2.5 × `nodeBaselineMs`, and
 * `listMs` ≤ `versionMs` + 150 ms. The CLI runs compiled (dist/, built first); the last line
 * is the JSON report.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../../base/entry-points.js';
import { startLocalSystem } from '../local/system.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '11' },
    settle: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
  process.stderr.write('--runs must be an integer from 1 to 100\n');
  process.exit(1);
}
const settleSeconds = Number(values.settle);
if (!Number.isFinite(settleSeconds) || settleSeconds < 0 || settleSeconds > 600) {
  process.stderr.write('--settle must be a number of seconds from 0 to 600\n');
  process.exit(1);
}
const say = (s: string) => process.stderr.write(s + '\n');
const AGENDA = join(REPO, 'bin/agenda.js');

const dataDir = mkdtempSync(join(tmpdir(), 'agenda-cli-bench-'));
const configDir = join(dataDir, 'cli');
const env: NodeJS.ProcessEnv = { ...process.env, AGENDA_CONFIG_DIR: configDir, NO_COLOR: '1' };
// The CLI must run compiled, as a user's does: never from the sources through tsx.
delete env.AGENDA_FROM_SOURCES;

/** Runs a command to its end; its wall time in ms, or throws with what it said. */
function timed(command: string, args: readonly string[], input?: string): number {
  const started = performance.now();
  const run = spawnSync(command, args, { env, input, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (run.status !== 0) {
    throw new Error(`${[command, ...args].join(' ')} exited ${run.status}: ${run.stderr}`);
  }
  return ms;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0);
}

say(`starting the whole system in ${dataDir}…`);
const system = await startLocalSystem({ dataDir, say });
let report: Record<string, unknown>;
try {
  const server = system.gateways.join(',');
  timed(
    process.execPath,
    [AGENDA, 'register', 'clibench', '--password-stdin', '--server', server, '--ca', system.ca],
    'a long enough passphrase for the bench\n',
  );
  say(`leaving the system ${settleSeconds} s to settle…`);
  await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
  const node: number[] = [];
  const version: number[] = [];
  const list: number[] = [];
  // One of each first, not counted: the disk cache and the gateway's connections warm up.
  timed(process.execPath, [AGENDA, '--version']);
  timed(process.execPath, [AGENDA, 'event', 'list']);
  say(`timing node -e 0, agenda --version and agenda event list, ${runs} times each…`);
  for (let i = 0; i < runs; i++) {
    node.push(timed(process.execPath, ['-e', '0']));
    version.push(timed(process.execPath, [AGENDA, '--version']));
    list.push(timed(process.execPath, [AGENDA, 'event', 'list']));
  }
  const nodeBaselineMs = median(node);
  const versionMs = median(version);
  const listMs = median(list);
  report = {
    runs,
    settleSeconds,
    nodeBaselineMs,
    versionMs,
    listMs,
    versionOverBaseline: Math.round((versionMs / nodeBaselineMs) * 100) / 100,
    listOverVersionMs: listMs - versionMs,
    ok: versionMs <= 2.5 * nodeBaselineMs && listMs <= versionMs + 150,
  };
} finally {
  await system.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
if (!values.json) {
  say(
    `node -e 0 ${String(report.nodeBaselineMs)} ms; agenda --version ${String(report.versionMs)} ms; agenda event list ${String(report.listMs)} ms`,
  );
}
process.stdout.write(JSON.stringify(report) + '\n');
