/**
 * Authenticated datagrams, and the gossip wire format (version 1) built on them.
 *
 * A datagram is a 32-byte HMAC-SHA256 tag followed by a UTF-8 JSON envelope
 * `{ v, ts, nonce, body }`; the tag covers the envelope bytes exactly as sent, with the key the
 * senders share. A datagram is accepted only if the tag is right, the envelope and body
 * validate, `ts` is within the replay window of the receiver's clock and `nonce` was not seen
 * within that window. Anything else is refused with a reason, never thrown.
 *
 * {@link AuthenticatedDatagramCodec} is that envelope for any body a zod schema describes, so
 * every UDP protocol of the system (gossip, the VIP agents' heartbeats) authenticates the same
 * way, in one place; {@link GossipCodec} is it with the gossip messages as the body.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { GossipError } from './errors.js';
import type { GossipMessage } from './types.js';

/** The version this module writes and accepts. */
export const WIRE_VERSION = 1;

/** The highest incarnation accepted (see the update schema). */
export const MAX_INCARNATION = 2 ** 32;

/** Largest datagram written or accepted: comfortably under the UDP payload limit. */
export const MAX_DATAGRAM_BYTES = 60_000;

const TAG_BYTES = 32;

/** Why a datagram was refused; counted by the runtime. */
export type DropReason =
  'too_large' | 'too_short' | 'bad_mac' | 'malformed' | 'version' | 'stale' | 'replay';

/** Every {@link DropReason}, for counters that start at zero. */
export const DROP_REASONS: readonly DropReason[] = [
  'too_large',
  'too_short',
  'bad_mac',
  'malformed',
  'version',
  'stale',
  'replay',
];

/** The outcome of {@link AuthenticatedDatagramCodec.decode}. */
export type DatagramDecodeResult<T> =
  { readonly ok: true; readonly body: T } | { readonly ok: false; readonly reason: DropReason };

/** Why a codec cannot be built (`invalid_key`) or a body cannot be sent. */
export type DatagramProblem<T> =
  | { readonly code: 'invalid_key' }
  | { readonly code: 'message_too_large'; readonly bytes: number; readonly body: T };

/** Dependencies of a codec; the clock and nonce source are injectable for tests. */
export interface DatagramCodecOptions {
  /** The shared key; at least 16 bytes. */
  readonly key: Uint8Array | string;
  /** Accept datagrams stamped at most this far from the local clock. Default 30 s. */
  readonly replayWindowMs?: number;
  readonly clock?: () => number;
  /** 16 random bytes as 32 lowercase hex digits. */
  readonly nonce?: () => string;
}

/** How a protocol's codec names its bodies and raises its own errors. */
export interface DatagramProtocol<T> {
  /** Validates a decoded body; only bodies it accepts are returned. */
  readonly body: z.ZodType<T>;
  /** The protocol's own error for a key shorter than 16 bytes or a body too large to send. */
  readonly error: (problem: DatagramProblem<T>) => Error;
}

const envelopeSchema = z.object({
  v: z.number().int(),
  ts: z.number().int(),
  nonce: z.string().regex(/^[0-9a-f]{32}$/),
  body: z.unknown(),
});

/**
 * Encodes and authenticates one protocol's datagrams. One codec per receiver: it remembers
 * the nonces it accepted within the replay window, so a captured datagram cannot be played
 * back.
 */
export class AuthenticatedDatagramCodec<T> {
  private readonly key: Buffer;
  private readonly windowMs: number;
  private readonly clock: () => number;
  private readonly nonce: () => string;
  /** Accepted nonces and their timestamps, oldest first. */
  private readonly seen = new Map<string, number>();

  constructor(
    options: DatagramCodecOptions,
    private readonly protocol: DatagramProtocol<T>,
  ) {
    this.key = Buffer.from(options.key);
    if (this.key.length < 16) {
      throw protocol.error({ code: 'invalid_key' });
    }
    this.windowMs = options.replayWindowMs ?? 30_000;
    this.clock = options.clock ?? Date.now;
    this.nonce = options.nonce ?? (() => randomBytes(16).toString('hex'));
  }

  /** The datagram for `body`; throws `message_too_large` past {@link MAX_DATAGRAM_BYTES}. */
  encode(body: T): Buffer {
    const envelope = Buffer.from(
      JSON.stringify({ v: WIRE_VERSION, ts: Math.round(this.clock()), nonce: this.nonce(), body }),
      'utf8',
    );
    const datagram = Buffer.concat([this.tag(envelope), envelope]);
    if (datagram.length > MAX_DATAGRAM_BYTES) {
      throw this.protocol.error({ code: 'message_too_large', bytes: datagram.length, body });
    }
    return datagram;
  }

  /** The body in `datagram`, or why it was refused. Never throws. */
  decode(datagram: Uint8Array): DatagramDecodeResult<T> {
    if (datagram.length > MAX_DATAGRAM_BYTES) return refused('too_large');
    if (datagram.length <= TAG_BYTES) return refused('too_short');
    const bytes = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    const envelopeBytes = bytes.subarray(TAG_BYTES);
    // Authenticate before parsing, so unauthenticated input never reaches the parser.
    if (!timingSafeEqual(bytes.subarray(0, TAG_BYTES), this.tag(envelopeBytes))) {
      return refused('bad_mac');
    }
    let raw: unknown;
    try {
      raw = JSON.parse(envelopeBytes.toString('utf8'));
    } catch {
      return refused('malformed');
    }
    const envelope = envelopeSchema.safeParse(raw);
    if (!envelope.success) return refused('malformed');
    if (envelope.data.v !== WIRE_VERSION) return refused('version');
    const now = this.clock();
    this.forgetBefore(now - this.windowMs);
    if (Math.abs(now - envelope.data.ts) > this.windowMs) return refused('stale');
    if (this.seen.has(envelope.data.nonce)) return refused('replay');
    const body = this.protocol.body.safeParse(envelope.data.body);
    if (!body.success) return refused('malformed');
    this.seen.set(envelope.data.nonce, envelope.data.ts);
    return { ok: true, body: body.data };
  }

  private tag(bytes: Uint8Array): Buffer {
    return createHmac('sha256', this.key).update(bytes).digest();
  }

  private forgetBefore(oldest: number): void {
    for (const [nonce, ts] of this.seen) {
      if (ts < oldest) this.seen.delete(nonce);
    }
  }
}

function refused(reason: DropReason): { ok: false; reason: DropReason } {
  return { ok: false, reason };
}

/** The outcome of {@link GossipCodec.decode}. */
export type DecodeResult =
  | { readonly ok: true; readonly message: GossipMessage }
  | { readonly ok: false; readonly reason: DropReason };

const text = z.string().min(1).max(256);
const updateSchema = z.object({
  id: text,
  role: text,
  address: text,
  meta: z.record(z.string().max(256), z.string().max(1024)),
  // A member raises its incarnation by one per refutation: 2^32 of them is a lifetime many
  // times over. Far below 2^53, so an incarnation can always be raised and still be read.
  incarnation: z.number().int().nonnegative().max(MAX_INCARNATION),
  state: z.enum(['alive', 'suspect', 'dead', 'left']),
  // A cluster certificate is well under 2 KB; a P-256 signature is 64 bytes.
  proof: z.object({ cert: z.string().max(4096), sig: z.string().max(128) }).optional(),
});
const updates = z.array(updateSchema).max(1000);
const seq = z.number().int().nonnegative();
const messageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ping'), from: text, updates, seq, target: text }),
  z.object({ type: z.literal('ack'), from: text, updates, seq }),
  z.object({ type: z.literal('gossip'), from: text, updates }),
  z.object({
    type: z.literal('pingReq'),
    from: text,
    updates,
    seq,
    target: text,
    targetAddress: text,
  }),
  z.object({
    type: z.literal('sync'),
    from: text,
    updates,
    reply: z.boolean(),
    members: z.array(updateSchema).max(10_000),
  }),
]);

/** Dependencies of a gossip codec: see {@link DatagramCodecOptions}; `key` is the cluster key. */
export type GossipCodecOptions = DatagramCodecOptions;

/**
 * Encodes and authenticates gossip messages. One codec per member: it remembers the nonces
 * it accepted within the replay window, so a captured datagram cannot be played back.
 */
export class GossipCodec {
  private readonly codec: AuthenticatedDatagramCodec<GossipMessage>;

  constructor(options: GossipCodecOptions) {
    this.codec = new AuthenticatedDatagramCodec<GossipMessage>(options, {
      body: messageSchema,
      error: (problem) =>
        problem.code === 'invalid_key'
          ? new GossipError('invalid_config', 'gossip: the cluster key must be at least 16 bytes')
          : new GossipError(
              'message_too_large',
              `gossip: a ${problem.body.type} message of ${problem.bytes} bytes does not fit a datagram`,
            ),
    });
  }

  /** The datagram for `message`; throws `message_too_large` past {@link MAX_DATAGRAM_BYTES}. */
  encode(message: GossipMessage): Buffer {
    return this.codec.encode(message);
  }

  /** The message in `datagram`, or why it was refused. Never throws. */
  decode(datagram: Uint8Array): DecodeResult {
    const result = this.codec.decode(datagram);
    return result.ok ? { ok: true, message: result.body } : result;
  }
}
