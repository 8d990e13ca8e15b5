/**
 * `npm run footprint -- [--idle 60] [--json]`: how much memory the local topology holds at
 * rest. Starts `npm start`'s system in a temporary directory, leaves it idle for `--idle`
 * seconds (start-up's garbage is collected by then), and reads every process's resident
 * memory from /proc (with anything it started beside it), three times a second apart; the
 * median of the three is reported, per process and per kind, against issue 17's budgets
 * (≤ 80 MiB per gateway, service, supervisor and VIP agent, ≤ 120 MiB per DB member, ≤ 1.2 GB
 * in all, judged on the sum of resident sets, which counts Node's shared code once per
 * process; `totalPssMib` counts shared pages once, what the system really takes). `nodeBaselineMib` is an idle `node -e` measured in the same run: Node's own floor
 * on this machine. `idleCpuPercent` is the CPU each kind of process used at rest (the second
 * half of the wait), in percent of one core, summed over its processes: heartbeats, lease
 * renewals, polling, timers. The last line is the JSON report; it exits 0 whether or not a
 * budget holds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalSystem } from '../local/system.js';
import { startCpuCount } from './cpu.js';
import {
  byKind,
  IDLE_RSS_BUDGET_MIB,
  IDLE_TOTAL_BUDGET_MIB,
  idleNodeRssMib,
  medianRssMib,
  pssBytes,
  sampleRssMib,
} from './memory.js';

const { values } = parseArgs({
  options: {
    idle: { type: 'string', default: '60' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const idleSeconds = Number(values.idle);
if (!Number.isInteger(idleSeconds) || idleSeconds < 0 || idleSeconds > 3_600) {
  process.stderr.write('--idle must be a whole number of seconds, 0 to 3600\n');
  process.exit(1);
}
const say = (s: string) => process.stderr.write(s + '\n');

const nodeBaselineMib = await idleNodeRssMib();
const dataDir = mkdtempSync(join(tmpdir(), 'agenda-footprint-'));
say(`starting the whole system in ${dataDir}…`);
const system = await startLocalSystem({ dataDir, say });
let median: Map<string, number>;
/** Percent of one core each kind of process used at rest, summed over its processes. */
const idleCpu: Record<string, number> = {};
let pss: Map<string, number>;
try {
  say(`idle for ${idleSeconds} s…`);
  const pids = new Map<string, number>();
  for (const [name, p] of system.processes) if (p.pid !== undefined) pids.set(name, p.pid);
  // The CPU at rest is counted over the second half of the wait, start-up's tail left out.
  await new Promise((resolve) => setTimeout(resolve, (idleSeconds * 1_000) / 2));
  const cpu = startCpuCount(pids);
  const counted = performance.now();
  await new Promise((resolve) => setTimeout(resolve, (idleSeconds * 1_000) / 2));
  const seconds = (performance.now() - counted) / 1_000;
  for (const [kind, ms] of cpu()) {
    if (kind !== 'client')
      idleCpu[kind] = Math.round((ms / 10 / Math.max(seconds, 1e-3)) * 10) / 10;
  }
  median = await medianRssMib(pids);
  pss = sampleRssMib(pids, pssBytes);
} finally {
  await system.stop();
  if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
}

const processes: Record<string, number> = Object.fromEntries([...median].sort());
const kinds = byKind(new Map(Object.entries(processes)));
const totalMib = Math.round(Object.values(processes).reduce((a, b) => a + b, 0) * 10) / 10;
const budgets: Record<string, { budgetMib: number; maxMib: number; ok: boolean }> = {};
for (const [kind, k] of Object.entries(kinds)) {
  const budgetMib = IDLE_RSS_BUDGET_MIB[kind];
  if (budgetMib !== undefined)
    budgets[kind] = { budgetMib, maxMib: k.maxMib, ok: k.maxMib <= budgetMib };
}
const totalPssMib = Math.round([...pss.values()].reduce((a, b) => a + b, 0) * 10) / 10;
const report = {
  idleSeconds,
  nodeBaselineMib,
  totalMib,
  // What the system really takes: shared pages (Node's code above all) counted once.
  totalPssMib,
  pssMib: Object.fromEntries([...pss].sort()),
  totalBudgetMib: IDLE_TOTAL_BUDGET_MIB,
  ok: totalMib <= IDLE_TOTAL_BUDGET_MIB && Object.values(budgets).every((b) => b.ok),
  kinds,
  budgets,
  processes,
  idleCpuPercent: {
    ...idleCpu,
    total: Math.round(Object.values(idleCpu).reduce((a, b) => a + b, 0) * 10) / 10,
  },
};
if (!values.json) {
  say(
    `idle node: ${nodeBaselineMib} MiB; the whole system: ${totalMib} MiB (budget ${IDLE_TOTAL_BUDGET_MIB})`,
  );
  for (const [kind, k] of Object.entries(kinds)) {
    const b = budgets[kind];
    say(
      `  ${kind.padEnd(11)} ${String(k.processes).padStart(2)} × up to ${k.maxMib} MiB` +
        (b ? ` (budget ${b.budgetMib}${b.ok ? '' : ', over'})` : ''),
    );
  }
}
process.stdout.write(JSON.stringify(report) + '\n');
