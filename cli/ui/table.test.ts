import test from 'ava';
import { renderTable } from './table.js';
import type { Column } from './table.js';
import { loadDisplayWidths } from '../../base/table.js';

// What measures text beyond ASCII loads on demand (base/table.ts); a command awaits it.
test.before(() => loadDisplayWidths());

interface Invite {
  title: string;
  status: string;
  id: string;
}

const INVITES: Invite[] = [
  { title: '年次総会', status: 'pending', id: 'ev-1' },
  { title: 'Team lunch 🍜 at the river', status: 'accepted', id: 'ev-2' },
];

const mark =
  (name: string) =>
  (text: string): string =>
    `<${name}>${text}</${name}>`;

const COLUMNS: Column<Invite>[] = [
  { key: 'title', header: 'TITLE', text: (i) => i.title, style: () => mark('b'), truncate: true },
  { key: 'status', header: 'STATUS', text: (i) => i.status },
  { key: 'id', header: 'ID', text: (i) => i.id, style: () => mark('dim') },
];

test('cells are painted once padded, so paint never shifts the columns', (t) => {
  t.is(
    renderTable(INVITES, COLUMNS, { paintHeader: mark('h') }),
    [
      '<h>TITLE                     </h>  <h>STATUS  </h>  <h>ID</h>',
      '<b>年次総会                  </b>  pending   <dim>ev-1</dim>',
      '<b>Team lunch 🍜 at the river</b>  accepted  <dim>ev-2</dim>',
    ].join('\n'),
  );
});

test('on a narrow terminal titles are cut to fit; off a terminal nothing is', (t) => {
  const plain = COLUMNS.map(({ style: _style, ...column }) => column);
  t.is(
    renderTable(INVITES, plain, { width: 30 }),
    [
      'TITLE           STATUS    ID',
      '年次総会        pending   ev-1',
      'Team lunch 🍜…  accepted  ev-2',
    ].join('\n'),
  );
  t.true(renderTable(INVITES, plain).includes('Team lunch 🍜 at the river'));
});
