/**
 * The `hostile-workload` scenario: while the usual chaos load runs, one user does the most
 * expensive things the API accepts (see hostile.ts), from the client namespace. It passes
 * when the other users never lose service for more than a second, no DB election happens,
 * the import completes, and every expensive request is answered (done or refused with a
 * 4xx) within a few seconds — on top of the load's own verdicts (lost 0, duplicated 0,
 * linearizable).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { nodeEntry, REPO } from '../../base/entry-points.js';
import type { LabFacts } from '../driver.js';
import type { HostileReport } from './hostile.js';
import type { Scenario } from './scenarios.js';

/** Series in the hostile user's calendar (the issue's figure). */
export const HOSTILE_SERIES = 5_000;
/** Other users may lose service for at most this long. */
export const HOSTILE_UNAVAILABILITY_MS = 1_000;
/** Longest answer to one expensive request (a list of 5,000 series, a rule to 2199). */
export const HOSTILE_REQUEST_MS = 5_000;
/**
 * Longest the export of the whole agenda (5,000 series and more, a few MB streamed a page
 * at a time) may take.
 */
export const HOSTILE_EXPORT_MS = 30_000;
/** How long the whole workload may run before the scenario gives up on it. */
const HOSTILE_DEADLINE_MS = 180_000;

/** What the workload did wrong, judged from its report and the DB leader before and after. */
export function hostileProblems(
  report: HostileReport,
  before: Pick<LabFacts, 'dbLeader' | 'dbTerm'>,
  after: Pick<LabFacts, 'dbLeader' | 'dbTerm'>,
  series = HOSTILE_SERIES,
): string[] {
  const problems: string[] = [];
  if (before.dbTerm === null || after.dbTerm === null || before.dbTerm !== after.dbTerm) {
    problems.push(
      `a DB election happened: ${before.dbLeader ?? 'no leader'} in term ${before.dbTerm ?? '?'} before, ${after.dbLeader ?? 'no leader'} in term ${after.dbTerm ?? '?'} after`,
    );
  }
  const { created, updated, unchanged } = report.imported;
  if (report.importStoppedBy !== null) {
    problems.push(`the import stopped early: ${report.importStoppedBy}`);
  }
  if (created + updated + unchanged !== series || report.importFailed > 0) {
    problems.push(
      `the import placed ${created + updated + unchanged} of ${series} series (${report.importFailed} failed)`,
    );
  }
  for (const r of report.requests) {
    if (r.answer === 'unavailable' || r.answer === 'internal' || r.answer === 'rate_limited') {
      problems.push(`${r.what}: answered ${r.answer}`);
    }
    if (r.ms > HOSTILE_REQUEST_MS) {
      problems.push(`${r.what}: took ${r.ms} ms (at most ${HOSTILE_REQUEST_MS})`);
    }
  }
  const { exported } = report;
  if (exported.answer !== 'ok') {
    problems.push(`the export answered ${exported.answer}`);
  } else if (exported.events < series) {
    problems.push(`the export held ${exported.events} events, fewer than the ${series} imported`);
  }
  if (exported.ms > HOSTILE_EXPORT_MS) {
    problems.push(`the export took ${exported.ms} ms (at most ${HOSTILE_EXPORT_MS})`);
  }
  return problems;
}

/** Starts the workload process behind `prefix`; resolves with its report. */
function runWorkload(
  prefix: readonly string[],
  spec: { url: string; caPath: string; username: string; series: number },
): Promise<HostileReport> {
  const argv = [
    ...prefix,
    process.execPath,
    ...nodeEntry('lab/chaos/hostile-main.ts'),
    '--spec',
    JSON.stringify(spec),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), HOSTILE_DEADLINE_MS);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        const line = JSON.parse(last) as
          { type: 'report'; report: HostileReport } | { type: 'error'; message: string };
        if (line.type === 'report') return resolve(line.report);
        return reject(new Error(`the hostile workload failed: ${line.message}`));
      } catch {
        reject(
          new Error(
            `the hostile workload exited (${signal ?? `code ${code}`}) without a report: ${stderr.trim()}`,
          ),
        );
      }
    });
  });
}

export const hostileWorkload: Scenario = {
  name: 'hostile-workload',
  description:
    'one user imports 5,000 yearly series, lists the widest windows, schedules the costliest rules and exports it all',
  needs: ['dbLeader'],
  inject(driver, facts) {
    const username = `hostile-${randomBytes(3).toString('hex')}`;
    const report = runWorkload(driver.clientPrefix, {
      url: driver.vipUrl,
      caPath: driver.caPath,
      username,
      series: HOSTILE_SERIES,
    });
    // Judged once it is over; a failure to run is a finding, not a crash of the runner.
    report.catch(() => undefined);
    return Promise.resolve({
      fault: `${username} imports ${HOSTILE_SERIES.toLocaleString('en')} series, lists the widest windows, schedules the costliest rules, exports it all`,
      targetMs: HOSTILE_UNAVAILABILITY_MS,
      lift: async () => {
        await report.catch(() => undefined);
      },
      findings: async () => {
        let done: HostileReport;
        try {
          done = await report;
        } catch (error) {
          return { problems: [(error as Error).message], details: {} };
        }
        const after = await driver.facts();
        return {
          problems: hostileProblems(done, facts, after),
          details: { ...done, termBefore: facts.dbTerm, termAfter: after.dbTerm },
        };
      },
    });
  },
};
