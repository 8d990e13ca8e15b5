/**
 * An in-memory {@link SyncFileSystem} for the deterministic simulator that models what a power
 * loss does to a disk: un-synced file bytes vanish or survive torn, and directory entries
 * created, renamed or unlinked since the directory's last sync revert.
 */
import { posix } from 'node:path';
import type { AppendFile, SyncFileSystem } from './fs.js';

/**
 * A file-system call the simulated disk cannot perform. Its codes are the upper-case POSIX
 * errno names on purpose, unlike raft/'s own lower snake_case codes (raft/error-codes.ts):
 * the simulated disk stands in for `node:fs`, whose errors carry the same `code`s, so code
 * written against the real disk handles both alike.
 */
export class SimFsError extends Error {
  override readonly name = 'SimFsError';

  constructor(
    readonly code: 'ENOENT' | 'EISDIR' | 'ENOTDIR' | 'EBADF',
    path: string,
  ) {
    super(`${code}: ${path}`);
  }
}

/** Thrown by every call once the power is cut (see {@link SimFileSystem.cutPowerAfter}). */
export class SimPowerCutError extends Error {
  readonly code = 'sim_power_cut';
  override readonly name = 'SimPowerCutError';

  constructor() {
    super('the simulated power is off; call crash() to restart');
  }
}

/** How likely a crash tears a file's un-synced tail instead of dropping it. */
export interface CrashOptions {
  /** Chance that a file with un-synced appends keeps a random prefix of them. Default 0.5. */
  readonly tornWriteChance?: number;
  /** Chance that such a kept prefix ends in random bytes (a half-written sector). Default 0.3. */
  readonly garbageChance?: number;
}

/**
 * File contents plus what is on the platter. While only appends happened since the last sync,
 * the durable content is a prefix of the current one and costs nothing to track.
 */
class SimFile {
  readonly kind = 'file';
  #bytes: Uint8Array = new Uint8Array(256);
  #length = 0;
  #durableLength = 0;
  /** Set once a truncate or rewrite touched durable bytes: what a crash restores. */
  #durableCopy: Uint8Array | null = null;

  get length(): number {
    return this.#length;
  }

  contents(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  append(bytes: Uint8Array): void {
    this.#reserve(this.#length + bytes.length);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  replace(bytes: Uint8Array): void {
    this.#keepDurableCopy();
    this.#length = 0;
    this.append(bytes);
  }

  truncate(length: number): void {
    if (length < this.#durableLength) this.#keepDurableCopy();
    if (length > this.#length) {
      this.#reserve(length);
      this.#bytes.fill(0, this.#length, length);
    }
    this.#length = length;
  }

  sync(): void {
    this.#durableCopy = null;
    this.#durableLength = this.#length;
  }

  crash(rng: () => number, tornWriteChance: number, garbageChance: number): void {
    if (this.#durableCopy !== null) {
      this.#bytes = this.#durableCopy;
      this.#length = this.#durableLength = this.#bytes.length;
      this.#durableCopy = null;
      return;
    }
    const pending = this.#length - this.#durableLength;
    let kept = 0;
    if (pending > 0 && rng() < tornWriteChance) kept = 1 + Math.floor(rng() * pending);
    const end = this.#durableLength + kept;
    if (kept > 0 && rng() < garbageChance) {
      for (let i = this.#durableLength + Math.floor(rng() * kept); i < end; i++) {
        this.#bytes[i] = Math.floor(rng() * 256);
      }
    }
    this.#length = this.#durableLength = end;
  }

  /** XORs `mask` into the durable byte at `offset`: on the platter, and in reads while unchanged. */
  flipBits(offset: number, mask: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.#durableLength) {
      throw new RangeError(`byte ${offset} is not durable (${this.#durableLength} bytes are)`);
    }
    if (this.#durableCopy === null) {
      this.#bytes[offset] = (this.#bytes[offset] ?? 0) ^ mask;
      return;
    }
    // Rewritten since the last sync: the running process reads its own newer bytes, and the
    // decay shows once a crash brings the platter's copy back.
    this.#durableCopy[offset] = (this.#durableCopy[offset] ?? 0) ^ mask;
  }

  #keepDurableCopy(): void {
    this.#durableCopy ??= this.#bytes.slice(0, this.#durableLength);
  }

  #reserve(capacity: number): void {
    if (capacity <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(capacity, this.#bytes.length * 2));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }
}

/** A directory: the names a running process sees, and the names a crash would leave. */
class SimDir {
  readonly kind = 'dir';
  live = new Map<string, SimNode>();
  durable = new Map<string, SimNode>();
}

type SimNode = SimFile | SimDir;

/**
 * The simulated disk. All randomness comes from the `rng` given to {@link crash}, so a seeded
 * run replays exactly. Directories made by `mkdirp` are durable at once, like on
 * {@link NodeFileSystem}.
 */
export class SimFileSystem implements SyncFileSystem {
  readonly #root = new SimDir();
  #fsyncs = 0;
  /** Handles opened before a crash belong to a dead process and must not write. */
  #generation = 0;
  #powerCut = false;
  #mutationsBeforeCut: number | null = null;

  /** fsync/fdatasync calls so far, on files and directories. */
  get fsyncCount(): number {
    return this.#fsyncs;
  }

  /**
   * Lets `mutations` more mutating calls (writes, syncs, renames, ...) succeed, then cuts the
   * power: that call and every later one throw {@link SimPowerCutError} until {@link crash}.
   * Lets a test stop an operation between any two of its steps.
   */
  cutPowerAfter(mutations: number): void {
    this.#mutationsBeforeCut = mutations;
  }

  /**
   * Power loss and restart. Every directory reverts to its last synced names; every file loses
   * its un-synced bytes, except that some keep a random prefix of their un-synced appends
   * (a torn write), possibly ending in garbage. Open handles become unusable.
   */
  crash(rng: () => number, options: CrashOptions = {}): void {
    const torn = options.tornWriteChance ?? 0.5;
    const garbage = options.garbageChance ?? 0.3;
    this.#generation++;
    this.#powerCut = false;
    this.#mutationsBeforeCut = null;
    const seen = new Set<SimNode>();
    const revert = (dir: SimDir): void => {
      dir.live = new Map(dir.durable);
      for (const node of dir.durable.values()) {
        if (seen.has(node)) continue;
        seen.add(node);
        if (node.kind === 'dir') revert(node);
        else node.crash(rng, torn, garbage);
      }
    };
    revert(this.#root);
  }

  /**
   * Bit rot: XORs `mask` (1..255) into the synced byte at `offset` of the file at `path`. A
   * fault the test or simulator injects, not a call the process makes, so it works with the
   * power off and neither counts toward {@link cutPowerAfter} nor draws randomness.
   * Throws `RangeError` for a byte that is not durable yet: un-synced bytes are the crash
   * model's to tear.
   */
  flipBits(path: string, offset: number, mask = 1): void {
    if (!Number.isInteger(mask) || mask < 1 || mask > 255) {
      throw new RangeError(`bit mask ${mask} is not one byte`);
    }
    this.#file(path).flipBits(offset, mask);
  }

  mkdirp(dir: string): void {
    this.#mutate();
    let at = this.#root;
    for (const name of segments(dir)) {
      let next = at.live.get(name);
      if (next === undefined) {
        next = new SimDir();
        at.live.set(name, next);
        at.durable.set(name, next);
      }
      if (next.kind !== 'dir') throw new SimFsError('ENOTDIR', dir);
      at = next;
    }
  }

  list(dir: string): string[] {
    this.#read();
    return [...this.#dir(dir).live.keys()].sort();
  }

  exists(path: string): boolean {
    this.#read();
    const { parent, name } = this.#entry(path, false);
    return name === '' || parent?.live.has(name) === true;
  }

  readFile(path: string): Uint8Array {
    this.#read();
    return this.#file(path).contents();
  }

  openAppend(path: string): AppendFile {
    this.#mutate();
    const file = this.#fileOrCreate(path);
    const generation = this.#generation;
    let closed = false;
    const usable = (): SimFile => {
      if (closed || generation !== this.#generation) throw new SimFsError('EBADF', path);
      return file;
    };
    return {
      append: (bytes) => {
        this.#mutate();
        usable().append(bytes);
      },
      sync: () => {
        this.#mutate();
        usable().sync();
        this.#fsyncs++;
      },
      size: () => usable().length,
      close: () => {
        closed = true;
      },
    };
  }

  writeFile(path: string, bytes: Uint8Array): void {
    this.#mutate();
    this.#fileOrCreate(path).replace(bytes);
  }

  syncFile(path: string): void {
    this.#mutate();
    this.#file(path).sync();
    this.#fsyncs++;
  }

  rename(from: string, to: string): void {
    this.#mutate();
    const source = this.#entry(from, true);
    const node = source.parent.live.get(source.name);
    if (node === undefined) throw new SimFsError('ENOENT', from);
    const target = this.#entry(to, true);
    target.parent.live.set(target.name, node);
    source.parent.live.delete(source.name);
  }

  unlink(path: string): void {
    this.#mutate();
    this.#file(path);
    const { parent, name } = this.#entry(path, true);
    parent.live.delete(name);
  }

  truncate(path: string, length: number): void {
    this.#mutate();
    this.#file(path).truncate(length);
  }

  syncDir(dir: string): void {
    this.#mutate();
    const node = this.#dir(dir);
    node.durable = new Map(node.live);
    this.#fsyncs++;
  }

  #read(): void {
    if (this.#powerCut) throw new SimPowerCutError();
  }

  #mutate(): void {
    this.#read();
    if (this.#mutationsBeforeCut === null) return;
    if (this.#mutationsBeforeCut === 0) {
      this.#powerCut = true;
      throw new SimPowerCutError();
    }
    this.#mutationsBeforeCut--;
  }

  /** The directory holding `path` and the last name in it (`''` for the root itself). */
  #entry(path: string, mustExist: true): { parent: SimDir; name: string };
  #entry(path: string, mustExist: false): { parent: SimDir | undefined; name: string };
  #entry(path: string, mustExist: boolean): { parent: SimDir | undefined; name: string } {
    const names = segments(path);
    const name = names.pop() ?? '';
    let parent: SimDir | undefined = this.#root;
    for (const dirName of names) {
      const next: SimNode | undefined = parent.live.get(dirName);
      if (next?.kind !== 'dir') {
        if (mustExist) throw new SimFsError(next === undefined ? 'ENOENT' : 'ENOTDIR', path);
        parent = undefined;
        break;
      }
      parent = next;
    }
    return { parent, name };
  }

  #dir(path: string): SimDir {
    const { parent, name } = this.#entry(path, true);
    const node = name === '' ? this.#root : parent.live.get(name);
    if (node === undefined) throw new SimFsError('ENOENT', path);
    if (node.kind !== 'dir') throw new SimFsError('ENOTDIR', path);
    return node;
  }

  #file(path: string): SimFile {
    const { parent, name } = this.#entry(path, true);
    const node = parent.live.get(name);
    if (node === undefined) throw new SimFsError('ENOENT', path);
    if (node.kind !== 'file') throw new SimFsError('EISDIR', path);
    return node;
  }

  #fileOrCreate(path: string): SimFile {
    const { parent, name } = this.#entry(path, true);
    const node = parent.live.get(name);
    if (node?.kind === 'dir' || name === '') throw new SimFsError('EISDIR', path);
    if (node !== undefined) return node;
    const file = new SimFile();
    parent.live.set(name, file);
    return file;
  }
}

function segments(path: string): string[] {
  return posix
    .normalize(path)
    .split('/')
    .filter((name) => name !== '' && name !== '.');
}
