/**
 * A spinner on stderr for calls that turn out slow. It appears only after a delay (quick
 * calls stay silent) and only on a terminal, and erases itself when the call settles.
 */
import { DisplayWidthsNotLoaded, truncateToWidth } from '../../base/table.js';
import type { OutputStream } from '../terminal.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 80;
/** Below this a call feels instant; a spinner would only flicker. */
export const SPINNER_DELAY_MS = 300;

/**
 * Awaits `work`, showing `label` with a spinner on `stream` while it takes longer than the
 * delay. The line is cut to `width` (the terminal's, when known): one that wrapped would
 * leave its first lines behind when the spinner erases itself.
 */
export async function whileSlow<T>(
  stream: OutputStream,
  label: string,
  work: Promise<T>,
  delayMs: number = SPINNER_DELAY_MS,
  width?: number,
): Promise<T> {
  if (stream.isTTY !== true) return work;
  label = width === undefined ? label : fitted(label, width - 2);
  let frame = 0;
  let shown = false;
  let interval: NodeJS.Timeout | undefined;
  const draw = (): void => {
    shown = true;
    stream.write(`\r${FRAMES[frame % FRAMES.length] ?? ''} ${label}`);
    frame += 1;
  };
  const start = setTimeout(() => {
    draw();
    interval = setInterval(draw, FRAME_MS);
  }, delayMs);
  try {
    return await work;
  } finally {
    clearTimeout(start);
    if (interval !== undefined) clearInterval(interval);
    // Carriage return and "erase line": the spinner leaves nothing behind.
    if (shown) stream.write('\r\u001b[K');
  }
}

/** `label` cut to `cells`, as far as it can be measured (labels are our own words). */
function fitted(label: string, cells: number): string {
  try {
    return truncateToWidth(label, Math.max(1, cells));
  } catch (error) {
    if (error instanceof DisplayWidthsNotLoaded) return label;
    throw error;
  }
}
