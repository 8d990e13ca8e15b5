/** Shared fixtures for the storage tests (not imported by library code). */
import type { Entry, EntryType } from '../core/types.js';
import type { StorageLogger } from './logger.js';

/** A deterministic [0, 1) generator (mulberry32): the same seed gives the same run. */
export function seededRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

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
