/**
 * The real address control, with the real `ip` and `arping`, inside a throwaway network
 * namespace with a veth pair — so nothing on the host running the tests changes. It needs
 * root (CI runs as root); run without it, it fails and says so rather than passing quietly.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  AddressCommandError,
  IpAddressControl,
  addressControlProblems,
  configuredAddresses,
} from './address.js';

const run = promisify(execFile);
const VIP = { address: '10.201.0.10', prefixLength: 24, device: 'v0' };

/**
 * A network namespace with a veth pair `v0`/`v1` (both ends inside, both up), deleted when the
 * test ends; its name starts with `agenda-t-vip` so a leftover is easy to recognise.
 */
async function namespace(t: ExecutionContext, name: string): Promise<string> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'this test manages addresses in a network namespace and must run as root (CI does): ' +
        'run it with sudo, or read vip-agent/README.md for what it covers',
    );
  }
  const ns = `agenda-t-vip-${name}-${process.pid}`;
  await run('ip', ['netns', 'add', ns]);
  t.teardown(() => run('ip', ['netns', 'del', ns]).then(() => undefined));
  await run('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
  await run('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
  await run('ip', ['-n', ns, 'link', 'set', 'v1', 'up']);
  return ns;
}

async function addressesIn(ns: string, device: string): Promise<string[]> {
  const { stdout } = await run('ip', ['-n', ns, '-o', '-4', 'addr', 'show', 'dev', device]);
  return configuredAddresses(stdout);
}

test('`ip -o -4 addr show` output is read line by line', (t) => {
  const output = [
    '2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever preferred_lft forever',
    '2: eth0    inet 10.0.0.10/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever',
    '',
  ].join('\n');
  t.deepEqual(configuredAddresses(output), ['10.0.0.5', '10.0.0.10']);
  t.deepEqual(configuredAddresses(''), []);
});

test('the VIP is added, announced and removed with ip and arping; repeating a step is harmless', async (t) => {
  const ns = await namespace(t, 'addr');
  const control = new IpAddressControl(VIP, { commandPrefix: ['ip', 'netns', 'exec', ns] });
  t.false(await control.isConfigured());
  await control.add();
  t.true(await control.isConfigured());
  t.deepEqual(await addressesIn(ns, 'v0'), ['10.201.0.10']);
  await control.add();
  t.deepEqual(await addressesIn(ns, 'v0'), ['10.201.0.10'], 'added once');
  await control.announce();
  // Stopped half-way (as before a release), the second probe is never sent.
  const stop = new AbortController();
  const started = Date.now();
  const announcing = control.announce(stop.signal);
  setTimeout(() => stop.abort(), 100);
  await t.throwsAsync(announcing, { instanceOf: AddressCommandError, message: /stopped/ });
  t.true(Date.now() - started < 900, 'well before the second probe');
  await control.remove();
  t.false(await control.isConfigured());
  t.deepEqual(await addressesIn(ns, 'v0'), []);
  await control.remove();
  t.false(await control.isConfigured());
});

test('a missing device is an error that says which, and a problem at start', async (t) => {
  const ns = await namespace(t, 'nodev');
  const prefix = ['ip', 'netns', 'exec', ns];
  const control = new IpAddressControl({ ...VIP, device: 'nosuch0' }, { commandPrefix: prefix });
  const error = await t.throwsAsync(control.add(), { instanceOf: AddressCommandError });
  t.regex(error.message, /nosuch0/);
  t.deepEqual(
    await addressControlProblems({ ...VIP, device: 'v0' }, { commandPrefix: prefix }),
    [],
  );
  const problems = await addressControlProblems(
    { ...VIP, device: 'nosuch0' },
    { commandPrefix: prefix },
  );
  t.is(problems.length, 1);
  t.regex(problems[0] ?? '', /cannot read the addresses of nosuch0/);
  const missing = await addressControlProblems(VIP, { commandPrefix: ['/nonexistent/bin'] });
  t.regex(missing[0] ?? '', /not installed/);
});

test('a command that hangs is cut off at its timeout', async (t) => {
  const control = new IpAddressControl(VIP, {
    timeoutMs: 100,
    // `sleep 5 ip …` would be a usage error; a shell that sleeps and ignores its arguments hangs.
    commandPrefix: ['sh', '-c', 'sleep 5', 'hang'],
  });
  const started = Date.now();
  const error = await t.throwsAsync(control.isConfigured(), { instanceOf: AddressCommandError });
  t.regex(error.message, /no answer within 100 ms/);
  t.true(Date.now() - started < 2_000);
});

test('without a command prefix the address is read in-process from the running device', async (t) => {
  const loopback = { address: '127.0.0.1', prefixLength: 8, device: 'lo' };
  t.true(await new IpAddressControl(loopback).isConfigured());
  t.false(await new IpAddressControl({ ...loopback, address: '127.0.0.77' }).isConfigured());
});
