/**
 * The gateway's own metrics, registered in the registry its owner gives it (the daemon's,
 * with the process metrics and the event-loop delay: server/metrics/daemon-metrics.ts) and
 * served at `GET /metrics`. Label values are route templates (`/v1/events/:id`), never raw
 * paths, so the number of series stays bounded whatever clients send.
 *
 * | name                                      | type      | labels                 |
 * | ----------------------------------------- | --------- | ---------------------- |
 * | `agenda_gateway_requests_total`           | counter   | route, method, status  |
 * | `agenda_gateway_request_duration_seconds` | histogram | route                  |
 * | `agenda_gateway_rate_limited_total`       | counter   | limit                  |
 * | `agenda_gateway_open_streams`             | gauge     |                        |
 * | `agenda_gateway_stream_updates_total`     | counter   |                        |
 * | `agenda_gateway_stream_overflows_total`   | counter   |                        |
 * | `agenda_gateway_fail_fast_total`          | counter   | service (with gossip)  |
 * | `agenda_gossip_members`                   | gauge     | role, state (gossip)   |
 * | `agenda_gossip_datagrams_total`           | counter   | direction (gossip)     |
 * | `agenda_gossip_send_errors_total`         | counter   | (gossip)               |
 * | `agenda_gossip_dropped_total`             | counter   | reason (gossip)        |
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ReplicaDirectory } from './ports.js';

/** Upper bounds of the latency histogram, in seconds. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Everything the gateway counts. Cheap to update: no timers, no I/O. */
export class GatewayMetrics {
  private readonly requests: Counter<'route' | 'method' | 'status'>;
  private readonly latency: Histogram<'route'>;
  private readonly rateLimited: Counter<'limit'>;
  private readonly openStreams: Gauge;
  private readonly streamUpdates: Counter;
  private readonly streamOverflows: Counter;
  private readonly failFast: Counter<'service'> | null = null;

  /**
   * Registers the gateway's metrics in `registry`; with `replicas`, the gossip view as this
   * gateway sees it too, read afresh at each scrape.
   */
  constructor(
    private readonly registry: Registry,
    replicas?: ReplicaDirectory,
  ) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'agenda_gateway_requests_total',
      help: 'HTTP requests answered, by route template, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'agenda_gateway_request_duration_seconds',
      help: 'Time from request to complete answer, by route template (live streams excluded).',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.rateLimited = new Counter({
      name: 'agenda_gateway_rate_limited_total',
      help: 'Requests refused by an abuse limit (server/gateway/abuse-limits.ts), by limit.',
      labelNames: ['limit'],
      registers,
    });
    this.openStreams = new Gauge({
      name: 'agenda_gateway_open_streams',
      help: 'Event streams (GET /v1/stream) open now.',
      registers,
    });
    this.streamUpdates = new Counter({
      name: 'agenda_gateway_stream_updates_total',
      help: 'Live updates written to event streams.',
      registers,
    });
    this.streamOverflows = new Counter({
      name: 'agenda_gateway_stream_overflows_total',
      help: 'Event streams closed because their client did not keep up.',
      registers,
    });
    if (replicas !== undefined) {
      this.failFast = new Counter({
        name: 'agenda_gateway_fail_fast_total',
        help: 'Requests refused at once because gossip knows no live replica of their service.',
        labelNames: ['service'],
        registers,
      });
      registerGossip(registry, replicas);
    }
  }

  /** A request answered (or a stream ended). `seconds` is left out for streams. */
  requestAnswered(route: string, method: string, status: number, seconds?: number): void {
    this.requests.inc({ route, method, status: String(status) });
    if (seconds !== undefined) this.latency.observe({ route }, seconds);
  }

  /** A request refused by the abuse limit named `limit`. */
  limitRefused(limit: string): void {
    this.rateLimited.inc({ limit });
  }

  streamOpened(): void {
    this.openStreams.inc();
  }

  streamClosed(): void {
    this.openStreams.dec();
  }

  updateStreamed(): void {
    this.streamUpdates.inc();
  }

  streamOverflowed(): void {
    this.streamOverflows.inc();
  }

  /** A request refused without being sent: its service has no replica up. */
  failedFast(service: string): void {
    this.failFast?.inc({ service });
  }

  /** The exposition text of the whole registry (whatever else its owner registered too). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * The gossip view's gauges and datagram counters. The view keeps the counts; each scrape
 * copies them (a counter reset and increased by the total is the total, and never goes down
 * while the view's own count does not).
 */
function registerGossip(registry: Registry, replicas: ReplicaDirectory): void {
  const registers = [registry];
  const members: Gauge<'role' | 'state'> = new Gauge({
    name: 'agenda_gossip_members',
    help: "Members in this gateway's gossip view, by role and state.",
    labelNames: ['role', 'state'],
    registers,
    collect() {
      members.reset();
      for (const { role, state, count } of replicas.counts()) members.set({ role, state }, count);
    },
  });
  const stats = replicas.stats?.bind(replicas);
  if (stats === undefined) return;
  const datagrams: Counter<'direction'> = new Counter({
    name: 'agenda_gossip_datagrams_total',
    help: 'Gossip datagrams sent and accepted.',
    labelNames: ['direction'],
    registers,
    collect() {
      const { sent, received } = stats();
      datagrams.reset();
      datagrams.inc({ direction: 'sent' }, sent);
      datagrams.inc({ direction: 'received' }, received);
    },
  });
  const sendErrors: Counter = new Counter({
    name: 'agenda_gossip_send_errors_total',
    help: 'Gossip datagrams that could not be sent.',
    registers,
    collect() {
      sendErrors.reset();
      sendErrors.inc(stats().sendErrors);
    },
  });
  const dropped: Counter<'reason'> = new Counter({
    name: 'agenda_gossip_dropped_total',
    help: 'Gossip datagrams refused, by reason (bad_mac: a sender without the cluster key).',
    labelNames: ['reason'],
    registers,
    collect() {
      dropped.reset();
      for (const [reason, count] of Object.entries(stats().dropped)) {
        dropped.inc({ reason }, count);
      }
    },
  });
  const unproven: Counter = new Counter({
    name: 'agenda_gossip_unproven_news_total',
    help:
      "News items dropped from authenticated gossip for want of the member's own signature " +
      '(a member holding the cluster key spoke for another one).',
    registers,
    collect() {
      unproven.reset();
      unproven.inc(stats().unproven ?? 0);
    },
  });
}
