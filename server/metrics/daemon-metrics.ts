/**
 * One daemon's metrics: a prom-client {@link Registry} of its own (never prom-client's
 * global one, so two daemons or two tests in one process never share a series) with
 *
 * - prom-client's default process and Node.js metrics under their standard names, without a
 *   prefix: `process_cpu_user_seconds_total`, `process_resident_memory_bytes`,
 *   `process_open_fds`, `nodejs_heap_size_used_bytes`, `nodejs_gc_duration_seconds`,
 *   `nodejs_eventloop_lag_p99_seconds`, … ;
 * - the event-loop delay, measured with `perf_hooks.monitorEventLoopDelay`, in seconds:
 *   - `agenda_event_loop_delay_max_seconds`: the longest delay since the previous scrape;
 *   - `agenda_event_loop_delay_p50_seconds`, `agenda_event_loop_delay_p99_seconds`: the
 *     median and 99th percentile of the delays since the previous scrape;
 *   - `agenda_event_loop_delay_worst_seconds`: the longest delay since the daemon started
 *     measuring; it never decreases, so one scrape at the end of a run tells the worst stall
 *     of the run whoever else scraped meanwhile (the lab and the benchmark read this one).
 *
 * Every series of both groups carries the labels `service` (the kind of daemon: `gateway`,
 * `users`, `groups`, `supervisor`, `vip-agent`, `db`) and `member` (its name in the cluster:
 * `gateway-1`, `users-2`, `db-3`, …). Not `instance`: Prometheus sets that label itself on
 * every scraped series (the target's address), and an exported one would be renamed.
 *
 * A delay here is how late the monitor's timer fired beyond its sampling interval
 * ({@link DaemonMetricsOptions.resolutionMs}): an idle loop reads about 0, a 200 ms
 * synchronous stall about 0.2. Measuring starts with the first sample, one interval after
 * construction: a stall before it is not seen. prom-client's `nodejs_eventloop_lag_*` gauges
 * are kept, for dashboards that expect them, with prom-client's meaning (the interval counted
 * in: an idle loop reads about 0.01; since the previous scrape), but read from the same
 * window as ours: prom-client's default metrics are registered one by one (./default-metrics.ts)
 * without its own event-loop monitor. Each monitor is a 10 ms timer and a histogram of about
 * 350 KB; a daemon runs two (the window and the one since the start), not three.
 *
 * A daemon makes one with its identity, hands {@link DaemonMetrics.registry} to the parts
 * that add their own metrics (the gateway's constructor takes it), serves it (see
 * `serveDaemonMetrics` in ./endpoint.ts) and calls {@link DaemonMetrics.close} when it stops.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge, Registry } from 'prom-client';
import { collectDefaultMetricsButEventLoopLag } from './default-metrics.js';

/** Every kind of daemon of the system, as the `service` label names it. */
export const DAEMON_KINDS = [
  'gateway',
  'users',
  'groups',
  'supervisor',
  'vip-agent',
  'db',
] as const;
export type DaemonKind = (typeof DAEMON_KINDS)[number];

/** Who is measured: the labels every series of the daemon carries. */
export interface DaemonIdentity {
  readonly service: DaemonKind;
  /** The daemon's name in the cluster, e.g. `users-2` or `db-3`. */
  readonly member: string;
}

/** The names of the event-loop delay gauges, for the readers of `/metrics`. */
export const EVENT_LOOP_DELAY_METRICS = {
  max: 'agenda_event_loop_delay_max_seconds',
  p50: 'agenda_event_loop_delay_p50_seconds',
  p99: 'agenda_event_loop_delay_p99_seconds',
  worst: 'agenda_event_loop_delay_worst_seconds',
} as const;

export interface DaemonMetricsOptions {
  /**
   * How often the loop is sampled, in ms (`monitorEventLoopDelay`'s resolution). A stall
   * shorter than this may go unseen. Default 10, as prom-client's own.
   */
  readonly resolutionMs?: number;
}

/** A daemon's registry, its default metrics and its event-loop delay. */
export class DaemonMetrics {
  /** What `/metrics` serves; other parts of the daemon register their metrics here too. */
  readonly registry = new Registry();
  /** Since the previous scrape: reset by every scrape. */
  private readonly window: IntervalHistogram;
  /**
   * Since the start, never reset. A second monitor rather than a running maximum of the
   * window's: resetting a monitor forgets the interval in progress, so a stall that begins
   * just after a scrape would be lost from both.
   */
  private readonly sinceStart: IntervalHistogram;
  private readonly resolutionNs: number;
  /**
   * The longest interval either monitor has seen, ns. The two sample at different moments,
   * so either may see a stall a little longer than the other: the worst is never below a
   * window's maximum.
   */
  private worstNs = 0;
  private closed = false;

  constructor(identity: DaemonIdentity, options: DaemonMetricsOptions = {}) {
    const resolutionMs = options.resolutionMs ?? 10;
    this.resolutionNs = resolutionMs * 1e6;
    const labels = { service: identity.service, member: identity.member };
    collectDefaultMetricsButEventLoopLag(this.registry, labels);
    this.window = monitorEventLoopDelay({ resolution: resolutionMs });
    this.sinceStart = monitorEventLoopDelay({ resolution: resolutionMs });
    this.window.enable();
    this.sinceStart.enable();

    const gauge = (name: string, help: string, collect?: () => void) =>
      new Gauge({
        name,
        help,
        labelNames: ['service', 'member'],
        registers: [this.registry],
        ...(collect ? { collect } : {}),
      });
    // prom-client collects a registry's metrics in the order they were registered: the first
    // gauge reads both monitors for all the gauges below, then the window starts again.
    const max = gauge(
      EVENT_LOOP_DELAY_METRICS.max,
      'Longest event-loop delay since the previous scrape, in seconds.',
      () => {
        const window = this.window;
        this.worstNs = Math.max(this.worstNs, window.max, this.sinceStart.max);
        max.set(labels, this.delaySeconds(window.max));
        p50.set(labels, this.delaySeconds(window.percentile(50)));
        p99.set(labels, this.delaySeconds(window.percentile(99)));
        worst.set(labels, this.delaySeconds(this.worstNs));
        // prom-client's, as its own monitor set them: raw intervals, in seconds.
        const raw = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
        lag.min.set(labels, raw(window.min));
        lag.max.set(labels, raw(window.max));
        lag.mean.set(labels, raw(window.mean));
        lag.stddev.set(labels, raw(window.stddev));
        lag.p50.set(labels, raw(window.percentile(50)));
        lag.p90.set(labels, raw(window.percentile(90)));
        lag.p99.set(labels, raw(window.percentile(99)));
        if (!this.closed) window.reset();
        // How long the loop takes to come round to an immediate after the scrape.
        const asked = process.hrtime.bigint();
        setImmediate(() => lag.now.set(labels, Number(process.hrtime.bigint() - asked) / 1e9));
      },
    );
    const p50 = gauge(
      EVENT_LOOP_DELAY_METRICS.p50,
      'Median event-loop delay since the previous scrape, in seconds.',
    );
    const p99 = gauge(
      EVENT_LOOP_DELAY_METRICS.p99,
      '99th percentile of the event-loop delay since the previous scrape, in seconds.',
    );
    const worst = gauge(
      EVENT_LOOP_DELAY_METRICS.worst,
      'Longest event-loop delay since the daemon started, in seconds; never decreases.',
    );
    const lag = {
      now: gauge('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.'),
      min: gauge('nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.'),
      max: gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.'),
      mean: gauge(
        'nodejs_eventloop_lag_mean_seconds',
        'The mean of the recorded event loop delays.',
      ),
      stddev: gauge(
        'nodejs_eventloop_lag_stddev_seconds',
        'The standard deviation of the recorded event loop delays.',
      ),
      p50: gauge(
        'nodejs_eventloop_lag_p50_seconds',
        'The 50th percentile of the recorded event loop delays.',
      ),
      p90: gauge(
        'nodejs_eventloop_lag_p90_seconds',
        'The 90th percentile of the recorded event loop delays.',
      ),
      p99: gauge(
        'nodejs_eventloop_lag_p99_seconds',
        'The 99th percentile of the recorded event loop delays.',
      ),
    };
  }

  /** The exposition text of everything registered, for `GET /metrics`. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Stops measuring the event-loop delay (the gauges keep their last values). Idempotent.
   * prom-client's default metrics have no way to stop theirs; they cost a timer that does
   * not keep the process alive.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.window.disable();
    this.sinceStart.disable();
  }

  /** A monitor reading (the interval between two samples, ns) as a delay in seconds. */
  private delaySeconds(intervalNs: number): number {
    return Math.max(0, intervalNs - this.resolutionNs) / 1e9;
  }
}
