/**
 * When a daemon a systemd unit started is ready: what the lab's runner waits for before the
 * next stage (a `{"event":"ready",…}` line from our daemons, Redis's "Ready to accept
 * connections"), read from the log file the unit appends the daemon's output to. The unit's
 * `ExecStartPost=` runs `await-ready.ts` with the main process's pid (`$MAINPID`), so the
 * unit counts as started, and the units ordered after it start, only once the daemon said
 * so — not when its process merely exists.
 *
 * The log is appended to across restarts, so a ready line counts only when it is the
 * current process's: our daemons put their pid in it (base/daemon.ts `announceReady`),
 * Redis starts every line with `<pid>:<role>`. Only the log's last MiB is read at first: a
 * daemon that was just started has written less than that.
 *
 * Imports nothing of the project: the waiter is a Node process per unit start.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Which way a program says it is ready. */
export type ReadyProgram = 'node' | 'redis';

/** Whether `line` says that the process `pid`, running `program`, is ready. */
export function isReadyLine(program: ReadyProgram, pid: number, line: string): boolean {
  if (program === 'node') {
    return line.includes('"event":"ready"') && new RegExp(`"pid":${pid}(?!\\d)`).test(line);
  }
  return line.startsWith(`${pid}:`) && line.includes('Ready to accept connections');
}

export interface AwaitReadyOptions {
  readonly log: string;
  readonly pid: number;
  readonly program: ReadyProgram;
  readonly timeoutMs: number;
  /** How often the log is read again. Default 100 ms. */
  readonly pollMs?: number;
  /** How much of the log's end is read first. Default 1 MiB. */
  readonly tailBytes?: number;
}

/**
 * Resolves once the log has the process's ready line; rejects when the process is gone
 * first, or after `timeoutMs`, saying which.
 */
export async function awaitReady(options: AwaitReadyOptions): Promise<void> {
  const { log, pid, program, timeoutMs } = options;
  const deadline = Date.now() + timeoutMs;
  let offset: number | null = null;
  let partial = '';
  for (;;) {
    const size = sizeOf(log);
    if (size !== null) {
      // A log that shrank was replaced: read the new one from its start.
      if (offset === null) offset = Math.max(0, size - (options.tailBytes ?? 1024 * 1024));
      else if (size < offset) offset = 0;
      if (size > offset) {
        const text = partial + readRange(log, offset, size);
        offset = size;
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        if (lines.some((line) => isReadyLine(program, pid, line))) return;
      }
    }
    if (!alive(pid)) throw new Error(`process ${pid} exited before it was ready (log: ${log})`);
    if (Date.now() >= deadline) {
      throw new Error(`process ${pid} was not ready within ${timeoutMs / 1000} s (log: ${log})`);
    }
    await sleep(options.pollMs ?? 100);
  }
}

function sizeOf(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

function readRange(path: string, from: number, to: number): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(to - from);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, from + read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Whether a process with this pid exists (one we may not signal counts). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
