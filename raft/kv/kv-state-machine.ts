import type { Database, SqlJsStatic, Statement } from 'sql.js';
import type { AppliedCommand, StateMachine } from '../runtime/host.js';
import { openMemoryDatabase } from './sql.js';

/** A write to the key-value store. */
export type KvCommand =
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly op: 'delete'; readonly key: string }
  | {
      readonly op: 'cas';
      readonly key: string;
      readonly expected: string | null;
      readonly value: string;
    };

/** A read of the key-value store. */
export type KvQuery = { readonly op: 'get'; readonly key: string };

/** `ok` is false only for a failed compare-and-set or a command that could not be decoded. */
export interface KvResult {
  readonly ok: boolean;
  /** The value before the command (for cas: the value found). */
  readonly prev: string | null;
  readonly error?: string;
}

export interface KvReadResult {
  readonly value: string | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeKvCommand(cmd: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(cmd));
}

/** Decodes a command from the log; returns a reason string for bytes that are not one. */
export function decodeKvCommand(data: Uint8Array): KvCommand | string {
  let v: unknown;
  try {
    v = JSON.parse(decoder.decode(data));
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null) return 'not an object';
  const c = v as Record<string, unknown>;
  if (typeof c.key !== 'string') return 'key must be a string';
  switch (c.op) {
    case 'put':
      return typeof c.value === 'string'
        ? { op: 'put', key: c.key, value: c.value }
        : 'value must be a string';
    case 'delete':
      return { op: 'delete', key: c.key };
    case 'cas':
      if (typeof c.value !== 'string') return 'value must be a string';
      if (c.expected !== null && typeof c.expected !== 'string')
        return 'expected must be a string or null';
      return { op: 'cas', key: c.key, expected: c.expected, value: c.value };
    default:
      return 'unknown op';
  }
}

/**
 * A key-value state machine stored in SQLite (sql.js, in memory). It proves the snapshot
 * path the calendar store uses: a snapshot is `db.export()`, a restore opens a database
 * from those bytes. Each `apply` batch runs in one transaction.
 *
 * Deterministic: results depend only on the commands, and two members that applied the
 * same commands export the same bytes.
 */
export class KvStateMachine implements StateMachine<KvResult, KvQuery, KvReadResult> {
  private db: Database;
  private stmts!: { get: Statement; put: Statement; del: Statement };

  constructor(private readonly SQL: SqlJsStatic) {
    this.db = this.open();
  }

  apply(commands: readonly AppliedCommand[]): KvResult[] {
    const results: KvResult[] = [];
    this.db.run('BEGIN');
    try {
      for (const c of commands) results.push(this.applyOne(c.data));
      this.db.run('COMMIT');
    } catch (err) {
      this.db.run('ROLLBACK');
      throw err;
    }
    return results;
  }

  query(q: KvQuery): KvReadResult {
    return { value: this.get(q.key) };
  }

  snapshot(): Uint8Array {
    // export() closes prepared statements; reopen them.
    const bytes = this.db.export();
    this.prepare();
    return bytes;
  }

  restore(data: Uint8Array): void {
    this.close();
    this.db = this.open(data);
  }

  /** Number of keys, for tests and status. */
  size(): number {
    const r = this.db.exec('SELECT count(*) FROM kv');
    return Number(r[0]?.values[0]?.[0] ?? 0);
  }

  /** Frees the WebAssembly memory. Idempotent. */
  close(): void {
    try {
      for (const s of Object.values(this.stmts)) s.free();
      this.db.close();
    } catch {
      // Already closed.
    }
  }

  private open(data?: Uint8Array): Database {
    const db = openMemoryDatabase(this.SQL, data);
    // Raft provides durability: a rollback journal in memory keeps transactions atomic.
    db.run('PRAGMA journal_mode = MEMORY');
    db.run('PRAGMA synchronous = OFF');
    db.run(
      'CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID',
    );
    this.db = db;
    this.prepare();
    return db;
  }

  private prepare(): void {
    this.stmts = {
      get: this.db.prepare('SELECT value FROM kv WHERE key = ?'),
      put: this.db.prepare(
        'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
      del: this.db.prepare('DELETE FROM kv WHERE key = ?'),
    };
  }

  private get(key: string): string | null {
    const s = this.stmts.get;
    try {
      s.bind([key]);
      return s.step() ? String(s.get()[0]) : null;
    } finally {
      s.reset();
    }
  }

  private run(s: Statement, params: string[]): void {
    try {
      s.run(params);
    } finally {
      s.reset();
    }
  }

  private applyOne(data: Uint8Array): KvResult {
    const cmd = decodeKvCommand(data);
    if (typeof cmd === 'string') return { ok: false, prev: null, error: cmd };
    const prev = this.get(cmd.key);
    switch (cmd.op) {
      case 'put':
        this.run(this.stmts.put, [cmd.key, cmd.value]);
        return { ok: true, prev };
      case 'delete':
        this.run(this.stmts.del, [cmd.key]);
        return { ok: true, prev };
      case 'cas':
        if (prev !== cmd.expected) return { ok: false, prev };
        this.run(this.stmts.put, [cmd.key, cmd.value]);
        return { ok: true, prev };
    }
  }
}
