/**
 * Resident memory of the system's processes, read from /proc, for the footprint report and
 * the soak test: what each daemon holds, with whatever it started beside it (tsx's esbuild
 * service, a worker's own process if any) counted as its own.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { roleOf } from './cpu.js';

/** The idle budgets of issue 17, in MiB per process of each kind, and for the whole system. */
export const IDLE_RSS_BUDGET_MIB: Readonly<Record<string, number>> = {
  gateway: 80,
  users: 80,
  groups: 80,
  supervisor: 80,
  'vip-agent': 80,
  db: 120,
};
export const IDLE_TOTAL_BUDGET_MIB = 1_200;

const MIB = 1024 * 1024;

/** A `Field:  N kB` line of a /proc file of `pid`, in bytes; undefined once the process is gone. */
function procKb(pid: number, file: string, field: string): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/${file}`, 'utf8');
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** A process's resident set in bytes (VmRSS), or undefined once it is gone. */
export function rssBytes(pid: number): number | undefined {
  return procKb(pid, 'status', 'VmRSS');
}

/**
 * A process's proportional set in bytes (Pss: each shared page divided among the processes
 * sharing it), or undefined once it is gone. Summed over processes, this is the memory they
 * really take; summed RSS counts Node's own 45 MB of code once per process.
 */
export function pssBytes(pid: number): number | undefined {
  return procKb(pid, 'smaps_rollup', 'Pss');
}

/** The pids of a process's children, over all its threads. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return children;
  }
  for (const tid of tasks) {
    try {
      const list = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (list) children.push(...list.split(' ').map(Number));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return children;
}

/**
 * The resident memory of a process and all its descendants, in bytes (pages shared between
 * them are counted in each, as `ps` does), or undefined once the process is gone. The walk is
 * bounded by the machine's process count: a tree has no cycles.
 */
export function treeRssBytes(
  pid: number,
  of: (pid: number) => number | undefined = rssBytes,
): number | undefined {
  const own = of(pid);
  if (own === undefined) return undefined;
  let total = own;
  const stack = childrenOf(pid);
  while (stack.length > 0) {
    const child = stack.pop() ?? 0;
    total += of(child) ?? 0;
    stack.push(...childrenOf(child));
  }
  return total;
}

/** MiB with one decimal. */
export function mib(bytes: number): number {
  return Math.round((bytes / MIB) * 10) / 10;
}

/** The resident memory of each named process (its tree), in MiB; gone processes are left out. */
export function sampleRssMib(
  processes: ReadonlyMap<string, number>,
  of: (pid: number) => number | undefined = rssBytes,
): Map<string, number> {
  const sample = new Map<string, number>();
  for (const [name, pid] of processes) {
    const bytes = treeRssBytes(pid, of);
    if (bytes !== undefined) sample.set(name, mib(bytes));
  }
  return sample;
}

export interface KindFootprint {
  readonly processes: number;
  /** The largest process of the kind, MiB. */
  readonly maxMib: number;
  readonly totalMib: number;
}

/** A sample summed per kind of process (`db-3` is a `db`). */
export function byKind(sample: ReadonlyMap<string, number>): Record<string, KindFootprint> {
  const kinds: Record<string, KindFootprint> = {};
  for (const [name, value] of sample) {
    const kind = roleOf(name);
    const k = kinds[kind] ?? { processes: 0, maxMib: 0, totalMib: 0 };
    kinds[kind] = {
      processes: k.processes + 1,
      maxMib: Math.max(k.maxMib, value),
      totalMib: Math.round((k.totalMib + value) * 10) / 10,
    };
  }
  return kinds;
}

/**
 * The resident memory of a Node process that does nothing (`node -e` waiting on a timer), in
 * MiB: the machine's and Node's own floor, measured in the same run as the daemons.
 */
export async function idleNodeRssMib(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], {
    stdio: 'ignore',
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const bytes = child.pid === undefined ? undefined : rssBytes(child.pid);
    if (bytes === undefined) throw new Error('the idle node process did not start');
    return mib(bytes);
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * Each process's resident memory, the median of `count` samples `everyMs` apart (one
 * collection or one burst does not decide), MiB.
 */
export async function medianRssMib(
  processes: ReadonlyMap<string, number>,
  count = 3,
  everyMs = 1_000,
): Promise<Map<string, number>> {
  const samples: Map<string, number>[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, everyMs));
    samples.push(sampleRssMib(processes));
  }
  const median = new Map<string, number>();
  for (const name of samples[0]?.keys() ?? []) {
    const seen = samples.map((s) => s.get(name) ?? 0).sort((a, b) => a - b);
    median.set(name, seen[Math.floor(seen.length / 2)] ?? 0);
  }
  return median;
}

/**
 * Samples each process's resident memory every `everyMs` until stopped; the stop returns the
 * largest seen of each, MiB. Sampling reads /proc only: about a millisecond for the system.
 */
export function startRssPeaks(
  processes: ReadonlyMap<string, number>,
  everyMs = 1_000,
): () => Map<string, number> {
  const peaks = new Map<string, number>();
  const sample = () => {
    for (const [name, value] of sampleRssMib(processes)) {
      peaks.set(name, Math.max(peaks.get(name) ?? 0, value));
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return () => {
    clearInterval(timer);
    sample();
    return peaks;
  };
}

/** Issue 17's bound under load: no daemon above this many times its idle resident memory. */
export const LOADED_RSS_RATIO_BUDGET = 2;

/** Each process's peak over its idle resident memory, and the worst, against the budget. */
export function loadedRssReport(
  idle: ReadonlyMap<string, number>,
  peaks: ReadonlyMap<string, number>,
): {
  readonly idleMib: Record<string, number>;
  readonly peakMib: Record<string, number>;
  readonly worst: { readonly process: string; readonly ratio: number } | null;
  readonly budgetRatio: number;
  readonly ok: boolean;
} {
  let worst: { process: string; ratio: number } | null = null;
  for (const [name, base] of idle) {
    const peak = peaks.get(name);
    if (peak === undefined || base <= 0) continue;
    const ratio = Math.round((peak / base) * 100) / 100;
    if (worst === null || ratio > worst.ratio) worst = { process: name, ratio };
  }
  return {
    idleMib: Object.fromEntries([...idle].sort()),
    peakMib: Object.fromEntries([...peaks].sort()),
    worst,
    budgetRatio: LOADED_RSS_RATIO_BUDGET,
    ok: worst !== null && worst.ratio <= LOADED_RSS_RATIO_BUDGET,
  };
}
