import test from 'ava';
import {
  displayWidth,
  layoutLines,
  layoutTable,
  loadDisplayWidths,
  padToWidth,
  printable,
  printableLines,
  truncateToWidth,
} from './table.js';
import type { TableColumn } from './table.js';

// What measures text beyond ASCII loads on demand (base/table.ts); a command awaits it.
test.before(() => loadDisplayWidths());

interface Meeting {
  id: string;
  title: string;
  attendees: number;
}

const MEETINGS: Meeting[] = [
  { id: 'ev-1', title: 'Standup', attendees: 5 },
  { id: 'ev-22', title: 'Quarterly planning', attendees: 12 },
];

const COLUMNS: TableColumn<Meeting, string>[] = [
  { key: 'id', header: 'ID', text: (m) => m.id },
  { key: 'title', header: 'TITLE', text: (m) => m.title, truncate: true },
  { key: 'attendees', header: 'PEOPLE', text: (m) => String(m.attendees), align: 'right' },
];

test('cells are read from each row by their column, whatever order the columns come in', (t) => {
  const reordered = [COLUMNS[2], COLUMNS[0]].filter((c) => c !== undefined);
  t.deepEqual(layoutLines(layoutTable(MEETINGS, reordered)), [
    'PEOPLE  ID',
    '     5  ev-1',
    '    12  ev-22',
  ]);
});

test('columns are as wide as their widest cell or header, two spaces apart, no trailing blanks', (t) => {
  t.deepEqual(layoutLines(layoutTable(MEETINGS, COLUMNS)), [
    'ID     TITLE               PEOPLE',
    'ev-1   Standup                  5',
    'ev-22  Quarterly planning      12',
  ]);
});

test('empty cells at the end of a line are left out, not padded', (t) => {
  const rows = [
    { id: 'a', note: '' },
    { id: 'bb', note: 'x' },
  ];
  const lines = layoutLines(
    layoutTable(rows, [
      { key: 'id', header: 'ID', text: (r) => r.id },
      { key: 'note', header: 'NOTE', text: (r) => r.note },
    ]),
  );
  t.deepEqual(lines, ['ID  NOTE', 'a', 'bb  x']);
});

test('each cell carries its column key and its row style', (t) => {
  const layout = layoutTable(MEETINGS, [
    { key: 'id', header: 'ID', text: (m: Meeting) => m.id, style: (m) => `style of ${m.id}` },
    { key: 'title', header: 'TITLE', text: (m: Meeting) => m.title },
  ]);
  t.deepEqual(
    layout.rows[1]?.map((cell) => [cell.key, cell.style]),
    [
      ['id', 'style of ev-22'],
      ['title', undefined],
    ],
  );
  t.deepEqual(
    layout.header?.map((cell) => cell.style),
    [undefined, undefined],
  );
});

test('CJK and emoji count as two cells, so the columns after them stay aligned', (t) => {
  const rows: Meeting[] = [
    { id: 'ev-1', title: '会議', attendees: 3 },
    { id: 'ev-2', title: '🎉 party', attendees: 40 },
    { id: 'ev-3', title: 'café', attendees: 2 },
  ];
  t.is(displayWidth('会議'), 4);
  t.is(displayWidth('🎉'), 2);
  t.is(displayWidth('cafe\u0301'), 4, 'a combining accent takes no cell');
  const lines = layoutLines(layoutTable(rows, COLUMNS));
  t.deepEqual(lines, [
    'ID    TITLE     PEOPLE',
    'ev-1  会議           3',
    'ev-2  🎉 party      40',
    'ev-3  café           2',
  ]);
  t.deepEqual(
    lines.map((line) => displayWidth(line)),
    [22, 22, 22, 22],
  );
});

test('a cut cell ends in an ellipsis and never splits a wide character', (t) => {
  t.is(truncateToWidth('Quarterly planning', 8), 'Quarter…');
  t.is(truncateToWidth('short', 8), 'short');
  t.is(
    truncateToWidth('会議室の予約', 6),
    '会議…',
    'a wide character astride the edge is left out',
  );
  t.is(displayWidth(truncateToWidth('会議室の予約', 6)), 5);
  t.is(truncateToWidth('👩‍👩‍👧 family', 3), '👩‍👩‍👧…', 'a family emoji is one character');
  t.is(truncateToWidth('anything', 1), '…');
  t.is(truncateToWidth('anything', 0), '');
  t.is(padToWidth('会議', 6), '会議  ');
  t.is(padToWidth('12', 4, 'right'), '  12');
});

test('maxWidth caps a column with an ellipsis; minWidth pads it', (t) => {
  const lines = layoutLines(
    layoutTable(MEETINGS, [
      { key: 'id', header: 'ID', text: (m: Meeting) => m.id, minWidth: 8 },
      { key: 'title', header: 'TITLE', text: (m: Meeting) => m.title, maxWidth: 10 },
    ]),
  );
  t.deepEqual(lines, ['ID        TITLE', 'ev-1      Standup', 'ev-22     Quarterly…']);
});

test('a narrow terminal cuts only the columns that may be cut, to fit its width', (t) => {
  const layout = layoutTable(MEETINGS, COLUMNS, { width: 24 });
  const lines = layoutLines(layout);
  t.deepEqual(lines, [
    'ID     TITLE      PEOPLE',
    'ev-1   Standup         5',
    'ev-22  Quarterl…      12',
  ]);
  t.true(lines.every((line) => displayWidth(line) <= 24));
  t.true(
    lines.some((line) => line.includes('ev-22')),
    'ids are never cut',
  );
});

test('the widest free-text column gives way first, none below its header', (t) => {
  const rows = [{ a: 'x'.repeat(30), b: 'y'.repeat(12), id: 'id-1' }];
  const columns: TableColumn<(typeof rows)[number]>[] = [
    { key: 'a', header: 'AAAA', text: (r) => r.a, truncate: true },
    { key: 'b', header: 'BBBB', text: (r) => r.b, truncate: true },
    { key: 'id', header: 'ID', text: (r) => r.id },
  ];
  t.deepEqual(layoutTable(rows, columns, { width: 40 }).widths, [20, 12, 4]);
  t.deepEqual(layoutTable(rows, columns, { width: 30 }).widths, [11, 11, 4]);
  // Narrower than the floors: the free-text columns stop at their headers' width, the id is
  // whole, and the line is wider than the terminal rather than losing what may not be cut.
  t.deepEqual(layoutTable(rows, columns, { width: 5 }).widths, [4, 4, 4]);
  t.is(layoutLines(layoutTable(rows, columns, { width: 5 }))[1], 'xxx…  yyy…  id-1');
});

test('columns the table can do without are left out, first to last, until it fits', (t) => {
  const dropFirst = ['attendees', 'id'];
  // Cutting the title is enough at 24 (above); not at 18, nor at 12.
  t.is(layoutTable(MEETINGS, COLUMNS, { width: 24, dropFirst }).widths.length, 3);
  t.deepEqual(layoutLines(layoutTable(MEETINGS, COLUMNS, { width: 18, dropFirst })), [
    'ID     TITLE',
    'ev-1   Standup',
    'ev-22  Quarterly …',
  ]);
  t.deepEqual(layoutLines(layoutTable(MEETINGS, COLUMNS, { width: 8, dropFirst })), [
    'TITLE',
    'Standup',
    'Quarter…',
  ]);
  // Off a terminal every column stays.
  t.is(layoutTable(MEETINGS, COLUMNS, { dropFirst }).widths.length, 3);
});

test('without a width nothing is cut (output to a pipe keeps every character)', (t) => {
  const long = [{ id: 'ev-1', title: 'x'.repeat(500), attendees: 1 }];
  const lines = layoutLines(layoutTable(long, COLUMNS));
  t.true(lines[1]?.includes('x'.repeat(500)));
});

test('a table without a header has only its rows', (t) => {
  const lines = layoutLines(layoutTable(MEETINGS, COLUMNS, { header: false }));
  t.deepEqual(lines, ['ev-1   Standup              5', 'ev-22  Quarterly planning  12']);
});

test('text from elsewhere reaches the terminal with its control characters shown, not obeyed', (t) => {
  t.is(
    printable('imp\u001b[2J\u001b]0;pwned\u0007EVIL'),
    'imp\\u001b[2J\\u001b]0;pwned\\u0007EVIL',
  );
  t.is(printable('a\r\nb\u009b31m\u007f'), 'a\\u000d\\u000ab\\u009b31m\\u007f');
  t.is(printable('取締役会 ☕ café'), '取締役会 ☕ café');
  t.is(printableLines('two\nlines\u001b[31m'), 'two\nlines\\u001b[31m');
  const table = layoutTable(
    [{ title: 'x\u001b[2Jy' }],
    [{ key: 't', header: 'T', text: (r: { title: string }) => r.title }],
  );
  t.false(layoutLines(table).join('').includes('\u001b'));
});
