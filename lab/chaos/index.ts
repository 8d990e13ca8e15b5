/**
 * `npm run lab -- chaos [--scenario <name>] [--json]`: faults under continuous client load
 * through the VIP, each judged on what clients saw — how long nothing succeeded, whether any
 * acknowledged write was lost or applied twice, and whether the history is linearizable.
 *
 * One scenario: start the load (fresh users, in the client namespace), let it settle, pick
 * the target from the lab's facts and inject the fault, keep the load running through the
 * failover (and through the fault's lift, for network faults and pauses), stop the load,
 * `driver.restore()`, read every user's agenda back, then judge. The runner only sees the
 * {@link LabDriver} interface and a {@link LoadLauncher}, so tests drive it with a fake lab
 * and an in-process system.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LabDriver, LabFacts } from '../driver.js';
import type { WorstDelayByKind } from '../event-loop-delay.js';
import { historyOf, longestOutage, successTimes } from './history.js';
import { childProcessLoad, type LoadLauncher, type LoadSession } from './load-session.js';
import { checkAgendaHistory } from './model.js';
import { monotonicNow, type LoadSpec, type OpRecord, type UserReadBack } from './protocol.js';
import { humanReport, jsonReport, failuresOf, tallyWrites, type ScenarioResult } from './report.js';
import { selectScenarios, type Injection, type Scenario } from './scenarios.js';

export { UnknownScenarioError, SCENARIO_NAMES, UNAVAILABILITY_TARGETS_MS } from './scenarios.js';
export type { ScenarioResult, WriteTally } from './report.js';
export { childProcessLoad, inProcessLoad, type LoadLauncher } from './load-session.js';

/** How long each phase of a scenario lasts. */
export interface ScenarioTiming {
  /** Load before the fault, so the failover starts from a steady state. */
  readonly warmupMs: number;
  /**
   * The first scenario's load before its fault, when longer than `warmupMs`. A system just
   * brought up is not yet in a steady state: each process still compiles and loads code
   * paths the first time a request takes them, and the first DB leader failover of a run,
   * 3 s after `lab up`, took 1.6 s where the same failover later took 0.55–0.95 s.
   */
  readonly firstWarmupMs: number;
  /** Load after the fault (until the lift, for faults that are lifted). */
  readonly faultMs: number;
  /** Load after the lift: the return of a paused or isolated member is observed too. */
  readonly afterLiftMs: number;
  /** How long the lab may take to become healthy again after a scenario. */
  readonly restoreTimeoutMs: number;
  /** How long to wait for the lab to know the fact a scenario targets (e.g. the DB leader). */
  readonly factsTimeoutMs: number;
}

export const DEFAULT_TIMING: ScenarioTiming = {
  warmupMs: 3_000,
  firstWarmupMs: 15_000,
  faultMs: 7_000,
  afterLiftMs: 2_000,
  restoreTimeoutMs: 180_000,
  factsTimeoutMs: 15_000,
};

/** The load's shape; see {@link LoadSpec}. */
export type LoadShape = Pick<
  LoadSpec,
  | 'clients'
  | 'users'
  | 'attemptTimeoutMs'
  | 'retryDelayMs'
  | 'paceMs'
  | 'createShare'
  | 'readBackTimeoutMs'
>;

/** 8 clients on 4 users (two writers and readers per agenda), 1 s attempts, ≤ 40 ops/s each. */
export const DEFAULT_LOAD_SHAPE: LoadShape = {
  clients: 8,
  users: 4,
  attemptTimeoutMs: 1_000,
  retryDelayMs: 50,
  paceMs: 25,
  createShare: 0.5,
  readBackTimeoutMs: 30_000,
};

export interface ChaosOptions {
  /** Run only this scenario. */
  readonly scenario?: string;
  /** Print the JSON report as the last line instead of the table. */
  readonly json: boolean;
  /** Where the report goes, line by line; default stdout. */
  readonly out?: (line: string) => void;
  /** Where progress goes, line by line; default stderr. */
  readonly progress?: (line: string) => void;
  /** How the load runs; default a child process behind `driver.clientPrefix`. */
  readonly load?: LoadLauncher;
  readonly timing?: Partial<ScenarioTiming>;
  readonly shape?: Partial<LoadShape>;
  /** Seeds the load's choices; random by default (each result names its seed). */
  readonly seed?: number;
  /** Budget of the linearizability check, per scenario. Default 30 s. */
  readonly checkTimeoutMs?: number;
  /**
   * What the system logged between two instants (epoch ms), printed as progress after a
   * scenario that failed: the report says what went wrong, these lines say where.
   */
  readonly explain?: (fromMs: number, toMs: number) => readonly string[];
  /**
   * The worst event-loop delay of each kind of process since the previous reading
   * (`EventLoopDelayScraper`, `since: 'previous-scrape'`). It is read before each scenario,
   * to start its window, and after it: the report shows each scenario's stalls (and those of
   * processes it restarted, start-up included), not those of the lab's own start.
   */
  readonly eventLoopDelays?: () => Promise<WorstDelayByKind>;
}

export interface ChaosReport {
  readonly scenarios: ScenarioResult[];
  /** Every scenario met every target. */
  readonly pass: boolean;
}

/** Where the load's events live: far from anything a person would schedule. */
const WINDOW_START = '2031-01-06T00:00:00.000Z';

/**
 * Runs the chosen scenarios one after another, prints the report through `out` and returns
 * it. A scenario that cannot be carried out (the lab or the load fails) is reported as
 * failed with its error, and the others still run.
 *
 * @throws UnknownScenarioError before anything runs when `scenario` names none.
 */
export async function runChaos(driver: LabDriver, options: ChaosOptions): Promise<ChaosReport> {
  const scenarios = selectScenarios(options.scenario);
  const out = options.out ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const progress = options.progress ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const context: RunContext = {
    driver,
    progress,
    launch: options.load ?? childProcessLoad(driver.clientPrefix),
    timing: { ...DEFAULT_TIMING, ...options.timing },
    shape: { ...DEFAULT_LOAD_SHAPE, ...options.shape },
    runId: randomBytes(4).toString('hex'),
    seed: options.seed ?? randomBytes(4).readUInt32BE(),
    checkTimeoutMs: options.checkTimeoutMs ?? 30_000,
  };

  progress('chaos: making sure the lab is healthy…');
  await driver.restore(context.timing.restoreTimeoutMs);
  const results: ScenarioResult[] = [];
  for (const [index, scenario] of scenarios.entries()) {
    progress(`chaos: ${scenario.name}: ${scenario.description}`);
    const startedAt = Date.now();
    await eventLoopDelaysAfter(scenario, options.eventLoopDelays, progress);
    const ran = await runScenario(context, scenario, index);
    const delays = await eventLoopDelaysAfter(scenario, options.eventLoopDelays, progress);
    const result: ScenarioResult =
      delays === null ? ran : { ...ran, eventLoopDelayWorstMs: delays };
    const failures = failuresOf(result);
    progress(`chaos: ${scenario.name}: ${failures.length === 0 ? 'pass' : failures.join('; ')}`);
    if (failures.length > 0 && options.explain) {
      const lines = options.explain(startedAt, Date.now());
      progress(`chaos: ${scenario.name}: what the processes warned about meanwhile:`);
      for (const line of lines.length > 0 ? lines : ['(nothing)']) progress(`  ${line}`);
    }
    results.push(result);
  }
  if (options.json) out(jsonReport(results));
  else for (const line of humanReport(results)) out(line);
  return { scenarios: results, pass: results.every((result) => failuresOf(result).length === 0) };
}

interface RunContext {
  readonly driver: LabDriver;
  readonly progress: (line: string) => void;
  readonly launch: LoadLauncher;
  readonly timing: ScenarioTiming;
  readonly shape: LoadShape;
  readonly runId: string;
  readonly seed: number;
  readonly checkTimeoutMs: number;
}

async function runScenario(
  context: RunContext,
  scenario: Scenario,
  index: number,
): Promise<ScenarioResult> {
  const { driver, timing, shape, progress } = context;
  const seed = (context.seed + index * 7919) >>> 0;
  const spec: LoadSpec = {
    ...shape,
    url: driver.vipUrl,
    caPath: driver.caPath,
    userPrefix: `chaos-${context.runId}-${index}`,
    seed,
    windowStart: WINDOW_START,
  };
  const records: OpRecord[] = [];
  let injection: Injection | null = null;
  let faultAt = Number.NaN;
  let stoppedAt = Number.NaN;
  let readBack: UserReadBack[] | null = null;
  let findings: Awaited<ReturnType<NonNullable<Injection['findings']>>> | null = null;
  let restored = false;
  let error: string | undefined;
  let session: LoadSession | null = null;
  try {
    session = context.launch(spec, (record) => records.push(record));
    await session.ready();
    await sleep(index === 0 ? Math.max(timing.warmupMs, timing.firstWarmupMs) : timing.warmupMs);
    const facts = await factsWith(driver, scenario.needs, timing.factsTimeoutMs);
    faultAt = monotonicNow();
    injection = await scenario.inject(driver, facts);
    progress(`chaos: ${scenario.name}: ${injection.fault}`);
    await sleep(Math.max(0, faultAt + timing.faultMs - monotonicNow()));
    if (injection.lift !== null) {
      await injection.lift();
      progress(`chaos: ${scenario.name}: fault lifted`);
      await sleep(timing.afterLiftMs);
    }
    stoppedAt = await session.stop();
    findings = (await injection.findings?.()) ?? null;
    progress(`chaos: ${scenario.name}: restoring the lab…`);
    await driver.restore(timing.restoreTimeoutMs);
    restored = true;
    readBack = await session.readBack();
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
  } finally {
    await session?.close().catch((caught: unknown) => {
      error ??= `closing the load failed: ${String(caught)}`;
    });
    if (!restored) {
      // The next scenario must start from a healthy lab, whatever happened here.
      await driver.restore(timing.restoreTimeoutMs).catch((caught: unknown) => {
        error ??= `restoring the lab failed: ${String(caught)}`;
      });
    }
  }
  return judge(
    {
      scenario,
      injection,
      records,
      faultAt,
      stoppedAt,
      readBack,
      error,
      seed,
      findings,
    },
    context,
  );
}

interface Observation {
  readonly scenario: Scenario;
  readonly injection: Injection | null;
  readonly records: readonly OpRecord[];
  readonly faultAt: number;
  readonly stoppedAt: number;
  /** Null when the scenario did not get as far as reading the agendas back. */
  readonly readBack: readonly UserReadBack[] | null;
  readonly error: string | undefined;
  readonly seed: number;
  readonly findings: Awaited<ReturnType<NonNullable<Injection['findings']>>> | null;
}

/** Turns what was observed into the scenario's verdicts. */
function judge(observation: Observation, context: RunContext): ScenarioResult {
  const { scenario, injection, records, faultAt, stoppedAt, readBack, seed, findings } =
    observation;
  let error = observation.error;
  const measured = Number.isFinite(faultAt) && Number.isFinite(stoppedAt);
  const outage = measured ? longestOutage(successTimes(records), faultAt, stoppedAt) : null;
  const writeOutage = measured
    ? longestOutage(successTimes(records, 'creates'), faultAt, stoppedAt)
    : null;
  let verdict: string | null = null;
  let explanation: string | undefined;
  if (readBack !== null) {
    try {
      const history = historyOf(records, readBack, context.shape.clients);
      const check = checkAgendaHistory(history, { timeoutMs: context.checkTimeoutMs });
      verdict = check.verdict;
      explanation = check.failure?.explanation;
    } catch (caught) {
      error ??= `checking the history failed: ${caught instanceof Error ? caught.message : String(caught)}`;
    }
  }
  const reads = records.filter((record) => record.kind === 'read');
  return {
    name: scenario.name,
    fault: injection?.fault ?? '',
    targetMs: injection?.targetMs ?? null,
    unavailableMs: outage?.ms ?? null,
    writeUnavailableMs: writeOutage?.ms ?? null,
    recovered: outage?.recovered ?? null,
    ...(outage === null
      ? {}
      : {
          outageWindow: {
            fromMs: Math.round(outage.from - faultAt),
            toMs: Math.round(outage.to - faultAt),
            // The monotonic instant on the wall clock, to read beside the daemons' logs.
            faultAt: new Date(Date.now() - (monotonicNow() - faultAt)).toISOString(),
          },
        }),
    writes: readBack === null ? null : tallyWrites(records, readBack),
    reads: reads.filter((record) => record.outcome === 'ok').length,
    failedReads: reads.filter((record) => record.outcome === 'failed').length,
    verdict,
    ...(explanation === undefined ? {} : { explanation }),
    ...(error === undefined ? {} : { error }),
    seed,
    ...(findings === null ? {} : { findings: findings.problems, details: findings.details }),
  };
}

/**
 * The reading of `measure` after `scenario`, or null without one. A failed reading costs the
 * report a figure, not the scenario its verdict.
 */
async function eventLoopDelaysAfter(
  scenario: Scenario,
  measure: (() => Promise<WorstDelayByKind>) | undefined,
  progress: (line: string) => void,
): Promise<WorstDelayByKind | null> {
  if (measure === undefined) return null;
  try {
    return await measure();
  } catch (caught) {
    progress(`chaos: ${scenario.name}: no event-loop delays: ${String(caught)}`);
    return null;
  }
}

/** The lab's facts once it knows every fact in `needs`. @throws Error after `timeoutMs`. */
async function factsWith(
  driver: LabDriver,
  needs: ReadonlyArray<keyof LabFacts>,
  timeoutMs: number,
): Promise<LabFacts> {
  const deadline = monotonicNow() + timeoutMs;
  for (;;) {
    const facts = await driver.facts();
    const missing = needs.filter((fact) => facts[fact] === null);
    if (missing.length === 0) return facts;
    if (monotonicNow() > deadline) {
      throw new Error(`the lab did not know the ${missing.join(' and ')} within ${timeoutMs} ms`);
    }
    await sleep(200);
  }
}
