/**
 * Parquet files through the embedded DuckDB (`@duckdb/node-api`, whose engine ships in a
 * platform package of the npm registry: nothing is downloaded at run time). Columns go in by
 * the appender in data chunks of 2048 rows, then `COPY ... TO ... (FORMAT PARQUET)` writes the
 * file (zstd). Measured on 1M rows × 6 columns: 3.2 s to append + 0.9 s to write; going through
 * a CSV that DuckDB reads back instead took 5.4 s + 1.4 s. The 154 MB bench trace has ~33k
 * kernels and ~187k ops per rank: writing them is about as long as the stats pass itself (see
 * writeParquet).
 * One engine writes and queries (`sql`): no second Parquet library to keep in step.
 */
import { BIGINT, DOUBLE, VARCHAR, DuckDBDataChunk, DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { ExportTable } from '../analysis/export-rows.js';

const CHUNK = 2048;

export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;
export const quoteString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** An in-memory DuckDB and one connection (close with `closeDb`). */
export async function openDb(): Promise<{ instance: DuckDBInstance; db: DuckDBConnection }> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  return { instance, db: await instance.connect() };
}

export function closeDb(x: { instance: DuckDBInstance; db: DuckDBConnection }): void {
  x.db.closeSync();
  x.instance.closeSync();
}

/**
 * Writes one table as a Parquet file (zstd); an empty table gives a file with the schema and no
 * rows. The node API copies number columns into DuckDB in bulk but each string with a call of
 * its own, so strings go in as ids into a dictionary of the distinct ones (a handful of kernel
 * names, ops, shapes), numbers as DOUBLE, and the COPY query joins the dictionary back and casts:
 * the 33k kernels × 21 columns of the bench trace took 2.5 s with plain strings, 1.1 s this way
 * (about half of it the COPY: joins, sort, zstd).
 */
export async function writeParquet(db: DuckDBConnection, t: ExportTable, path: string): Promise<void> {
  const dict = new Map<string, number>();
  const staged = t.columns.map((c, k) => {
    const data = t.data[k]!;
    if (data instanceof Float64Array) return data;
    const ids = new Float64Array(t.rows);
    for (let i = 0; i < t.rows; i++) {
      const v = data[i];
      if (v === null || v === undefined) { ids[i] = NaN; continue; }
      if (typeof v === 'bigint') { ids[i] = NaN; continue; }
      let id = dict.get(v);
      if (id === undefined) { id = dict.size; dict.set(v, id); }
      ids[i] = id;
    }
    return c.type === 'VARCHAR' ? ids : data;
  });
  const stage = quoteIdent(`tf_${t.name}`);
  const words = quoteIdent(`tf_${t.name}_dict`);
  const col = (k: number): string => quoteIdent(`c${k}`);
  const bigints = t.columns.map((_, k) => !(staged[k] instanceof Float64Array));
  await db.run(`CREATE OR REPLACE TABLE ${stage} ("row" BIGINT, ${t.columns.map((_, k) => `${col(k)} ${bigints[k] ? 'BIGINT' : 'DOUBLE'}`).join(', ')})`);
  await db.run(`CREATE OR REPLACE TABLE ${words} (id DOUBLE, s VARCHAR)`);
  const app = await db.createAppender(`tf_${t.name}`);
  const types = [BIGINT, ...t.columns.map((_, k) => (bigints[k] ? BIGINT : DOUBLE))];
  for (let lo = 0; lo < t.rows; lo += CHUNK) {
    const hi = Math.min(t.rows, lo + CHUNK);
    const chunk = DuckDBDataChunk.create(types, hi - lo);
    const rowIds = new Array<DuckDBValue>(hi - lo);
    for (let i = lo; i < hi; i++) rowIds[i - lo] = BigInt(i);
    chunk.setColumns([rowIds, ...staged.map((d) => valuesOf(d, lo, hi))]);
    app.appendDataChunk(chunk);
  }
  app.closeSync();
  const wapp = await db.createAppender(`tf_${t.name}_dict`);
  const list = [...dict.keys()];
  for (let lo = 0; lo < list.length; lo += CHUNK) {
    const hi = Math.min(list.length, lo + CHUNK);
    const chunk = DuckDBDataChunk.create([DOUBLE, VARCHAR], hi - lo);
    chunk.setColumns([Array.from({ length: hi - lo }, (_, i) => lo + i), list.slice(lo, hi)]);
    wapp.appendDataChunk(chunk);
  }
  wapp.closeSync();
  const select = t.columns.map((c, k) => (c.type === 'VARCHAR' ? `d${k}.s AS ${quoteIdent(c.name)}` : `CAST(${col(k)} AS ${c.type}) AS ${quoteIdent(c.name)}`));
  const joins = t.columns.map((c, k) => (c.type === 'VARCHAR' ? ` LEFT JOIN ${words} d${k} ON d${k}.id = t.${col(k)}` : '')).join('');
  await db.run(`COPY (SELECT ${select.join(', ')} FROM ${stage} t${joins} ORDER BY t."row") TO ${quoteString(path)} (FORMAT PARQUET, COMPRESSION ZSTD)`);
  await db.run(`DROP TABLE ${stage}`);
  await db.run(`DROP TABLE ${words}`);
}

function valuesOf(data: Float64Array | (bigint | null)[] | (string | null)[], lo: number, hi: number): DuckDBValue[] {
  const out = new Array<DuckDBValue>(hi - lo);
  if (data instanceof Float64Array) {
    for (let i = lo; i < hi; i++) { const v = data[i]!; out[i - lo] = v !== v ? null : v; }
  } else {
    for (let i = lo; i < hi; i++) { const v = data[i]; out[i - lo] = typeof v === 'bigint' ? v : null; }
  }
  return out;
}
