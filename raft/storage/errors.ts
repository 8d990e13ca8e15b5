/**
 * Errors raised by durable storage. Each has a literal `code` so callers (the runtime, the
 * node's entry point) branch on the kind, never on the message.
 */

/**
 * Stored data failed validation somewhere a torn write cannot explain (an older WAL segment,
 * the hard-state file, a log that does not line up with its snapshot). The node must refuse to
 * start rather than replay it: an operator has to look.
 */
export class StorageCorruptError extends Error {
  readonly code = 'STORAGE_CORRUPT';
  override readonly name = 'StorageCorruptError';

  constructor(
    message: string,
    /** The file holding the bad data. */
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`${message} (${path})`, options);
  }
}

/** The caller broke the storage contract (a gap in appended entries, compacting past the snapshot, use before `load` or after `close`). */
export class StorageRequestError extends Error {
  readonly code = 'STORAGE_BAD_REQUEST';
  override readonly name = 'StorageRequestError';
}
