/**
 * One child process the lab, `npm start` or a test harness runs: its output goes to a log
 * file, it counts as started once it says so (a line on stdout/stderr), and it can be
 * stopped gracefully, killed, paused and resumed. Stopping is idempotent and always waits
 * for the process to be gone, so nothing is orphaned.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

export interface ProcessSpec {
  /** A short name for messages, e.g. `db-1`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Where stdout and stderr go (appended). */
  readonly logPath: string;
  /** The process is ready once a line of its output matches. */
  readonly readyWhen: RegExp;
  readonly readyTimeoutMs?: number;
}

export class ProcessStartError extends Error {
  readonly code = 'process_start_failed';
}

export class ManagedProcess {
  private child: ChildProcess | null = null;
  private log: WriteStream | null = null;
  private paused = false;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(readonly spec: ProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Starts the process and resolves once it reports ready; rejects (and kills it) otherwise. */
  async start(): Promise<void> {
    if (this.child) throw new ProcessStartError(`${this.spec.name} is already running`);
    // Logs name users, groups and request ids: for their owner's eyes only.
    mkdirSync(dirname(this.spec.logPath), { recursive: true, mode: 0o700 });
    const log = createWriteStream(this.spec.logPath, { flags: 'a', mode: 0o600 });
    this.log = log;
    const child = spawn(this.spec.command, [...this.spec.args], {
      cwd: this.spec.cwd,
      env: this.spec.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.paused = false;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        if (this.child === child) this.child = null;
        log.end();
        resolve(code);
      });
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    try {
      await this.waitReady(child);
    } catch (err) {
      await this.kill();
      throw err;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Idempotent. */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (this.paused) this.resume();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL (a crash); resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (this.paused) child.kill('SIGCONT');
    child.kill('SIGKILL');
    await this.exited;
    this.paused = false;
  }

  /** SIGSTOP: the process freezes with its sockets open, like a long GC pause. */
  pause(): void {
    if (this.child && !this.paused) {
      this.child.kill('SIGSTOP');
      this.paused = true;
    }
  }

  resume(): void {
    if (this.child && this.paused) {
      this.child.kill('SIGCONT');
      this.paused = false;
    }
  }

  /** Resolves with the exit code when the process ends (immediately if not running). */
  whenExited(): Promise<number | null> {
    return this.exited;
  }

  private waitReady(child: ChildProcess): Promise<void> {
    const { name, readyWhen, logPath } = this.spec;
    return new Promise<void>((resolve, reject) => {
      let buffered = '';
      const onData = (chunk: Buffer) => {
        buffered = (buffered + chunk.toString()).slice(-64 * 1024);
        if (readyWhen.test(buffered)) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(
          new ProcessStartError(
            `${name} exited with ${code ?? 'a signal'} while starting (log: ${logPath})` +
              lastWords(buffered),
          ),
        );
      };
      const timeoutMs = this.spec.readyTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new ProcessStartError(
            `${name} did not become ready within ${timeoutMs / 1000} s (log: ${logPath})` +
              lastWords(buffered),
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.off('exit', onExit);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
    });
  }
}

/** The last lines a process wrote, for a start failure's message (the log may be gone). */
function lastWords(output: string, lines = 6): string {
  const tail = output.trimEnd().split('\n').slice(-lines);
  if (tail.length === 0 || tail[0] === '') return '; it wrote nothing';
  return `; its last lines:\n  ${tail.map((l) => l.slice(0, 400)).join('\n  ')}`;
}
