/**
 * Config files as every daemon and tool here reads them: JSON, validated with zod, refused
 * with a message that names the file and every field at fault.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseHostPort } from './host-port.js';

/** A `host:port` field, as {@link parseHostPort} reads it. */
export const hostPort = z.string().refine((s) => parseHostPort(s) !== null, 'expected host:port');

/**
 * Reads a JSON config file and validates it with `schema`; throws an Error naming the file
 * and every field at fault.
 */
export function readJsonConfig<T>(path: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read config ${path}: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid config ${path}:\n  ${issues.join('\n  ')}`);
  }
  return parsed.data;
}
