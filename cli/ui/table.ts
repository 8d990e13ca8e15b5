/**
 * The CLI's tables: the shared keyed-column layout (base/table.ts) as plain text, each cell
 * painted once padded. Widths are measured on the unpainted text, so colours never break the
 * alignment, and in display cells, so CJK and emoji titles do not either.
 */
import { COLUMN_GAP, displayWidth, layoutTable, tableWidth } from '../../base/table.js';
import type { LaidOutCell, TableColumn } from '../../base/table.js';
import type { Paint } from './palette.js';

/** A column of a CLI table: its cells are painted with a {@link Paint}. */
export type Column<T> = TableColumn<T, Paint>;

export interface RenderTableOptions {
  /** How to paint the header line's cells; unpainted by default. */
  readonly paintHeader?: Paint;
  /**
   * The terminal's columns: free-text columns (`truncate`) are cut to fit them. Absent off a
   * terminal, where nothing is cut.
   */
  readonly width?: number;
  /**
   * Column keys the table may do without, to leave out first to last while it is wider than
   * `width` (see base/table.ts): a table of columns that may not be cut fits a narrow
   * terminal only without some of them.
   */
  readonly dropFirst?: readonly string[];
}

/**
 * `rows` under a header, columns two spaces apart; lines carry no trailing blanks (empty
 * cells at the end are left out and the last one is not padded).
 */
export function renderTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  { paintHeader, width, dropFirst }: RenderTableOptions = {},
): string {
  const layout = layoutTable(rows, columns, { width, dropFirst });
  const line = (cells: readonly LaidOutCell<Paint>[], paintAll?: Paint): string =>
    cells
      .map((cell) => {
        const paint = paintAll ?? cell.style;
        return paint === undefined ? cell.text : paint(cell.text);
      })
      .join(COLUMN_GAP);
  return [line(layout.header ?? [], paintHeader), ...layout.rows.map((row) => line(row))].join(
    '\n',
  );
}

/**
 * Whether {@link renderTable} of the same arguments fits `width`, the columns it may do
 * without left out and its free text cut: always, without a width. A table whose columns
 * that may not be cut are wider than the terminal does not, and is better shown otherwise.
 */
export function tableFits<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  { width, dropFirst }: RenderTableOptions = {},
): boolean {
  if (width === undefined) return true;
  return tableWidth(layoutTable(rows, columns, { width, dropFirst }).widths) <= width;
}

/**
 * The keys of the columns {@link renderTable} of the same arguments shows: those of
 * `dropFirst` it has to leave out to fit `width` are not among them.
 */
export function shownColumns<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  { width, dropFirst }: RenderTableOptions = {},
): string[] {
  return (layoutTable(rows, columns, { width, dropFirst }).header ?? []).map((cell) => cell.key);
}

/**
 * `columns` without those of `dropFirst`, first to last, that have to go for column `key`
 * (free text, cut to fit) to be at least `cells` wide, or as wide as its text when that is
 * less: the column people read gets the room before the ones that say less. A column of
 * `dropFirst` that does not get in its way stays; the table still leaves out more, in the
 * same order, where it does not fit `width` at all.
 */
export function roomFor<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  { width, dropFirst }: RenderTableOptions,
  key: string,
  cells: number,
): Column<T>[] {
  if (width === undefined) return [...columns];
  const column = columns.find((c) => c.key === key);
  if (column === undefined) return [...columns];
  const natural = Math.max(
    displayWidth(column.header),
    ...rows.map((row) => displayWidth(column.text(row))),
  );
  const wanted = Math.min(natural, cells);
  let kept = [...columns];
  const roomOf = (): number => {
    const layout = layoutTable(rows, kept, { width, dropFirst });
    const index = (layout.header ?? []).findIndex((cell) => cell.key === key);
    return index < 0 ? 0 : (layout.widths[index] ?? 0);
  };
  for (const drop of dropFirst ?? []) {
    if (roomOf() >= wanted) break;
    kept = kept.filter((c) => c.key !== drop);
  }
  return kept;
}
