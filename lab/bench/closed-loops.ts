/**
 * The load generators' closed loops: `concurrency` clients, each sending its next operation
 * as soon as the last one answered, for a given time. Shared by the HTTP and CalDAV benches.
 */

/** One operation of client `client`, its `n`-th: true when it succeeded, else why not. */
export type LoopOp = (client: number, n: number) => Promise<true | string>;

export interface LoopOutcome {
  /** Milliseconds each successful operation took, in the order they finished. */
  readonly latencies: number[];
  readonly errors: number;
  /** How long the loops ran, ms. */
  readonly elapsedMs: number;
}

/**
 * Runs the loops for `durationS` seconds. `next[c]` numbers client c's operations across
 * calls, so a counted phase goes on where its warm-up stopped. A throw is a failure, its
 * message the reason; `failed` hears every failure.
 */
export async function closedLoops(
  op: LoopOp,
  concurrency: number,
  durationS: number,
  next: number[],
  failed?: (client: number, n: number, reason: string) => void,
): Promise<LoopOutcome> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + durationS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, c) => {
      while (performance.now() < end) {
        const n = next[c] ?? 0;
        next[c] = n + 1;
        const t0 = performance.now();
        const outcome = await op(c, n).catch((err: unknown) =>
          err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        );
        if (outcome === true) {
          latencies.push(performance.now() - t0);
        } else {
          errors++;
          failed?.(c, n, outcome);
        }
      }
    }),
  );
  return { latencies, errors, elapsedMs: performance.now() - start };
}

/** Operations per second and the median and 99th percentile latency (ms, one decimal). */
export function latencySummary(
  latencies: number[],
  elapsedMs: number,
): { perSec: number; p50: number; p99: number } {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    Math.round(
      (latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0) *
        10,
    ) / 10;
  return { perSec: Math.round((latencies.length * 1000) / elapsedMs), p50: pct(50), p99: pct(99) };
}
