import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { DurableStorage } from '../storage/durable-log.js';
import { NodeFileSystem } from '../storage/fs.js';
import { entries } from '../storage/test-support.js';
import { createTestPki } from '../transport/test-support.js';

const nodeMain = join(import.meta.dirname, 'node.ts');

test('a member whose log has rotted refuses to start, naming the segment and byte', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'raft-node-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  const storage = new DurableStorage({
    fs: new NodeFileSystem(),
    dir: dataDir,
    logger: { warn() {} },
  });
  storage.load();
  storage.saveHardState({ term: 1, vote: 1 });
  storage.append(entries(1, 5, 1));
  storage.sync();
  const [segment = ''] = storage.segmentNames();
  storage.close();
  // One bit of the second record (each of these records takes 29 bytes) decays on the disk.
  const path = join(dataDir, 'wal', segment);
  const bytes = readFileSync(path);
  bytes[29 + 20] = (bytes[29 + 20] ?? 0) ^ 0x08;
  writeFileSync(path, bytes);

  const tls = await (await createTestPki()).material('member-1');
  writeFileSync(join(dir, 'ca.pem'), tls.ca);
  writeFileSync(join(dir, 'member-1.pem'), tls.cert);
  writeFileSync(join(dir, 'member-1-key.pem'), tls.key);
  const config = join(dir, 'member-1.json');
  // The addresses are never bound: recovery fails before the member listens.
  writeFileSync(
    config,
    JSON.stringify({
      id: 1,
      clusterId: 'rot',
      dataDir: 'data',
      members: { '1': { raft: '127.0.0.1:1' }, '2': { raft: '127.0.0.1:2' } },
      tls: { ca: 'ca.pem', cert: 'member-1.pem', key: 'member-1-key.pem' },
    }),
  );

  const child = spawn(process.execPath, ['--import=tsx', nodeMain, '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];

  t.is(code, 1);
  t.is(stdout, '', 'never announced ready');
  const refusal = stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((line) => line.msg === 'refusing to start: corrupt storage');
  t.like(refusal, { code: 'storage_corrupt', path, offset: 29 }, stderr);
  t.regex(String(refusal?.action), /wipe its data directory/);
  // The log was left as found, for the operator to look at.
  t.deepEqual(readFileSync(path), bytes);
});
