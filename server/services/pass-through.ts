/**
 * Store commands and queries a user asks for directly (`command` / `query` ops): the
 * service adds the actor, the request id and fresh ids, and answers the store's result
 * unchanged. Only the calendar's own operations pass: the store's other commands and queries
 * serve the services themselves and the operators' daemons, never a user.
 */
import { Forbidden, Unauthenticated } from '../../contract/errors.js';
import type { Op } from '../protocol/ops.js';
import type { CommandType, QueryType } from '../store/protocol.js';
import type { ServiceAnswer, ServiceRequest } from './ports.js';
import type { StoreSession } from './store-session.js';

/** A `command` or `query` op. */
export type StoreOp = Extract<Op, { type: 'command' | 'query' }>;

// Keyed by every type, so a new store command or query cannot pass before someone decides.
const COMMANDS_FOR_USERS: { readonly [T in CommandType]: boolean } = {
  // The users service registers with a hash it computed itself (account.register); a
  // user-chosen hash would let anyone register an account with a password they never had.
  'user.register': false,
  // The users service's account operations: a session is opened, renewed or ended, a
  // password changed and a feed made only through them (a token's id must be the one the
  // service signs; a refresh, the one a refresh token it verified names).
  'session.open': false,
  'session.refresh': false,
  'session.revoke': false,
  'user.changePassword': false,
  'feed.create': false,
  'feed.revoke': false,
  // An app password is made by the users service (device.create), which shows it once.
  'device.create': false,
  'device.revoke': false,
  // Deleting an account needs its password (account.delete), which only the users service
  // checks; the removal of what it left behind is the service's own work.
  'user.delete': false,
  'user.purge': false,
  // A login's own upgrade of the hash it verified (users-service.ts).
  'user.replacePasswordHash': false,
  'event.create': true,
  'event.update': true,
  'event.cancel': true,
  'event.cancelOccurrence': true,
  'event.updateOccurrence': true,
  'event.import': true,
  // A CalDAV PUT is parsed by the users service (the `dav.put` op), as an import's file is.
  'dav.put': false,
  'dav.delete': true,
  'invitation.accept': true,
  'invitation.decline': true,
  'group.create': true,
  'group.addMember': true,
  'group.join': true,
  'group.decline': true,
  'group.unblock': true,
  'group.removeMember': true,
  'group.leave': true,
  'group.changeLevel': true,
  'group.transferOwnership': true,
  // The registry and leases fence supervisors and gateways.
  'registry.cas': false,
  'lease.acquire': false,
  'lease.release': false,
};

const QUERIES_FOR_USERS: { readonly [T in QueryType]: boolean } = {
  'event.list': true,
  'event.show': true,
  'event.search': true,
  'invitation.list': true,
  'feed.list': false,
  'device.list': false,
  // Answers which device an app password opens: for the users service's sign-in only.
  'device.lookup': false,
  // The caller's calendar as CalDAV shows it; a device's token opens nothing else.
  'dav.calendar': true,
  // What changed in it since a sync token (RFC 6578); a device's token opens it too.
  'dav.sync': true,
  'conflicts.list': true,
  'agenda.view': true,
  'free.find': true,
  'group.show': true,
  'group.list': true,
  'agenda.export': true,
  // Answers the password hash: for login only.
  'user.lookup': false,
  'user.beingPurged': false,
  'registry.get': false,
  'lease.get': false,
  'registry.history': false,
  'store.status': false,
};

/** Whether users may send this store op through a logic service. */
export function isOpenToUsers(op: StoreOp): boolean {
  return op.type === 'command' ? COMMANDS_FOR_USERS[op.body.type] : QUERIES_FOR_USERS[op.body.type];
}

/**
 * The user the request acts for.
 * @throws Unauthenticated when the gateway sent no user.
 */
export function requireActor(request: ServiceRequest): string {
  if (request.actor === null) throw new Unauthenticated('this operation needs a signed-in user');
  return request.actor;
}

/**
 * Sends a user's command or query to the store as that user and answers the result.
 * @throws Unauthenticated (no user), Forbidden (not a user's operation), the store's refusals.
 */
export function passThrough(
  op: StoreOp,
  request: ServiceRequest,
  store: StoreSession,
): Promise<ServiceAnswer> {
  const actor = requireActor(request);
  if (!isOpenToUsers(op)) {
    throw new Forbidden(`${op.body.type} is not available to users`);
  }
  return op.type === 'command' ? store.command(actor, op.body) : store.relayQuery(actor, op.body);
}
