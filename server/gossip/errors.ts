/** Codes of the errors the gossip module raises. */
export type GossipErrorCode = 'invalid_config' | 'listen_failed' | 'message_too_large' | 'closed';

/** Base of the gossip module's errors: callers branch on `code`, never on the message. */
export class GossipError extends Error {
  constructor(
    readonly code: GossipErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GossipError';
  }
}
