/**
 * The synchronous file-system surface durable storage needs. Synchronous on purpose: the Raft
 * runtime persists, then sends, and the simulator must stay deterministic. The one exception
 * is the WAL's fdatasync (`AppendFile.syncInBackground`): on a loaded disk it took 2-20 ms
 * and up to 100 ms, a stall of the member's whole event loop each time.
 */
import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * What durable storage creates is its owner's only: the log, snapshots and hard state hold
 * what the state machine holds (for Agenda, password hashes), which no other local user
 * may read. Applied at creation (the process umask can only narrow them further).
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** A file opened for appending. Bytes written are in the OS cache until `sync`. */
export interface AppendFile {
  /** Writes all of `bytes` at the end of the file (not durable yet). */
  append(bytes: Uint8Array): void;
  /** fdatasync: every byte appended so far survives a power loss once this returns. */
  sync(): void;
  /**
   * fdatasync off the event loop: `done` runs once every byte appended before this call
   * survives a power loss (or with the error), always after this returns.
   */
  syncInBackground?(done: (error: Error | null) => void): void;
  /** Current length in bytes, including un-synced appends. */
  size(): number;
  close(): void;
}

/**
 * Durability contract: file contents are durable after `AppendFile.sync` / `syncFile`; creating,
 * renaming and unlinking a name is durable only after `syncDir` of its directory. `mkdirp` is
 * durable on return.
 */
export interface SyncFileSystem {
  /** Creates `dir` and any missing parents, durably. */
  mkdirp(dir: string): void;
  /** Names (not paths) in `dir`, sorted. */
  list(dir: string): string[];
  exists(path: string): boolean;
  readFile(path: string): Uint8Array;
  /** Opens `path` for appending, creating it empty if missing. */
  openAppend(path: string): AppendFile;
  /** Creates or replaces `path` with `bytes`, without syncing. */
  writeFile(path: string, bytes: Uint8Array): void;
  syncFile(path: string): void;
  /** Atomically replaces `to` with `from`. */
  rename(from: string, to: string): void;
  unlink(path: string): void;
  truncate(path: string, length: number): void;
  /** Makes every create, rename and unlink in `dir` durable. */
  syncDir(dir: string): void;
}

/** Writes `parts` as a new file at `path` and makes it durable, taking its time. */
export type BackgroundWrite = (path: string, parts: readonly Uint8Array[]) => Promise<void>;

/**
 * {@link BackgroundWrite} on the real disk: the writes and the fsync run on libuv's threads,
 * so the event loop goes on meanwhile (a 100 MB snapshot blocked a member for 60-300 ms).
 */
export async function writeFileInBackground(
  path: string,
  parts: readonly Uint8Array[],
): Promise<void> {
  const file = await open(path, 'w', PRIVATE_FILE_MODE);
  try {
    for (const part of parts) {
      for (let done = 0; done < part.length;) {
        done += (await file.write(part, done, part.length - done)).bytesWritten;
      }
    }
    await file.sync();
  } finally {
    await file.close();
  }
}

/** {@link SyncFileSystem} on the real disk through node:fs. Counts fsyncs for benchmarks. */
export class NodeFileSystem implements SyncFileSystem {
  #fsyncs = 0;

  /** fsync/fdatasync calls made so far, on files and directories. */
  get fsyncCount(): number {
    return this.#fsyncs;
  }

  mkdirp(dir: string): void {
    const firstCreated = mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    if (firstCreated === undefined) return;
    // A new directory's name lives in its parent: sync each parent from the deepest new
    // directory up to the first one created.
    const top = resolve(firstCreated);
    for (let created = resolve(dir); ; created = dirname(created)) {
      this.syncDir(dirname(created));
      if (created === top) break;
    }
  }

  list(dir: string): string[] {
    return readdirSync(dir).sort();
  }

  exists(path: string): boolean {
    return existsSync(path);
  }

  readFile(path: string): Uint8Array {
    const buf = readFileSync(path);
    // A plain Uint8Array view, so that `slice` copies (Buffer#slice does not).
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  openAppend(path: string): AppendFile {
    const fd = openSync(path, 'a', PRIVATE_FILE_MODE);
    let size = fstatSync(fd).size;
    return {
      append: (bytes) => {
        for (let done = 0; done < bytes.length;) {
          done += writeSync(fd, bytes, done, bytes.length - done);
        }
        size += bytes.length;
      },
      sync: () => {
        fdatasyncSync(fd);
        this.#fsyncs++;
      },
      syncInBackground: (done) => {
        fdatasync(fd, (error) => {
          this.#fsyncs++;
          done(error);
        });
      },
      size: () => size,
      close: () => closeSync(fd),
    };
  }

  writeFile(path: string, bytes: Uint8Array): void {
    writeFileSync(path, bytes, { mode: PRIVATE_FILE_MODE });
  }

  syncFile(path: string): void {
    this.#fsyncOpened(path, 'r+');
  }

  rename(from: string, to: string): void {
    renameSync(from, to);
  }

  unlink(path: string): void {
    unlinkSync(path);
  }

  truncate(path: string, length: number): void {
    truncateSync(path, length);
  }

  syncDir(dir: string): void {
    this.#fsyncOpened(dir, 'r');
  }

  #fsyncOpened(path: string, flags: string): void {
    const fd = openSync(path, flags);
    try {
      fsyncSync(fd);
      this.#fsyncs++;
    } finally {
      closeSync(fd);
    }
  }
}
