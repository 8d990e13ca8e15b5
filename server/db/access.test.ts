/**
 * Least privilege at the DB service: every command and query type, asked by every role
 * (and by a certificate naming none), is allowed or refused exactly as the table in
 * server/store/access.ts says; the findings of issue 13 (a gateway reading a password hash,
 * any certificate of the CA acting as anyone) are reproduced and refused; a follower never
 * lends its own rights to the caller it forwards for. Three members in this process, on
 * ports 31700–31719.
 */
import test from 'ava';
import { request } from 'undici';
import { CLUSTER_ROLES } from '../../base/pki.js';
import { ACCESS_REFUSED_METRIC } from '../net/access-refusals.js';
import {
  COMMAND_ACCESS,
  FEED_READS,
  QUERY_ACCESS,
  SESSIONLESS,
  actorAccess,
  storeAccess,
} from '../store/access.js';
import type { CommandBody, QueryBody, QueryType } from '../store/protocol.js';
import { startTestCluster, type TestCluster, type Warned } from './test-cluster.js';

const BASE_PORT = 31700;
const MEMBERS = [1, 2, 3] as const;

/**
 * A valid body of every command type: what is judged is the type (and its key or name).
 * Types only some versions of the protocol have are harmless here: only the table's are sent.
 */
const SAMPLE_COMMANDS: Readonly<Record<string, object>> = {
  'user.register': { type: 'user.register', username: 'sam', passwordHash: 'scrypt$x' },
  'user.replacePasswordHash': {
    type: 'user.replacePasswordHash',
    username: 'sam',
    previousHash: 'scrypt$x',
    passwordHash: 'scrypt$y',
  },
  'session.open': { type: 'session.open', sid: 's1', ttlMs: 60_000, generation: 0 },
  'session.refresh': {
    type: 'session.refresh',
    sid: 's1',
    generation: 0,
    seq: 0,
    revokeForMs: 60_000,
  },
  'session.revoke': { type: 'session.revoke', sid: 's1', expiresAt: 1 },
  'user.changePassword': {
    type: 'user.changePassword',
    previousHash: 'scrypt$x',
    passwordHash: 'scrypt$y',
    sid: 's2',
    ttlMs: 60_000,
  },
  'user.delete': { type: 'user.delete' },
  'user.purge': { type: 'user.purge', username: 'sam' },
  'feed.create': { type: 'feed.create', fid: 'f1', label: 'phone', expiresAt: 1 },
  'feed.revoke': { type: 'feed.revoke', fid: 'f1' },
  'device.create': {
    type: 'device.create',
    did: 'd1',
    label: 'phone',
    passwordHash: 'a'.repeat(64),
  },
  'device.revoke': { type: 'device.revoke', did: 'd1' },
  'event.create': { type: 'event.create', draft: { title: 't', start: 0, end: 60_000 } },
  'event.update': { type: 'event.update', eventId: 'e1', changes: { title: 'u' } },
  'event.cancel': { type: 'event.cancel', eventId: 'e1' },
  'event.cancelOccurrence': { type: 'event.cancelOccurrence', eventId: 'e1', occurrenceStart: 0 },
  'event.updateOccurrence': {
    type: 'event.updateOccurrence',
    eventId: 'e1',
    occurrenceStart: 0,
    changes: { title: 'u' },
  },
  'event.import': { type: 'event.import', events: [] },
  'dav.put': {
    type: 'dav.put',
    name: 'u1',
    event: { uid: 'u1', draft: { title: 't', start: 0, end: 60_000 } },
    answer: null,
  },
  'dav.delete': { type: 'dav.delete', name: 'u1' },
  'invitation.accept': { type: 'invitation.accept', eventId: 'e1' },
  'invitation.decline': { type: 'invitation.decline', eventId: 'e1' },
  'group.create': { type: 'group.create', name: 'g', kind: 'team' },
  'group.addMember': { type: 'group.addMember', group: 'g', username: 'kim' },
  'group.join': { type: 'group.join', group: 'g' },
  'group.decline': { type: 'group.decline', group: 'g' },
  'group.unblock': { type: 'group.unblock', group: 'g' },
  'group.removeMember': { type: 'group.removeMember', group: 'g', username: 'kim' },
  'group.leave': { type: 'group.leave', group: 'g' },
  'group.changeLevel': { type: 'group.changeLevel', group: 'g', username: 'kim', level: 1 },
  'group.transferOwnership': { type: 'group.transferOwnership', group: 'g', to: 'kim' },
  'registry.cas': { type: 'registry.cas', key: 'redis/primary', expectedEpoch: null, value: 'x' },
  'lease.acquire': { type: 'lease.acquire', name: 'redis-supervisor', holder: 'h', ttlMs: 1000 },
  'lease.release': { type: 'lease.release', name: 'vip', holder: 'h' },
};

const SAMPLE_QUERIES: Readonly<Record<string, object>> = {
  'event.list': { type: 'event.list', from: 0, to: 1 },
  'event.show': { type: 'event.show', eventId: 'e1' },
  'event.search': { type: 'event.search', text: 'standup', from: 0, to: 1 },
  'invitation.list': { type: 'invitation.list' },
  'feed.list': { type: 'feed.list' },
  'device.list': { type: 'device.list' },
  'device.lookup': { type: 'device.lookup', username: 'sam', passwordHash: 'a'.repeat(64) },
  'dav.calendar': { type: 'dav.calendar', data: false },
  'dav.sync': { type: 'dav.sync', token: null, data: false },
  'user.beingPurged': { type: 'user.beingPurged', limit: 10 },
  'conflicts.list': { type: 'conflicts.list', from: 0, to: 1 },
  'agenda.view': { type: 'agenda.view', targets: { users: ['sam'] }, from: 0, to: 1 },
  'free.find': { type: 'free.find', group: 'g', from: 0, to: 1, duration: 1 },
  'group.show': { type: 'group.show', group: 'g' },
  'group.list': { type: 'group.list' },
  'agenda.export': { type: 'agenda.export' },
  'user.lookup': { type: 'user.lookup', username: 'sam' },
  'registry.get': { type: 'registry.get', key: 'redis/primary' },
  'lease.get': { type: 'lease.get', name: 'vip' },
  'registry.history': { type: 'registry.history', name: 'vip' },
  'store.status': { type: 'store.status' },
};

let shared: Promise<TestCluster> | undefined;

/** One three-member cluster for the whole file: members are slow to start, calls are cheap. */
function cluster(): Promise<TestCluster> {
  shared ??= startTestCluster(BASE_PORT, 'access-test');
  return shared;
}

test.after.always(async () => {
  if (shared !== undefined) await (await shared).close();
});

const call = async (...args: Parameters<TestCluster['call']>) => (await cluster()).call(...args);

let requestIds = 0;
/**
 * Who a call acts as, as the real callers send it: nobody for the account, registry and
 * lease operations (the store checks an actor's token first, and they have none), a user
 * for the calendar's.
 */
const actorFor = (body: object): string | null =>
  /^(user|registry|lease|store)\./.test((body as { type: string }).type) ? null : 'sam';
/** The session a user's token carries: every call acting as a user names one. */
const SAM_SESSION = { generation: 0, sid: 'sam-session' };
const sessionFor = (body: object) => (actorFor(body) === null ? {} : { session: SAM_SESSION });
const command = (body: object) => ({
  v: 1,
  requestId: `access-${++requestIds}`,
  actor: actorFor(body),
  ...sessionFor(body),
  ids: ['id1', 'id2'],
  body,
});
const query = (body: object) => ({ v: 1, actor: actorFor(body), ...sessionFor(body), body });

test.serial(
  'every command and query type is allowed or refused to every role as the table says',
  async (t) => {
    const c = await cluster();
    const leader = await c.leader();
    // Every type the table knows has a sample: a type newer than this file fails here.
    const samples = (table: object, bodies: Readonly<Record<string, object>>) =>
      Object.keys(table).map((type) => {
        t.truthy(bodies[type], `a sample of ${type}`);
        return [type, bodies[type] ?? {}] as const;
      });
    const commands = samples(COMMAND_ACCESS, SAMPLE_COMMANDS);
    const queries = samples(QUERY_ACCESS, SAMPLE_QUERIES);
    for (const role of [...CLUSTER_ROLES, null]) {
      const agent = c.clients.get(role ?? 'none')!;
      for (const [type, body] of commands) {
        const verdict = storeAccess(role, body as CommandBody, 'command');
        const answer = await call(agent, leader, 'POST /v1/commands', command(body));
        if (verdict.allowed) {
          t.is(answer.status, 200, `${role ?? 'no role'} ${type}: ${JSON.stringify(answer.body)}`);
        } else {
          t.is(answer.status, 403, `${role ?? 'no role'} ${type}`);
          t.is(answer.body.error?.code, 'forbidden');
          t.true(answer.body.error?.message.includes(type), answer.body.error?.message);
          t.like(answer.body.error?.details, { role, operation: type });
        }
      }
      for (const [type, body] of queries) {
        const verdict = storeAccess(role, body as QueryBody, 'query');
        const answer = await call(agent, leader, 'POST /v1/queries', query(body));
        t.is(answer.status, verdict.allowed ? 200 : 403, `${role ?? 'no role'} query ${type}`);
      }
    }
  },
);

test.serial(
  'the table: only the users service reads password hashes, gateways write nothing, the control plane keeps to its own keys',
  (t) => {
    const lookup = SAMPLE_QUERIES['user.lookup'] as QueryBody;
    const allowedLookup = [...CLUSTER_ROLES, null].filter(
      (r) => storeAccess(r, lookup, 'query').allowed,
    );
    t.deepEqual(allowedLookup, ['users']);
    for (const [type, grants] of Object.entries(COMMAND_ACCESS)) {
      t.is(grants.gateway, undefined, `gateways may not ${type}`);
      t.is(grants.db, undefined, `members may not ${type} on their own account`);
      t.is(grants.redis, undefined, `redis may not ${type}`);
    }
    const lease = (name: string) =>
      ({ type: 'lease.acquire', name, holder: 'h', ttlMs: 1000 }) as CommandBody;
    t.true(storeAccess('supervisor', lease('redis-supervisor'), 'command').allowed);
    t.false(storeAccess('supervisor', lease('vip'), 'command').allowed);
    t.true(storeAccess('vip-agent', lease('vip'), 'command').allowed);
    t.false(storeAccess('vip-agent', lease('redis-supervisor'), 'command').allowed);
    const cas = (key: string) =>
      ({ type: 'registry.cas', key, expectedEpoch: null, value: 'x' }) as CommandBody;
    t.true(storeAccess('supervisor', cas('redis/primary'), 'command').allowed);
    t.false(storeAccess('supervisor', cas('gateways/vip'), 'command').allowed);
    t.false(storeAccess('vip-agent', cas('redis/primary'), 'command').allowed);
    const get = { type: 'registry.get', key: 'redis/primary' } as QueryBody;
    t.true(storeAccess('gateway', get, 'query').allowed);
    t.false(storeAccess('gateway', { type: 'registry.get', key: 'other' }, 'query').allowed);
  },
);

test.serial(
  'issue 13: the gateway certificate asking for a password hash is refused, on a follower too',
  async (t) => {
    const c = await cluster();
    const leader = await c.leader();
    const users = c.clients.get('users')!;
    const registered = await call(
      users,
      leader,
      'POST /v1/commands',
      command({
        type: 'user.register',
        username: 'victim',
        passwordHash: 'scrypt$secret',
      }),
    );
    t.is(registered.status, 200);
    const lookup = query({ type: 'user.lookup', username: 'victim' });
    for (const member of MEMBERS) {
      const answer = await call(c.clients.get('gateway')!, member, 'POST /v1/queries', lookup);
      t.is(answer.status, 403);
      t.is(answer.body.error?.message, 'the gateway role may not run user.lookup');
      t.false(JSON.stringify(answer.body).includes('scrypt$secret'));
    }
    const allowed = await call(users, leader, 'POST /v1/queries', lookup);
    t.is(allowed.status, 200);
    t.true(JSON.stringify(allowed.body).includes('scrypt$secret'));
  },
);

test.serial(
  'issue 13: a certificate of the cluster CA that names no role may do nothing',
  async (t) => {
    const c = await cluster();
    const leader = await c.leader();
    const none = c.clients.get('none')!;
    const lookup = await call(
      none,
      leader,
      'POST /v1/queries',
      query({ type: 'user.lookup', username: 'victim' }),
    );
    t.is(lookup.status, 403);
    t.is(lookup.body.error?.message, 'a certificate naming no role may not run user.lookup');
    const registry = await call(
      none,
      leader,
      'POST /v1/queries',
      query(SAMPLE_QUERIES['registry.get']!),
    );
    t.is(registry.status, 403);
    t.is((await call(none, leader, 'GET /v1/status')).status, 403);
    t.is((await call(none, leader, 'GET /metrics')).status, 403);
    // Health probes tell nothing and answer any certificate of the CA.
    t.is((await call(none, leader, 'GET /healthz')).status, 200);
  },
);

test.serial(
  'a follower forwards what the caller may do, and the leader judges the caller, not the follower',
  async (t) => {
    const c = await cluster();
    const leader = await c.leader();
    const follower = MEMBERS.find((id) => id !== leader)!;
    const spare = MEMBERS.find((id) => id !== leader && id !== follower)!;

    // Allowed calls still work through a follower (it forwards them with the caller's role).
    const viaFollower = await call(
      c.clients.get('users')!,
      follower,
      'POST /v1/commands',
      command({
        type: 'user.register',
        username: 'via-follower',
        passwordHash: 'scrypt$f',
      }),
    );
    t.is(viaFollower.status, 200, JSON.stringify(viaFollower.body));
    t.like(viaFollower.body.result, { ok: true });
    const lease = await call(c.clients.get('supervisor')!, follower, 'POST /v1/command-batch', {
      commands: [command(SAMPLE_COMMANDS['lease.acquire']!)],
    });
    t.is(lease.status, 200, JSON.stringify(lease.body));
    const members = await call(c.clients.get('operator')!, follower, 'GET /v1/cluster/members');
    t.is(members.status, 200, JSON.stringify(members.body));

    // A refused call is refused by the follower itself, as a command or in a batch.
    const gateway = c.clients.get('gateway')!;
    const register = command({
      type: 'user.register',
      username: 'intruder',
      passwordHash: 'scrypt$i',
    });
    const refused = await call(gateway, follower, 'POST /v1/commands', register);
    t.is(refused.status, 403);
    t.is(refused.body.error?.message, 'the gateway role may not run user.register');
    t.is(
      (await call(gateway, follower, 'POST /v1/command-batch', { commands: [register] })).status,
      403,
    );
    t.is((await call(c.clients.get('users')!, follower, 'GET /v1/cluster/members')).status, 403);

    // Forging the forwarding headers gets nobody anywhere.
    const forged = { 'x-agenda-forwarded-by': String(follower), 'x-agenda-forwarded-for': 'users' };
    const asGateway = await call(gateway, leader, 'POST /v1/commands', register, forged);
    t.is(asGateway.status, 403);
    t.regex(asGateway.body.error?.message ?? '', /the gateway role may not forward calls/);
    const lookup = query({ type: 'user.lookup', username: 'victim' });
    t.is((await call(gateway, leader, 'POST /v1/queries', lookup, forged)).status, 403);
    // A DB certificate for an id the cluster does not have, or another member's id, does not forward.
    const spareForging = await call(c.clients.get('db-9')!, leader, 'POST /v1/queries', lookup, {
      'x-agenda-forwarded-by': '9',
      'x-agenda-forwarded-for': 'users',
    });
    t.is(spareForging.status, 403);
    const impersonating = await call(
      c.clients.get(`db-${spare}`)!,
      leader,
      'POST /v1/queries',
      lookup,
      forged,
    );
    t.is(impersonating.status, 403);

    // A member forwarding for a gateway cannot lift it: the leader judges the gateway's role.
    const member = c.clients.get(`db-${follower}`)!;
    const forGateway = {
      'x-agenda-forwarded-by': String(follower),
      'x-agenda-forwarded-for': 'gateway',
    };
    const lifted = await call(member, leader, 'POST /v1/commands', register, forGateway);
    t.is(lifted.status, 403);
    t.is(lifted.body.error?.message, 'the gateway role may not run user.register');
    t.is((await call(member, leader, 'POST /v1/queries', lookup, forGateway)).status, 403);
    // Nor may a member claim to forward for another member, or for nobody.
    const forDb = { 'x-agenda-forwarded-by': String(follower), 'x-agenda-forwarded-for': 'db' };
    t.is((await call(member, leader, 'POST /v1/queries', lookup, forDb)).status, 400);
    // A member's own certificate, not forwarding, is allowed nothing of the store.
    t.is((await call(member, leader, 'POST /v1/queries', lookup)).status, 403);
  },
);

test.serial(
  'metrics and status answer the operator role only; refusals are counted, and logged once per role and operation',
  async (t) => {
    const c = await cluster();
    const leader = await c.leader();
    const operator = c.clients.get('operator')!;
    t.is((await call(operator, leader, 'GET /v1/status')).status, 200);
    const users = await call(c.clients.get('users')!, leader, 'GET /metrics');
    t.is(users.status, 403);
    t.is(
      users.body.error?.message,
      'the users role may not run metrics: only the operator certificate may',
    );

    // A pair no earlier test was refused: a VIP agent reading the supervisors' lease.
    const lease = query({ type: 'lease.get', name: 'redis-supervisor' });
    const pair = (w: Warned) =>
      w.fields?.role === 'vip-agent' && w.fields.operation === 'lease.get';
    t.is(c.warned.filter(pair).length, 0);
    for (let i = 0; i < 25; i++) {
      const answer = await call(c.clients.get('vip-agent')!, leader, 'POST /v1/queries', lease);
      t.is(answer.status, 403);
    }
    t.is(c.warned.filter(pair).length, 1);

    const metrics = await request(`https://127.0.0.1:${BASE_PORT + 10 + leader}/metrics`, {
      dispatcher: operator,
    });
    t.is(metrics.statusCode, 200);
    const text = await metrics.body.text();
    t.regex(
      text,
      new RegExp(`${ACCESS_REFUSED_METRIC}\\{role="vip-agent",operation="lease.get"\\} 25\\b`),
    );
  },
);

test.serial(
  'M2: a service certificate acts as no user without that user’s session, but for the few operations listed',
  async (t) => {
    const c = await cluster();
    const leader = await c.leader();
    const sessionless: string[] = [];
    for (const role of CLUSTER_ROLES) {
      const agent = c.clients.get(role)!;
      // As sam, with `session` (none when undefined: JSON leaves it out).
      const ask = async (kind: 'command' | 'query', type: string, session: object | undefined) => {
        const bodies = kind === 'command' ? SAMPLE_COMMANDS : SAMPLE_QUERIES;
        const body = bodies[type]!;
        const request = kind === 'command' ? command(body) : query(body);
        return call(agent, leader, kind === 'command' ? 'POST /v1/commands' : 'POST /v1/queries', {
          ...request,
          actor: 'sam',
          session,
        });
      };
      for (const [kind, table] of [
        ['command', COMMAND_ACCESS],
        ['query', QUERY_ACCESS],
      ] as const) {
        for (const type of Object.keys(table)) {
          const bodies = kind === 'command' ? SAMPLE_COMMANDS : SAMPLE_QUERIES;
          const body = bodies[type] as CommandBody & QueryBody;
          // Only what the role may run at all: the rest is refused (403) before any actor.
          if (!storeAccess(role, body, kind).allowed) continue;
          const bare = await ask(kind, type, undefined);
          const listed =
            (SESSIONLESS[kind] as Record<string, readonly string[] | undefined>)[type]?.includes(
              role,
            ) === true;
          t.is(actorAccess(role, { actor: 'sam', body }, kind).allowed, listed);
          if (listed) {
            sessionless.push(`${role} ${type}`);
            t.is(bare.status, 200, `${role} ${type}: ${JSON.stringify(bare.body)}`);
          } else {
            t.is(bare.status, 401, `${role} ${kind} ${type} as sam without a session`);
            t.is(bare.body.error?.code, 'unauthenticated');
          }
          // A feed's session opens the feed's read and nothing else.
          const feed = await ask(kind, type, { generation: 0, fid: 'f' });
          const feedRead = kind === 'query' && FEED_READS.has(type as QueryType);
          t.is(feed.status, feedRead ? 200 : 401, `${role} ${kind} ${type} with a feed session`);
        }
      }
    }
    t.deepEqual(sessionless.sort(), ['users session.open', 'users session.refresh']);
  },
);

test.serial(
  'M2: with a stolen users or groups certificate and no token, the victim’s calendar and groups are out of reach',
  async (t) => {
    const c = await cluster();
    const leader = await c.leader();
    const users = c.clients.get('users')!;
    const register = await call(users, leader, 'POST /v1/commands', {
      ...command({ type: 'user.register', username: 'ada', passwordHash: 'scrypt$ada' }),
    });
    t.like(register.body.result, { ok: true });
    const asAda = (body: object, extra: object = {}) => ({
      v: 1,
      requestId: `access-${++requestIds}`,
      actor: 'ada',
      ids: ['m2-1', 'm2-2'],
      body,
      ...extra,
    });
    const plant = {
      type: 'event.create',
      draft: { title: 'planted', start: 86_400_000, end: 86_400_000 + 3_600_000 },
    };
    for (const role of ['users', 'groups'] as const) {
      const agent = c.clients.get(role)!;
      for (const body of [plant, { type: 'group.join', group: 'attackers' }]) {
        const bare = await call(agent, leader, 'POST /v1/commands', asAda(body));
        t.is(bare.status, 401, `${role}: ${JSON.stringify(bare.body)}`);
        // A session made up for her is no session of hers: the store opened none such.
        const forged = await call(
          agent,
          leader,
          'POST /v1/commands',
          asAda(body, { session: { generation: 0, sid: 'made-up' } }),
        );
        t.is(forged.status, 200);
        t.like(forged.body.result, { ok: false, error: { code: 'unauthenticated' } });
      }
      const read = await call(agent, leader, 'POST /v1/queries', {
        v: 1,
        actor: 'ada',
        body: { type: 'event.list', from: 0, to: 7 * 86_400_000 },
      });
      t.is(read.status, 401);
    }
    // Her own session (a login's) does open her calendar.
    const login = await call(
      users,
      leader,
      'POST /v1/commands',
      asAda({ type: 'session.open', sid: 'ada-login', ttlMs: 3_600_000, generation: 0 }),
    );
    t.like(login.body.result, { ok: true });
    const own = await call(users, leader, 'POST /v1/queries', {
      v: 1,
      actor: 'ada',
      session: { generation: 0, sid: 'ada-login' },
      body: { type: 'event.list', from: 0, to: 7 * 86_400_000 },
    });
    t.is(own.status, 200, JSON.stringify(own.body));
    t.deepEqual(
      (own.body.result as { ok: boolean; result: { events: unknown[] } }).result.events,
      [],
    );
  },
);
