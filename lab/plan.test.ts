/**
 * The plan both runners share: every config it writes is one its process accepts (the
 * processes' own schemas decide), every process lands where the topology says, and the
 * addresses clients dial are the ones the certificates name.
 */
import test from 'ava';
import type { z } from 'zod';
import { NodeConfigSchema } from '../raft/cmd/config.js';
import { GatewayConfigSchema, ServiceConfigSchema } from '../server/process-config.js';
import { SupervisorConfigSchema } from '../supervisor/config.js';
import { VipAgentConfigSchema } from '../vip-agent/config.js';
import type { ClusterRole } from '../base/pki.js';
import type { RedisUser } from '../server/bus/redis-auth.js';
import { DataLayout } from './layout.js';
import { LOCAL_TOPOLOGY } from './local/topology.js';
import { buildPlan, metricsTargets, STAGES, type SystemPlan, type Topology } from './plan.js';
import { LAB_TOPOLOGY, VIP_ADDRESS } from './topology.js';

const layout = new DataLayout('/data');
const signing = { privateKeyPath: '/data/pki/s-key.pem', publicKeyPath: '/data/pki/s.pem' };
const lab = buildPlan(LAB_TOPOLOGY, layout, signing);
const local = buildPlan(LOCAL_TOPOLOGY, layout, signing);

const SCHEMAS: Record<string, z.ZodType> = {
  'server/db/main.ts': NodeConfigSchema,
  'server/services/main.ts': ServiceConfigSchema,
  'server/gateway/main.ts': GatewayConfigSchema,
  'supervisor/main.ts': SupervisorConfigSchema,
  'vip-agent/main.ts': VipAgentConfigSchema,
};

function config(plan: SystemPlan, name: string): Record<string, unknown> {
  const p = plan.processes.find((x) => x.name === name);
  if (p?.program.kind !== 'node') throw new Error(`${name} is not a node process`);
  return p.program.config as Record<string, unknown>;
}

for (const [label, plan, topology] of [
  ['lab', lab, LAB_TOPOLOGY],
  ['local', local, LOCAL_TOPOLOGY],
] as const) {
  test(`${label}: every config passes its process's own schema`, (t) => {
    for (const p of plan.processes) {
      if (p.program.kind !== 'node') continue;
      const schema = SCHEMAS[p.program.entry];
      if (!schema) return t.fail(`no schema known for ${p.program.entry}`);
      const parsed = schema.safeParse(p.program.config);
      t.true(parsed.success, `${p.name}: ${parsed.error?.message ?? ''}`);
      t.is(p.program.configPath, `/data/${p.name}.json`);
    }
  });

  test(`${label}: every long-running daemon joins gossip, seeded by all the others`, (t) => {
    const members = plan.processes.filter((p) => p.program.kind === 'node' && p.stage !== 'db');
    const listens = members.map((p) => (config(plan, p.name).gossip as { listen: string }).listen);
    t.is(new Set(listens).size, members.length, 'each on its own address');
    for (const p of members) {
      const gossip = config(plan, p.name).gossip as {
        listen: string;
        seeds: string[];
        keyFile: string;
      };
      t.deepEqual([...gossip.seeds].sort(), listens.filter((l) => l !== gossip.listen).sort());
      t.is(gossip.keyFile, layout.gossipKey);
    }
  });

  test(`${label}: every daemon serves /metrics where the operator scrapes it`, (t) => {
    const targets = metricsTargets(topology);
    t.deepEqual(
      targets.map((target) => target.name).sort(),
      plan.processes
        .filter((p) => p.program.kind === 'node')
        .map((p) => p.name)
        .sort(),
    );
    for (const target of targets) {
      const base = target.url.slice(0, -'/metrics'.length);
      if (target.kind === 'gateway') t.true(plan.gatewayUrls.includes(base), target.url);
      else if (target.kind === 'db') {
        const api = plan.dbApis.get(Number(target.name.slice('db-'.length)));
        t.is(base, `https://${api?.host}:${api?.port}`);
      } else t.is(base, `https://${String(config(plan, target.name).metrics)}`);
    }
    const urls = targets.map((target) => target.url);
    t.is(new Set(urls).size, urls.length, 'each at its own address');
  });
}

test('lab: placement is 2 + 2 + 1 DB members, the rest paired on vm1 and vm2', (t) => {
  const on = (host: string) =>
    lab.processes
      .filter((p) => p.host === host)
      .map((p) => p.name)
      .sort();
  const pair = (n: number) =>
    [
      `db-${2 * n - 1}`,
      `db-${2 * n}`,
      `redis-${n}`,
      `users-${n}`,
      `groups-${n}`,
      `gateway-${n}`,
      `supervisor-${n}`,
      `vip-${n}`,
    ].sort();
  t.deepEqual(on('vm1'), pair(1));
  t.deepEqual(on('vm2'), pair(2));
  t.deepEqual(on('vm3'), ['db-5']);
  t.deepEqual(
    lab.processes.map((p) => STAGES.indexOf(p.stage)),
    [...lab.processes.map((p) => STAGES.indexOf(p.stage))].sort((a, b) => a - b),
    'listed in start order',
  );
});

test('lab: gateways answer on the VIP; their certificates name it, every one names its host', (t) => {
  for (const n of [1, 2]) {
    const gateway = config(lab, `gateway-${n}`);
    t.is(gateway.listen, '0.0.0.0:8443');
    t.is(gateway.publicUrl, `https://${VIP_ADDRESS}:8443`);
    const p = lab.processes.find((x) => x.name === `gateway-${n}`);
    t.true(p?.certificateAddresses.includes(VIP_ADDRESS));
    t.true(p?.certificateAddresses.includes(`10.77.0.1${n}`));
  }
  const db5 = lab.processes.find((p) => p.name === 'db-5');
  t.deepEqual(db5?.certificateAddresses, ['10.77.0.13', '127.0.0.1']);
  t.deepEqual(lab.clientUrls, [`https://${VIP_ADDRESS}:8443`]);
});

test('lab: the VIP agents watch their own gateway and heartbeat each other', (t) => {
  const one = config(lab, 'vip-1') as z.input<typeof VipAgentConfigSchema>;
  t.is(one.gatewayHealthUrl, 'https://10.77.0.11:8443/healthz');
  t.deepEqual(one.heartbeat, {
    listen: '10.77.0.11:7501',
    peer: '10.77.0.12:7501',
    peerId: 'vip-2',
    keyFile: layout.vipHeartbeatKey,
  });
  t.deepEqual(one.vip, { address: VIP_ADDRESS, prefixLength: 24, device: 'eth0' });
});

test('lab: Redis starts as primary on vm1 with its replica on vm2, both TLS-only', (t) => {
  const args = (name: string) => {
    const p = lab.processes.find((x) => x.name === name);
    return p?.program.kind === 'redis' ? p.program.args.join(' ') : '';
  };
  t.regex(args('redis-1'), /--bind 10\.77\.0\.11 --port 0 --tls-port 6380/);
  t.notRegex(args('redis-1'), /--replicaof/);
  t.regex(args('redis-2'), /--bind 10\.77\.0\.12 .* --replicaof 10\.77\.0\.11 6380/);
  t.deepEqual(lab.initialRedisPrimary, { host: '10.77.0.11', port: 6380 });
  t.deepEqual(config(lab, 'supervisor-2').redis, ['10.77.0.11:6380', '10.77.0.12:6380']);
});

const REDIS_USER_OF_ROLE: Partial<Record<ClusterRole, RedisUser>> = {
  gateway: 'gateway',
  users: 'users',
  groups: 'groups',
  supervisor: 'supervisor',
};

test('Redis grants by role: every instance reads one login config, every client its role', (t) => {
  for (const plan of [lab, local]) {
    for (const p of plan.processes) {
      if (p.program.kind === 'redis') {
        // First: redis-server reads a config file only as its first argument.
        t.is(p.program.args[0], layout.redisAuthConfig);
      } else if (p.program.kind === 'node') {
        // The DB members and the VIP agents do not use Redis.
        const user = REDIS_USER_OF_ROLE[p.role];
        t.deepEqual(
          (p.program.config as { redisAuth?: unknown }).redisAuth,
          user === undefined ? undefined : { user, passwordFile: layout.redisPassword(user) },
          p.name,
        );
      }
    }
  }
});

test('local: everything on loopback at distinct ports, clients list both gateways', (t) => {
  t.deepEqual(local.gatewayUrls, ['https://127.0.0.1:8443', 'https://127.0.0.1:8444']);
  t.deepEqual(local.clientUrls, local.gatewayUrls);
  t.false(local.processes.some((p) => p.stage === 'vip-agents'));
  t.deepEqual(
    local.processes.flatMap((p) => p.certificateAddresses),
    local.processes.map(() => '127.0.0.1'),
  );
});

test('a topology naming an unknown host is refused', (t) => {
  const broken: Topology = {
    ...LOCAL_TOPOLOGY,
    db: [{ id: 1, host: 'mars', raftPort: 1, apiPort: 2 }],
  };
  t.throws(() => buildPlan(broken, layout, signing), { message: /unknown host mars/ });
});
