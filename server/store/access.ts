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
 * - the operator reads every lease and registry key and the store's status, and records
 *   the first Redis primary (lab/runner.ts); it reads no calendar and no password.
 * DB members (`db`) and Redis (`redis`) run nothing through this API of their own.
 */
import { describeRole, type ClusterRole } from '../../base/pki.js';
import type { CommandBody, CommandType, QueryBody, QueryType } from './protocol.js';

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
  // Deleting an account checks its password first, and only the users service can; the
  // removal of what it left behind is the users service's too (account-deletion.ts).
  'user.delete': { users: 'any' },
  'user.purge': { users: 'any' },
  'event.create': CALENDAR,
  'event.update': CALENDAR,
  'event.cancel': CALENDAR,
  'event.cancelOccurrence': CALENDAR,
  'event.import': CALENDAR,
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
  'invitation.list': CALENDAR,
  'feed.list': { users: 'any' },
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
  'store.status': { operator: 'any' },
};

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
