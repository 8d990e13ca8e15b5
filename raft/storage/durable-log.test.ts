import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import type { Snapshot } from '../core/types.js';
import { DurableStorage, type DurableStorageOptions } from './durable-log.js';
import { StorageCorruptError, StorageRequestError, WalCorruptError } from './errors.js';
import type { BackgroundWrite } from './fs.js';
import { SimFileSystem, SimPowerCutError } from './sim-fs.js';
import { entries, entry, RecordingLogger, seededRandom } from './test-support.js';

const dir = '/member';

function open(fs: SimFileSystem, options: Partial<DurableStorageOptions> = {}) {
  const logger = new RecordingLogger();
  const storage = new DurableStorage({ fs, dir, logger, ...options });
  const state = storage.load();
  return { storage, state, logger };
}

function snapshot(index: number, term: number, text = `state@${index}`): Snapshot {
  return {
    meta: { index, term, conf: { voters: [1, 2, 3], learners: [4] } },
    data: new TextEncoder().encode(text),
  };
}

test('a new member starts from an empty state', (t) => {
  const fs = new SimFileSystem();
  const { state } = open(fs);
  t.deepEqual(state, { hardState: { term: 0, vote: 0 }, snapshot: null, entries: [] });
  t.deepEqual(fs.list(dir), ['snap', 'wal']);
});

test('hard state, snapshot and entries read back after a restart', (t) => {
  const fs = new SimFileSystem();
  const { storage } = open(fs);
  storage.saveHardState({ term: 2, vote: 3 });
  storage.append(entries(1, 5, 1));
  storage.append([entry(6, 2, 'conf')]);
  storage.sync();
  storage.saveSnapshot(snapshot(3, 1));
  storage.close();
  t.deepEqual(open(fs).state, {
    hardState: { term: 2, vote: 3 },
    snapshot: snapshot(3, 1),
    entries: [entry(4, 1), entry(5, 1), entry(6, 2, 'conf')],
  });
});

test('an append at a stored index replaces it and everything after it', (t) => {
  const fs = new SimFileSystem();
  const { storage } = open(fs);
  storage.append(entries(1, 5, 1));
  storage.append([entry(3, 2)]);
  storage.close();
  t.deepEqual(open(fs).state.entries, [entry(1, 1), entry(2, 1), entry(3, 2)]);
});

test('the storage contract is enforced', (t) => {
  const fs = new SimFileSystem();
  const storage = new DurableStorage({ fs, dir, logger: new RecordingLogger() });
  t.throws(() => storage.append([entry(1, 1)]), {
    instanceOf: StorageRequestError,
    message: /load/,
  });
  storage.load();
  t.throws(() => storage.load(), { instanceOf: StorageRequestError });
  storage.append(entries(1, 4, 1));
  t.throws(() => storage.append([entry(6, 1)]), {
    instanceOf: StorageRequestError,
    message: /gap/,
  });
  storage.saveSnapshot(snapshot(2, 1));
  t.throws(() => storage.append([entry(2, 2)]), { instanceOf: StorageRequestError });
  t.throws(() => storage.compact(3), { instanceOf: StorageRequestError });
  t.throws(() => storage.saveSnapshot(snapshot(5, 1)), { instanceOf: StorageRequestError });
  t.throws(() => storage.installSnapshot(snapshot(1, 1)), { instanceOf: StorageRequestError });
  storage.close();
  storage.close();
  t.throws(() => storage.sync(), { instanceOf: StorageRequestError, message: /closed/ });
});

test('a crash loses only appends after the last sync', (t) => {
  for (let seed = 0; seed < 100; seed++) {
    const fs = new SimFileSystem();
    const { storage } = open(fs, { segmentBytes: 200 });
    const written = entries(1, 30, 1);
    storage.append(written.slice(0, 10));
    storage.sync();
    storage.append(written.slice(10, 12));
    storage.sync();
    storage.append(written.slice(12, 20));
    storage.append(written.slice(20));
    fs.crash(seededRandom(seed), { tornWriteChance: 0.7, garbageChance: 0.5 });
    const survived = open(fs, { segmentBytes: 200 }).state.entries;
    t.true(survived.length >= 12, `seed ${seed}`);
    t.deepEqual(survived, written.slice(0, survived.length), `seed ${seed}`);
  }
});

test('an installed snapshot survives a crash and stale entries do not', (t) => {
  for (const installed of [snapshot(5, 2), snapshot(20, 2)]) {
    const fs = new SimFileSystem();
    const { storage } = open(fs);
    storage.append(entries(1, 10, 1));
    storage.sync();
    storage.append(entries(11, 12, 1));
    storage.installSnapshot(installed);
    fs.crash(seededRandom(installed.meta.index), { tornWriteChance: 1 });

    const after = open(fs);
    t.deepEqual(after.state.snapshot, installed);
    t.deepEqual(after.state.entries, []);
    const next = installed.meta.index + 1;
    after.storage.append([entry(next, 2)]);
    after.storage.close();
    t.deepEqual(open(fs).state.entries, [entry(next, 2)]);
  }
});

/**
 * Runs `operation` with the power cut after each of its file-system steps in turn. The
 * options are given the disk, for a background writer that writes to it.
 */
async function atEveryStep(
  t: ExecutionContext,
  prepare: (storage: DurableStorage) => void,
  operation: (storage: DurableStorage) => void | Promise<void>,
  check: (state: ReturnType<typeof open>['state'], step: number) => void,
  optionsFor: (fs: SimFileSystem) => Partial<DurableStorageOptions> = () => ({}),
): Promise<void> {
  for (let step = 0; ; step++) {
    const fs = new SimFileSystem();
    const options = optionsFor(fs);
    const { storage } = open(fs, options);
    prepare(storage);
    fs.cutPowerAfter(step);
    let finished = true;
    try {
      await operation(storage);
    } catch (error) {
      if (!(error instanceof SimPowerCutError)) throw error;
      finished = false;
    }
    fs.crash(seededRandom(step), { tornWriteChance: 1, garbageChance: 0.5 });
    const { state, storage: reopened } = open(fs, options);
    check(state, step);
    // Whatever it recovered to, the log keeps working and reads back the same.
    const next = (state.entries.at(-1)?.index ?? state.snapshot?.meta.index ?? 0) + 1;
    reopened.append([entry(next, 9)]);
    reopened.close();
    t.is(
      open(fs, options).state.entries.at(-1)?.index,
      next,
      `step ${step}: append after recovery`,
    );
    if (finished) return;
  }
}

test('installSnapshot cut short at any step recovers to the old log or the snapshot', async (t) => {
  const old = entries(1, 10, 1);
  const installed = snapshot(5, 2);
  await atEveryStep(
    t,
    (storage) => {
      storage.append(old);
      storage.sync();
    },
    (storage) => storage.installSnapshot(installed),
    (state, step) => {
      if (state.snapshot === null) t.deepEqual(state.entries, old, `step ${step}`);
      else t.deepEqual(state, { hardState: state.hardState, snapshot: installed, entries: [] });
    },
  );
});

test('a snapshot matching the log keeps the entries after it when the reset is lost', async (t) => {
  const old = entries(1, 10, 1);
  const installed = snapshot(5, 1);
  const outcomes = new Set<string>();
  await atEveryStep(
    t,
    (storage) => {
      storage.append(old);
      storage.sync();
    },
    (storage) => storage.installSnapshot(installed),
    (state, step) => {
      if (state.snapshot === null) {
        t.deepEqual(state.entries, old, `step ${step}`);
        outcomes.add('old');
      } else {
        t.deepEqual(state.snapshot, installed);
        // Entries 6..10 continue entry 5 of term 1, which the snapshot also ends with.
        const kept = state.entries.length > 0;
        t.deepEqual(state.entries, kept ? old.slice(5) : []);
        outcomes.add(kept ? 'snapshot with log' : 'snapshot');
      }
    },
  );
  t.deepEqual([...outcomes].sort(), ['old', 'snapshot', 'snapshot with log']);
});

test('saveSnapshot and compact cut short at any step lose nothing', async (t) => {
  const old = entries(1, 40, 1);
  await atEveryStep(
    t,
    (storage) => {
      for (const e of old) storage.append([e]);
      storage.sync();
    },
    (storage) => {
      storage.saveSnapshot(snapshot(30, 1));
      storage.compact(30);
    },
    (state, step) => {
      const from = state.snapshot?.meta.index ?? 0;
      t.deepEqual(state.entries, old.slice(from), `step ${step}`);
    },
    () => ({ segmentBytes: 100 }),
  );
});

test('compaction drops segments covered by the snapshot and keeps the log after it', (t) => {
  const fs = new SimFileSystem();
  const segmentBytes = 150;
  const { storage } = open(fs, { segmentBytes });
  for (let index = 1; index <= 40; index++) storage.append([entry(index, 1)]);
  storage.sync();
  const before = storage.segmentNames();
  storage.saveSnapshot(snapshot(25, 1));
  storage.compact(25);
  const after = storage.segmentNames();
  t.true(after.length < before.length);
  t.true(Number(after[0]?.slice(0, 16)) <= 26);
  storage.close();
  t.deepEqual(open(fs, { segmentBytes }).state.entries, entries(26, 40, 1));
});

test('only the two newest snapshots are kept', (t) => {
  const fs = new SimFileSystem();
  const { storage } = open(fs);
  storage.append(entries(1, 9, 1));
  for (const index of [3, 6, 9]) storage.saveSnapshot(snapshot(index, 1));
  t.is(fs.list(join(dir, 'snap')).length, 2);
  storage.close();
  t.is(open(fs).state.snapshot?.meta.index, 9);
});

test('a damaged newest snapshot is reported and the one before it used', (t) => {
  const fs = new SimFileSystem();
  const { storage } = open(fs);
  storage.append(entries(1, 9, 1));
  storage.saveSnapshot(snapshot(3, 1));
  storage.saveSnapshot(snapshot(6, 1));
  storage.close();
  const newest = join(dir, 'snap', fs.list(join(dir, 'snap'))[1] ?? '');
  const bytes = fs.readFile(newest);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
  fs.writeFile(newest, bytes);

  const { state, logger } = open(fs);
  t.deepEqual(state.snapshot, snapshot(3, 1));
  t.deepEqual(state.entries, entries(4, 9, 1));
  t.is(logger.warnings.length, 1);
  t.is(logger.warnings[0]?.details.path, newest);
});

test('a log that starts after the newest valid snapshot refuses to start', (t) => {
  const fs = new SimFileSystem();
  const { storage } = open(fs);
  storage.append(entries(1, 3, 1));
  storage.installSnapshot(snapshot(8, 2));
  storage.append(entries(9, 10, 2));
  storage.close();
  for (const name of fs.list(join(dir, 'snap'))) fs.unlink(join(dir, 'snap', name));
  t.throws(() => open(fs), { instanceOf: StorageCorruptError, message: /snapshot/ });
});

test('a damaged hard-state file refuses to start', (t) => {
  const fs = new SimFileSystem();
  const { storage } = open(fs);
  storage.saveHardState({ term: 7, vote: 2 });
  storage.close();
  const path = join(dir, 'hardstate');
  const bytes = fs.readFile(path);
  bytes[12] = (bytes[12] ?? 0) ^ 1;
  fs.writeFile(path, bytes);
  t.throws(() => open(fs), { instanceOf: StorageCorruptError, message: /hard-state/ });
});

test('bit rot in the open log segment refuses to start instead of dropping synced entries', (t) => {
  const fs = new SimFileSystem();
  const { storage } = open(fs);
  storage.saveHardState({ term: 1, vote: 1 });
  storage.append(entries(1, 5, 1));
  storage.sync();
  const [segment = ''] = storage.segmentNames();
  storage.close();
  const path = join(dir, 'wal', segment);
  // A byte inside the second record (each record of these entries takes 29 bytes).
  fs.flipBits(path, 29 + 20);
  const error = t.throws(() => open(fs), { instanceOf: WalCorruptError });
  t.is(error?.path, path);
  t.is(error?.offset, 29);
});

test('a hard-state save cut short leaves the old or the new state', (t) => {
  for (let step = 0; step < 4; step++) {
    const fs = new SimFileSystem();
    const { storage } = open(fs);
    storage.saveHardState({ term: 1, vote: 1 });
    fs.cutPowerAfter(step);
    t.throws(() => storage.saveHardState({ term: 2, vote: 3 }), { instanceOf: SimPowerCutError });
    fs.crash(seededRandom(step), { tornWriteChance: 1, garbageChance: 1 });
    t.deepEqual(open(fs).state.hardState, { term: 1, vote: 1 }, `step ${step}`);
  }
});

test('the append path costs one fsync per synced batch', (t) => {
  const fs = new SimFileSystem();
  const { storage } = open(fs);
  storage.append([entry(1, 1)]);
  storage.sync();
  const before = fs.fsyncCount;
  for (let batch = 0; batch < 10; batch++) {
    storage.append(entries(2 + batch * 5, 6 + batch * 5, 1));
    storage.sync();
  }
  t.is(fs.fsyncCount - before, 10);
});

/** A background writer over the simulated disk that writes only when told to. */
function gatedWriter(fs: SimFileSystem) {
  const pending: { release: () => void; fail: (error: Error) => void }[] = [];
  const write = (path: string, parts: readonly Uint8Array[]) =>
    new Promise<void>((resolve, reject) => {
      pending.push({
        release: () => {
          fs.writeFile(path, Buffer.concat(parts));
          fs.syncFile(path);
          resolve();
        },
        fail: reject,
      });
    });
  /** Resolves once `count` writes were asked for (a file is checksummed before it is written). */
  const started = async (count: number) => {
    while (pending.length < count) await nextTurn();
  };
  return { write, pending, started };
}

/** A background writer over the simulated disk that writes as soon as it is asked. */
function directWriter(fs: SimFileSystem): BackgroundWrite {
  return async (path, parts) => {
    await nextTurn();
    fs.writeFile(path, Buffer.concat(parts));
    fs.syncFile(path);
  };
}

/** A storage writing in the background through a gated writer, its log holding 1..10. */
function withGatedWriter() {
  const fs = new SimFileSystem();
  const writer = gatedWriter(fs);
  const { storage } = open(fs, { writeInBackground: writer.write });
  storage.append(entries(1, 10, 1));
  storage.sync();
  return { fs, writer, storage };
}

test('a snapshot saved in the background is adopted once written, while the log goes on', async (t) => {
  const { fs, writer, storage } = withGatedWriter();
  const saving = storage.saveSnapshotInBackground(snapshot(8, 1));
  // Meanwhile the log is written as usual, and the snapshot cannot be compacted to yet.
  storage.append(entries(11, 12, 1));
  storage.sync();
  t.throws(() => storage.compact(8), { instanceOf: StorageRequestError });
  await writer.started(1);
  writer.pending[0]!.release();
  t.true(await saving);
  storage.compact(8);
  storage.close();
  const { state } = open(fs);
  t.deepEqual(state.snapshot, snapshot(8, 1));
  t.deepEqual(state.entries, entries(9, 12, 1));
  t.deepEqual(fs.list(join(dir, 'snap')), ['0000000000000008-0000000000000001.snap']);
});

test('a background snapshot overtaken by an installed one, or by closing, is dropped with its file', async (t) => {
  const { fs, writer, storage } = withGatedWriter();
  const overtaken = storage.saveSnapshotInBackground(snapshot(8, 1));
  await writer.started(1);
  storage.installSnapshot(snapshot(20, 2));
  writer.pending[0]!.release();
  t.false(await overtaken);
  t.deepEqual(fs.list(join(dir, 'snap')), ['0000000000000020-0000000000000002.snap']);

  storage.append(entries(21, 25, 2));
  storage.sync();
  const closedMeanwhile = storage.saveSnapshotInBackground(snapshot(24, 2));
  await writer.started(2);
  storage.close();
  writer.pending[1]!.release();
  t.false(await closedMeanwhile);
  t.deepEqual(open(fs).state.snapshot, snapshot(20, 2));
  t.deepEqual(fs.list(join(dir, 'snap')), ['0000000000000020-0000000000000002.snap']);
});

test('a failed background write leaves no file behind and the newest snapshot stands', async (t) => {
  const { fs, writer, storage } = withGatedWriter();
  storage.saveSnapshot(snapshot(4, 1));
  const failing = storage.saveSnapshotInBackground(snapshot(8, 1));
  await writer.started(1);
  fs.writeFile(join(dir, 'snap', '0000000000000008-0000000000000001.snap.tmp'), new Uint8Array(3));
  writer.pending[0]!.fail(new Error('disk full'));
  await t.throwsAsync(failing, { message: 'disk full' });
  t.deepEqual(fs.list(join(dir, 'snap')), ['0000000000000004-0000000000000001.snap']);
  // The storage and its own checks still stand.
  await t.throwsAsync(storage.saveSnapshotInBackground(snapshot(11, 1)), {
    instanceOf: StorageRequestError,
  });
  const plain = new DurableStorage({ fs: new SimFileSystem(), dir, logger: new RecordingLogger() });
  plain.load();
  await t.throwsAsync(plain.saveSnapshotInBackground(snapshot(0, 0)), {
    message: /no way to write in the background/,
  });
});

/** A snapshot whose image spans several of the chunks it is checksummed in. */
function largeSnapshot(index: number, term: number): Snapshot {
  const data = new Uint8Array(9 * 1024 * 1024 + 7);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + index) & 0xff;
  return { meta: { index, term, conf: { voters: [1, 2, 3], learners: [] } }, data };
}

test('a snapshot installed in the background is durable once it resolves, and replaces the log', async (t) => {
  const { fs, writer, storage } = withGatedWriter();
  // Not synced: the install's reset comes after them, and its sync covers them.
  storage.append(entries(11, 12, 1));
  const installed = largeSnapshot(20, 2);
  const installing = storage.installSnapshotInBackground(installed);
  await writer.started(1);
  // Nothing of the install is on disk until its file is written.
  t.deepEqual(fs.list(join(dir, 'snap')), []);
  writer.pending[0]!.release();
  await installing;
  fs.crash(seededRandom(20), { tornWriteChance: 1 });

  const after = open(fs);
  t.deepEqual(after.state.snapshot?.meta, installed.meta);
  t.true(Buffer.from(installed.data).equals(after.state.snapshot?.data ?? new Uint8Array()));
  t.deepEqual(after.state.entries, []);
  t.deepEqual(after.logger.warnings, []);
  after.storage.append([entry(21, 2)]);
  after.storage.close();
  t.deepEqual(open(fs).state.entries, [entry(21, 2)]);
});

test('a failed background install leaves the old snapshot and log and no file behind', async (t) => {
  const { fs, writer, storage } = withGatedWriter();
  storage.saveSnapshot(snapshot(4, 1));
  const failing = storage.installSnapshotInBackground(snapshot(20, 2));
  await writer.started(1);
  fs.writeFile(join(dir, 'snap', '0000000000000020-0000000000000002.snap.tmp'), new Uint8Array(3));
  writer.pending[0]!.fail(new Error('disk full'));
  await t.throwsAsync(failing, { message: 'disk full' });
  t.deepEqual(fs.list(join(dir, 'snap')), ['0000000000000004-0000000000000001.snap']);
  // The log goes on as before.
  storage.append(entries(11, 12, 1));
  storage.close();
  const { state } = open(fs);
  t.deepEqual(state.snapshot, snapshot(4, 1));
  t.deepEqual(state.entries, entries(5, 12, 1));
});

test('a background install overtaken by a newer snapshot, or by closing, is refused with its file dropped', async (t) => {
  const { fs, writer, storage } = withGatedWriter();
  const snapDir = join(dir, 'snap');
  const overtaken = storage.installSnapshotInBackground(snapshot(20, 2));
  await writer.started(1);
  storage.installSnapshot(snapshot(30, 3));
  writer.pending[0]!.release();
  await t.throwsAsync(overtaken, {
    instanceOf: StorageRequestError,
    message: /older than the stored 30/,
  });
  t.deepEqual(fs.list(snapDir), ['0000000000000030-0000000000000003.snap']);
  await t.throwsAsync(storage.installSnapshotInBackground(snapshot(25, 3)), {
    instanceOf: StorageRequestError,
  });

  const closedMeanwhile = storage.installSnapshotInBackground(snapshot(40, 3));
  await writer.started(2);
  storage.close();
  writer.pending[1]!.release();
  await t.throwsAsync(closedMeanwhile, { instanceOf: StorageRequestError, message: /closed/ });
  t.deepEqual(fs.list(snapDir), ['0000000000000030-0000000000000003.snap']);
  t.deepEqual(open(fs).state, {
    hardState: { term: 0, vote: 0 },
    snapshot: snapshot(30, 3),
    entries: [],
  });

  const plain = new DurableStorage({ fs: new SimFileSystem(), dir, logger: new RecordingLogger() });
  plain.load();
  await t.throwsAsync(plain.installSnapshotInBackground(snapshot(5, 1)), {
    message: /no way to write in the background/,
  });
});

test('installSnapshotInBackground cut short at any step recovers to the old log or the snapshot', async (t) => {
  const old = entries(1, 10, 1);
  const installed = snapshot(5, 2);
  const outcomes = new Set<string>();
  await atEveryStep(
    t,
    (storage) => {
      storage.append(old);
      storage.sync();
    },
    (storage) => storage.installSnapshotInBackground(installed),
    (state, step) => {
      if (state.snapshot === null) {
        t.deepEqual(state.entries, old, `step ${step}`);
        outcomes.add('old');
      } else {
        t.deepEqual(state, { hardState: state.hardState, snapshot: installed, entries: [] });
        outcomes.add('snapshot');
      }
    },
    (fs) => ({ writeInBackground: directWriter(fs) }),
  );
  t.deepEqual([...outcomes].sort(), ['old', 'snapshot']);
});
