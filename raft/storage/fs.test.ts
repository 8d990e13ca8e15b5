import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { DurableStorage } from './durable-log.js';
import { NodeFileSystem, writeFileInBackground } from './fs.js';
import { entries, RecordingLogger } from './test-support.js';

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'raft-storage-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('NodeFileSystem does what the storage asks of the real disk', (t) => {
  const root = tempDir(t);
  const fs = new NodeFileSystem();
  const dir = join(root, 'a', 'b');
  fs.mkdirp(dir);
  t.true(fs.exists(dir));
  t.is(fs.fsyncCount, 2, 'the parents of both new directories are synced');
  fs.mkdirp(dir);
  t.is(fs.fsyncCount, 2, 'an existing directory costs nothing');

  const log = fs.openAppend(join(dir, 'log'));
  log.append(new Uint8Array([1, 2, 3]));
  log.append(new Uint8Array([4]));
  log.sync();
  t.is(log.size(), 4);
  log.close();
  const reopened = fs.openAppend(join(dir, 'log'));
  t.is(reopened.size(), 4, 'reopening keeps the contents');
  reopened.close();

  const read = fs.readFile(join(dir, 'log'));
  t.is(read.constructor, Uint8Array);
  t.deepEqual(read, new Uint8Array([1, 2, 3, 4]));
  fs.truncate(join(dir, 'log'), 2);
  t.deepEqual(fs.readFile(join(dir, 'log')), new Uint8Array([1, 2]));

  fs.writeFile(join(dir, 'state.tmp'), new Uint8Array([9]));
  fs.syncFile(join(dir, 'state.tmp'));
  fs.rename(join(dir, 'state.tmp'), join(dir, 'state'));
  fs.syncDir(dir);
  t.deepEqual(fs.list(dir), ['log', 'state']);
  fs.unlink(join(dir, 'log'));
  t.false(fs.exists(join(dir, 'log')));
  t.is(fs.fsyncCount, 5);
});

test('DurableStorage round-trips on the real disk', (t) => {
  const dir = join(tempDir(t), 'member');
  const options = {
    fs: new NodeFileSystem(),
    dir,
    logger: new RecordingLogger(),
    segmentBytes: 200,
  };
  const storage = new DurableStorage(options);
  t.deepEqual(storage.load().entries, []);
  storage.saveHardState({ term: 3, vote: 1 });
  for (let index = 1; index <= 30; index++) storage.append(entries(index, index, 3));
  storage.sync();
  storage.saveSnapshot({
    meta: { index: 20, term: 3, conf: { voters: [1, 2, 3], learners: [] } },
    data: new Uint8Array([7, 7]),
  });
  storage.compact(20);
  storage.close();

  const state = new DurableStorage(options).load();
  t.deepEqual(state.hardState, { term: 3, vote: 1 });
  t.deepEqual(state.snapshot?.data, new Uint8Array([7, 7]));
  t.deepEqual(state.entries, entries(21, 30, 3));
  t.deepEqual(options.logger.warnings, []);
});

test('a background fsync on the real disk answers after it returns, and covers what was appended', async (t) => {
  const dir = join(tempDir(t), 'member');
  const fs = new NodeFileSystem();
  const options = { fs, dir, logger: new RecordingLogger(), segmentBytes: 200 };
  const storage = new DurableStorage(options);
  storage.load();
  // Enough to rotate segments: earlier segments are synced in place, the open one in the background.
  for (let index = 1; index <= 30; index++) storage.append(entries(index, index, 2));
  const before = fs.fsyncCount;
  let returned = false;
  const done = new Promise<Error | null>((resolve) =>
    storage.syncInBackground((error) => {
      t.true(returned, 'the callback came after syncInBackground returned');
      resolve(error);
    }),
  );
  returned = true;
  t.is(await done, null);
  t.true(fs.fsyncCount > before);
  // Nothing new to sync: still answered later, and no fsync is spent on it.
  const count = fs.fsyncCount;
  let again = false;
  storage.syncInBackground(() => (again = true));
  t.false(again);
  await new Promise((resolve) => setImmediate(resolve));
  t.true(again);
  t.is(fs.fsyncCount, count);
  storage.close();
  t.deepEqual(new DurableStorage(options).load().entries, entries(1, 30, 2));
});

test('a snapshot written in the background on the real disk is read back after a restart', async (t) => {
  const root = tempDir(t);
  const fs = new NodeFileSystem();
  const image = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) % 251);
  const part = join(root, 'parts');
  await writeFileInBackground(part, [new Uint8Array([9, 8]), image, new Uint8Array(0)]);
  const written = fs.readFile(part);
  t.is(written.length, image.length + 2);
  t.deepEqual(written.subarray(0, 2), new Uint8Array([9, 8]));
  t.true(Buffer.from(written.subarray(2)).equals(image));

  const options = { fs, dir: root, logger: new RecordingLogger() };
  const storage = new DurableStorage({ ...options, writeInBackground: writeFileInBackground });
  storage.load();
  storage.append(entries(1, 6, 1));
  storage.sync();
  const snap = { meta: { index: 5, term: 1, conf: { voters: [1], learners: [] } }, data: image };
  t.true(await storage.saveSnapshotInBackground(snap));
  storage.compact(5);
  storage.close();
  const state = new DurableStorage(options).load();
  t.deepEqual(state.snapshot?.meta, snap.meta);
  t.true(Buffer.from(state.snapshot?.data ?? []).equals(image));
  t.deepEqual(state.entries, entries(6, 6, 1));
});

/** Every file and directory under `dir` (itself included) with its permission bits. */
function modesUnder(dir: string): { path: string; directory: boolean; mode: number }[] {
  const found = [{ path: dir, directory: true, mode: statSync(dir).mode & 0o777 }];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    found.push({ path, directory: entry.isDirectory(), mode: statSync(path).mode & 0o777 });
  }
  return found;
}

test('the log, snapshots and hard state on the real disk are readable by their owner only', async (t) => {
  // Whatever the umask lets through: the modes themselves must be private.
  const umask = process.umask(0);
  t.teardown(() => process.umask(umask));
  const dir = join(tempDir(t), 'data', 'member');
  const fs = new NodeFileSystem();
  const storage = new DurableStorage({
    fs,
    dir,
    logger: new RecordingLogger(),
    segmentBytes: 200,
    writeInBackground: writeFileInBackground,
  });
  storage.load();
  storage.saveHardState({ term: 2, vote: 1 });
  for (let index = 1; index <= 30; index++) storage.append(entries(index, index, 2));
  storage.sync();
  const conf = { voters: [1], learners: [] };
  storage.saveSnapshot({ meta: { index: 10, term: 2, conf }, data: new Uint8Array([1]) });
  t.true(
    await storage.saveSnapshotInBackground({
      meta: { index: 20, term: 2, conf },
      data: new Uint8Array([2]),
    }),
  );
  storage.close();
  const found = modesUnder(join(dir, '..'));
  t.true(found.filter((f) => !f.directory).length >= 4, 'segments, snapshots and hard state');
  for (const { path, directory, mode } of found) {
    t.is(mode, directory ? 0o700 : 0o600, `${path} is ${mode.toString(8)}`);
  }
});
