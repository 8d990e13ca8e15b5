/**
 * The key the gateway checks session tokens with: the users service's PUBLIC ES256 key, as
 * it publishes it — an SPKI PEM file (server/users/keys.ts writes one) or a JWK. Generating
 * a pair for tests and the lab is the users service's `createSigningKeyPair` /
 * `ensureSigningKeyFiles`: the private half never comes near a gateway.
 */
import { readFile } from 'node:fs/promises';
import { importJWK, importSPKI } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { SigningKeyError, TOKEN_ALGORITHM } from './keys.js';

/**
 * Imports the public key from PEM (`-----BEGIN PUBLIC KEY-----`) or JWK (JSON) text. A
 * private key is refused even though its public half would do: a gateway holding it would
 * be one more place the signing key could leak from.
 *
 * @throws SigningKeyError `unreadable_key` saying what is wrong with the key,
 *   `exposed_key` for a private key.
 */
export async function importTokenPublicKey(text: string): Promise<CryptoKey> {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
    try {
      return await importSPKI(trimmed, TOKEN_ALGORITHM);
    } catch (error) {
      throw new SigningKeyError(
        'unreadable_key',
        `the public key is not an ${TOKEN_ALGORITHM} (P-256) key`,
        { cause: error },
      );
    }
  }
  if (/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(trimmed)) {
    throw new SigningKeyError('exposed_key', 'a gateway takes the public key, not the private one');
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(trimmed);
  } catch (error) {
    throw new SigningKeyError('unreadable_key', 'the key is neither a PEM public key nor a JWK', {
      cause: error,
    });
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new SigningKeyError('unreadable_key', 'the JWK is not a JSON object');
  }
  if ('d' in jwk) {
    throw new SigningKeyError('exposed_key', 'the JWK is a private key; give the public one');
  }
  let key: CryptoKey | Uint8Array;
  try {
    key = await importJWK(jwk as JWK, TOKEN_ALGORITHM);
  } catch (error) {
    throw new SigningKeyError(
      'unreadable_key',
      `the JWK is not an ${TOKEN_ALGORITHM} (P-256) public key`,
      { cause: error },
    );
  }
  if (key instanceof Uint8Array) {
    throw new SigningKeyError('unreadable_key', 'the JWK is a shared secret, not a public key');
  }
  return key;
}

/**
 * Reads and imports the public key file (PEM or JWK).
 * @throws SigningKeyError when the file cannot be read or holds no usable public key.
 */
export async function readTokenPublicKey(file: string): Promise<CryptoKey> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SigningKeyError('unreadable_key', `cannot read the token public key ${file}`, {
      cause: error,
    });
  }
  return importTokenPublicKey(text);
}
