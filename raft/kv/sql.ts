/**
 * sql.js, loaded once per process, and databases that live in WebAssembly memory only.
 *
 * `new SQL.Database()` keeps its database in a file of Emscripten's in-memory file system.
 * That file is one typed array which grows by an eighth at a time, copying the whole file,
 * and every page in it is also in SQLite's page cache, copied in at each COMMIT. A replicated
 * store grows at the same command on every replica, so all of them stopped at once for the
 * copy — tens of milliseconds at 100 MB, with no commit possible meanwhile. A `:memory:`
 * database keeps each page once, in the page cache, allocated page by page.
 *
 * sql.js has no public way to open `:memory:`, so {@link openMemoryDatabase} opens one
 * through SQLite's C API (which sql.js exports on its module) and hands its handle to a
 * `Database`, whose methods all go through that handle. `export()` copies the database with
 * SQLite's backup API, so snapshots work the same on it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic } from 'sql.js';

/** The parts of sql.js's Emscripten module used to open a `:memory:` database. */
interface SqliteCApi {
  readonly _malloc: (bytes: number) => number;
  readonly _free: (pointer: number) => void;
  readonly stringToNewUTF8: (text: string) => number;
  readonly _sqlite3_open: (filename: number, handleOut: number) => number;
  readonly _sqlite3_close_v2: (handle: number) => number;
  readonly _sqlite3_errmsg: (handle: number) => number;
  readonly UTF8ToString: (pointer: number) => string;
  readonly _sqlite3_backup_init: (
    to: number,
    toName: number,
    from: number,
    fromName: number,
  ) => number;
  readonly _sqlite3_backup_step: (backup: number, pages: number) => number;
  readonly _sqlite3_backup_finish: (backup: number) => number;
  readonly _RegisterExtensionFunctions: (handle: number) => number;
}

/** WebAssembly's memory: all we read of it. */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** The little of the WebAssembly API used here; TypeScript's ES libraries do not declare it. */
interface WasmApi {
  instantiate(
    bytes: Uint8Array,
    imports: unknown,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
  Memory: abstract new (...args: never[]) => WasmMemory;
}

const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The field of a sql.js `Database` that holds its SQLite handle (checked at load). */
interface DatabaseFields {
  db: number;
}

interface Loaded {
  readonly c: SqliteCApi;
  readonly memory: WasmMemory;
}

const SQLITE_OK = 0;
const SQLITE_DONE = 101;

let loading: Promise<SqlJsStatic> | null = null;
const loaded = new WeakMap<SqlJsStatic, Loaded>();

/**
 * Loads the sql.js WebAssembly module once per process. sql.js itself also loads only once,
 * so nothing may call its `initSqlJs` before this: in-memory databases would be refused.
 */
export function loadSqlJs(): Promise<SqlJsStatic> {
  if (!loading) loading = load();
  return loading;
}

async function load(): Promise<SqlJsStatic> {
  const require = createRequire(import.meta.url);
  const wasm = readFileSync(require.resolve('sql.js/dist/sql-wasm.wasm'));
  let memory: WasmMemory | undefined;
  let failed: (error: unknown) => void = () => {};
  const failure = new Promise<never>((_, reject) => (failed = reject));
  const SQL = await Promise.race([
    initSqlJs({
      // Instantiating it ourselves is how we reach its memory, to read what C writes there.
      instantiateWasm(imports, done) {
        wasmApi.instantiate(wasm, imports).then(({ instance }) => {
          memory = Object.values(instance.exports).find(
            (e): e is WasmMemory => e instanceof wasmApi.Memory,
          );
          done(instance as Parameters<typeof done>[0]);
        }, failed);
        return {};
      },
    }),
    failure,
  ]);
  const c = SQL as unknown as Partial<SqliteCApi>;
  const missing: string[] = (
    [
      '_malloc',
      '_free',
      'stringToNewUTF8',
      '_sqlite3_open',
      '_sqlite3_close_v2',
      '_sqlite3_errmsg',
      'UTF8ToString',
      '_sqlite3_backup_init',
      '_sqlite3_backup_step',
      '_sqlite3_backup_finish',
      '_RegisterExtensionFunctions',
    ] as const
  ).filter((name) => typeof c[name] !== 'function');
  if (memory === undefined) missing.push('its memory');
  // openMemoryDatabase swaps a Database's `db` handle for its own.
  const probe = new SQL.Database();
  if (typeof (probe as unknown as DatabaseFields).db !== 'number') missing.push('a `db` handle');
  probe.close();
  if (memory === undefined || missing.length > 0) {
    throw new Error(`this sql.js build lacks what in-memory databases need: ${missing.join(', ')}`);
  }
  loaded.set(SQL, { c: c as SqliteCApi, memory });
  return SQL;
}

/**
 * A database that lives in WebAssembly memory only (see the module comment): empty, or a
 * copy of `image` (an SQLite file, as `export()` makes).
 * @throws Error when `SQL` did not come from {@link loadSqlJs}, or `image` is not a database.
 */
export function openMemoryDatabase(SQL: SqlJsStatic, image?: Uint8Array): Database {
  const sqlite = loaded.get(SQL);
  if (sqlite === undefined) throw new Error('open in-memory databases with sql.js from loadSqlJs');
  const { c } = sqlite;
  const handle = openMemoryHandle(sqlite);
  // A Database whose own (empty, file-backed) handle is swapped for ours; everything it
  // does goes through `db`, and close() closes ours and deletes its empty file.
  const db = new SQL.Database();
  const fields = db as unknown as DatabaseFields;
  c._sqlite3_close_v2(fields.db);
  fields.db = handle;
  c._RegisterExtensionFunctions(handle);
  if (image === undefined) return db;
  const source = new SQL.Database(image);
  try {
    copyDatabase(c, (source as unknown as DatabaseFields).db, handle);
  } catch (error) {
    db.close();
    throw error;
  } finally {
    source.close();
  }
  return db;
}

/**
 * Bytes of the WebAssembly memory `SQL`'s databases live in (every database of the process,
 * their page caches and SQLite's working memory). It only grows: a WebAssembly memory gives
 * nothing back, so this is the largest the process's SQLite has needed since it started.
 */
export function sqlMemoryBytes(SQL: SqlJsStatic): number {
  const sqlite = loaded.get(SQL);
  if (sqlite === undefined) throw new Error('sql.js did not come from loadSqlJs');
  return sqlite.memory.buffer.byteLength;
}

function openMemoryHandle({ c, memory }: Loaded): number {
  const name = c.stringToNewUTF8(':memory:');
  const out = c._malloc(4);
  try {
    const rc = c._sqlite3_open(name, out);
    const handle = new DataView(memory.buffer).getUint32(out, true);
    if (rc !== SQLITE_OK) {
      if (handle !== 0) c._sqlite3_close_v2(handle);
      throw new Error(`cannot open an in-memory database (SQLite error ${rc})`);
    }
    return handle;
  } finally {
    c._free(out);
    c._free(name);
  }
}

/** Copies every page of `from` into `to` (both `main`), with SQLite's backup API. */
function copyDatabase(c: SqliteCApi, from: number, to: number): void {
  const main = c.stringToNewUTF8('main');
  try {
    const backup = c._sqlite3_backup_init(to, main, from, main);
    if (backup === 0)
      throw new Error(`cannot copy the database: ${c.UTF8ToString(c._sqlite3_errmsg(to))}`);
    const stepped = c._sqlite3_backup_step(backup, -1);
    const finished = c._sqlite3_backup_finish(backup);
    if (stepped !== SQLITE_DONE || finished !== SQLITE_OK) {
      throw new Error(`cannot copy the database: ${c.UTF8ToString(c._sqlite3_errmsg(to))}`);
    }
  } finally {
    c._free(main);
  }
}
