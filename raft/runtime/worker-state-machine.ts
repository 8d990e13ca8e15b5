/**
 * A state machine in its own thread, so that consensus never waits for it: however long an
 * apply, a query or a snapshot takes there, the member's event loop goes on ticking,
 * voting, appending and syncing, and its leader keeps its lease.
 *
 * The machine is built inside the worker by a module's `createStateMachine` export (see
 * {@link StateMachineFactory}); the member talks to it through {@link AsyncStateMachine}:
 * requests are done one at a time, and only a couple are handed to the worker at once; the
 * rest wait here, so that what consensus and leases wait for can go before *ordinary*
 * queries (those the `urgent` option does not name: an agenda, a page of a list), which may
 * take tens of milliseconds each:
 *
 * - Applies, snapshots, restores and urgent queries (a lease read, a leader's decision)
 *   keep their order among themselves, and each goes before the ordinary queries waiting at
 *   the end of the queue. That is safe because a query is started only once the applies
 *   it must see were handed over: an apply that overtakes it only makes it see a later
 *   state, and queries change nothing, so their order is free. An ordinary query is
 *   overtaken at most {@link MAX_OVERTAKEN} times, so a stream of writes cannot starve it.
 * - At most one ordinary query is in the worker at once: whatever arrives behind it waits
 *   for that one query, not for two.
 *
 * Without this a proposal's apply waited behind every list page queued before it, and a
 * leader's decisions behind two of them. If the worker dies (a crash, out of memory), every
 * request still waiting fails and so does every later one: the member must stop, as it
 * would if a synchronous `apply` had thrown.
 */
import { Worker } from 'node:worker_threads';
import { RaftError } from '../core/errors.js';
import type { AppliedCommand, AsyncStateMachine, Callback } from './host.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './worker-protocol.js';
import { StateMachineWorkerError } from './worker-protocol.js';

export interface WorkerStateMachineOptions {
  /**
   * The module that builds the machine in the worker: it exports `createStateMachine`. Name
   * it with its `.js` URL; under tsx (development, tests) the `.ts` source is loaded.
   */
  readonly module: URL;
  /** Handed to `createStateMachine` (structured-cloned: plain data only). */
  readonly options?: unknown;
  /** Where the machine's log lines go. */
  readonly logger?: {
    info(message: string, details?: Record<string, unknown>): void;
    warn(message: string, details?: Record<string, unknown>): void;
  };
  /** Memory limits of the worker's heap (see `worker_threads.ResourceLimits`). */
  readonly resourceLimits?: { readonly maxOldGenerationSizeMb?: number };
  /**
   * Queries that, like applies, go before the ordinary queries waiting for the worker (see
   * the module comment).
   */
  readonly urgent?: (query: unknown) => boolean;
}

interface Waiting {
  readonly done: Callback<unknown>;
  readonly ordinary: boolean;
}

interface Queued {
  readonly request: WorkerRequest;
  readonly done: Callback<unknown>;
  /** An ordinary query: anything else may go before it (see the module comment). */
  readonly ordinary: boolean;
  /** How many requests went before it so far. */
  overtaken: number;
}

/**
 * Requests in the worker at once: two, so it never idles waiting for the next one to be
 * posted, and an urgent request waits behind at most the two already there (one of them an
 * ordinary query at most).
 */
const IN_WORKER = 2;

/** How many requests may go before one ordinary query: it waits for a bounded number. */
export const MAX_OVERTAKEN = 32;

/** This module runs from TypeScript sources when its own URL says so: then so must the worker. */
const RUNNING_FROM_SOURCES = import.meta.url.endsWith('.ts');

/** See the module comment. */
export class WorkerStateMachine<R, Q, QR> implements AsyncStateMachine<R, Q, QR> {
  private readonly waiting = new Map<number, Waiting>();
  /** Requests not handed to the worker yet, in the order they will be. */
  private readonly queue: Queued[] = [];
  /** Ordinary queries handed to the worker and not answered yet (0 or 1). */
  private ordinaryInWorker = 0;
  private seq = 0;
  private dead: Error | null = null;
  private closing: Promise<void> | null = null;
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly worker: Worker,
    private readonly options: WorkerStateMachineOptions,
  ) {
    worker.on('message', (reply: WorkerReply) => this.receive(reply));
    worker.on('error', (error) => this.die(error));
    worker.on('exit', (code) => {
      if (this.closing === null) this.die(new Error(`the state machine worker exited (${code})`));
    });
  }

  /** Starts the worker and resolves once its state machine is built. */
  static async start<R, Q, QR>(
    options: WorkerStateMachineOptions,
  ): Promise<WorkerStateMachine<R, Q, QR>> {
    const setup: WorkerSetup = { module: options.module.href, options: options.options };
    const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), {
      workerData: {
        registerTsx: RUNNING_FROM_SOURCES,
        entry: new URL(
          RUNNING_FROM_SOURCES ? './state-machine-worker.ts' : './state-machine-worker.js',
          import.meta.url,
        ).href,
        setup,
      },
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (reply: WorkerReply) => {
        if (reply.type === 'ready') finish(null);
        else if (reply.type === 'start_failed') finish(new StateMachineWorkerError(reply.error));
        else if (reply.type === 'log') logTo(options.logger, reply);
      };
      const onError = (error: Error) => finish(error);
      const onExit = (code: number) =>
        finish(new Error(`the state machine worker exited (${code}) before it was ready`));
      const finish = (error: Error | null) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (error === null) return resolve();
        void worker.terminate();
        reject(error);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    return new WorkerStateMachine<R, Q, QR>(worker, options);
  }

  /** Runs `listener` after every completed request (a runtime processes its host then). */
  onSettled(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Requests sent and not answered yet. */
  backlog(): number {
    return this.waiting.size + this.queue.length;
  }

  startApply(commands: readonly AppliedCommand[], done: Callback<R[]>): void {
    this.send(
      {
        op: 'apply',
        seq: this.next(),
        commands: commands.map((c) => ({ index: c.index, term: c.term, data: c.data })),
      },
      done as Callback<unknown>,
    );
  }

  startQuery(query: Q, done: Callback<QR>): void {
    const urgent = this.options.urgent?.(query) === true;
    this.send({ op: 'query', seq: this.next(), query }, done as Callback<unknown>, urgent);
  }

  startSnapshot(done: Callback<Uint8Array>): void {
    this.send({ op: 'snapshot', seq: this.next() }, done as Callback<unknown>);
  }

  startRestore(data: Uint8Array, done: Callback<void>): void {
    this.send({ op: 'restore', seq: this.next(), image: data }, done as Callback<unknown>);
  }

  /** Stops the worker; requests still waiting fail as `stopped`. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.worker.terminate();
      this.failAll(new RaftError('stopped', 'the state machine worker was stopped'));
    })();
    return this.closing;
  }

  private next(): number {
    return ++this.seq;
  }

  private send(request: WorkerRequest, done: Callback<unknown>, urgent = false): void {
    if (this.dead) return done(this.dead);
    if (this.closing) return done(new RaftError('stopped', 'the state machine worker was stopped'));
    const ordinary = request.op === 'query' && !urgent;
    const item: Queued = { request, done, ordinary, overtaken: 0 };
    let at = this.queue.length;
    if (!ordinary) {
      // Before the ordinary queries at the end of the queue that may still be overtaken.
      while (at > 0) {
        const before = this.queue[at - 1] as Queued;
        if (!before.ordinary || before.overtaken >= MAX_OVERTAKEN) break;
        at--;
      }
      for (let i = at; i < this.queue.length; i++) (this.queue[i] as Queued).overtaken++;
    }
    this.queue.splice(at, 0, item);
    this.pump();
  }

  /**
   * Hands queued requests to the worker while it has fewer than {@link IN_WORKER}, and no
   * second ordinary query.
   */
  private pump(): void {
    while (this.waiting.size < IN_WORKER) {
      const next = this.queue[0];
      if (next === undefined || (next.ordinary && this.ordinaryInWorker > 0)) return;
      this.queue.shift();
      if (next.ordinary) this.ordinaryInWorker++;
      this.waiting.set(next.request.seq, { done: next.done, ordinary: next.ordinary });
      this.worker.postMessage(next.request);
    }
  }

  private receive(reply: WorkerReply): void {
    switch (reply.type) {
      case 'log':
        return logTo(this.options.logger, reply);
      case 'ready':
      case 'start_failed':
        return;
      case 'done':
      case 'failed': {
        const waiting = this.waiting.get(reply.seq);
        if (!waiting) return;
        this.waiting.delete(reply.seq);
        if (waiting.ordinary) this.ordinaryInWorker--;
        this.pump();
        if (reply.type === 'done') waiting.done(null, reply.value);
        else waiting.done(new StateMachineWorkerError(reply.error));
        this.settled();
      }
    }
  }

  private die(error: Error): void {
    if (this.dead) return;
    this.dead = error;
    this.options.logger?.warn('the state machine worker died', { error: error.message });
    this.failAll(error);
  }

  private failAll(error: Error): void {
    const waiting = [...this.waiting.values(), ...this.queue];
    this.waiting.clear();
    this.queue.length = 0;
    this.ordinaryInWorker = 0;
    for (const w of waiting) w.done(error);
    if (waiting.length > 0) this.settled();
  }

  private settled(): void {
    for (const listener of this.listeners) listener();
  }
}

function logTo(
  logger: WorkerStateMachineOptions['logger'],
  line: Extract<WorkerReply, { type: 'log' }>,
): void {
  if (line.level === 'warn') logger?.warn(line.message, line.details);
  else logger?.info(line.message, line.details);
}
