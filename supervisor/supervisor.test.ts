/**
 * Two supervisors against a real redis-server primary and replica over mutual TLS, with the
 * cluster's ACL users as in the lab (the supervisors log in as `supervisor`, the replica as
 * `replication`), and an in-memory registry standing in for the DB. Ports 30100–30299.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import {
  createRedisAuth,
  createRedisTls,
  RecordingLogger,
  startRedis,
  waitFor,
  waitForReplication,
} from '../server/bus/test-support.js';
import type {
  PortRange,
  RedisProcess,
  RedisTestAuth,
  RedisTlsFiles,
} from '../server/bus/test-support.js';
import { PRIMARY_REGISTRY_KEY } from '../server/bus/primary-source.js';
import { parseRole, IoRedisInstance } from './redis-control.js';
import { SUPERVISOR_LEASE, Supervisor } from './supervisor.js';
import { MemoryRegistry, supervisorPorts } from './test-support.js';
import type { MemoryRegistryConnection } from './test-support.js';

const CHECK_INTERVAL_MS = 100;
const FAILURE_THRESHOLD = 3;

interface Setup {
  readonly tls: RedisTlsFiles;
  readonly auth: RedisTestAuth;
  /** What the supervisors' Redis clients logged: a refusal by the ACL would be here. */
  readonly redisLog: RecordingLogger;
  readonly ports: PortRange;
  readonly primary: RedisProcess;
  readonly replica: RedisProcess;
  readonly registry: MemoryRegistry;
  readonly supervisors: readonly { supervisor: Supervisor; link: MemoryRegistryConnection }[];
}

async function setUp(t: ExecutionContext, firstPort: number): Promise<Setup> {
  const tls = await createRedisTls();
  t.teardown(() => tls.remove());
  const auth = await createRedisAuth(tls);
  const redisLog = new RecordingLogger();
  const ports = supervisorPorts(firstPort, firstPort + 49);
  const teardown = (stop: () => Promise<void>) => t.teardown(stop);
  const primary = await startRedis({ ports, tls, auth, teardown });
  const replica = await startRedis({ ports, tls, auth, teardown, replicaOf: primary });
  await waitForReplication(replica);
  const registry = new MemoryRegistry();
  registry.compareAndSet(
    PRIMARY_REGISTRY_KEY,
    null,
    JSON.stringify({ host: primary.host, port: primary.port }),
  );
  const supervisors = ['supervisor-1', 'supervisor-2'].map((id) => {
    const link = registry.connect();
    const supervisor = new Supervisor({
      id,
      registry: link,
      instances: [primary, replica].map(
        (server) =>
          new IoRedisInstance(
            { host: server.host, port: server.port },
            {
              tls: tls.client,
              timeoutMs: 200,
              connectionName: id,
              auth: auth.credentials('supervisor'),
              logger: redisLog,
            },
          ),
      ),
      failureThreshold: FAILURE_THRESHOLD,
      checkIntervalMs: CHECK_INTERVAL_MS,
    });
    t.teardown(() => supervisor.close());
    supervisor.start();
    return { supervisor, link };
  });
  return { tls, auth, redisLog, ports, primary, replica, registry, supervisors };
}

function holderOf(registry: MemoryRegistry): string | null {
  const lease = registry.lease(SUPERVISOR_LEASE);
  return lease === null || lease.expired ? null : lease.holder;
}

function recordedPort(registry: MemoryRegistry): number | null {
  const entry = registry.entry(PRIMARY_REGISTRY_KEY);
  return entry === null ? null : (JSON.parse(entry.value) as { port: number }).port;
}

test.serial(
  'only the lease holder acts: the primary fails over and returns as a replica',
  async (t) => {
    const { ports, tls, auth, redisLog, primary, replica, registry, supervisors } = await setUp(
      t,
      30_100,
    );
    await waitFor('a supervisor to hold the lease', () => holderOf(registry) !== null);
    const holder = supervisors.find((s) => s.supervisor.status().id === holderOf(registry));
    const other = supervisors.find((s) => s !== holder);
    if (holder === undefined || other === undefined) return t.fail('no lease holder');
    await waitFor('both supervisors to see the healthy primary', () =>
      supervisors.every((s) => s.supervisor.status().recordedPrimary?.port === primary.port),
    );
    t.true(holder.supervisor.status().holding);
    t.false(other.supervisor.status().holding);

    const killedAt = Date.now();
    await primary.kill();
    await waitFor(
      'the replica to be recorded as primary',
      () => recordedPort(registry) === replica.port,
    );
    const failoverMs = Date.now() - killedAt;
    t.log(`primary killed → registry updated in ${failoverMs} ms`);

    t.like(parseRole(await replica.admin().call('ROLE')), { up: true, role: 'primary' });
    // One write for the initial primary, exactly one for the failover: never two recorded.
    t.deepEqual(
      registry.writes.map((w) => w.epoch),
      [1, 2],
    );
    t.is(holder.supervisor.status().failovers.length, 1);
    t.like(holder.supervisor.status().failovers[0], { to: { port: replica.port }, epoch: 2 });
    t.deepEqual(other.supervisor.status().failovers, []);
    t.is(other.supervisor.status().lastAction, null);

    // The old primary restarts at its old address, empty and believing itself a primary; it
    // logs in to the new one as `replication`, from the same config file.
    ports.reuse(primary.port);
    const returned = await startRedis({ ports, tls, auth, teardown: (stop) => t.teardown(stop) });
    t.is(returned.port, primary.port);
    await waitFor('the old primary to follow the new one', async () => {
      const role = parseRole(await returned.admin().call('ROLE'));
      return (
        role.up && role.role === 'replica' && role.following.port === replica.port && role.linkUp
      );
    });
    t.like(holder.supervisor.status().lastAction, {
      action: { type: 'demote' },
      outcome: 'done',
    });
    t.is(registry.writes.length, 2);
    t.deepEqual(redisLog.lines, [], 'Redis refused the supervisors nothing');
  },
);

test.serial('a supervisor cut off from the DB stops acting and the other takes over', async (t) => {
  const { primary, replica, registry, supervisors } = await setUp(t, 30_150);
  await waitFor('a supervisor to hold the lease', () => holderOf(registry) !== null);
  const firstEpoch = registry.lease(SUPERVISOR_LEASE)?.epoch ?? 0;
  const cut = supervisors.find((s) => s.supervisor.status().id === holderOf(registry));
  const other = supervisors.find((s) => s !== cut);
  if (cut === undefined || other === undefined) return t.fail('no lease holder');

  cut.link.cutOff = true;
  await waitFor('the cut-off supervisor to stop acting', () => !cut.supervisor.status().holding);
  await waitFor('the other supervisor to take over', () => other.supervisor.status().holding);
  t.is(holderOf(registry), other.supervisor.status().id);
  t.true((registry.lease(SUPERVISOR_LEASE)?.epoch ?? 0) > firstEpoch);

  const killedAt = Date.now();
  await primary.kill();
  await waitFor(
    'the replica to be recorded as primary',
    () => recordedPort(registry) === replica.port,
  );
  t.log(`primary killed → registry updated in ${Date.now() - killedAt} ms`);
  t.is(other.supervisor.status().failovers.length, 1);
  // The cut-off one saw the primary die too, and did nothing about it.
  await waitFor(
    'the cut-off supervisor to see the primary fail',
    () => cut.supervisor.status().primaryFailures >= FAILURE_THRESHOLD,
  );
  t.deepEqual(cut.supervisor.status().failovers, []);
  t.is(cut.supervisor.status().lastDecision?.type, 'none');
  t.is(registry.writes.length, 2);
});
