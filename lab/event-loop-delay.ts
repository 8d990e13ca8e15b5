/**
 * The worst event-loop delay of each kind of process, as the benchmark and the chaos report
 * show it: every daemon's `/metrics` is scraped with the operator's certificate and its
 * `agenda_event_loop_delay_worst_seconds` read (the longest stall since the process started;
 * it never decreases, so one scrape after a run is enough for the processes still alive).
 * The worst of each kind is reported in milliseconds; a kind none of whose processes told
 * (none runs here, as VIP agents under `npm start`, or they are down) is null.
 *
 * `scrape({ since: 'previous-scrape' })` reads `agenda_event_loop_delay_max_seconds` instead:
 * the longest stall since that process's previous scrape. A benchmark scrapes once when its
 * counted load starts and once when it ends, and so reports the stalls under load apart from
 * those of start-up (module loading, recovery), which the since-start reading includes.
 */
import { Agent, request } from 'undici';
import type { MutualTlsMaterial } from '../base/tls.js';
import {
  DAEMON_KINDS,
  EVENT_LOOP_DELAY_METRICS,
  type DaemonKind,
} from '../server/metrics/daemon-metrics.js';
import { parsePrometheusText } from '../server/metrics/prometheus-text.js';
import { preciseConnector } from '../server/net/connector.js';
import type { MetricsTarget } from './plan.js';

/** Milliseconds by kind of process; null when no process of that kind told. */
export type WorstDelayByKind = Readonly<Record<DaemonKind, number | null>>;

export interface EventLoopDelayScrape {
  readonly worstMs: WorstDelayByKind;
  /** Processes that did not tell, and why (down, refused, …). */
  readonly missing: readonly { readonly name: string; readonly reason: string }[];
}

/** How long one process may take to answer. */
const DEFAULT_TIMEOUT_MS = 2_000;

/** Scrapes a fixed set of processes, as often as asked; {@link close} when done. */
export class EventLoopDelayScraper {
  private readonly agent: Agent;
  private readonly timeoutMs: number;

  /** `tls`: the cluster CA and the operator's certificate and key (PEM). */
  constructor(
    private readonly targets: readonly MetricsTarget[],
    tls: Pick<MutualTlsMaterial, 'ca'> & Partial<MutualTlsMaterial>,
    options: { readonly timeoutMs?: number } = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // A crashed or isolated host drops the connect: give up at the bound, not seconds later.
    this.agent = new Agent({
      connect: preciseConnector({ ca: tls.ca, cert: tls.cert, key: tls.key }, this.timeoutMs),
      keepAliveTimeout: 1_000,
    });
  }

  /**
   * Every process at once; never rejects for a process that does not answer. `since` says
   * over what: the process's start (default) or its previous scrape (see the module comment).
   */
  async scrape(
    signal?: AbortSignal,
    options: { readonly since?: 'start' | 'previous-scrape' } = {},
  ): Promise<EventLoopDelayScrape> {
    const metric =
      options.since === 'previous-scrape'
        ? EVENT_LOOP_DELAY_METRICS.max
        : EVENT_LOOP_DELAY_METRICS.worst;
    const told = await Promise.all(
      this.targets.map(async (target) => ({
        target,
        ...(await this.worstOf(target, metric, signal)),
      })),
    );
    const worstMs = noDelays();
    const missing: { name: string; reason: string }[] = [];
    for (const { target, ms, reason } of told) {
      if (ms !== null) worstMs[target.kind] = Math.max(worstMs[target.kind] ?? 0, ms);
      else missing.push({ name: target.name, reason });
    }
    return { worstMs, missing };
  }

  /**
   * The values of `names` (unlabelled samples, or the first of each) in every process's
   * metrics, by process name; a process that does not answer is left out. Reading
   * `agenda_event_loop_delay_max_seconds` starts its next window, as `scrape` does.
   */
  async read(names: readonly string[]): Promise<Map<string, Record<string, number>>> {
    const read = new Map<string, Record<string, number>>();
    await Promise.all(
      this.targets.map(async (target) => {
        try {
          const answer = await request(target.url, {
            dispatcher: this.agent,
            signal: AbortSignal.timeout(this.timeoutMs),
          });
          const text = await answer.body.text();
          if (answer.statusCode !== 200) return;
          const values: Record<string, number> = {};
          for (const sample of parsePrometheusText(text).samples) {
            if (names.includes(sample.name) && !(sample.name in values)) {
              values[sample.name] = sample.value;
            }
          }
          read.set(target.name, values);
        } catch {
          // Down or slow: left out of this reading.
        }
      }),
    );
    return read;
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  /** One process's worst delay in ms (as `metric` says), or null with why. */
  private async worstOf(
    target: MetricsTarget,
    metric: string,
    signal: AbortSignal | undefined,
  ): Promise<{ ms: number; reason: null } | { ms: null; reason: string }> {
    try {
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const answer = await request(target.url, {
        dispatcher: this.agent,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      const text = await answer.body.text();
      if (answer.statusCode !== 200) return { ms: null, reason: `HTTP ${answer.statusCode}` };
      const sample = parsePrometheusText(text).samples.find((s) => s.name === metric);
      if (sample === undefined) return { ms: null, reason: `no ${metric} in its metrics` };
      return { ms: roundMs(sample.value * 1000), reason: null };
    } catch (error) {
      return { ms: null, reason: error instanceof Error ? error.message : String(error) };
    }
  }
}

/** Every kind, none measured. */
export function noDelays(): Record<DaemonKind, number | null> {
  return Object.fromEntries(DAEMON_KINDS.map((kind) => [kind, null])) as Record<
    DaemonKind,
    number | null
  >;
}

/** The worse of two readings, kind by kind (null only where both are). */
export function worseOf(a: WorstDelayByKind, b: WorstDelayByKind): WorstDelayByKind {
  const worst = noDelays();
  for (const kind of DAEMON_KINDS) {
    const x = a[kind];
    const y = b[kind];
    worst[kind] = x === null ? y : y === null ? x : Math.max(x, y);
  }
  return worst;
}

/** `gateway 12 ms, users 40 ms, …, db -`: one line for a human. */
export function describeDelays(worstMs: WorstDelayByKind): string {
  return DAEMON_KINDS.map((kind) => {
    const ms = worstMs[kind];
    return `${kind} ${ms === null ? '-' : `${Math.round(ms)} ms`}`;
  }).join(', ');
}

function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}
