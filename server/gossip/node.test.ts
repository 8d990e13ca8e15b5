import test from 'ava';
import { GossipNode } from './node.js';
import type { GossipMessage } from './types.js';
import { sendDatagram, waitFor } from './test-support.js';
import { GossipCodec } from './wire.js';

const KEY = 'cluster-key-for-udp-test-0123456';
const HOST = '127.0.0.1';
const PORTS = [30061, 30062, 30063] as const;

test('three members on loopback find each other, drop forgeries, and see a leave', async (t) => {
  const [first, ...rest] = PORTS;
  const nodes = PORTS.map(
    (port, i) =>
      new GossipNode({
        self: {
          id: `member-${i}`,
          role: i === 0 ? 'gateway' : 'users',
          address: `${HOST}:${port}`,
          meta: { replica: String(i) },
        },
        seeds: [`${HOST}:${first}`],
        clusterKey: KEY,
        protocol: { protocolPeriodMs: 200, ackTimeoutMs: 80, gossipIntervalMs: 50 },
      }),
  );
  t.teardown(() => Promise.all(nodes.map((node) => node.close())));
  const [a, b, c] = nodes as [GossipNode, GossipNode, GossipNode];
  const changes: string[] = [];
  a.on('change', (change) => changes.push(`${change.kind} ${change.member.id}`));
  await Promise.all(nodes.map((node) => node.start()));

  const allAlive = (node: GossipNode) =>
    node.members().filter((m) => m.state === 'alive').length === 3;
  await waitFor('everyone to see everyone', () => nodes.every(allAlive));
  t.deepEqual(
    a.liveMembers('users').map((m) => [m.id, m.meta]),
    [
      ['member-1', { replica: '1' }],
      ['member-2', { replica: '2' }],
    ],
  );
  t.true(changes.includes('joined member-1') && changes.includes('joined member-2'));

  // An outsider without the key claims a member is dead and a new one is alive.
  const forgery: GossipMessage = {
    type: 'gossip',
    from: 'mallory',
    updates: [
      {
        id: 'member-1',
        role: 'users',
        address: `${HOST}:${rest[0]}`,
        meta: {},
        incarnation: 99,
        state: 'dead',
      },
      {
        id: 'mallory',
        role: 'gateway',
        address: `${HOST}:30099`,
        meta: {},
        incarnation: 0,
        state: 'alive',
      },
    ],
  };
  const wrongKey = new GossipCodec({ key: 'not-the-cluster-key-0123456789ab' });
  await sendDatagram(wrongKey.encode(forgery), first);
  await sendDatagram(Buffer.from('hello'), first);
  await waitFor('the forgery to be dropped', () => {
    const { dropped } = a.stats();
    return dropped.bad_mac === 1 && dropped.too_short === 1;
  });
  t.false(a.members().some((m) => m.id === 'mallory'));
  t.is(a.members().find((m) => m.id === 'member-1')?.state, 'alive');
  t.true(a.stats().received > 0 && a.stats().sent > 0);

  await c.close();
  await c.close();
  await waitFor('the others to see member-2 leave', () =>
    [a, b].every((node) => node.members().find((m) => m.id === 'member-2')?.state === 'left'),
  );
  t.true(changes.includes('left member-2'));
  t.false(changes.includes('dead member-2'));
});
