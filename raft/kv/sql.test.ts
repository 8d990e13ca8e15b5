import test from 'ava';
import initSqlJs from 'sql.js';
import type { Database } from 'sql.js';
import { loadSqlJs, openMemoryDatabase } from './sql.js';

/** Where SQLite keeps the main database: '' for one in memory, else a file name. */
function mainFile(db: Database): unknown {
  const rows = db.exec('PRAGMA database_list')[0]?.values ?? [];
  return rows.find((row) => row[1] === 'main')?.[2];
}

test('a memory database is not backed by a file, and works like any other', async (t) => {
  const SQL = await loadSqlJs();
  t.not(mainFile(new SQL.Database()), '', 'sql.js itself keeps a file');
  const db = openMemoryDatabase(SQL);
  t.is(mainFile(db), '');
  db.run('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)');
  const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
  for (let i = 0; i < 2000; i++) insert.run([`k${i}`, i]);
  insert.free();
  t.is(db.getRowsModified(), 1);
  t.deepEqual(db.exec('SELECT count(*), sum(v) FROM t')[0]?.values, [[2000, 1999000]]);
  t.throws(() => db.run('INSERT INTO t VALUES (?, ?)', ['k1', 0]), {
    message: /UNIQUE constraint failed/,
  });
  db.close();
});

test('an image opens into memory with every row, and exports back byte for byte', async (t) => {
  const SQL = await loadSqlJs();
  const original = openMemoryDatabase(SQL);
  original.run('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
  original.run('BEGIN');
  for (let i = 0; i < 5000; i++)
    original.run('INSERT INTO t VALUES (?, ?)', [i, 'x'.repeat(i % 300)]);
  original.run('COMMIT');
  const image = original.export();
  const copy = openMemoryDatabase(SQL, image);
  t.is(mainFile(copy), '');
  t.deepEqual(copy.exec('SELECT count(*), sum(length(v)) FROM t')[0]?.values, [
    [5000, original.exec('SELECT sum(length(v)) FROM t')[0]?.values[0]?.[0] ?? -1],
  ]);
  t.deepEqual(copy.export(), image);
  // The file-backed database sql.js opens reads the same image.
  const fileBacked = new SQL.Database(image);
  t.deepEqual(fileBacked.exec('SELECT count(*) FROM t')[0]?.values, [[5000]]);
  for (const db of [original, copy, fileBacked]) db.close();
});

test('bytes that are not a database are refused with a reason', async (t) => {
  const SQL = await loadSqlJs();
  t.throws(
    () => openMemoryDatabase(SQL, new TextEncoder().encode('not a database at all, '.repeat(50))),
    {
      message: /cannot copy the database: file is not a database/,
    },
  );
  // A refusal leaks nothing that breaks the next open.
  const db = openMemoryDatabase(SQL);
  t.deepEqual(db.exec('SELECT 1')[0]?.values, [[1]]);
  db.close();
});

test('sql.js not loaded through loadSqlJs is refused, not half-used', async (t) => {
  const loaded = await loadSqlJs();
  t.is(await initSqlJs(), loaded, 'sql.js loads its module once per process');
  const impostor = { ...loaded };
  t.throws(() => openMemoryDatabase(impostor), { message: /loadSqlJs/ });
});
