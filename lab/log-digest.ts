/**
 * What the lab's processes complained about during a time window: the warnings and errors of
 * every log, in time order, one short line each. A failed chaos scenario prints this, so a
 * failure seen only in CI (where the logs are gone with the machine) still says where the
 * time went: which requests were slow and in which process, which DB member stopped
 * answering, who lost a lease.
 *
 * Gossip membership changes are left out: every fault produces dozens of them, and the
 * processes' own warnings say more.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LogDigestOptions {
  /** Keep lines logged at or after this instant (epoch ms)… */
  readonly fromMs: number;
  /** …and at or before this one. */
  readonly toMs: number;
  /** At most this many lines, the latest ones. Default 80. */
  readonly limit?: number;
}

/** Messages too frequent during any fault to be worth a digest line. */
const NOISE = new Set(['gossip membership changed']);
/** Longest digest line; the rest of a long message is cut. */
const MAX_LINE = 300;

/**
 * The warning and error lines of every `*.log` in `logDir` logged within the window, oldest
 * first, as `HH:MM:SS.mmm <process> <message> <fields>`; the last `limit` of them, preceded by
 * a line saying how many were left out. Lines that are not JSON log records are skipped.
 */
export function logDigest(logDir: string, options: LogDigestOptions): string[] {
  let files: string[];
  try {
    files = readdirSync(logDir).filter((name) => name.endsWith('.log'));
  } catch {
    return [];
  }
  const found: { at: number; line: string }[] = [];
  for (const file of files) {
    const source = file.slice(0, -'.log'.length);
    let text: string;
    try {
      text = readFileSync(join(logDir, file), 'utf8');
    } catch {
      continue;
    }
    for (const raw of text.split('\n')) {
      const record = parseRecord(raw);
      if (record === null) continue;
      const { t, level, msg, ...fields } = record;
      if (level !== 'warn' && level !== 'error') continue;
      if (typeof msg !== 'string' || NOISE.has(msg)) continue;
      const at = typeof t === 'string' ? Date.parse(t) : Number.NaN;
      if (!(at >= options.fromMs && at <= options.toMs)) continue;
      // Who logged it is the line's prefix already (a supervisor's or VIP agent's `id` too; a
      // service's `id` is a request id, kept).
      if (fields.process !== undefined) delete fields.id;
      for (const key of ['service', 'instance', 'member', 'process']) delete fields[key];
      const rest = Object.keys(fields).length === 0 ? '' : ` ${JSON.stringify(fields)}`;
      const line = `${new Date(at).toISOString().slice(11, 23)} ${source} ${msg}${rest}`;
      found.push({ at, line: line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 1)}…` : line });
    }
  }
  found.sort((a, b) => a.at - b.at);
  const limit = options.limit ?? 80;
  const kept = found.slice(-limit).map((entry) => entry.line);
  return found.length > limit
    ? [`(${found.length - limit} earlier lines left out)`, ...kept]
    : kept;
}

function parseRecord(raw: string): Record<string, unknown> | null {
  if (!raw.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
