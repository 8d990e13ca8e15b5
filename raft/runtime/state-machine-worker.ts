/**
 * The body of a state machine worker thread (see {@link WorkerStateMachine}). It builds the
 * machine with the `createStateMachine` export of the module it is given, then does each
 * request the member sends — apply, query, snapshot, restore — one at a time, in the order
 * they arrive, answering each with its sequence number. A state machine is synchronous, so
 * this order is the only one there is: a query sees every apply sent before it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { StateMachine } from './host.js';
import type {
  StateMachineFactory,
  WorkerReply,
  WorkerRequest,
  WorkerSetup,
} from './worker-protocol.js';
import { serializeError } from './worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('state-machine-worker.ts runs only as a worker thread');
const setup = (workerData as { setup: WorkerSetup }).setup;

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

/** An image's buffer may move to the member without a copy when the image owns all of it. */
function ownedBuffer(image: Uint8Array): ArrayBuffer[] {
  const { buffer } = image;
  return buffer instanceof ArrayBuffer &&
    image.byteOffset === 0 &&
    image.byteLength === buffer.byteLength
    ? [buffer]
    : [];
}

/**
 * The buffers a query's answer may move without a copy: its own, when it is bytes (or an
 * object whose `bytes` are) owning a whole buffer. The worker keeps no reference to them.
 */
function answerBuffers(value: unknown): ArrayBuffer[] {
  const bytes =
    value instanceof Uint8Array
      ? value
      : typeof value === 'object' && value !== null && 'bytes' in value
        ? value.bytes
        : undefined;
  return bytes instanceof Uint8Array ? ownedBuffer(bytes) : [];
}

function handle(sm: StateMachine<unknown, unknown, unknown>, request: WorkerRequest): void {
  try {
    switch (request.op) {
      case 'apply':
        return reply({ type: 'done', seq: request.seq, value: sm.apply(request.commands) });
      case 'query': {
        const value = sm.query(request.query);
        return reply({ type: 'done', seq: request.seq, value }, answerBuffers(value));
      }
      case 'snapshot': {
        const image = sm.snapshot();
        return reply({ type: 'done', seq: request.seq, value: image }, ownedBuffer(image));
      }
      case 'restore':
        sm.restore(request.image);
        return reply({ type: 'done', seq: request.seq, value: null });
    }
  } catch (error) {
    reply({ type: 'failed', seq: request.seq, error: serializeError(error) });
  }
}

try {
  const module = (await import(setup.module)) as { createStateMachine?: StateMachineFactory };
  if (typeof module.createStateMachine !== 'function') {
    throw new Error(`${setup.module} does not export createStateMachine`);
  }
  const sm = await module.createStateMachine(setup.options, {
    log: (level, message, details) => reply({ type: 'log', level, message, details }),
  });
  port.on('message', (request: WorkerRequest) => handle(sm, request));
  reply({ type: 'ready' });
} catch (error) {
  reply({ type: 'start_failed', error: serializeError(error) });
}
