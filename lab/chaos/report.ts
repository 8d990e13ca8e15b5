/**
 * The verdicts of a chaos scenario and how they are shown: the write accounting (acked,
 * lost, duplicated) from the load's records and the agendas read back after the system was
 * restored, the per-scenario result with its pass/fail against the targets, and the human
 * table and the JSON line of `npm run lab -- chaos`.
 */
import { describeDelays, worseOf, type WorstDelayByKind } from '../event-loop-delay.js';
import type { OpRecord, UserReadBack } from './protocol.js';

/** Where the creates of a run ended up, judged against the agendas read back at the end. */
export interface WriteTally {
  /** Creates the system acknowledged (2xx), after however many attempts. */
  readonly acked: number;
  /** Acknowledged creates whose title is missing from their user's agenda at the end. */
  readonly lost: number;
  /**
   * Creates applied more than once: titles present more than once in an agenda at the end
   * (each title is one create with one idempotency key, so a second copy is a second apply).
   */
  readonly duplicated: number;
  /** Creates whose outcome the load never learned (the run ended during their retries). */
  readonly unknown: number;
  /** Of those, how many are present at the end (they took effect; neither lost nor wrong). */
  readonly unknownApplied: number;
  /** Creates refused with a definitive 4xx. */
  readonly refused: number;
  /** Titles present at the end that no acknowledged or unknown create explains. */
  readonly phantom: number;
  /** A few of the titles behind `lost`, `duplicated` and `phantom`, for a human to look up. */
  readonly examples: {
    readonly lost: string[];
    readonly duplicated: string[];
    readonly phantom: string[];
  };
}

const EXAMPLES = 5;

/** Counts acked, lost, duplicated (and the rest of {@link WriteTally}) for one run. */
export function tallyWrites(
  records: readonly OpRecord[],
  readBack: readonly UserReadBack[],
): WriteTally {
  /** user → title → copies present at the end. */
  const present = new Map<string, Map<string, number>>();
  for (const { user, titles } of readBack) {
    const copies = present.get(user) ?? new Map<string, number>();
    for (const title of titles) copies.set(title, (copies.get(title) ?? 0) + 1);
    present.set(user, copies);
  }
  const copiesOf = (user: string, title: string) => present.get(user)?.get(title) ?? 0;

  let acked = 0;
  let unknown = 0;
  let unknownApplied = 0;
  let refused = 0;
  const lost: string[] = [];
  const explained = new Set<string>();
  for (const record of records) {
    if (record.kind !== 'create') continue;
    const key = `${record.user}\u0000${record.title}`;
    if (record.outcome === 'acked') {
      acked += 1;
      explained.add(key);
      if (copiesOf(record.user, record.title) === 0) lost.push(record.title);
    } else if (record.outcome === 'unknown') {
      unknown += 1;
      explained.add(key);
      if (copiesOf(record.user, record.title) > 0) unknownApplied += 1;
    } else {
      refused += 1;
    }
  }
  const duplicated: string[] = [];
  const phantom: string[] = [];
  for (const [user, copies] of present) {
    for (const [title, count] of copies) {
      if (count > 1) duplicated.push(title);
      if (!explained.has(`${user}\u0000${title}`)) phantom.push(title);
    }
  }
  return {
    acked,
    lost: lost.length,
    duplicated: duplicated.length,
    unknown,
    unknownApplied,
    refused,
    phantom: phantom.length,
    examples: {
      lost: lost.slice(0, EXAMPLES),
      duplicated: duplicated.slice(0, EXAMPLES),
      phantom: phantom.slice(0, EXAMPLES),
    },
  };
}

/** The outcome of one scenario, as the report shows it. */
export interface ScenarioResult {
  readonly name: string;
  /** What was done, e.g. `killed db-3 (the DB leader)`; empty when the scenario failed before. */
  readonly fault: string;
  /** The unavailability bound for this scenario's fault; null when nothing was injected. */
  readonly targetMs: number | null;
  /** See `longestOutage` (history.ts); null when the scenario did not get that far. */
  readonly unavailableMs: number | null;
  /** The same, counting acknowledged creates only. */
  readonly writeUnavailableMs: number | null;
  /**
   * Where that longest outage lay: its first and last instant in ms relative to the fault
   * (negative: before it), and the fault's wall-clock time, to read beside the daemons' logs.
   */
  readonly outageWindow?: {
    readonly fromMs: number;
    readonly toMs: number;
    readonly faultAt: string;
  };
  /**
   * False when no operation succeeded between the longest outage's start and the stop (only
   * telling when that outage is long: a short one may just be the load's last pause).
   */
  readonly recovered: boolean | null;
  readonly writes: WriteTally | null;
  /** Reads answered, and client attempts that found no answer or an error. */
  readonly reads: number;
  readonly failedReads: number;
  /** `linearizable`, `not_linearizable` or `timeout` (a timeout is not a pass). */
  readonly verdict: string | null;
  /** Why the history is not linearizable, for a human. */
  readonly explanation?: string;
  /**
   * The worst event-loop delay of each kind of process, in ms, since each process started,
   * as read once the scenario was over (`lab/event-loop-delay.ts`); absent when the run did
   * not measure it.
   */
  readonly eventLoopDelayWorstMs?: WorstDelayByKind;
  /** What went wrong running the scenario itself (the lab or the load failed). */
  readonly error?: string;
  /** Seed of the load's choices. */
  readonly seed: number;
  /** What the fault itself found wrong (see `Injection.findings`). */
  readonly findings?: readonly string[];
  /** Figures the fault reported (a workload's timings, …). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Why a scenario fails its targets; empty when it passes. */
export function failuresOf(result: ScenarioResult): string[] {
  const failures: string[] = [];
  if (result.error !== undefined) failures.push(`error: ${result.error}`);
  if (
    result.unavailableMs !== null &&
    result.targetMs !== null &&
    result.unavailableMs > result.targetMs
  ) {
    const still = result.recovered === false ? ', and still unavailable when the load stopped' : '';
    failures.push(
      `unavailable ${Math.round(result.unavailableMs)} ms > ${result.targetMs} ms${still}`,
    );
  }
  const writes = result.writes;
  if (writes !== null) {
    if (writes.lost > 0)
      failures.push(`${writes.lost} acknowledged writes lost (${writes.examples.lost.join(', ')})`);
    if (writes.duplicated > 0)
      failures.push(
        `${writes.duplicated} writes applied more than once (${writes.examples.duplicated.join(', ')})`,
      );
    if (writes.phantom > 0)
      failures.push(
        `${writes.phantom} events nobody created (${writes.examples.phantom.join(', ')})`,
      );
  }
  if (result.verdict !== null && result.verdict !== 'linearizable') {
    failures.push(`history ${result.verdict.replace('_', ' ')}`);
  }
  failures.push(...(result.findings ?? []));
  return failures;
}

/**
 * The JSON row of one scenario: the fields the issue names first (`name`, `unavailableMs`,
 * `acked`, `lost`, `duplicated`, `linearizable`), then the rest.
 */
export function jsonRow(result: ScenarioResult): Record<string, unknown> {
  const failures = failuresOf(result);
  const writes = result.writes;
  return {
    name: result.name,
    unavailableMs: result.unavailableMs === null ? null : Math.round(result.unavailableMs),
    acked: writes?.acked ?? null,
    lost: writes?.lost ?? null,
    duplicated: writes?.duplicated ?? null,
    linearizable: result.verdict === 'linearizable',
    targetMs: result.targetMs,
    pass: failures.length === 0,
    fault: result.fault,
    writeUnavailableMs:
      result.writeUnavailableMs === null ? null : Math.round(result.writeUnavailableMs),
    recovered: result.recovered,
    ...(result.outageWindow === undefined ? {} : { outageWindow: result.outageWindow }),
    ...(result.eventLoopDelayWorstMs === undefined
      ? {}
      : { eventLoopDelayWorstMs: result.eventLoopDelayWorstMs }),
    unknown: writes?.unknown ?? null,
    unknownApplied: writes?.unknownApplied ?? null,
    refused: writes?.refused ?? null,
    phantom: writes?.phantom ?? null,
    reads: result.reads,
    failedReads: result.failedReads,
    verdict: result.verdict,
    seed: result.seed,
    ...(result.details === undefined ? {} : { details: result.details }),
    ...(failures.length === 0 ? {} : { failures }),
  };
}

/**
 * The last line of `--json`: `{"scenarios":[…]}`, and when the run measured it
 * `"eventLoopDelayWorstMs":{"gateway":…,"db":null}`, the worst of every scenario's reading.
 */
export function jsonReport(results: readonly ScenarioResult[]): string {
  const worst = worstEventLoopDelays(results);
  return JSON.stringify({
    scenarios: results.map(jsonRow),
    ...(worst === null ? {} : { eventLoopDelayWorstMs: worst }),
  });
}

/**
 * The worst event-loop delay of each kind of process over the whole run: the worst of the
 * readings taken after each scenario (a process killed by a later scenario took its own
 * worst with it, but not the earlier readings). Null when nothing was measured.
 */
export function worstEventLoopDelays(results: readonly ScenarioResult[]): WorstDelayByKind | null {
  const readings = results.flatMap((result) => result.eventLoopDelayWorstMs ?? []);
  const [first, ...rest] = readings;
  return first === undefined ? null : rest.reduce(worseOf, first);
}

/** A table for a human, then each failing scenario's reasons (and explanation). */
export function humanReport(results: readonly ScenarioResult[]): string[] {
  const header = [
    'scenario',
    'fault',
    'unavailable',
    'target',
    'acked',
    'lost',
    'dup',
    'linearizable',
    'result',
  ];
  const rows = results.map((result) => {
    const writes = result.writes;
    const failures = failuresOf(result);
    return [
      result.name,
      result.fault || '-',
      result.unavailableMs === null ? '-' : `${Math.round(result.unavailableMs)} ms`,
      result.targetMs === null ? '-' : `${result.targetMs} ms`,
      String(writes?.acked ?? '-'),
      String(writes?.lost ?? '-'),
      String(writes?.duplicated ?? '-'),
      result.verdict === null ? '-' : result.verdict === 'linearizable' ? 'yes' : result.verdict,
      failures.length === 0 ? 'PASS' : 'FAIL',
    ];
  });
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  const lines = [line(header), ...rows.map(line)];
  for (const result of results) {
    const failures = failuresOf(result);
    if (failures.length === 0) continue;
    lines.push('', `${result.name} failed:`, ...failures.map((failure) => `  - ${failure}`));
    if (result.explanation !== undefined) {
      lines.push(...result.explanation.split('\n').map((text) => `    ${text}`));
    }
  }
  const worst = worstEventLoopDelays(results);
  if (worst !== null) lines.push('', `worst event-loop delay: ${describeDelays(worst)}`);
  const passed = results.filter((result) => failuresOf(result).length === 0).length;
  lines.push('', `${passed} of ${results.length} scenarios passed`);
  return lines;
}
