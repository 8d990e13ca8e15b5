import { crc32 } from 'node:zlib';
import test from 'ava';
import { StorageCorruptError } from './errors.js';
import { HardStateFile } from './hard-state.js';
import { SimFileSystem } from './sim-fs.js';

const path = '/data/hardstate';

function fileOn(fs: SimFileSystem): HardStateFile {
  fs.mkdirp('/data');
  return new HardStateFile(fs, path);
}

test('hard state written by the code before the commit index was kept still loads', (t) => {
  const fs = new SimFileSystem();
  const file = fileOn(fs);
  // The old format, byte for byte: "RHS1", crc32 of the rest, u64 term 7, u64 vote 2.
  const old = new Uint8Array(24);
  const view = new DataView(old.buffer);
  view.setUint32(0, 0x31534852, true);
  view.setUint32(8, 7, true);
  view.setUint32(16, 2, true);
  view.setUint32(4, crc32(old.subarray(8)), true);
  fs.writeFile(path, old);
  t.deepEqual(file.load(), { term: 7, vote: 2 });
});

test('the commit index is kept with term and vote, and what was saved loads back as it was', (t) => {
  const fs = new SimFileSystem();
  const file = fileOn(fs);
  file.save({ term: 3, vote: 1, commit: 41 });
  t.deepEqual(file.load(), { term: 3, vote: 1, commit: 41 });
  // With no commit index to keep, the old format is written, readable by older code too.
  file.save({ term: 4, vote: 0 });
  t.is(fs.readFile(path).length, 24);
  t.deepEqual(file.load(), { term: 4, vote: 0 });
  const bytes = fs.readFile(path).slice();
  file.save({ term: 4, vote: 0, commit: 2 ** 40 });
  t.deepEqual(file.load(), { term: 4, vote: 0, commit: 2 ** 40 });
  // A damaged commit index is refused like a damaged term.
  const damaged = fs.readFile(path).slice();
  damaged[27] = (damaged[27] ?? 0) ^ 1;
  fs.writeFile(path, damaged);
  t.throws(() => file.load(), { instanceOf: StorageCorruptError, message: /checksum/ });
  fs.writeFile(path, bytes.subarray(0, 20));
  t.throws(() => file.load(), { instanceOf: StorageCorruptError });
});
