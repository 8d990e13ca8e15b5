/**
 * What a concurrent history is: the operations clients invoked, when, and what they saw.
 * Histories come from the Raft simulator, from real clusters and from chaos tests, and are
 * judged by the linearizability checker (`linearizability.ts`).
 */

/**
 * One operation as a client observed it. `call` and `return` are readings of one monotonic
 * clock (any unit). When the client never learned the outcome (timeout, connection lost),
 * `return` and `output` are both `null`: the operation may or may not have taken effect, at
 * any point after `call`.
 */
export interface HistoryOperation<In, Out> {
  clientId: number;
  input: In;
  call: number;
  return: number | null;
  output: Out | null;
}

/** A client's request to the replicated key-value store. */
export type KvInput =
  | { kind: 'put'; key: string; value: string }
  | { kind: 'get'; key: string }
  | { kind: 'cas'; key: string; expected: string | null; value: string }
  | { kind: 'delete'; key: string };

/** The store's answer; `null` values mean "the key is absent". */
export type KvOutput =
  | { kind: 'put' }
  | { kind: 'delete' }
  | { kind: 'get'; value: string | null }
  | { kind: 'cas'; ok: boolean };

/** One key-value operation in a history. */
export type Operation = HistoryOperation<KvInput, KvOutput>;

/** The history itself is inconsistent (not merely non-linearizable): a recording bug. */
export class MalformedHistoryError extends Error {
  readonly code = 'MALFORMED_HISTORY' as const;
  /** Position of the offending operation in the history. */
  readonly index: number;

  constructor(index: number, problem: string) {
    super(`operation #${index}: ${problem}`);
    this.name = 'MalformedHistoryError';
    this.index = index;
  }
}

/** A `HistoryRecorder` handle was finished twice or came from another recorder. */
export class HistoryRecorderMisuseError extends Error {
  readonly code = 'HISTORY_RECORDER_MISUSE' as const;

  constructor(problem: string) {
    super(problem);
    this.name = 'HistoryRecorderMisuseError';
  }
}

/**
 * Checks the invariants every history must satisfy before it can be judged: finite call
 * times, `return >= call`, and `output` known exactly when `return` is.
 *
 * @throws MalformedHistoryError naming the first offending operation.
 */
export function assertWellFormed(history: readonly HistoryOperation<unknown, unknown>[]): void {
  history.forEach((op, index) => {
    if (!Number.isFinite(op.call)) {
      throw new MalformedHistoryError(index, `call time ${op.call} is not a finite number`);
    }
    if (op.return === null) {
      if (op.output !== null) {
        throw new MalformedHistoryError(index, 'has an output but no return time');
      }
      return;
    }
    if (!Number.isFinite(op.return)) {
      throw new MalformedHistoryError(index, `return time ${op.return} is not a finite number`);
    }
    if (op.return < op.call) {
      throw new MalformedHistoryError(
        index,
        `returned at ${op.return}, before it was called at ${op.call} (is the clock monotonic?)`,
      );
    }
    if (op.output === null) {
      throw new MalformedHistoryError(index, 'has a return time but no output');
    }
  });
}

/** Identifies an operation between `invoke` and `complete`/`unknown`. Opaque to callers. */
export interface PendingOperation {
  readonly clientId: number;
}

/**
 * Records a history as clients run: `invoke` before sending a request, then `complete` with
 * the answer or `unknown` when the outcome was lost. The clock is injected (for example
 * `() => performance.now()`, or the simulator's virtual clock) and must be monotonic.
 *
 * Operations still pending when `history()` is read are reported with an unknown outcome,
 * which is what they are: the client has not learned whether they took effect.
 */
export class HistoryRecorder<In = KvInput, Out = KvOutput> {
  readonly #clock: () => number;
  readonly #operations: HistoryOperation<In, Out>[] = [];
  readonly #pending = new Map<PendingOperation, HistoryOperation<In, Out>>();

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** Marks the moment `clientId` issues `input`; call it before the request leaves. */
  invoke(clientId: number, input: In): PendingOperation {
    const operation: HistoryOperation<In, Out> = {
      clientId,
      input,
      call: this.#clock(),
      return: null,
      output: null,
    };
    const handle: PendingOperation = { clientId };
    this.#operations.push(operation);
    this.#pending.set(handle, operation);
    return handle;
  }

  /** Marks the moment the answer arrived; call it as soon as the response is received. */
  complete(handle: PendingOperation, output: Out): void {
    const operation = this.#finish(handle);
    operation.return = this.#clock();
    operation.output = output;
  }

  /** The client gave up without an answer: the operation may or may not have taken effect. */
  unknown(handle: PendingOperation): void {
    this.#finish(handle);
  }

  /** A copy of the history so far, in invocation order. */
  history(): HistoryOperation<In, Out>[] {
    return this.#operations.map((operation) => ({ ...operation }));
  }

  #finish(handle: PendingOperation): HistoryOperation<In, Out> {
    const operation = this.#pending.get(handle);
    if (operation === undefined) {
      throw new HistoryRecorderMisuseError(
        `operation of client ${handle.clientId} is already finished or was not invoked on this recorder`,
      );
    }
    this.#pending.delete(handle);
    return operation;
  }
}
