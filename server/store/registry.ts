/**
 * The registry inside the store: what the stateful parts of the system agree on through
 * Raft — the Redis primary's address, which supervisor acts, which gateway holds the VIP.
 *
 * - **Compare-and-set keys.** Each key has a value and a fencing epoch that grows by one
 *   at every successful write (the first write gives epoch 1). A write names the epoch it
 *   expects (`null`: the key must not exist) and is refused, with the current entry, if
 *   someone wrote in between.
 * - **Leases.** A lease has at most one live holder. `acquire` succeeds when the lease is
 *   free, released or expired — the new holder gets an epoch strictly larger than every
 *   earlier one, so a former holder's late actions can be fenced off — or when the caller
 *   already holds it (a renewal: same epoch, new expiry). A lapsed tenure is never resumed:
 *   re-acquiring after expiry is a new tenure with a new epoch, even for the same holder.
 *
 * - **History.** Each new tenure of a lease (a new epoch with a holder) and each write of a
 *   key is also recorded in `registry_history`, the newest {@link REGISTRY_HISTORY_MAX} of
 *   each name, so an operator can see the failovers that happened before they looked.
 *   Renewals and releases are not recorded: they change no epoch, or no holder.
 *
 * Time is the store's clock (the `at` the DB leader stamped on the command, never
 * decreasing), never a replica's wall clock: every replica decides expiry identically. A
 * lease is expired when `now >= expiresAt`.
 */
import type {
  CommandOf,
  CasResult,
  LeaseAcquireResult,
  LeaseReleaseResult,
  LeaseView,
  RegistryEntry,
  RegistryHistoryEntry,
} from './protocol.js';
import { REGISTRY_HISTORY_MAX } from './protocol.js';
import { integer, nullableText, text } from './statements.js';
import type { PreparedStatement, StatementSet } from './statements.js';

/** A key's value is recorded cut to this many characters (the Redis primary's is ~40). */
const HISTORY_VALUE_CHARS = 200;

interface LeaseRow {
  readonly holder: string | null;
  readonly epoch: number;
  readonly expiresAt: number;
}

function leaseView(name: string, row: LeaseRow, now: number): LeaseView {
  return {
    name,
    holder: row.holder,
    epoch: row.epoch,
    expiresAt: row.expiresAt,
    expired: row.holder === null || now >= row.expiresAt,
  };
}

/** Registry keys and leases, over one connection's prepared statements. */
export class Registry {
  private readonly entryByKey: PreparedStatement;
  private readonly putEntry: PreparedStatement;
  private readonly leaseByName: PreparedStatement;
  private readonly putLease: PreparedStatement;
  private readonly addHistory: PreparedStatement;
  private readonly trimHistory: PreparedStatement;
  private readonly historyByName: PreparedStatement;

  constructor(statements: StatementSet) {
    this.entryByKey = statements.prepare('SELECT value, epoch FROM registry WHERE key = ?');
    this.putEntry = statements.prepare(
      `INSERT INTO registry (key, value, epoch, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE
         SET value = excluded.value, epoch = excluded.epoch, updated_at = excluded.updated_at`,
    );
    this.leaseByName = statements.prepare(
      'SELECT holder, epoch, expires_at FROM leases WHERE name = ?',
    );
    this.putLease = statements.prepare(
      `INSERT INTO leases (name, holder, epoch, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE
         SET holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at`,
    );
    this.addHistory = statements.prepare(
      'INSERT INTO registry_history (name, kind, holder, epoch, at) VALUES (?, ?, ?, ?, ?)',
    );
    // Keeps the newest rows of the name: at most one row goes per write, so this stays cheap.
    this.trimHistory = statements.prepare(
      `DELETE FROM registry_history WHERE name = ? AND seq <= (
         SELECT seq FROM registry_history WHERE name = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
    );
    this.historyByName = statements.prepare(
      `SELECT kind, holder, epoch, at FROM registry_history WHERE name = ?
        ORDER BY seq DESC LIMIT ?`,
    );
  }

  /** The newest `limit` recorded changes of the lease or key `name`, oldest first. */
  history(name: string, limit: number): RegistryHistoryEntry[] {
    return this.historyByName
      .all([name, limit])
      .map((row) => ({
        name,
        kind: text(row[0]) === 'lease' ? ('lease' as const) : ('key' as const),
        holder: nullableText(row[1]),
        epoch: integer(row[2]),
        at: integer(row[3]),
      }))
      .reverse();
  }

  /** The key's entry, or null if it was never written. */
  get(key: string): RegistryEntry | null {
    const row = this.entryByKey.first([key]);
    return row === undefined ? null : { key, value: text(row[0]), epoch: integer(row[1]) };
  }

  /** Writes the key if its epoch is the one expected (`null`: absent). */
  compareAndSet(command: CommandOf<'registry.cas'>, now: number): CasResult {
    const current = this.get(command.key);
    if ((current?.epoch ?? null) !== command.expectedEpoch) return { applied: false, current };
    const entry: RegistryEntry = {
      key: command.key,
      value: command.value,
      epoch: (current?.epoch ?? 0) + 1,
    };
    this.writeEntry(entry.key, entry.value, entry.epoch, now);
    return { applied: true, entry };
  }

  /** The lease as of `now`, or null if it was never acquired. */
  lease(name: string, now: number): LeaseView | null {
    const row = this.leaseRow(name);
    return row === undefined ? null : leaseView(name, row, now);
  }

  /** Acquires or renews the lease (rules above). */
  acquire(command: CommandOf<'lease.acquire'>, now: number): LeaseAcquireResult {
    const row = this.leaseRow(command.name);
    const live = row !== undefined && row.holder !== null && now < row.expiresAt;
    if (live && row.holder !== command.holder) {
      return { acquired: false, lease: leaseView(command.name, row, now) };
    }
    const next: LeaseRow = {
      holder: command.holder,
      epoch: live ? row.epoch : (row?.epoch ?? 0) + 1,
      expiresAt: now + command.ttlMs,
    };
    this.writeLease(command.name, next, now, row);
    return { acquired: true, renewed: live, lease: leaseView(command.name, next, now) };
  }

  /**
   * Gives the lease up if `holder` is the one named on it (live or lapsed); the epoch stays,
   * so the next holder still gets a larger one.
   */
  release(command: CommandOf<'lease.release'>, now: number): LeaseReleaseResult {
    const row = this.leaseRow(command.name);
    if (row === undefined) return { released: false, lease: null };
    if (row.holder !== command.holder) {
      return { released: false, lease: leaseView(command.name, row, now) };
    }
    const next: LeaseRow = {
      holder: null,
      epoch: row.epoch,
      expiresAt: Math.min(row.expiresAt, now),
    };
    this.writeLease(command.name, next, now, row);
    return { released: true, lease: leaseView(command.name, next, now) };
  }

  /** Writes a registry row as an effect carries it. */
  putEntryRow(key: string, value: string, epoch: number, updatedAt: number): void {
    this.writeEntry(key, value, epoch, updatedAt);
  }

  /** Writes a lease row as an effect carries it; `now` is the store's clock for the effect. */
  putLeaseRow(
    name: string,
    holder: string | null,
    epoch: number,
    expiresAt: number,
    now: number,
  ): void {
    this.writeLease(name, { holder, epoch, expiresAt }, now, this.leaseRow(name));
  }

  private leaseRow(name: string): LeaseRow | undefined {
    const row = this.leaseByName.first([name]);
    if (row === undefined) return undefined;
    return { holder: nullableText(row[0]), epoch: integer(row[1]), expiresAt: integer(row[2]) };
  }

  private writeEntry(key: string, value: string, epoch: number, at: number): void {
    this.putEntry.runOne([key, value, epoch, at], `writing ${key}`);
    this.record(key, 'key', value.slice(0, HISTORY_VALUE_CHARS), epoch, at);
  }

  /** Writes the lease; a new tenure (a holder under a new epoch) goes into the history. */
  private writeLease(name: string, row: LeaseRow, at: number, before: LeaseRow | undefined): void {
    this.putLease.runOne([name, row.holder, row.epoch, row.expiresAt], `writing lease ${name}`);
    if (row.holder !== null && row.epoch !== before?.epoch) {
      this.record(name, 'lease', row.holder, row.epoch, at);
    }
  }

  private record(
    name: string,
    kind: 'lease' | 'key',
    holder: string | null,
    epoch: number,
    at: number,
  ): void {
    this.addHistory.runOne([name, kind, holder, epoch, at], `recording ${name}`);
    this.trimHistory.run([name, name, REGISTRY_HISTORY_MAX]);
  }
}
