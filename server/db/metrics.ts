/**
 * A DB member's metrics: the daemon's own (process, Node.js, event-loop delay — see
 * `server/metrics/daemon-metrics.ts`) and its Raft member's, served at `GET /metrics` on the
 * member's HTTPS API (mutual TLS: only clients with a certificate of the cluster CA get
 * there). Raft series, each labelled `service="db"` and `member="db-<id>"`:
 *
 * - `agenda_raft_term`, `agenda_raft_commit_index`, `agenda_raft_applied_index`,
 *   `agenda_raft_is_leader` (1 or 0), `agenda_raft_apply_backlog` (committed entries the
 *   store has not finished applying) — gauges read at each scrape;
 * - `agenda_raft_fsync_seconds`: histogram of the fsyncs of appended entries;
 * - `agenda_raft_apply_seconds`: histogram of the time a batch of committed entries takes
 *   from being handed to the store's worker to being applied (its queue included);
 * - `agenda_raft_entries_applied_total`, `agenda_raft_fsyncs_total`,
 *   `agenda_raft_reads_served_total`, `agenda_raft_snapshots_total` — counters.
 *
 * And the leader's decisions (server/store/effects.ts): `agenda_db_decisions_total`, by
 * `outcome` — `answered` (no effect to propose: a refusal, or nothing to change),
 * `proposed`, `waited` (it read what an effect in flight writes: decided again once that
 * applied) and `stale` (its effect applied `stale`: decided again). Many `waited` or `stale`
 * mean commands on the same keys keep racing, and the leader's store does their work twice.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { NodeStatus } from '../../raft/runtime/raft-node.js';
import { DaemonMetrics } from '../metrics/daemon-metrics.js';

const LABELS = ['service', 'member'] as const;
/** Seconds: fsyncs take about a millisecond; a stalled disk or store shows as seconds. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** What came of one decision (see the module comment). */
export type DecisionOutcome = 'answered' | 'proposed' | 'waited' | 'stale';

/** See the module comment. */
export class DbMetrics {
  readonly daemon: DaemonMetrics;
  private readonly labels: { service: 'db'; member: string };
  private readonly fsync: Histogram;
  private readonly apply: Histogram;
  private readonly decisions: Counter<'service' | 'member' | 'outcome'>;

  constructor(id: number, status: () => NodeStatus | null) {
    const member = `db-${id}`;
    this.labels = { service: 'db', member };
    this.daemon = new DaemonMetrics({ service: 'db', member });
    const registers = [this.daemon.registry];
    const labels = this.labels;
    this.fsync = new Histogram({
      name: 'agenda_raft_fsync_seconds',
      help: 'Duration of each fsync of appended log entries, in seconds.',
      labelNames: LABELS,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.apply = new Histogram({
      name: 'agenda_raft_apply_seconds',
      help: 'Time from handing a batch of committed entries to the store to its being applied, in seconds.',
      labelNames: LABELS,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.decisions = new Counter({
      name: 'agenda_db_decisions_total',
      help: "Commands decided by this member's store as leader, by what came of each decision.",
      labelNames: [...LABELS, 'outcome'],
      registers,
    });
    const fromStatus = (name: string, help: string, read: (s: NodeStatus) => number) => {
      const gauge: Gauge = new Gauge({
        name,
        help,
        labelNames: LABELS,
        registers,
        collect: () => {
          const s = status();
          if (s !== null) gauge.set(labels, read(s));
        },
      });
    };
    fromStatus('agenda_raft_term', 'Current Raft term of the member.', (s) => s.term);
    fromStatus('agenda_raft_commit_index', 'Highest log index known committed.', (s) => s.commit);
    fromStatus(
      'agenda_raft_applied_index',
      'Highest log index applied by the store.',
      (s) => s.applied,
    );
    fromStatus('agenda_raft_is_leader', '1 while this member leads, else 0.', (s) =>
      s.role === 'leader' ? 1 : 0,
    );
    fromStatus(
      'agenda_raft_apply_backlog',
      'Committed entries the store has not finished applying.',
      (s) => s.metrics.applyBacklog,
    );
    // Counters of the member's own, exposed as they are (they only grow).
    fromStatus(
      'agenda_raft_entries_applied_total',
      'Log entries applied since the member started.',
      (s) => s.metrics.entriesApplied,
    );
    fromStatus(
      'agenda_raft_fsyncs_total',
      'fsyncs since the member started.',
      (s) => s.metrics.fsyncs,
    );
    fromStatus(
      'agenda_raft_reads_served_total',
      'Linearizable reads answered since the member started.',
      (s) => s.metrics.readsServed,
    );
    fromStatus(
      'agenda_raft_snapshots_total',
      'Snapshots taken or installed since the member started.',
      (s) => s.snapshots,
    );
  }

  /** What RaftNode tells about its fsyncs and applies. */
  readonly observer = {
    fsyncSeconds: (seconds: number) => this.fsync.observe(this.labels, seconds),
    applySeconds: (seconds: number) => this.apply.observe(this.labels, seconds),
  };

  /** Counts a decision of this member's store (see the module comment). */
  decided(outcome: DecisionOutcome): void {
    this.decisions.inc({ ...this.labels, outcome });
  }

  text(): Promise<string> {
    return this.daemon.text();
  }

  close(): void {
    this.daemon.close();
  }
}
