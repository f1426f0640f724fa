/**
 * `sql`: a query over an exported dataset (pipeline/export.ts) with the embedded DuckDB. Each
 * table of docs/SCHEMA.md is a view over its Parquet files with Hive partitioning, exactly what
 * `read_parquet('DIR/kernels/*\/*.parquet', hive_partitioning=true)` gives DuckDB's own CLI.
 * Traces given instead of a dataset are exported to a temporary directory first (removed after).
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TraceforgeError } from '../errors.js';
import { TABLE_NAMES } from '../analysis/export-rows.js';
import { closeDb, openDb, quoteIdent, quoteString } from '../formats/parquet.js';
import { exportTraces, type ExportOptions } from './export.js';

export interface SqlResult {
  columns: string[];
  /** DuckDB type of each column (`BIGINT`, `VARCHAR`, ...). */
  types: string[];
  /** Values: numbers (BIGINTs too when exact, else their decimal text), strings, booleans, null; other types as text. */
  rows: (string | number | boolean | null)[][];
  notes: string[];
}

/** True for a directory holding at least one table folder with `rank=N` partitions. */
export async function isDataset(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) return false;
  for (const t of TABLE_NAMES) {
    const parts = await readdir(join(path, t)).catch(() => [] as string[]);
    if (parts.some((p) => p.startsWith('rank='))) return true;
  }
  return false;
}

function plain(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

/** Runs `query` over a dataset directory, or over traces exported to a temporary one. */
export async function sqlQuery(query: string, inputs: readonly string[], opts: ExportOptions = {}): Promise<SqlResult> {
  const notes: string[] = [];
  let dir: string;
  let temp: string | undefined;
  if (inputs.length === 1 && await isDataset(inputs[0]!)) dir = inputs[0]!;
  else {
    temp = await mkdtemp(join(tmpdir(), 'traceforge-sql-'));
    dir = temp;
    try {
      notes.push(...(await exportTraces(inputs, dir, opts)).notes);
    } catch (e) {
      await rm(temp, { recursive: true, force: true });
      throw e;
    }
  }
  const duck = await openDb();
  try {
    for (const t of TABLE_NAMES) {
      const parts = await readdir(join(dir, t)).catch(() => [] as string[]);
      if (!parts.some((p) => p.startsWith('rank='))) continue;
      const glob = join(dir, t, '*', '*.parquet');
      await duck.db.run(`CREATE VIEW ${quoteIdent(t)} AS SELECT * FROM read_parquet(${quoteString(glob)}, hive_partitioning = true, union_by_name = true)`);
    }
    let reader;
    try {
      reader = await duck.db.runAndReadAll(query);
    } catch (e) {
      throw new TraceforgeError('E_USAGE', `sql: ${(e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ')}`);
    }
    const columns = reader.columnNames();
    const types = reader.columnTypes().map((t) => t.toString());
    const rows = reader.getRows().map((r) => r.map(plain));
    return { columns, types, rows, notes };
  } finally {
    closeDb(duck);
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}
