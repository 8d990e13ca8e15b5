/**
 * Aligned plain-text tables. Widths are measured on the unpainted text, so colours never
 * break the alignment.
 */
import type { Paint } from './palette.js';

/** One cell: its text and, optionally, how to paint it once padded. */
export interface Cell {
  readonly text: string;
  readonly paint?: Paint;
}

export type CellInput = string | Cell;

function asCell(input: CellInput): Cell {
  return typeof input === 'string' ? { text: input } : input;
}

/** Characters as a person counts them (code points, not UTF-16 units). */
function width(text: string): number {
  return [...text].length;
}

/**
 * Renders rows under a header, columns separated by two spaces; lines carry no trailing
 * blanks (the last non-empty cell is not padded).
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly CellInput[])[],
  paintHeader: Paint = (text) => text,
): string {
  const cells = rows.map((row) => row.map(asCell));
  const widths = header.map((title, column) =>
    Math.max(width(title), ...cells.map((row) => width(row[column]?.text ?? ''))),
  );
  const line = (row: readonly Cell[]): string => {
    // Empty cells at the end would only leave trailing blanks.
    let kept = row.length;
    while (kept > 0 && (row[kept - 1]?.text ?? '') === '') kept -= 1;
    return row
      .slice(0, kept)
      .map((cell, column) => {
        const last = column === kept - 1;
        const padded = last
          ? cell.text
          : cell.text + ' '.repeat((widths[column] ?? 0) - width(cell.text));
        return cell.paint === undefined ? padded : cell.paint(padded);
      })
      .join('  ');
  };
  return [
    line(header.map((title) => ({ text: title, paint: paintHeader }))),
    ...cells.map(line),
  ].join('\n');
}
