/**
 * What the runner writes for Redis's ACL users, used as the lab uses it: `preparePlan` makes
 * a password per ACL user, the ACL file and the login config (mode 0600, kept across
 * preparations), and the runner starts the plan's primary and replica from them: the replica
 * logs in to its primary, each daemon's config logs in as its role, `default` is refused.
 * Redis ports 28550–28551 (the bus's block).
 */
import test from 'ava';
import { Redis } from 'ioredis';
import { readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisAvailable } from '../base/redis-server.js';
import { requestStream } from '../server/bus/protocol.js';
import { loginOptions, readRedisCredentials, REDIS_USERS } from '../server/bus/redis-auth.js';
import type { RedisAuthFile } from '../server/bus/redis-auth.js';
import { temporaryDirectory } from '../test/support/temp-dirs.js';
import { DataLayout } from './layout.js';
import { LOCAL_TOPOLOGY } from './local/topology.js';
import { PlanRunner, preparePlan } from './runner.js';
import type { PlannedProcess, Topology } from './plan.js';

const PRIMARY_PORT = 28_550;
const REPLICA_PORT = 28_551;
const TOPOLOGY: Topology = {
  ...LOCAL_TOPOLOGY,
  redis: [
    { id: 1, host: 'local', port: PRIMARY_PORT },
    { id: 2, host: 'local', port: REPLICA_PORT },
  ],
};

test('the runner writes the ACL users once, and the plan’s Redis pair grants by them', async (t) => {
  if (!redisAvailable().ok) return t.pass('redis-server is not installed');
  const layout = new DataLayout(await temporaryDirectory('agenda-redis-auth-'));
  const plan = await preparePlan(TOPOLOGY, layout);

  const files = [
    ...REDIS_USERS.map((user) => layout.redisPassword(user)),
    layout.redisAclFile,
    layout.redisAuthConfig,
  ];
  for (const file of files) t.is(statSync(file).mode & 0o777, 0o600, file);
  const password = readFileSync(layout.redisPassword('replication'), 'utf8').trim();
  t.true(readFileSync(layout.redisAuthConfig, 'utf8').includes(`masterauth ${password}`));
  t.false(readFileSync(layout.redisAclFile, 'utf8').includes(password), 'hashes only');
  const acl = readFileSync(layout.redisAclFile, 'utf8');
  await preparePlan(TOPOLOGY, layout);
  t.is(readFileSync(layout.redisAclFile, 'utf8'), acl, 'passwords are kept, not made anew');

  const redis = plan.processes.filter((p) => p.program.kind === 'redis');
  const runner = new PlanRunner({ plan });
  t.teardown(() => runner.stopAll(1_000));
  await runner.start(redis);

  const login = (port: number, auth?: RedisAuthFile) => {
    const client = new Redis({
      host: '127.0.0.1',
      port,
      tls: {
        ca: readFileSync(layout.tls('operator').ca),
        cert: readFileSync(layout.tls('operator').cert),
        key: readFileSync(layout.tls('operator').key),
      },
      ...loginOptions(auth === undefined ? undefined : readRedisCredentials(auth)),
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    t.teardown(() => client.disconnect());
    return client;
  };
  const configOf = (name: string) => {
    const p = plan.processes.find((x: PlannedProcess) => x.name === name);
    if (p?.program.kind !== 'node') throw new Error(`${name} is not a node process`);
    return p.program.config as { redisAuth: RedisAuthFile };
  };

  // The replica logged in to its primary as `replication`.
  const operator = login(REPLICA_PORT, {
    user: 'operator',
    passwordFile: layout.redisPassword('operator'),
  });
  for (let i = 0; i < 100; i++) {
    if ((await operator.info('replication')).includes('master_link_status:up')) break;
    await sleep(50);
  }
  t.regex(await operator.info('replication'), /master_link_status:up/);

  // Each daemon's config logs it in as its role; the certificate alone opens nothing.
  const gateway = login(PRIMARY_PORT, configOf('gateway-1').redisAuth);
  t.truthy(await gateway.xadd(requestStream('users'), '*', 'm', '{}'));
  const users = login(PRIMARY_PORT, configOf('users-2').redisAuth);
  const group = (stream: string) => users.call('XGROUP', 'CREATE', stream, 'g', '0', 'MKSTREAM');
  t.is(await group(requestStream('users')), 'OK');
  const read = await users.call(
    'XREADGROUP',
    'GROUP',
    'g',
    'c',
    'STREAMS',
    requestStream('users'),
    '>',
  );
  t.is(JSON.stringify(read).match(/"m"/g)?.length, 1, 'the gateway’s request');
  await t.throwsAsync(group(requestStream('groups')), { message: /^NOPERM/ });
  const supervisor = login(PRIMARY_PORT, configOf('supervisor-1').redisAuth);
  t.is(((await supervisor.call('ROLE')) as unknown[])[0], 'master');
  await t.throwsAsync(login(PRIMARY_PORT).ping(), { message: /^NOAUTH/ });
});
