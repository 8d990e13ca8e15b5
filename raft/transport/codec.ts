/**
 * The binary encoding of Raft messages between members.
 *
 * Layout: `[u8 CODEC_VERSION][u8 type tag][uint from][uint to][uint term]` then the fields
 * of the variant in declaration order (see `wire.ts` for the primitives). Entries are
 * `[uint index][uint term][u8 type][bytes data]` behind a `u32` count.
 *
 * Encoding sizes the message first and writes it into one allocation; decoding is strict:
 * any input that is not exactly one valid message throws {@link CodecError}.
 *
 * Byte fields of a decoded message (`Entry.data`, `SnapshotChunkMsg.chunk`) are views into
 * one private copy of the input that the decoder makes: they never alias the caller's
 * buffer (so a log keeping entries does not pin network buffers, and a reused input buffer
 * cannot change them), and one copy per message instead of one per entry keeps decoding
 * fast. Readers of these fields must honour `byteOffset`/`byteLength`.
 */
import { Buffer } from 'node:buffer';
import type {
  ConfState,
  Entry,
  EntryType,
  Message,
  MessageType,
  NodeId,
  SnapshotMeta,
} from '../core/types.js';
import { CodecError, UnencodableValueError } from './errors.js';
import {
  ByteReader,
  ByteWriter,
  U32_BYTES,
  U8_BYTES,
  UINT_BYTES,
  bytesSize,
  stringSize,
} from './wire.js';

export { CodecError } from './errors.js';

/** Bumped on any change to the layout; a decoder refuses other versions. */
export const CODEC_VERSION = 1;

const TYPE_TAGS = {
  app: 1,
  appResp: 2,
  vote: 3,
  voteResp: 4,
  heartbeat: 5,
  heartbeatResp: 6,
  snap: 7,
  snapResp: 8,
  timeoutNow: 9,
  readIndex: 10,
  readIndexResp: 11,
  propose: 12,
} as const satisfies Record<MessageType, number>;

const ENTRY_TYPE_TAGS = { normal: 0, conf: 1 } as const satisfies Record<EntryType, number>;

/** Version, tag, from, to, term. */
const COMMON_BYTES = 2 * U8_BYTES + 3 * UINT_BYTES;
/** Index, term, type and the data length prefix. */
const ENTRY_FIXED_BYTES = 2 * UINT_BYTES + U8_BYTES + U32_BYTES;

/** Exact number of bytes {@link encodeMessageInto} writes for `msg`. */
export function encodedMessageSize(msg: Message): number {
  switch (msg.type) {
    case 'app':
      return COMMON_BYTES + 3 * UINT_BYTES + entriesSize(msg.entries);
    case 'appResp':
      return COMMON_BYTES + 3 * UINT_BYTES + U8_BYTES;
    case 'vote':
      return COMMON_BYTES + 2 * UINT_BYTES + 2 * U8_BYTES;
    case 'voteResp':
      return COMMON_BYTES + 2 * U8_BYTES;
    case 'heartbeat':
      return COMMON_BYTES + UINT_BYTES + stringSize(msg.context);
    case 'heartbeatResp':
    case 'readIndex':
      return COMMON_BYTES + stringSize(msg.context);
    case 'snap':
      return COMMON_BYTES + metaSize(msg.meta) + 2 * UINT_BYTES + bytesSize(msg.chunk) + U8_BYTES;
    case 'snapResp':
      return COMMON_BYTES + 2 * UINT_BYTES + 2 * U8_BYTES;
    case 'timeoutNow':
      return COMMON_BYTES;
    case 'readIndexResp':
      return COMMON_BYTES + stringSize(msg.context) + UINT_BYTES + U8_BYTES;
    case 'propose':
      return COMMON_BYTES + entriesSize(msg.entries);
  }
}

/**
 * Writes `msg` into `target` at `offset`, which must have {@link encodedMessageSize} bytes
 * free, and returns the offset after it. Lets a caller put a frame header and the message
 * in one allocation.
 *
 * @throws UnencodableValueError when a number is not a non-negative safe integer.
 */
export function encodeMessageInto(msg: Message, target: Uint8Array, offset: number): number {
  const w = new ByteWriter(target, offset);
  w.u8(CODEC_VERSION);
  w.u8(TYPE_TAGS[msg.type]);
  w.uint(msg.from);
  w.uint(msg.to);
  w.uint(msg.term);
  switch (msg.type) {
    case 'app':
      w.uint(msg.prevIndex);
      w.uint(msg.prevTerm);
      w.uint(msg.commit);
      writeEntries(w, msg.entries);
      break;
    case 'appResp':
      w.uint(msg.index);
      w.bool(msg.reject);
      w.uint(msg.hintIndex);
      w.uint(msg.hintTerm);
      break;
    case 'vote':
      w.bool(msg.pre);
      w.uint(msg.lastIndex);
      w.uint(msg.lastTerm);
      w.bool(msg.transfer);
      break;
    case 'voteResp':
      w.bool(msg.pre);
      w.bool(msg.granted);
      break;
    case 'heartbeat':
      w.uint(msg.commit);
      w.string(msg.context);
      break;
    case 'heartbeatResp':
    case 'readIndex':
      w.string(msg.context);
      break;
    case 'snap':
      writeMeta(w, msg.meta);
      w.uint(msg.offset);
      w.uint(msg.total);
      w.bytes(msg.chunk);
      w.bool(msg.done);
      break;
    case 'snapResp':
      w.uint(msg.index);
      w.uint(msg.nextOffset);
      w.bool(msg.applied);
      w.bool(msg.reject);
      break;
    case 'timeoutNow':
      break;
    case 'readIndexResp':
      w.string(msg.context);
      w.uint(msg.index);
      w.bool(msg.reject);
      break;
    case 'propose':
      writeEntries(w, msg.entries);
      break;
  }
  return w.position;
}

/**
 * Encodes one message into a buffer of exactly its size.
 *
 * @throws UnencodableValueError when a number is not a non-negative safe integer.
 */
export function encodeMessage(msg: Message): Uint8Array {
  const size = encodedMessageSize(msg);
  // Uninitialised memory is safe here: every byte is written, which the check below proves.
  const target = Buffer.allocUnsafe(size);
  const end = encodeMessageInto(msg, target, 0);
  if (end !== size) {
    throw new Error(`codec size mismatch for ${msg.type}: sized ${size}, wrote ${end}`);
  }
  return target;
}

/**
 * Decodes exactly one message.
 *
 * @throws CodecError for anything else: other codec version, unknown tag, truncation,
 *   trailing bytes, numbers that are not non-negative safe integers, invalid UTF-8...
 */
export function decodeMessage(bytes: Uint8Array): Message {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const r = new ByteReader(copy, true);
  const version = r.u8('codec version');
  if (version !== CODEC_VERSION) {
    throw new CodecError(`unknown codec version ${version}`);
  }
  const tag = r.u8('message type');
  const from = r.uint('from');
  const to = r.uint('to');
  const term = r.uint('term');
  let msg: Message;
  switch (tag) {
    case TYPE_TAGS.app: {
      const prevIndex = r.uint('prevIndex');
      const prevTerm = r.uint('prevTerm');
      const commit = r.uint('commit');
      const entries = readEntries(r);
      msg = { type: 'app', from, to, term, prevIndex, prevTerm, entries, commit };
      break;
    }
    case TYPE_TAGS.appResp: {
      const index = r.uint('index');
      const reject = r.bool('reject');
      const hintIndex = r.uint('hintIndex');
      const hintTerm = r.uint('hintTerm');
      msg = { type: 'appResp', from, to, term, index, reject, hintIndex, hintTerm };
      break;
    }
    case TYPE_TAGS.vote: {
      const pre = r.bool('pre');
      const lastIndex = r.uint('lastIndex');
      const lastTerm = r.uint('lastTerm');
      const transfer = r.bool('transfer');
      msg = { type: 'vote', from, to, term, pre, lastIndex, lastTerm, transfer };
      break;
    }
    case TYPE_TAGS.voteResp: {
      const pre = r.bool('pre');
      const granted = r.bool('granted');
      msg = { type: 'voteResp', from, to, term, pre, granted };
      break;
    }
    case TYPE_TAGS.heartbeat: {
      const commit = r.uint('commit');
      const context = r.string('context');
      msg = { type: 'heartbeat', from, to, term, commit, context };
      break;
    }
    case TYPE_TAGS.heartbeatResp:
      msg = { type: 'heartbeatResp', from, to, term, context: r.string('context') };
      break;
    case TYPE_TAGS.snap: {
      const meta = readMeta(r);
      const offset = r.uint('offset');
      const total = r.uint('total');
      const chunk = r.bytes('chunk');
      const done = r.bool('done');
      msg = { type: 'snap', from, to, term, meta, offset, total, chunk, done };
      break;
    }
    case TYPE_TAGS.snapResp: {
      const index = r.uint('index');
      const nextOffset = r.uint('nextOffset');
      const applied = r.bool('applied');
      const reject = r.bool('reject');
      msg = { type: 'snapResp', from, to, term, index, nextOffset, applied, reject };
      break;
    }
    case TYPE_TAGS.timeoutNow:
      msg = { type: 'timeoutNow', from, to, term };
      break;
    case TYPE_TAGS.readIndex:
      msg = { type: 'readIndex', from, to, term, context: r.string('context') };
      break;
    case TYPE_TAGS.readIndexResp: {
      const context = r.string('context');
      const index = r.uint('index');
      const reject = r.bool('reject');
      msg = { type: 'readIndexResp', from, to, term, context, index, reject };
      break;
    }
    case TYPE_TAGS.propose:
      msg = { type: 'propose', from, to, term, entries: readEntries(r) };
      break;
    default:
      throw new CodecError(`unknown message type tag ${tag}`);
  }
  r.end(msg.type);
  return msg;
}

function entriesSize(entries: readonly Entry[]): number {
  let size = U32_BYTES;
  for (const entry of entries) {
    size += ENTRY_FIXED_BYTES + entry.data.byteLength;
  }
  return size;
}

function writeEntries(w: ByteWriter, entries: readonly Entry[]): void {
  w.u32(entries.length);
  for (const entry of entries) {
    w.uint(entry.index);
    w.uint(entry.term);
    w.u8(entryTypeTag(entry.type));
    w.bytes(entry.data);
  }
}

function entryTypeTag(type: EntryType): number {
  const tag = ENTRY_TYPE_TAGS[type] as number | undefined;
  if (tag === undefined) {
    throw new UnencodableValueError(`unknown entry type ${String(type)}`);
  }
  return tag;
}

function readEntries(r: ByteReader): Entry[] {
  const count = r.count('entries', ENTRY_FIXED_BYTES);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const index = r.uint('entry index');
    const term = r.uint('entry term');
    const typeTag = r.u8('entry type');
    let type: EntryType;
    if (typeTag === ENTRY_TYPE_TAGS.normal) {
      type = 'normal';
    } else if (typeTag === ENTRY_TYPE_TAGS.conf) {
      type = 'conf';
    } else {
      throw new CodecError(`unknown entry type tag ${typeTag}`);
    }
    entries.push({ index, term, type, data: r.bytes('entry data') });
  }
  return entries;
}

function metaSize(meta: SnapshotMeta): number {
  return 2 * UINT_BYTES + nodeListSize(meta.conf.voters) + nodeListSize(meta.conf.learners);
}

function nodeListSize(nodes: readonly NodeId[]): number {
  return U32_BYTES + nodes.length * UINT_BYTES;
}

function writeMeta(w: ByteWriter, meta: SnapshotMeta): void {
  w.uint(meta.index);
  w.uint(meta.term);
  writeNodeList(w, meta.conf.voters);
  writeNodeList(w, meta.conf.learners);
}

function writeNodeList(w: ByteWriter, nodes: readonly NodeId[]): void {
  w.u32(nodes.length);
  for (const node of nodes) {
    w.uint(node);
  }
}

function readMeta(r: ByteReader): SnapshotMeta {
  const index = r.uint('snapshot index');
  const term = r.uint('snapshot term');
  const voters = readNodeList(r, 'voters');
  const learners = readNodeList(r, 'learners');
  const conf: ConfState = { voters, learners };
  return { index, term, conf };
}

function readNodeList(r: ByteReader, what: string): NodeId[] {
  const count = r.count(what, UINT_BYTES);
  const nodes: NodeId[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(r.uint(what));
  }
  return nodes;
}
