import test from 'ava';
import { SimFileSystem, SimFsError, SimPowerCutError } from './sim-fs.js';
import { seededRandom } from './test-support.js';

const bytes = (...values: number[]) => new Uint8Array(values);
const noTears = { tornWriteChance: 0 };

function fsWithDir(): SimFileSystem {
  const fs = new SimFileSystem();
  fs.mkdirp('/data');
  return fs;
}

test('synced appends survive a crash and un-synced ones vanish without a torn write', (t) => {
  const fs = fsWithDir();
  const file = fs.openAppend('/data/log');
  fs.syncDir('/data');
  file.append(bytes(1, 2, 3));
  file.sync();
  file.append(bytes(4, 5));
  t.is(file.size(), 5);
  fs.crash(seededRandom(1), noTears);
  t.deepEqual(fs.readFile('/data/log'), bytes(1, 2, 3));
});

test('a torn write keeps a prefix of the un-synced bytes, never touching synced ones', (t) => {
  for (let seed = 0; seed < 50; seed++) {
    const fs = fsWithDir();
    const file = fs.openAppend('/data/log');
    fs.syncDir('/data');
    file.append(bytes(1, 2, 3));
    file.sync();
    file.append(bytes(4, 5, 6, 7, 8, 9));
    fs.crash(seededRandom(seed), { tornWriteChance: 1, garbageChance: 0 });
    const after = fs.readFile('/data/log');
    t.true(after.length > 3, `seed ${seed}`);
    t.deepEqual(after, bytes(1, 2, 3, 4, 5, 6, 7, 8, 9).slice(0, after.length));
  }
});

test('garbage only ever lands in the torn part', (t) => {
  for (let seed = 0; seed < 50; seed++) {
    const fs = fsWithDir();
    const file = fs.openAppend('/data/log');
    fs.syncDir('/data');
    file.append(bytes(1, 2, 3));
    file.sync();
    file.append(new Uint8Array(100));
    fs.crash(seededRandom(seed), { tornWriteChance: 1, garbageChance: 1 });
    t.deepEqual(fs.readFile('/data/log').slice(0, 3), bytes(1, 2, 3));
  }
});

test('creating, renaming and unlinking revert unless the directory was synced', (t) => {
  const fs = fsWithDir();
  fs.writeFile('/data/kept', bytes(1));
  fs.syncFile('/data/kept');
  fs.writeFile('/data/doomed', bytes(2));
  fs.syncFile('/data/doomed');
  fs.syncDir('/data');

  fs.writeFile('/data/new', bytes(3));
  fs.syncFile('/data/new');
  fs.rename('/data/kept', '/data/moved');
  fs.unlink('/data/doomed');
  t.deepEqual(fs.list('/data'), ['moved', 'new']);
  fs.crash(seededRandom(2));
  t.deepEqual(fs.list('/data'), ['doomed', 'kept']);

  fs.rename('/data/kept', '/data/moved');
  fs.unlink('/data/doomed');
  fs.syncDir('/data');
  fs.crash(seededRandom(3));
  t.deepEqual(fs.list('/data'), ['moved']);
  t.deepEqual(fs.readFile('/data/moved'), bytes(1));
});

test('an un-synced truncate or rewrite reverts to the synced contents', (t) => {
  const fs = fsWithDir();
  fs.writeFile('/data/f', bytes(1, 2, 3, 4));
  fs.syncFile('/data/f');
  fs.syncDir('/data');
  fs.truncate('/data/f', 2);
  t.deepEqual(fs.readFile('/data/f'), bytes(1, 2));
  fs.crash(seededRandom(4), { tornWriteChance: 1 });
  t.deepEqual(fs.readFile('/data/f'), bytes(1, 2, 3, 4));

  fs.writeFile('/data/f', bytes(9));
  fs.crash(seededRandom(5), { tornWriteChance: 1 });
  t.deepEqual(fs.readFile('/data/f'), bytes(1, 2, 3, 4));

  fs.truncate('/data/f', 1);
  fs.syncFile('/data/f');
  fs.crash(seededRandom(6));
  t.deepEqual(fs.readFile('/data/f'), bytes(1));
});

test('cutPowerAfter stops the run mid-operation until crash()', (t) => {
  const fs = fsWithDir();
  const file = fs.openAppend('/data/log');
  fs.cutPowerAfter(2);
  file.append(bytes(1));
  fs.syncDir('/data');
  t.throws(() => file.sync(), { instanceOf: SimPowerCutError });
  t.throws(() => fs.list('/data'), { instanceOf: SimPowerCutError });
  fs.crash(seededRandom(7), noTears);
  t.deepEqual(fs.readFile('/data/log'), bytes());
  // The handle belonged to the process that died.
  t.throws(() => file.append(bytes(2)), { instanceOf: SimFsError, message: /EBADF/ });
});

test('fsyncs of files and directories are counted', (t) => {
  const fs = fsWithDir();
  const file = fs.openAppend('/data/log');
  file.append(bytes(1));
  file.sync();
  fs.writeFile('/data/other', bytes(2));
  fs.syncFile('/data/other');
  fs.syncDir('/data');
  t.is(fs.fsyncCount, 3);
});

test('a crash with the same seed does the same damage', (t) => {
  const run = (seed: number) => {
    const fs = fsWithDir();
    const files = ['a', 'b', 'c'].map((name) => fs.openAppend(`/data/${name}`));
    fs.syncDir('/data');
    for (const file of files) file.append(new Uint8Array(64).fill(7));
    fs.crash(seededRandom(seed), { tornWriteChance: 0.7, garbageChance: 0.5 });
    return ['a', 'b', 'c'].map((name) => fs.readFile(`/data/${name}`));
  };
  t.deepEqual(run(11), run(11));
});

test('missing paths fail like the real file system', (t) => {
  const fs = fsWithDir();
  t.false(fs.exists('/data/nope'));
  t.false(fs.exists('/nope/deeper'));
  t.true(fs.exists('/data'));
  t.throws(() => fs.readFile('/data/nope'), { instanceOf: SimFsError, message: /ENOENT/ });
  t.throws(() => fs.readFile('/data'), { instanceOf: SimFsError, message: /EISDIR/ });
});

test('flipBits decays a synced byte, survives a crash, and refuses un-synced bytes', (t) => {
  const fs = fsWithDir();
  const file = fs.openAppend('/data/log');
  fs.syncDir('/data');
  file.append(bytes(1, 2, 3));
  file.sync();
  file.append(bytes(4));
  const fsyncs = fs.fsyncCount;
  fs.flipBits('/data/log', 1, 0x80);
  t.deepEqual(fs.readFile('/data/log'), bytes(1, 0x82, 3, 4));
  t.throws(() => fs.flipBits('/data/log', 3), { instanceOf: RangeError });
  t.throws(() => fs.flipBits('/data/log', 0, 0x100), { instanceOf: RangeError });
  t.is(fs.fsyncCount, fsyncs);
  fs.crash(seededRandom(1), noTears);
  t.deepEqual(fs.readFile('/data/log'), bytes(1, 0x82, 3));
});

test('flipBits after an un-synced rewrite decays the platter, which a crash brings back', (t) => {
  const fs = fsWithDir();
  fs.writeFile('/data/file', bytes(1, 2, 3));
  fs.syncFile('/data/file');
  fs.syncDir('/data');
  fs.writeFile('/data/file', bytes(7, 8, 9));
  fs.flipBits('/data/file', 0, 0x10);
  t.deepEqual(fs.readFile('/data/file'), bytes(7, 8, 9));
  fs.crash(seededRandom(2), noTears);
  t.deepEqual(fs.readFile('/data/file'), bytes(0x11, 2, 3));
});
