/**
 * The real three-host lab, as an operator runs it (`npm run lab -- …`, as root): `up` brings
 * the whole system up behind the VIP, `status` tells the truth about it, a killed process is
 * seen dead, a paused one is frozen until resumed, the driver's facts name the role holders
 * and `restore()` makes it whole again, and `down` leaves no namespace, link, rule or process
 * behind. It uses the lab's real names, so it refuses to run while a lab is up.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControllerLabDriver } from './lab-driver.js';
import { DataLayout } from './layout.js';
import type { LabFacts } from './driver.js';
import { controllerSocketPath, type LabStatus } from './protocol.js';
import { REPO } from '../base/entry-points.js';

const isRoot = process.getuid?.() === 0;
const serial = isRoot ? test.serial : test.serial.skip;
// Like the VIP agent's: without root these cannot run, and a quiet pass would hide that.
if (!isRoot) {
  test('the lab tests need root (network namespaces)', (t) => {
    t.fail('run as root (CI does): these tests build network namespaces');
  });
}

const dataDir = mkdtempSync(join(tmpdir(), 'agenda-lab-test-'));
const seenPids = new Set<number>();
let labWasAlreadyUp = false;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function lab(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'lab/cli.ts'), ...args, '--data-dir', dataDir],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function status(): Promise<LabStatus> {
  const r = await lab('status', '--json');
  if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
  const s = JSON.parse(r.stdout) as LabStatus;
  for (const p of s.processes) if (p.pid !== null) seenPids.add(p.pid);
  seenPids.add(s.controllerPid);
  return s;
}

const stateOf = (s: LabStatus, name: string) => s.processes.find((p) => p.name === name)?.state;

/** The kernel's view of a process: R, S, T (stopped), Z… or null when it is gone. */
function kernelState(pid: number): string | null {
  try {
    return /^\d+ \(.*\) (\w) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

const labNamespaces = () =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /^agenda-(vm\d|client)\b/.test(l));

test.before(() => {
  labWasAlreadyUp = isRoot && labNamespaces().length > 0;
});

// CI removes the data directory with the logs: a failed test shows what each process said last.
test.afterEach.always(async (t) => {
  if (t.passed || !isRoot || labWasAlreadyUp) return;
  const r = await lab('status', '--json');
  if (r.code !== 0) return;
  for (const p of (JSON.parse(r.stdout) as LabStatus).processes) {
    const tail = existsSync(p.log)
      ? readFileSync(p.log, 'utf8').trimEnd().split('\n').slice(-4)
      : [];
    t.log(`${p.name} (${p.state}): ${tail.map((l) => l.slice(0, 300)).join('\n    ')}`);
  }
});

test.after.always(async () => {
  if (isRoot && !labWasAlreadyUp) await lab('down');
  rmSync(dataDir, { recursive: true, force: true });
});

serial('up brings the whole system up behind the VIP and says how to use it', async (t) => {
  t.false(labWasAlreadyUp, 'a lab is already up on this machine: take it down first');
  if (labWasAlreadyUp) return;
  t.timeout(240_000);
  const r = await lab('up');
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /The lab is up \(\d+\.\d s\)/);
  t.regex(r.stdout, /VIP: +https:\/\/10\.77\.0\.10:8443/);
  t.regex(r.stdout, /ip netns exec agenda-client npx agenda/);
  t.log(/The lab is up \(.*\)/.exec(r.stdout)?.[0] ?? '');
  const again = await lab('up');
  t.is(again.code, 0, `up on a lab that is up is fine: ${again.stdout}${again.stderr}`);
  t.regex(again.stdout, /already up/);
});

serial('status lists the hosts and every process running, with no fault', async (t) => {
  if (labWasAlreadyUp) return t.pass();
  const s = await status();
  t.is(s.phase, 'ready');
  t.deepEqual(
    s.hosts.map((h) => [h.name, h.address, h.linkUp]),
    [
      ['vm1', '10.77.0.11', true],
      ['vm2', '10.77.0.12', true],
      ['vm3', '10.77.0.13', true],
    ],
  );
  t.is(s.processes.length, 17);
  t.deepEqual(
    s.processes.filter((p) => p.state !== 'running').map((p) => p.name),
    [],
  );
  t.deepEqual(s.faults, []);
  const human = await lab('status');
  t.regex(human.stdout, /vm3 +10\.77\.0\.13 +agenda-vm3 +link up\n +db-5 +running +pid \d+/);
});

serial('bad requests get a clear error and exit 1', async (t) => {
  if (labWasAlreadyUp) return t.pass();
  const unknown = await lab('kill', 'db-9');
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /no process named "db-9" \(processes: db-1, /);
  const host = await lab('crash', 'vm4');
  t.is(host.code, 1);
  t.regex(host.stderr, /no host named "vm4" \(hosts: vm1, vm2, vm3\)/);
  const usage = await lab('partition', 'vm1');
  t.is(usage.code, 1);
  t.regex(usage.stderr, /usage: npm run lab -- partition <host> <host>/);
  // Garbage on the controller's socket gets an error line, not a crash.
  const reply = await new Promise<string>((resolve) => {
    const socket = connect(controllerSocketPath(dataDir));
    let out = '';
    socket.on('data', (c: Buffer) => (out += c.toString()));
    socket.on('close', () => resolve(out));
    socket.write('{"v":1,"op":"explode"}\n');
  });
  t.regex(reply, /"ok":false,"error":\{"code":"invalid"/);
  t.is((await status()).phase, 'ready');
});

serial('kill, pause and resume act on the real processes', async (t) => {
  if (labWasAlreadyUp) return t.pass();
  const before = await status();
  const gateway = before.processes.find((p) => p.name === 'gateway-2')?.pid ?? 0;
  const killed = await lab('kill', 'gateway-2');
  t.is(killed.code, 0, killed.stderr);
  t.regex(killed.stdout, /killed gateway-2\n.*\nnot running: gateway-2/);
  t.is(kernelState(gateway), null, 'the gateway process is gone');
  t.is(stateOf(await status(), 'gateway-2'), 'exited');

  const db5 = before.processes.find((p) => p.name === 'db-5')?.pid ?? 0;
  t.is((await lab('pause', 'db-5')).code, 0);
  t.is(kernelState(db5), 'T', 'stopped by SIGSTOP');
  t.is(stateOf(await status(), 'db-5'), 'paused');
  t.is((await lab('resume')).code, 0);
  t.not(kernelState(db5), 'T');
  t.is(stateOf(await status(), 'db-5'), 'running');

  t.is((await lab('partition', 'vm1', 'vm3')).code, 0);
  t.deepEqual((await status()).faults, [{ kind: 'partition', hosts: ['vm1', 'vm3'] }]);
  t.is((await lab('heal')).code, 0);
  t.deepEqual((await status()).faults, []);
});

serial('the driver knows who holds each role, and restore makes the lab whole', async (t) => {
  if (labWasAlreadyUp) return t.pass();
  t.timeout(180_000);
  const driver = new ControllerLabDriver(dataDir);
  try {
    // gateway-2 is dead: its agent gives the VIP up and vm1's takes it. The partition just
    // healed may have started a DB election: a term without a leader yet is no fault.
    const settled = (f: LabFacts) => f.vipOwner === 'vm1' && f.dbLeader !== null;
    let facts = await driver.facts();
    for (const deadline = Date.now() + 20_000; !settled(facts) && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 200));
      facts = await driver.facts();
    }
    t.regex(facts.dbLeader ?? '', /^db-[1-5]$/);
    t.is(facts.redisPrimary, 'redis-1');
    t.is(facts.vipOwner, 'vm1');
    t.is(facts.activeGateway, 'gateway-1');
    t.false((await driver.health()).healthy);
    await driver.restore(120_000).catch((err: unknown) => {
      // Where the controller was when the deadline passed: its requests and their progress.
      const log = join(new DataLayout(dataDir).logDir, 'controller.log');
      t.log(readFileSync(log, 'utf8').split('\n').slice(-40).join('\n'));
      throw err;
    });
    t.deepEqual((await driver.health()).problems, []);
    t.is(stateOf(await status(), 'gateway-2'), 'running');
  } finally {
    await driver.close();
  }
});

serial('down leaves no namespace, link, rule or process behind', async (t) => {
  if (labWasAlreadyUp) return t.pass();
  t.timeout(120_000);
  await status();
  const r = await lab('down');
  t.is(r.code, 0, r.stderr);
  t.deepEqual(labNamespaces(), []);
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  t.notRegex(links, /agbr0|agv-/);
  t.notRegex(execFileSync('iptables', ['-w', '-S', 'FORWARD'], { encoding: 'utf8' }), /agbr0/);
  const alive = [...seenPids].filter((pid) => {
    const state = kernelState(pid);
    return state !== null && state !== 'Z';
  });
  t.deepEqual(alive, [], 'every process of the lab, and its controller, is gone');
  t.false(existsSync(controllerSocketPath(dataDir)));
  const after = await lab('status');
  t.is(after.code, 1);
  t.regex(after.stderr, /the lab is not up/);
});
