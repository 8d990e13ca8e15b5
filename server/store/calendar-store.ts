/**
 * The calendar store: the replicated state machine of the DB service, on SQLite (sql.js).
 *
 * Decide once, apply cheaply (see effects.ts): the leader's store {@link CalendarStore.decide}s
 * each command against its applied state — every calendar rule runs there, once — and what
 * goes through the log is the decision's effect: preconditions, row writes, the outcome.
 * `apply` checks the preconditions and writes the rows; it runs no calendar logic, so it
 * costs O(size of the entry) on every member. An effect whose preconditions no longer hold
 * (the state it was decided on changed in between) is refused as `stale`, and the leader
 * decides the command again. Commands written to the log by older versions (version 1) are
 * still applied, by deciding them at apply time as those versions did.
 *
 * Guarantees:
 * - **Deterministic.** `apply` reads no clock, randomness or environment: time is the
 *   entries' `at` (kept monotonic: `now = max(at, every earlier at)`), new ids come inside
 *   the commands, versions are log indexes. Two replicas that applied the same log hold the
 *   same rows whatever the batching, and snapshot → restore → continue equals never
 *   snapshotting. Their images are byte-identical until the request log first forgets: rows
 *   deleted among entries that a batch applies in one transaction (and refused ones rolled
 *   back to their savepoints) leave SQLite's pages laid out differently from one entry per
 *   transaction, with the same rows and the same page counts (determinism.test.ts).
 * - **Idempotent.** An entry whose request id was applied before (within the retention of
 *   the {@link RequestLog}) changes nothing and answers the original outcome, `replayed`.
 *   Reusing a request id for a different command is refused as `invalid`. A stale entry is
 *   not remembered: its command has not happened yet.
 * - **Refusals are results.** Malformed entries, unknown actors and every domain refusal come
 *   back as `{ ok: false, error }` with a wire error code, and are remembered like
 *   successes. Each entry applies in its own savepoint inside the batch's transaction; a bug
 *   inside one (anything thrown that is not an `AgendaError`) is undone alone and answered as
 *   `internal`, so one poisonous entry cannot wedge the cluster. `apply` throws only when
 *   the database itself fails (out of memory, corrupt image); the batch is then rolled back
 *   whole.
 */
import { createHash } from 'node:crypto';
import { getHeapStatistics } from 'node:v8';
import type { SqlJsStatic } from 'sql.js';
import type { AppliedCommand, StateMachine } from '../../raft/runtime/host.js';
import { sqlMemoryBytes } from '../../raft/kv/sql.js';
import {
  Internal,
  InvalidInput,
  Unauthenticated,
  Unavailable,
  asAgendaError,
  isAgendaError,
} from '../../contract/errors.js';
import type { WireError } from '../../contract/errors.js';
import type { Millis, Username } from '../domain/index.js';
import { runCommand } from './commands.js';
import type { CommandEnvironment } from './commands.js';
import { RecordedWrites, TrackedRegistry, TrackedRows } from './decision.js';
import type { RowReader } from './decision.js';
import { DecisionJournal, EFFECT_VERSION, parseEffect } from './effects.js';
import type { Effect, Outcome } from './effects.js';
import { parseCommand } from './protocol.js';
import { sessionOpens } from './access.js';
import type {
  CommandBody,
  QueryBody,
  SessionRef,
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
  readonly onInternalError?: (error: unknown, request: string) => void;
}

/**
 * Asks the store to decide commands (the leader does, before proposing their effects), each
 * against the same applied state, in order (see server/db/decision-batch.ts).
 */
export interface DecideRequest {
  readonly decide: readonly StoreCommand[];
}

/** What the store answers a {@link DecideRequest}: one decision per command, in order. */
export interface Decisions {
  readonly decisions: readonly Decided[];
}

/** What the store answers a {@link DecideRequest}. */
export type Decided =
  /** Known without the log: a replay of a remembered request, or a refusal of a reused id. */
  | { readonly kind: 'answer'; readonly result: StoreResult }
  /** The effect to propose (its log bytes), with the keys it read and the keys it writes. */
  | {
      readonly kind: 'effect';
      readonly entry: Uint8Array;
      readonly reads: readonly string[];
      readonly stamps: readonly string[];
    };

/** What the store is asked outside `apply`: a read, or a decision. */
export type StoreRequest = StoreQuery | DecideRequest;
/** What it answers. */
export type StoreAnswer = StoreQueryResult | Decisions;

export function isDecideRequest(request: StoreRequest): request is DecideRequest {
  return 'decide' in request;
}

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

/** The answer of an entry decided on a state that has changed since: the leader decides again. */
function stale(): StoreResult {
  return {
    ok: false,
    error: new Unavailable('the state changed while the command was decided; retry').toWire(),
    replayed: false,
    stale: true,
  };
}

/** What the actor check needs of the request: when it runs, and what it asks. */
interface ActorCheck {
  readonly now: Millis;
  readonly body: CommandBody | QueryBody;
  readonly kind: 'command' | 'query';
}

/**
 * Holds the actor of one command or query, checked once: a registered user, and, when the
 * request names the token it came with, a token still valid. Checked here, where the data
 * is, the check is as consistent as the data: a command decided after a logout applied is
 * refused, and one decided before it and applied after is stale (it read the session's key)
 * and decided again. Whether a request must name a token is the DB service's to enforce
 * (`actorAccess` in ./access.ts: it knows the caller's role); what is named must be the
 * actor's own live session — a session id the store never opened for them is no session, so
 * a caller cannot make one up — or, only for reading the feed, their feed.
 */
function actorResolver(
  rows: RowReader,
  actor: Username | null,
  session: SessionRef | undefined,
  request: ActorCheck,
): () => Username {
  let checked: Username | undefined;
  return () => {
    if (checked !== undefined) return checked;
    if (actor === null) throw new Unauthenticated('this operation needs a signed-in user');
    const generation = rows.sessionGeneration(actor);
    if (generation === undefined) throw new Unauthenticated(`no user named ${actor}`);
    if (session !== undefined) refuseEndedSession(rows, actor, generation, session, request);
    checked = actor;
    return actor;
  };
}

/**
 * Refuses a token of `actor` that was logged out, outlived a password change or its session,
 * names a session, a feed or a device that is not theirs, or is a feed's or a device's used for
 * anything but what it opens.
 */
function refuseEndedSession(
  rows: RowReader,
  actor: Username,
  generation: number,
  session: SessionRef,
  request: ActorCheck,
): void {
  const opens = sessionOpens(session, request.body, request.kind);
  if (!opens.allowed) throw new Unauthenticated(opens.reason);
  if (session.generation !== generation) {
    throw new Unauthenticated('your sessions ended when the password changed; log in again');
  }
  if (session.sid !== undefined) {
    if (rows.sessionRevoked(session.sid)) {
      throw new Unauthenticated('this session was logged out; log in again');
    }
    const live = rows.session(session.sid);
    if (live === undefined || live.username !== actor || live.expiresAt <= request.now) {
      throw new Unauthenticated('this session has ended; log in again');
    }
  }
  if (session.fid !== undefined) {
    const feed = rows.feed(session.fid);
    if (feed === undefined || feed.username !== actor || feed.expiresAt <= request.now) {
      throw new Unauthenticated('this calendar feed was revoked');
    }
  }
  if (session.did !== undefined) {
    const device = rows.device(session.did);
    if (device === undefined || device.username !== actor) {
      throw new Unauthenticated('this device was revoked; add it again (agenda device add)');
    }
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** A log entry as JSON, or the refusal it earns. */
function parseEntry(data: Uint8Array): unknown {
  let text: string;
  try {
    text = decoder.decode(data);
  } catch (error) {
    throw new InvalidInput('the entry is not UTF-8 text', { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidInput('the entry is not JSON', { cause: error });
  }
}

/** The calendar's replicated state machine (guarantees in the module comment). */
export class CalendarStore implements StateMachine<StoreResult, StoreRequest, StoreAnswer> {
  private connection: StoreConnection | null;
  private readonly retention: RequestRetention;

  constructor(
    private readonly SQL: SqlJsStatic,
    private readonly options: CalendarStoreOptions = {},
  ) {
    this.retention = options.retention ?? DEFAULT_RETENTION;
    this.connection = StoreConnection.create(SQL, this.retention);
  }

  /** Applies committed entries in log order, one result per entry (see the guarantees above). */
  apply(commands: readonly AppliedCommand[]): StoreResult[] {
    if (commands.length === 0) return [];
    const connection = this.open();
    connection.begin.run();
    try {
      const results = commands.map((c) => {
        const result = this.applyOne(connection, c);
        // Per entry, not per batch: the image must not depend on how entries were batched.
        connection.meta.set(META.appliedIndex, c.index);
        return result;
      });
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

  /** Answers a read, or decides a command, as of the store's current state; never changes it. */
  query(request: StoreQuery): StoreQueryResult;
  query(request: DecideRequest): Decisions;
  query(request: StoreRequest): StoreAnswer;
  query(request: StoreRequest): StoreAnswer {
    if (isDecideRequest(request)) {
      return { decisions: request.decide.map((command) => this.decide(command)) };
    }
    const connection = this.open();
    const now = Math.max(request.at, connection.meta.get(META.lastAt));
    const env: QueryEnvironment = {
      now,
      rows: connection.rows,
      registry: connection.registry,
      keyVersion: (key) => connection.versions.newestOf([key]),
      appliedIndex: () => connection.meta.get(META.appliedIndex),
      davSync: connection.davSync,
      listings: connection.listings,
      actor: actorResolver(connection.rows, request.actor, request.session, {
        now,
        body: request.body,
        kind: 'query',
      }),
      status: () => this.status(connection),
    };
    try {
      // The result's type follows the query's type; the handler map guarantees it.
      // Whoever acts is checked before anything is read for them, whether or not the query
      // needs the actor (`user.lookup` for a signed-in user's own account does not).
      if (request.actor !== null) env.actor();
      return { ok: true, result: runQuery(request, env) } as StoreQueryResult;
    } catch (error) {
      if (isEnvironmentalFailure(error)) throw error;
      if (!isAgendaError(error)) this.options.onInternalError?.(error, request.body.type);
      return { ok: false, error: asAgendaError(error).toWire() };
    }
  }

  /**
   * Decides a command against the applied state (see effects.ts): runs it inside a savepoint
   * that is rolled back, and returns the effect to propose — or the answer itself when the
   * request id is already remembered. The command's `at` is the leader's clock.
   */
  decide(command: StoreCommand): Decided {
    const decided = this.decideEffect(command);
    if (decided.kind === 'answer') return decided;
    const { effect } = decided;
    return {
      kind: 'effect',
      entry: encoder.encode(JSON.stringify(effect)),
      reads: effect.reads,
      stamps: effect.stamps,
    };
  }

  /** {@link decide}, with the effect as a value (an old command applied here needs no bytes). */
  private decideEffect(
    command: StoreCommand,
  ): { kind: 'answer'; result: StoreResult } | { kind: 'effect'; effect: Effect } {
    const connection = this.open();
    const fingerprint = fingerprintOf(command);
    const previous = connection.requests.find(command.requestId);
    if (previous !== undefined) {
      return { kind: 'answer', result: this.replay(previous, fingerprint, command.requestId) };
    }
    const now = Math.max(command.at, connection.meta.get(META.lastAt));
    const journal = new DecisionJournal();
    const outcome = this.runDecision(connection, command, now, journal);
    const effect: Effect = {
      v: EFFECT_VERSION,
      requestId: command.requestId,
      fingerprint,
      at: now,
      basis: connection.meta.get(META.appliedIndex),
      reads: [...journal.reads].sort(),
      // A refusal writes nothing: what it wrote before refusing was rolled back with it.
      stamps: outcome.ok ? [...journal.stamps].sort() : [],
      writes: outcome.ok ? journal.writes : [],
      outcome,
    };
    return { kind: 'effect', effect };
  }

  /** The log index of the last entry applied (0 before any). */
  appliedIndex(): number {
    return this.open().meta.get(META.appliedIndex);
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
      sqlMemoryBytes: sqlMemoryBytes(this.SQL),
      heapBytes: getHeapStatistics().total_heap_size,
    };
  }

  private replay(
    previous: { fingerprint: string; outcome: string },
    fingerprint: string,
    requestId: string,
  ): StoreResult {
    if (previous.fingerprint !== fingerprint) {
      return refusal(
        new InvalidInput(`the request id ${requestId} was used for another command`, {
          field: 'requestId',
        }),
      );
    }
    // Written by this store from an outcome of the same command.
    return { ...(JSON.parse(previous.outcome) as Outcome), replayed: true } as StoreResult;
  }

  private applyOne(connection: StoreConnection, entry: AppliedCommand): StoreResult {
    let effect: Effect;
    try {
      const value = parseEntry(entry.data);
      if (
        typeof value === 'object' &&
        value !== null &&
        (value as { v?: unknown }).v === EFFECT_VERSION
      ) {
        effect = parseEffect(value);
      } else {
        // A command written by an older version: decided here, as that version did.
        const command = parseCommand(value);
        const decided = this.decideEffect(command);
        if (decided.kind === 'answer') {
          this.advanceClock(connection, command.at);
          return decided.result;
        }
        // Decided at its own place in the log: nothing can have changed in between.
        return this.applyEffect(connection, decided.effect, entry.index, { preconditions: false });
      }
    } catch (error) {
      return refusal(error);
    }
    return this.applyEffect(connection, effect, entry.index, { preconditions: true });
  }

  private applyEffect(
    connection: StoreConnection,
    effect: Effect,
    index: number,
    check: { preconditions: boolean },
  ): StoreResult {
    const now = this.advanceClock(connection, effect.at);
    const previous = connection.requests.find(effect.requestId);
    if (previous !== undefined) return this.replay(previous, effect.fingerprint, effect.requestId);
    if (check.preconditions && connection.versions.newestOf(effect.reads) > effect.basis) {
      return stale();
    }
    let outcome = effect.outcome;
    connection.savepoint.run();
    try {
      connection.applyRows(effect.writes, { index, at: now });
      connection.versions.stamp(effect.stamps, index);
      connection.release.run();
    } catch (error) {
      connection.rollbackToSavepoint.run();
      connection.release.run();
      if (isEnvironmentalFailure(error)) throw error;
      this.options.onInternalError?.(error, `the effect of ${effect.requestId}`);
      const reason = error instanceof Error ? error.message : String(error);
      outcome = { ok: false, error: new Internal(`applying an effect failed: ${reason}`).toWire() };
    }
    connection.requests.remember(
      effect.requestId,
      now,
      effect.fingerprint,
      JSON.stringify(outcome),
    );
    return { ...outcome, replayed: false } as StoreResult;
  }

  /** The store's clock for an entry stamped `at`: never earlier than any entry before it. */
  private advanceClock(connection: StoreConnection, at: Millis): Millis {
    const last = connection.meta.get(META.lastAt);
    if (at <= last) return last;
    connection.meta.set(META.lastAt, at);
    return at;
  }

  /**
   * Runs the command's handler against the tracked store inside a savepoint, then undoes
   * it: the journal keeps what it read and wrote, the outcome what it answers.
   */
  private runDecision(
    connection: StoreConnection,
    command: StoreCommand,
    now: Millis,
    journal: DecisionJournal,
  ): Outcome {
    const rows = new TrackedRows(connection.rows, journal);
    let nextId = 0;
    const env: CommandEnvironment = {
      now,
      rows,
      writes: new RecordedWrites(connection.writes, connection.rows, journal),
      registry: new TrackedRegistry(connection.registry, journal),
      actor: actorResolver(rows, command.actor, command.session, {
        now,
        body: command.body,
        kind: 'command',
      }),
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
        if (rows.eventExists(id)) {
          throw new InvalidInput(`the id ${id} is already in use`, { field: 'ids' });
        }
        return id;
      },
    };
    connection.savepoint.run();
    try {
      // As for queries: an actor is checked (a token still valid) before the command runs.
      if (command.actor !== null) env.actor();
      const applied = runCommand(command, env);
      return { ok: true, result: applied.result, notifications: applied.notifications };
    } catch (error) {
      if (isEnvironmentalFailure(error)) throw error;
      if (isAgendaError(error)) return { ok: false, error: error.toWire() };
      this.options.onInternalError?.(error, command.body.type);
      const reason = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        error: new Internal(`${command.body.type} failed inside the store: ${reason}`).toWire(),
      };
    } finally {
      connection.rollbackToSavepoint.run();
      connection.release.run();
    }
  }
}
