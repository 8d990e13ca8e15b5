/**
 * Redis's ACL users (./acl.ts) on a real redis-server with TLS: each role does its job
 * through the real code (requester, worker, notifications, abuse limits, the supervisor's
 * commands), and is refused everything else; `default` is off; a refusal is logged once.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SharedLimits } from '../limits/shared-limits.js';
import { StreamLeases } from '../limits/stream-leases.js';
import { aclRules, redisAclFile, REDIS_ACL } from './acl.js';
import type { BusConnection } from './connection.js';
import { NotificationPublisher, NotificationSubscriber } from './notifications.js';
import { StaticPrimarySource } from './primary-source.js';
import { notificationChannel, replyChannel, requestGroup, requestStream } from './protocol.js';
import {
  aclCommandName,
  loginOptions,
  readRedisCredentials,
  REDIS_USERS,
  RefusalLog,
} from './redis-auth.js';
import type { RedisCredentials, RedisUser } from './redis-auth.js';
import { Requester } from './requester.js';
import {
  createRedisAuth,
  createRedisTls,
  openBus,
  PortRange,
  RecordingLogger,
  startRedis,
  waitFor,
  waitForReplication,
} from './test-support.js';
import type { RedisProcess, RedisTestAuth, RedisTlsFiles } from './test-support.js';
import { RequestWorker } from './worker.js';

/** This file's ports: 28500–28549. */
const ports = new PortRange(28_500, 28_549);
let tls: RedisTlsFiles;
let auth: RedisTestAuth;

test.before(async () => {
  tls = await createRedisTls();
  auth = await createRedisAuth(tls);
});
test.after.always(async () => {
  await tls?.remove();
});

const REFUSED = /^NOPERM|The user executing the script can't/;

function start(t: ExecutionContext, replicaOf?: RedisProcess): Promise<RedisProcess> {
  return startRedis({
    ports,
    tls,
    auth,
    teardown: (stop) => t.teardown(stop),
    ...(replicaOf === undefined ? {} : { replicaOf }),
  });
}

/** A plain client with the cluster certificate, logged in as `login` (none: `default`). */
function client(t: ExecutionContext, server: RedisProcess, login?: RedisCredentials): Redis {
  const redis = new Redis({
    host: server.host,
    port: server.port,
    tls: tls.client,
    ...loginOptions(login),
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  t.teardown(() => redis.disconnect());
  return redis;
}

/** A client logged in as `user`. */
function as(t: ExecutionContext, server: RedisProcess, user: RedisUser): Redis {
  return client(t, server, auth.credentials(user));
}

/** A bus connection of `name` logged in as `user`, logging to `logger`. */
function bus(
  t: ExecutionContext,
  server: RedisProcess,
  name: string,
  user: RedisUser,
  logger = new RecordingLogger(),
): BusConnection {
  return openBus(t, tls, new StaticPrimarySource(server.address(1)), name, {
    auth: auth.credentials(user),
    logger,
  });
}

test('the ACL file: default off, every user reset first, passwords only as hashes', (t) => {
  const passwords = Object.fromEntries(
    REDIS_USERS.map((u) => [u, `secret-of-${u}-0123456789`]),
  ) as Record<RedisUser, string>;
  const context = { replicationHosts: ['10.77.0.11', '10.77.0.12'] };
  const file = redisAclFile(passwords, context);
  const lines = file.trimEnd().split('\n');
  t.is(lines[0], 'user default reset off');
  t.is(lines.length, REDIS_USERS.length + 1);
  for (const user of REDIS_USERS) {
    const line = lines.find((l) => l.startsWith(`user ${user} `)) ?? '';
    t.regex(line, new RegExp(`^user ${user} reset on #[0-9a-f]{64} `));
    t.true(line.endsWith(aclRules(user, context).join(' ')));
    t.false(file.includes(passwords[user]));
  }
  // Nobody gets a whole category, every key or every channel.
  t.false(/[ (]([+]@|~\*|%[RW]+~\*|&\*|allkeys|allchannels|allcommands)/.test(file));
  // REPLICAOF: only `NO ONE` and the cluster's own hosts; a host that reads as a rule is refused.
  t.regex(file, / \+replicaof\|no \+replicaof\|10\.77\.0\.11 \+replicaof\|10\.77\.0\.12( |$)/m);
  t.false(/ \+replicaof( |$)/m.test(file));
  for (const host of ['', 'no', 'a b', '+@all', 'x|y', '~*']) {
    t.throws(() => redisAclFile(passwords, { replicationHosts: [host] }));
  }
  t.is(aclCommandName('CLIENT', ['UNBLOCK', 7]), 'client|unblock');
  t.is(aclCommandName('evalsha', ['abc', 1]), 'evalsha');
});

test('without logging in, a cluster certificate opens nothing: default is off', async (t) => {
  const server = await start(t);
  await t.throwsAsync(client(t, server).ping(), { message: /^NOAUTH/ });
  await t.throwsAsync(client(t, server).call('AUTH', 'default', ''), { message: /^WRONGPASS/ });
  await t.throwsAsync(
    client(t, server, { user: 'gateway', password: auth.credentials('users').password }).ping(),
    { message: /WRONGPASS/ },
  );
});

test('each role does its job through the real code, and Redis refuses none of it', async (t) => {
  const server = await start(t);
  const logs = { gateway: new RecordingLogger(), users: new RecordingLogger() };
  const gateway = bus(t, server, 'gateway-1', 'gateway', logs.gateway);
  const users = bus(t, server, 'users-1', 'users', logs.users);
  const groups = bus(t, server, 'groups-1', 'groups');

  const requester = new Requester({ connection: gateway, gatewayId: 'gateway-1' });
  t.teardown(() => requester.close());
  const send = (service: 'users' | 'groups', id: string) =>
    requester.request(service, 'alice', { n: id }, { id, deadlineMs: 5_000 });

  // A replica that served once and left: the others forget it later (XINFO, XGROUP).
  const gone = new RequestWorker({
    connection: users,
    service: 'users',
    consumer: 'users-gone',
    handler: (request) => Promise.resolve({ ok: true, result: { gone: request.op } }),
  });
  t.like(await send('users', 'r0'), { ok: true, result: { gone: { n: 'r0' } } });
  await gone.close();
  const consumers = async () =>
    JSON.stringify(
      await as(t, server, 'users').call(
        'XINFO',
        'CONSUMERS',
        requestStream('users'),
        requestGroup('users'),
      ),
    );
  t.true((await consumers()).includes('users-gone'));

  // Services: consume (a slow request is kept claimed and reported in progress), reply,
  // notify.
  const publisher = new NotificationPublisher(users);
  const workerLog = new RecordingLogger();
  const workers = [
    new RequestWorker({
      connection: users,
      service: 'users',
      consumer: 'users-1',
      claimIdleMs: 300,
      forgetConsumersAfterMs: 100,
      logger: workerLog,
      handler: async (request) => {
        await publisher.publish('alice', { about: request.id });
        if (request.id === 'slow') await sleep(450);
        return { ok: true, result: { users: request.op } };
      },
    }),
    new RequestWorker({
      connection: groups,
      service: 'groups',
      consumer: 'groups-1',
      claimIdleMs: 300,
      handler: (request) => Promise.resolve({ ok: true, result: { groups: request.op } }),
    }),
  ];
  t.teardown(() => Promise.all(workers.map((w) => w.close())).then(() => undefined));

  // Gateways: subscribe to a user's updates, send requests, get the replies.
  const updates: unknown[] = [];
  const stopUpdates = await new NotificationSubscriber(gateway).subscribe('alice', (update) =>
    updates.push(update),
  );
  t.like(await send('users', 'r1'), { ok: true, result: { users: { n: 'r1' } } });
  t.like(await send('groups', 'r2'), { ok: true, result: { groups: { n: 'r2' } } });
  t.like(await send('users', 'slow'), { ok: true, result: { users: { n: 'slow' } } });
  await waitFor('the live updates', () => updates.length === 2);
  stopUpdates();
  await waitFor('the long-gone consumer to be forgotten', () =>
    workerLog.lines.some((l) => l.message === 'forgot an idle consumer'),
  );
  t.false((await consumers()).includes('users-gone'));

  // Gateways: the abuse limits and the stream leases, counted in Redis.
  const limits = new SharedLimits({ redis: (signal) => gateway.commands(signal), budgetMs: 1_000 });
  const logins = limits.limit('logins', { points: 1, durationSec: 60 });
  t.like(await logins.consume('alice'), { allowed: true, decidedBy: 'redis' });
  await logins.refund('alice');
  t.like(await logins.consume('alice'), { allowed: true, decidedBy: 'redis' });
  t.like(await logins.consume('alice'), { allowed: false, decidedBy: 'redis' });
  const leases = new StreamLeases({ perUser: 1, leaseMs: 3_000 }, limits);
  t.teardown(() => leases.close());
  const first = await leases.acquire('alice');
  t.true(first.granted);
  t.false((await leases.acquire('alice')).granted, 'the cap holds in Redis');
  if (first.granted) first.lease.release();
  await waitFor(
    'the released lease to be gone',
    async () => (await leases.acquire('alice')).granted,
  );

  // Closing ends the blocking reads at once (CLIENT UNBLOCK).
  await Promise.all(workers.map((w) => w.close()));

  for (const connection of [gateway, users, groups]) t.is(connection.refused, 0);
  t.deepEqual(
    [...logs.gateway.lines, ...logs.users.lines].filter((l) => l.level === 'warn'),
    [],
  );
});

test('the supervisor reads roles and moves replication; the operator reads roles', async (t) => {
  const primary = await start(t);
  const replica = await start(t, primary);
  await waitForReplication(replica);
  const supervisor = as(t, replica, 'supervisor');
  t.is(((await supervisor.call('ROLE')) as unknown[])[0], 'slave');
  t.regex(await supervisor.info('replication'), /master_link_status:up/);
  t.is(await supervisor.client('SETNAME', 'supervisor:s1'), 'OK');
  // The promotion and the demotion a failover makes.
  t.is(await supervisor.call('REPLICAOF', 'NO', 'ONE'), 'OK');
  t.is(
    await as(t, primary, 'supervisor').call('REPLICAOF', replica.host, String(replica.port)),
    'OK',
  );
  // The demoted one logs in to its new primary as `replication`, from the same config file.
  await waitForReplication(primary);
  const operator = as(t, primary, 'operator');
  t.is(((await operator.call('ROLE')) as unknown[])[0], 'slave');
  await t.throwsAsync(operator.call('REPLICAOF', 'NO', 'ONE'), { message: REFUSED });
  // Only the cluster's own hosts may be followed: a supervisor's password cannot point a
  // replica at a Redis of its holder's, which would be sent the replication login.
  await t.throwsAsync(as(t, primary, 'supervisor').call('REPLICAOF', '127.0.0.2', '6379'), {
    message: REFUSED,
  });
  t.is(((await operator.call('ROLE')) as unknown[])[0], 'slave');
  // The promoted one grants as before: a gateway writes requests, `default` is still off.
  t.truthy(await as(t, replica, 'gateway').xadd(requestStream('users'), '*', 'm', '{}'));
  await t.throwsAsync(client(t, replica).ping(), { message: /^NOAUTH/ });
});

test('no role may flush, reconfigure, list keys or read the ACL', async (t) => {
  const server = await start(t);
  for (const user of REDIS_USERS) {
    const redis = as(t, server, user);
    for (const command of [
      ['FLUSHALL'],
      ['FLUSHDB'],
      ['CONFIG', 'SET', 'maxmemory', '1'],
      ['CONFIG', 'GET', 'masterauth'],
      ['ACL', 'LIST'],
      ['ACL', 'SETUSER', user, 'allcommands'],
      ['KEYS', '*'],
      ['SCAN', '0'],
      ['CLIENT', 'LIST'],
      ['CLIENT', 'KILL', 'TYPE', 'normal'],
      ['SWAPDB', '0', '1'],
      ['BGSAVE'],
      ['FAILOVER'],
      ['SCRIPT', 'FLUSH'],
      ['SHUTDOWN', 'NOSAVE'],
      ['SAVE'],
    ] as const) {
      const [name, ...args] = command;
      await t.throwsAsync(
        redis.call(name, ...args),
        { message: REFUSED },
        `${user} ${command.join(' ')}`,
      );
    }
  }
});

test('a role reaches only its own keys and channels', async (t) => {
  const server = await start(t);
  const refused = async (user: RedisUser, command: readonly string[]) => {
    const [name = '', ...args] = command;
    await t.throwsAsync(
      as(t, server, user).call(name, ...args),
      { message: REFUSED },
      `${user} ${command.join(' ')}`,
    );
  };
  const users = requestStream('users');
  const groups = requestStream('groups');
  const readThroughScript = (key: string) => [
    'EVAL',
    `return redis.call('XRANGE', '${key}', '-', '+')`,
    '0',
  ];
  // Each service reads its own stream only.
  await refused('users', ['XRANGE', groups, '-', '+']);
  await refused('users', ['XADD', groups, '*', 'm', '{}']);
  await refused('users', readThroughScript(groups));
  await refused('groups', ['XRANGE', users, '-', '+']);
  await refused('groups', ['XGROUP', 'CREATE', users, 'g', '0', 'MKSTREAM']);
  // The services neither count limits nor listen; gateways neither read requests nor publish.
  await refused('users', ['GET', 'agenda:limit:logins:alice']);
  await refused('users', ['SUBSCRIBE', replyChannel('gateway-1')]);
  await refused('gateway', ['XRANGE', users, '-', '+']);
  await refused('gateway', ['XLEN', users]);
  await refused('gateway', ['XREADGROUP', 'GROUP', 'users-replicas', 'x', 'STREAMS', users, '>']);
  await refused('gateway', readThroughScript(users));
  await refused('gateway', ['PUBLISH', notificationChannel('alice'), '{}']);
  await refused('gateway', ['SET', 'agenda:anything', '1']);
  // Each of the gateway's commands only on the keys it is for.
  await refused('gateway', ['SET', users, '1']);
  await refused('gateway', ['EXPIRE', users, '1']);
  await refused('gateway', ['ZADD', users, '1', 'x']);
  await refused('gateway', ['XADD', 'agenda:limit:logins:alice', '*', 'm', '{}']);
  await refused('gateway', ['SUBSCRIBE', 'elsewhere']);
  // Nobody but the supervisors moves replication; they, the operator and replicas touch no key.
  for (const user of ['gateway', 'users', 'operator', 'replication'] as const) {
    await refused(user, ['REPLICAOF', 'NO', 'ONE']);
  }
  for (const user of ['supervisor', 'operator', 'replication'] as const) {
    await refused(user, ['GET', 'agenda:limit:logins:alice']);
    await refused(user, ['XADD', users, '*', 'm', '{}']);
    await refused(user, ['SUBSCRIBE', notificationChannel('alice')]);
  }
  await refused('replication', ['ROLE']);
  // What each role may do is exactly its table's: no pattern reaches further.
  t.deepEqual(
    REDIS_ACL.users.grants.flatMap((g) => g.keys),
    [`~${users}`],
  );
  t.deepEqual(
    REDIS_ACL.groups.grants.flatMap((g) => g.keys),
    [`~${groups}`],
  );
});

test('a refused command is logged once, naming the role and the command, and nothing stops', async (t) => {
  const server = await start(t);
  // A groups replica misconfigured to serve the users service: its group cannot be made.
  const workerLog = new RecordingLogger();
  const wrong = bus(t, server, 'groups-1', 'groups', workerLog);
  const worker = new RequestWorker({
    connection: wrong,
    service: 'users',
    consumer: 'groups-1',
    handler: () => Promise.resolve({ ok: true, result: null }),
  });
  // A gateway logged in as a service: it may not subscribe to its replies.
  const gatewayLog = new RecordingLogger();
  const requester = new Requester({
    connection: bus(t, server, 'gateway-1', 'users', gatewayLog),
    gatewayId: 'gateway-1',
  });
  t.teardown(() => requester.close());
  await t.throwsAsync(requester.request('users', null, {}, { deadlineMs: 1_500 }), {
    message: /reply channel could not be subscribed/,
  });
  await sleep(1_500);

  const refusals = (log: RecordingLogger) =>
    log.lines.filter((l) => l.message === 'Redis refused a command to this role');
  t.true(wrong.refused >= 2, 'the worker kept trying');
  t.is(refusals(workerLog).length, 1);
  t.like(refusals(workerLog)[0]?.fields, { user: 'groups', command: 'xgroup|create' });
  t.is(refusals(gatewayLog).length, 1);
  t.like(refusals(gatewayLog)[0]?.fields, { user: 'users', command: 'subscribe' });
  await worker.close();

  // A wrong password: AUTH is refused, logged once, and the connection keeps retrying.
  const badLog = new RecordingLogger();
  const bad = openBus(t, tls, new StaticPrimarySource(server.address(1)), 'gateway-2', {
    auth: { user: 'gateway', password: 'not-the-gateway-password' },
    logger: badLog,
  });
  await waitFor('a second AUTH', () => bad.refused >= 3);
  const logins = badLog.lines.filter((l) => l.message === 'Redis refused the login of this role');
  t.is(logins.length, 1);
  t.like(logins[0]?.fields, { user: 'gateway', command: 'auth' });
  t.regex(String(logins[0]?.fields.error), /^WRONGPASS/);
});

test('the refusal log logs each command once, and ignores what is not a refusal', (t) => {
  const logger = new RecordingLogger();
  const log = new RefusalLog('gateway', logger);
  log.note('xadd', new Error('READONLY You cannot write against a read only replica.'));
  log.note(
    'flushall',
    new Error("NOPERM this user has no permissions to run the 'flushall' command"),
  );
  log.note(
    'flushall',
    new Error("NOPERM this user has no permissions to run the 'flushall' command"),
  );
  log.note('evalsha', new Error("ERR The user executing the script can't run this command"));
  t.is(log.count, 3);
  t.deepEqual(
    logger.lines.map((l) => l.fields.command),
    ['flushall', 'evalsha'],
  );
});

test('a password file that is missing or too short is refused, naming it', async (t) => {
  const short = path.join(tls.dir, 'short.password');
  await writeFile(short, 'abc\n', { mode: 0o600 });
  t.throws(() => readRedisCredentials({ user: 'gateway', passwordFile: short }), {
    message: /short\.password holds fewer than 16 characters/,
  });
  t.throws(() => readRedisCredentials({ user: 'users', passwordFile: 'nowhere.password' }), {
    message: /cannot read the Redis password of users: .*nowhere\.password/,
  });
  const good = path.join(tls.dir, 'good.password');
  await writeFile(good, '  0123456789abcdef0123  \n', { mode: 0o600 });
  t.deepEqual(
    readRedisCredentials({ user: 'operator', passwordFile: 'good.password' }, (p) =>
      path.join(tls.dir, p),
    ),
    { user: 'operator', password: '0123456789abcdef0123' },
  );
});
