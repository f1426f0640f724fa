/**
 * `export` and `sql`: the Parquet tables summed by DuckDB equal `stats`' own figures, re-exporting
 * a rank touches only its partitions, a merged trace and its separate ranks give the same answer,
 * docs/SCHEMA.md is the schema, and errors are one line with exit status 2.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { statsOf } from '../../src/pipeline/stats.js';
import { exportTraces } from '../../src/pipeline/export.js';
import { sqlQuery } from '../../src/pipeline/sql.js';
import { schemaMarkdown, SCHEMA, TABLE_NAMES } from '../../src/analysis/export-rows.js';
import { REPO_ROOT, realFixture, runCli, withTempDir } from '../helpers.js';

const TP2 = realFixture('h200', 'tp2');
const TP0 = path.join(TP2, '1763900000-TP-0.trace.json.gz');
const TP1 = path.join(TP2, '1763900000-TP-1.trace.json.gz');

const num = (v: unknown): number => Number(v);

test('export: kernel totals per rank and per name, and op counts, summed by DuckDB equal stats', async () => {
  await withTempDir('export-sums', async (dir) => {
    const s = await statsOf([TP2], { views: ['summary', 'kernel', 'op'] });
    const x = await exportTraces([TP2], dir);
    assert.deepEqual(x.ranks.map((r) => [r.rank, r.label]), [[0, 'TP00'], [1, 'TP01']]);
    const perRank = await sqlQuery('SELECT rank, count(*) AS n, sum(dur_ns) AS ns FROM kernels GROUP BY rank ORDER BY rank', [dir]);
    assert.deepEqual(perRank.rows.map((r) => num(r[1])), s.summary!.map((r) => r.kernels));
    const perName = await sqlQuery('SELECT name, count(*) AS n, sum(dur_ns) AS ns, any_value(category) AS cat FROM kernels GROUP BY name', [dir]);
    assert.equal(perName.rows.length, s.kernels!.length);
    const byName = new Map(perName.rows.map((r) => [String(r[0]), r]));
    for (const k of s.kernels!) {
      const r = byName.get(k.name);
      assert.ok(r, k.name);
      assert.equal(num(r[1]), k.calls, k.name);
      assert.equal(num(r[2]) / 1000, k.totalUs, k.name);
      assert.equal(r[3], k.category, k.name);
    }
    // every op event is a row; the op view counts the same calls per name
    const ops = await sqlQuery('SELECT name, count(*) FROM ops GROUP BY name', [dir]);
    const calls = new Map<string, number>();
    for (const o of s.ops!) calls.set(o.name, (calls.get(o.name) ?? 0) + o.calls);
    assert.deepEqual(new Map(ops.rows.map((r) => [String(r[0]), num(r[1])])), calls);
    const ranks = await sqlQuery('SELECT rank, label, ops, kernels, time_base_ns, device FROM ranks ORDER BY rank', [dir]);
    assert.deepEqual(ranks.rows.map((r) => [r[0], r[1]]), [[0, 'TP00'], [1, 'TP01']]);
    const opRows = await sqlQuery('SELECT rank, count(*) FROM ops GROUP BY rank ORDER BY rank', [dir]);
    assert.deepEqual(ranks.rows.map((r) => num(r[2])), opRows.rows.map((r) => num(r[1])));
    // every kernel of this eager trace has its launch call and op
    const linked = await sqlQuery('SELECT count(*) FILTER (launch_name IS NULL), count(*) FILTER (op IS NULL) FROM kernels', [dir]);
    assert.deepEqual(linked.rows[0]!.map(num), [0, 0]);
    // steps: the kernels counted per step by stats are the kernels whose step column names it
    const steps = await sqlQuery('SELECT s.rank, s.step, s.kernels, (SELECT count(*) FROM kernels k WHERE k.rank = s.rank AND k.step = s.step) FROM steps s ORDER BY 1, 2', [dir]);
    assert.ok(steps.rows.length > 0);
    for (const r of steps.rows) assert.equal(num(r[3]), num(r[2]), `rank ${r[0]} step ${r[1]}`);
  });
});

test('export: the collectives table, summed by DuckDB, gives the comm view\'s pairs — calls, complete instances per rank, worst start skew and who, median skew', async () => {
  await withTempDir('export-comm', async (dir) => {
    const c = (await statsOf([TP2], { views: ['comm'] })).comm!.collectives!;
    assert.ok(c.rows.length >= 2 && c.medianSkewUs !== null, 'tp2 has paired collectives');
    await exportTraces([TP2], dir);
    const label = (name: string, desc: string): string => (desc && desc !== name ? `${name || '(unnamed)'} (${desc})` : name || '(unnamed)');
    // one row per (group, type, dtype, bytes), as the comm view groups them
    const rows = await sqlQuery(`
      WITH inst AS (
        SELECT "group", group_desc, seq, type, dtype, bytes, max(skew_ns) AS skew, arg_max(rank, skew_ns) AS last,
               count(*) AS members, max(complete) AS complete
        FROM collectives GROUP BY ALL)
      SELECT "group", group_desc, type, dtype, bytes, count(*) AS calls, count(*) FILTER (complete = 1) AS complete,
             max(skew) AS skew_max, arg_max(last, skew) AS last_rank
      FROM inst GROUP BY ALL`, [dir]);
    assert.equal(rows.rows.length, c.rows.length);
    const got = new Map(rows.rows.map((r) => [`${label(String(r[0]), String(r[1] ?? ''))}|${r[2]}|${r[3]}|${r[4] === null ? null : num(r[4])}`, r]));
    for (const row of c.rows) {
      const r = got.get(`${row.group}|${row.collective}|${row.dtype}|${row.bytes}`);
      assert.ok(r, `${row.group} ${row.collective} ${row.bytes}`);
      assert.equal(num(r[5]), row.calls);
      assert.equal(num(r[6]), row.complete);
      assert.equal(Math.round(num(r[7])) / 1000, row.startSkewMaxUs);
      assert.equal(`TP0${num(r[8])}`, row.startSkewMaxRank);
    }
    // per rank: the collectives it took part in, complete ones
    const perRank = await sqlQuery('SELECT rank, count(*) FILTER (complete = 1) FROM collectives GROUP BY rank ORDER BY rank', [dir]);
    assert.deepEqual(perRank.rows.map((r) => num(r[1])), c.perRank.map((p) => p.collectives));
    const med = await sqlQuery('SELECT median(s) FROM (SELECT max(skew_ns) AS s FROM collectives WHERE complete = 1 GROUP BY "group", seq, type)', [dir]);
    assert.equal(Math.round(num(med.rows[0]![0])) / 1000, c.medianSkewUs);
  });
});

test('export: exporting one rank again replaces only its partitions', async () => {
  await withTempDir('export-rerank', async (dir) => {
    await exportTraces([TP2], dir);
    const files = (rank: number): Map<string, { mtimeMs: number; size: number; ino: number }> => new Map(TABLE_NAMES.map((t) => {
      const f = path.join(dir, t, `rank=${rank}`, 'part-0.parquet');
      const st = statSync(f);
      return [f, { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino }];
    }));
    const before0 = files(0);
    const before1 = files(1);
    await new Promise((r) => setTimeout(r, 20));
    const x = await exportTraces([TP1], dir, { categories: ['mine=^void'] });
    assert.deepEqual(x.ranks.map((r) => r.rank), [1]);
    assert.deepEqual(files(0), before0);
    for (const [f, b] of before1) assert.notEqual(statSync(f).ino, b.ino, `${f} was not replaced`);
    // nothing left behind: only the table directories
    assert.deepEqual(readdirSync(dir).sort(), [...TABLE_NAMES].sort());
    const cats = await sqlQuery("SELECT rank, count(*) FILTER (category = 'mine') > 0 FROM kernels GROUP BY rank ORDER BY rank", [dir]);
    assert.deepEqual(cats.rows, [[0, false], [1, true]]);
  });
});

test('sql: a merged trace and its separate ranks give the same answer', async () => {
  await withTempDir('export-merged', async (dir) => {
    const merged = path.join(dir, 'merged.trace.json.gz');
    const m = runCli(['merge', TP2, '-o', merged]);
    assert.equal(m.status, 0, m.stderr);
    const q = 'SELECT rank, name, category, count(*) AS n, sum(dur_ns) AS ns, count(op) AS ops FROM kernels GROUP BY ALL ORDER BY ALL';
    const a = await sqlQuery(q, [merged]);
    const b = await sqlQuery(q, [TP2]);
    assert.ok(a.rows.length > 10);
    assert.deepEqual(a.rows, b.rows);
    const c = runCli(['sql', 'SELECT rank, count(*) AS n FROM ops GROUP BY rank ORDER BY rank', merged, '--format', 'csv', '-q']);
    const d = runCli(['sql', 'SELECT rank, count(*) AS n FROM ops GROUP BY rank ORDER BY rank', TP2, '--format', 'csv', '-q']);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(c.stdout, d.stdout);
    assert.match(c.stdout, /^rank,n\r\n0,\d+\r\n1,\d+\r\n$/);
  });
});

test('sql CLI: table and json output; export and sql errors are one line, exit 2', async () => {
  await withTempDir('export-cli', async (dir) => {
    const ds = path.join(dir, 'ds');
    const e = runCli(['export', TP2, '-o', ds, '-q']);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stdout, /^rank=0 \(TP00\): 978 kernels, /m);
    const t = runCli(['sql', 'SELECT rank, count(*) AS kernels FROM kernels GROUP BY rank ORDER BY rank', ds]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /rank\s+kernels\n/);
    const j = runCli(['sql', 'SELECT label, time_base_ns FROM ranks ORDER BY rank', ds, '--format', 'json']);
    assert.equal(j.status, 0, j.stderr);
    const rows = JSON.parse(j.stdout) as { label: string; time_base_ns: string }[];
    assert.deepEqual(rows.map((r) => r.label), ['TP00', 'TP01']);
    assert.match(rows[0]!.time_base_ns, /^\d{19}$/);
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    const bad = runCli(['export', TP2, '-o', file]);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.ok(bad.stderr.includes(file), bad.stderr);
    const q = runCli(['sql', 'SELECT nope FROM kernels', ds]);
    assert.equal(q.status, 2);
    assert.equal(q.stderr.trim().split('\n').length, 1, q.stderr);
  });
});

test('export of 3 tiled ranks: the cross-rank query of bench export-64 equals the figures of stats run on each rank alone', async () => {
  await withTempDir('export-3ranks', async (dir) => {
    // ranks made as bench/tile.js makes export-64's: 0 and 1 the fixture's ranks, 2 rank 0 tiled twice in time
    const ranks = path.join(dir, 'ranks');
    mkdirSync(ranks);
    const files = [[TP0, 1], [TP1, 1], [TP0, 2]].map(([src, copies], r) => {
      const out = path.join(ranks, `1763900400-TP-${r}.trace.json.gz`);
      const t = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'bench', 'tile.js'), String(src), out, '--copies', String(copies), '--rank', String(r), '--world-size', '3'], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stderr);
      return out;
    });
    const ds = path.join(dir, 'ds');
    const x = await exportTraces([ranks], ds);
    assert.deepEqual(x.ranks.map((r) => r.rank), [0, 1, 2]);
    const q = 'WITH per AS (SELECT name, rank, sum(dur_ns) AS ns FROM kernels GROUP BY name, rank) ' +
      'SELECT name, count(*) AS ranks, min(ns) AS min_ns, max(ns) AS max_ns, avg(ns) AS mean_ns, first(rank ORDER BY ns DESC, rank) AS slowest_rank ' +
      'FROM per GROUP BY name ORDER BY name';
    const got = await sqlQuery(q, [ds]);
    // independently: stats --by kernel of each rank file alone (its own process), totals in µs
    const perRank = files.map((f) => {
      const s = runCli(['stats', f, '--by', 'kernel', '--format', 'json']);
      assert.equal(s.status, 0, s.stderr);
      return new Map((JSON.parse(s.stdout) as { kernels: { name: string; totalUs: number }[] }).kernels.map((k) => [k.name, k.totalUs]));
    });
    const names = [...new Set(perRank.flatMap((m) => [...m.keys()]))].sort();
    assert.deepEqual(got.rows.map((r) => String(r[0])).sort(), names);
    assert.ok(names.length > 10);
    let slowest2 = 0;
    for (const row of got.rows) {
      const name = String(row[0]);
      const us = perRank.map((m, r) => [r, m.get(name)] as const).filter((x): x is readonly [number, number] => x[1] !== undefined);
      const max = Math.max(...us.map((x) => x[1]));
      const slowest = us.find((x) => x[1] === max)![0];
      if (slowest === 2) slowest2++;
      assert.equal(num(row[1]), us.length, name);
      assert.equal(num(row[2]) / 1000, Math.min(...us.map((x) => x[1])), name);
      assert.equal(num(row[3]) / 1000, max, name);
      const mean = us.reduce((a, x) => a + x[1], 0) / us.length;
      assert.ok(Math.abs(num(row[4]) / 1000 - mean) <= 1e-6 * Math.max(1, mean), `${name}: mean ${num(row[4]) / 1000} vs ${mean}`);
      assert.equal(num(row[5]), slowest, name);
    }
    // the rank tiled twice runs every kernel twice: it is the slowest for most names
    assert.ok(slowest2 > names.length / 2, `${slowest2} of ${names.length}`);
  });
});

test('docs/SCHEMA.md lists every table and column of the export', () => {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'SCHEMA.md'), 'utf8');
  assert.ok(doc.endsWith(schemaMarkdown()), 'docs/SCHEMA.md is out of date: regenerate its tables from schemaMarkdown()');
  for (const t of TABLE_NAMES) for (const c of SCHEMA[t].columns) assert.ok(doc.includes(`| \`${c.name}\` |`), `${t}.${c.name}`);
});
