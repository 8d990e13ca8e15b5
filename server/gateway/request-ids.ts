/**
 * The ids a request is known by: the one the client sees (`x-request-id`, its
 * `idempotency-key` when it gave one) and the one its ops travel under on the bus, which the
 * rest of the system applies once.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { InvalidInput } from '../../contract/errors.js';
import type { Op } from '../protocol/ops.js';

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The client's `idempotency-key`, if it sent one; throws `InvalidInput` for a key that is
 * not 1 to 64 letters, digits, `_` or `-`.
 */
export function requestIdOf(req: IncomingMessage): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new InvalidInput('the idempotency-key header has 1 to 64 letters, digits, "_" or "-"', {
      field: 'idempotency-key',
    });
  }
  return key;
}

/**
 * The id a request travels under, from the client's idempotency key: scoped to the user who
 * sent it, and for anonymous requests (register, login) to the request itself. Keys are the
 * clients' choice, so two users may pick the same one; under the bare key the second would
 * share the first's request on the bus and receive its reply — another user's data, or
 * their token. The same user retrying the same key still maps to the same id.
 */
export function scopedRequestId(actor: string | null, key: string, op: Op): string {
  const scope = actor === null ? `anonymous\n${JSON.stringify(op)}` : `user\n${actor}`;
  return createHash('sha256').update(`${scope}\n${key}`).digest('base64url');
}

/** A random request id; randomUUID draws from a pool, where randomBytes asks the OS each time. */
export function freshRequestId(): string {
  return randomUUID();
}
