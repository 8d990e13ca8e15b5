/**
 * Support for the store tests and benchmarks (not used by production code): a client that
 * builds well-formed commands and queries — request ids, fresh ids and a clock of its own —
 * and unwraps results, so tests read as what a user does.
 */
import { loadSqlJs } from '../../raft/kv/sql.js';
import { CalendarStore } from './calendar-store.js';
import type { CalendarStoreOptions } from './calendar-store.js';
import { encodeCommand } from './protocol.js';
import type {
  CommandBody,
  CommandResults,
  QueryBody,
  QueryResults,
  StoreCommand,
  StoreQueryResultOf,
  StoreResult,
  StoreResultOf,
} from './protocol.js';
import { seededRandom } from '../../base/rng.js';

export { seededRandom };

/** Midnight UTC, 1 January 2025: where test clocks start. */
export const EPOCH = Date.UTC(2025, 0, 1);
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** An instant from an ISO string (tests only). */
export function at(iso: string): number {
  const instant = Date.parse(iso);
  if (Number.isNaN(instant)) throw new Error(`bad instant in test: ${iso}`);
  return instant;
}

export async function openStore(options?: CalendarStoreOptions): Promise<CalendarStore> {
  return new CalendarStore(await loadSqlJs(), options);
}

/**
 * What the DB leader does with a command: decides it, then applies its effect as the next
 * log entry — deciding again while the effect comes back stale (it cannot here, with one
 * command in flight, but the loop is the leader's).
 */
export function decideAndApply(store: CalendarStore, command: StoreCommand): StoreResult {
  for (;;) {
    const decided = store.decide(command);
    if (decided.kind === 'answer') return decided.result;
    const [result] = store.apply([
      { index: store.appliedIndex() + 1, term: 1, data: decided.entry },
    ]);
    if (result === undefined) throw new Error('the store answered nothing');
    if (!(result.ok === false && result.stale === true)) return result;
  }
}

/** Log entries for `commands`, numbered from `firstIndex`. */
export function entries(
  commands: readonly (StoreCommand | Uint8Array)[],
  firstIndex = 1,
): { index: number; term: number; data: Uint8Array }[] {
  return commands.map((c, i) => ({
    index: firstIndex + i,
    term: 1,
    data: c instanceof Uint8Array ? c : encodeCommand(c),
  }));
}

export interface SendOptions {
  readonly requestId?: string;
  readonly ids?: readonly string[];
  readonly at?: number;
}

/** A caller of the store, as the logic services will be: it stamps, numbers and unwraps. */
export class StoreClient {
  /** The clock stamped on the next command or query. */
  now = EPOCH;
  private sequence = 0;

  /** `name` prefixes request ids and fresh ids, so several clients never collide. */
  constructor(
    readonly store: CalendarStore,
    private readonly name = 'c',
  ) {}

  /** A well-formed command (fresh request id, one fresh id unless told otherwise). */
  command(actor: string | null, body: CommandBody, options: SendOptions = {}): StoreCommand {
    this.sequence += 1;
    return {
      v: 1,
      requestId: options.requestId ?? `${this.name}-req-${this.sequence}`,
      actor,
      at: options.at ?? this.now,
      ids: [...(options.ids ?? [`${this.name}-id-${this.sequence}`])],
      body,
    };
  }

  /** Applies one command and answers its result. */
  send<B extends CommandBody>(
    actor: string | null,
    body: B,
    options: SendOptions = {},
  ): StoreResultOf<B['type']> {
    return decideAndApply(this.store, this.command(actor, body, options)) as StoreResultOf<
      B['type']
    >;
  }

  /** Applies one command that must succeed, and answers its result. */
  ok<B extends CommandBody>(
    actor: string | null,
    body: B,
    options: SendOptions = {},
  ): CommandResults[B['type']] {
    const outcome = this.send(actor, body, options);
    if (!outcome.ok) {
      throw new Error(`${body.type} was refused: ${outcome.error.code}: ${outcome.error.message}`);
    }
    return outcome.result;
  }

  /** Applies one command that must be refused, and answers the error code and message. */
  refused(actor: string | null, body: CommandBody, options: SendOptions = {}) {
    const outcome = this.send(actor, body, options);
    if (outcome.ok) throw new Error(`${body.type} was not refused`);
    return outcome.error;
  }

  ask<B extends QueryBody>(actor: string | null, body: B): StoreQueryResultOf<B['type']> {
    return this.store.query({ v: 1, actor, at: this.now, body }) as StoreQueryResultOf<B['type']>;
  }

  /** A query that must succeed. */
  read<B extends QueryBody>(actor: string | null, body: B): QueryResults[B['type']] {
    const outcome = this.ask(actor, body);
    if (!outcome.ok) {
      throw new Error(`${body.type} was refused: ${outcome.error.code}: ${outcome.error.message}`);
    }
    return outcome.result;
  }

  /** Registers users (password hash `hash-<name>`). */
  register(...usernames: string[]): void {
    for (const username of usernames) {
      this.ok(null, { type: 'user.register', username, passwordHash: `hash-${username}` });
    }
  }
}
