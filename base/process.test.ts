import test from 'ava';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from './process.js';

test("a process's log and the directories made for it are readable by their owner only", async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'managed-process-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  // Whatever the umask lets through: the modes themselves must be private.
  const umask = process.umask(0);
  t.teardown(() => process.umask(umask));
  const logPath = join(root, 'logs', 'db-1.log');
  const child = new ManagedProcess({
    name: 'db-1',
    command: process.execPath,
    args: ['-e', 'console.log("ready"); setInterval(() => {}, 1000)'],
    logPath,
    readyWhen: /ready/,
  });
  await child.start();
  t.teardown(() => child.stop());
  t.is(statSync(join(root, 'logs')).mode & 0o777, 0o700);
  t.is(statSync(logPath).mode & 0o777, 0o600);
});

test('a process that fails to start is reported with its last lines, which the log may not outlive', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'managed-process-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const stuck = new ManagedProcess({
    name: 'gateway-2',
    command: process.execPath,
    args: ['-e', 'console.log("cannot learn the Redis primary"); setInterval(() => {}, 1000)'],
    logPath: join(root, 'gateway-2.log'),
    readyWhen: /"event":"ready"/,
    readyTimeoutMs: 1_500,
  });
  const late = await t.throwsAsync(() => stuck.start());
  t.regex(late.message, /^gateway-2 did not become ready within 1\.5 s \(log: .*gateway-2\.log\)/);
  t.regex(late.message, /its last lines:\n {2}cannot learn the Redis primary$/);
  t.false(stuck.running, 'the stuck process is killed');

  const failing = new ManagedProcess({
    name: 'db-1',
    command: process.execPath,
    args: ['-e', 'process.exit(3)'],
    logPath: join(root, 'db-1.log'),
    readyWhen: /ready/,
  });
  const exited = await t.throwsAsync(() => failing.start());
  t.regex(exited.message, /^db-1 exited with 3 while starting \(log: .*\); it wrote nothing$/);
});
