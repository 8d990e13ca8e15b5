/**
 * Ids a service puts into store commands: fresh row ids, and the store request id that
 * makes a bus request idempotent end to end.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { MAX_ID_LENGTH } from '../store/protocol.js';
import type { CommandBody } from '../store/protocol.js';

// Lowercase letters and digits only: event ids are typed and pasted by people
// (`agenda event show <id>`), so no case to get wrong and no leading '-' to look like a flag.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
// The largest multiple of the alphabet's size that fits in a byte: bytes at or above it are
// dropped so that every character is equally likely.
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length);

/** Characters in a fresh id: 36^16 ≈ 2^82 possibilities, so collisions never happen in practice. */
export const FRESH_ID_LENGTH = 16;

/**
 * Random bytes drawn from the system 4 KiB at a time: an import asks for hundreds of ids at
 * once, and one call into the system's generator per id cost more than the rest of the id.
 */
const pool = Buffer.alloc(4096);
let poolUsed = pool.length;

function randomByte(): number {
  if (poolUsed === pool.length) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  return pool[poolUsed++] ?? 0;
}

/** A new random id, `[a-z0-9]{16}`: valid wherever the store takes an id. */
export function freshId(): string {
  let id = '';
  while (id.length < FRESH_ID_LENGTH) {
    const byte = randomByte();
    if (byte < UNBIASED_LIMIT) id += ALPHABET[byte % ALPHABET.length];
  }
  return id;
}

/**
 * How many fresh ids the store consumes applying `body` (server/store/commands.ts): one for
 * the event `event.create` makes, one for the event an occurrence changed on its own becomes
 * (`event.updateOccurrence`), one per draft of `event.import` and one per changed occurrence
 * it carries (refused drafts included, in order: a draft's id, then its occurrences', so that
 * which id goes where never depends on what was refused), as many for the one event of a
 * CalDAV `dav.put` (an import when the writer organizes it), none otherwise.
 */
export function freshIdCount(body: CommandBody): number {
  switch (body.type) {
    case 'event.create':
    case 'event.updateOccurrence':
      return 1;
    case 'event.import':
      return body.events.reduce((sum, e) => sum + 1 + (e.occurrences?.length ?? 0), 0);
    case 'dav.put':
      return 1 + (body.event.occurrences?.length ?? 0);
    default:
      return 0;
  }
}

/** The fresh ids a command needs, new each time (the store's idempotency ignores them). */
export function freshIdsFor(body: CommandBody): string[] {
  return Array.from({ length: freshIdCount(body) }, freshId);
}

const STORE_ID = /^[A-Za-z0-9_-]+$/;

/**
 * The store request id for a bus request id: the id itself when the store accepts it as
 * is, otherwise a digest of it (`h-` and 43 characters), so any id the bus carries maps to
 * one valid store id, always the same one.
 */
export function storeRequestId(requestId: string): string {
  if (requestId.length <= MAX_ID_LENGTH && STORE_ID.test(requestId)) return requestId;
  return `h-${createHash('sha256').update(requestId).digest('base64url')}`;
}
