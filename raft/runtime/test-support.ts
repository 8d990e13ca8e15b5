/**
 * A state machine for worker tests: the sql.js key-value machine, made as slow as a test
 * asks (each applied command and each query holds the worker for that long, sleeping, so a
 * 2-core machine is not starved), or made to crash its worker on the first apply.
 */
import { KvStateMachine, type KvQuery } from '../kv/kv-state-machine.js';
import { loadSqlJs } from '../kv/sql.js';
import type { AppliedCommand, StateMachine } from './host.js';
import type { StateMachineFactory } from './worker-protocol.js';

export interface SlowKvOptions {
  /** Milliseconds each applied command takes. */
  readonly applyMs?: number;
  /** Milliseconds each query takes. */
  readonly queryMs?: number;
  /** The worker thread exits on the first apply, as if it had crashed. */
  readonly crashOnApply?: boolean;
}

function sleep(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Builds the slow machine inside the worker (see {@link SlowKvOptions}). */
export const createStateMachine: StateMachineFactory = async (options, context) => {
  const { applyMs = 0, queryMs = 0, crashOnApply = false } = (options ?? {}) as SlowKvOptions;
  const kv = new KvStateMachine(await loadSqlJs());
  const sm: StateMachine<unknown, unknown, unknown> = {
    apply: (commands: readonly AppliedCommand[]) => {
      if (crashOnApply) process.exit(3);
      context.log('info', 'applying slowly', { commands: commands.length });
      sleep(applyMs * commands.length);
      return kv.apply(commands);
    },
    query: (q) => {
      sleep(queryMs);
      return kv.query(q as KvQuery);
    },
    snapshot: () => kv.snapshot(),
    restore: (image) => kv.restore(image),
  };
  return sm;
};
