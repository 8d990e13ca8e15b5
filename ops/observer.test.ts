import test from 'ava';
import { silentLogger } from '../base/log.js';
import type { ClusterRole } from '../base/pki.js';
import { joinGossip } from '../server/gossip/join.js';
import type { GossipNode } from '../server/gossip/node.js';
import { aliveSummary } from './model.js';
import type { GossipMember } from './model.js';
import { parseClusterDescription } from './description.js';
import type { ClusterDescriptionInput } from './description.js';
import { ClusterObserver } from './observer.js';
import {
  FakeStatusServer,
  agentStatus,
  createTestPki,
  startSilentServer,
  type TestPki,
} from './testing.js';

// Ports 30500–30599 are this helper's: agents 3050x, gossip 3051x, dead targets 3052x.
const HOST = '127.0.0.1';
const PERIOD_MS = 200;

function observe(pki: TestPki, description: Partial<ClusterDescriptionInput>): ClusterObserver {
  return new ClusterObserver(
    parseClusterDescription({ name: 'test', tls: pki.tls, ...description }),
  );
}

async function gossipMember(pki: TestPki, id: string, role: string, port: number, seed: number) {
  return joinGossip(
    {
      listen: `${HOST}:${port}`,
      seeds: [`${HOST}:${seed}`],
      keyFile: pki.gossipKeyFile,
      periodMs: PERIOD_MS,
    },
    (p) => p,
    { id, role },
    await pki.member(id, role as ClusterRole),
    silentLogger,
  );
}

/** Takes snapshots until `done` accepts one; fails after `timeoutMs`. */
async function snapshotUntil(
  observer: ClusterObserver,
  what: string,
  done: (gossip: GossipMember[]) => boolean,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const snapshot = await observer.snapshot();
    if (done(snapshot.gossip ?? [])) return snapshot;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('the VIP from the agents: the active owns it, an unreachable agent is down', async (t) => {
  const pki = await createTestPki();
  const active = await FakeStatusServer.start(pki, 30501, () => ({
    status: 200,
    body: JSON.stringify({ ...agentStatus('vip-1', 'vip-2', 'active'), futureField: { x: 1 } }),
  }));
  t.teardown(() => active.close());
  const observer = observe(pki, {
    // A first TLS handshake on a loaded machine can outlast the default 400 ms; what is down
    // here refuses at once, so the longer bound costs nothing.
    timeoutMs: 3_000,
    db: { members: [{ id: 1, api: `${HOST}:30521` }] },
    redis: [{ name: 'redis-1', address: `${HOST}:30522` }],
    vip: {
      address: '10.77.0.10',
      agents: [
        { id: 'vip-1', host: 'vm1', status: `${HOST}:30501` },
        { id: 'vip-2', host: 'vm2', status: `${HOST}:30502` },
      ],
    },
  });
  t.teardown(() => observer.close());

  const snapshot = await observer.snapshot();
  t.deepEqual(active.clients, ['operator'], 'the observer presented the operator certificate');
  const vip = snapshot.vip;
  t.is(vip?.owner, 'vm1');
  t.false(vip?.ownerFromLease);
  t.deepEqual(vip?.claimants, ['vm1']);
  t.is(vip?.lease, undefined, 'no DB member answered, so the lease is unknown');
  const [one, two] = vip?.agents ?? [];
  t.like(one, {
    id: 'vip-1',
    host: 'vm1',
    state: 'active',
    vipConfigured: true,
    gatewayFailures: 0,
    lastAction: 'claim-vip: lease held',
  });
  t.is(one?.lastHeartbeatMs, null, 'nobody reported hearing vip-1');
  t.like(two, { id: 'vip-2', host: 'vm2', state: 'down', vipConfigured: null });
  t.is(two?.lastHeartbeatMs, 85, "vip-1 says when it last heard vip-2's heartbeat");
  t.regex(two?.error ?? '', /ECONNREFUSED/);
  // The rest of the cluster is down too; that is a picture, not a failure.
  t.deepEqual(snapshot.dbMembers, [
    { id: 'db-1', address: `${HOST}:30521`, up: false, lastContactMs: null },
  ]);
  t.deepEqual(snapshot.redis, [{ name: 'redis-1', address: `${HOST}:30522`, up: false }]);
  t.is(snapshot.supervisor, undefined);
  t.is(snapshot.gossip, undefined, 'no gossip described, none observed');
});

test('agents answering nonsense, the wrong id or nothing at all are down, within the timeout', async (t) => {
  const pki = await createTestPki();
  const garbage = await FakeStatusServer.start(pki, 30503, () => ({ status: 200, body: '{"id":' }));
  const wrongShape = await FakeStatusServer.start(pki, 30504, () => ({
    status: 200,
    body: JSON.stringify({ id: 'vip-2', state: 7 }),
  }));
  const impostor = await FakeStatusServer.start(pki, 30505, () => ({
    status: 200,
    body: JSON.stringify(agentStatus('vip-9', 'vip-1', 'active')),
  }));
  const stopSilent = await startSilentServer(30506);
  t.teardown(() =>
    Promise.all([garbage.close(), wrongShape.close(), impostor.close(), stopSilent()]),
  );
  // Long enough that three TLS handshakes on a loaded CI machine answer in time; the silent
  // agent still costs exactly one timeout.
  const observer = observe(pki, {
    timeoutMs: 1_000,
    vip: {
      address: '10.77.0.10',
      agents: [
        { id: 'vip-1', host: 'vm1', status: `${HOST}:30503` },
        { id: 'vip-2', host: 'vm2', status: `${HOST}:30504` },
        { id: 'vip-3', host: 'vm3', status: `${HOST}:30505` },
        { id: 'vip-4', host: 'vm4', status: `${HOST}:30506` },
      ],
    },
  });
  t.teardown(() => observer.close());

  // The first round opens the connections and waits longer (FIRST_ROUND_TIMEOUT_MS).
  await observer.snapshot();
  const started = Date.now();
  const snapshot = await observer.snapshot();
  t.true(Date.now() - started < 3_000, 'a hung agent costs one timeout, not a frozen view');
  const errors = snapshot.vip?.agents.map((a) => [a.state, a.error]);
  t.deepEqual(errors, [
    ['down', 'answered something that is not JSON'],
    ['down', 'unexpected status (state: Invalid input: expected string, received number)'],
    ['down', 'answers as vip-9, not vip-3'],
    ['down', 'no answer within 1000 ms'],
  ]);
  t.is(snapshot.vip?.owner, null);
});

test('the first round waits for a target the next rounds would give up on: no outage at start', async (t) => {
  const pki = await createTestPki();
  // Answers in 700 ms, as a member may while the observer's first TLS handshakes compete for a
  // loaded machine; a round waits 300 ms.
  const slow = await FakeStatusServer.start(pki, 30508, () => ({
    status: 200,
    body: JSON.stringify(agentStatus('vip-1', 'vip-2', 'active')),
    delayMs: 700,
  }));
  t.teardown(() => slow.close());
  const observer = observe(pki, {
    timeoutMs: 300,
    vip: { address: '10.77.0.10', agents: [{ id: 'vip-1', host: 'vm1', status: `${HOST}:30508` }] },
  });
  t.teardown(() => observer.close());
  const first = await observer.snapshot();
  t.is(first.vip?.agents[0]?.state, 'active', 'not shown down because the observer just started');
  const later = await observer.snapshot();
  t.deepEqual(
    later.vip?.agents.map((a) => [a.state, a.error]),
    [['down', 'no answer within 300 ms']],
  );
});

test('a DB member that misses one round is shown as it last answered; one that stays silent goes down', async (t) => {
  const pki = await createTestPki();
  let delayMs = 0;
  const member = {
    id: 1,
    role: 'leader',
    term: 3,
    vote: 1,
    leader: 1,
    commit: 10,
    applied: 10,
    firstIndex: 1,
    lastIndex: 10,
    snapshotIndex: 0,
    conf: { voters: [1], learners: [] },
    transferee: 0,
    peers: [],
    metrics: { applyBacklog: 0, fsyncs: 0 },
    snapshots: 0,
    lastSnapshotAt: null,
  };
  const db = await FakeStatusServer.start(pki, 30509, () => ({
    status: 200,
    body: JSON.stringify({ member }),
    delayMs,
  }));
  t.teardown(() => db.close());
  const observer = observe(pki, {
    timeoutMs: 200,
    db: { members: [{ id: 1, api: `${HOST}:30509` }] },
  });
  t.teardown(() => observer.close());
  const up = async () => (await observer.snapshot()).dbMembers?.[0]?.up;
  t.true(await up());
  // One slow round, as a loaded machine gives a live member now and then: still up.
  delayMs = 400;
  t.true(await up(), 'one missed round is no outage');
  delayMs = 0;
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.true(await up());
  // Silent for longer than the grace: down.
  delayMs = 5_000;
  const started = Date.now();
  let rounds = 0;
  while ((await up()) === true) {
    rounds++;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  t.true(rounds >= 1, 'shown as it last answered for a round or more');
  t.true(Date.now() - started < 3_000, 'then down within the grace and a round');
});

test('gossip: the observer joins as an observer, shows its view, and leaves cleanly', async (t) => {
  const pki = await createTestPki();
  const nodes: GossipNode[] = [];
  t.teardown(() => Promise.all(nodes.map((node) => node.close())));
  nodes.push(await gossipMember(pki, 'users-1', 'users', 30511, 30512));
  nodes.push(await gossipMember(pki, 'gateway-1', 'gateway', 30512, 30511));
  const [users, gateway] = nodes as [GossipNode, GossipNode];
  const observer = observe(pki, {
    gossip: {
      listen: `${HOST}:0`,
      seeds: [`${HOST}:30512`],
      keyFile: pki.gossipKeyFile,
      id: 'observer-test',
      periodMs: PERIOD_MS,
    },
  });
  t.teardown(() => observer.close());

  const both = await snapshotUntil(
    observer,
    'both members alive',
    (gossip) => gossip.filter((m) => m.state === 'alive').length === 2,
  );
  t.deepEqual(
    both.gossip?.map((m) => [m.id, m.role, m.address, m.state]),
    [
      ['gateway-1', 'gateway', `${HOST}:30512`, 'alive'],
      ['users-1', 'users', `${HOST}:30511`, 'alive'],
    ],
    'request path first; the observer is not in its own list',
  );
  t.true(both.gossip?.every((m) => m.incarnation >= 0 && m.since <= Date.now()));
  const seen = gateway.members().find((m) => m.id === 'observer-test');
  t.like(seen, { role: 'observer', state: 'alive' }, 'the cluster knows the observer by its role');

  await users.close();
  const left = await snapshotUntil(
    observer,
    'users-1 to leave',
    (gossip) => gossip.find((m) => m.id === 'users-1')?.state === 'left',
  );
  t.is(left.gossip?.find((m) => m.id === 'gateway-1')?.state, 'alive');

  await observer.close();
  await observer.close();
  const deadline = Date.now() + 10_000;
  while (gateway.members().find((m) => m.id === 'observer-test')?.state !== 'left') {
    if (Date.now() > deadline) throw new Error('the gateway never saw the observer leave');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await t.throwsAsync(observer.snapshot(), { message: 'the observer is closed' });
});

test('gossip: a seed address no member holds is shown absent and counted down', async (t) => {
  const pki = await createTestPki();
  const nodes: GossipNode[] = [];
  t.teardown(() => Promise.all(nodes.map((node) => node.close())));
  nodes.push(await gossipMember(pki, 'gateway-2', 'gateway', 30514, 30515));
  // The description names two gateways; gateway-1 (30515) is not running, and never was while
  // this observer watched: the view alone would say "1/1 alive".
  const observer = observe(pki, {
    gossip: {
      listen: `${HOST}:0`,
      seeds: [`${HOST}:30514`, `${HOST}:30515`],
      keyFile: pki.gossipKeyFile,
      id: 'observer-seeds',
      periodMs: PERIOD_MS,
    },
  });
  t.teardown(() => observer.close());
  const snapshot = await snapshotUntil(observer, 'gateway-2 alive', (gossip) =>
    gossip.some((m) => m.id === 'gateway-2' && m.state === 'alive'),
  );
  t.deepEqual(
    snapshot.gossip?.map((m) => [m.id, m.address, m.state]),
    [
      ['gateway-2', `${HOST}:30514`, 'alive'],
      [`? ${HOST}:30515`, `${HOST}:30515`, 'absent'],
    ],
  );
  t.like(aliveSummary(snapshot).gossip, { up: 1, total: 2 });
});

test('gossip trouble is a note in the snapshot, not a failed observation', async (t) => {
  const pki = await createTestPki();
  const observer = observe(pki, {
    gossip: { listen: '192.0.2.1:0', seeds: [`${HOST}:30513`], keyFile: pki.gossipKeyFile },
  });
  t.teardown(() => observer.close());
  const snapshot = await observer.snapshot();
  t.is(snapshot.gossip, undefined);
  t.is(snapshot.problems?.length, 1);
  t.regex(snapshot.problems?.[0] ?? '', /^gossip: cannot listen on 192\.0\.2\.1:0: /);
});

test('snapshots keep coming, at least twice a second, while everything is down', async (t) => {
  const pki = await createTestPki();
  const stopSilent = await startSilentServer(30507);
  t.teardown(stopSilent);
  const observer = observe(pki, {
    pollMs: 250,
    timeoutMs: 200,
    db: {
      members: [
        { id: 1, api: `${HOST}:30507` },
        { id: 2, api: `${HOST}:30523` },
      ],
    },
    vip: { address: '10.77.0.10', agents: [{ id: 'vip-1', host: 'vm1', status: `${HOST}:30507` }] },
  });
  t.teardown(() => observer.close());
  const controller = new AbortController();
  const times: number[] = [];
  for await (const item of observer.snapshots(controller.signal)) {
    t.false('error' in item, 'down members are shown, not errors');
    times.push(Date.now());
    if (times.length === 4) controller.abort();
  }
  const span = (times.at(-1) ?? 0) - (times[0] ?? 0);
  t.true(span < 1_500, `three intervals took ${span} ms`);
});

test('an unreadable operator certificate is a clear error at once', (t) => {
  t.throws(
    () =>
      new ClusterObserver(
        parseClusterDescription({
          tls: {
            ca: '/nonexistent/ca.pem',
            cert: '/nonexistent/op.pem',
            key: '/nonexistent/k.pem',
          },
        }),
      ),
    { message: /^cannot read the operator's TLS CA \/nonexistent\/ca\.pem: ENOENT/ },
  );
});
