/**
 * The users service's token-signing key pair: ECDSA P-256 (ES256), PEM on disk. The
 * private key (PKCS #8) stays with the users services; the public key (SPKI) goes to the
 * gateways, which only verify. Private keys are written with mode 0600, via a temporary file
 * renamed into place, so a crash never leaves half a key.
 */
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8 } from 'jose';
import type { CryptoKey } from 'jose';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The one algorithm tokens are signed with. */
export const TOKEN_ALGORITHM = 'ES256';

export type SigningKeyErrorCode = 'unreadable_key' | 'exposed_key';

/** A key file that cannot be used; `code` says why. Raised at start-up, never per request. */
export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';

  constructor(
    readonly code: SigningKeyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A key pair in memory, with its PEM forms. */
export interface SigningKeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

/** Where {@link ensureSigningKeyFiles} keeps a key pair. */
export interface SigningKeyFiles {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
}

/** A new ES256 key pair (for tests, and for {@link ensureSigningKeyFiles}). */
export async function createSigningKeyPair(): Promise<SigningKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true });
  return {
    privateKey,
    publicKey,
    privateKeyPem: await exportPKCS8(privateKey),
    publicKeyPem: await exportSPKI(publicKey),
  };
}

async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, content, { mode, flag: 'wx' });
  await rename(temporary, file);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Where {@link ensureSigningKeyFiles} keeps the key pair `name` in `dir`. */
export function signingKeyFiles(dir: string, name = 'users-signing'): SigningKeyFiles {
  return {
    privateKeyPath: path.join(dir, `${name}-key.pem`),
    publicKeyPath: path.join(dir, `${name}.pem`),
  };
}

/**
 * The key pair `<dir>/<name>-key.pem` (private, 0600) and `<dir>/<name>.pem` (public),
 * created if the private key is missing and kept otherwise, so restarts keep issued tokens
 * valid. The public key is written first: a private key on disk means a complete pair.
 */
export async function ensureSigningKeyFiles(
  dir: string,
  name = 'users-signing',
): Promise<SigningKeyFiles> {
  const files = signingKeyFiles(dir, name);
  if (await exists(files.privateKeyPath)) return files;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pair = await createSigningKeyPair();
  await writeAtomically(files.publicKeyPath, pair.publicKeyPem, 0o644);
  await writeAtomically(files.privateKeyPath, pair.privateKeyPem, 0o600);
  return files;
}

async function readKeyFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new SigningKeyError('unreadable_key', `cannot read the key file ${file}`, {
      cause: error,
    });
  }
}

/**
 * The private signing key from a PKCS #8 PEM file. Refuses a file that others than its owner
 * may read (as ssh does): whoever reads it can sign in as anybody.
 * @throws SigningKeyError
 */
export async function loadSigningKey(file: string): Promise<CryptoKey> {
  const pem = await readKeyFile(file);
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0) {
    throw new SigningKeyError(
      'exposed_key',
      `the signing key ${file} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  try {
    return await importPKCS8(pem, TOKEN_ALGORITHM);
  } catch (error) {
    throw new SigningKeyError('unreadable_key', `${file} is not a PKCS #8 P-256 private key`, {
      cause: error,
    });
  }
}
