/**
 * One open database image and everything prepared on it: the calendar's reads and writes,
 * the registry, the request log and the transaction statements. A restore opens a new
 * connection and closes the old one, so no prepared statement outlives its image.
 */
import type { Database, SqlJsStatic } from 'sql.js';
import { openMemoryDatabase } from '../../raft/kv/sql.js';
import { Internal } from '../../contract/errors.js';
import { CalendarRows } from './calendar-rows.js';
import { CalendarWrites } from './calendar-writes.js';
import type { RowWrite } from './effects.js';
import { KeyVersions } from './key-versions.js';
import { DavSyncRows, type AppliedEntry } from './dav-sync.js';
import { ListingCache } from './listing-cache.js';
import { Registry } from './registry.js';
import { RequestLog, StoreMeta } from './request-log.js';
import type { RequestRetention } from './request-log.js';
import { configureConnection, createSchema, migrateSchema } from './schema.js';
import { StatementSet, integer } from './statements.js';
import type { PreparedStatement } from './statements.js';

/** An open store image with its prepared statements; see the module comment. */
export class StoreConnection {
  readonly rows: CalendarRows;
  readonly writes: CalendarWrites;
  readonly registry: Registry;
  readonly meta: StoreMeta;
  readonly requests: RequestLog;
  readonly versions: KeyVersions;
  /** CalDAV sync's reads (dav-sync.ts). */
  readonly davSync: DavSyncRows;
  /** The event lists being read page by page, kept with this image (listing-cache.ts). */
  readonly listings = new ListingCache();
  readonly begin: PreparedStatement;
  readonly commit: PreparedStatement;
  readonly rollback: PreparedStatement;
  /** Per-command savepoint: a failing command is undone without touching its neighbours. */
  readonly savepoint: PreparedStatement;
  readonly release: PreparedStatement;
  readonly rollbackToSavepoint: PreparedStatement;
  private readonly pageCount: PreparedStatement;
  private readonly pageSize: PreparedStatement;
  private readonly statements: StatementSet;
  private closed = false;

  private constructor(
    readonly db: Database,
    retention: RequestRetention,
  ) {
    const statements = new StatementSet(db);
    this.statements = statements;
    this.rows = new CalendarRows(statements);
    this.writes = new CalendarWrites(statements);
    this.registry = new Registry(statements);
    this.meta = new StoreMeta(statements);
    this.requests = new RequestLog(statements, this.meta, retention);
    this.versions = new KeyVersions(statements);
    this.davSync = new DavSyncRows(statements);
    this.begin = statements.prepare('BEGIN');
    this.commit = statements.prepare('COMMIT');
    this.rollback = statements.prepare('ROLLBACK');
    this.savepoint = statements.prepare('SAVEPOINT command');
    this.release = statements.prepare('RELEASE command');
    this.rollbackToSavepoint = statements.prepare('ROLLBACK TO command');
    this.pageCount = statements.prepare('PRAGMA page_count');
    this.pageSize = statements.prepare('PRAGMA page_size');
  }

  /** A fresh store: the schema created, nothing else. Identical on every replica. */
  static create(SQL: SqlJsStatic, retention: RequestRetention): StoreConnection {
    const db = openMemoryDatabase(SQL);
    configureConnection(db);
    createSchema(db);
    return new StoreConnection(db, retention);
  }

  /**
   * The store in a snapshot image, migrated to this code's schema version if it is older.
   * @throws Internal when the image is not a store, or one of a newer schema version.
   */
  static open(SQL: SqlJsStatic, image: Uint8Array, retention: RequestRetention): StoreConnection {
    let db: Database;
    try {
      db = openMemoryDatabase(SQL, image);
    } catch (error) {
      throw new Internal(`cannot open the snapshot: ${(error as Error).message}`);
    }
    try {
      configureConnection(db);
      try {
        migrateSchema(db);
      } catch (error) {
        throw new Internal(`cannot open the snapshot: ${(error as Error).message}`);
      }
      return new StoreConnection(db, retention);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Writes an effect's rows, in order (see effects.ts), for `entry`: its index, and `at`, the
   * store's clock for it.
   */
  applyRows(writes: readonly RowWrite[], entry: AppliedEntry): void {
    const now = entry.at;
    for (const write of writes) {
      switch (write.kind) {
        case 'insertEvent':
        case 'updateEvent':
          this.writes.putEvent(write.kind, write.event, write.bounds);
          break;
        case 'insertCredentials':
          this.writes.insertCredentials(write.username, write.passwordHash);
          break;
        case 'replaceCredentials':
          this.writes.replaceCredentials(write.username, write.passwordHash);
          break;
        case 'revokeSession':
          this.writes.revokeSession(write.sid, write.username, write.expiresAt, write.now);
          break;
        case 'setSessionGeneration':
          this.writes.setSessionGeneration(write.username, write.generation);
          break;
        case 'openSession':
          this.writes.openSession(write.session, write.now);
          break;
        case 'rotateRefresh':
          this.writes.rotateRefresh(write.sid, write.seq, write.rotatedAt);
          break;
        case 'endSession':
          this.writes.endSession(write.sid);
          break;
        case 'insertFeed':
          this.writes.insertFeed(write.feed);
          break;
        case 'deleteFeed':
          this.writes.deleteFeed(write.fid);
          break;
        case 'insertDevice':
          this.writes.insertDevice(write.device);
          break;
        case 'deleteDevice':
          this.writes.deleteDevice(write.did);
          break;
        case 'deleteAccount':
          this.writes.deleteAccount(write.username, write.deletedAt);
          break;
        case 'markAccountPurged':
          this.writes.markAccountPurged(write.username, write.purgedAt);
          break;
        case 'putRegistry':
          this.registry.putEntryRow(write.key, write.value, write.epoch, write.updatedAt);
          break;
        case 'putLease':
          this.registry.putLeaseRow(write.name, write.holder, write.epoch, write.expiresAt, now);
          break;
        default:
          this.writes.apply([write], entry);
      }
    }
  }

  /** Size of the image in bytes. */
  bytes(): number {
    return integer(this.pageCount.first()?.[0]) * integer(this.pageSize.first()?.[0]);
  }

  /** Frees the statements and the database. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.statements.free();
    this.db.close();
  }
}
