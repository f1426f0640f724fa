/**
 * formats/parquet.ts: what goes in comes back, in order — nulls on both sides of a chunk
 * boundary, dictionaries past the 8- and 16-bit ENUM widths, a table without any string, an
 * empty table, BIGINT columns given as bigints — read back by DuckDB from the file.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { closeDb, openDb, writeParquet } from '../../src/formats/parquet.js';
import type { ColumnSpec, ExportTable } from '../../src/analysis/export-rows.js';
import { withTempDir } from '../helpers.js';

const cols = (spec: [string, ColumnSpec['type']][]): ColumnSpec[] => spec.map(([name, type]) => ({ name, type, doc: '' }));

async function roundTrip(t: ExportTable): Promise<{ types: string[]; rows: unknown[][] }> {
  return withTempDir('parquet', async (dir) => {
    const file = path.join(dir, `${t.name}.parquet`);
    const duck = await openDb();
    try {
      await writeParquet(duck.db, t, file);
      // a second table on the same connection, so the scan function serves more than one
      await writeParquet(duck.db, t, `${file}.again`);
      const r = await duck.db.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
      const again = await duck.db.runAndReadAll(`SELECT * FROM read_parquet('${file}.again')`);
      assert.deepEqual(again.getRows(), r.getRows());
      return { types: r.columnTypes().map(String), rows: r.getRows() };
    } finally {
      closeDb(duck);
    }
  });
}

test('writeParquet: values, nulls and row order come back, across chunks and ENUM widths', async () => {
  const rows = 70_000;
  const num = new Float64Array(rows);
  const str: (string | null)[] = [];
  const few: (string | null)[] = [];
  const nul: (string | null)[] = new Array<string | null>(rows).fill(null);
  for (let i = 0; i < rows; i++) {
    num[i] = i % 3000 < 5 || i === rows - 1 ? NaN : i * 1000 + (i % 7);
    str.push(i % 4000 === 2047 ? null : `name-${i}`); // 70k distinct: 32-bit ids
    few.push(i % 2048 === 2047 || i % 2048 === 0 ? null : ['', 'a', "it's"][i % 3]!);
  }
  const t: ExportTable = {
    name: 'kernels',
    columns: cols([['n', 'BIGINT'], ['s', 'VARCHAR'], ['f', 'VARCHAR'], ['z', 'VARCHAR'], ['i', 'INTEGER'], ['d', 'DOUBLE']]),
    rows,
    data: [num, str, few, nul, num.map((v) => (v === v ? v % 100 : NaN)), num.map((v) => v / 8)],
  };
  const got = await roundTrip(t);
  assert.deepEqual(got.types, ['BIGINT', 'VARCHAR', 'VARCHAR', 'VARCHAR', 'INTEGER', 'DOUBLE']);
  assert.equal(got.rows.length, rows);
  for (let i = 0; i < rows; i++) {
    const v = num[i]!;
    const want = [v === v ? BigInt(v) : null, str[i], few[i], null, v === v ? v % 100 : null, v === v ? v / 8 : null];
    assert.deepEqual(got.rows[i], want, `row ${i}`);
  }
});

test('writeParquet: 300 distinct strings (16-bit ids), bigint columns, no strings, no rows', async () => {
  const rows = 5000;
  const s = Array.from({ length: rows }, (_, i) => `k${i % 300}`);
  const big = Array.from({ length: rows }, (_, i) => (i % 10 === 0 ? null : 1_763_900_100_000_000_000n + BigInt(i)));
  const a = await roundTrip({ name: 'ops', columns: cols([['s', 'VARCHAR'], ['b', 'BIGINT']]), rows, data: [s, big] });
  assert.deepEqual(a.rows, s.map((x, i) => [x, big[i]]));
  const none = await roundTrip({ name: 'idle', columns: cols([['s', 'VARCHAR'], ['n', 'BIGINT']]), rows: 3, data: [[null, null, null], new Float64Array([1, NaN, 3])] });
  assert.deepEqual(none.rows, [[null, 1n], [null, null], [null, 3n]]);
  const empty = await roundTrip({ name: 'steps', columns: cols([['s', 'VARCHAR'], ['n', 'BIGINT']]), rows: 0, data: [[], new Float64Array(0)] });
  assert.deepEqual(empty, { types: ['VARCHAR', 'BIGINT'], rows: [] });
});

test('writeParquet: two connections of one database write at the same time', async () => {
  await withTempDir('parquet-two', async (dir) => {
    const duck = await openDb();
    const second = await duck.instance.connect();
    try {
      const table = (k: number): ExportTable => ({
        name: 'kernels', columns: cols([['s', 'VARCHAR'], ['n', 'BIGINT']]), rows: 10_000,
        data: [Array.from({ length: 10_000 }, (_, i) => `c${k}-${i % 77}`), Float64Array.from({ length: 10_000 }, (_, i) => i * (k + 1))],
      });
      const files = [0, 1, 2, 3].map((k) => path.join(dir, `t${k}.parquet`));
      await Promise.all(files.map((f, k) => writeParquet(k % 2 === 0 ? duck.db : second, table(k), f)));
      for (const [k, f] of files.entries()) {
        const t = table(k);
        const r = await duck.db.runAndReadAll(`SELECT * FROM read_parquet('${f}')`);
        assert.deepEqual(r.getRows(), (t.data[0] as string[]).map((s, i) => [s, BigInt((t.data[1] as Float64Array)[i]!)]), f);
      }
    } finally {
      second.closeSync();
      closeDb(duck);
    }
  });
});
