/**
 * Errors of the wire layer. Each has a literal `code` callers branch on; the message is for
 * people. Decoding errors share `malformed_frame`: whatever the exact reason, the only safe
 * reaction is to close the connection the bytes came from.
 */

/** Bytes that are not a valid encoding (truncated, trailing garbage, bad tag, bad number...). */
export class CodecError extends Error {
  readonly code = 'malformed_frame';

  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`malformed frame: ${reason}`, options);
    this.name = 'CodecError';
  }
}

/** A frame header that must not be read further: oversized, unknown version or kind. */
export class FrameError extends Error {
  readonly code = 'malformed_frame';

  constructor(readonly reason: string) {
    super(`malformed frame: ${reason}`);
    this.name = 'FrameError';
  }
}

/** A value the codec cannot represent, e.g. a negative or fractional number. A caller's bug. */
export class UnencodableValueError extends Error {
  readonly code = 'unencodable_value';

  constructor(readonly reason: string) {
    super(`cannot encode: ${reason}`);
    this.name = 'UnencodableValueError';
  }
}

/** The listener, transport or client was closed; it does not start again. */
export class TransportClosedError extends Error {
  readonly code = 'transport_closed';

  constructor(what: string) {
    super(`the ${what} is closed`);
    this.name = 'TransportClosedError';
  }
}

/**
 * The codes of the wire layer's own errors (the RPC layer's are below). {@link FrameError}
 * shares {@link CodecError}'s `malformed_frame`.
 */
export type TransportErrorCode =
  CodecError['code'] | UnencodableValueError['code'] | TransportClosedError['code'];

/** Codes an {@link RpcError} raised on the calling side can carry. */
export type LocalRpcErrorCode =
  /**
   * The connection could not be made (refused, unreachable, TLS handshake failed): the
   * request was never delivered, so retrying it anywhere is safe.
   */
  | 'unreachable'
  /** The connection closed with the call outstanding: it may or may not have run. */
  | 'unavailable'
  /** No response within the call's timeout; the call may or may not have run. */
  | 'timeout'
  /** The caller's AbortSignal fired; the call may or may not have run. */
  | 'aborted'
  /** The client was closed. */
  | 'closed'
  /** The request does not fit in one frame. */
  | 'frame_too_large';

/** Codes the server side of the RPC layer itself answers with (handlers add their own). */
export type ServerRpcErrorCode =
  | 'unknown_method'
  /** The handler failed without a `code`; details stay in the server's log. */
  | 'internal'
  /** Too many calls outstanding on one connection. */
  | 'overloaded';

/**
 * A failed RPC. `remote` tells whether the code came from the server (a handler's or the
 * RPC layer's) or was decided locally (see {@link LocalRpcErrorCode}).
 */
export class RpcError extends Error {
  constructor(
    readonly code: LocalRpcErrorCode | ServerRpcErrorCode | (string & {}),
    message: string,
    readonly remote: boolean,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RpcError';
  }
}
