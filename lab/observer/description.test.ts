import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { DataLayout } from '../layout.js';
import { LOCAL_TOPOLOGY } from '../local/topology.js';
import { LAB_TOPOLOGY } from '../topology.js';
import {
  loadClusterDescription,
  parseClusterDescription,
  writeClusterDescription,
} from '../../ops/description.js';
import { describeTopology } from './topology.js';
import { temporaryDirectory } from '../../test/support/temp-dirs.js';

test('the lab: every DB member, both Redis instances, both VIP agents and every gossip member', (t) => {
  const layout = new DataLayout('/srv/lab');
  const description = describeTopology(LAB_TOPOLOGY, layout, {
    name: 'lab',
    observerAddress: '10.77.0.1',
  });
  t.deepEqual(
    description.db?.members.map((m) => `${m.name} ${m.api}`),
    [
      'db-1 10.77.0.11:7201',
      'db-2 10.77.0.11:7202',
      'db-3 10.77.0.12:7203',
      'db-4 10.77.0.12:7204',
      'db-5 10.77.0.13:7205',
    ],
  );
  t.deepEqual(description.redis, [
    { name: 'redis-1', address: '10.77.0.11:6380' },
    { name: 'redis-2', address: '10.77.0.12:6380' },
  ]);
  t.deepEqual(description.vip, {
    address: '10.77.0.10',
    leaseName: 'vip',
    agents: [
      { id: 'vip-1', host: 'vm1', status: '10.77.0.11:7502' },
      { id: 'vip-2', host: 'vm2', status: '10.77.0.12:7502' },
    ],
  });
  t.is(description.gossip?.listen, '10.77.0.1:0');
  t.is(description.gossip?.keyFile, '/srv/lab/pki/gossip.key');
  t.is(description.gossip?.seeds.length, 10, 'gateways, users, groups, supervisors, VIP agents');
  t.deepEqual(description.tls, layout.tls('operator'));
  t.deepEqual(description.redisAuth, {
    user: 'operator',
    passwordFile: '/srv/lab/pki/redis-operator.password',
  });
  t.like(description, { pollMs: 500, timeoutMs: 400 });
});

test('npm start: no VIP; gossip on loopback', (t) => {
  const description = describeTopology(LOCAL_TOPOLOGY, new DataLayout('/d'), {
    name: 'local',
    observerAddress: '127.0.0.1',
  });
  t.is(description.vip, undefined);
  t.is(description.db?.members.length, 5);
  t.is(description.gossip?.listen, '127.0.0.1:0');
  t.true(description.gossip?.seeds.every((s) => s.startsWith('127.0.0.1:')));
});

test('a description file round-trips with paths relative to it', async (t) => {
  const dir = await temporaryDirectory('agenda-description-');
  const file = path.join(dir, 'observer.json');
  writeClusterDescription(file, {
    name: 'multipass',
    tls: {
      ca: path.join(dir, 'pki/ca.pem'),
      cert: path.join(dir, 'pki/operator.pem'),
      key: path.join(dir, 'pki/operator-key.pem'),
    },
    vip: { address: '10.1.2.250', agents: [{ id: 'vip-1', host: 'vm1', status: '10.1.2.3:7502' }] },
    gossip: {
      listen: '10.1.2.1:0',
      seeds: ['10.1.2.3:7301'],
      keyFile: path.join(dir, 'pki/gossip.key'),
    },
    redisAuth: { user: 'operator', passwordFile: path.join(dir, 'pki/redis-operator.password') },
  });
  const written = JSON.parse(await readFile(file, 'utf8')) as {
    tls: { ca: string };
    redisAuth: { passwordFile: string };
  };
  t.is(written.tls.ca, 'pki/ca.pem');
  t.is(written.redisAuth.passwordFile, 'pki/redis-operator.password');
  const moved = path.join(await temporaryDirectory('agenda-moved-'), 'o.json');
  await writeFile(moved, JSON.stringify(written));
  const loaded = loadClusterDescription(moved);
  t.is(loaded.tls.ca, path.join(path.dirname(moved), 'pki/ca.pem'));
  t.is(loaded.gossip?.keyFile, path.join(path.dirname(moved), 'pki/gossip.key'));
  t.is(
    loaded.redisAuth?.passwordFile,
    path.join(path.dirname(moved), 'pki/redis-operator.password'),
  );
  t.is(loaded.vip?.leaseName, 'vip');
});

test('a bad description says what is wrong and where', async (t) => {
  const dir = await temporaryDirectory('agenda-description-');
  const file = path.join(dir, 'observer.json');
  await writeFile(
    file,
    JSON.stringify({
      tls: { ca: 'a', cert: 'b', key: 'c' },
      vip: { address: '10.77.0.300', agents: [] },
      redis: [{ name: 'r', address: 'nowhere' }],
      extra: true,
    }),
  );
  const error = t.throws(() => loadClusterDescription(file));
  t.regex(error.message, new RegExp(`^invalid config ${file}:`));
  t.regex(error.message, /redis\.0\.address: expected host:port/);
  t.regex(error.message, /vip\.address/);
  t.regex(error.message, /vip\.agents/);
  t.regex(error.message, /extra/);
  t.throws(() => parseClusterDescription({ tls: { ca: '', cert: 'b', key: 'c' } }), {
    message: /^invalid cluster description: /,
  });
});
