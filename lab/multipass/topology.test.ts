import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { loadClusterDescription } from '../../ops/description.js';
import { LAB_TOPOLOGY } from '../topology.js';
import type { MultipassSite } from './topology.js';
import { multipassTopology, observerFile, prepareSite, readSite } from './topology.js';
import { temporaryDirectory } from '../../test/support/temp-dirs.js';

const SITE: MultipassSite = {
  hosts: { vm1: '10.5.3.21', vm2: '10.5.3.22', vm3: '10.5.3.23' },
  vip: '10.5.3.250',
  prefixLength: 24,
  device: 'ens3',
  observerAddress: '10.5.3.1',
};

test('the VMs run the lab placement, at their own addresses, with their VIP', (t) => {
  const topology = multipassTopology(SITE);
  t.deepEqual(topology.hosts, [
    { name: 'vm1', address: '10.5.3.21' },
    { name: 'vm2', address: '10.5.3.22' },
    { name: 'vm3', address: '10.5.3.23' },
  ]);
  t.deepEqual(topology.db, LAB_TOPOLOGY.db);
  t.deepEqual(topology.gateways, LAB_TOPOLOGY.gateways);
  t.like(topology.vip, { address: '10.5.3.250', prefixLength: 24, device: 'ens3' });
  t.deepEqual(topology.vip?.agents, LAB_TOPOLOGY.vip?.agents);
});

test('prepare writes the site, every config and an observer description of the VMs', async (t) => {
  const dataDir = await temporaryDirectory('agenda-multipass-');
  await prepareSite(dataDir, SITE);
  t.deepEqual(readSite(dataDir), SITE);

  const vip = JSON.parse(await readFile(path.join(dataDir, 'vip-2.json'), 'utf8')) as {
    vip: { address: string; device: string };
    status: string;
    heartbeat: { peer: string };
  };
  t.deepEqual(vip.vip, { address: '10.5.3.250', prefixLength: 24, device: 'ens3' });
  t.is(vip.status, '10.5.3.22:7502');
  t.is(vip.heartbeat.peer, '10.5.3.21:7501');
  const db5 = JSON.parse(await readFile(path.join(dataDir, 'db-5.json'), 'utf8')) as {
    members: Record<string, { raft: string }>;
  };
  t.is(db5.members['5']?.raft, '10.5.3.23:7105');

  const description = loadClusterDescription(observerFile(dataDir));
  t.is(description.name, 'multipass');
  t.is(description.gossip?.listen, '10.5.3.1:0');
  t.deepEqual(
    description.vip?.agents.map((a) => a.status),
    ['10.5.3.21:7502', '10.5.3.22:7502'],
  );
  for (const file of [description.tls.ca, description.tls.cert, description.tls.key]) {
    t.true((await stat(file)).isFile(), `${file} exists`);
  }
  const written = await readFile(observerFile(dataDir), 'utf8');
  t.false(written.includes(dataDir), 'paths are relative, so the directory can be copied');
});

test('a bad site is refused with the reason', async (t) => {
  const dataDir = await temporaryDirectory('agenda-multipass-');
  const error = await t.throwsAsync(prepareSite(dataDir, { ...SITE, vip: 'ten', device: 'a b' }));
  t.regex(error.message, /^invalid site: /);
  t.regex(error.message, /vip/);
  t.regex(error.message, /device/);
});
