/**
 * A progress bar on stderr for long work made of steps (`agenda import`): drawn only on a
 * terminal, redrawn in place, erased when done, so pipes and logs never see it.
 */
import type { OutputStream } from '../terminal.js';

/** Cells of the bar. */
const WIDTH = 24;

/** `1,234`: counts are shown the same whatever the machine's locale. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** One frame: `Importing ━━━━━━━━──────── 2,400/5,000 events`. */
export function progressLine(label: string, done: number, total: number, unit: string): string {
  const filled = total <= 0 ? WIDTH : Math.min(WIDTH, Math.floor((done / total) * WIDTH));
  const bar = '━'.repeat(filled) + '─'.repeat(WIDTH - filled);
  return `${label} ${bar} ${formatCount(done)}/${formatCount(total)} ${unit}`;
}

/** A bar that draws on `stream` only when it is a terminal. */
export class ProgressBar {
  private shown = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly label: string,
    private readonly unit: string,
  ) {}

  update(done: number, total: number): void {
    if (this.stream.isTTY !== true) return;
    this.shown = true;
    this.stream.write(`\r\u001b[K${progressLine(this.label, done, total, this.unit)}`);
  }

  /** Erases the bar (carriage return and "erase line"). Idempotent. */
  clear(): void {
    if (!this.shown) return;
    this.shown = false;
    this.stream.write('\r\u001b[K');
  }
}
