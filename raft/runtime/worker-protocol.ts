/**
 * What a member and its state machine worker say to each other (see
 * {@link WorkerStateMachine}). Messages are structured-cloned by `postMessage`, so they are
 * plain data; errors cross as their name, message, code and stack.
 */
import type { AppliedCommand, StateMachine } from './host.js';

/** How the worker's state machine is built; given to the worker when it starts. */
export interface WorkerSetup {
  /** URL of the module whose `createStateMachine` export builds the machine. */
  readonly module: string;
  /** Handed to `createStateMachine` as is (structured-cloned). */
  readonly options: unknown;
}

/** What a state machine running in a worker may use from its host. */
export interface WorkerContext {
  /** A log line, written by the member's logger. */
  log(level: 'info' | 'warn', message: string, details?: Record<string, unknown>): void;
}

/**
 * The export a state machine module provides to run in a worker: builds the machine from
 * the options the member passed. It runs inside the worker thread, so it loads whatever it
 * needs (WebAssembly included) there.
 */
export type StateMachineFactory = (
  options: unknown,
  context: WorkerContext,
) => StateMachine<unknown, unknown, unknown> | Promise<StateMachine<unknown, unknown, unknown>>;

/** A request from the member; `seq` grows by one per request. */
export type WorkerRequest =
  | { readonly op: 'apply'; readonly seq: number; readonly commands: readonly AppliedCommand[] }
  | { readonly op: 'query'; readonly seq: number; readonly query: unknown }
  | { readonly op: 'snapshot'; readonly seq: number }
  | { readonly op: 'restore'; readonly seq: number; readonly image: Uint8Array };

/** An error as it crosses the thread boundary. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  /**
   * The `code` of the state machine's error, as it threw it: the state machine belongs to the
   * library's user, so its codes are the user's vocabulary, not raft/'s (raft/error-codes.ts).
   */
  readonly code?: string;
  readonly stack?: string;
}

/** What the worker says: started (or could not), a request done or failed, a log line. */
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'start_failed'; readonly error: SerializedError }
  | { readonly type: 'done'; readonly seq: number; readonly value: unknown }
  | { readonly type: 'failed'; readonly seq: number; readonly error: SerializedError }
  | {
      readonly type: 'log';
      readonly level: 'info' | 'warn';
      readonly message: string;
      readonly details?: Record<string, unknown>;
    };

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
  };
}

/** A failure inside the state machine worker, as the member sees it. */
export class StateMachineWorkerError extends Error {
  /** The state machine's own code (see {@link SerializedError.code}), kept for its callers. */
  readonly code: string | undefined;

  constructor(error: SerializedError) {
    super(error.message);
    this.name = `StateMachineWorkerError(${error.name})`;
    this.code = error.code;
    if (error.stack !== undefined) this.stack = error.stack;
  }
}
