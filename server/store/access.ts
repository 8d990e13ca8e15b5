/**
 * Who may run which store command and query: one table, keyed by every command and query
 * type of ./protocol.ts, by the role the caller's certificate names (`base/pki.ts`). The DB
 * service applies it to every call before anything else (`server/db/service.ts`); a DB
 * member forwarding a command to the leader is judged by the role of the caller it forwards
 * for, never by its own.
 *
 * Least privilege, as each daemon really uses the store:
 * - the users service alone reads password hashes (`user.lookup`) and writes them;
 * - the users and groups services run the calendar's commands and queries for their users;
 * - gateways, users and groups replicas only read where the Redis primary is
 *   (`registry.get redis/primary`, server/bus/primary-source.ts);
 * - supervisors hold the `redis-supervisor` lease and move `redis/primary`
 *   (supervisor/supervisor.ts); VIP agents hold their `vip…` lease (vip-agent/config.ts);
 * - the operator reads every lease and registry key, their history and the store's status, and records
 *   the first Redis primary (lab/runner.ts); it reads no calendar and no password.
 * DB members (`db`) and Redis (`redis`) run nothing through this API of their own.
 *
 * A role's grant is not the right to be anyone: a command or query that names an actor must
 * carry the session of the token that actor's request came with ({@link actorAccess}), which
 * the store checks is theirs and still live (calendar-store.ts). A service certificate alone
 * therefore acts as no user; only {@link SESSIONLESS} lists what acts as one without it.
 */
import { describeRole, type ClusterRole } from '../../base/cluster-role.js';
import type { CommandBody, CommandType, QueryBody, QueryType, SessionRef } from './protocol.js';

/** What a role may do with one operation: any of it, or only on some registry keys or lease names. */
export type Grant = 'any' | { readonly namesStartingWith: readonly string[] };

/** The roles an operation is open to; a role not listed is refused. */
export type Grants = Readonly<Partial<Record<ClusterRole, Grant>>>;

/** Where the Redis primary is recorded (`PRIMARY_REGISTRY_KEY`, `redis/primary`). */
const REDIS_REGISTRY: Grant = { namesStartingWith: ['redis/'] };
/** The supervisors' lease (`SUPERVISOR_LEASE`). */
const SUPERVISOR_LEASE: Grant = { namesStartingWith: ['redis-supervisor'] };
/** The VIP agents' lease: `leaseName` in their configs, `vip` unless set otherwise. */
const VIP_LEASE: Grant = { namesStartingWith: ['vip'] };

/** The calendar's own operations, which the services run for their signed-in users. */
const CALENDAR: Grants = { users: 'any', groups: 'any' };

// Keyed by every type, so a new store command or query is refused to everyone until someone
// decides who needs it (the same contract as COMMANDS_FOR_USERS in server/services/pass-through.ts).
export const COMMAND_ACCESS: { readonly [T in CommandType]: Grants } = {
  // Only the users service hashes passwords; anyone else registering could pick a known hash.
  'user.register': { users: 'any' },
  'user.replacePasswordHash': { users: 'any' },
  // Tokens are the users service's: it signs them, opens, renews and ends sessions and feeds.
  'session.open': { users: 'any' },
  'session.refresh': { users: 'any' },
  'session.revoke': { users: 'any' },
  'user.changePassword': { users: 'any' },
  'feed.create': { users: 'any' },
  'feed.revoke': { users: 'any' },
  // App passwords are the users service's: it makes them and keeps only their hash.
  'device.create': { users: 'any' },
  'device.revoke': { users: 'any' },
  // Deleting an account checks its password first, and only the users service can; the
  // removal of what it left behind is the users service's too (account-deletion.ts).
  'user.delete': { users: 'any' },
  'user.purge': { users: 'any' },
  'event.create': CALENDAR,
  'event.update': CALENDAR,
  'event.cancel': CALENDAR,
  'event.cancelOccurrence': CALENDAR,
  'event.updateOccurrence': CALENDAR,
  'event.import': CALENDAR,
  // CalDAV's writes reach the store through the users service, which parses the object.
  'dav.put': { users: 'any' },
  'dav.delete': { users: 'any' },
  'invitation.accept': CALENDAR,
  'invitation.decline': CALENDAR,
  'group.create': CALENDAR,
  'group.addMember': CALENDAR,
  'group.join': CALENDAR,
  'group.decline': CALENDAR,
  'group.unblock': CALENDAR,
  'group.removeMember': CALENDAR,
  'group.leave': CALENDAR,
  'group.changeLevel': CALENDAR,
  'group.transferOwnership': CALENDAR,
  'registry.cas': { supervisor: REDIS_REGISTRY, operator: REDIS_REGISTRY },
  'lease.acquire': { supervisor: SUPERVISOR_LEASE, 'vip-agent': VIP_LEASE },
  'lease.release': { supervisor: SUPERVISOR_LEASE, 'vip-agent': VIP_LEASE },
};

export const QUERY_ACCESS: { readonly [T in QueryType]: Grants } = {
  'event.list': CALENDAR,
  'event.show': CALENDAR,
  'event.search': CALENDAR,
  'invitation.list': CALENDAR,
  'feed.list': { users: 'any' },
  'device.list': { users: 'any' },
  // Which device an app password opens: for the users service's sign-in by app password.
  'device.lookup': { users: 'any' },
  'dav.calendar': { users: 'any' },
  'dav.sync': { users: 'any' },
  'conflicts.list': CALENDAR,
  'agenda.view': CALENDAR,
  'free.find': CALENDAR,
  'group.show': CALENDAR,
  'group.list': CALENDAR,
  'agenda.export': CALENDAR,
  // Answers the password hash: for the users service's login only.
  'user.lookup': { users: 'any' },
  // Which deleted accounts still have data to remove: for the users service, which removes it.
  'user.beingPurged': { users: 'any' },
  'registry.get': {
    gateway: REDIS_REGISTRY,
    users: REDIS_REGISTRY,
    groups: REDIS_REGISTRY,
    supervisor: REDIS_REGISTRY,
    operator: 'any',
  },
  'lease.get': { supervisor: SUPERVISOR_LEASE, 'vip-agent': VIP_LEASE, operator: 'any' },
  // The failovers before the operator's dashboard started (registry.ts): for the operator.
  'registry.history': { operator: 'any' },
  'store.status': { operator: 'any' },
};

/**
 * What acts as a user without that user's session, by role: nothing else does.
 * - `session.open`, for the users service: a login, whose password the service just checked
 *   against the hash; there is no session before it, it opens the one its tokens name.
 * - `session.refresh`, for the users service: a refresh token presented (it travels in the
 *   op, checked by the service, not as the request's credential). The command names that
 *   token's session itself (`sid`, `generation`), and the store renews nothing unless it is
 *   the actor's live session of their current generation: the same check, on the same claims.
 * Not listed, because they name no actor (and are the users service's alone, above):
 * `user.register` (no account yet), `user.lookup` while logging in and before deleting an
 * account (the password is checked against it), `user.replacePasswordHash`, and the removal
 * of what a deleted account left (`user.purge`, `user.beingPurged`, which the deletion's
 * request and the deletion sweeper run after the account and its sessions are gone).
 */
export const SESSIONLESS: {
  readonly command: { readonly [T in CommandType]?: readonly ClusterRole[] };
  readonly query: { readonly [T in QueryType]?: readonly ClusterRole[] };
} = {
  command: { 'session.open': ['users'], 'session.refresh': ['users'] },
  query: {},
};

/**
 * What a calendar feed's token may read (the `.ics` route of `GET /v1/feeds/:token/calendar.ics`):
 * a request with a feed's session (`fid`) may run nothing else, here or in the services.
 */
export const FEED_READS: ReadonlySet<QueryType> = new Set<QueryType>(['agenda.export']);

/**
 * What a device's token may read (CalDAV, server/gateway/caldav.ts): a request with a
 * device's session (`did`) may run nothing else, here or in the services.
 */
export const DEVICE_READS: ReadonlySet<QueryType> = new Set<QueryType>([
  'dav.calendar',
  'dav.sync',
]);

/**
 * What a device's token may write (CalDAV's PUT and DELETE, server/store/dav-writes.ts):
 * with {@link DEVICE_READS}, all a device's session opens. Nothing else of the API: a
 * calendar app holding an app password changes the events of its calendar, never the
 * account, its groups, its devices or its feeds.
 */
export const DEVICE_WRITES: ReadonlySet<CommandType> = new Set<CommandType>([
  'dav.put',
  'dav.delete',
]);

/** Whether `session`, a feed's, a device's or a login's, may be used for `body`. */
export function sessionOpens(
  session: SessionRef,
  body: CommandBody | QueryBody,
  kind: 'command' | 'query',
): AccessVerdict {
  if (session.fid !== undefined) {
    return kind === 'query' && FEED_READS.has(body.type as QueryType)
      ? { allowed: true }
      : {
          allowed: false,
          reason: `a calendar feed token only opens its feed; it may not run ${body.type}`,
        };
  }
  if (session.did !== undefined) {
    return (kind === 'query' && DEVICE_READS.has(body.type as QueryType)) ||
      (kind === 'command' && DEVICE_WRITES.has(body.type as CommandType))
      ? { allowed: true }
      : {
          allowed: false,
          reason: `a device's app password only opens its calendar over CalDAV (reading it, writing its events); it may not run ${body.type}`,
        };
  }
  if (session.sid === undefined) {
    return { allowed: false, reason: 'the session names neither a login, a feed nor a device' };
  }
  return { allowed: true };
}

/**
 * Whether a call that `role` may run (by {@link storeAccess}) may act as its actor: only with
 * the session the actor's token carries, unless {@link SESSIONLESS} says otherwise. A call
 * acting as nobody needs none. A refusal is the caller's `unauthenticated`.
 */
export function actorAccess(
  role: ClusterRole | null,
  request: {
    readonly actor: string | null;
    readonly session?: SessionRef | undefined;
    readonly body: CommandBody | QueryBody;
  },
  kind: 'command' | 'query',
): AccessVerdict {
  const { actor, session, body } = request;
  if (actor === null) return { allowed: true };
  if (session !== undefined) return sessionOpens(session, body, kind);
  const table: Readonly<Record<string, readonly ClusterRole[] | undefined>> = SESSIONLESS[kind];
  if (role !== null && table[body.type]?.includes(role) === true) return { allowed: true };
  return {
    allowed: false,
    reason: `${body.type} as ${actor} needs the session of ${actor}'s token; ${describeRole(role)} may not act as a user on its own`,
  };
}

/** Whether a call is allowed, and if not why, for the 403's message. */
export type AccessVerdict =
  { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/** Whether `role` may run `body` (a command's or a query's), by the tables above. */
export function storeAccess(
  role: ClusterRole | null,
  body: CommandBody | QueryBody,
  kind: 'command' | 'query',
): AccessVerdict {
  // A type missing from the table (only possible past the type checker) is open to no one.
  const table: Readonly<Record<string, Grants | undefined>> =
    kind === 'command' ? COMMAND_ACCESS : QUERY_ACCESS;
  const grants = table[body.type] ?? {};
  const who = describeRole(role);
  const grant = role === null ? undefined : grants[role];
  if (grant === undefined) {
    return { allowed: false, reason: `${who} may not run ${body.type}` };
  }
  if (grant === 'any') return { allowed: true };
  const target = scopedName(body);
  if (target !== null && grant.namesStartingWith.some((prefix) => target.startsWith(prefix))) {
    return { allowed: true };
  }
  return {
    allowed: false,
    reason: `${who} may run ${body.type} only on names starting with ${grant.namesStartingWith.map((p) => JSON.stringify(p)).join(' or ')}`,
  };
}

/** The registry key or lease name an operation acts on; null for any other operation. */
function scopedName(body: CommandBody | QueryBody): string | null {
  if ('key' in body && typeof body.key === 'string') return body.key;
  if (body.type.startsWith('lease.') && 'name' in body && typeof body.name === 'string') {
    return body.name;
  }
  return null;
}
