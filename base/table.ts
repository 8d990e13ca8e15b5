/**
 * Tables with keyed columns, laid out as text: the one layout behind the CLI's plain tables
 * (`cli/ui/table.ts`) and the dashboard's panels (`tui/table.tsx`), so both measure and cut
 * alike. A row is any value; each column says how to read its cell from a row, never where
 * the cell sits in an array.
 *
 * Widths are display cells as `string-width` counts them — a CJK character or an emoji
 * takes two, a combining mark none — so such titles keep the columns after them aligned,
 * and a cell cut to fit ends in `…` without splitting a character. string-width is loaded
 * only for text that needs it ({@link measured}).
 */

/** What separates two columns. */
export const COLUMN_GAP = '  ';

export type TableAlign = 'left' | 'right';

/**
 * One column of a table of `T`s. `S` is whatever the renderer styles a cell with (a paint
 * function in the CLI, Ink text props in the dashboard); the layout only carries it along.
 */
export interface TableColumn<T, S = never> {
  /** Names the column: unique within its table (renderers key cells by it). */
  readonly key: string;
  readonly header: string;
  /** The cell's text for `row`: plain, without escape codes (style it with `style`). */
  readonly text: (row: T) => string;
  /** Left by default; a right-aligned column is padded on its left. */
  readonly align?: TableAlign;
  /** Never narrower than this: shorter cells are padded, and shrinking stops here. */
  readonly minWidth?: number;
  /** Never wider than this: longer cells (the header too) are cut with an ellipsis. */
  readonly maxWidth?: number;
  /**
   * Whether the column may be cut to fit a table into the width it is given: free text such
   * as titles and messages. Columns that may not (ids, times, numbers) keep their full text,
   * and a table of only those may be wider than its room.
   */
  readonly truncate?: boolean;
  /** How the renderer styles the cell of `row`; unstyled when absent or undefined. */
  readonly style?: (row: T) => S | undefined;
}

/** One cell as laid out: its text padded (or cut) to its column's width. */
export interface LaidOutCell<S> {
  /** The column's key. */
  readonly key: string;
  readonly text: string;
  readonly style: S | undefined;
}

/**
 * A table as lines of cells. Cells are joined by {@link COLUMN_GAP}; a line carries no
 * trailing blanks: empty cells at its end are left out and its last cell, when left-aligned,
 * is not padded.
 */
export interface TableLayout<S> {
  /** Each column's width, in display cells, in column order. */
  readonly widths: readonly number[];
  /** The header's cells, unstyled (each renderer has its own header style); none without one. */
  readonly header: readonly LaidOutCell<S>[] | null;
  readonly rows: readonly (readonly LaidOutCell<S>[])[];
}

export interface TableLayoutOptions {
  /**
   * The display cells the table may take (a terminal's columns); without it nothing is cut
   * to fit (output to a pipe keeps every character).
   */
  readonly width?: number;
  /** Whether the first line names the columns; true by default. */
  readonly header?: boolean;
  /**
   * Column keys to leave out, first to last, while the table is wider than `width`: the
   * columns a narrow terminal can do without (an id, a hint), so that the ones that may not
   * be cut do not push every line past the edge. The columns that stay keep their order.
   */
  readonly dropFirst?: readonly string[];
}

let measure: ((text: string) => number) | undefined;
let loading: Promise<void> | undefined;

/** Loads string-width, once: what {@link displayWidth} needs for text beyond {@link NARROW}. */
export function loadDisplayWidths(): Promise<void> {
  loading ??= import('string-width').then(({ default: stringWidth }) => {
    measure = stringWidth;
  });
  return loading;
}

/**
 * Text whose every character takes one cell, as string-width counts it (a test compares
 * every code point): printable ASCII, Latin-1's letters and signs, the general punctuation
 * (dashes, quotes, `…`, `•`), arrows and box drawing — what our own output is made of. No
 * two of them combine into one character, so such text takes as many cells as it has
 * characters, with nothing to load.
 */
const NARROW =
  /^[\x20-\x7e\u00a0-\u00ac\u00ae-\u00ff\u2010-\u2027\u2030-\u205e\u2190-\u21ff\u2500-\u257f]*$/;

/** {@link displayWidth} met text it cannot measure before {@link loadDisplayWidths}. */
export class DisplayWidthsNotLoaded extends Error {
  override readonly name = 'DisplayWidthsNotLoaded';
}

/**
 * The columns `text` takes on a terminal.
 * @throws DisplayWidthsNotLoaded for text beyond {@link NARROW} before
 * {@link loadDisplayWidths} resolved: lay out through {@link measured}, or await it first.
 */
export function displayWidth(text: string): number {
  if (NARROW.test(text)) return text.length;
  if (measure === undefined) {
    throw new DisplayWidthsNotLoaded('displayWidth before loadDisplayWidths()');
  }
  return measure(text);
}

/**
 * What `layout` returns, string-width loaded first if it needs it: run at once, and when it
 * meets text beyond {@link NARROW} (a CJK title, an emoji), run again once string-width has
 * loaded. `layout` must be a pure function of its inputs (run twice, it returns the same).
 * Output made of our own characters and Latin text then never loads string-width, about
 * 60 ms of a command's start-up (its Unicode tables and expressions).
 */
export async function measured<T>(layout: () => T): Promise<T> {
  if (measure === undefined) {
    try {
      return layout();
    } catch (error) {
      if (!(error instanceof DisplayWidthsNotLoaded)) throw error;
    }
    await loadDisplayWidths();
  }
  return layout();
}

const ELLIPSIS = '…';
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * `text` cut to at most `width` display cells, ending in `…` when anything was cut. Whole
 * characters (grapheme clusters) only: a wide character that would straddle the edge is
 * left out, so the result may be one cell narrower than `width`.
 */
export function truncateToWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 0) return '';
  const room = width - displayWidth(ELLIPSIS);
  let kept = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const cells = displayWidth(segment);
    if (used + cells > room) break;
    kept += segment;
    used += cells;
  }
  return kept + ELLIPSIS;
}

/** `text` padded with spaces to `width` display cells, on the right or, aligned right, left. */
export function padToWidth(text: string, width: number, align: TableAlign = 'left'): string {
  const blanks = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? blanks + text : text + blanks;
}

/**
 * Column widths that fit `room`, shrinking only the columns that may be cut: each is capped
 * at one common limit, the largest that fits (so the widest free-text column gives first),
 * but never below its floor; the cells left over go, one each, to the columns the next
 * limit would have widened.
 */
function fitWidths(
  natural: readonly number[],
  floors: readonly number[],
  shrinkable: readonly boolean[],
  room: number,
): number[] {
  const widthsAt = (limit: number): number[] =>
    natural.map((width, i) =>
      shrinkable[i] ? Math.max(floors[i] ?? 0, Math.min(width, limit)) : width,
    );
  const total = (widths: readonly number[]): number => widths.reduce((sum, w) => sum + w, 0);
  if (total(natural) <= room) return [...natural];
  let low = 0;
  let high = Math.max(0, ...natural);
  if (total(widthsAt(low)) > room) return widthsAt(low);
  // The largest limit that fits: total(widthsAt(low)) <= room < total(widthsAt(high)).
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (total(widthsAt(middle)) <= room) low = middle;
    else high = middle;
  }
  const widths = widthsAt(low);
  let spare = room - total(widths);
  const next = widthsAt(low + 1);
  for (let i = 0; i < widths.length && spare > 0; i++) {
    if ((next[i] ?? 0) > (widths[i] ?? 0)) {
      widths[i] = (widths[i] ?? 0) + 1;
      spare -= 1;
    }
  }
  return widths;
}

/**
 * Lays `rows` out under `columns`: each column as wide as its widest cell or header (within
 * its `minWidth`/`maxWidth`), then, when `options.width` is given and the table is wider,
 * the columns marked `truncate` shrink — never below their `minWidth`, by default their
 * header's width — and their cells are cut with an ellipsis. Pure: the same arguments give
 * the same lines.
 */
/**
 * `text` fit to be written to a terminal: each C0 or C1 control character and DEL (an
 * escape sequence's start, a bell, a carriage return, a line break) shown as its `\u` code.
 * Text from the service or a file is written so, never raw: a title or a file's UID holding
 * `ESC ] 0 ; … BEL` would retitle the reader's terminal, `ESC [ 2 J` clear it, a line break
 * print a line that looks like the program's own.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** {@link printable} line by line: a message's own line breaks stay. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

export function layoutTable<T, S>(
  rows: readonly T[],
  columns: readonly TableColumn<T, S>[],
  options: TableLayoutOptions = {},
): TableLayout<S> {
  let kept = columns;
  let layout = layoutColumns(rows, kept, options);
  for (const key of options.dropFirst ?? []) {
    if (options.width === undefined || tableWidth(layout.widths) <= options.width) break;
    kept = kept.filter((column) => column.key !== key);
    layout = layoutColumns(rows, kept, options);
  }
  return layout;
}

/** A table's width in display cells, as laid out in `widths`. */
export function tableWidth(widths: readonly number[]): number {
  return widths.reduce((sum, w) => sum + w, 0) + COLUMN_GAP.length * (widths.length - 1);
}

/** {@link layoutTable} with every column kept. */
function layoutColumns<T, S>(
  rows: readonly T[],
  columns: readonly TableColumn<T, S>[],
  options: TableLayoutOptions,
): TableLayout<S> {
  const withHeader = options.header ?? true;
  const texts = rows.map((row) => columns.map((column) => printable(column.text(row))));
  const natural = columns.map((column, i) => {
    const widest = Math.max(
      withHeader ? displayWidth(column.header) : 0,
      column.minWidth ?? 0,
      ...texts.map((cells) => displayWidth(cells[i] ?? '')),
    );
    return column.maxWidth === undefined ? widest : Math.min(widest, column.maxWidth);
  });
  const floors = columns.map((column, i) =>
    Math.min(
      natural[i] ?? 0,
      column.minWidth ?? (withHeader ? Math.max(1, displayWidth(column.header)) : 1),
    ),
  );
  const room =
    options.width === undefined || !Number.isFinite(options.width)
      ? Number.POSITIVE_INFINITY
      : Math.max(0, Math.floor(options.width) - COLUMN_GAP.length * (columns.length - 1));
  const widths = fitWidths(
    natural,
    floors,
    columns.map((column) => column.truncate === true),
    room,
  );

  const line = (cells: readonly string[], styles: readonly (S | undefined)[]) => {
    // Empty cells at the end would only leave trailing blanks.
    let kept = cells.length;
    while (kept > 0 && (cells[kept - 1] ?? '') === '') kept -= 1;
    return columns.slice(0, kept).map((column, i): LaidOutCell<S> => {
      const width = widths[i] ?? 0;
      const text = truncateToWidth(cells[i] ?? '', width);
      const align = column.align ?? 'left';
      const last = i === kept - 1;
      return {
        key: column.key,
        text: last && align === 'left' ? text : padToWidth(text, width, align),
        style: styles[i],
      };
    });
  };
  return {
    widths,
    header: withHeader
      ? line(
          columns.map((column) => column.header),
          [],
        )
      : null,
    rows: rows.map((row, r) =>
      line(
        texts[r] ?? [],
        columns.map((column) => column.style?.(row)),
      ),
    ),
  };
}

/** The layout's lines as plain text, header first. */
export function layoutLines<S>(layout: TableLayout<S>): string[] {
  const join = (cells: readonly LaidOutCell<S>[]): string =>
    cells.map((cell) => cell.text).join(COLUMN_GAP);
  return [...(layout.header === null ? [] : [join(layout.header)]), ...layout.rows.map(join)];
}
