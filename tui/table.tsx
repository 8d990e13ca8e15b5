/**
 * The dashboard's table: the shared keyed-column layout (base/table.ts) drawn with Ink, so a
 * panel's columns measure as the CLI's do (display cells: CJK and emoji keep alignment) and,
 * on a narrow terminal, free-text columns are cut with an ellipsis instead of Ink wrapping
 * whole rows onto the next line.
 */
import { Box, Text, useStdout } from 'ink';
import { Fragment } from 'react';
import { COLUMN_GAP, layoutTable } from '../base/table.js';
import type { LaidOutCell, TableColumn } from '../base/table.js';

export type Color = 'green' | 'red' | 'yellow' | 'cyan' | 'gray';

/** How a cell is drawn. Colour only adds emphasis: every state is also written as a word. */
export interface CellStyle {
  readonly color?: Color;
  readonly bold?: boolean;
  readonly dimColor?: boolean;
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
}

const HEADING: CellStyle = { bold: true, dimColor: true };

/** One line of cells, {@link COLUMN_GAP} apart. */
function Line({ cells, style }: { cells: readonly LaidOutCell<CellStyle>[]; style?: CellStyle }) {
  return (
    <Text>
      {cells.map((cell, index) => {
        const { color, bold, dimColor } = style ?? cell.style ?? {};
        return (
          <Fragment key={cell.key}>
            {index === 0 ? '' : COLUMN_GAP}
            <Text color={color} bold={bold} dimColor={dimColor}>
              {cell.text}
            </Text>
          </Fragment>
        );
      })}
    </Text>
  );
}

/** Rows under their columns' headers, fitted to the terminal's width. */
export function Table<T>({ rows, columns, header = true, width }: TableProps<T>) {
  const { stdout } = useStdout();
  const room = width ?? (Number.isFinite(stdout.columns) ? stdout.columns : undefined);
  const layout = layoutTable(rows, columns, { width: room, header });
  return (
    <Box flexDirection="column">
      {layout.header === null ? null : <Line cells={layout.header} style={HEADING} />}
      {layout.rows.map((cells, index) => (
        <Line key={index} cells={cells} />
      ))}
    </Box>
  );
}
