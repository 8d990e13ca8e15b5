/**
 * How the gateway calls a logic service for a request: within the request deadline, giving
 * up when the client leaves, and not at all when the service is known to have no replica up.
 */
import { errorFromWire, RateLimited, Unavailable } from '../../contract/errors.js';
import type { InFlightGate } from '../limits/in-flight.js';
import type { Requester } from '../bus/requester.js';
import { serviceFor, type Op } from '../protocol/ops.js';
import type { Identity } from './authentication.js';
import type { ServiceAvailability } from './availability.js';
import { withDeadline } from './deadline.js';
import type { GatewayMetrics } from './metrics.js';
import type { Dispatcher } from './ports.js';

export interface ServiceCallsOptions {
  readonly dispatcher: Dispatcher;
  /** How long a request waits for its service's answer, in ms. */
  readonly deadlineMs: number;
  readonly availability: ServiceAvailability;
  readonly metrics: GatewayMetrics;
  /**
   * One signed-in user's reads in flight through this gateway at once (see
   * ../limits/in-flight.ts); past them a read waits its turn, within its deadline.
   */
  readonly readsInFlight?: InFlightGate;
}

/** What a user with too many reads already waiting is told to wait. */
const READS_WAITING_RETRY_AFTER_MS = 1_000;

/** Sends ops to their services and bounds the wait for the answer. */
export class ServiceCalls {
  constructor(private readonly options: ServiceCallsOptions) {}

  /**
   * Sends `op` to its service and waits at most the deadline. Past it the answer is 503:
   * for a write (`ids.write`) the op may still apply, and the answer says to retry with the
   * same idempotency key, which will not apply it twice; a read just failed, and retrying
   * it needs no key.
   * A service that gossip knows to have no replica up is refused at once, without sending:
   * nothing can apply, and the client learns why instead of waiting out the deadline.
   */
  call(
    op: Op,
    identity: Identity | null,
    ids: { readonly requestId: string; readonly busId: string; readonly write?: boolean },
    clientGone: AbortSignal,
  ): Promise<unknown> {
    const actor = identity?.actor ?? null;
    const { dispatcher, deadlineMs, availability, metrics } = this.options;
    const { requestId, busId } = ids;
    const service = serviceFor(op);
    const down = availability.certainlyDown(service);
    if (down !== null) {
      metrics.failedFast(service);
      // Never sent: the client may know that a write it made did not apply.
      return Promise.reject(new Unavailable(down, { forwarded: false }));
    }
    const gate = ids.write === false && actor !== null ? this.options.readsInFlight : undefined;
    return withDeadline(
      async (signal) => {
        const release =
          gate === undefined ? null : await gate.enter((actor ?? '').toLowerCase(), signal);
        if (release === null && gate !== undefined) {
          metrics.limitRefused('reads-in-flight');
          throw new RateLimited('too many reads of this account waiting; retry shortly', {
            retryAfterMs: READS_WAITING_RETRY_AFTER_MS,
            limit: 'reads-in-flight',
          });
        }
        try {
          const answer = await dispatcher.dispatch(service, actor, op, {
            requestId: busId,
            deadlineMs,
            signal,
            ...(identity ? { credential: identity.credential } : {}),
          });
          availability.answered(service);
          return answer;
        } finally {
          release?.();
        }
      },
      clientGone,
      () =>
        new Unavailable(
          `the ${service} service did not answer within ${deadlineMs / 1000} s; ` +
            (ids.write === false ? 'try again later' : `retry with idempotency-key ${requestId}`),
        ),
      deadlineMs,
    );
  }
}

/**
 * The dispatcher over the bus: each op goes to its service as a bus request, with the
 * actor and the session their token names, and the reply's refusal comes back as the
 * AgendaError it names. One for every gateway process, so none forgets the session.
 */
export function busDispatcher(requester: Pick<Requester, 'request'>): Dispatcher {
  return {
    async dispatch(service, actor, op, { requestId, deadlineMs, signal, credential }) {
      const reply = await requester.request(service, actor, op, {
        id: requestId,
        deadlineMs,
        ...(signal ? { signal } : {}),
        ...(credential ? { credential } : {}),
      });
      if (reply.ok) return reply.result;
      throw errorFromWire(reply.error);
    },
  };
}
