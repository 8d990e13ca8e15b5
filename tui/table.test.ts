import test from 'ava';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { layoutLines, layoutTable } from '../base/table.js';
import { Table } from './table.js';
import type { Column } from './table.js';

interface Talk {
  id: string;
  title: string;
  room: number;
}

const TALKS: Talk[] = [
  { id: 't1', title: '分散合意の入門', room: 4 },
  { id: 't2', title: 'Raft 🚣 in practice', room: 12 },
];

const COLUMNS: Column<Talk>[] = [
  { key: 'id', header: 'id', text: (t) => t.id, style: () => ({ bold: true }) },
  { key: 'title', header: 'title', text: (t) => t.title, truncate: true },
  {
    key: 'room',
    header: 'room',
    text: (t) => String(t.room),
    align: 'right',
    style: (t) => (t.room > 10 ? { color: 'yellow' } : undefined),
  },
];

function frameOf(props: Parameters<typeof Table<Talk>>[0]): string {
  const app = render(createElement(Table<Talk>, props));
  const frame = app.lastFrame() ?? '';
  app.unmount();
  return frame;
}

test('the dashboard draws the same lines as the plain-text layout', (t) => {
  const frame = frameOf({ rows: TALKS, columns: COLUMNS });
  t.is(frame, layoutLines(layoutTable(TALKS, COLUMNS, { width: 100 })).join('\n'));
  t.deepEqual(frame.split('\n'), [
    'id  title                room',
    't1  分散合意の入門          4',
    't2  Raft 🚣 in practice    12',
  ]);
});

test('on a narrow terminal the free-text column is cut with an ellipsis, not wrapped', (t) => {
  const frame = frameOf({ rows: TALKS, columns: COLUMNS, width: 20 });
  t.deepEqual(frame.split('\n'), [
    'id  title       room',
    't1  分散合意…      4',
    't2  Raft 🚣 i…    12',
  ]);
});

test('without a header only the rows are drawn', (t) => {
  const frame = frameOf({ rows: TALKS.slice(0, 1), columns: COLUMNS, header: false });
  t.is(frame, 't1  分散合意の入門  4');
});
