/**
 * The lab's network layer on its own, as root, with throwaway names (namespaces
 * `agenda-t-lab<id>-*`, bridge `agbr-t<id>`, subnet 10.78.x.0/24) so it never touches a
 * running lab: hosts reach each other and the operator reaches them, the client reaches
 * only the VIP, each fault cuts exactly what it says, heal undoes it, and down leaves
 * nothing behind — also after a half-done up. Reachability is tested with real TCP
 * connections from inside the namespaces.
 */
import test from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { LabNetwork, type NetworkSpec } from './net.js';

const isRoot = process.getuid?.() === 0;
const serial = isRoot ? test.serial : test.serial.skip;
// Like the VIP agent's: without root these cannot run, and a quiet pass would hide that.
if (!isRoot) {
  test('the network tests need root (network namespaces)', (t) => {
    t.fail('run as root (CI does): these tests build network namespaces');
  });
}

const id = randomBytes(2).toString('hex');
const subnet = `10.78.${1 + ((randomBytes(1)[0] ?? 0) % 250)}`;
const PORT = 9099;
const VIP = `${subnet}.10`;
const host = (name: string, n: number) => ({
  name,
  namespace: `agenda-t-lab${id}-${name}`,
  address: `${subnet}.${n}`,
  veth: `agt${id}-${name}`,
});
const spec: NetworkSpec = {
  bridge: `agbr-t${id}`,
  bridgeAddress: `${subnet}.1`,
  prefixLength: 24,
  hosts: [host('a', 11), host('b', 12), host('c', 13)],
  client: { ...host('cl', 100), allowed: [VIP] },
};
const net = new LabNetwork(spec);
const [a, b, c] = spec.hosts as [
  NetworkSpec['hosts'][0],
  NetworkSpec['hosts'][0],
  NetworkSpec['hosts'][0],
];
const listeners: ChildProcess[] = [];

/** A TCP server answering "ok" on every address of the namespace. */
async function listenIn(namespace: string): Promise<ChildProcess> {
  const code = `require('node:net').createServer((s)=>s.end('ok')).listen(${PORT},'0.0.0.0',()=>console.log('listening'))`;
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  listeners.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on(
      'data',
      (chunk: Buffer) => chunk.toString().includes('listening') && resolve(),
    );
    child.once('exit', (code) => reject(new Error(`listener in ${namespace} exited ${code}`)));
  });
  return child;
}

/** Whether a TCP connection from `namespace` (null: the root namespace) to `address` gets "ok". */
async function reaches(namespace: string | null, address: string): Promise<boolean> {
  if (namespace === null) {
    return new Promise((resolve) => {
      const s = connect({ host: address, port: PORT, timeout: 700 });
      s.on('data', (d: Buffer) => (s.destroy(), resolve(d.toString() === 'ok')));
      s.on('timeout', () => (s.destroy(), resolve(false)));
      s.on('error', () => resolve(false));
    });
  }
  const code =
    `const s=require('node:net').connect({host:'${address}',port:${PORT},timeout:700});` +
    `s.on('data',(d)=>process.exit(d.toString()==='ok'?0:1));s.on('timeout',()=>process.exit(1));s.on('error',()=>process.exit(1));`;
  try {
    execFileSync('ip', ['netns', 'exec', namespace, process.execPath, '-e', code], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}

function leftovers(): string[] {
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`agenda-t-lab${id}`));
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`agt${id}`) || l.includes(spec.bridge));
  const rules = execFileSync('iptables', ['-w', '-S', 'FORWARD'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(spec.bridge));
  return [...namespaces, ...links, ...rules];
}

const ruleCount = (namespace: string) =>
  execFileSync('ip', ['netns', 'exec', namespace, 'iptables', '-w', '-S'], { encoding: 'utf8' })
    .trim()
    .split('\n').length;

test.after.always(async () => {
  if (!isRoot) return;
  await net.down();
  for (const l of listeners) l.kill('SIGKILL');
});

serial(
  'up builds hosts that reach each other; the operator reaches them; up is idempotent',
  async (t) => {
    await net.up();
    const rulesAfterFirstUp = ruleCount(a.namespace);
    await net.up();
    t.is(ruleCount(a.namespace), rulesAfterFirstUp, 'a second up adds nothing');
    for (const h of [...spec.hosts, spec.client]) await listenIn(h.namespace);
    t.true(await reaches(a.namespace, b.address));
    t.true(await reaches(b.namespace, c.address));
    t.true(await reaches(c.namespace, a.address));
    t.true(await reaches(null, a.address), 'the root namespace reaches a host over the bridge');
    t.true(await reaches(a.namespace, '127.0.0.1'), 'loopback is up');
    t.deepEqual(await net.faults(), []);
  },
);

serial('the client namespace talks only to the VIP', async (t) => {
  t.false(await reaches(spec.client.namespace, a.address), 'not to a host address');
  t.false(await reaches(a.namespace, spec.client.address), 'and hosts cannot reach it');
  execFileSync('ip', ['-n', a.namespace, 'addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
  t.true(await reaches(spec.client.namespace, VIP), 'the VIP, wherever it is, answers');
  await net.removeAddress('a', VIP);
  await net.removeAddress('a', VIP);
  t.false(await reaches(spec.client.namespace, VIP), 'removed (twice, harmlessly)');
});

serial('partition cuts exactly the two hosts, both ways; heal undoes it', async (t) => {
  await net.partition('a', 'b');
  const rules = ruleCount(a.namespace);
  await net.partition('b', 'a');
  t.is(ruleCount(a.namespace), rules, 'partitioning again adds no rule');
  t.deepEqual(await net.faults(), [{ kind: 'partition', hosts: ['a', 'b'] }]);
  t.false(await reaches(a.namespace, b.address));
  t.false(await reaches(b.namespace, a.address));
  t.true(await reaches(a.namespace, c.address));
  t.true(await reaches(c.namespace, b.address));
  t.true(await reaches(null, a.address), 'the operator still reaches both sides');
  await net.heal();
  await net.heal();
  t.deepEqual(await net.faults(), []);
  t.true(await reaches(a.namespace, b.address));
  t.true(await reaches(b.namespace, a.address));
});

serial('isolate leaves the host only its loopback; heal brings it back', async (t) => {
  await net.isolate('c');
  await net.isolate('c');
  t.deepEqual(await net.faults(), [{ kind: 'isolate', host: 'c' }]);
  t.false(await reaches(c.namespace, a.address));
  t.false(await reaches(a.namespace, c.address));
  t.false(await reaches(null, c.address));
  t.true(await reaches(c.namespace, '127.0.0.1'), 'loopback still works');
  t.true(await reaches(a.namespace, b.address), 'the others are untouched');
  await net.heal();
  t.deepEqual(await net.faults(), []);
  t.true(await reaches(a.namespace, c.address));
  t.true(await reaches(c.namespace, b.address));
});

serial('a link taken down cuts the host off until it comes up again', async (t) => {
  await net.linkDown('a');
  t.deepEqual(await net.faults(), [{ kind: 'link-down', host: 'a' }]);
  t.false(await reaches(b.namespace, a.address));
  await net.linkUp('a');
  t.deepEqual(await net.faults(), []);
  t.true(await reaches(b.namespace, a.address));
  await net.linkDown('b');
  await net.partition('a', 'c');
  await net.heal();
  t.deepEqual(await net.faults(), [], 'heal also brings links up');
  t.true(await reaches(a.namespace, b.address));
});

serial(
  'down removes namespaces, links, rules and the processes inside; twice is fine',
  async (t) => {
    const exits = listeners.map((l) =>
      l.exitCode !== null || l.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((r) => l.once('exit', () => r())),
    );
    t.true(await net.exists());
    await net.down();
    await Promise.all(exits);
    t.deepEqual(leftovers(), []);
    t.false(await net.exists());
    await net.down();
    t.deepEqual(leftovers(), []);
  },
);

serial('down cleans up after a half-done up', async (t) => {
  execFileSync('ip', ['link', 'add', spec.bridge, 'type', 'bridge']);
  execFileSync('ip', ['netns', 'add', b.namespace]);
  execFileSync('ip', ['link', 'add', a.veth, 'type', 'veth', 'peer', 'name', `agt${id}-x`]);
  t.true(await net.exists());
  await net.down();
  t.deepEqual(leftovers(), [], 'the veth pair went with its bridge side');
});
