/**
 * What the wire layer needs from a logger. Owned here, so any structured logger (or a test's
 * recorder) fits; `fields` are plain data (peer ids, addresses, byte counts, error messages).
 */
export interface TransportLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything: for callers that really do not want transport logs. */
export const silentLogger: TransportLogger = {
  debug() {},
  info() {},
  warn() {},
};

/** The message of an unknown thrown value, for a log field. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
