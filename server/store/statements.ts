/**
 * Prepared statements over sql.js with typed column access. A corrupt or mistyped row is
 * a broken invariant of the store, so the column readers throw {@link Internal} rather
 * than let a wrong value reach a decision.
 */
import type { Database, SqlValue, Statement } from 'sql.js';
import { Internal } from '../../contract/errors.js';

/** Values a statement is bound to, by position. */
export type SqlParams = readonly (string | number | null)[];

/** One prepared statement; every call resets it, so it is reusable at once. */
export class PreparedStatement {
  constructor(
    private readonly db: Database,
    private readonly statement: Statement,
  ) {}

  /** Every row. */
  all(params: SqlParams = []): SqlValue[][] {
    const rows: SqlValue[][] = [];
    try {
      this.statement.bind([...params]);
      while (this.statement.step()) rows.push(this.statement.get());
    } finally {
      this.statement.reset();
    }
    return rows;
  }

  /** The first row, if any. */
  first(params: SqlParams = []): SqlValue[] | undefined {
    try {
      this.statement.bind([...params]);
      return this.statement.step() ? this.statement.get() : undefined;
    } finally {
      this.statement.reset();
    }
  }

  /** Runs a write; returns how many rows it changed. */
  run(params: SqlParams = []): number {
    try {
      this.statement.run([...params]);
    } finally {
      this.statement.reset();
    }
    return this.db.getRowsModified();
  }

  /**
   * Runs a write that must change exactly one row: anything else means the store and the
   * decision that asked for the write disagree about what exists.
   */
  runOne(params: SqlParams, what: string): void {
    const changed = this.run(params);
    if (changed !== 1) throw new Internal(`${what} changed ${changed} rows instead of one`);
  }

  free(): void {
    this.statement.free();
  }
}

/** The statements of one connection, prepared once and freed together. */
export class StatementSet {
  private readonly prepared: PreparedStatement[] = [];

  constructor(private readonly db: Database) {}

  prepare(sql: string): PreparedStatement {
    const statement = new PreparedStatement(this.db, this.db.prepare(sql));
    this.prepared.push(statement);
    return statement;
  }

  /** Frees every statement. Idempotent. */
  free(): void {
    for (const statement of this.prepared.splice(0)) statement.free();
  }
}

/** A TEXT column. */
export function text(value: SqlValue | undefined): string {
  if (typeof value !== 'string')
    throw new Internal(`expected text in the store, found ${typeof value}`);
  return value;
}

/** A TEXT column that may be NULL. */
export function nullableText(value: SqlValue | undefined): string | null {
  return value === null ? null : text(value);
}

/** An INTEGER column. */
export function integer(value: SqlValue | undefined): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new Internal(`expected an integer in the store, found ${String(value)}`);
  }
  return value;
}

/** A TEXT column restricted to `allowed` (the schema's CHECK constraints). */
export function oneOf<T extends string>(value: SqlValue | undefined, allowed: ReadonlySet<T>): T {
  const found = text(value);
  if (!(allowed as ReadonlySet<string>).has(found)) {
    throw new Internal(`unexpected value "${found}" in the store`);
  }
  return found as T;
}
