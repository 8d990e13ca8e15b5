/**
 * Colours for human output. They appear only on a terminal, never with `--json` and never
 * when `NO_COLOR` is set (https://no-color.org), so pipes and logs stay plain text.
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
  readonly strike: Paint;
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
      strike: plain,
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
    strike: sgr(9, 29),
  };
}

/** Whether colours belong on this output: a terminal, not `--json`, no `NO_COLOR`. */
export function coloursWanted(
  isTTY: boolean | undefined,
  json: boolean,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  return isTTY === true && !json && !noColor;
}
