/**
 * The persisted term and vote. Replaced atomically (write a temporary file, fsync it, rename it
 * over the old one, fsync the directory), so a crash leaves either the old or the new state.
 *
 * Format: `[u32 magic][u32 crc32 of the rest][u64 term][u64 vote]`, little-endian.
 */
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import type { HardState } from '../core/types.js';
import { getU64, setU64, viewOf } from './codec.js';
import { StorageCorruptError } from './errors.js';
import type { SyncFileSystem } from './fs.js';

const MAGIC = 0x31534852; // "RHS1"
const SIZE = 24;

/** The state of a member that never voted nor saw a term. */
export const INITIAL_HARD_STATE: HardState = { term: 0, vote: 0 };

/** The hard-state file at `path`. */
export class HardStateFile {
  readonly #fs: SyncFileSystem;
  readonly #path: string;

  constructor(fs: SyncFileSystem, path: string) {
    this.#fs = fs;
    this.#path = path;
  }

  /**
   * The stored state, or {@link INITIAL_HARD_STATE} when none was ever saved. A damaged file
   * throws {@link StorageCorruptError}: guessing could forget a vote and elect two leaders.
   */
  load(): HardState {
    if (!this.#fs.exists(this.#path)) return INITIAL_HARD_STATE;
    const bytes = this.#fs.readFile(this.#path);
    const view = viewOf(bytes);
    if (bytes.length !== SIZE || view.getUint32(0, true) !== MAGIC) {
      throw new StorageCorruptError('not a hard-state file', this.#path);
    }
    if (crc32(bytes.subarray(8)) !== view.getUint32(4, true)) {
      throw new StorageCorruptError('hard-state checksum mismatch', this.#path);
    }
    const term = getU64(view, 8);
    const vote = getU64(view, 16);
    if (term === undefined || vote === undefined) {
      throw new StorageCorruptError('hard-state values out of range', this.#path);
    }
    return { term, vote };
  }

  /** Durable on return; a crash meanwhile leaves the old state or the new one, never a mix. */
  save(hardState: HardState): void {
    const bytes = new Uint8Array(SIZE);
    const view = viewOf(bytes);
    view.setUint32(0, MAGIC, true);
    setU64(view, 8, hardState.term);
    setU64(view, 16, hardState.vote);
    view.setUint32(4, crc32(bytes.subarray(8)), true);
    const tmp = `${this.#path}.tmp`;
    this.#fs.writeFile(tmp, bytes);
    this.#fs.syncFile(tmp);
    this.#fs.rename(tmp, this.#path);
    this.#fs.syncDir(dirname(this.#path));
  }
}
