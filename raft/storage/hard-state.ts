/**
 * The persisted term, vote and commit index. Replaced atomically (write a temporary file, fsync
 * it, rename it over the old one, fsync the directory), so a crash leaves either the old or the
 * new state.
 *
 * Formats, little-endian; both are read, so hard state written by older code still loads:
 * - `RHS1`: `[u32 magic][u32 crc32 of the rest][u64 term][u64 vote]`, the commit index unknown;
 *   still written when there is no commit index to keep, so what is saved loads back as it was;
 * - `RHS2`: `[u32 magic][u32 crc32 of the rest][u64 term][u64 vote][u64 commit]`.
 */
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import type { HardState } from '../core/types.js';
import { getU64, setU64, viewOf } from './codec.js';
import { StorageCorruptError } from './errors.js';
import type { SyncFileSystem } from './fs.js';

const MAGIC_V1 = 0x31534852; // "RHS1"
const SIZE_V1 = 24;
const MAGIC_V2 = 0x32534852; // "RHS2"
const SIZE_V2 = 32;

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
    const magic = bytes.length >= 4 ? view.getUint32(0, true) : 0;
    const v2 = magic === MAGIC_V2 && bytes.length === SIZE_V2;
    if (!v2 && !(magic === MAGIC_V1 && bytes.length === SIZE_V1)) {
      throw new StorageCorruptError('not a hard-state file', this.#path);
    }
    if (crc32(bytes.subarray(8)) !== view.getUint32(4, true)) {
      throw new StorageCorruptError('hard-state checksum mismatch', this.#path);
    }
    const term = getU64(view, 8);
    const vote = getU64(view, 16);
    const commit = v2 ? getU64(view, 24) : 0;
    if (term === undefined || vote === undefined || commit === undefined) {
      throw new StorageCorruptError('hard-state values out of range', this.#path);
    }
    return v2 ? { term, vote, commit } : { term, vote };
  }

  /** Durable on return; a crash meanwhile leaves the old state or the new one, never a mix. */
  save(hardState: HardState): void {
    const commit = hardState.commit ?? 0;
    const bytes = new Uint8Array(commit > 0 ? SIZE_V2 : SIZE_V1);
    const view = viewOf(bytes);
    view.setUint32(0, commit > 0 ? MAGIC_V2 : MAGIC_V1, true);
    setU64(view, 8, hardState.term);
    setU64(view, 16, hardState.vote);
    if (commit > 0) setU64(view, 24, commit);
    view.setUint32(4, crc32(bytes.subarray(8)), true);
    const tmp = `${this.#path}.tmp`;
    this.#fs.writeFile(tmp, bytes);
    this.#fs.syncFile(tmp);
    this.#fs.rename(tmp, this.#path);
    this.#fs.syncDir(dirname(this.#path));
  }
}
