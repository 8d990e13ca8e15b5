/**
 * Logging as every part of Agenda does it: a {@link Logger} of three levels whose `fields` are
 * plain data (peer ids, addresses, byte counts, error messages), so any structured logger (or
 * a test's recorder) fits; one JSON object per line on stderr in the daemons
 * ({@link jsonLogger}); nothing at all where logs are not wanted ({@link silentLogger}).
 */

/** What a component needs from a logger. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything: for callers that really do not want logs. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
};

/** The message of an unknown thrown value, for a log field. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A logger writing one JSON object per line on stderr, tagged with `fields`. Debug lines are
 * written only when `AGENDA_DEBUG=1` is in the environment (they are many).
 */
export function jsonLogger(fields: Record<string, unknown>): Logger {
  const log =
    (level: string) =>
    (msg: string, extra: Record<string, unknown> = {}) =>
      process.stderr.write(
        JSON.stringify({ t: new Date().toISOString(), level, ...fields, msg, ...extra }) + '\n',
      );
  const debug = process.env.AGENDA_DEBUG === '1' ? log('debug') : () => {};
  return { debug, info: log('info'), warn: log('warn') };
}
