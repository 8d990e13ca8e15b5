/**
 * The CLI's tables: the shared keyed-column layout (base/table.ts) as plain text, each cell
 * painted once padded. Widths are measured on the unpainted text, so colours never break the
 * alignment, and in display cells, so CJK and emoji titles do not either.
 */
import { COLUMN_GAP, layoutTable, tableWidth } from '../../base/table.js';
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
