import test from 'ava';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { ManualClock } from './clock.js';
import type { DashboardProps } from './dashboard.js';
import { Dashboard } from './dashboard.js';
import { FakeFeed } from '../ops/feed.js';
import type { ClusterSnapshot } from '../ops/model.js';
import { STALE_AFTER_MS } from './state.js';
import { follower, gossipMember, healthyCluster, vipAgent } from '../ops/fixtures.js';
import { waitForFrame, waitForText } from './testing.js';

const START = Date.UTC(2026, 10, 26, 22, 57, 3);

function renderDashboard(props: Partial<DashboardProps> = {}) {
  const feed = new FakeFeed();
  const clock = new ManualClock(START);
  const controller = new AbortController();
  let quits = 0;
  const app = render(
    createElement(Dashboard, {
      feed,
      clock,
      signal: controller.signal,
      refreshMs: 100,
      onQuit: () => (quits += 1),
      ...props,
    }),
  );
  return { app, feed, clock, controller, quits: () => quits };
}

/** The row of the table whose first column is `id`. */
function row(frame: string, id: string): string {
  return frame.split('\n').find((line) => line.startsWith(`${id} `)) ?? '';
}

test('shows every layer of a healthy cluster', async (t) => {
  const { app, feed } = renderDashboard();
  t.teardown(() => app.unmount());
  await waitForText(app.lastFrame, 'waiting for the first snapshot');
  feed.push(healthyCluster(START));
  const frame = await waitForText(app.lastFrame, 'snapshot 22:57:03Z');
  t.regex(frame, /5\/5 up, leader n1 \(term 3\)/);
  t.regex(row(frame, 'n1'), /up\s+leader\s+3\s+120\/120\s+n1\s+0\s+self/);
  t.regex(row(frame, 'n5'), /up\s+follower\s+3\s+118\/118\s+n1\s+2\s+40 ms/);
  t.regex(row(frame, 'redis-a'), /up\s+primary\s+5120\s+-\s+1/);
  t.regex(row(frame, 'redis-b'), /up\s+replica\s+5100\s+up/);
  t.regex(frame, /VIP\s+10\.0\.0\.100 owner vm1\s+lease vip-1 epoch 7, 1\.2 s left/);
  t.regex(row(frame, 'vip-1'), /vm1\s+active\s+yes\s+120 ms\s+0\s+claim: lease held$/);
  t.regex(row(frame, 'vip-2'), /vm2\s+passive\s+no\s+90 ms\s+0\s+-$/);
  t.regex(frame, /holder sup-vm1\s+epoch 4\s+lease 3\.2 s left/);
  t.regex(frame, /Gossip\s+2\/3 alive, 1 suspect/);
  t.regex(row(frame, 'users-1'), /users\s+10\.0\.0\.1:7947\s+suspect\s+0\s+800 ms$/);
  t.regex(row(frame, 'gw-1'), /gateway\s+10\.0\.0\.1:7946\s+alive\s+0\s+1 min$/);
  t.regex(frame, /Failovers.*\n\s*none seen/);
  t.notRegex(frame, /STALE|ERROR/);
});

test('a leader change appears in the failover log, newest last', async (t) => {
  const { app, feed } = renderDashboard();
  t.teardown(() => app.unmount());
  feed.push(healthyCluster(START));
  const failedOver: ClusterSnapshot = {
    ...healthyCluster(START + 1000),
    dbMembers: [
      { id: 'n1', address: '10.0.0.1:7000', up: false, lastContactMs: 1200 },
      { ...follower('n2', 'n2', 4, 130), role: 'leader', lastContactMs: null },
      follower('n3', 'n2', 4, 130),
      follower('n4', 'n2', 4, 130),
      follower('n5', 'n2', 4, 130),
    ],
  };
  feed.push(failedOver);
  const frame = await waitForText(app.lastFrame, 'DB leader n1 → n2 (term 4)');
  t.regex(frame, /4\/5 up, leader n2 \(term 4\)/);
  const log = frame.slice(frame.indexOf('Failovers'));
  t.true(log.indexOf('db-leader') < log.indexOf('member-down'), 'log order follows detection');
  t.regex(log, /22:57:04Z\s+member-down\s+DB member n1 is down/);

  feed.push({
    ...healthyCluster(START + 2000),
    dbMembers: failedOver.dbMembers?.map((m) => (m.id === 'n1' ? follower('n1', 'n2', 4, 130) : m)),
  });
  const later = await waitForText(app.lastFrame, 'DB member n1 is back up');
  const lines = later
    .slice(later.indexOf('Failovers'))
    .split('\n')
    .filter((line) => line.trim() !== '');
  t.regex(lines.at(-2) ?? '', /member-up\s+DB member n1 is back up/, 'the newest entry is last');
});

test('a down member is shown as down, without made-up numbers', async (t) => {
  const { app, feed } = renderDashboard();
  t.teardown(() => app.unmount());
  const snapshot = healthyCluster(START);
  feed.push({
    ...snapshot,
    dbMembers: [
      ...(snapshot.dbMembers ?? []).slice(0, 4),
      { id: 'n5', address: '10.0.0.5:7000', up: false, lastContactMs: 4200 },
    ],
    redis: [{ name: 'redis-b', address: '10.0.0.2:6379', up: false }],
  });
  const frame = await waitForText(app.lastFrame, '4/5 up');
  t.regex(row(frame, 'n5'), /^n5\s+10\.0\.0\.5:7000\s+DOWN(\s+-){5}\s+4\.2 s$/);
  t.regex(row(frame, 'redis-b'), /DOWN(\s+-){4}$/);
});

test('the VIP moving to the other host shows in the panel and the log', async (t) => {
  const { app, feed } = renderDashboard();
  t.teardown(() => app.unmount());
  feed.push(healthyCluster(START));
  await waitForText(app.lastFrame, 'owner vm1');
  // vm1's agent stops answering; its lease runs out and vip-2 takes the VIP under epoch 8.
  const moved = healthyCluster(START + 1000);
  feed.push({
    ...moved,
    vip: {
      address: '10.0.0.100',
      owner: 'vm2',
      ownerFromLease: false,
      claimants: ['vm2'],
      lease: { holder: 'vip-2', epoch: 8, remainingMs: 1400 },
      agents: [
        {
          ...vipAgent('vip-1', 'vm1', 'passive', 900),
          state: 'down',
          vipConfigured: null,
          gatewayFailures: null,
          lastAction: null,
          lastActionAt: null,
          error: 'connect ECONNREFUSED 10.77.0.11:7502',
        },
        {
          ...vipAgent('vip-2', 'vm2', 'active', null),
          lastAction: 'claim: lease acquired',
          lastActionAt: START + 700,
        },
      ],
    },
  });
  const frame = await waitForText(app.lastFrame, 'VIP 10.0.0.100 vm1 → vm2');
  t.regex(frame, /VIP\s+10\.0\.0\.100 owner vm2\s+lease vip-2 epoch 8, 1\.4 s left/);
  t.regex(
    row(frame, 'vip-1'),
    /vm1\s+DOWN\s+-\s+900 ms\s+-\s+connect ECONNREFUSED 10\.77\.0\.11:7502$/,
  );
  t.regex(row(frame, 'vip-2'), /vm2\s+active\s+yes\s+-\s+0\s+claim: lease acquired, 300 ms ago$/);
  const log = frame.slice(frame.indexOf('Failovers'));
  t.regex(
    log,
    /22:57:04Z\s+vip\s+VIP 10\.0\.0\.100 vm1 → vm2\n.*member-down\s+VIP agent vip-1 is down/,
  );
});

test('an owner known only from the lease, and two owners, are called out', async (t) => {
  const { app, feed } = renderDashboard();
  t.teardown(() => app.unmount());
  const snapshot = healthyCluster(START);
  feed.push({
    ...snapshot,
    vip: {
      ...snapshot.vip!,
      ownerFromLease: true,
      claimants: [],
      agents: [{ ...snapshot.vip!.agents[0]!, state: 'down', error: 'timeout' }],
    },
  });
  await waitForText(app.lastFrame, 'owner vm1 (by the lease; agent silent)');
  feed.push({ ...snapshot, at: START + 500, vip: { ...snapshot.vip!, claimants: ['vm1', 'vm2'] } });
  const frame = await waitForText(app.lastFrame, 'SPLIT: configured on vm1, vm2');
  t.regex(frame, /vip\s+VIP 10\.0\.0\.100 configured on vm1 and vm2/);
});

test('a gossip member dying shows as DEAD, sorted by role, and in the log; observers are not shown', async (t) => {
  const { app, feed } = renderDashboard();
  t.teardown(() => app.unmount());
  const first = healthyCluster(START);
  const observer = gossipMember('observer-1', 'observer', '10.77.0.1:7399', 'alive', START);
  feed.push({ ...first, gossip: [observer, ...(first.gossip ?? []).toReversed()] });
  const healthy = await waitForText(app.lastFrame, 'Gossip  2/3 alive, 1 suspect');
  const order = ['gw-1', 'gw-2', 'users-1'].map((id) => healthy.indexOf(`\n${id} `));
  t.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
    'gateways, then services',
  );
  t.true(order.every((at) => at > 0));
  t.notRegex(healthy, /observer-1/, 'an observer is not part of the system');

  const next = healthyCluster(START + 4000);
  feed.push({
    ...next,
    gossip: [
      observer,
      ...(next.gossip ?? []).map((m) =>
        m.id === 'users-1'
          ? { ...m, state: 'dead' as const, incarnation: 2, since: START + 3500 }
          : m,
      ),
    ],
  });
  const frame = await waitForText(app.lastFrame, 'gossip users users-1 is down');
  t.regex(frame, /Gossip\s+2\/3 alive, 1 dead/);
  t.regex(row(frame, 'users-1'), /users\s+10\.0\.0\.1:7947\s+DEAD\s+2\s+500 ms$/);
  t.regex(frame, /22:57:07Z\s+member-down\s+gossip users users-1 is down/);
});

test('the log keeps scrolling: only the newest lines are shown', async (t) => {
  const { app, feed } = renderDashboard({ logLines: 2 });
  t.teardown(() => app.unmount());
  for (let i = 0; i < 4; i += 1) {
    const snapshot = healthyCluster(START + i * 1000);
    feed.push({ ...snapshot, vip: { ...snapshot.vip!, owner: i % 2 === 0 ? 'vm1' : 'vm2' } });
  }
  const frame = await waitForText(app.lastFrame, '1 earlier ↑');
  t.is(frame.match(/VIP 10\.0\.0\.100 vm\d → vm\d/g)?.length, 2);
  t.regex(frame, /vm2 → vm1\n.*vm1 → vm2/);
});

test('a partial snapshot and feed errors never crash the view', async (t) => {
  const { app, feed } = renderDashboard();
  t.teardown(() => app.unmount());
  feed.push({
    at: START,
    vip: healthyCluster(START).vip,
    problems: ['gossip: cannot listen on 10.77.0.1:0: bind EADDRNOTAVAIL'],
  });
  const frame = await waitForText(app.lastFrame, 'owner vm1');
  t.regex(frame, /^NOTE gossip: cannot listen on 10\.77\.0\.1:0: bind EADDRNOTAVAIL$/m);
  t.regex(frame, /DB members\s+not observed/);
  t.regex(frame, /Redis\s+not observed/);
  t.regex(frame, /Supervisor\s+not observed/);
  t.regex(frame, /Gossip\s+not observed/);

  feed.push({ error: 'redis-b: connect ECONNREFUSED 10.0.0.2:6379' });
  const failed = await waitForText(app.lastFrame, 'ERROR redis-b: connect ECONNREFUSED');
  t.regex(failed, /owner vm1/, 'the last snapshot stays on screen');

  feed.push({
    at: START + 500,
    dbMembers: [],
    redis: [],
    gossip: [],
    vip: { address: '10.0.0.100', owner: null, ownerFromLease: false, claimants: [], agents: [] },
  });
  const empty = await waitForText(app.lastFrame, 'owner NONE');
  t.notRegex(empty, /ERROR/, 'a good snapshot clears the error');
  t.regex(empty, /0\/0 up, leader none/);
});

test('a feed that throws is reported in the status line', async (t) => {
  const controller = new AbortController();
  const app = render(
    createElement(Dashboard, {
      signal: controller.signal,
      feed: {
        snapshots: () => ({
          [Symbol.asyncIterator]: () => ({
            next: () => Promise.reject(new Error('registry unreachable')),
          }),
        }),
      },
    }),
  );
  t.teardown(() => app.unmount());
  const frame = await waitForText(app.lastFrame, 'ERROR the feed failed: registry unreachable');
  t.regex(frame, /waiting for the first snapshot/);
});

test('warns that the view is stale after two seconds without a snapshot', async (t) => {
  const { app, feed, clock } = renderDashboard();
  t.teardown(() => app.unmount());
  feed.push(healthyCluster(START));
  await waitForText(app.lastFrame, 'snapshot 22:57:03Z');
  clock.advance(STALE_AFTER_MS + 1000);
  await waitForText(app.lastFrame, 'STALE: no snapshot for 3.0 s');
  feed.push(healthyCluster(START + 3000));
  const fresh = await waitForText(app.lastFrame, 'snapshot 22:57:06Z');
  t.notRegex(fresh, /STALE/);
});

for (const [name, key] of [
  ['q', 'q'],
  ['Ctrl-C', '\u0003'],
] as const) {
  test(`${name} quits and stops reading the feed`, async (t) => {
    const { app, feed, quits } = renderDashboard();
    t.teardown(() => app.unmount());
    feed.push(healthyCluster(START));
    await waitForText(app.lastFrame, 'snapshot 22:57:03Z');
    t.is(feed.readers, 1);
    app.stdin.write(key);
    await waitForFrame(
      () => String(feed.readers),
      (readers) => readers === '0',
      {
        description: 'with the feed closed',
      },
    );
    t.is(quits(), 1);
  });
}

test('aborting the signal stops reading the feed', async (t) => {
  const { app, feed, controller, quits } = renderDashboard();
  t.teardown(() => app.unmount());
  await waitForFrame(
    () => String(feed.readers),
    (readers) => readers === '1',
  );
  controller.abort();
  await waitForFrame(
    () => String(feed.readers),
    (readers) => readers === '0',
  );
  t.is(quits(), 0, 'the caller stopped it; the operator did not quit');
});

test('shows each DB member as voter or learner, with a learner’s catch-up progress', async (t) => {
  const { app, feed } = renderDashboard();
  t.teardown(() => app.unmount());
  const cluster = healthyCluster(START);
  const members = (cluster.dbMembers ?? []).map((member, i) =>
    i === 4 && member.up
      ? { ...member, membership: 'learner' as const, catchUpPercent: 42, lagEntries: 700 }
      : { ...member, membership: 'voter' as const },
  );
  feed.push({ ...cluster, dbMembers: members });
  const frame = await waitForText(app.lastFrame, 'learner 42%');
  t.regex(frame, /5\/5 up, leader n1 \(term 3\), 4 voters, 1 learner/);
  t.regex(row(frame, 'n1'), /up\s+leader\s+voter\s+3\s+120\/120/);
  t.regex(row(frame, 'n5'), /up\s+follower\s+learner 42%\s+3\s+118\/118\s+n1\s+700/);

  feed.push({
    ...cluster,
    at: START + 500,
    dbMembers: members.map((member, i) =>
      i === 4 ? { ...member, membership: 'removed' as const } : member,
    ),
  });
  const removed = await waitForText(app.lastFrame, 'removed');
  t.regex(removed, /4 voters(?!, 1 learner)/);
  t.regex(row(removed, 'n5'), /follower\s+removed\s+3/);
});
