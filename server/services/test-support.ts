/**
 * Test support for the logic services (not used by production code): the real calendar
 * store in-process behind the {@link Database} port, a publisher and a log that record what
 * they are given, and a builder of bus requests.
 */
import type { SessionRef } from '../store/protocol.js';
import { loadSqlJs } from '../../raft/kv/sql.js';
import type { CommandInput } from '../db/client.js';
import type { LiveUpdate } from '../../contract/api.js';
import { CalendarStore } from '../store/calendar-store.js';
import { encodeCommand, MAX_SESSION_TTL_MS } from '../store/protocol.js';
import type { QueryBody, StoreQueryResult, StoreResult } from '../store/protocol.js';
import type { Database, ServiceLog, ServiceRequest, UpdatePublisher } from './ports.js';

/** Midnight UTC, 1 March 2025: where test clocks start. */
export const EPOCH = Date.UTC(2025, 2, 1);
export const HOUR = 3_600_000;

/** A clock tests move by hand. */
export class TestClock {
  constructor(public now = EPOCH) {}
  readonly read = (): number => this.now;
}

/** The calendar store in this process, stamping `at` as the DB leader would. */
export class InProcessDatabase implements Database {
  /** Every command received, in order (retries included). */
  readonly commands: CommandInput[] = [];
  private index = 0;

  constructor(
    readonly store: CalendarStore,
    private readonly clock: () => number,
  ) {}

  static async open(clock: () => number): Promise<InProcessDatabase> {
    return new InProcessDatabase(new CalendarStore(await loadSqlJs()), clock);
  }

  command(command: CommandInput): Promise<StoreResult> {
    this.commands.push(command);
    this.index += 1;
    const data = encodeCommand({ ...command, at: this.clock() });
    const [result] = this.store.apply([{ index: this.index, term: 1, data }]);
    if (result === undefined) return Promise.reject(new Error('the store answered nothing'));
    return Promise.resolve(result);
  }

  /**
   * Opens session `sid` for `username` as a login would, without recording a command: the
   * stand-in for the token a test's signed-in requests carry, which the store checks is a
   * live session of theirs.
   */
  openSession(username: string, sid: string, generation = 0): void {
    this.index += 1;
    const data = encodeCommand({
      v: 1,
      requestId: `open-${sid}`,
      actor: username,
      ids: [],
      at: this.clock(),
      body: { type: 'session.open', sid, ttlMs: MAX_SESSION_TTL_MS, generation },
    });
    const [result] = this.store.apply([{ index: this.index, term: 1, data }]);
    if (result?.ok !== true) throw new Error(`could not open ${sid} for ${username}`);
  }

  query(
    actor: string | null,
    body: QueryBody,
    _opts?: unknown,
    session?: SessionRef,
  ): Promise<StoreQueryResult> {
    return Promise.resolve(
      this.store.query({ v: 1, actor, ...(session ? { session } : {}), at: this.clock(), body }),
    );
  }
}

/** One live update as published. */
export interface Publication {
  readonly to: string;
  readonly update: LiveUpdate;
}

/** Keeps every live update it is asked to publish; fails for the users in `unreachable`. */
export class RecordingPublisher implements UpdatePublisher {
  readonly published: Publication[] = [];
  readonly unreachable = new Set<string>();

  publish(to: string, update: LiveUpdate): Promise<void> {
    if (this.unreachable.has(to)) return Promise.reject(new Error(`no stream for ${to}`));
    this.published.push({ to, update });
    return Promise.resolve();
  }

  /** Who received an update about `eventId`, with which change, sorted by user. */
  aboutEvent(eventId: string): { to: string; change: string }[] {
    return this.published
      .filter((p) => p.update.kind === 'event' && p.update.eventId === eventId)
      .map((p) => ({ to: p.to, change: p.update.change }))
      .sort((a, b) => a.to.localeCompare(b.to) || a.change.localeCompare(b.change));
  }
}

/** Keeps every warning. */
export class RecordingLog implements ServiceLog {
  readonly warnings: { message: string; fields: Record<string, unknown> | undefined }[] = [];

  warn(message: string, fields?: Record<string, unknown>): void {
    this.warnings.push({ message, fields });
  }
}

let requestSequence = 0;

/** A bus request with a fresh id and a deadline a minute after `clock`. */
export function busRequest(
  actor: string | null,
  op: unknown,
  options: { id?: string; clock?: TestClock; session?: SessionRef } = {},
): ServiceRequest {
  requestSequence += 1;
  return {
    id: options.id ?? `req-${requestSequence}`,
    actor,
    ...(options.session ? { session: options.session } : {}),
    op,
    deadline: (options.clock?.now ?? EPOCH) + 60_000,
  };
}

/** A signal that never aborts. */
export const NEVER = new AbortController().signal;
