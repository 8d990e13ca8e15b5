/**
 * What every logic service does before its own work: refuse a request that has already run
 * out of time, validate the op at the boundary, check that the op is this service's, and
 * give the operation a {@link StoreSession} bound to the request.
 */
import {
  asAgendaError,
  InvalidInput,
  Unauthenticated,
  Unavailable,
} from '../../contract/errors.js';
import type { VerifiedToken } from '../users/token-verifier.js';
import { parseOp, serviceFor } from '../protocol/ops.js';
import type { Op, ServiceName } from '../protocol/ops.js';
import type { LogicService, ServiceAnswer, ServiceDependencies, ServiceRequest } from './ports.js';
import { StoreSession } from './store-session.js';
import type { BusRequest } from '../bus/protocol.js';
import { DEVICE_READS, DEVICE_WRITES, FEED_READS } from '../store/access.js';

/** What an operation is given to do its work. */
export interface OperationCall {
  readonly request: ServiceRequest;
  readonly store: StoreSession;
  /** The service's clock, epoch milliseconds. */
  readonly clock: () => number;
  /** Aborts at the request's deadline or when the worker gives up on it. */
  readonly signal: AbortSignal;
}

/** A service's own work on a validated op that belongs to it. */
export type PerformOperation = (op: Op, call: OperationCall) => Promise<ServiceAnswer>;

/** How an op is named in messages: `account.login`, `command group.create`. */
export function describeOp(op: Op): string {
  return op.type === 'command' || op.type === 'query' ? `${op.type} ${op.body.type}` : op.type;
}

/** The refusal of an op that belongs to another service (the gateway routed it wrong). */
export function notForThisService(service: ServiceName, op: Op): InvalidInput {
  return new InvalidInput(
    `the ${service} service does not handle ${describeOp(op)}; the ${serviceFor(op)} service does`,
    { field: 'type' },
  );
}

/** A {@link LogicService} made of the common checks and a service's own operations. */
export class ServiceHandler implements LogicService {
  private readonly clock: () => number;

  constructor(
    readonly name: ServiceName,
    private readonly deps: ServiceDependencies,
    private readonly perform: PerformOperation,
  ) {
    this.clock = deps.clock ?? Date.now;
  }

  /** See {@link LogicService.handle}; every rejection is an `AgendaError`. */
  async handle(request: ServiceRequest, signal: AbortSignal): Promise<ServiceAnswer> {
    try {
      // Nobody waits for the answer any more (e.g. a request claimed from a dead replica
      // long after): doing the work would only load the DB. The gateway retries with the
      // same id if it still wants it.
      if (signal.aborted || request.deadline <= this.clock()) {
        throw new Unavailable('the request expired before the service could handle it');
      }
      const op = parseOp(request.op);
      if (serviceFor(op) !== this.name) throw notForThisService(this.name, op);
      const store = new StoreSession({
        database: this.deps.database,
        publisher: this.deps.publisher,
        log: this.deps.log,
        clock: this.clock,
        request,
        signal,
      });
      return await this.perform(op, { request, store, clock: this.clock, signal });
    } catch (error) {
      throw asAgendaError(error);
    }
  }
}

/** Checks a user's token (server/users/token-verifier.ts). */
export interface TokenChecker {
  verify(token: string, kind: 'session' | 'feed' | 'device'): Promise<VerifiedToken>;
}

/**
 * The request a service handles, from the bus request that carried it. The actor is taken
 * from the token that travels with it, verified here again with the users service's public
 * key — not from the envelope's `actor` alone, which anyone able to write to the bus could
 * set — and the token's session goes with it, for the store to check on every command and
 * query. Every service process builds its requests here. A feed token opens only the feed,
 * a device token only CalDAV's reads and writes: whoever writes a request to the bus with one
 * asks for nothing else with it.
 * @throws Unauthenticated when the token does not verify, names another user than the
 *   envelope, is missing from a request that acts as a user, or is a feed's on a request
 *   for anything but reading the feed.
 */
export async function serviceRequestFrom(
  request: BusRequest,
  tokens: TokenChecker,
): Promise<ServiceRequest> {
  const base = { id: request.id, op: request.op, deadline: request.deadline };
  const { credential } = request;
  if (credential === undefined) {
    if (request.actor !== null) {
      throw new Unauthenticated('a request acting as a user must carry their token');
    }
    return { ...base, actor: null };
  }
  const verified = await tokens.verify(credential.token, credential.kind);
  if (request.actor !== verified.actor) {
    throw new Unauthenticated('the request names another user than its token');
  }
  if (credential.kind === 'feed' && !isFeedRead(request.op)) {
    throw new Unauthenticated(
      'a calendar feed token only reads its feed (GET /v1/feeds/<token>/calendar.ics); log in for the API',
    );
  }
  if (credential.kind === 'device' && !isDeviceOp(request.op)) {
    throw new Unauthenticated(
      "a device's app password only opens its calendar over CalDAV (reading it, writing its events); log in for the API",
    );
  }
  return { ...base, actor: verified.actor, session: verified.session };
}

/**
 * Whether `op` is what a device token opens: the calendar's CalDAV reads (`DEVICE_READS`)
 * and writes (a PUT's `dav.put` op, which the users service makes a `dav.put` command;
 * `DEVICE_WRITES` passed through).
 */
function isDeviceOp(raw: unknown): boolean {
  let op: Op;
  try {
    op = parseOp(raw);
  } catch {
    return false;
  }
  return (
    (op.type === 'query' && DEVICE_READS.has(op.body.type)) ||
    (op.type === 'command' && DEVICE_WRITES.has(op.body.type)) ||
    op.type === 'dav.put'
  );
}

/**
 * Whether `op` is what a feed token opens: the export the feed's `.ics` route asks for
 * (`FEED_READS`). Anything else needs an access token; a refresh token is never a request's
 * credential at all (the refresh op carries it, and the users service checks it as one).
 */
function isFeedRead(raw: unknown): boolean {
  let op: Op;
  try {
    op = parseOp(raw);
  } catch {
    return false;
  }
  return op.type === 'query' && FEED_READS.has(op.body.type);
}
