import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import test from 'ava';
import type { Entry } from '../core/types.js';
import { StorageCorruptError, StorageRequestError, WalCorruptError } from './errors.js';
import { SimFileSystem } from './sim-fs.js';
import { entries, entry, RecordingLogger, seededRandom } from './test-support.js';
import { segmentName, WriteAheadLog, type WalOptions } from './wal.js';

const dir = '/member/wal';
const firstSegment = join(dir, segmentName(1));

function open(fs: SimFileSystem, options: Partial<WalOptions> = {}) {
  const logger = new RecordingLogger();
  const { wal, contents } = WriteAheadLog.open({ fs, dir, logger, ...options });
  return { wal, contents, logger };
}

function reopen(fs: SimFileSystem, wal: WriteAheadLog, options: Partial<WalOptions> = {}) {
  wal.close();
  return open(fs, options);
}

/** Bytes one entry record takes on disk. */
const recordBytes = (e: Entry) => 9 + 17 + e.data.length;

test('entries written and synced read back identically', (t) => {
  const fs = new SimFileSystem();
  const { wal, contents } = open(fs);
  t.deepEqual(contents, { base: null, entries: [] });
  const written = [
    ...entries(1, 3, 1),
    entry(4, 2, 'conf'),
    { ...entry(5, 2), data: new Uint8Array() },
  ];
  wal.append(written.slice(0, 2));
  wal.append(written.slice(2));
  wal.sync();
  const again = reopen(fs, wal);
  t.deepEqual(again.contents, { base: 0, entries: written });
  t.is(again.wal.lastIndex, 5);
});

test('an entry at a stored index replaces it and everything after it', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs);
  wal.append(entries(1, 5, 1));
  wal.append(entries(3, 4, 2));
  wal.append([entry(5, 3)]);
  wal.append([entry(2, 4)]);
  wal.append([entry(3, 4)]);
  t.deepEqual(reopen(fs, wal).contents.entries, [entry(1, 1), entry(2, 4), entry(3, 4)]);
});

test('a reset makes the log start empty after its index', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs);
  wal.append(entries(1, 5, 1));
  wal.reset(10, 3);
  t.deepEqual(reopen(fs, wal).contents, { base: 10, entries: [] });
  const { wal: wal2 } = open(fs);
  wal2.append(entries(11, 12, 3));
  t.deepEqual(reopen(fs, wal2).contents, { base: 10, entries: entries(11, 12, 3) });
});

test('appends that would leave a gap or are not contiguous are refused', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs);
  wal.append(entries(1, 2, 1));
  t.throws(() => wal.append([entry(4, 1)]), { instanceOf: StorageRequestError });
  t.throws(() => wal.append([entry(3, 1), entry(5, 1)]), { instanceOf: StorageRequestError });
  t.deepEqual(reopen(fs, wal).contents.entries, entries(1, 2, 1));
});

test('segments rotate at the configured size and are named after their first index', (t) => {
  const fs = new SimFileSystem();
  const segmentBytes = 100;
  const { wal } = open(fs, { segmentBytes });
  for (let index = 1; index <= 30; index++) wal.append([entry(index, 1)]);
  wal.sync();
  const names = wal.segmentNames();
  t.true(names.length > 5);
  t.deepEqual(fs.list(dir), names);
  for (const name of names.slice(0, -1)) {
    const bytes = fs.readFile(join(dir, name));
    t.true(bytes.length >= segmentBytes);
    // Each segment starts with the entry its name announces.
    t.is(
      new DataView(bytes.buffer, bytes.byteOffset).getUint32(9, true),
      Number(name.slice(0, 16)),
    );
  }
  const again = reopen(fs, wal, { segmentBytes });
  t.deepEqual(again.contents.entries, entries(1, 30, 1));
  t.deepEqual(again.wal.segmentNames(), names);
});

test('rotation waits for an index above the open segment so names keep write order', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs, { segmentBytes: 1 });
  wal.append(entries(1, 5, 1));
  wal.append([entry(6, 1)]);
  wal.append([entry(4, 2)]);
  wal.append([entry(5, 2)]);
  wal.append([entry(6, 2)]);
  wal.append([entry(7, 2)]);
  t.deepEqual(wal.segmentNames(), [segmentName(1), segmentName(6), segmentName(7)]);
  const { contents } = reopen(fs, wal, { segmentBytes: 1 });
  t.deepEqual(contents.entries, [...entries(1, 3, 1), ...entries(4, 7, 2)]);
});

test('compaction deletes whole segments at or below the index, never the open one', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs, { segmentBytes: 1 });
  wal.append(entries(1, 3, 1));
  wal.append(entries(4, 6, 1));
  wal.append(entries(7, 9, 1));
  t.is(wal.compact(5), 1);
  t.deepEqual(fs.list(dir), [segmentName(4), segmentName(7)]);
  t.is(wal.compact(100), 1);
  t.deepEqual(fs.list(dir), [segmentName(7)]);
  fs.crash(seededRandom(1), { tornWriteChance: 0 });
  // The deletions were durable, and so was what the open segment held when compaction ran.
  t.deepEqual(open(fs).contents, { base: 6, entries: entries(7, 9, 1) });
  t.deepEqual(fs.list(dir), [segmentName(7)]);
});

test('compaction deletes segments whose entries were all superseded', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs, { segmentBytes: 1 });
  wal.append(entries(1, 3, 1));
  wal.append(entries(4, 6, 1));
  wal.reset(2, 2);
  wal.append(entries(3, 5, 2));
  wal.append([entry(6, 2)]);
  t.deepEqual(wal.segmentNames(), [segmentName(1), segmentName(4), segmentName(6)]);
  t.is(wal.compact(0), 1);
  t.deepEqual(reopen(fs, wal).contents, { base: 2, entries: entries(3, 6, 2) });
});

test('a segment superseded by un-synced records is not deleted before they are durable', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs, { segmentBytes: 60 });
  wal.append([entry(1, 1)]);
  wal.reset(5, 1);
  wal.append(entries(6, 7, 1));
  wal.sync();
  // Overwrites every live entry of segment 1 from a new segment.
  wal.append([entry(6, 2)]);
  t.deepEqual(wal.segmentNames(), [segmentName(1), segmentName(6)]);
  t.is(wal.compact(0), 1);
  fs.crash(seededRandom(2), { tornWriteChance: 0 });
  // Had segment 1 gone while the overwrite was only in the OS cache, 6@1 and 7@1 (synced)
  // would have been lost with it.
  t.deepEqual(open(fs).contents, { base: 5, entries: [entry(6, 2)] });
});

test('a torn last record is cut off at every byte offset, with a warning', (t) => {
  const last = entry(4, 1);
  for (let cut = 0; cut < recordBytes(last); cut++) {
    const fs = new SimFileSystem();
    const { wal } = open(fs);
    wal.append(entries(1, 3, 1));
    wal.append([last]);
    wal.close();
    const intact = fs.readFile(firstSegment).length - recordBytes(last);
    fs.truncate(firstSegment, intact + cut);
    fs.syncFile(firstSegment);

    const after = open(fs);
    t.deepEqual(after.contents.entries, entries(1, 3, 1), `cut at ${cut}`);
    t.is(after.logger.warnings.length, cut === 0 ? 0 : 1);
    t.is(fs.readFile(firstSegment).length, intact);
    // The repaired log takes new appends where the torn one was.
    after.wal.append([entry(4, 2)]);
    t.deepEqual(reopen(fs, after.wal).contents.entries, [...entries(1, 3, 1), entry(4, 2)]);
  }
});

// Damage to the last record with nothing after it cannot be told from a write the crash cut
// short, so it is cut off like one (see the top of wal.ts for why that is the lesser harm).
test('a damaged byte anywhere in the last record truncates it as a torn tail', (t) => {
  const last = entry(4, 1);
  for (let offset = 0; offset < recordBytes(last); offset++) {
    const fs = new SimFileSystem();
    const { wal } = open(fs);
    wal.append(entries(1, 4, 1));
    wal.close();
    const bytes = fs.readFile(firstSegment);
    const at = bytes.length - recordBytes(last) + offset;
    bytes[at] = (bytes[at] ?? 0) ^ 0x40;
    fs.writeFile(firstSegment, bytes);
    fs.syncFile(firstSegment);

    const after = open(fs);
    t.deepEqual(after.contents.entries, entries(1, 3, 1), `damage at ${offset}`);
    t.is(after.logger.warnings.length, 1);
  }
});

test('a record of an unknown type at the tail is truncated, not replayed', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs);
  wal.append(entries(1, 2, 1));
  wal.close();
  const record = new Uint8Array(9);
  const view = new DataView(record.buffer);
  record[8] = 9;
  view.setUint32(4, crc32(record.subarray(8)), true);
  const file = fs.openAppend(firstSegment);
  file.append(record);
  file.sync();

  const after = open(fs);
  t.deepEqual(after.contents.entries, entries(1, 2, 1));
  t.regex(String(after.logger.warnings[0]?.details.reason), /unknown record type 9/);
});

test('a bad checksum in an older segment refuses to open, naming the record', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs, { segmentBytes: 1 });
  wal.append(entries(1, 3, 1));
  wal.append(entries(4, 6, 1));
  wal.close();
  // The last byte of the sealed segment's last record: nothing follows it in that segment.
  const size = fs.readFile(firstSegment).length;
  fs.flipBits(firstSegment, size - 1);
  const error = t.throws(() => open(fs), { instanceOf: WalCorruptError });
  t.is(error?.code, 'storage_corrupt');
  t.is(error?.path, firstSegment);
  t.is(error?.offset, size - recordBytes(entry(3, 1)));
  t.regex(error?.message ?? '', /sealed segment/);
});

test('a torn tail in an older segment refuses to open', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs, { segmentBytes: 1 });
  wal.append(entries(1, 3, 1));
  wal.append(entries(4, 6, 1));
  wal.close();
  fs.truncate(firstSegment, fs.readFile(firstSegment).length - 5);
  t.throws(() => open(fs), { instanceOf: StorageCorruptError });
});

test('a missing segment in the middle is a gap and refuses to open', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs, { segmentBytes: 1 });
  wal.append(entries(1, 3, 1));
  wal.append(entries(4, 6, 1));
  wal.append(entries(7, 9, 1));
  wal.close();
  fs.unlink(join(dir, segmentName(4)));
  t.throws(() => open(fs), { instanceOf: StorageCorruptError, message: /gap/ });
});

test('an empty last segment left by a crash during rotation is removed', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs, { segmentBytes: 1 });
  wal.append(entries(1, 3, 1));
  wal.append(entries(4, 6, 1));
  fs.crash(seededRandom(3), { tornWriteChance: 0 });
  const after = open(fs, { segmentBytes: 1 });
  t.deepEqual(after.contents.entries, entries(1, 3, 1));
  t.deepEqual(fs.list(dir), [segmentName(1)]);
  after.wal.append([entry(4, 2)]);
  t.deepEqual(reopen(fs, after.wal).contents.entries, [...entries(1, 3, 1), entry(4, 2)]);
});

test('a crash keeps every synced entry and at most a prefix of the rest', (t) => {
  for (let seed = 0; seed < 100; seed++) {
    const fs = new SimFileSystem();
    const { wal } = open(fs, { segmentBytes: 120 });
    const written = entries(1, 20, 1);
    wal.append(written.slice(0, 8));
    wal.append(written.slice(8, 10));
    wal.sync();
    wal.append(written.slice(10, 15));
    wal.append(written.slice(15));
    fs.crash(seededRandom(seed), { tornWriteChance: 0.8, garbageChance: 0.5 });
    const survived = open(fs, { segmentBytes: 120 }).contents.entries;
    t.true(survived.length >= 10, `seed ${seed}`);
    t.deepEqual(survived, written.slice(0, survived.length), `seed ${seed}`);
  }
});

test('one fdatasync per batch, none when nothing is pending', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs);
  wal.append([entry(1, 1)]);
  wal.sync();
  const before = fs.fsyncCount;
  wal.append([entry(2, 1)]);
  wal.append(entries(3, 10, 1));
  wal.sync();
  wal.sync();
  t.is(fs.fsyncCount - before, 1);
});

/** Segment 1 holding `written`, synced and closed, and where each record starts. */
function syncedSegment(fs: SimFileSystem, written: readonly Entry[]): number[] {
  const { wal } = open(fs);
  wal.append(written);
  wal.close();
  const starts: number[] = [];
  let at = 0;
  for (const e of written) {
    starts.push(at);
    at += recordBytes(e);
  }
  return starts;
}

test('a flipped byte in record 2 of 5 synced records refuses to open, naming segment and offset', (t) => {
  const fs = new SimFileSystem();
  const [, second = 0, third = 0] = syncedSegment(fs, entries(1, 5, 1));
  fs.flipBits(firstSegment, second + 20, 0x10);
  const before = fs.readFile(firstSegment);

  const error = t.throws(() => open(fs), { instanceOf: WalCorruptError });
  t.is(error?.code, 'storage_corrupt');
  t.is(error?.path, firstSegment);
  t.is(error?.offset, second);
  t.true(error?.message.includes(`byte ${second}`), error?.message);
  t.true(error?.message.includes(`valid record follows at byte ${third}`), error?.message);
  t.true(error?.message.includes(firstSegment), error?.message);
  // Nothing was cut: an operator (or a fixed build) finds the log as it was.
  t.deepEqual(fs.readFile(firstSegment), before);
});

test('a damaged byte anywhere in a record with valid records after it refuses to open', (t) => {
  const written = entries(1, 5, 1);
  for (const [record, e] of written.slice(0, -1).entries()) {
    for (let offset = 0; offset < recordBytes(e); offset++) {
      const fs = new SimFileSystem();
      const start = syncedSegment(fs, written)[record] ?? 0;
      fs.flipBits(firstSegment, start + offset, 0x40);
      const error = t.throws(() => open(fs), { instanceOf: WalCorruptError });
      t.is(error?.offset, start, `record ${record + 1}, byte ${offset}`);
    }
  }
});

test('a damaged reset record with entries after it refuses to open', (t) => {
  const fs = new SimFileSystem();
  const { wal } = open(fs);
  wal.append(entries(1, 3, 1));
  wal.reset(10, 2);
  wal.append(entries(11, 12, 2));
  wal.close();
  const resetAt = 3 * recordBytes(entry(1, 1));
  fs.flipBits(firstSegment, resetAt + 9);
  const error = t.throws(() => open(fs), { instanceOf: WalCorruptError });
  t.is(error?.offset, resetAt);
});

test('a zero-filled tail after valid records is a torn tail', (t) => {
  // What a file system leaves when a crash made the file's new size durable but not the data.
  const written = entries(1, 5, 1);
  for (const zeros of [1, 9, 100, 4096]) {
    const fs = new SimFileSystem();
    syncedSegment(fs, written);
    const intact = fs.readFile(firstSegment).length;
    const file = fs.openAppend(firstSegment);
    file.append(new Uint8Array(zeros));
    file.sync();

    const after = open(fs);
    t.deepEqual(after.contents.entries, written, `${zeros} zeros`);
    t.is(after.logger.warnings[0]?.details.reason, 'a zero-filled tail');
    t.is(fs.readFile(firstSegment).length, intact);
  }
});

test('a last record zeroed from any byte on is a torn tail', (t) => {
  const written = entries(1, 5, 1);
  const last = recordBytes(entry(5, 1));
  for (let from = 0; from < last; from++) {
    const fs = new SimFileSystem();
    const lastAt = syncedSegment(fs, written).at(-1) ?? 0;
    const bytes = fs.readFile(firstSegment);
    bytes.fill(0, lastAt + from);
    fs.writeFile(firstSegment, bytes);
    fs.syncFile(firstSegment);
    t.deepEqual(open(fs).contents.entries, entries(1, 4, 1), `zeros from byte ${from}`);
  }
});

test('bit rot in a synced record is refused even when a crash also tore the tail', (t) => {
  // Whatever the crash left at the end (nothing, a prefix, garbage), the damaged record 2 has
  // the synced records 3 to 5 after it, so it cannot pass for a tear.
  for (let seed = 0; seed < 50; seed++) {
    const fs = new SimFileSystem();
    const { wal } = open(fs);
    wal.append(entries(1, 5, 1));
    wal.sync();
    wal.append(entries(6, 12, 1));
    fs.crash(seededRandom(seed), { tornWriteChance: 1, garbageChance: 0.5 });
    fs.flipBits(firstSegment, recordBytes(entry(1, 1)) + 12, 0x04);
    const error = t.throws(() => open(fs), { instanceOf: WalCorruptError }, `seed ${seed}`);
    t.is(error?.offset, recordBytes(entry(1, 1)), `seed ${seed}`);
  }
});
