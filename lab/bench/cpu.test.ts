import test from 'ava';
import { processCpuMs, roleOf, startCpuCount } from './cpu.js';

test('the CPU of a process is read from /proc and grows while it works', (t) => {
  const before = processCpuMs(process.pid);
  t.true(before !== undefined && before >= 0);
  // Spin until 50 ms of CPU are counted: on a loaded machine 150 ms of wall clock may give
  // this process only 40 of them. The deadline only keeps a broken reading from hanging.
  const deadline = Date.now() + 10_000;
  let spin = 0;
  let after = before ?? 0;
  while (after - (before ?? 0) < 50 && Date.now() < deadline) {
    for (let i = 0; i < 100_000; i++) spin += Math.sqrt(spin + 1);
    after = processCpuMs(process.pid) ?? 0;
  }
  t.true(spin > 0);
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
