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
 * How an anonymous request's op scopes its bus id, by op type (every type is decided here,
 * so a new one cannot slip through with its secrets in the digest):
 * - `'op'`: the op itself, less any secret field ({@link withoutSecrets}). Two anonymous
 *   clients who picked the same key for different requests must not share one; the op
 *   tells them apart.
 * - `'random'`: a fresh id each time, no idempotency. A login answers a session token: were
 *   its id derived without the password, a stranger sending the same username and key with
 *   any password would join the first request on the bus and receive its token; derived
 *   with the password, the id (logged, and sent to the store) would let whoever reads the
 *   logs brute-force the password at SHA-256 speed rather than scrypt's. A login changes
 *   nothing a retry could apply twice (a rehash of its stored hash is guarded by the old
 *   hash), so a fresh id loses nothing.
 *
 * - `'token'` (a refresh): the client's key together with the refresh token it presents.
 *   A renewal whose answer was lost (a service that stalled, then carried it out) is sent
 *   again by the client with the same key and token, and must meet the original rotation
 *   in the store's request log: under a fresh id it would be a second use of a spent token,
 *   which after its grace ends the session. Only the holder of that very refresh token can
 *   land on the id (a stranger with the same key and another token gets another id), and
 *   the token is a signature nobody guesses, so its digest in the logs gives nothing away.
 *
 * A register keeps `'op'`: a retry of it with the same key must answer the original
 * account, not "username taken". Its answer is the public account, and a stranger's
 * register with the same username and key but another password becomes another store
 * command under the same id (another hash), which the store refuses.
 */
const ANONYMOUS_SCOPE: { readonly [T in Op['type']]: 'op' | 'random' | 'token' } = {
  'account.register': 'op',
  'account.login': 'random',
  // Answers tokens too, and the op without its secret (the refresh token) is the same for
  // everyone: scoped by the token itself, so a retry with the same key gets the rotation
  // it made, however late (see above).
  'account.refresh': 'token',
  'account.me': 'op',
  command: 'op',
  query: 'op',
  'agenda.import': 'op',
  'dav.put': 'op',
  'feed.create': 'op',
  'feed.list': 'op',
  'feed.revoke': 'op',
  'device.create': 'op',
  'device.list': 'op',
  'device.revoke': 'op',
  // A CalDAV sign-in answers a device token, as a login answers a session's: a fresh id
  // each time, for the same reasons (and it changes nothing a retry could apply twice).
  'device.authenticate': 'random',
  // These act as a signed-in user, whose name scopes the id; never anonymous.
  'account.logout': 'op',
  'account.changePassword': 'op',
  'account.delete': 'op',
};

/** Field names that hold a secret wherever they appear in an op: never digested, never logged. */
const SECRET_FIELD = /password|secret|token/i;

/** `op` with every secret field (at any depth) left out, for deriving ids from. */
export function withoutSecrets(op: Op): unknown {
  return JSON.parse(
    JSON.stringify(op, (name, value: unknown) => (SECRET_FIELD.test(name) ? undefined : value)),
  );
}

/**
 * The id a request travels under, from the client's idempotency key: scoped to the user who
 * sent it, and for anonymous requests (register, login) to the request itself. Keys are the
 * clients' choice, so two users may pick the same one; under the bare key the second would
 * share the first's request on the bus and receive its reply — another user's data, or
 * their token. The same user retrying the same key still maps to the same id.
 *
 * Never derived from a secret a person chose: the id is logged (the gateway's and the
 * services' "slow request" lines) and becomes the store's request id, so anything guessable
 * hashed into it can be guessed offline by whoever reads those. See {@link ANONYMOUS_SCOPE}
 * for login and register, and for the refresh token (a signature, not guessable).
 */
export function scopedRequestId(actor: string | null, key: string, op: Op): string {
  const anonymous = actor === null ? ANONYMOUS_SCOPE[op.type] : undefined;
  if (anonymous === 'random') return freshRequestId();
  const scope =
    actor !== null
      ? `user\n${actor}`
      : anonymous === 'token' && op.type === 'account.refresh'
        ? `refresh\n${op.refreshToken}`
        : `anonymous\n${JSON.stringify(withoutSecrets(op))}`;
  return createHash('sha256').update(`${scope}\n${key}`).digest('base64url');
}

/** A random request id; randomUUID draws from a pool, where randomBytes asks the OS each time. */
export function freshRequestId(): string {
  return randomUUID();
}
