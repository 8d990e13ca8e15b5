/**
 * The gateway's metrics, rendered in the Prometheus text exposition format (version 0.0.4)
 * for `GET /metrics`. Label values are route templates (`/v1/events/:id`), never raw paths,
 * so the number of series stays bounded whatever clients send.
 */

import type { ReplicaDirectory } from './ports.js';

/** Content type of {@link GatewayMetrics.render}'s output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Upper bounds of the latency histogram, in seconds. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

type Labels = Readonly<Record<string, string>>;

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatNumber(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}

/** A counter family: one monotonically growing value per label set. */
class CounterFamily {
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels, by = 1): void {
    const key = formatLabels(labels);
    const entry = this.series.get(key);
    if (entry === undefined) this.series.set(key, { labels, value: by });
    else entry.value += by;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const { labels, value } of this.series.values()) {
      lines.push(`${this.name}${formatLabels(labels)} ${formatNumber(value)}`);
    }
  }
}

/** A histogram family with fixed buckets, one set of buckets per label set. */
class HistogramFamily {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = formatLabels(labels);
    let entry = this.series.get(key);
    if (entry === undefined) {
      entry = { labels, counts: this.bounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    for (let i = 0; i < this.bounds.length; i++) {
      if (value <= (this.bounds[i] ?? Infinity)) entry.counts[i] = (entry.counts[i] ?? 0) + 1;
    }
    entry.sum += value;
    entry.count += 1;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.bounds.forEach((bound, i) => {
        const le = formatLabels({ ...labels, le: formatNumber(bound) });
        lines.push(`${this.name}_bucket${le} ${counts[i] ?? 0}`);
      });
      lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${formatLabels(labels)} ${formatNumber(sum)}`);
      lines.push(`${this.name}_count${formatLabels(labels)} ${count}`);
    }
  }
}

/** Everything `/metrics` shows. Cheap to update: plain maps, no timers. */
export class GatewayMetrics {
  private readonly requests = new CounterFamily(
    'agenda_gateway_requests_total',
    'HTTP requests answered, by route template, method and status.',
  );
  private readonly latency = new HistogramFamily(
    'agenda_gateway_request_duration_seconds',
    'Time from request to complete answer, by route template (live streams excluded).',
    LATENCY_BUCKETS,
  );
  private readonly rateLimited = new CounterFamily(
    'agenda_gateway_rate_limited_total',
    'Login attempts refused by a rate limit, by limit.',
  );
  private readonly streamUpdates = new CounterFamily(
    'agenda_gateway_stream_updates_total',
    'Live updates written to event streams.',
  );
  private readonly streamOverflows = new CounterFamily(
    'agenda_gateway_stream_overflows_total',
    'Event streams closed because their client did not keep up.',
  );
  private readonly failFast = new CounterFamily(
    'agenda_gateway_fail_fast_total',
    'Requests refused at once because gossip knows no live replica of their service.',
  );
  private openStreams = 0;

  /** A request answered (or a stream ended). `seconds` is left out for streams. */
  requestAnswered(route: string, method: string, status: number, seconds?: number): void {
    this.requests.inc({ route, method, status: String(status) });
    if (seconds !== undefined) this.latency.observe({ route }, seconds);
  }

  loginRefused(limit: string): void {
    this.rateLimited.inc({ limit });
  }

  streamOpened(): void {
    this.openStreams += 1;
  }

  streamClosed(): void {
    this.openStreams -= 1;
  }

  updateStreamed(): void {
    this.streamUpdates.inc({});
  }

  streamOverflowed(): void {
    this.streamOverflows.inc({});
  }

  /** A request refused without being sent: its service has no replica up. */
  failedFast(service: string): void {
    this.failFast.inc({ service });
  }

  /**
   * The exposition text, ending with a newline as the format requires; with `replicas`, the
   * gossip view as this gateway sees it too.
   */
  render(replicas?: ReplicaDirectory): string {
    const lines: string[] = [];
    this.requests.render(lines);
    this.latency.render(lines);
    this.rateLimited.render(lines);
    lines.push(
      '# HELP agenda_gateway_open_streams Event streams (GET /v1/stream) open now.',
      '# TYPE agenda_gateway_open_streams gauge',
      `agenda_gateway_open_streams ${this.openStreams}`,
    );
    this.streamUpdates.render(lines);
    this.streamOverflows.render(lines);
    if (replicas !== undefined) {
      this.failFast.render(lines);
      renderGossip(lines, replicas);
    }
    return lines.join('\n') + '\n';
  }
}

/** The gossip view's gauges and datagram counters, read fresh at each scrape. */
function renderGossip(lines: string[], replicas: ReplicaDirectory): void {
  lines.push(
    "# HELP agenda_gossip_members Members in this gateway's gossip view, by role and state.",
    '# TYPE agenda_gossip_members gauge',
  );
  for (const { role, state, count } of replicas.counts()) {
    lines.push(`agenda_gossip_members${formatLabels({ role, state })} ${count}`);
  }
  const stats = replicas.stats?.();
  if (stats === undefined) return;
  lines.push(
    '# HELP agenda_gossip_datagrams_total Gossip datagrams sent and accepted.',
    '# TYPE agenda_gossip_datagrams_total counter',
    `agenda_gossip_datagrams_total{direction="sent"} ${stats.sent}`,
    `agenda_gossip_datagrams_total{direction="received"} ${stats.received}`,
    '# HELP agenda_gossip_send_errors_total Gossip datagrams that could not be sent.',
    '# TYPE agenda_gossip_send_errors_total counter',
    `agenda_gossip_send_errors_total ${stats.sendErrors}`,
    '# HELP agenda_gossip_dropped_total Gossip datagrams refused, by reason ' +
      '(bad_mac: a sender without the cluster key).',
    '# TYPE agenda_gossip_dropped_total counter',
  );
  for (const [reason, count] of Object.entries(stats.dropped)) {
    lines.push(`agenda_gossip_dropped_total${formatLabels({ reason })} ${count}`);
  }
}
