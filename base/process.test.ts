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
