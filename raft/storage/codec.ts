/** Little-endian integer fields shared by the on-disk formats. */

const TWO_32 = 2 ** 32;

/** Writes a non-negative safe integer as 8 bytes (two u32 halves: no BigInt on the hot path). */
export function setU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % TWO_32, true);
  view.setUint32(offset + 4, Math.floor(value / TWO_32), true);
}

/** Reads what {@link setU64} wrote; `undefined` when the value is past 2^53 (so not ours). */
export function getU64(view: DataView, offset: number): number | undefined {
  const value = view.getUint32(offset + 4, true) * TWO_32 + view.getUint32(offset, true);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** A DataView over exactly the bytes of `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
