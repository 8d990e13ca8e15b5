/**
 * The dashboard over the real observer (not a fake feed): fake VIP agents and a gossip member
 * on loopback change under it, and the frames follow.
 */
import test from 'ava';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { silentLogger } from '../base/log.js';
import { joinGossip } from '../server/gossip/join.js';
import { Dashboard } from './dashboard.js';
import { waitForText } from './testing.js';
import { parseClusterDescription } from '../ops/description.js';
import { ClusterObserver } from '../ops/observer.js';
import { FakeStatusServer, agentStatus, createTestPki } from '../ops/testing.js';

const HOST = '127.0.0.1';

test('the VIP moving and a gossip member leaving show up live, from real targets', async (t) => {
  const pki = await createTestPki();
  let owner: 'vip-1' | 'vip-2' = 'vip-1';
  const answer = (id: 'vip-1' | 'vip-2', peer: string) => () =>
    owner === id || id === 'vip-2'
      ? {
          status: 200,
          body: JSON.stringify(agentStatus(id, peer, owner === id ? 'active' : 'passive')),
        }
      : { status: 503, body: '{}' };
  const agents = [
    await FakeStatusServer.start(pki, 30541, answer('vip-1', 'vip-2')),
    await FakeStatusServer.start(pki, 30542, answer('vip-2', 'vip-1')),
  ];
  t.teardown(() => Promise.all(agents.map((a) => a.close())));
  const gateway = await joinGossip(
    { listen: `${HOST}:30543`, seeds: [], keyFile: pki.gossipKeyFile, periodMs: 200 },
    (p) => p,
    { id: 'gateway-1', role: 'gateway' },
    await pki.member('gateway-1', 'gateway'),
    silentLogger,
  );
  t.teardown(() => gateway.close());
  const observer = new ClusterObserver(
    parseClusterDescription({
      tls: pki.tls,
      pollMs: 100,
      vip: {
        address: '10.77.0.10',
        agents: [
          { id: 'vip-1', host: 'vm1', status: `${HOST}:30541` },
          { id: 'vip-2', host: 'vm2', status: `${HOST}:30542` },
        ],
      },
      gossip: {
        listen: `${HOST}:0`,
        seeds: [`${HOST}:30543`],
        keyFile: pki.gossipKeyFile,
        periodMs: 200,
      },
    }),
  );
  t.teardown(() => observer.close());
  const controller = new AbortController();
  const app = render(createElement(Dashboard, { feed: observer, signal: controller.signal }));
  t.teardown(() => {
    controller.abort();
    app.unmount();
  });

  await waitForText(app.lastFrame, 'owner vm1', 'Gossip  1/1 alive', 'gateway-1');
  owner = 'vip-2';
  const moved = await waitForText(app.lastFrame, 'VIP 10.77.0.10 vm1 → vm2');
  t.regex(moved, /VIP agent vip-1 is down/);
  t.regex(moved, /vip-1\s+vm1\s+DOWN\s.*answered 503/);

  await gateway.close();
  const left = await waitForText(app.lastFrame, 'gossip gateway gateway-1 left');
  t.regex(left, /gateway-1\s+gateway\s+127\.0\.0\.1:30543\s+left/);
  t.notRegex(left, /ERROR/);
});
