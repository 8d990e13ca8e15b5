/** Where storage reports what it repaired or skipped on the way up (torn tails, bad snapshots). */
export interface StorageLogger {
  warn(message: string, details: Readonly<Record<string, unknown>>): void;
}
