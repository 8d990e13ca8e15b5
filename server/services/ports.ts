/**
 * The small interfaces the logic services depend on, owned here so the services know
 * nothing of Redis, HTTPS or Raft: a bus adapter hands them {@link ServiceRequest}s and
 * relays their answers, a {@link Database} reaches the DB service (the real one is
 * `DbClient`), an {@link UpdatePublisher} reaches users' open streams.
 */
import type { JsonText } from '../../base/json-text.js';
import type { CallOptions, CommandInput } from '../db/client.js';
import type { ServiceName } from '../protocol/ops.js';
import type {
  DeviceAnswer,
  FeedAnswer,
  ImportAnswer,
  LiveUpdate,
  LoginAnswer,
  LogoutAnswer,
  AccountDeletedAnswer,
  UserAnswer,
} from '../../contract/api.js';
import type {
  CommandResults,
  CommandType,
  QueryBody,
  QueryResults,
  QueryType,
  SessionRef,
  StoreQueryResult,
  StoreResult,
} from '../store/protocol.js';

/** One request from the bus: its id is the end-to-end idempotency key. */
export interface ServiceRequest {
  /** Chosen by the gateway; the same id delivered twice is the same request. */
  readonly id: string;
  /** The user the gateway authenticated (from the JWT), or null for register and login. */
  readonly actor: string | null;
  /**
   * The session, feed or device the actor's token names; the store refuses the request once
   * it ended.
   */
  readonly session?: SessionRef;
  /** The operation, not yet validated: services check it with `parseOp`. */
  readonly op: unknown;
  /** Epoch milliseconds after which the gateway no longer waits for the answer. */
  readonly deadline: number;
}

/** Publishes a live update to one user's open streams. */
export interface UpdatePublisher {
  publish(to: string, update: LiveUpdate): Promise<void>;
}

/** The part of `DbClient` a service uses. */
export interface Database {
  /** Applies a command; a refusal is a result with `ok: false`. Retrying with the same request id is safe. */
  command(command: CommandInput, opts?: CallOptions): Promise<StoreResult>;
  /** A linearizable read. */
  query(
    actor: string | null,
    body: QueryBody,
    opts?: CallOptions,
    session?: SessionRef,
  ): Promise<StoreQueryResult>;
}

/** Where a service reports what went wrong after the fact (a live update it could not publish). */
export interface ServiceLog {
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** What every logic service is built from. */
export interface ServiceDependencies {
  readonly database: Database;
  readonly publisher: UpdatePublisher;
  readonly log: ServiceLog;
  /** Epoch milliseconds; `Date.now` unless a test says otherwise. */
  readonly clock?: () => number;
}

/** A device just added, as the users service answers it (the gateway adds its CalDAV URL). */
export type DeviceMade = Omit<DeviceAnswer, 'url'>;

/** A CalDAV client signed in with an app password: the device token its requests carry. */
export interface DeviceSignIn {
  readonly token: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/** Everything a service may answer: the API's answers and the store's results, unchanged. */
export type ServiceAnswer =
  | UserAnswer
  | DeviceMade
  | DeviceSignIn
  | LoginAnswer
  | ImportAnswer
  | FeedAnswer
  | LogoutAnswer
  | AccountDeletedAnswer
  | CommandResults[CommandType]
  | QueryResults[QueryType]
  /** A store's result relayed as the JSON it wrote (`StoreSession.relayQuery`). */
  | JsonText;

/** A logic service as the bus sees it. */
export interface LogicService {
  readonly name: ServiceName;
  /**
   * Answers one request, or rejects with an `AgendaError` (a refusal the user should see,
   * or `unavailable` when the DB could not be reached in time). Idempotent by request id:
   * handling the same request again applies nothing twice and answers the same.
   */
  handle(request: ServiceRequest, signal: AbortSignal): Promise<ServiceAnswer>;
}
