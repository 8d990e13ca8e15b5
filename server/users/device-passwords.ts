/**
 * Devices' app passwords: what a CalDAV client (a phone, Thunderbird, khal) signs in with
 * instead of the account password, one per device, each revocable on its own.
 *
 * An app password is 160 random bits the server draws, written in base32 as eight groups of
 * four (`abcd-efgh-…`), shown once. The store keeps only its SHA-256. A fast, unsalted hash is
 * the right one here, unlike for account passwords (scrypt, ./passwords.ts): slow hashes and
 * salts defend human-chosen passwords against dictionary guessing, and there is no dictionary
 * for 160 random bits, so a stolen hash is as hard to invert as the password is to guess
 * (2^160 tries). A fast hash also lets every CalDAV sign-in be an index lookup, with no
 * scrypt queue for strangers to fill. Guessing online is still counted as failed logins
 * (server/gateway/abuse-limits.ts).
 */
import { createHash, randomBytes } from 'node:crypto';

/** Random bits in an app password. */
export const DEVICE_PASSWORD_BITS = 160;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const GROUP = 4;
/** What a typed app password may hold once its separators are dropped: base32, 32 letters. */
const NORMALIZED = /^[a-z2-7]{32}$/;

/** A fresh app password, grouped for reading aloud or typing: `abcd-efgh-…` (39 characters). */
export function newDevicePassword(): string {
  const bytes = randomBytes(DEVICE_PASSWORD_BITS / 8);
  let bits = 0;
  let value = 0;
  let letters = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      letters += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  const groups: string[] = [];
  for (let i = 0; i < letters.length; i += GROUP) groups.push(letters.slice(i, i + GROUP));
  return groups.join('-');
}

/**
 * The app password as the store keeps it: SHA-256 (lowercase hex) of its letters, without
 * the dashes or spaces a person may type and in lower case, so `ABCD EFGH …` opens as well.
 * Null for text that cannot be an app password (then no lookup is worth making).
 */
export function devicePasswordHash(password: string): string | null {
  const letters = password.replace(/[-\s]/g, '').toLowerCase();
  if (!NORMALIZED.test(letters)) return null;
  return createHash('sha256').update(letters, 'utf8').digest('hex');
}
