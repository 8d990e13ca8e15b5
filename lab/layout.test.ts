import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLayout } from './layout.js';

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

test("a system's data directory and its logs are created readable by their owner only", (t) => {
  const root = mkdtempSync(join(tmpdir(), 'layout-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const umask = process.umask(0);
  t.teardown(() => process.umask(umask));
  const layout = new DataLayout(join(root, '.agenda'));
  layout.createPrivately();
  t.is(modeOf(layout.dataDir), 0o700);
  t.is(modeOf(layout.logDir), 0o700);
});

test('a data directory an older version left open to everyone is closed', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'layout-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const layout = new DataLayout(join(root, '.agenda'));
  mkdirSync(layout.dataDir, { mode: 0o755 });
  layout.createPrivately();
  t.is(modeOf(layout.dataDir), 0o700);
});
