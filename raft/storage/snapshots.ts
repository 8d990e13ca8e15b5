/**
 * Snapshot files, one per snapshot, named `<index>-<term>.snap` (zero-padded, so names sort by
 * index). Each is written atomically (temporary file, fsync, rename, fsync the directory).
 *
 * Format: `[u32 magic][u32 crc32 of the rest][u64 index][u64 term][u32 voters][u32 learners]
 * [u64 voter ids][u64 learner ids][data]`, little-endian.
 */
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import type { NodeId, Snapshot } from '../core/types.js';
import { getU64, setU64, viewOf } from './codec.js';
import type { SyncFileSystem } from './fs.js';
import type { StorageLogger } from './logger.js';

const MAGIC = 0x314e5352; // "RSN1"
const FIXED_BYTES = 32;
const SNAPSHOT_NAME = /^(\d{16})-(\d{16})\.snap$/;
/** The newest is the one in use; the one before is kept in case the newest decays. */
const RETAINED = 2;
/**
 * Image bytes checksummed between two turns of the event loop by
 * {@link SnapshotStore.prepareInBackground}: a 137 MB image took 60-400 ms in one piece on a
 * loaded 2-core machine, 4 MiB takes a few.
 */
const CRC_CHUNK_BYTES = 4 << 20;

/** A snapshot's file on its way to disk (see {@link SnapshotStore.prepare}). */
export interface SnapshotFile {
  /** Where to write it. */
  readonly tmp: string;
  /** Its name once adopted. */
  readonly path: string;
  /** Its bytes: a header, then the state machine's image as it is. */
  readonly parts: readonly Uint8Array[];
}

/** The snapshot files in one directory. */
export class SnapshotStore {
  readonly #fs: SyncFileSystem;
  readonly #dir: string;
  readonly #logger: StorageLogger;

  constructor(fs: SyncFileSystem, dir: string, logger: StorageLogger) {
    this.#fs = fs;
    this.#dir = dir;
    this.#logger = logger;
  }

  /**
   * Creates the directory if needed, removes temporaries a crash left behind, and returns the
   * newest snapshot that decodes and checksums correctly. A damaged newer one is reported and
   * skipped.
   */
  load(): Snapshot | null {
    this.#fs.mkdirp(this.#dir);
    for (const name of this.#fs.list(this.#dir)) {
      if (name.endsWith('.tmp')) this.#fs.unlink(join(this.#dir, name));
    }
    for (const name of this.#names().reverse()) {
      const path = join(this.#dir, name);
      const snapshot = decodeSnapshot(this.#fs.readFile(path));
      if (snapshot !== null && name === snapshotName(snapshot)) return snapshot;
      this.#logger.warn('snapshot store: skipping a damaged snapshot', { path });
    }
    return null;
  }

  /** Durable on return. Then deletes all but the {@link RETAINED} newest snapshots. */
  save(snapshot: Snapshot): void {
    const file = this.prepare(snapshot);
    this.#fs.writeFile(file.tmp, concat(file.parts));
    this.#fs.syncFile(file.tmp);
    this.adopt(file);
  }

  /**
   * The first half of {@link save}, for a caller that writes and syncs the file itself (off
   * the event loop): where to write it, and its bytes in parts, so a large image is not
   * copied. {@link adopt} or {@link discard} the file once it is written.
   */
  prepare(snapshot: Snapshot): SnapshotFile {
    const path = join(this.#dir, snapshotName(snapshot));
    return { tmp: `${path}.tmp`, path, parts: encodeSnapshot(snapshot) };
  }

  /**
   * {@link prepare} for a large image, without stalling the event loop: the checksum is
   * computed a chunk at a time, letting the loop run between chunks. The image must not
   * change meanwhile (snapshot data never does).
   */
  async prepareInBackground(snapshot: Snapshot): Promise<SnapshotFile> {
    const path = join(this.#dir, snapshotName(snapshot));
    const header = encodeHeader(snapshot);
    const { data } = snapshot;
    let crc = crc32(header.subarray(8));
    for (let at = 0; at < data.length; at += CRC_CHUNK_BYTES) {
      if (at > 0) await nextTurn();
      crc = crc32(data.subarray(at, at + CRC_CHUNK_BYTES), crc);
    }
    viewOf(header).setUint32(4, crc, true);
    return { tmp: `${path}.tmp`, path, parts: [header, data] };
  }

  /** The second half of {@link save}: the written and synced file becomes the newest snapshot. */
  adopt(file: SnapshotFile): void {
    this.#fs.rename(file.tmp, file.path);
    this.#fs.syncDir(this.#dir);
    const stale = this.#names().slice(0, -RETAINED);
    for (const old of stale) this.#fs.unlink(join(this.#dir, old));
    // Not needed for correctness (a resurrected old snapshot is only skipped over), but it
    // keeps deleted files from coming back after a crash.
    if (stale.length > 0) this.#fs.syncDir(this.#dir);
  }

  /** Removes a prepared file that will not be adopted (a crash would leave it to `load`). */
  discard(file: SnapshotFile): void {
    if (this.#fs.exists(file.tmp)) this.#fs.unlink(file.tmp);
  }

  /** Snapshot file names, oldest first. */
  #names(): string[] {
    return this.#fs.list(this.#dir).filter((name) => SNAPSHOT_NAME.test(name));
  }
}

function snapshotName({ meta }: Snapshot): string {
  return `${String(meta.index).padStart(16, '0')}-${String(meta.term).padStart(16, '0')}.snap`;
}

function encodeSnapshot(snapshot: Snapshot): Uint8Array[] {
  const header = encodeHeader(snapshot);
  viewOf(header).setUint32(4, crc32(snapshot.data, crc32(header.subarray(8))), true);
  return [header, snapshot.data];
}

/** The header of a snapshot's file, its checksum (bytes 4-7) still zero. */
function encodeHeader({ meta }: Snapshot): Uint8Array {
  const { voters, learners } = meta.conf;
  const header = new Uint8Array(FIXED_BYTES + 8 * (voters.length + learners.length));
  const view = viewOf(header);
  view.setUint32(0, MAGIC, true);
  setU64(view, 8, meta.index);
  setU64(view, 16, meta.term);
  view.setUint32(24, voters.length, true);
  view.setUint32(28, learners.length, true);
  [...voters, ...learners].forEach((id, i) => setU64(view, FIXED_BYTES + 8 * i, id));
  return header;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

/** The snapshot in `bytes`, or `null` when they are not a whole, intact snapshot file. */
function decodeSnapshot(bytes: Uint8Array): Snapshot | null {
  const view = viewOf(bytes);
  if (bytes.length < FIXED_BYTES || view.getUint32(0, true) !== MAGIC) return null;
  if (crc32(bytes.subarray(8)) !== view.getUint32(4, true)) return null;
  const index = getU64(view, 8);
  const term = getU64(view, 16);
  const voterCount = view.getUint32(24, true);
  const dataAt = FIXED_BYTES + 8 * (voterCount + view.getUint32(28, true));
  if (index === undefined || term === undefined || dataAt > bytes.length) return null;
  const ids: NodeId[] = [];
  for (let at = FIXED_BYTES; at < dataAt; at += 8) {
    const id = getU64(view, at);
    if (id === undefined) return null;
    ids.push(id);
  }
  const conf = { voters: ids.slice(0, voterCount), learners: ids.slice(voterCount) };
  return { meta: { index, term, conf }, data: bytes.slice(dataAt) };
}
