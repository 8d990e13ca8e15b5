/**
 * The primitives every binary encoding in this folder is made of, all little-endian:
 * `u8`, `u32`, `uint` (a non-negative safe integer carried as a float64), booleans as one
 * byte, and length-prefixed (`u32`) byte strings and UTF-8 strings.
 *
 * Encoders compute the exact size first and write into one buffer, so the writer never
 * grows; the reader checks every length against what is left before it allocates anything.
 */
import { Buffer } from 'node:buffer';
import { CodecError, UnencodableValueError } from './errors.js';

export const U8_BYTES = 1;
export const U32_BYTES = 4;
export const UINT_BYTES = 8;
const U32_MAX = 0xffff_ffff;

const utf8Encoder = new TextEncoder();
// `fatal` turns invalid UTF-8 into an error instead of U+FFFD; `ignoreBOM` keeps a leading
// BOM in the string, so that decoding is the exact inverse of encoding.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes a string takes on the wire, length prefix included. */
export function stringSize(value: string): number {
  return U32_BYTES + Buffer.byteLength(value, 'utf8');
}

/** Bytes a byte string takes on the wire, length prefix included. */
export function bytesSize(value: Uint8Array): number {
  return U32_BYTES + value.byteLength;
}

/** Writes primitives into a buffer that was sized for them in advance. */
export class ByteWriter {
  readonly #target: Uint8Array;
  readonly #view: DataView;
  #pos: number;

  constructor(target: Uint8Array, offset = 0) {
    this.#target = target;
    this.#view = new DataView(target.buffer, target.byteOffset, target.byteLength);
    this.#pos = offset;
  }

  /** Where the next byte goes. */
  get position(): number {
    return this.#pos;
  }

  u8(value: number): void {
    this.#view.setUint8(this.#pos, value);
    this.#pos += U8_BYTES;
  }

  u32(value: number): void {
    if (!(value >= 0 && value <= U32_MAX && Number.isInteger(value))) {
      throw new UnencodableValueError(`${value} is not a u32`);
    }
    this.#view.setUint32(this.#pos, value, true);
    this.#pos += U32_BYTES;
  }

  /** A non-negative safe integer (indexes, terms, node ids, offsets). */
  uint(value: number): void {
    if (!(value >= 0 && Number.isSafeInteger(value))) {
      throw new UnencodableValueError(`${value} is not a non-negative safe integer`);
    }
    this.#view.setFloat64(this.#pos, value, true);
    this.#pos += UINT_BYTES;
  }

  bool(value: boolean): void {
    this.#view.setUint8(this.#pos, value ? 1 : 0);
    this.#pos += U8_BYTES;
  }

  bytes(value: Uint8Array): void {
    this.u32(value.byteLength);
    this.#target.set(value, this.#pos);
    this.#pos += value.byteLength;
  }

  string(value: string): void {
    const lengthAt = this.#pos;
    this.#pos += U32_BYTES;
    const { written } = utf8Encoder.encodeInto(value, this.#target.subarray(this.#pos));
    this.#view.setUint32(lengthAt, written, true);
    this.#pos += written;
  }
}

/**
 * Reads primitives from untrusted bytes. Every failure is a {@link CodecError} naming the
 * field (`what`), never a RangeError; nothing is allocated for a declared length or count
 * the remaining input cannot hold.
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #ownsInput: boolean;
  #pos = 0;

  /**
   * @param ownsInput true when `bytes` is a private copy nobody else will write to: byte
   *   strings are then returned as views into it rather than copied one by one.
   */
  constructor(bytes: Uint8Array, ownsInput = false) {
    // A plain view, so that `slice` copies even when the input is a Node Buffer.
    this.#bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#ownsInput = ownsInput;
  }

  get remaining(): number {
    return this.#bytes.byteLength - this.#pos;
  }

  #need(count: number, what: string): void {
    if (count > this.#bytes.byteLength - this.#pos) {
      throw new CodecError(`truncated ${what}`);
    }
  }

  u8(what: string): number {
    this.#need(U8_BYTES, what);
    const value = this.#view.getUint8(this.#pos);
    this.#pos += U8_BYTES;
    return value;
  }

  u32(what: string): number {
    this.#need(U32_BYTES, what);
    const value = this.#view.getUint32(this.#pos, true);
    this.#pos += U32_BYTES;
    return value;
  }

  uint(what: string): number {
    this.#need(UINT_BYTES, what);
    const value = this.#view.getFloat64(this.#pos, true);
    if (!(value >= 0 && Number.isSafeInteger(value))) {
      throw new CodecError(`${what} is not a non-negative safe integer`);
    }
    this.#pos += UINT_BYTES;
    // `+ 0` turns a -0 into 0, so a decoded value is always the canonical one.
    return value + 0;
  }

  bool(what: string): boolean {
    const value = this.u8(what);
    if (value > 1) {
      throw new CodecError(`${what} is not a boolean (${value})`);
    }
    return value === 1;
  }

  /** A byte string: a copy, or a view when the reader owns its input. */
  bytes(what: string): Uint8Array {
    const length = this.#length(what);
    const value = this.#ownsInput
      ? this.#bytes.subarray(this.#pos, this.#pos + length)
      : this.#bytes.slice(this.#pos, this.#pos + length);
    this.#pos += length;
    return value;
  }

  string(what: string): string {
    const length = this.#length(what);
    const start = this.#pos;
    this.#pos += length;
    try {
      return utf8Decoder.decode(this.#bytes.subarray(start, start + length));
    } catch (error) {
      throw new CodecError(`${what} is not valid UTF-8`, { cause: error });
    }
  }

  /** A `u32` length prefix that the remaining input can hold. */
  #length(what: string): number {
    if (U32_BYTES > this.remaining) {
      // The message is built only on failure: this is the hot path of every entry.
      throw new CodecError(`truncated ${what} length`);
    }
    const length = this.#view.getUint32(this.#pos, true);
    this.#pos += U32_BYTES;
    this.#need(length, what);
    return length;
  }

  /**
   * A `u32` item count, refused when the remaining input could not hold that many items of
   * at least `minItemBytes` each — the guard against a huge declared count.
   */
  count(what: string, minItemBytes: number): number {
    const count = this.u32(`${what} count`);
    if (count * minItemBytes > this.remaining) {
      throw new CodecError(`${what} count ${count} exceeds the remaining input`);
    }
    return count;
  }

  /** Asserts the input was consumed exactly. */
  end(what: string): void {
    if (this.remaining !== 0) {
      throw new CodecError(`${this.remaining} trailing bytes after ${what}`);
    }
  }
}
