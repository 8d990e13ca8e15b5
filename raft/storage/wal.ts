/**
 * The write-ahead log: an append-only sequence of records in segment files.
 *
 * Record: `[u32 payloadLength][u32 crc32(type + payload)][u8 type][payload]`, little-endian.
 * - entry (1): `[u64 index][u64 term][u8 0=normal|1=conf][data]`
 * - reset (2): `[u64 index][u64 term]`: the log restarts empty after `index` (a snapshot from
 *   the leader replaced it), so every earlier record is superseded.
 *
 * The log is never rewritten in place: an entry at an index already written replaces that
 * index and everything after it when the log is replayed, exactly as Raft's conflict truncation
 * does in memory.
 *
 * A segment is named after the index of its first record (a reset counts as `index + 1`, the
 * first entry it admits). Rotation waits until that index is above the open segment's, so names
 * always sort in write order even when the log is truncated backwards. A batch is never split
 * across segments, and the segment being closed is synced before the next one is created:
 * only the last segment can ever hold a torn tail.
 *
 * Recovery tells a torn tail from corruption by what follows the first bad record. A crash can
 * only damage what was appended after the last sync, which is the end of the last segment, so
 * bad bytes with no valid record after them (a record cut short, garbage, or zeros where the
 * file system extended the file but the data never landed) are a torn tail and are cut off.
 * A bad record with a valid record after it was written whole before that record and has
 * decayed since (bit rot, a misdirected write): it may have been acknowledged, and so may
 * everything after it, so recovery refuses with {@link WalCorruptError} rather than cut them.
 *
 * Two limits, both by design:
 * - Damage to the very last record, with nothing valid after it, looks exactly like a torn
 *   write and is cut off. Refusing instead would turn every power cut into a member
 *   replacement. The member then lacks an entry it may have acknowledged, one copy fewer
 *   than its quorum counted on, which no single-copy check can detect.
 * - A power cut may persist an un-synced batch's pages out of order, leaving a later page
 *   whole and an earlier one unwritten. That looks like corruption and recovery refuses:
 *   the error costs an operator's replacement of the member, never acknowledged data.
 *
 * Segments are not pre-allocated, so zeros past the last record come only from a crash,
 * never from reserved space.
 */
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Entry, EntryType } from '../core/types.js';
import { getU64, setU64, viewOf } from './codec.js';
import { StorageCorruptError, StorageRequestError, WalCorruptError } from './errors.js';
import type { AppendFile, SyncFileSystem } from './fs.js';
import type { StorageLogger } from './logger.js';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

const HEADER_BYTES = 9;
const ENTRY_FIXED_BYTES = 17;
const RESET_PAYLOAD_BYTES = 16;
const RECORD_ENTRY = 1;
const RECORD_RESET = 2;
const SEGMENT_NAME = /^(\d{16})\.wal$/;

export interface WalOptions {
  readonly fs: SyncFileSystem;
  /** The directory holding only this log's segments. */
  readonly dir: string;
  readonly logger: StorageLogger;
  /** A segment is closed once it holds this many bytes. Default 64 MiB. */
  readonly segmentBytes?: number;
}

/** What replay found: the live log, with every overwrite and reset applied. */
export interface WalContents {
  /** The index just before the first live entry; `null` when the log holds no record at all. */
  readonly base: number | null;
  /** Contiguous, starting at `base + 1`. */
  readonly entries: Entry[];
}

interface Segment {
  readonly firstIndex: number;
  readonly path: string;
  /**
   * The live (not yet superseded) entries this segment holds. The live log is contiguous and
   * written in index order, so each segment's share of it is one range.
   */
  live: { first: number; last: number } | null;
}

type DecodedRecord =
  | { readonly kind: 'entry'; readonly entry: Entry; readonly end: number }
  | { readonly kind: 'reset'; readonly index: number; readonly term: number; readonly end: number }
  | { readonly kind: 'bad'; readonly reason: string };

/**
 * An open write-ahead log. `append` and `reset` only write to the OS; `sync` makes everything
 * written so far durable with one fdatasync.
 */
export class WriteAheadLog {
  readonly #fs: SyncFileSystem;
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #segments: Segment[] = [];
  /** Appends go to the last segment through this handle. */
  #open: AppendFile | null = null;
  /** Index of the last live entry (or of the last reset); `null` for an empty log. */
  #last: number | null = null;
  /** Writes to the open segment so far, and how many of them an fdatasync has covered. */
  #writes = 0;
  #syncedWrites = 0;
  #closed = false;

  private constructor(options: WalOptions) {
    this.#fs = options.fs;
    this.#dir = options.dir;
    this.#segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  }

  /**
   * Opens the log in `dir` (creating it) and replays it. Bad bytes running to the end of the
   * last segment are a torn tail and are cut off (with a warning): they can only be an append
   * that never synced. A bad record in a sealed segment, or one followed by a valid record in
   * the last, throws {@link WalCorruptError} naming the segment and the record's offset; any
   * other inconsistency (a gap, a misnamed segment) throws {@link StorageCorruptError}.
   */
  static open(options: WalOptions): { wal: WriteAheadLog; contents: WalContents } {
    const wal = new WriteAheadLog(options);
    const contents = wal.#replay(options.logger);
    return { wal, contents };
  }

  /** Index of the last live entry, or of the last reset; `null` when the log is empty. */
  get lastIndex(): number | null {
    return this.#last;
  }

  /** File names of the segments, oldest first. */
  segmentNames(): string[] {
    return this.#segments.map((segment) => segmentName(segment.firstIndex));
  }

  /**
   * Writes `entries` as one buffer with one write (not durable until {@link sync}). They must
   * be contiguous and start at most one past the last index; an index already written replaces
   * it and everything after it.
   */
  append(entries: readonly Entry[]): void {
    this.#usable();
    const first = entries[0];
    if (first === undefined) return;
    let size = 0;
    let expected = first.index;
    for (const entry of entries) {
      if (entry.index !== expected || !isIndex(entry.index) || !isIndex(entry.term)) {
        throw new StorageRequestError(`entries must be contiguous from ${first.index}`);
      }
      expected++;
      size += HEADER_BYTES + ENTRY_FIXED_BYTES + entry.data.length;
    }
    if (this.#last !== null && first.index > this.#last + 1) {
      throw new StorageRequestError(`entry ${first.index} would leave a gap after ${this.#last}`);
    }
    const buf = new Uint8Array(size);
    const view = viewOf(buf);
    let at = 0;
    for (const entry of entries) {
      const payload = ENTRY_FIXED_BYTES + entry.data.length;
      setU64(view, at + HEADER_BYTES, entry.index);
      setU64(view, at + HEADER_BYTES + 8, entry.term);
      buf[at + HEADER_BYTES + 16] = entry.type === 'conf' ? 1 : 0;
      buf.set(entry.data, at + HEADER_BYTES + ENTRY_FIXED_BYTES);
      at = sealRecord(buf, view, at, RECORD_ENTRY, payload);
    }
    const segment = this.#write(buf, first.index);
    this.#recordEntries(segment, first.index, expected - 1);
  }

  /** Writes a reset record: the log restarts empty after `index` (not durable until {@link sync}). */
  reset(index: number, term: number): void {
    this.#usable();
    if (!isIndex(index) || !isIndex(term)) {
      throw new StorageRequestError(`bad reset point ${index}@${term}`);
    }
    const buf = new Uint8Array(HEADER_BYTES + RESET_PAYLOAD_BYTES);
    const view = viewOf(buf);
    setU64(view, HEADER_BYTES, index);
    setU64(view, HEADER_BYTES + 8, term);
    sealRecord(buf, view, 0, RECORD_RESET, RESET_PAYLOAD_BYTES);
    this.#write(buf, index + 1);
    this.#recordReset(index);
  }

  /** One fdatasync of the open segment: every record written before it survives a crash. */
  sync(): void {
    this.#usable();
    if (this.#syncedWrites === this.#writes || this.#open === null) return;
    this.#open.sync();
    this.#syncedWrites = this.#writes;
  }

  /**
   * {@link sync} off the event loop, where the file system can (`AppendFile.syncInBackground`):
   * `done` runs once every record written before this call is durable, always after this
   * returns. Records written meanwhile are not covered; a `sync` meanwhile syncs in place.
   */
  syncInBackground(done: (error: Error | null) => void): void {
    this.#usable();
    const file = this.#open;
    const covered = this.#writes;
    if (covered === this.#syncedWrites || file === null || file.syncInBackground === undefined) {
      let error: Error | null = null;
      try {
        this.sync();
      } catch (caught) {
        error = caught instanceof Error ? caught : new Error(String(caught));
      }
      queueMicrotask(() => done(error));
      return;
    }
    file.syncInBackground((error) => {
      if (error === null) this.#syncedWrites = Math.max(this.#syncedWrites, covered);
      done(error);
    });
  }

  /**
   * Deletes the oldest segments while every live entry they hold is `<= index` (segments
   * holding only superseded records go too). Never deletes the open segment. Each deletion is
   * made durable before the next, so a crash leaves a suffix of the segments, never a hole.
   * Syncs pending records first. Returns how many segments were deleted.
   */
  compact(index: number): number {
    this.#usable();
    // What supersedes a segment's entries must be durable before the segment goes, or a crash
    // could lose both the overwriting records and the entries they replaced.
    this.sync();
    let removed = 0;
    for (;;) {
      const [oldest, next] = this.#segments;
      // `next` missing means `oldest` is the open segment.
      if (oldest === undefined || next === undefined) break;
      if (oldest.live !== null && oldest.live.last > index) break;
      this.#fs.unlink(oldest.path);
      this.#fs.syncDir(this.#dir);
      this.#segments.shift();
      removed++;
    }
    return removed;
  }

  /** Syncs what is pending and releases the open segment. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.sync();
    this.#open?.close();
    this.#open = null;
    this.#closed = true;
  }

  #usable(): void {
    if (this.#closed) throw new StorageRequestError('the write-ahead log is closed');
  }

  /** Writes `records`, first rotating to a new segment named `index` if the open one is full. */
  #write(records: Uint8Array, index: number): Segment {
    let segment = this.#segments.at(-1);
    let file = this.#open;
    if (
      segment === undefined ||
      file === null ||
      (file.size() >= this.#segmentBytes && index > segment.firstIndex)
    ) {
      segment = { firstIndex: index, path: join(this.#dir, segmentName(index)), live: null };
      file = this.#rotate(segment);
    }
    file.append(records);
    this.#writes++;
    return segment;
  }

  /** Seals the open segment (synced, so it can never hold a torn tail) and starts `segment`. */
  #rotate(segment: Segment): AppendFile {
    if (this.#open !== null) {
      this.sync();
      this.#open.close();
    }
    const file = this.#fs.openAppend(segment.path);
    this.#fs.syncDir(this.#dir);
    this.#open = file;
    this.#segments.push(segment);
    return file;
  }

  /** Bookkeeping for entries `first..last` just written to `segment`. */
  #recordEntries(segment: Segment, first: number, last: number): void {
    if (this.#last !== null && first <= this.#last) {
      // Conflict truncation: everything from `first` on is superseded.
      for (const other of this.#segments) {
        if (other.live === null) continue;
        if (other.live.first >= first) other.live = null;
        else other.live.last = Math.min(other.live.last, first - 1);
      }
    }
    if (segment.live === null) segment.live = { first, last };
    else segment.live.last = last;
    this.#last = last;
  }

  #recordReset(index: number): void {
    for (const segment of this.#segments) segment.live = null;
    this.#last = index;
  }

  #replay(logger: StorageLogger): WalContents {
    this.#fs.mkdirp(this.#dir);
    const names = this.#fs.list(this.#dir).filter((name) => SEGMENT_NAME.test(name));
    let base: number | null = null;
    let entries: Entry[] = [];
    for (const [position, name] of names.entries()) {
      const segment: Segment = {
        firstIndex: Number(name.slice(0, 16)),
        path: join(this.#dir, name),
        live: null,
      };
      const isLast = position === names.length - 1;
      const bytes = this.#fs.readFile(segment.path);
      const view = viewOf(bytes);
      this.#segments.push(segment);
      let validBytes = bytes.length;
      for (let at = 0; at < bytes.length;) {
        const record = decodeRecord(bytes, view, at);
        if (record.kind === 'bad') {
          if (!isLast) {
            throw new WalCorruptError(`${record.reason} in a sealed segment`, segment.path, at);
          }
          const intact = findValidRecord(bytes, view, at + 1);
          if (intact !== null) {
            throw new WalCorruptError(
              `${record.reason}, yet a valid record follows at byte ${intact}: ` +
                'damage to written data, not a torn write',
              segment.path,
              at,
            );
          }
          // Nothing valid after it: an append a crash cut short before its sync. Drop it and
          // all after it, durably, so new appends do not land behind garbage.
          logger.warn('write-ahead log: truncating a torn tail', {
            path: segment.path,
            offset: at,
            droppedBytes: bytes.length - at,
            reason: isZeroFilled(bytes, at) ? 'a zero-filled tail' : record.reason,
          });
          this.#fs.truncate(segment.path, at);
          this.#fs.syncFile(segment.path);
          validBytes = at;
          break;
        }
        const recordIndex = record.kind === 'entry' ? record.entry.index : record.index + 1;
        if (at === 0 && recordIndex !== segment.firstIndex) {
          throw new WalCorruptError(`segment starts at index ${recordIndex}`, segment.path, at);
        }
        if (record.kind === 'reset') {
          base = record.index;
          entries = [];
          this.#recordReset(record.index);
        } else {
          const { index } = record.entry;
          if (base === null || index <= base) {
            // The first entry, or one older than everything kept (only seen after compaction
            // removed the segments before a backwards truncation): the log restarts here.
            base = index - 1;
            entries = [];
          } else if (index > base + entries.length + 1) {
            throw new WalCorruptError(
              `entry ${index} follows entry ${base + entries.length}: a gap in the log`,
              segment.path,
              at,
            );
          }
          entries.length = index - base - 1;
          entries.push(record.entry);
          this.#recordEntries(segment, index, index);
        }
        at = record.end;
      }
      if (validBytes === 0) {
        if (!isLast) throw new StorageCorruptError('empty sealed segment', segment.path);
        // Created by a rotation whose first write never reached the disk.
        this.#fs.unlink(segment.path);
        this.#fs.syncDir(this.#dir);
        this.#segments.pop();
      }
    }
    const last = this.#segments.at(-1);
    if (last !== undefined) this.#open = this.#fs.openAppend(last.path);
    return { base, entries };
  }
}

/** File name of the segment whose first record has index `firstIndex`. */
export function segmentName(firstIndex: number): string {
  return `${String(firstIndex).padStart(16, '0')}.wal`;
}

/** Fills in the header of the record at `at` whose payload is already in place; returns its end. */
function sealRecord(
  buf: Uint8Array,
  view: DataView,
  at: number,
  type: number,
  payload: number,
): number {
  const end = at + HEADER_BYTES + payload;
  view.setUint32(at, payload, true);
  buf[at + 8] = type;
  view.setUint32(at + 4, crc32(buf.subarray(at + 8, end)), true);
  return end;
}

function decodeRecord(bytes: Uint8Array, view: DataView, at: number): DecodedRecord {
  if (bytes.length - at < HEADER_BYTES) return { kind: 'bad', reason: 'a cut-short record header' };
  const payload = view.getUint32(at, true);
  const end = at + HEADER_BYTES + payload;
  if (end > bytes.length)
    return { kind: 'bad', reason: 'a record running past the end of the file' };
  if (crc32(bytes.subarray(at + 8, end)) !== view.getUint32(at + 4, true)) {
    return { kind: 'bad', reason: 'a checksum mismatch' };
  }
  const recordType = bytes[at + 8];
  if (recordType !== RECORD_ENTRY && recordType !== RECORD_RESET) {
    return { kind: 'bad', reason: `an unknown record type ${recordType}` };
  }
  const body = at + HEADER_BYTES;
  const isReset = recordType === RECORD_RESET;
  const fits = isReset ? payload === RESET_PAYLOAD_BYTES : payload >= ENTRY_FIXED_BYTES;
  const index = fits ? getU64(view, body) : undefined;
  const term = fits ? getU64(view, body + 8) : undefined;
  if (index === undefined || term === undefined)
    return { kind: 'bad', reason: 'a malformed record' };
  if (isReset) return { kind: 'reset', index, term, end };
  const type = entryType(bytes[body + 16]);
  if (type === undefined || index < 1) return { kind: 'bad', reason: 'a malformed entry record' };
  const data = bytes.slice(body + ENTRY_FIXED_BYTES, end);
  return { kind: 'entry', entry: { index, term, type, data }, end };
}

/**
 * The offset of the first valid record starting at or after `from`, or `null`. Every byte
 * offset is tried, because the damage may have hit the bad record's length field and so hide
 * where the next record begins. The framing checks run before the checksum, so zeros and
 * garbage cost a few comparisons per byte; a checksum is computed only for a plausible header.
 */
function findValidRecord(bytes: Uint8Array, view: DataView, from: number): number | null {
  for (let at = from; at + HEADER_BYTES <= bytes.length; at++) {
    const type = bytes[at + 8];
    if (type !== RECORD_ENTRY && type !== RECORD_RESET) continue;
    const payload = view.getUint32(at, true);
    const fits =
      type === RECORD_RESET ? payload === RESET_PAYLOAD_BYTES : payload >= ENTRY_FIXED_BYTES;
    if (!fits || at + HEADER_BYTES + payload > bytes.length) continue;
    if (decodeRecord(bytes, view, at).kind !== 'bad') return at;
  }
  return null;
}

/** Whether every byte from `from` to the end is zero: space a crash left allocated but unwritten. */
function isZeroFilled(bytes: Uint8Array, from: number): boolean {
  for (let at = from; at < bytes.length; at++) if (bytes[at] !== 0) return false;
  return true;
}

/** Indexes and terms are stored as u64: non-negative safe integers. */
function isIndex(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function entryType(code: number | undefined): EntryType | undefined {
  return code === 0 ? 'normal' : code === 1 ? 'conf' : undefined;
}
