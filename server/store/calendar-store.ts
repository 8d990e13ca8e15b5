/**
 * The calendar store: the replicated state machine of the DB service, on SQLite (sql.js).
 *
 * Guarantees:
 * - **Deterministic.** `apply` reads no clock, randomness or environment: time is the
 *   commands' `at` (kept monotonic: `now = max(at, every earlier at)`), new ids come inside
 *   the commands. Two replicas that applied the same log export byte-identical images,
 *   whatever the batching, and snapshot → restore → continue equals never snapshotting.
 * - **Idempotent.** A command whose request id was applied before (within the retention of
 *   the {@link RequestLog}) changes nothing and answers the original outcome, `replayed`.
 *   Reusing a request id for a different command is refused as `invalid`.
 * - **Refusals are results.** Malformed bytes, unknown actors and every domain refusal come
 *   back as `{ ok: false, error }` with a wire error code. Each command runs in its own
 *   savepoint inside the batch's transaction, so a failing command is undone alone. A bug
 *   inside one command (anything thrown that is not an `AgendaError`) is undone the same
 *   way and answered as `internal`, so one poisonous entry cannot wedge the cluster.
 *   `apply` throws only when the database itself fails (out of memory, corrupt image); the
 *   batch is then rolled back whole.
 */
import { createHash } from 'node:crypto';
import type { SqlJsStatic } from 'sql.js';
import type { AppliedCommand, StateMachine } from '../../raft/runtime/host.js';
import {
  Internal,
  InvalidInput,
  Unauthenticated,
  asAgendaError,
  isAgendaError,
} from '../errors.js';
import type { WireError } from '../errors.js';
import type { Millis, Username } from '../domain/index.js';
import { runCommand } from './commands.js';
import type { CommandEnvironment } from './commands.js';
import { decodeCommand } from './protocol.js';
import type {
  StoreCommand,
  StoreQuery,
  StoreQueryResult,
  StoreResult,
  StoreStatus,
} from './protocol.js';
import { runQuery } from './queries.js';
import type { QueryEnvironment } from './queries.js';
import { DEFAULT_RETENTION } from './request-log.js';
import type { RequestRetention } from './request-log.js';
import { META, SCHEMA_VERSION } from './schema.js';
import { StoreConnection } from './store-connection.js';

/** How a store is set up; the same on every replica. */
export interface CalendarStoreOptions {
  /** How long request ids are remembered. Part of the replicated behaviour: equal on every replica. */
  readonly retention?: RequestRetention;
  /**
   * Told about bugs caught inside a command or query (answered as `internal`), for
   * logging. Not called for refusals.
   */
  readonly onInternalError?: (error: unknown, request: StoreCommand | StoreQuery) => void;
}

/** A command's outcome before it is known whether it is a replay. */
type Outcome =
  | { readonly ok: true; readonly result: unknown; readonly notifications: readonly unknown[] }
  | { readonly ok: false; readonly error: WireError };

// Failures of the machine rather than of the command: another replica may not suffer them,
// so answering them as a result could make replicas diverge. They stop the batch instead.
const ENVIRONMENTAL_FAILURE =
  /out of memory|database or disk is full|disk I\/O error|database disk image is malformed|maximum call stack size exceeded/i;

function isEnvironmentalFailure(error: unknown): boolean {
  return (
    error instanceof Error && !isAgendaError(error) && ENVIRONMENTAL_FAILURE.test(error.message)
  );
}

/** What makes two commands "the same request": who asks what (not when, nor with which ids). */
function fingerprintOf(command: StoreCommand): string {
  return createHash('sha256')
    .update(JSON.stringify({ actor: command.actor, body: command.body }))
    .digest('base64url');
}

function refusal(error: unknown): { ok: false; error: WireError; replayed: false } {
  return { ok: false, error: asAgendaError(error).toWire(), replayed: false };
}

/** Holds the actor of one command or query, checked once: a registered user. */
function actorResolver(connection: StoreConnection, actor: Username | null): () => Username {
  let checked: Username | undefined;
  return () => {
    if (checked !== undefined) return checked;
    if (actor === null) throw new Unauthenticated('this operation needs a signed-in user');
    if (connection.rows.user(actor) === undefined) {
      throw new Unauthenticated(`no user named ${actor}`);
    }
    checked = actor;
    return actor;
  };
}

/** The calendar's replicated state machine (guarantees in the module comment). */
export class CalendarStore implements StateMachine<StoreResult, StoreQuery, StoreQueryResult> {
  private connection: StoreConnection | null;
  private readonly retention: RequestRetention;

  constructor(
    private readonly SQL: SqlJsStatic,
    private readonly options: CalendarStoreOptions = {},
  ) {
    this.retention = options.retention ?? DEFAULT_RETENTION;
    this.connection = StoreConnection.create(SQL, this.retention);
  }

  /** Applies committed commands in log order, one result per command (see the guarantees above). */
  apply(commands: readonly AppliedCommand[]): StoreResult[] {
    if (commands.length === 0) return [];
    const connection = this.open();
    connection.begin.run();
    try {
      const results = commands.map((c) => this.applyOne(connection, c.data));
      connection.commit.run();
      return results;
    } catch (error) {
      try {
        connection.rollback.run();
      } catch {
        // SQLite already rolled back (it does on some failures); the first error is the news.
      }
      throw error;
    }
  }

  /** Answers a read as of the store's current state; never changes it. */
  query(query: StoreQuery): StoreQueryResult {
    const connection = this.open();
    const env: QueryEnvironment = {
      now: Math.max(query.at, connection.meta.get(META.lastAt)),
      rows: connection.rows,
      registry: connection.registry,
      actor: actorResolver(connection, query.actor),
      status: () => this.status(connection),
    };
    try {
      // The result's type follows the query's type; the handler map guarantees it.
      return { ok: true, result: runQuery(query, env) } as StoreQueryResult;
    } catch (error) {
      if (isEnvironmentalFailure(error)) throw error;
      if (!isAgendaError(error)) this.options.onInternalError?.(error, query);
      return { ok: false, error: asAgendaError(error).toWire() };
    }
  }

  /** The database image (`db.export()`): byte-identical on replicas that applied the same log. */
  snapshot(): Uint8Array {
    return this.open().db.export();
  }

  /**
   * Replaces the whole state with a snapshot image.
   * @throws Internal when the image is not a store of this schema version (the state is then unchanged).
   */
  restore(image: Uint8Array): void {
    const next = StoreConnection.open(this.SQL, image, this.retention);
    this.connection?.close();
    this.connection = next;
  }

  /** Frees the WebAssembly memory. Idempotent; the store is unusable afterwards. */
  close(): void {
    this.connection?.close();
    this.connection = null;
  }

  private open(): StoreConnection {
    if (this.connection === null) throw new Internal('the calendar store is closed');
    return this.connection;
  }

  private status(connection: StoreConnection): StoreStatus {
    return {
      schemaVersion: SCHEMA_VERSION,
      lastAt: connection.meta.get(META.lastAt),
      requestsApplied: connection.requests.total(),
      rememberedRequests: connection.requests.size(),
      dbBytes: connection.bytes(),
    };
  }

  private applyOne(connection: StoreConnection, data: Uint8Array): StoreResult {
    let command: StoreCommand;
    try {
      command = decodeCommand(data);
    } catch (error) {
      return refusal(error);
    }
    const now = this.advanceClock(connection, command.at);
    const fingerprint = fingerprintOf(command);
    const previous = connection.requests.find(command.requestId);
    if (previous !== undefined) {
      if (previous.fingerprint !== fingerprint) {
        return refusal(
          new InvalidInput(`the request id ${command.requestId} was used for another command`, {
            field: 'requestId',
          }),
        );
      }
      // Written by this store from an outcome of the same command.
      return { ...(JSON.parse(previous.outcome) as Outcome), replayed: true } as StoreResult;
    }
    const outcome = this.runInSavepoint(connection, command, now);
    connection.requests.remember(command.requestId, now, fingerprint, JSON.stringify(outcome));
    return { ...outcome, replayed: false } as StoreResult;
  }

  /** The store's clock for a command stamped `at`: never earlier than any command before it. */
  private advanceClock(connection: StoreConnection, at: Millis): Millis {
    const last = connection.meta.get(META.lastAt);
    if (at <= last) return last;
    connection.meta.set(META.lastAt, at);
    return at;
  }

  private runInSavepoint(connection: StoreConnection, command: StoreCommand, now: Millis): Outcome {
    let nextId = 0;
    const env: CommandEnvironment = {
      now,
      rows: connection.rows,
      writes: connection.writes,
      registry: connection.registry,
      actor: actorResolver(connection, command.actor),
      requireIds: (count) => {
        if (command.ids.length - nextId < count) {
          throw new InvalidInput(`the command needs ${count} fresh ids`, { field: 'ids' });
        }
      },
      nextId: () => {
        const id = command.ids[nextId++];
        if (id === undefined) {
          throw new InvalidInput('the command carries too few fresh ids', { field: 'ids' });
        }
        if (connection.rows.eventExists(id)) {
          throw new InvalidInput(`the id ${id} is already in use`, { field: 'ids' });
        }
        return id;
      },
    };
    connection.savepoint.run();
    try {
      const applied = runCommand(command, env);
      connection.release.run();
      return { ok: true, result: applied.result, notifications: applied.notifications };
    } catch (error) {
      connection.rollbackToSavepoint.run();
      connection.release.run();
      if (isEnvironmentalFailure(error)) throw error;
      if (isAgendaError(error)) return { ok: false, error: error.toWire() };
      this.options.onInternalError?.(error, command);
      const reason = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        error: new Internal(`${command.body.type} failed inside the store: ${reason}`).toWire(),
      };
    }
  }
}
