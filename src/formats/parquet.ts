/**
 * Parquet files through the embedded DuckDB (`@duckdb/node-api`, whose engine ships in a
 * platform package of the npm registry: nothing is downloaded at run time). One engine writes
 * and queries (`sql`): no second Parquet library to keep in step.
 *
 * How a table gets in (writeParquet): DuckDB pulls it, 2048 rows at a time, from a table
 * function of ours (`COPY (SELECT ... FROM tf_export_scan(key)) TO file`), whose chunks are
 * filled by copying bytes: number columns straight from their Float64Array, string columns as
 * ENUM ids into the column's dictionary of distinct strings (a handful of kernel names, ops,
 * shapes). No staging table, no per-value call. The six tables of the 154 MB bench trace
 * (33k kernels, 187k ops) take ~0.2 s to write this way, against ~0.9-1.0 s when they were
 * appended value by value to a staging table, their strings joined back from a dictionary table
 * and the rows sorted by a row id (measured in one process, 2 cores; see the git log).
 */
import { createRequire } from 'node:module';
import type * as DuckDBApi from '@duckdb/node-api';
import type * as DuckDBBindings from '@duckdb/node-bindings';
import type { DuckDBConnection, DuckDBDataChunk, DuckDBInstance, DuckDBTableFunction, DuckDBType } from '@duckdb/node-api';
import type { ExportTable } from '../analysis/export-rows.js';

// Both packages are CommonJS: required, not imported. An ESM import of them runs Node's CJS
// export lexer over every module the package re-exports (~100 files): 229-263 ms against
// 114-136 ms to require them (4 alternations, 2 cores).
const require = createRequire(import.meta.url);
const { BIGINT, DOUBLE, ENUM, VARCHAR, DuckDBInstance: Instance, DuckDBTableFunction: TableFunction } = require('@duckdb/node-api') as typeof DuckDBApi;
const duckdb = require('@duckdb/node-bindings') as typeof DuckDBBindings;

const CHUNK = 2048;
const SCAN = 'tf_export_scan';

export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;
export const quoteString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** An in-memory DuckDB and one connection (close with `closeDb`). */
export async function openDb(): Promise<{ instance: DuckDBInstance; db: DuckDBConnection }> {
  const instance = await Instance.create(':memory:', { threads: '2' });
  return { instance, db: await instance.connect() };
}

export function closeDb(x: { instance: DuckDBInstance; db: DuckDBConnection }): void {
  x.db.closeSync();
  x.instance.closeSync();
}

/** A table ready to be scanned: its column types and a filler of rows [lo, hi) into a chunk. */
interface Staged {
  types: DuckDBType[];
  rows: number;
  fill: (chunk: DuckDBBindings.DataChunk, lo: number, hi: number) => void;
}

/**
 * The tables the scan function can be asked for, by key (unique in the process). One map for
 * every connection: a table function lives in the database's catalog, so registering it on a
 * second connection of the same database replaces the first one's.
 */
const tables = new Map<string, Staged>();
/** Connections whose database has the scan function, and the function (kept alive with them). */
const registered = new WeakMap<DuckDBConnection, DuckDBTableFunction>();
let nextKey = 0;

function registerScan(db: DuckDBConnection): void {
  if (registered.has(db)) return;
  const fn = TableFunction.create({
    name: SCAN,
    parameterTypes: [VARCHAR],
    bindFunction: (b) => {
      const key = String(b.getParameter(0));
      const s = tables.get(key);
      if (!s) { b.setError(`${SCAN}: no table ${key}`); return; }
      s.types.forEach((t, k) => b.addResultColumn(`c${k}`, t));
      b.setBindData({ s });
      b.setCardinality(s.rows, true);
    },
    // one thread: the chunks come in row order, and the callbacks run on the JS thread anyway
    initFunction: (i) => { i.setMaxThreads(1); i.setInitData({ pos: 0 }); },
    mainFunction: (info, out: DuckDBDataChunk) => {
      const { s } = info.getBindData() as { s: Staged };
      const st = info.getInitData() as { pos: number };
      const lo = st.pos;
      const hi = Math.min(s.rows, lo + CHUNK);
      st.pos = hi;
      duckdb.data_chunk_set_size(out.chunk, hi - lo);
      if (hi > lo) s.fill(out.chunk, lo, hi);
    },
  });
  db.registerTableFunction(fn);
  registered.set(db, fn);
}

/** Validity bits of one chunk (1 = valid), whole 64-bit words as DuckDB keeps them. */
const mask = new Uint8Array(CHUNK / 8);

function setValidity(vec: DuckDBBindings.Vector, n: number): void {
  duckdb.vector_ensure_validity_writable(vec);
  duckdb.copy_data_to_vector_validity(vec, 0, mask.buffer, mask.byteOffset, Math.ceil(n / 64) * 8);
}

/** A string column as ids into its own dictionary (its distinct strings; -1 = null). */
interface Coded { ids: Int32Array; words: string[]; buf: Uint8Array | Uint16Array | Uint32Array }

function encode(data: readonly (string | bigint | null)[], rows: number): Coded {
  const dict = new Map<string, number>();
  const ids = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const v = data[i];
    if (typeof v !== 'string') { ids[i] = -1; continue; }
    let id = dict.get(v);
    if (id === undefined) { id = dict.size; dict.set(v, id); }
    ids[i] = id;
  }
  const words = [...dict.keys()];
  // the width DuckDB stores an ENUM of this many members in (ENUM() picks the same)
  const buf = words.length < 256 ? new Uint8Array(CHUNK) : words.length < 65536 ? new Uint16Array(CHUNK) : new Uint32Array(CHUNK);
  return { ids, words, buf };
}

/**
 * Writes one table as a Parquet file (zstd); an empty table gives a file with the schema and no
 * rows. Rows keep their order: a single-threaded scan under DuckDB's default
 * preserve_insertion_order. String columns are ENUMs, one per column, of the column's own
 * distinct strings: DuckDB writes an ENUM as a dictionary-encoded UTF8 BYTE_ARRAY column, the
 * same Parquet type as a VARCHAR, without hashing every value again (casting to VARCHAR first
 * made the COPY about twice as long). Numbers are DOUBLEs cast to the column's type.
 */
export async function writeParquet(db: DuckDBConnection, t: ExportTable, path: string): Promise<void> {
  const coded = t.columns.map((c, k) => {
    const data = t.data[k]!;
    return c.type === 'VARCHAR' && !(data instanceof Float64Array) ? encode(data, t.rows) : undefined;
  });
  const bigBuf = new BigInt64Array(CHUNK);
  // a column without any string stays a VARCHAR of nulls (an ENUM has at least one member)
  const types = t.columns.map((_, k): DuckDBType => {
    const e = coded[k];
    return e ? (e.words.length > 0 ? ENUM(e.words) : VARCHAR) : t.data[k] instanceof Float64Array ? DOUBLE : BIGINT;
  });
  const fill = (chunk: DuckDBBindings.DataChunk, lo: number, hi: number): void => {
    const n = hi - lo;
    for (let k = 0; k < types.length; k++) {
      const vec = duckdb.data_chunk_get_vector(chunk, k);
      const data = t.data[k]!;
      const e = coded[k];
      let nulls = false;
      mask.fill(0xff);
      if (e && e.words.length === 0) {
        mask.fill(0);
        nulls = true;
      } else if (e) {
        const { ids, buf } = e;
        for (let i = 0; i < n; i++) {
          const v = ids[lo + i]!;
          if (v < 0) { buf[i] = 0; mask[i >> 3]! &= ~(1 << (i & 7)); nulls = true; } else buf[i] = v;
        }
        duckdb.copy_data_to_vector(vec, 0, buf.buffer as ArrayBuffer, buf.byteOffset, n * buf.BYTES_PER_ELEMENT);
      } else if (data instanceof Float64Array) {
        for (let i = 0; i < n; i++) {
          const v = data[lo + i]!;
          if (v !== v) { mask[i >> 3]! &= ~(1 << (i & 7)); nulls = true; }
        }
        duckdb.copy_data_to_vector(vec, 0, data.buffer as ArrayBuffer, data.byteOffset + lo * 8, n * 8);
      } else {
        for (let i = 0; i < n; i++) {
          const v = data[lo + i];
          if (typeof v === 'bigint') bigBuf[i] = v;
          else { bigBuf[i] = 0n; mask[i >> 3]! &= ~(1 << (i & 7)); nulls = true; }
        }
        duckdb.copy_data_to_vector(vec, 0, bigBuf.buffer, bigBuf.byteOffset, n * 8);
      }
      if (nulls) setValidity(vec, n);
    }
  };
  registerScan(db);
  const key = `${t.name}-${nextKey++}`;
  tables.set(key, { types, rows: t.rows, fill });
  try {
    const select = t.columns.map((c, k) => (c.type === 'VARCHAR' ? `c${k}` : `CAST(c${k} AS ${c.type})`) + ` AS ${quoteIdent(c.name)}`);
    await db.run(`COPY (SELECT ${select.join(', ')} FROM ${SCAN}(${quoteString(key)})) TO ${quoteString(path)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
  } finally {
    tables.delete(key);
  }
}
