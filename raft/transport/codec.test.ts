import test from 'ava';
import { Buffer } from 'node:buffer';
import type { Entry, Message, MessageType } from '../core/types.js';
import { CODEC_VERSION, decodeMessage, encodeMessage, encodedMessageSize } from './codec.js';
import { CodecError, UnencodableValueError } from './errors.js';
import { randomBytesFrom, seededRandom } from './test-support.js';

const random = seededRandom(1);

function entry(index: number, term: number, size: number, type: Entry['type'] = 'normal'): Entry {
  return { index, term, type, data: randomBytesFrom(random, size) };
}

/** One message of every type; the record type makes a missing variant a compile error. */
const everyVariant: { [K in MessageType]: Extract<Message, { type: K }> } = {
  app: {
    type: 'app',
    from: 1,
    to: 2,
    term: 7,
    prevIndex: 41,
    prevTerm: 6,
    commit: 40,
    entries: [entry(42, 7, 200), entry(43, 7, 0), entry(44, 7, 17, 'conf')],
  },
  appResp: {
    type: 'appResp',
    from: 2,
    to: 1,
    term: 7,
    index: 41,
    reject: true,
    hintIndex: 30,
    hintTerm: 5,
  },
  vote: {
    type: 'vote',
    from: 3,
    to: 4,
    term: Number.MAX_SAFE_INTEGER,
    pre: true,
    lastIndex: 2 ** 40,
    lastTerm: 9,
    transfer: false,
  },
  voteResp: { type: 'voteResp', from: 4, to: 3, term: 8, pre: false, granted: true },
  heartbeat: {
    type: 'heartbeat',
    from: 1,
    to: 5,
    term: 7,
    commit: 0,
    context: 'read-ctx-é-日本-🎉',
  },
  heartbeatResp: { type: 'heartbeatResp', from: 5, to: 1, term: 7, context: '' },
  snap: {
    type: 'snap',
    from: 1,
    to: 3,
    term: 7,
    meta: { index: 1000, term: 6, conf: { voters: [1, 2, 3], learners: [9] } },
    offset: 65536,
    total: 200_000,
    chunk: randomBytesFrom(random, 4096),
    done: false,
  },
  snapResp: {
    type: 'snapResp',
    from: 3,
    to: 1,
    term: 7,
    index: 1000,
    nextOffset: 200_000,
    applied: true,
    reject: false,
  },
  timeoutNow: { type: 'timeoutNow', from: 1, to: 2, term: 7 },
  readIndex: { type: 'readIndex', from: 2, to: 1, term: 7, context: '\uFEFFleading BOM' },
  readIndexResp: {
    type: 'readIndexResp',
    from: 1,
    to: 2,
    term: 7,
    context: 'ctx',
    index: 55,
    reject: false,
  },
  propose: { type: 'propose', from: 2, to: 1, term: 0, entries: [] },
};
const samples: Message[] = Object.values(everyVariant);

test('every message type survives a round trip', (t) => {
  for (const msg of samples) {
    const bytes = encodeMessage(msg);
    t.is(bytes.byteLength, encodedMessageSize(msg), msg.type);
    t.is(bytes[0], CODEC_VERSION);
    t.deepEqual(decodeMessage(bytes), msg, msg.type);
  }
});

test('empty, large and many entries survive a round trip', (t) => {
  const messages: Message[] = [
    { ...everyVariant.app, entries: [] },
    { ...everyVariant.app, entries: [entry(1, 1, 0), entry(2, 1, 0)] },
    {
      ...everyVariant.app,
      entries: Array.from({ length: 100 }, (_, i) => entry(100 + i, 3, 200)),
    },
    { ...everyVariant.snap, meta: { index: 0, term: 0, conf: { voters: [], learners: [] } } },
    { ...everyVariant.snap, chunk: new Uint8Array(0), done: true },
  ];
  for (const msg of messages) {
    t.deepEqual(decodeMessage(encodeMessage(msg)), msg);
  }
});

test('a multi-megabyte entry survives a round trip', (t) => {
  const data = new Uint8Array(4 * 1024 * 1024).map((_, i) => i % 251);
  const msg: Message = {
    ...everyVariant.app,
    entries: [{ index: 1, term: 1, type: 'normal', data }],
  };
  const decoded = decodeMessage(encodeMessage(msg));
  // Compared natively: a structural deep-equal of megabytes is needlessly slow.
  const decodedData = decoded.type === 'app' ? decoded.entries[0]?.data : undefined;
  t.true(decodedData !== undefined && Buffer.from(decodedData).equals(Buffer.from(data)));
});

test('decoded bytes are copies that outlive the input buffer', (t) => {
  const bytes = encodeMessage(everyVariant.app);
  const decoded = decodeMessage(bytes);
  const before = decoded.type === 'app' ? decoded.entries[0]!.data.slice() : null;
  bytes.fill(0);
  t.deepEqual(decoded.type === 'app' ? decoded.entries[0]!.data : null, before);
});

test('decoding accepts a message inside a larger buffer', (t) => {
  const bytes = encodeMessage(everyVariant.snap);
  const padded = new Uint8Array(bytes.byteLength + 10);
  padded.set(bytes, 7);
  t.deepEqual(decodeMessage(padded.subarray(7, 7 + bytes.byteLength)), everyVariant.snap);
});

test('every truncation of every message is a CodecError', (t) => {
  for (const msg of samples) {
    const bytes = encodeMessage(msg);
    for (let length = 0; length < bytes.byteLength; length++) {
      const error = t.throws(() => decodeMessage(bytes.subarray(0, length)), {
        instanceOf: CodecError,
      });
      t.is(error?.code, 'malformed_frame');
    }
  }
});

test('trailing bytes are a CodecError', (t) => {
  for (const msg of samples) {
    const bytes = encodeMessage(msg);
    const longer = new Uint8Array(bytes.byteLength + 1);
    longer.set(bytes);
    t.throws(() => decodeMessage(longer), { instanceOf: CodecError, message: /trailing/ });
  }
});

/** The encoding of `msg` with the float64 at `offset` replaced by `value`. */
function withNumberAt(msg: Message, offset: number, value: number): Uint8Array {
  const bytes = encodeMessage(msg);
  new DataView(bytes.buffer, bytes.byteOffset).setFloat64(offset, value, true);
  return bytes;
}

test('numbers that are not non-negative safe integers are refused', (t) => {
  // `term` sits after version, tag, from and to.
  const termOffset = 2 + 8 + 8;
  for (const value of [1.5, -1, NaN, Infinity, 2 ** 53]) {
    t.throws(() => decodeMessage(withNumberAt(everyVariant.timeoutNow, termOffset, value)), {
      instanceOf: CodecError,
      message: /term is not a non-negative safe integer/,
    });
  }
});

test('unknown versions, tags, booleans and entry types are refused', (t) => {
  const cases: [string, (bytes: Uint8Array) => void, RegExp][] = [
    ['version', (b) => (b[0] = CODEC_VERSION + 1), /unknown codec version/],
    ['tag', (b) => (b[1] = 200), /unknown message type tag/],
    ['boolean', (b) => (b[b.byteLength - 1] = 2), /not a boolean/],
  ];
  for (const [what, corrupt, message] of cases) {
    const bytes = encodeMessage(everyVariant.readIndexResp);
    corrupt(bytes);
    t.throws(() => decodeMessage(bytes), { instanceOf: CodecError, message }, what);
  }
  const app = encodeMessage({ ...everyVariant.app, entries: [entry(1, 1, 0)] });
  // The entry type byte follows the header, three numbers, the count, index and term.
  app[2 + 24 + 24 + 4 + 16] = 9;
  t.throws(() => decodeMessage(app), { instanceOf: CodecError, message: /entry type/ });
});

test('invalid UTF-8 in a string is refused', (t) => {
  const bytes = encodeMessage({ ...everyVariant.heartbeatResp, context: 'ab' });
  bytes[bytes.byteLength - 1] = 0xff;
  t.throws(() => decodeMessage(bytes), { instanceOf: CodecError, message: /UTF-8/ });
});

test('huge declared counts and lengths are refused without allocating them', (t) => {
  const app = encodeMessage({ ...everyVariant.app, entries: [] });
  new DataView(app.buffer, app.byteOffset).setUint32(app.byteLength - 4, 0xffff_ffff, true);
  t.throws(() => decodeMessage(app), { instanceOf: CodecError, message: /entries count/ });

  const heartbeat = encodeMessage({ ...everyVariant.heartbeatResp, context: '' });
  new DataView(heartbeat.buffer, heartbeat.byteOffset).setUint32(
    heartbeat.byteLength - 4,
    0xffff_ffff,
    true,
  );
  t.throws(() => decodeMessage(heartbeat), { instanceOf: CodecError, message: /truncated/ });
});

test('seeded fuzz: garbage and corrupted messages only ever raise CodecError', (t) => {
  const fuzz = seededRandom(20240601);
  const encoded = samples.map((msg) => encodeMessage(msg));
  let decodedCount = 0;
  for (let round = 0; round < 20_000; round++) {
    let input: Uint8Array;
    if (round % 2 === 0) {
      input = randomBytesFrom(fuzz, Math.floor(fuzz() * 120));
      // Give the decoder a chance to get past the first checks.
      if (input.byteLength > 1 && fuzz() < 0.8) {
        input[0] = CODEC_VERSION;
        input[1] = 1 + Math.floor(fuzz() * 12);
      }
    } else {
      input = encoded[Math.floor(fuzz() * encoded.length)]!.slice();
      const flips = 1 + Math.floor(fuzz() * 4);
      for (let i = 0; i < flips; i++) {
        input[Math.floor(fuzz() * input.byteLength)] = Math.floor(fuzz() * 256);
      }
    }
    try {
      const msg = decodeMessage(input);
      decodedCount++;
      // Whatever decodes is a well-formed message again.
      t.deepEqual(decodeMessage(encodeMessage(msg)), msg);
    } catch (error) {
      if (!(error instanceof CodecError)) {
        t.fail(`round ${round} threw ${String(error)}`);
        return;
      }
    }
  }
  t.log(`${decodedCount} of 20000 fuzzed inputs happened to decode`);
  t.true(decodedCount < 20_000, 'garbage is mostly refused, and nothing but CodecError escaped');
});

test('encoding refuses values the codec cannot represent', (t) => {
  const bad: Message[] = [
    { ...everyVariant.timeoutNow, term: -1 },
    { ...everyVariant.timeoutNow, term: 1.5 },
    { ...everyVariant.timeoutNow, from: 2 ** 53 },
    { ...everyVariant.app, entries: [{ ...entry(1, 1, 1), index: NaN }] },
    {
      ...everyVariant.app,
      entries: [{ ...entry(1, 1, 1), type: 'other' as Entry['type'] }],
    },
  ];
  for (const msg of bad) {
    t.throws(() => encodeMessage(msg), { instanceOf: UnencodableValueError });
  }
});
