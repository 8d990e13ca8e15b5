/**
 * The log index at which each key (see effects.ts) was last written: what an effect's
 * preconditions are checked against. One statement to check an effect's reads, one to stamp
 * its writes, whatever their number: O(keys) index probes inside SQLite.
 */
import { integer } from './statements.js';
import type { PreparedStatement, StatementSet } from './statements.js';

export class KeyVersions {
  private readonly newest: PreparedStatement;
  private readonly stampAll: PreparedStatement;

  constructor(statements: StatementSet) {
    this.newest = statements.prepare(
      `SELECT coalesce(max(v.mod_index), 0) FROM json_each(?) k
         JOIN key_versions v ON v.key = k.value`,
    );
    this.stampAll = statements.prepare(
      `INSERT INTO key_versions (key, mod_index) SELECT value, ? FROM json_each(?) WHERE true
       ON CONFLICT (key) DO UPDATE SET mod_index = excluded.mod_index`,
    );
  }

  /** The newest index at which any of `keys` was written (0: never). */
  newestOf(keys: readonly string[]): number {
    if (keys.length === 0) return 0;
    return integer(this.newest.first([JSON.stringify(keys)])?.[0]);
  }

  /** Records that `keys` were written by the entry at `index`. */
  stamp(keys: readonly string[], index: number): void {
    if (keys.length === 0) return;
    this.stampAll.run([index, JSON.stringify(keys)]);
  }
}
