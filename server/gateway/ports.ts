/**
 * What the gateway needs from the rest of the system, owned here by the gateway (its only
 * consumer) so that the messaging layer (server/bus) can implement it without the gateway
 * knowing anything of Redis, and tests can pass fakes.
 */
import type { FeedAnswer, ImportAnswer, LoginAnswer, UserAnswer } from '../../contract/api.js';
import type { Op, ServiceName } from '../protocol/ops.js';
import type { CommandResults, CommandType, QueryResults, QueryType } from '../store/protocol.js';
import type { BusCredential } from '../bus/protocol.js';

/** What the gateway writes to its log; any structured logger fits. */
export interface GatewayLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** How one dispatched operation must be carried out. */
export interface DispatchOptions {
  /**
   * The end-to-end idempotency key: re-sending an op with the same id (after a Redis
   * failover, a lost reply) applies it once and answers the original outcome.
   */
  readonly requestId: string;
  /** How long the gateway waits for the answer, in ms; the service's work is bounded by it too. */
  readonly deadlineMs: number;
  /** Aborted when the client went away or the deadline passed. */
  readonly signal?: AbortSignal;
  /** The actor's token, which the service verifies again before acting as them. */
  readonly credential?: BusCredential;
}

/**
 * Sends an op to a logic service and resolves with its result ({@link OpResult}), parsed or
 * as the `JsonText` its service wrote (the bus's relaying decode: `resultValue` reads either). Rejects
 * with an `AgendaError` from contract/errors.ts whose code decides the HTTP status (a
 * scheduling conflict is a `Conflict` carrying the conflicting events, a service that cannot
 * be reached in time is `Unavailable`). Anything else it rejects with is answered as an
 * internal error.
 */
export interface Dispatcher {
  dispatch(
    service: ServiceName,
    actor: string | null,
    op: Op,
    options: DispatchOptions,
  ): Promise<unknown>;
}

/**
 * The live updates of users (the bus's `NotificationSubscriber` is one). `subscribe` resolves
 * once the subscription is live — an update published after that reaches `listener` — and
 * with the function that ends it (calling it twice is harmless). It rejects, with
 * `Unavailable` for instance, when the subscription cannot be made or `signal` aborts first.
 *
 * Updates arrive as the services published them and are checked by the gateway before they
 * reach a client, hence `unknown`.
 */
export interface NotificationFeed {
  subscribe(
    username: string,
    listener: (update: unknown) => void,
    signal?: AbortSignal,
  ): Promise<() => void>;
  /**
   * Calls `listener` whenever updates may have been lost (subscriptions re-established after
   * a failover or reconnect: pub/sub delivers at most once). Returns a remover.
   */
  onGap?(listener: () => void): () => void;
}

/**
 * What the gateway knows of the logic services' replicas beyond the bus: gossip membership
 * (server/gossip's `GossipView` is one). With it, a request for a service that certainly has
 * no replica up is refused at once instead of waiting out its deadline on Redis; without
 * it, every request is sent and the deadline speaks.
 */
export interface ReplicaDirectory {
  /**
   * Why no replica of `service` can answer now, in words for the client; null when one may,
   * or when the directory cannot tell (it must not refuse on a guess).
   */
  unavailable(service: ServiceName): string | null;
  /** The members it sees, by role and state, for `/metrics`. */
  counts(): readonly { readonly role: string; readonly state: string; readonly count: number }[];
  /** Datagram counters of the membership protocol, for `/metrics`. */
  stats?(): {
    readonly sent: number;
    readonly received: number;
    readonly sendErrors: number;
    readonly dropped: Readonly<Record<string, number>>;
    /** News dropped for want of its member's proof; absent where no proofs are checked. */
    readonly unproven?: number;
  };
}

/** Whether this gateway can serve requests now (its bus is connected, services answer). */
export type ReadinessProbe = () => Promise<{ readonly ready: boolean; readonly reason?: string }>;

/**
 * What a dispatched op resolves with, by op type: the store's own result for `command` and
 * `query` ops (refusals reject instead), the API's answer for the others — for `feed.create`
 * with a URL relative to the gateway (`/v1/feeds/<token>/calendar.ics`), which the gateway
 * makes absolute.
 */
export type OpResult<O extends Op> = O extends { type: 'command'; body: { type: infer T } }
  ? T extends CommandType
    ? CommandResults[T]
    : never
  : O extends { type: 'query'; body: { type: infer T } }
    ? T extends QueryType
      ? QueryResults[T]
      : never
    : O extends { type: 'account.register' | 'account.me' }
      ? UserAnswer
      : O extends { type: 'account.login' }
        ? LoginAnswer
        : O extends { type: 'agenda.import' }
          ? ImportAnswer
          : O extends { type: 'feed.create' }
            ? FeedAnswer
            : O extends { type: 'dav.put' }
              ? CommandResults['dav.put']
              : never;
