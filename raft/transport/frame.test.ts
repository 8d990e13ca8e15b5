import test from 'ava';
import { Buffer } from 'node:buffer';
import { FrameError } from './errors.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FRAME_PROTOCOL_VERSION,
  FrameDecoder,
  FrameKind,
  encodeFrame,
} from './frame.js';
import type { Frame } from './frame.js';
import { randomBytesFrom, seededRandom } from './test-support.js';

const random = seededRandom(7);

const payloads = [
  new Uint8Array(0),
  randomBytesFrom(random, 1),
  randomBytesFrom(random, 5),
  randomBytesFrom(random, 6),
  randomBytesFrom(random, 300),
  randomBytesFrom(random, 70_000),
  new Uint8Array(0),
];
const frames = payloads.map((payload, i) =>
  encodeFrame(i % 2 === 0 ? FrameKind.raftMessage : FrameKind.hello, payload),
);
const stream = Buffer.concat(frames);

function summarize(decoded: Frame[]): { kind: number; payload: string }[] {
  return decoded.map((f) => ({ kind: f.kind, payload: Buffer.from(f.payload).toString('hex') }));
}

const expected = payloads.map((payload, i) => ({
  kind: i % 2 === 0 ? FrameKind.raftMessage : FrameKind.hello,
  payload: Buffer.from(payload).toString('hex'),
}));

test('the header holds the payload length, the protocol version and the kind', (t) => {
  const frame = encodeFrame(FrameKind.ping, new Uint8Array([9, 8, 7]));
  t.deepEqual([...frame], [3, 0, 0, 0, FRAME_PROTOCOL_VERSION, FrameKind.ping, 9, 8, 7]);
});

test('frames in one chunk come out whole', (t) => {
  const decoder = new FrameDecoder();
  t.deepEqual(summarize(decoder.push(stream)), expected);
  t.is(decoder.bufferedBytes, 0);
});

test('frames split at arbitrary chunk boundaries come out whole and in order', (t) => {
  const split = seededRandom(99);
  for (let round = 0; round < 200; round++) {
    const decoder = new FrameDecoder();
    const decoded: Frame[] = [];
    let offset = 0;
    while (offset < stream.byteLength) {
      // Mostly tiny chunks, sometimes large ones, so headers and payloads both get split.
      const size = split() < 0.7 ? 1 + Math.floor(split() * 8) : 1 + Math.floor(split() * 20_000);
      decoded.push(...decoder.push(stream.subarray(offset, offset + size)));
      offset += size;
    }
    t.deepEqual(summarize(decoded), expected);
    t.is(decoder.bufferedBytes, 0);
  }
});

test('one byte at a time works too', (t) => {
  const decoder = new FrameDecoder();
  const decoded: Frame[] = [];
  for (let i = 0; i < stream.byteLength; i++) {
    decoded.push(...decoder.push(stream.subarray(i, i + 1)));
  }
  t.deepEqual(summarize(decoded), expected);
});

test('an incomplete frame waits for the rest', (t) => {
  const decoder = new FrameDecoder();
  const frame = encodeFrame(FrameKind.raftMessage, new Uint8Array(100));
  t.deepEqual(decoder.push(frame.subarray(0, 50)), []);
  t.is(decoder.bufferedBytes, 50);
  t.is(decoder.push(frame.subarray(50)).length, 1);
});

test('a declared length above the limit is refused from the header alone', (t) => {
  const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
  const header = encodeFrame(FrameKind.raftMessage, new Uint8Array(1025)).subarray(
    0,
    FRAME_HEADER_BYTES,
  );
  const error = t.throws(() => decoder.push(header), { instanceOf: FrameError });
  t.is(error?.code, 'malformed_frame');
  t.regex(error?.message ?? '', /1025 bytes exceeds the 1024 byte limit/);
  // The stream has lost its framing: nothing more is decoded from it.
  t.throws(() => decoder.push(encodeFrame(FrameKind.ping, new Uint8Array(0))), {
    instanceOf: FrameError,
  });
});

test('a frame of exactly the limit is accepted', (t) => {
  const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
  t.is(decoder.push(encodeFrame(FrameKind.raftMessage, new Uint8Array(1024))).length, 1);
});

test('the default limit is 16 MiB and a 4 GiB declared length is refused', (t) => {
  t.is(DEFAULT_MAX_FRAME_BYTES, 16 * 1024 * 1024);
  const decoder = new FrameDecoder();
  t.throws(
    () => decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff, FRAME_PROTOCOL_VERSION, 2])),
    {
      instanceOf: FrameError,
    },
  );
});

test('an unknown protocol version is refused', (t) => {
  const frame = encodeFrame(FrameKind.raftMessage, new Uint8Array(3));
  frame[4] = FRAME_PROTOCOL_VERSION + 1;
  t.throws(() => new FrameDecoder().push(frame), {
    instanceOf: FrameError,
    message: /unknown protocol version/,
  });
});
