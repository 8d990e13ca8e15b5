/**
 * Helpers shared by this folder's tests (not part of the library): a seeded random source,
 * certificates from the lab CA, a logger that records, and waiting on a condition.
 */
import {
  createCertificateAuthority,
  issueCertificate,
  type CertificateAuthority,
} from '../../base/pki.js';
import type { Logger } from '../../base/log.js';
import type { MutualTlsMaterial } from '../../base/tls.js';
import { seededRandom } from '../../base/rng.js';

export { seededRandom };

/** `length` seeded random bytes. */
export function randomBytesFrom(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    bytes[i] = Math.floor(random() * 256);
  }
  return bytes;
}

/** A cluster CA and a way to issue mutual-TLS material for 127.0.0.1 from it. */
export interface TestPki {
  readonly ca: CertificateAuthority;
  readonly material: (name: string) => Promise<MutualTlsMaterial>;
}

export async function createTestPki(): Promise<TestPki> {
  const ca = await createCertificateAuthority();
  return {
    ca,
    material: async (name) => {
      const issued = await issueCertificate(ca, {
        name,
        ipAddresses: ['127.0.0.1'],
        usages: 'both',
        days: 1,
      });
      return { ca: ca.certPem, cert: issued.certPem, key: issued.keyPem };
    },
  };
}

export interface LogRecord {
  readonly level: 'debug' | 'info' | 'warn';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A logger that keeps what it is told, for assertions. */
export class RecordingLogger implements Logger {
  readonly records: LogRecord[] = [];

  debug(message: string, fields: Record<string, unknown> = {}): void {
    this.records.push({ level: 'debug', message, fields });
  }

  info(message: string, fields: Record<string, unknown> = {}): void {
    this.records.push({ level: 'info', message, fields });
  }

  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.records.push({ level: 'warn', message, fields });
  }

  has(level: LogRecord['level'], fragment: string): boolean {
    return this.records.some((r) => r.level === level && r.message.includes(fragment));
  }
}

/**
 * Resolves once `condition` holds, checking on every timer turn; rejects with `what` after
 * `deadlineMs`.
 */
export async function waitFor(
  what: string,
  condition: () => boolean,
  deadlineMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
