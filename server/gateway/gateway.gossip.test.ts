/**
 * The gateway with a gossip view: requests for a service with no replica up are refused at
 * once with what gossip knows, `/readyz` and `/metrics` show the view, and without gossip
 * nothing changes. The last test runs real members on loopback — the gateway's and a users
 * replica's in this process, a groups replica as the real `server/services/main.ts` — and
 * kills, restarts and stops the replica. Ports: HTTPS 30010–30019, gossip UDP 30020–30029.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { silentLogger } from '../../base/log.js';
import { createRedisTls } from '../bus/test-support.js';
import { joinGossip } from '../gossip/join.js';
import { GossipView } from '../gossip/view.js';
import { createSigningKeyPair } from '../users/keys.js';
import type { ServiceName } from '../protocol/ops.js';
import type { ReplicaDirectory } from './ports.js';
import { portsFrom, startTestGateway, waitFor } from './test-support.js';

const nextPort = portsFrom(30010, 10);
const KEY = 'gossip-key-for-the-gateway-tests';
const SERVICES_MAIN = path.join(import.meta.dirname, '..', 'services', 'main.ts');

/** A directory that says what the test tells it to. */
class FixedDirectory implements ReplicaDirectory {
  down = new Map<ServiceName, string>();
  unavailable(service: ServiceName): string | null {
    return this.down.get(service) ?? null;
  }
  counts() {
    return [
      { role: 'users', state: 'alive', count: 0 },
      { role: 'users', state: 'dead', count: 2 },
    ];
  }
  stats() {
    return { sent: 12, received: 10, sendErrors: 0, dropped: { bad_mac: 3 } };
  }
}

test('a service gossip knows to be down is refused at once, the other one is not', async (t) => {
  const replicas = new FixedDirectory();
  replicas.down.set('users', 'no users service replica is alive (gossip: users-1 dead)');
  const g = await startTestGateway(t, nextPort(), { replicas });
  const token = await g.token('alice');

  const refused = await g.call('/v1/me', { token });
  t.is(refused.status, 503);
  t.deepEqual(refused.json, {
    error: {
      code: 'unavailable',
      message: 'no users service replica is alive (gossip: users-1 dead)',
      // Refused before anything was sent: a write that meets this did not apply.
      details: { forwarded: false },
    },
  });
  t.truthy(refused.headers['x-request-id']);
  t.is(g.dispatcher.calls.length, 0, 'nothing was sent to the bus');
  t.is((await g.call('/v1/groups', { token })).status, 200);
  t.is(g.dispatcher.only().service, 'groups');

  const ready = await g.call('/readyz');
  t.is(ready.status, 503);
  t.regex(ready.text, /no users service replica is alive/);

  const metrics = (await g.call('/metrics', { asOperator: true })).text;
  t.regex(metrics, /^agenda_gateway_fail_fast_total\{service="users"\} 1$/m);
  t.regex(metrics, /^agenda_gossip_members\{role="users",state="dead"\} 2$/m);
  t.regex(metrics, /^agenda_gossip_datagrams_total\{direction="sent"\} 12$/m);
  t.regex(metrics, /^agenda_gossip_dropped_total\{reason="bad_mac"\} 3$/m);

  replicas.down.clear();
  t.is((await g.call('/v1/me', { token })).status, 200);
  t.is((await g.call('/readyz')).status, 200);
});

test('an answer that arrives after gossip gave up on a service wins: gossip is hearsay', async (t) => {
  const replicas = new FixedDirectory();
  const g = await startTestGateway(t, nextPort(), { replicas });
  const token = await g.token('alice');
  // A request is in flight when gossip calls every users replica dead, as it does for a
  // while after a partition heals (the side that was cut off could not reach them).
  let answer = (): void => {};
  g.dispatcher.respond = () => new Promise((resolve) => (answer = () => resolve({})));
  const inFlight = g.call('/v1/me', { token });
  await waitFor(() => g.dispatcher.calls.length === 1, 'the first request to be sent');
  replicas.down.set('users', 'no users service replica is alive (gossip: users-1 dead)');
  t.is((await g.call('/v1/me', { token })).status, 503, 'nothing contradicts gossip yet');

  answer();
  t.is((await inFlight).status, 200);
  g.dispatcher.respond = () => ({});
  t.is((await g.call('/v1/me', { token })).status, 200, 'a users replica answered since');
  t.is(g.dispatcher.calls.length, 2);
  t.is((await g.call('/readyz')).status, 200);

  // A later verdict with no answer after it refuses again.
  replicas.down.clear();
  t.is((await g.call('/v1/me', { token })).status, 200);
  replicas.down.set('users', 'no users service replica is alive (gossip: users-1 dead)');
  t.is((await g.call('/v1/me', { token })).status, 503);
  t.is((await g.call('/readyz')).status, 503);
});

test('an answer shortly before the verdict counts against it too, within the grace', async (t) => {
  const replicas = new FixedDirectory();
  const g = await startTestGateway(t, nextPort(), { replicas, answerGraceMs: 60_000 });
  const token = await g.token('alice');
  t.is((await g.call('/v1/me', { token })).status, 200);
  replicas.down.set('users', 'no users service replica is alive (gossip: users-1 dead)');
  t.is((await g.call('/v1/me', { token })).status, 200, 'answered a moment ago');
  t.is((await g.call('/v1/groups', { token })).status, 200);
  replicas.down.set('groups', 'no groups service replica is alive (gossip: groups-1 dead)');
  t.is((await g.call('/v1/groups', { token })).status, 200);
  t.is(g.dispatcher.calls.length, 4);
});

test('without gossip every request is sent and /metrics has no gossip series', async (t) => {
  const g = await startTestGateway(t, nextPort());
  t.is((await g.call('/v1/me', { token: await g.token('alice') })).status, 200);
  t.is(g.dispatcher.only().service, 'users');
  t.is((await g.call('/readyz')).status, 200);
  t.notRegex((await g.call('/metrics', { asOperator: true })).text, /agenda_gossip|fail_fast/);
});

test('on loopback: a replica dies, comes back and leaves, and the gateway follows', async (t) => {
  const tls = await createRedisTls();
  t.teardown(() => tls.remove());
  await writeFile(path.join(tls.dir, 'gossip.key'), `${KEY}\n`, { mode: 0o600 });
  const at = (p: string) => path.resolve(tls.dir, p);
  const gossip = (port: number) => ({
    listen: `127.0.0.1:${port}`,
    seeds: ['127.0.0.1:30020'],
    keyFile: 'gossip.key',
    periodMs: 100,
  });
  const gatewayNode = await joinGossip(
    gossip(30020),
    at,
    { id: 'gateway-1', role: 'gateway' },
    await tls.member('gateway-1', 'gateway'),
    silentLogger,
  );
  t.teardown(() => gatewayNode.close());
  const usersNode = await joinGossip(
    gossip(30021),
    at,
    { id: 'users-1', role: 'users' },
    await tls.member('users-1', 'users'),
    silentLogger,
  );
  t.teardown(() => usersNode.close());
  const view = new GossipView(gatewayNode, { settleMs: 300 });
  const g = await startTestGateway(t, nextPort(), { replicas: view });
  const token = await g.token('alice');

  const groupsTls = await tls.member('groups-2', 'groups');
  const configPath = path.join(tls.dir, 'groups-2.json');
  // The key a replica verifies its requests' tokens with: any, since none comes here.
  await writeFile(
    path.join(tls.dir, 'token-public.pem'),
    (await createSigningKeyPair()).publicKeyPem,
  );
  await writeFile(
    configPath,
    JSON.stringify({
      service: 'groups',
      instance: 2,
      tls: { ca: tls.caFile, cert: groupsTls.certFile, key: groupsTls.keyFile },
      verificationKey: 'token-public.pem',
      // Nothing listens here: the replica runs, cut off from the DB, which gossip ignores.
      db: { '1': '127.0.0.1:30019' },
      gossip: gossip(30022),
    }),
  );
  const startGroups = async () => {
    const child = spawn(process.execPath, ['--import=tsx', SERVICES_MAIN, '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = { stdout: '', stderr: '' };
    child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await waitFor(() => output.stdout.includes('"event":"ready"'), 'groups-2 to start', 30_000);
    return { child, output, exited };
  };
  const groupsState = () => view.membersOf('groups').find((m) => m.id === 'groups-2')?.state;

  let groups = await startGroups();
  t.regex(groups.output.stderr, /"msg":"joined gossip".*"member":"groups-2"/);
  await waitFor(() => groupsState() === 'alive', 'the gateway to see groups-2', 10_000);
  await waitFor(() => view.liveMembers('users').length === 1, 'the gateway to see users-1');
  t.is((await g.call('/v1/groups', { token })).status, 200);

  // Killed: no goodbye, so probes fail, suspicion runs out, and the refusals start.
  groups.child.kill('SIGKILL');
  await groups.exited;
  await waitFor(() => view.unavailable('groups') !== null, 'groups-2 to be declared dead', 10_000);
  const sent = g.dispatcher.calls.length;
  const refused = await g.call('/v1/groups', { token });
  t.is(refused.status, 503);
  t.deepEqual(refused.json, {
    error: {
      code: 'unavailable',
      message: 'no groups service replica is alive (gossip: groups-2 dead)',
      details: { forwarded: false },
    },
  });
  t.is(g.dispatcher.calls.length, sent, 'the refused request was not sent');
  t.is((await g.call('/v1/me', { token })).status, 200, 'users-1 still answers for users');
  t.is((await g.call('/readyz')).status, 503);
  t.regex(
    (await g.call('/metrics', { asOperator: true })).text,
    /agenda_gossip_members\{role="groups",state="dead"\} 1/,
  );

  // Restarted: it refutes its own death with a higher incarnation and the refusals stop.
  groups = await startGroups();
  await waitFor(() => groupsState() === 'alive', 'groups-2 to be alive again', 10_000);
  t.true((view.membersOf('groups')[0]?.incarnation ?? 0) > 0);
  t.is((await g.call('/v1/groups', { token })).status, 200);
  t.is((await g.call('/readyz')).status, 200);

  // Stopped: it says goodbye before exiting, and the gateway tells the two apart.
  groups.child.kill('SIGTERM');
  const [code] = await groups.exited;
  t.is(code, 0);
  await waitFor(() => groupsState() === 'left', 'groups-2 to be seen leaving', 5_000);
  const gone = await g.call('/v1/groups', { token });
  t.is(gone.status, 503);
  t.regex(gone.text, /no groups service replica is alive \(gossip: groups-2 left\)/);

  await usersNode.close();
  await waitFor(() => view.unavailable('users') !== null, 'users-1 to be seen leaving', 5_000);
  t.regex((await g.call('/v1/me', { token })).text, /\(gossip: users-1 left\)/);
});
