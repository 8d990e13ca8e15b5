/**
 * The store's memory of applied requests, which makes every command idempotent end to end:
 * a command retried with the same request id — after a lost reply, a Redis failover, a
 * service replica taking over another's work — applies once and answers the original
 * outcome.
 *
 * Retention is bounded and deterministic: after each remembered request the store forgets
 * those more than `maxRequests` requests old or more than `maxAgeMs` older (in `at` time)
 * than it. Pruning happens at the same point of the command sequence on every replica
 * whatever the batching, so replicas keep the same rows (their pages may be laid out
 * differently once rows are deleted: see calendar-store.ts).
 */
import { META } from './schema.js';
import { integer, text } from './statements.js';
import type { PreparedStatement, StatementSet } from './statements.js';

/** How long request ids are remembered; must be the same on every replica. */
export interface RequestRetention {
  /** The most request ids remembered. */
  readonly maxRequests: number;
  /** How long, in the store's clock, a request id is remembered at most. */
  readonly maxAgeMs: number;
}

/**
 * The last 20,000 requests, at most an hour old. The count bounds the memory: every replica
 * keeps the table in its in-memory image, about 650 bytes a request (an event's creation
 * answers the event), and a DB member holds about three times its image's growth (sql.js's
 * file and page cache, the snapshot being taken), so 100,000 requests took ~200 MiB of each
 * member's resident memory (`npm run soak`: 198 → 403 MiB in 27 minutes at ~30 writes a
 * second) where 20,000 take ~40. What it must cover is a retry of the same request: the
 * services' own retries end by the bus's deadline (seconds), and 20,000 requests is 43 s at
 * the busiest the system has been measured (460 writes a second), hours at a steady load;
 * a client's idempotency key is honoured for that long too. Part of the replicated state
 * machine's definition: every member must prune alike, so change it on all at once.
 */
export const DEFAULT_RETENTION: RequestRetention = {
  maxRequests: 20_000,
  maxAgeMs: 60 * 60 * 1000,
};

/** A request applied before: what it was (its fingerprint) and what it answered (JSON). */
export interface RememberedRequest {
  readonly fingerprint: string;
  readonly outcome: string;
}

/** Small integer settings and counters of the store (`store_meta`). */
export class StoreMeta {
  private readonly read: PreparedStatement;
  private readonly write: PreparedStatement;

  constructor(statements: StatementSet) {
    this.read = statements.prepare('SELECT value FROM store_meta WHERE key = ?');
    this.write = statements.prepare('UPDATE store_meta SET value = ? WHERE key = ?');
  }

  get(key: (typeof META)[keyof typeof META]): number {
    return integer(this.read.first([key])?.[0]);
  }

  set(key: (typeof META)[keyof typeof META], value: number): void {
    this.write.runOne([value, key], `setting ${key}`);
  }
}

/** Request ids applied recently and their outcomes, with deterministic pruning (see above). */
export class RequestLog {
  private readonly findByRequestId: PreparedStatement;
  private readonly insert: PreparedStatement;
  private readonly forgetUpToSeq: PreparedStatement;
  private readonly forgetBeforeAt: PreparedStatement;
  private readonly countRows: PreparedStatement;

  constructor(
    statements: StatementSet,
    private readonly meta: StoreMeta,
    private readonly retention: RequestRetention,
  ) {
    this.findByRequestId = statements.prepare(
      'SELECT fingerprint, outcome FROM requests WHERE request_id = ?',
    );
    this.insert = statements.prepare(
      'INSERT INTO requests (seq, request_id, at, fingerprint, outcome) VALUES (?, ?, ?, ?, ?)',
    );
    this.forgetUpToSeq = statements.prepare('DELETE FROM requests WHERE seq <= ?');
    // `at` never decreases along seq, so the requests to forget are those before the first
    // one recent enough: found by reading from the oldest, and deleted by seq.
    this.forgetBeforeAt = statements.prepare(
      `DELETE FROM requests WHERE seq < coalesce(
         (SELECT seq FROM requests WHERE at >= ? ORDER BY seq LIMIT 1), ${Number.MAX_SAFE_INTEGER})`,
    );
    this.countRows = statements.prepare('SELECT count(*) FROM requests');
  }

  find(requestId: string): RememberedRequest | undefined {
    const row = this.findByRequestId.first([requestId]);
    return row === undefined ? undefined : { fingerprint: text(row[0]), outcome: text(row[1]) };
  }

  /** Remembers a request applied at `at` (the store's clock, never decreasing), then prunes. */
  remember(requestId: string, at: number, fingerprint: string, outcome: string): void {
    const seq = this.meta.get(META.lastRequestSeq) + 1;
    this.insert.runOne([seq, requestId, at, fingerprint, outcome], `remembering ${requestId}`);
    this.meta.set(META.lastRequestSeq, seq);
    this.forgetUpToSeq.run([seq - this.retention.maxRequests]);
    this.forgetBeforeAt.run([at - this.retention.maxAgeMs]);
  }

  /** Request ids currently remembered. */
  size(): number {
    return integer(this.countRows.first()?.[0]);
  }

  /** Requests remembered since the store was created (forgotten ones included). */
  total(): number {
    return this.meta.get(META.lastRequestSeq);
  }
}
