/**
 * Who may do what in Redis: one ACL user per role, from one table, granted only the commands,
 * keys and channels that role's code really uses, each command only on the keys it is for
 * (the same idea as the DB's table in server/store/access.ts). Every Redis of the cluster
 * loads the same ACL file ({@link redisAclFile}), so a promoted replica or a restarted
 * primary grants exactly what the old primary did. How clients log in: ./redis-auth.ts.
 *
 * - `default` is off and has no password: a connection that does not log in can run nothing.
 * - Scripts run with the rights of the user who calls them: the commands a script calls are
 *   granted here too (the worker's finish script, the rate limiter's and the stream leases').
 * - Pub/sub channels are granted per role, not per command: the gateways may subscribe but
 *   not publish (no PUBLISH), the services publish but do not subscribe (no SUBSCRIBE).
 * - A role sees only its own keys: a gateway may only append to the request streams (write
 *   only, `%W~`: it never reads another's request, which carries a token or a password) and
 *   reach the abuse limits' keys (SET, EXPIRE … there only: it cannot clobber a stream); a
 *   users replica only the users stream, a groups replica only the groups stream; the
 *   supervisors, the operator and the replicas no key at all.
 * - Nobody has FLUSHALL, CONFIG, ACL, KEYS, DEBUG, SHUTDOWN, MONITOR or any command not
 *   listed. The supervisors alone may change replication, and only towards the cluster's own
 *   Redis hosts: `REPLICAOF NO ONE`, or `REPLICAOF <host>` for a host the file names (Redis
 *   7's first-argument rules). A supervisor's password alone no longer lets its holder point
 *   a replica at a Redis of its own, which would be sent the replication login and then
 *   every bus write, passwords of registering users included.
 */
import { createHash } from 'node:crypto';
import { LIMIT_KEY_PREFIX } from '../limits/shared-limits.js';
import { STREAM_LEASE_KEY_PREFIX } from '../limits/stream-leases.js';
import { notificationChannel, replyChannel, requestStream, SERVICE_NAMES } from './protocol.js';
import type { ServiceName } from './protocol.js';
import { REDIS_USERS, type RedisUser } from './redis-auth.js';

/** Commands granted together on some keys (none: commands that name no key). */
export interface RedisGrant {
  /** Commands as ACL rules name them (`xadd`, `client|unblock`). */
  readonly commands: readonly string[];
  /** Key patterns: `~p` read and write, `%W~p` write only, `%R~p` read only. */
  readonly keys: readonly string[];
}

/**
 * What one ACL user may do: pub/sub channels, and grants. A command runs when one grant
 * allows it on every key it names (Redis 7 selectors): the gateways' SET may touch only the
 * limits' keys, and their XADD only the request streams, never the other way round.
 */
export interface RedisUserAcl {
  /** Pub/sub channel patterns. */
  readonly channels: readonly string[];
  readonly grants: readonly RedisGrant[];
}

/** Every connection names itself in CLIENT LIST (`gateway-1:commands`), for the operator. */
const NAMES_ITS_CONNECTIONS = 'client|setname';

/** ioredis's ready check: INFO as a connection opens (the supervisor's, the observer's). */
const READY_CHECK = 'info';

/** Replies go to the gateway's channel, notifications to the user's. */
const BUS_CHANNELS = [replyChannel('*'), notificationChannel('*')];

/** A users or groups replica: one member of its service's consumer group (./worker.ts). */
function serviceAcl(service: ServiceName): RedisUserAcl {
  return {
    channels: BUS_CHANNELS,
    grants: [
      {
        commands: [
          NAMES_ITS_CONNECTIONS,
          // The read loop's blocking reads, ended early on shutdown by CLIENT UNBLOCK.
          'client|id',
          'client|unblock',
          'xreadgroup',
          // The group, made on each new primary; long-gone consumers are forgotten.
          'xgroup|create',
          'xgroup|delconsumer',
          'xinfo|consumers',
          // Keeping its requests claimed, taking over a dead replica's.
          'xclaim',
          'xautoclaim',
          'xack',
          // The finish script (reply, acknowledge, delete), by hash or whole.
          'evalsha',
          'eval',
          'xdel',
          // Replies, progress notices, users' live updates (./notifications.ts).
          'publish',
        ],
        keys: [`~${requestStream(service)}`],
      },
    ],
  };
}

export const REDIS_ACL: { readonly [U in RedisUser]: RedisUserAcl } = {
  gateway: {
    channels: BUS_CHANNELS,
    grants: [
      // Its replies and its users' live updates.
      { commands: [NAMES_ITS_CONNECTIONS, 'subscribe', 'unsubscribe'], keys: [] },
      // Requests (./requester.ts): appended, never read.
      { commands: ['xadd'], keys: SERVICE_NAMES.map((service) => `%W~${requestStream(service)}`) },
      // The abuse limits: rate-limiter-flexible's script (SET NX, INCRBY, PTTL, EXPIRE).
      {
        commands: ['evalsha', 'eval', 'set', 'incrby', 'pttl', 'expire'],
        keys: [`~${LIMIT_KEY_PREFIX}:*`],
      },
      // The stream leases' scripts (TIME, ZREMRANGEBYSCORE, ZCARD, ZADD, PEXPIRE), ZREM.
      {
        commands: ['eval', 'time', 'zremrangebyscore', 'zcard', 'zadd', 'pexpire', 'zrem'],
        keys: [`~${STREAM_LEASE_KEY_PREFIX}:*`],
      },
    ],
  },
  users: serviceAcl('users'),
  groups: serviceAcl('groups'),
  // supervisor/redis-control.ts: health checks and the failover itself; REPLICAOF is
  // granted per target host by `redisAclFile` (`replicaOfRules`).
  supervisor: {
    channels: [],
    grants: [{ commands: [NAMES_ITS_CONNECTIONS, READY_CHECK, 'role'], keys: [] }],
  },
  // The observer (ops/observer.ts, lab/observe.ts) shows each instance's role.
  operator: { channels: [], grants: [{ commands: [READY_CHECK, 'role'], keys: [] }] },
  // A replica's link to its primary (`masteruser`): the handshake and the stream.
  replication: { channels: [], grants: [{ commands: ['ping', 'replconf', 'psync'], keys: [] }] },
};

/** Who may be a primary: the hosts (IP addresses, as the supervisors name them) of its Redis. */
export interface RedisAclContext {
  readonly replicationHosts: readonly string[];
}

/** A host as a first argument of an ACL rule: an address, nothing the rule syntax reads. */
const ACL_HOST = /^[0-9A-Za-z.:-]{1,253}$/;

/**
 * The supervisor's REPLICAOF, one rule per allowed first argument: `no` (of `NO ONE`) and each
 * Redis host. Redis compares first arguments without regard to case.
 */
export function replicaOfRules(context: RedisAclContext): string[] {
  const hosts = [...new Set(context.replicationHosts)];
  for (const host of hosts) {
    if (!ACL_HOST.test(host) || host.toLowerCase() === 'no') {
      throw new Error(`a Redis host in the ACL must be an address, not ${JSON.stringify(host)}`);
    }
  }
  return ['+replicaof|no', ...hosts.map((host) => `+replicaof|${host}`)];
}

/**
 * The ACL rules of one user, after `reset` (no password, nothing allowed, off): its channels
 * and first grant, then every other grant as a selector, in parentheses.
 */
export function aclRules(user: RedisUser, context: RedisAclContext): string[] {
  const { channels, grants } = REDIS_ACL[user];
  const rules = (grant: RedisGrant) => [...grant.keys, ...grant.commands.map((c) => `+${c}`)];
  const [first, ...others] = grants;
  return [
    ...channels.map((c) => `&${c}`),
    ...(first === undefined ? [] : rules(first)),
    // First-argument rules cannot go in a selector; the supervisor's only grant is its first.
    ...(user === 'supervisor' ? replicaOfRules(context) : []),
    ...others.map((grant) => `(${rules(grant).join(' ')})`),
  ];
}

/**
 * The ACL file every Redis of the cluster loads (`aclfile`): each user's password stored as
 * its SHA-256 (Redis keeps no password itself), `default` off. ACL files take no comments:
 * this module is their documentation.
 */
export function redisAclFile(
  passwords: Readonly<Record<RedisUser, string>>,
  context: RedisAclContext,
): string {
  const lines = ['user default reset off'];
  for (const user of REDIS_USERS) {
    const password = passwords[user];
    if (!/^[\x21-\x7e]+$/.test(password)) {
      throw new Error(`the Redis password of ${user} must be printable ASCII without spaces`);
    }
    const hash = createHash('sha256').update(password).digest('hex');
    lines.push(['user', user, 'reset', 'on', `#${hash}`, ...aclRules(user, context)].join(' '));
  }
  return `${lines.join('\n')}\n`;
}
