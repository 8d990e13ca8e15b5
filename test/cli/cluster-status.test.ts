/**
 * `agenda cluster status --topology …` against fake targets: the CLI end of the observer,
 * run in-process with the CLI's own harness (oclif would take a test file under
 * `cli/commands/` for a command).
 */
import path from 'node:path';
import test from 'ava';
import ClusterStatus from '../../cli/commands/cluster/status.js';
import { parseJsonResult, runCommand } from '../../cli/test/support/harness.js';
import { silentLogger } from '../../base/log.js';
import { joinGossip } from '../../server/gossip/join.js';
import { writeClusterDescription } from '../../ops/description.js';
import { FakeStatusServer, agentStatus, createTestPki } from '../../ops/testing.js';

const HOST = '127.0.0.1';

test('cluster status --topology shows the VIP, a down agent and gossip, as text and JSON', async (t) => {
  const pki = await createTestPki();
  const agent = await FakeStatusServer.start(pki, 30531, () => ({
    status: 200,
    body: JSON.stringify(agentStatus('vip-1', 'vip-2', 'active')),
  }));
  t.teardown(() => agent.close());
  const gateway = await joinGossip(
    { listen: `${HOST}:30533`, seeds: [], keyFile: pki.gossipKeyFile, periodMs: 200 },
    (p) => p,
    { id: 'gateway-1', role: 'gateway' },
    await pki.member('gateway-1', 'gateway'),
    silentLogger,
  );
  t.teardown(() => gateway.close());
  const file = path.join(pki.dir, 'observer.json');
  writeClusterDescription(file, {
    name: 'multipass',
    tls: pki.tls,
    db: { members: [{ id: 1, api: `${HOST}:30534` }] },
    vip: {
      address: '10.77.0.10',
      agents: [
        { id: 'vip-1', host: 'vm1', status: `${HOST}:30531` },
        { id: 'vip-2', host: 'vm2', status: `${HOST}:30532` },
      ],
    },
    gossip: {
      listen: `${HOST}:0`,
      seeds: [`${HOST}:30533`],
      keyFile: pki.gossipKeyFile,
      periodMs: 200,
    },
  });

  const json = await runCommand(ClusterStatus, ['--topology', file, '--json']);
  t.is(json.exitCode, 0, json.stderr);
  const { cluster } = parseJsonResult(ClusterStatus, json.stdout);
  t.like(cluster.vip, { address: '10.77.0.10', owner: 'vm1', claimants: ['vm1'] });
  t.like(cluster.vip?.agents[1], { id: 'vip-2', state: 'down' });
  t.like(cluster.gossip?.[0], { id: 'gateway-1', role: 'gateway', state: 'alive' });
  t.like(cluster.dbMembers?.[0], { id: 'db-1', up: false });
  t.is(cluster.supervisor, undefined);

  const text = await runCommand(ClusterStatus, ['--topology', file]);
  t.is(text.exitCode, 0, text.stderr);
  t.regex(text.stdout, /^DB: 0\/1 members up, leader none$/m);
  t.regex(text.stdout, /^VIP 10\.77\.0\.10: owner vm1$/m);
  t.regex(text.stdout, /^ {2}vip-1 {2}vm1 {2}active {3}VIP here$/m);
  t.regex(text.stdout, /^ {2}vip-2 {2}vm2 {2}DOWN {5}.*ECONNREFUSED/m);
  t.regex(text.stdout, /^Gossip: 1\/1 alive\n {2}gateway-1 +gateway +127\.0\.0\.1:30533 +alive$/m);
});

test('cluster status: a missing description and contradictory flags are usage errors', async (t) => {
  const missing = await runCommand(ClusterStatus, [
    '--topology',
    '/nonexistent/observer.json',
    '--json',
  ]);
  // A path to fix, not a service to wait for (outside attack: it exited 5, "unavailable").
  t.is(missing.exitCode, 1);
  t.like(JSON.parse(missing.stderr), {
    error: {
      code: 'invalid',
      message: 'no topology description at /nonexistent/observer.json',
      details: { field: 'topology' },
    },
  });
  const both = await runCommand(ClusterStatus, ['--lab', '--topology', 'x.json', '--json']);
  t.is(both.exitCode, 1);
  t.regex(both.stderr, /--topology names the whole system/);
});
