/**
 * A member's durable Raft state in one data directory:
 *
 *   <dir>/hardstate                 term and vote (hard-state.ts)
 *   <dir>/snap/<index>-<term>.snap  the two newest snapshots (snapshots.ts)
 *   <dir>/wal/<first index>.wal     the write-ahead log segments (wal.ts)
 *
 * Recovery: the newest valid snapshot S, then the WAL replayed (resets clear what came before
 * them). The log kept after S is the WAL's live entries past S.index, but only if the WAL also
 * holds the entry at S.index with S.term (or starts right after S.index): by the Log Matching
 * property the entries after a matching entry belong with S; otherwise they are discarded.
 * When that leaves the WAL out of line with S, a reset record is written so it lines up again.
 *
 * Crash windows, and why each recovers correctly:
 * - Un-synced appends: only the last segment can hold them (a segment is synced before the next
 *   is created). A torn record there is cut off, and the rest of the batch with it; every record
 *   before the last `sync()` was fdatasynced and survives. A bad record with a valid one after
 *   it is not a crash but decay, and `load()` refuses it (wal.ts says how they are told apart).
 * - installSnapshot writes the snapshot durably (tmp, fsync, rename, fsync dir), then appends a
 *   reset and syncs. Crash before the rename is durable: the old snapshot and log come back,
 *   as if the install never started (it had not returned). Crash after the snapshot is durable
 *   but before the reset is: S is found with the old WAL; old entries are kept only when the
 *   WAL holds S.index with S.term (a log the leader's matches), otherwise dropped and a reset is
 *   written at recovery. A reset is durable only after its snapshot, so a reset past the newest
 *   valid snapshot means that snapshot decayed: corruption, not a crash.
 * - installSnapshotInBackground takes the same steps in the same order; only the write and
 *   fsync of the temporary file, and the WAL's fdatasync of the reset, run off the event loop.
 *   The reset is written only once the rename and the directory fsync have returned, so it
 *   still cannot be durable before its snapshot, and the crash windows are the ones above: a
 *   crash during the write leaves a temporary file that `load` removes (the old state comes
 *   back), one after the rename is like the window before the reset is durable. It syncs the
 *   reset itself rather than leaving it to the caller's next sync: a snapshot's Ready often
 *   carries no entries, and what it resolves to then means what installSnapshot's return does.
 * - A torn tail after a reset: the reset was synced before the entries that followed it, so
 *   recovery gives the snapshot plus whatever part of those entries survived intact.
 * - saveSnapshot only adds a snapshot file: before its rename is durable the old snapshot is
 *   used with the same log; after, entries up to S.index are dropped. The two newest snapshots
 *   are kept, so deleting older ones is never needed for correctness. In the background the
 *   same steps happen, only the write and fsync of the temporary file take their time; the
 *   log is compacted only once the rename is durable.
 * - compact deletes the oldest segments one at a time, each made durable (fsync dir) before the
 *   next, so a crash leaves a suffix of segments and never a hole in the log; and only entries
 *   <= the newest snapshot go, so no gap can open between the snapshot and the log. It syncs
 *   the WAL first: a segment whose entries were all overwritten may go only once the
 *   overwriting records are durable, or a crash would lose both versions.
 * - saveHardState is an atomic replace: the old or the new term and vote, never a mix.
 * - Repairs made during recovery (tail truncation, removing an empty segment, the reset) are
 *   each durable before the log is used, and recovery repeated after a crash in the middle of
 *   them arrives at the same state.
 */
import { join } from 'node:path';
import type { Entry, HardState, Snapshot } from '../core/types.js';
import { StorageCorruptError, StorageRequestError } from './errors.js';
import type { BackgroundWrite, SyncFileSystem } from './fs.js';
import { HardStateFile } from './hard-state.js';
import type { StorageLogger } from './logger.js';
import { SnapshotStore } from './snapshots.js';
import { WriteAheadLog, type WalContents } from './wal.js';

/** Everything a member needs to resume after a restart. */
export interface RecoveredState {
  hardState: HardState;
  snapshot: Snapshot | null;
  /** Contiguous, first index = (snapshot?.meta.index ?? 0) + 1. */
  entries: Entry[];
}

/** The persistence the Raft runtime relies on. */
export interface RaftStorage {
  /** Reads everything back after a restart (or an empty state for a new member). */
  load(): RecoveredState;
  /** Durable on return (atomic replace). Called before `append` when both change. */
  saveHardState(hs: HardState): void;
  /** Buffered: durable only after `sync()`. An entry at an index already stored replaces it and all after it. */
  append(entries: readonly Entry[]): void;
  /** A snapshot received from the leader: replaces the whole log. Durable on return. */
  installSnapshot(snap: Snapshot): void;
  /** A snapshot taken locally for compaction; the log after it stays. Durable on return. */
  saveSnapshot(snap: Snapshot): void;
  /** Drops log segments whose entries are all <= index (index must be <= the newest saved snapshot's). */
  compact(index: number): void;
  /** One fsync that makes every preceding append durable. */
  sync(): void;
  /** `sync` without blocking: `done` runs, after this returns, once it is done. */
  syncInBackground(done: (error: Error | null) => void): void;
  close(): void;
}

export interface DurableStorageOptions {
  readonly fs: SyncFileSystem;
  /** The member's data directory; created if missing. */
  readonly dir: string;
  /** Told about every repair recovery makes (torn tails cut, damaged snapshots skipped). */
  readonly logger: StorageLogger;
  /** WAL segment size; default 64 MiB. */
  readonly segmentBytes?: number;
  /**
   * Writes and syncs a new file without blocking the event loop (`writeFileInBackground` on a
   * real disk); needed by {@link DurableStorage.saveSnapshotInBackground} and
   * {@link DurableStorage.installSnapshotInBackground} only.
   */
  readonly writeInBackground?: BackgroundWrite;
}

/**
 * {@link RaftStorage} on a {@link SyncFileSystem}. Call `load()` once before anything else;
 * it throws {@link StorageCorruptError} when the data cannot be trusted, and the member must
 * then refuse to start.
 */
export class DurableStorage implements RaftStorage {
  readonly #options: DurableStorageOptions;
  readonly #hardState: HardStateFile;
  readonly #snapshots: SnapshotStore;
  #wal: WriteAheadLog | null = null;
  #snapshotIndex = 0;
  #lastIndex = 0;
  #closed = false;

  constructor(options: DurableStorageOptions) {
    this.#options = options;
    this.#hardState = new HardStateFile(options.fs, join(options.dir, 'hardstate'));
    this.#snapshots = new SnapshotStore(options.fs, join(options.dir, 'snap'), options.logger);
  }

  load(): RecoveredState {
    if (this.#wal !== null || this.#closed) {
      throw new StorageRequestError('load() runs once, on a storage not yet loaded');
    }
    const { fs, dir, logger, segmentBytes } = this.#options;
    fs.mkdirp(dir);
    const hardState = this.#hardState.load();
    const snapshot = this.#snapshots.load();
    const walDir = join(dir, 'wal');
    const { wal, contents } = WriteAheadLog.open({ fs, dir: walDir, logger, segmentBytes });
    this.#wal = wal;
    const entries = this.#lineUp(wal, snapshot, contents, walDir);
    return { hardState, snapshot, entries };
  }

  saveHardState(hs: HardState): void {
    this.#loaded();
    this.#hardState.save(hs);
  }

  append(entries: readonly Entry[]): void {
    const wal = this.#loaded();
    const first = entries[0];
    const last = entries.at(-1);
    if (first === undefined || last === undefined) return;
    if (first.index <= this.#snapshotIndex) {
      throw new StorageRequestError(
        `entry ${first.index} is covered by the snapshot at ${this.#snapshotIndex}`,
      );
    }
    if (first.index > this.#lastIndex + 1) {
      throw new StorageRequestError(`entry ${first.index} leaves a gap after ${this.#lastIndex}`);
    }
    wal.append(entries);
    this.#lastIndex = last.index;
  }

  installSnapshot(snap: Snapshot): void {
    const wal = this.#checkInstall(snap);
    const { index, term } = snap.meta;
    // Snapshot first: a durable reset must never point at a snapshot that is not.
    this.#snapshots.save(snap);
    wal.reset(index, term);
    wal.sync();
    this.#snapshotIndex = this.#lastIndex = index;
  }

  /**
   * {@link installSnapshot} without stalling the event loop (a 137 MB image stalled a member
   * for 4-12 s): the image is checksummed a chunk at a time, written and synced by the
   * `writeInBackground` option, then adopted (rename and directory fsync, on the loop but
   * short), and the reset is written and synced in the background. Resolves once all of it
   * is durable, what installSnapshot's return means. Nothing may be appended meanwhile (the
   * reset would discard it); a local snapshot may be adopted meanwhile, being older.
   *
   * Rejects, leaving the stored snapshot and log as they were and no temporary file, when the
   * write fails, when the storage was closed meanwhile, or when a newer snapshot was stored
   * meanwhile; and when the reset's fdatasync fails, after which the storage cannot be trusted.
   */
  async installSnapshotInBackground(snap: Snapshot): Promise<void> {
    this.#checkInstall(snap);
    const write = this.#backgroundWriter();
    const file = await this.#snapshots.prepareInBackground(snap);
    let wal: WriteAheadLog;
    try {
      await write(file.tmp, file.parts);
      // The storage may have been closed, or given a newer snapshot, while the file was written.
      wal = this.#checkInstall(snap);
    } catch (error) {
      this.#snapshots.discard(file);
      throw error;
    }
    const { index, term } = snap.meta;
    // Snapshot first: adopt returns once the rename is durable, and only then is the reset written.
    this.#snapshots.adopt(file);
    wal.reset(index, term);
    this.#snapshotIndex = this.#lastIndex = index;
    await new Promise<void>((resolve, reject) => {
      wal.syncInBackground((error) => (error === null ? resolve() : reject(error)));
    });
  }

  /** What an install requires: a loaded, open storage holding no newer snapshot; its WAL. */
  #checkInstall(snap: Snapshot): WriteAheadLog {
    const wal = this.#loaded();
    const { index } = snap.meta;
    if (index < this.#snapshotIndex) {
      throw new StorageRequestError(
        `snapshot ${index} is older than the stored ${this.#snapshotIndex}`,
      );
    }
    return wal;
  }

  saveSnapshot(snap: Snapshot): void {
    this.#checkLocalSnapshot(snap);
    this.#snapshots.save(snap);
    this.#snapshotIndex = snap.meta.index;
  }

  /**
   * {@link saveSnapshot} with the file written and synced off the event loop (by the
   * `writeInBackground` option), while the storage goes on being used. Resolves to true once
   * the snapshot is durable and the newest, what saveSnapshot's return means; or to false,
   * its file removed, when it is no longer wanted: the storage was closed meanwhile, or a
   * snapshot installed meanwhile covers it. Rejects when the write fails.
   */
  async saveSnapshotInBackground(snap: Snapshot): Promise<boolean> {
    this.#checkLocalSnapshot(snap);
    const write = this.#backgroundWriter();
    // Checksummed a chunk at a time too: in one piece, a 137 MB image held the loop 60-400 ms.
    const file = await this.#snapshots.prepareInBackground(snap);
    try {
      await write(file.tmp, file.parts);
    } catch (error) {
      this.#snapshots.discard(file);
      throw error;
    }
    if (this.#closed || snap.meta.index <= this.#snapshotIndex) {
      this.#snapshots.discard(file);
      return false;
    }
    this.#snapshots.adopt(file);
    this.#snapshotIndex = snap.meta.index;
    return true;
  }

  #backgroundWriter(): BackgroundWrite {
    const write = this.#options.writeInBackground;
    if (write === undefined) {
      throw new StorageRequestError('this storage was given no way to write in the background');
    }
    return write;
  }

  #checkLocalSnapshot(snap: Snapshot): void {
    this.#loaded();
    const { index } = snap.meta;
    if (index < this.#snapshotIndex || index > this.#lastIndex) {
      throw new StorageRequestError(
        `a local snapshot must lie in [${this.#snapshotIndex}, ${this.#lastIndex}], not at ${index}`,
      );
    }
  }

  compact(index: number): void {
    const wal = this.#loaded();
    if (index > this.#snapshotIndex) {
      throw new StorageRequestError(
        `cannot compact to ${index}: the newest snapshot is at ${this.#snapshotIndex}`,
      );
    }
    wal.compact(index);
  }

  sync(): void {
    this.#loaded().sync();
  }

  /** {@link sync} off the event loop (see `WriteAheadLog.syncInBackground`). */
  syncInBackground(done: (error: Error | null) => void): void {
    this.#loaded().syncInBackground(done);
  }

  /** Syncs pending appends and releases the files. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wal?.close();
  }

  /** File names of the WAL segments, oldest first (for tests and operators). */
  segmentNames(): string[] {
    return this.#loaded().segmentNames();
  }

  #loaded(): WriteAheadLog {
    if (this.#closed) throw new StorageRequestError('the storage is closed');
    if (this.#wal === null) throw new StorageRequestError('call load() first');
    return this.#wal;
  }

  /** Applies the recovery rules to the replayed WAL (see the top of this file). */
  #lineUp(
    wal: WriteAheadLog,
    snapshot: Snapshot | null,
    { base, entries }: WalContents,
    walDir: string,
  ): Entry[] {
    const index = snapshot?.meta.index ?? 0;
    const term = snapshot?.meta.term ?? 0;
    this.#snapshotIndex = this.#lastIndex = index;
    // An empty WAL takes its first entry at any index: the next append starts it after the snapshot.
    if (base === null) return [];
    if (base > index) {
      throw new StorageCorruptError(
        `the log starts after index ${base} but the newest valid snapshot is at ${index}`,
        walDir,
      );
    }
    const last = base + entries.length;
    if (last >= index && (base === index || entries[index - base - 1]?.term === term)) {
      this.#lastIndex = last;
      return entries.slice(index - base);
    }
    this.#options.logger.warn(
      'durable storage: the log does not continue the snapshot; dropping it',
      {
        snapshotIndex: index,
        snapshotTerm: term,
        logLastIndex: last,
        droppedEntries: Math.max(0, last - index),
      },
    );
    wal.reset(index, term);
    wal.sync();
    return [];
  }
}
