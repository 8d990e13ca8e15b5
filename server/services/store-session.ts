/**
 * The DB as one request sees it: its command carries the request's id (so a redelivered
 * request applies once and answers the original result), every call carries the request's
 * deadline and abort signal, refusals come back as `AgendaError`s, and the notifications of
 * a command that committed are published as live updates — once, not again on a replay.
 */
import type { SessionRef } from '../store/protocol.js';
import type { JsonText } from '../../base/json-text.js';
import { errorFromWire, Internal, Unavailable } from '../../contract/errors.js';
import type {
  CommandBody,
  CommandResults,
  QueryBody,
  QueryResults,
  StoreQueryResultOf,
  StoreResultOf,
} from '../store/protocol.js';
import { freshIdsFor, storeRequestId } from './ids.js';
import { publishNotifications } from './live-updates.js';
import type { Database, ServiceLog, ServiceRequest, UpdatePublisher } from './ports.js';

export interface StoreSessionOptions {
  readonly database: Database;
  readonly publisher: UpdatePublisher;
  readonly log: ServiceLog;
  readonly clock: () => number;
  readonly request: ServiceRequest;
  readonly signal: AbortSignal;
}

/** One request's access to the DB; made by `ServiceHandler` for each request it handles. */
export class StoreSession {
  private commandSent = false;

  constructor(private readonly options: StoreSessionOptions) {}

  /**
   * Applies the request's one command and answers its result, after publishing its
   * notifications (unless the store says it is a replay: they went out the first time).
   * @throws AgendaError the store's refusal, or Unavailable when the DB did not answer in time.
   */
  async command<B extends CommandBody>(
    actor: string | null,
    body: B,
  ): Promise<CommandResults[B['type']]> {
    // Every operation sends one command under the request id itself; any further one is a
    // step with an id of its own (`step`). An accidental second command must not reuse the
    // id (the store would refuse it).
    if (this.commandSent) throw new Internal('an operation sent two commands for one request');
    this.commandSent = true;
    return this.send(storeRequestId(this.options.request.id), actor, body);
  }

  /**
   * A further command of the same request, its `step`-th (from 1), under a request id of its
   * own derived from the request's: a request handled again (a retry, a replica taking over)
   * replays the steps it made, in order, each answering its original result, and carries on
   * after the last. Notifications as for {@link command}.
   */
  step<B extends CommandBody>(
    step: number,
    actor: string | null,
    body: B,
  ): Promise<CommandResults[B['type']]> {
    if (!Number.isSafeInteger(step) || step < 1) throw new Internal(`no step ${step}`);
    return this.send(storeRequestId(`${this.options.request.id}.step-${step}`), actor, body);
  }

  private async send<B extends CommandBody>(
    requestId: string,
    actor: string | null,
    body: B,
  ): Promise<CommandResults[B['type']]> {
    const { database } = this.options;
    const outcome = (await database.command(
      {
        v: 1,
        requestId,
        actor,
        ...this.sessionFor(actor),
        ids: freshIdsFor(body),
        body,
      },
      this.callOptions(),
    )) as StoreResultOf<B['type']>;
    if (!outcome.ok) throw errorFromWire(outcome.error);
    if (!outcome.replayed) {
      // Sent now, not waited for: the reply need not wait a Redis round trip for them, and
      // their delivery is at most once either way (publishNotifications logs a failure).
      void publishNotifications(
        this.options.publisher,
        this.options.log,
        outcome.notifications,
        new Date(this.options.clock()),
      );
    }
    return outcome.result;
  }

  /**
   * A linearizable read.
   * @throws AgendaError the store's refusal, or Unavailable.
   */
  async query<B extends QueryBody>(
    actor: string | null,
    body: B,
  ): Promise<QueryResults[B['type']]> {
    const outcome = (await this.options.database.query(
      actor,
      body,
      this.callOptions(),
      this.sessionFor(actor).session,
    )) as StoreQueryResultOf<B['type']>;
    if (!outcome.ok) throw errorFromWire(outcome.error);
    return outcome.result;
  }

  /**
   * A linearizable read whose result the caller passes on as its own answer, untouched: the
   * store's JSON text as it wrote it (`JsonText`, server/db/client.ts), not parsed here and
   * written again (a group agenda's answer is hundreds of entries).
   * @throws AgendaError the store's refusal, or Unavailable.
   */
  async relayQuery<B extends QueryBody>(
    actor: string | null,
    body: B,
  ): Promise<QueryResults[B['type']] | JsonText> {
    const outcome = await this.options.database.query(
      actor,
      body,
      { ...this.callOptions(), relay: true },
      this.sessionFor(actor).session,
    );
    if (!outcome.ok) throw errorFromWire(outcome.error);
    return outcome.result as QueryResults[B['type']] | JsonText;
  }

  /**
   * The token's session, for the store to check, when the request acts as the user whose
   * token it is (the users service also acts as nobody: a login looks the user up). The DB
   * refuses a call acting as a user without one (`actorAccess` in server/store/access.ts),
   * but for the few its table lets act without (`SESSIONLESS`: a login opening its session,
   * a refresh naming the refresh token's session in the command itself).
   */
  private sessionFor(actor: string | null): { session?: SessionRef } {
    const { request } = this.options;
    return actor !== null && actor === request.actor && request.session !== undefined
      ? { session: request.session }
      : {};
  }

  private callOptions(): { signal: AbortSignal; deadlineMs: number } {
    const remaining = this.options.request.deadline - this.options.clock();
    if (remaining <= 0) throw new Unavailable('the request ran out of time');
    return { signal: this.options.signal, deadlineMs: remaining };
  }
}
