/**
 * Errors raised by durable storage. Each has a literal `code` so callers (the runtime, the
 * node's entry point) branch on the kind, never on the message. The codes are lower
 * snake_case like every code of raft/ (see raft/error-codes.ts).
 */

/**
 * Stored data failed validation somewhere a torn write cannot explain (an older WAL segment,
 * the hard-state file, a log that does not line up with its snapshot). The node must refuse to
 * start rather than replay it: an operator has to look.
 */
export class StorageCorruptError extends Error {
  readonly code = 'storage_corrupt';
  // Widened so that subclasses (WalCorruptError) can name themselves.
  override readonly name: string = 'StorageCorruptError';

  constructor(
    message: string,
    /** The file holding the bad data. */
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`${message} (${path})`, options);
  }
}

/**
 * A write-ahead log segment holds a record that fails its checksum or framing where a torn
 * write cannot explain it: in a sealed segment, or in the last segment with a valid record
 * after it. Replaying around it would silently drop or reorder acknowledged entries, so the
 * member refuses to start. `offset` is the byte in `path` where the first bad record begins.
 */
export class WalCorruptError extends StorageCorruptError {
  override readonly name = 'WalCorruptError';

  constructor(
    message: string,
    path: string,
    /** Byte offset of the bad record in the segment file. */
    readonly offset: number,
    options?: { cause?: unknown },
  ) {
    super(`${message} at byte ${offset}`, path, options);
  }
}

/** The caller broke the storage contract (a gap in appended entries, compacting past the snapshot, use before `load` or after `close`). */
export class StorageRequestError extends Error {
  readonly code = 'storage_bad_request';
  override readonly name = 'StorageRequestError';
}

/** The codes of storage's errors. */
export type StorageErrorCode = StorageCorruptError['code'] | StorageRequestError['code'];
