import test from 'ava';
import { processCpuMs, roleOf, startCpuCount } from './cpu.js';

test('the CPU of a process is read from /proc and grows while it works', (t) => {
  const before = processCpuMs(process.pid);
  t.true(before !== undefined && before >= 0);
  const end = Date.now() + 150;
  let spin = 0;
  while (Date.now() < end) spin += Math.sqrt(spin + 1);
  t.true(spin > 0);
  const after = processCpuMs(process.pid) ?? 0;
  t.true(after - (before ?? 0) >= 50, `${before} → ${after}`);
});

test('a process that is gone has no CPU time, and is left out of the count', (t) => {
  t.is(processCpuMs(2 ** 22 + 12_345), undefined);
  const count = startCpuCount(new Map([['db-1', 2 ** 22 + 12_345]]));
  const used = count();
  t.false(used.has('db'));
  t.true(used.has('client'));
});

test('replicas are summed under their role', (t) => {
  t.is(roleOf('db-3'), 'db');
  t.is(roleOf('gateway-12'), 'gateway');
  t.is(roleOf('vip-agent-1'), 'vip-agent');
  t.is(roleOf('redis'), 'redis');
  const used = startCpuCount(
    new Map([
      ['db-1', process.pid],
      ['db-2', process.pid],
    ]),
  )();
  t.true(used.has('db'));
});
