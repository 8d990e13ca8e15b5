/**
 * The Multipass VMs' systemd units, generated for the lab's placement at made-up addresses:
 * the runner's command lines with the compiled daemons and a heap cap, its start order, its
 * priorities, the restart policy, memory limits per kind, the VIP agent's clean-up and
 * capabilities; and, where this machine has `systemd-analyze`, that systemd accepts every
 * file. Nothing here starts a unit: no systemd runs on this machine, and Multipass cannot run
 * here either.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { temporaryDirectorySync } from '../../test/support/temp-dirs.js';
import { DataLayout } from '../layout.js';
import { buildPlan, type PlannedProcess } from '../plan.js';
import { daemonNodeFlags, preparedPlan } from '../runner.js';
import { JEMALLOC } from '../prerequisites.js';
import type { MultipassSite } from './topology.js';
import { multipassTopology } from './topology.js';
import {
  execLine,
  execWord,
  findExecutable,
  GENERATED_MARK,
  installUnits,
  memoryLimits,
  NODE_FLOOR_MIB,
  systemdUnits,
  unitName,
  youngGenerationMib,
  type UnitFile,
  type UnitOptions,
} from './units.js';

const SITE: MultipassSite = {
  hosts: { vm1: '10.5.3.21', vm2: '10.5.3.22', vm3: '10.5.3.23' },
  vip: '10.5.3.250',
  prefixLength: 24,
  device: 'ens3',
  observerAddress: '10.5.3.1',
};
const DATA = '/var/lib/agenda';
const plan = buildPlan(multipassTopology(SITE), new DataLayout(DATA), {
  privateKeyPath: `${DATA}/pki/token-signing-key.pem`,
  publicKeyPath: `${DATA}/pki/token-signing.pem`,
});
const PROGRAMS: Record<string, string> = {
  'redis-server': '/usr/bin/redis-server',
  ip: '/usr/sbin/ip',
};
const options = (host: string): UnitOptions => ({
  host,
  repo: '/opt/agenda',
  user: 'agenda',
  node: '/usr/bin/node',
  which: (name) => {
    const path = PROGRAMS[name];
    if (path === undefined) throw new Error(`no ${name} here`);
    return path;
  },
});
const units = (host: string) => systemdUnits(plan, options(host));

/** A unit's settings, every section's, each key with its values in order. */
function settings(file: UnitFile): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of file.content.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('[')) continue;
    const at = line.indexOf('=');
    const key = line.slice(0, at);
    found.set(key, [...(found.get(key) ?? []), line.slice(at + 1)]);
  }
  return found;
}

function unit(host: string, name: string): Map<string, string[]> {
  const file = units(host).find((f) => f.name === name);
  if (!file) throw new Error(`no unit ${name} on ${host}`);
  return settings(file);
}

function one(s: Map<string, string[]>, key: string): string | undefined {
  const values = s.get(key);
  if (values !== undefined && values.length !== 1) throw new Error(`${key} is set twice`);
  return values?.[0];
}

const daemons = (host: string): PlannedProcess[] => plan.processes.filter((p) => p.host === host);

test('each VM gets a unit per process of its own, in start order, and agenda.target', (t) => {
  t.deepEqual(
    units('vm1').map((f) => f.name),
    [
      'agenda-db-1.service',
      'agenda-db-2.service',
      'agenda-redis-1.service',
      'agenda-redis-primary.service',
      'agenda-supervisor-1.service',
      'agenda-users-1.service',
      'agenda-groups-1.service',
      'agenda-gateway-1.service',
      'agenda-vip-1.service',
      'agenda.target',
    ],
  );
  t.deepEqual(
    units('vm2').map((f) => f.name),
    [
      'agenda-db-3.service',
      'agenda-db-4.service',
      'agenda-redis-2.service',
      'agenda-supervisor-2.service',
      'agenda-users-2.service',
      'agenda-groups-2.service',
      'agenda-gateway-2.service',
      'agenda-vip-2.service',
      'agenda.target',
    ],
  );
  t.deepEqual(
    units('vm3').map((f) => f.name),
    ['agenda-db-5.service', 'agenda.target'],
  );
  t.throws(() => units('vm4'), { message: /runs nothing on vm4/ });
  for (const host of ['vm1', 'vm2', 'vm3']) {
    for (const f of units(host)) t.true(f.content.startsWith(GENERATED_MARK), f.name);
  }
});

test("ExecStart is the runner's command line: its node flags, a heap cap, the compiled daemon", (t) => {
  const caps: Record<string, number> = {
    db: 192,
    gateway: 96,
    users: 96,
    groups: 96,
    supervisor: 128,
    'vip-agent': 128,
  };
  const compiled: Record<string, string> = {
    db: 'server/db/main.js',
    gateway: 'server/gateway/main.js',
    users: 'server/services/main.js',
    groups: 'server/services/main.js',
    supervisor: 'supervisor/main.js',
    'vip-agent': 'vip-agent/main.js',
  };
  for (const host of ['vm1', 'vm2', 'vm3']) {
    for (const p of daemons(host)) {
      const s = unit(host, unitName(p.name));
      if (p.program.kind === 'redis') {
        t.is(one(s, 'ExecStart'), execLine(['/usr/bin/redis-server', ...p.program.args]));
        t.regex(one(s, 'ExecStart') ?? '', / --save "" --appendonly no /);
        t.is(one(s, 'WorkingDirectory'), `${DATA}/redis`);
        continue;
      }
      t.is(
        one(s, 'ExecStart'),
        [
          '/usr/bin/node',
          ...daemonNodeFlags(p.stage),
          `--max-old-space-size=${caps[p.role]}`,
          // No build here: the tsc output's path (the bundle's where the build made one).
          `/opt/agenda/dist/${compiled[p.role]}`,
          '--config',
          `${DATA}/${p.name}.json`,
        ].join(' '),
        p.name,
      );
      t.is(one(s, 'WorkingDirectory'), '/opt/agenda');
    }
  }
});

test('every daemon is ready once its ready line is in its log, within the runner’s 60 s', (t) => {
  for (const p of daemons('vm1')) {
    const s = unit('vm1', unitName(p.name));
    t.is(one(s, 'Type'), 'exec');
    t.is(one(s, 'StandardOutput'), `append:${DATA}/logs/${p.name}.log`);
    t.is(one(s, 'StandardError'), 'inherit');
    t.is(
      one(s, 'ExecStartPost'),
      `+/usr/bin/node /opt/agenda/dist/lab/multipass/await-ready.js --log ${DATA}/logs/${p.name}.log` +
        ` --pid \${MAINPID} --program ${p.program.kind} --timeout-ms 60000`,
    );
    t.is(one(s, 'TimeoutStartSec'), '65');
  }
});

test("the units start in the runner's stage order, each after the previous stage on its host", (t) => {
  const after = (host: string, name: string) => {
    const s = unit(host, name);
    t.deepEqual(s.get('Wants'), s.get('After'), `${name}: Wants= and After= agree`);
    return one(s, 'After');
  };
  const vm1 = (name: string) => after('vm1', name);
  t.is(vm1('agenda-db-1.service'), 'network-online.target');
  t.is(vm1('agenda-db-2.service'), 'network-online.target');
  t.is(
    vm1('agenda-redis-1.service'),
    'network-online.target agenda-db-1.service agenda-db-2.service',
  );
  // Between the Redis stages and the supervisors, as the runner's afterStage.
  t.is(vm1('agenda-redis-primary.service'), 'network-online.target agenda-redis-1.service');
  t.is(vm1('agenda-supervisor-1.service'), 'network-online.target agenda-redis-primary.service');
  t.is(vm1('agenda-users-1.service'), 'network-online.target agenda-supervisor-1.service');
  t.is(vm1('agenda-groups-1.service'), 'network-online.target agenda-supervisor-1.service');
  t.is(
    vm1('agenda-gateway-1.service'),
    'network-online.target agenda-users-1.service agenda-groups-1.service',
  );
  t.is(vm1('agenda-vip-1.service'), 'network-online.target agenda-gateway-1.service');
  // vm2 has the replica, and no one-shot: the supervisor follows its Redis.
  t.is(after('vm2', 'agenda-supervisor-2.service'), 'network-online.target agenda-redis-2.service');
  t.is(after('vm3', 'agenda-db-5.service'), 'network-online.target');

  for (const host of ['vm1', 'vm2', 'vm3']) {
    const all = units(host).filter((f) => f.name !== 'agenda.target');
    const target = unit(host, 'agenda.target');
    t.is(one(target, 'Wants'), all.map((f) => f.name).join(' '));
    t.is(one(target, 'After'), all.map((f) => f.name).join(' '));
    t.is(one(target, 'WantedBy'), 'multi-user.target');
    for (const f of all) t.is(one(settings(f), 'PartOf'), 'agenda.target', f.name);
  }
});

test('the Redis primary is recorded once per start of vm1, as the runner does at every start', (t) => {
  const s = unit('vm1', 'agenda-redis-primary.service');
  t.is(one(s, 'Type'), 'oneshot');
  t.is(one(s, 'RemainAfterExit'), 'yes');
  t.is(
    one(s, 'ExecStart'),
    `/usr/bin/node /opt/agenda/dist/lab/multipass/vm.js record-redis-primary --data-dir ${DATA}`,
  );
  t.is(one(s, 'User'), 'agenda');
  t.is(one(s, 'Restart'), 'on-failure');
});

test('DB members, supervisors and VIP agents run at nice -5, as under the runner; the rest at 0', (t) => {
  for (const host of ['vm1', 'vm2', 'vm3']) {
    for (const p of daemons(host)) {
      const critical = ['db', 'supervisors', 'vip-agents'].includes(p.stage);
      t.deepEqual(unit(host, unitName(p.name)).get('Nice'), critical ? ['-5'] : undefined, p.name);
    }
  }
});

test('a daemon that fails starts again after 7 s, and is left failed after 10 starts in 10 min', (t) => {
  for (const host of ['vm1', 'vm2', 'vm3']) {
    for (const f of units(host).filter((u) => u.name.endsWith('.service'))) {
      const s = settings(f);
      t.is(one(s, 'Restart'), 'on-failure', f.name);
      t.is(one(s, 'RestartSec'), '7', f.name);
      t.is(one(s, 'StartLimitIntervalSec'), '600', f.name);
      t.is(one(s, 'StartLimitBurst'), '10', f.name);
      t.is(one(s, 'User'), 'agenda', f.name);
      t.is(one(s, 'Group'), 'agenda', f.name);
      t.is(one(s, 'UMask'), '0077', f.name);
      t.is(one(s, 'ReadWritePaths'), DATA, f.name);
      t.is(one(s, 'ProtectSystem'), 'strict', f.name);
      t.is(one(s, 'EnvironmentFile'), '-/etc/default/agenda', f.name);
      const redis = /^agenda-redis-\d+\.service$/.test(f.name);
      if (redis) t.is(one(s, 'Environment'), undefined, 'Redis has its own allocator');
      if (f.name === 'agenda-redis-primary.service') continue;
      if (!redis)
        t.is(
          one(s, 'Environment'),
          `MALLOC_MMAP_THRESHOLD_=4194304 LD_PRELOAD=${JEMALLOC.program} MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2`,
          f.name,
        );
      // The runner's stop: SIGTERM to the daemon, SIGKILL 5 s later.
      t.is(one(s, 'KillMode'), 'mixed', f.name);
      t.is(one(s, 'TimeoutStopSec'), '5', f.name);
    }
  }
});

test('memory limits by kind: MemoryHigh above twice the idle budget, MemoryMax above it', (t) => {
  const expected: Record<string, [string, string]> = {
    db: ['336M', '384M'],
    redis: ['256M', '320M'],
    gateway: ['224M', '256M'],
    users: ['224M', '256M'],
    groups: ['224M', '256M'],
    supervisor: ['224M', '256M'],
    'vip-agent': ['224M', '256M'],
  };
  for (const host of ['vm1', 'vm2', 'vm3']) {
    for (const p of daemons(host)) {
      const s = unit(host, unitName(p.name));
      t.deepEqual([one(s, 'MemoryHigh'), one(s, 'MemoryMax')], expected[p.role], p.name);
    }
  }
});

test('V8 collects before the cgroup acts: floor, young generation and old space fit MemoryHigh', (t) => {
  const idleBudget: Record<string, number> = { db: 120 };
  for (const p of plan.processes) {
    if (p.program.kind !== 'node') continue;
    const m = memoryLimits(p.role);
    const old = m.oldSpaceMib ?? Number.POSITIVE_INFINITY;
    const loadBound = 2 * (idleBudget[p.role] ?? 80);
    const used = NODE_FLOOR_MIB + youngGenerationMib(p.stage) + old;
    t.true(used <= m.highMib, `${p.name}: ${used} MiB at a full heap > MemoryHigh ${m.highMib}`);
    t.true(loadBound < m.highMib && m.highMib < m.maxMib, p.name);
  }
  t.is(youngGenerationMib('gateways'), 16);
  t.is(youngGenerationMib('db'), 8);
});

test('the VIP agent gets CAP_NET_ADMIN and CAP_NET_RAW, and the VIP is removed after it exits', (t) => {
  const vip = unit('vm2', 'agenda-vip-2.service');
  t.is(one(vip, 'ExecStopPost'), '-/usr/sbin/ip addr del 10.5.3.250/24 dev ens3');
  t.is(one(vip, 'AmbientCapabilities'), 'CAP_NET_ADMIN CAP_NET_RAW');
  t.is(one(vip, 'CapabilityBoundingSet'), 'CAP_NET_ADMIN CAP_NET_RAW');
  t.is(one(vip, 'RestrictAddressFamilies'), 'AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET');
  const gateway = unit('vm2', 'agenda-gateway-2.service');
  t.is(one(gateway, 'ExecStopPost'), undefined);
  t.is(one(gateway, 'AmbientCapabilities'), undefined);
  t.is(one(gateway, 'CapabilityBoundingSet'), '');
  t.is(one(gateway, 'RestrictAddressFamilies'), 'AF_UNIX AF_INET AF_INET6 AF_NETLINK');
});

test('command-line words reach the program as they are', (t) => {
  t.is(execWord('--bind'), '--bind');
  t.is(execWord(''), '""');
  t.is(execWord('a b'), '"a b"');
  t.is(execWord('50%'), '50%%');
  t.is(execWord('$HOME'), '$$HOME');
  t.is(execWord('a $b'), '"a $$b"');
  t.is(execWord('say "hi"\\'), '"say \\"hi\\"\\\\"');
  t.throws(() => execWord('two\nlines'), { message: /control character/ });
  t.throws(() => systemdUnits(plan, { ...options('vm1'), repo: '/opt/my agenda' }), {
    message: /not a path a unit file can hold/,
  });
});

test('install replaces the units it wrote before and leaves everything else', (t) => {
  const dir = temporaryDirectorySync('agenda-units-');
  writeFileSync(join(dir, 'agenda-db-9.service'), `${GENERATED_MARK} for vm1: db-9.\n`);
  writeFileSync(join(dir, 'agenda-mine.service'), '# an operator’s own unit\n');
  writeFileSync(join(dir, 'ssh.service'), `${GENERATED_MARK}\n`);
  const removed = installUnits(units('vm3'), dir);
  t.deepEqual(removed, ['agenda-db-9.service']);
  t.deepEqual(readdirSync(dir).sort(), [
    'agenda-db-5.service',
    'agenda-mine.service',
    'agenda.target',
    'ssh.service',
  ]);
  t.is(readFileSync(join(dir, 'agenda.target'), 'utf8'), units('vm3').at(-1)?.content ?? '');
});

test('the units of a VM come from the prepared data directory, or not at all', (t) => {
  const dir = temporaryDirectorySync('agenda-units-data-');
  t.throws(() => preparedPlan(multipassTopology(SITE), new DataLayout(dir)), {
    message: /no system was prepared/,
  });
});

test('systemd-analyze verify accepts every unit of every VM', (t) => {
  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (analyze.error || analyze.status !== 0) {
    t.log('skipped: systemd-analyze is not installed here (Debian/Ubuntu: the systemd package)');
    t.pass();
    return;
  }
  // verify checks that every command exists, so the units name this machine's programs.
  let local: UnitOptions['which'];
  let node: string;
  try {
    node = findExecutable('node');
    for (const name of ['redis-server', 'ip']) findExecutable(name);
    local = (name) => findExecutable(name);
  } catch (error) {
    t.log(`skipped: ${(error as Error).message}`);
    t.pass();
    return;
  }
  for (const host of ['vm1', 'vm2', 'vm3']) {
    const dir = temporaryDirectorySync(`agenda-units-${host}-`);
    const files = systemdUnits(plan, { ...options(host), node, which: local });
    for (const f of files) writeFileSync(join(dir, f.name), f.content);
    const r = spawnSync(
      'systemd-analyze',
      ['verify', '--man=no', ...files.map((f) => join(dir, f.name))],
      { encoding: 'utf8', timeout: 60_000 },
    );
    t.is(r.status, 0, `${host}: ${r.stderr}`);
    t.is(r.stderr.trim(), '', `${host}: systemd-analyze said something`);
  }
});
