/**
 * Length-prefixed frames over a byte stream (a TLS socket):
 * `[u32 payload length, little-endian][u8 protocol version][u8 frame kind]` then the payload.
 *
 * The length counts the payload only. A receiver learns from the header alone whether the
 * frame is acceptable, so an oversized frame is refused before any of it is buffered.
 */
import { Buffer } from 'node:buffer';
import type { Duplex } from 'node:stream';
import { errorMessage } from '../../base/log.js';
import { FrameError } from './errors.js';

export { FrameError } from './errors.js';

/** Bumped on any incompatible change to framing or to the protocols carried in frames. */
export const FRAME_PROTOCOL_VERSION = 1;
export const FRAME_HEADER_BYTES = 6;
/** Default bound on one frame's payload, on both the sending and the receiving side. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Every kind of frame, in one registry so that no two protocols reuse a number. Peer
 * connections carry `hello`, `raftMessage`, `ping`, `pong`; RPC connections the `rpc*` kinds.
 */
export const FrameKind = {
  hello: 1,
  raftMessage: 2,
  ping: 3,
  pong: 4,
  rpcRequest: 5,
  rpcResponse: 6,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** One complete frame. `payload` may share memory with the chunks it was decoded from. */
export interface Frame {
  readonly kind: number;
  readonly payload: Uint8Array;
}

/**
 * Allocates a frame with its header written and `payloadBytes` left for the caller to fill
 * from offset {@link FRAME_HEADER_BYTES}: header and payload in one allocation.
 */
export function allocateFrame(kind: FrameKind, payloadBytes: number): Uint8Array {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadBytes);
  frame.writeUInt32LE(payloadBytes, 0);
  frame[4] = FRAME_PROTOCOL_VERSION;
  frame[5] = kind;
  return frame;
}

/** A frame carrying a copy of `payload`. */
export function encodeFrame(kind: FrameKind, payload: Uint8Array): Uint8Array {
  const frame = allocateFrame(kind, payload.byteLength);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

export interface FrameDecoderOptions {
  /** Largest acceptable payload; {@link DEFAULT_MAX_FRAME_BYTES} by default. */
  readonly maxFrameBytes?: number;
}

/**
 * Turns a stream of arbitrary chunks into frames. Bytes are copied only when a frame spans
 * chunks; a frame inside one chunk is a view of it.
 *
 * After a {@link FrameError} the stream has lost its framing for good: the decoder keeps
 * throwing, and the connection must be closed.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** Header of the frame being assembled, once its six bytes have arrived. */
  #pending: { kind: number; payloadBytes: number } | null = null;
  #failure: FrameError | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes received but not yet returned as part of a frame. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Adds a chunk and returns the frames it completed, in order.
   *
   * @throws FrameError on a declared length above the limit or an unknown protocol version.
   */
  push(chunk: Uint8Array): Frame[] {
    if (this.#failure) {
      throw this.#failure;
    }
    const frames: Frame[] = [];
    if (chunk.byteLength === 0) {
      return frames;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    while (true) {
      if (this.#pending === null) {
        if (this.#buffered < FRAME_HEADER_BYTES) {
          break;
        }
        this.#pending = this.#readHeader();
      }
      const frameBytes = FRAME_HEADER_BYTES + this.#pending.payloadBytes;
      if (this.#buffered < frameBytes) {
        break;
      }
      const frame = this.#take(frameBytes);
      frames.push({ kind: this.#pending.kind, payload: frame.subarray(FRAME_HEADER_BYTES) });
      this.#pending = null;
    }
    return frames;
  }

  #readHeader(): { kind: number; payloadBytes: number } {
    const header = this.#front(FRAME_HEADER_BYTES);
    const payloadBytes =
      (header[0]! | (header[1]! << 8) | (header[2]! << 16)) + header[3]! * 0x1_00_00_00;
    const version = header[4]!;
    const kind = header[5]!;
    if (version !== FRAME_PROTOCOL_VERSION) {
      throw this.#fail(new FrameError(`unknown protocol version ${version}`));
    }
    if (payloadBytes > this.#maxFrameBytes) {
      throw this.#fail(
        new FrameError(
          `frame of ${payloadBytes} bytes exceeds the ${this.#maxFrameBytes} byte limit`,
        ),
      );
    }
    return { kind, payloadBytes };
  }

  #fail(error: FrameError): FrameError {
    this.#failure = error;
    this.#chunks.length = 0;
    this.#buffered = 0;
    return error;
  }

  /** The first `count` buffered bytes as one contiguous view, merging chunks if needed. */
  #front(count: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.byteLength >= count) {
      return first.subarray(0, count);
    }
    const merged = new Uint8Array(this.#buffered);
    let offset = 0;
    for (const chunk of this.#chunks) {
      merged.set(chunk, offset);
      offset += chunk.byteLength;
    }
    this.#chunks.length = 0;
    this.#chunks.push(merged);
    return merged.subarray(0, count);
  }

  /** Removes and returns the first `count` buffered bytes. */
  #take(count: number): Uint8Array {
    const bytes = this.#front(count);
    const first = this.#chunks[0]!;
    if (first.byteLength === count) {
      this.#chunks.shift();
    } else {
      this.#chunks[0] = first.subarray(count);
    }
    this.#buffered -= count;
    return bytes;
  }
}

/**
 * The server side of a framed connection: decodes what `socket` reads (frames of at most
 * `maxFrameBytes`) and hands each frame to `onFrame`, in order, while the socket is open. A
 * framing error goes to `refuse`, which must close the connection: the stream's framing is
 * lost for good.
 */
export function serveFrames(
  socket: Duplex,
  maxFrameBytes: number,
  refuse: (reason: string) => void,
  onFrame: (frame: Frame) => void,
): void {
  const decoder = new FrameDecoder({ maxFrameBytes });
  socket.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      refuse(errorMessage(error));
      return;
    }
    for (const frame of frames) {
      if (socket.destroyed) {
        return;
      }
      onFrame(frame);
    }
  });
}
