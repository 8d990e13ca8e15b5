/**
 * The units' readiness wait (ExecStartPost=): a ready line counts only when it is the
 * current process's, it may come before or after the wait begins, and a process that exits
 * or takes too long fails the start with the reason.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { temporaryDirectorySync } from '../../test/support/temp-dirs.js';
import { awaitReady, isReadyLine } from './readiness.js';

test('a ready line counts for its own process only', (t) => {
  const node = (pid: number) => `{"event":"ready","pid":${pid},"service":"db","member":1}`;
  t.true(isReadyLine('node', 1234, node(1234)));
  t.false(isReadyLine('node', 1234, node(12345)));
  t.false(isReadyLine('node', 12345, node(1234)));
  t.false(isReadyLine('node', 1234, '{"t":"…","level":"info","pid":1234,"msg":"starting"}'));
  const redis = (pid: number) =>
    `${pid}:M 06 Dec 2026 20:41:43.123 * Ready to accept connections tls`;
  t.true(isReadyLine('redis', 1234, redis(1234)));
  t.false(isReadyLine('redis', 123, redis(1234)));
  t.false(isReadyLine('redis', 1234, '1234:M 06 Dec 2026 20:41:43.123 * Server initialized'));
  // A time stamp that happens to hold the pid (…43.123) is not the pid.
  t.false(isReadyLine('redis', 123, redis(9)));
});

test('waits for the ready line of the process, ignoring an earlier run’s', async (t) => {
  const log = join(temporaryDirectorySync('agenda-ready-'), 'db-1.log');
  const pid = process.pid;
  writeFileSync(log, `{"event":"ready","pid":${pid + 1}}\nstarting\n`);
  let done = false;
  const waiting = awaitReady({ log, pid, program: 'node', timeoutMs: 10_000, pollMs: 20 }).then(
    () => (done = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.false(done, 'not ready on another process’s line');
  // Written in two pieces, as a pipe may deliver it.
  appendFileSync(log, `{"event":"ready",`);
  await new Promise((resolve) => setTimeout(resolve, 60));
  appendFileSync(log, `"pid":${pid}}\n`);
  await waiting;
  t.true(done);
});

test('a line already there when the wait begins counts, and so does a log created later', async (t) => {
  const dir = temporaryDirectorySync('agenda-ready-');
  const pid = process.pid;
  const there = join(dir, 'redis-1.log');
  writeFileSync(there, `${pid}:M 06 Dec 2026 20:41:43.123 * Ready to accept connections tls\n`);
  await t.notThrowsAsync(awaitReady({ log: there, pid, program: 'redis', timeoutMs: 2_000 }));

  const later = join(dir, 'gateway-1.log');
  const waiting = awaitReady({ log: later, pid, program: 'node', timeoutMs: 5_000, pollMs: 20 });
  setTimeout(() => writeFileSync(later, `{"event":"ready","pid":${pid}}\n`), 100);
  await t.notThrowsAsync(waiting);
});

test('a process that exits before it is ready, or is too slow, fails the wait with why', async (t) => {
  const log = join(temporaryDirectorySync('agenda-ready-'), 'users-1.log');
  writeFileSync(log, 'starting\n');
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  await t.throwsAsync(awaitReady({ log, pid: gone, program: 'node', timeoutMs: 5_000 }), {
    message: new RegExp(`process ${gone} exited before it was ready \\(log: .*users-1\\.log\\)`),
  });
  await t.throwsAsync(
    awaitReady({ log, pid: process.pid, program: 'node', timeoutMs: 200, pollMs: 20 }),
    { message: /was not ready within 0\.2 s/ },
  );
});
