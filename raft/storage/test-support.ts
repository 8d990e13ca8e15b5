/** Shared fixtures for the storage tests (not imported by library code). */
import type { Entry, EntryType } from '../core/types.js';
import type { StorageLogger } from './logger.js';
export { seededRandom } from '../../base/rng.js';

/** An entry whose data spells out where it came from, so mix-ups show in assertion diffs. */
export function entry(index: number, term: number, type: EntryType = 'normal'): Entry {
  return { index, term, type, data: new TextEncoder().encode(`${term}:${index}`) };
}

/** Entries `from..to` in `term`. */
export function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) out.push(entry(index, term));
  return out;
}

/** A logger that keeps what it was told. */
export class RecordingLogger implements StorageLogger {
  readonly warnings: { message: string; details: Readonly<Record<string, unknown>> }[] = [];

  warn(message: string, details: Readonly<Record<string, unknown>>): void {
    this.warnings.push({ message, details });
  }
}
