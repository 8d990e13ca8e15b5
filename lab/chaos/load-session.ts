/**
 * The scenario runner's handle on a running load, wherever it runs: in a child process
 * inside the lab's client namespace (`load-main.ts`, what `npm run lab -- chaos` uses), or
 * in this process (tests, which have no namespaces). Either way every finished operation
 * reaches the runner as an {@link OpRecord}, in the order the load finished them.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { nodeEntry, REPO } from '../../base/entry-points.js';
import { ChaosLoad, LoadError } from './load.js';
import {
  LoadLine,
  parseLine,
  type LoadCommand,
  type LoadSpec,
  type OpRecord,
  type UserReadBack,
} from './protocol.js';

export interface LoadSession {
  /** Resolves with the instant operations began. @throws LoadError when setup failed. */
  ready(): Promise<number>;
  /** Stops issuing; resolves with the instant stopping began, once every operation was reported. */
  stop(): Promise<number>;
  /** Every user's agenda, read once the system is healthy again (stops the load first). */
  readBack(): Promise<UserReadBack[]>;
  /** Ends the load at once, whatever it was doing. Idempotent. */
  close(): Promise<void>;
}

/** Starts a load; `onRecord` receives each finished operation. */
export type LoadLauncher = (spec: LoadSpec, onRecord: (record: OpRecord) => void) => LoadSession;

/** The load in this process. */
export const inProcessLoad: LoadLauncher = (spec, onRecord) => {
  const load = new ChaosLoad(spec, onRecord);
  const started = load.start();
  // Setup failures surface through ready(); the load is closed either way.
  started.catch(() => undefined);
  return {
    ready: () => started,
    stop: () => load.stop(),
    async readBack() {
      await load.stop();
      return load.readBack();
    },
    close: () => load.close(),
  };
};

/** How long the child may take beyond its own bounds before it is presumed stuck. */
const SLACK_MS = 15_000;
/** Registration and login: the load's own 30 s, plus starting Node (and tsx, from sources). */
const READY_TIMEOUT_MS = 30_000 + SLACK_MS;
/** What is kept of the child's stderr for error messages. */
const STDERR_TAIL = 4_000;

/**
 * The load as a child process: `prefix` (the driver's `clientPrefix`, e.g. `ip netns exec
 * client`) then this Node running `load-main.ts` (compiled or from sources, as this process
 * runs: base/entry-points.ts).
 */
export function childProcessLoad(prefix: readonly string[]): LoadLauncher {
  return (spec, onRecord) => new ChildLoad(prefix, spec, onRecord);
}

type Awaited = 'ready' | 'stopped' | 'readback';

interface Waiter {
  resolve(line: LoadLine): void;
  reject(error: Error): void;
}

class ChildLoad implements LoadSession {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #spec: LoadSpec;
  readonly #waiters = new Map<Awaited, Waiter>();
  /** Lines that arrived before anyone waited for them. */
  readonly #arrived = new Map<Awaited, LoadLine>();
  #failure: Error | null = null;
  #stderr = '';
  readonly #exited: Promise<void>;
  #closed: Promise<void> | null = null;

  constructor(prefix: readonly string[], spec: LoadSpec, onRecord: (record: OpRecord) => void) {
    this.#spec = spec;
    const argv = [
      ...prefix,
      process.execPath,
      ...nodeEntry('lab/chaos/load-main.ts'),
      '--spec',
      JSON.stringify(spec),
    ];
    this.#child = spawn(argv[0]!, argv.slice(1), { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#exited = new Promise((done) => {
      this.#child.once('close', (code, signal) => {
        this.#fail(
          new LoadError(`the chaos load exited (${signal ?? `code ${code}`})${this.#tail()}`),
        );
        done();
      });
    });
    this.#child.once('error', (error) => {
      this.#fail(
        new LoadError(`could not start the chaos load: ${error.message}`, { cause: error }),
      );
    });
    this.#child.stdin.on('error', () => undefined);
    this.#child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-STDERR_TAIL);
    });
    createInterface({ input: this.#child.stdout }).on('line', (text) => {
      if (this.#failure !== null || text.trim() === '') return;
      let line: LoadLine;
      try {
        line = parseLine(LoadLine, text);
      } catch (error) {
        this.#fail(error as Error);
        this.#child.kill('SIGKILL');
        return;
      }
      if (line.type === 'op') onRecord(line.op);
      else if (line.type === 'error')
        this.#fail(new LoadError(`the chaos load failed: ${line.message}`));
      else this.#deliver(line.type, line);
    });
  }

  async ready(): Promise<number> {
    const line = await this.#expect('ready', READY_TIMEOUT_MS);
    return line.type === 'ready' ? line.at : Number.NaN;
  }

  async stop(): Promise<number> {
    this.#send({ cmd: 'stop' });
    const line = await this.#expect('stopped', this.#spec.attemptTimeoutMs + SLACK_MS);
    return line.type === 'stopped' ? line.at : Number.NaN;
  }

  async readBack(): Promise<UserReadBack[]> {
    this.#send({ cmd: 'readback' });
    const users = this.#spec.users;
    const line = await this.#expect('readback', users * this.#spec.readBackTimeoutMs + SLACK_MS);
    return line.type === 'readback' ? line.agendas : [];
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#child.exitCode === null && this.#child.signalCode === null) {
        // A closed stdin asks the load to stop; a load that does not is killed.
        this.#child.stdin.end();
        const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3_000);
        await this.#exited;
        clearTimeout(timer);
      }
    })();
    return this.#closed;
  }

  #send(command: LoadCommand): void {
    if (this.#failure === null) this.#child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  #expect(type: Awaited, timeoutMs: number): Promise<LoadLine> {
    const arrived = this.#arrived.get(type);
    if (arrived !== undefined) return Promise.resolve(arrived);
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(type);
        reject(
          new LoadError(`the chaos load sent no "${type}" within ${timeoutMs} ms${this.#tail()}`),
        );
      }, timeoutMs);
      this.#waiters.set(type, {
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  #deliver(type: Awaited, line: LoadLine): void {
    const waiter = this.#waiters.get(type);
    this.#waiters.delete(type);
    if (waiter === undefined) this.#arrived.set(type, line);
    else waiter.resolve(line);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiters.values()) waiter.reject(this.#failure);
    this.#waiters.clear();
  }

  #tail(): string {
    const tail = this.#stderr.trim();
    return tail === '' ? '' : `; its stderr ends with: ${tail.slice(-1_000)}`;
  }
}
