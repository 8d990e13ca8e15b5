/**
 * Colours for human output. They appear only on a terminal, never with `--json` and never
 * when `NO_COLOR` is set (https://no-color.org), so pipes and logs stay plain text;
 * `FORCE_COLOR` (anything but `0` or `false`) asks for them off a terminal too (`| less -R`),
 * and, as in Node itself, wins over `NO_COLOR`.
 */

/** Wraps text in one style; the identity when colours are off. */
export type Paint = (text: string) => string;

export interface Palette {
  readonly enabled: boolean;
  readonly bold: Paint;
  readonly dim: Paint;
  readonly red: Paint;
  readonly yellow: Paint;
  readonly green: Paint;
  readonly cyan: Paint;
  readonly magenta: Paint;
  readonly blue: Paint;
  readonly strike: Paint;
  /** Swaps foreground and background: what marks today in the calendar views. */
  readonly inverse: Paint;
}

function sgr(open: number, close: number): Paint {
  return (text) => `\u001b[${open}m${text}\u001b[${close}m`;
}

const plain: Paint = (text) => text;

/** A palette that paints only when `enabled`. */
export function createPalette(enabled: boolean): Palette {
  if (!enabled) {
    return {
      enabled,
      bold: plain,
      dim: plain,
      red: plain,
      yellow: plain,
      green: plain,
      cyan: plain,
      magenta: plain,
      blue: plain,
      strike: plain,
      inverse: plain,
    };
  }
  return {
    enabled,
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    red: sgr(31, 39),
    yellow: sgr(33, 39),
    green: sgr(32, 39),
    cyan: sgr(36, 39),
    magenta: sgr(35, 39),
    blue: sgr(34, 39),
    strike: sgr(9, 29),
    inverse: sgr(7, 27),
  };
}

/**
 * Whether colours belong on this output: never with `--json`; with `FORCE_COLOR` (but `0` or
 * `false`) always; else on a terminal without `NO_COLOR`.
 */
export function coloursWanted(
  isTTY: boolean | undefined,
  json: boolean,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  if (json) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force.toLowerCase() === 'false') return false;
    return true;
  }
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  return isTTY === true && !noColor;
}
