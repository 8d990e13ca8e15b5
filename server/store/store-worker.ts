/**
 * The calendar store as the DB service runs it: in a worker thread of its own (see
 * `raft/runtime/worker-state-machine.ts`), so that no command, query or snapshot of the
 * calendar ever holds up the member's Raft event loop. The worker loads its own sql.js.
 */
import type { StateMachineFactory } from '../../raft/runtime/worker-protocol.js';
import { loadSqlJs } from '../../raft/kv/sql.js';
import { CalendarStore } from './calendar-store.js';
import { EncodingStore } from './encoded-queries.js';

/**
 * Builds the store inside the worker; bugs it answers as `internal` are logged by the member.
 * It answers the member's HTTPS queries as JSON text (see encoded-queries.ts).
 */
export const createStateMachine: StateMachineFactory = async (_options, context) =>
  new EncodingStore(
    new CalendarStore(await loadSqlJs(), {
      onInternalError: (error, request) =>
        context.log('warn', 'store bug answered as internal', {
          error: error instanceof Error ? error.message : String(error),
          stack: error instanceof Error ? error.stack : undefined,
          request,
        }),
    }),
  );
