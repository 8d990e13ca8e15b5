/**
 * The dashboard's table: the shared keyed-column layout (base/table.ts) drawn with Ink, so a
 * panel's columns measure as the CLI's do (display cells: CJK and emoji keep alignment) and,
 * on a narrow terminal, free-text columns are cut with an ellipsis instead of Ink wrapping
 * whole rows onto the next line.
 */
import { Box, Text, useStdout } from 'ink';
import { Fragment } from 'react';
import { COLUMN_GAP, layoutTable, loadDisplayWidths } from '../base/table.js';
import type { LaidOutCell, TableColumn } from '../base/table.js';

// Whatever draws the dashboard measures its panels from the first frame: the CLI's commands
// load this only as the dashboard, so loading string-width with the module costs them nothing.
await loadDisplayWidths();

export type Color = 'green' | 'red' | 'yellow' | 'cyan' | 'gray';

/** How a cell is drawn. Colour only adds emphasis: every state is also written as a word. */
export interface CellStyle {
  readonly color?: Color;
  readonly bold?: boolean;
  readonly dimColor?: boolean;
  readonly inverse?: boolean;
}

/** A column of a dashboard table, styled with {@link CellStyle}. */
export type Column<T> = TableColumn<T, CellStyle>;

export interface TableProps<T> {
  readonly rows: readonly T[];
  readonly columns: readonly Column<T>[];
  /** Whether a dim, bold first line names the columns; true by default. */
  readonly header?: boolean;
  /** The display cells the table may take; the terminal's width by default. */
  readonly width?: number;
  /**
   * Column keys to leave out, first to last, while the table is wider than `width` (columns
   * that may not be cut would otherwise make Ink wrap every row onto two lines).
   */
  readonly dropFirst?: readonly string[];
  /** The row drawn highlighted (the selection), if any. */
  readonly selected?: (row: T) => boolean;
}

const HEADING: CellStyle = { bold: true, dimColor: true };

/** One line of cells, {@link COLUMN_GAP} apart. */
function Line({
  cells,
  style,
  inverse,
}: {
  cells: readonly LaidOutCell<CellStyle>[];
  style?: CellStyle;
  inverse?: boolean;
}) {
  return (
    <Text wrap="truncate-end" inverse={inverse}>
      {cells.map((cell, index) => {
        const { color, bold, dimColor } = style ?? cell.style ?? {};
        return (
          <Fragment key={cell.key}>
            {index === 0 ? '' : COLUMN_GAP}
            <Text color={color} bold={bold} dimColor={dimColor} inverse={inverse}>
              {cell.text}
            </Text>
          </Fragment>
        );
      })}
    </Text>
  );
}

/** Rows under their columns' headers, fitted to the terminal's width. */
export function Table<T>({
  rows,
  columns,
  header = true,
  width,
  dropFirst = [],
  selected,
}: TableProps<T>) {
  const { stdout } = useStdout();
  const room = width ?? (Number.isFinite(stdout.columns) ? stdout.columns : undefined);
  const layout = layoutTable(rows, columns, { width: room, header, dropFirst });
  return (
    <Box flexDirection="column">
      {layout.header === null ? null : <Line cells={layout.header} style={HEADING} />}
      {layout.rows.map((cells, index) => {
        const row = rows[index];
        const on = selected !== undefined && row !== undefined && selected(row);
        return <Line key={index} cells={cells} inverse={on} />;
      })}
    </Box>
  );
}
