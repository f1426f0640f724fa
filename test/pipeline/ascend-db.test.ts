/**
 * torch_npu's Db export (ascend/db fixtures: level0 / level1, 2 ranks each) and CSV-only
 * directories. Oracles are the test's own SQL over the .db files (read with the SQLite package,
 * but with queries written here), the vendor's op_statistic.csv, and the fixed / merged trace
 * read back with the test helpers' own JSON walker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { statsOf } from '../../src/pipeline/stats.js';
import { fixTrace } from '../../src/pipeline/fix.js';
import { checkTrace } from '../../src/pipeline/check.js';
import { mergeTraces } from '../../src/pipeline/merge.js';
import { infoOf } from '../../src/pipeline/info.js';
import { reportDataOf, chartAssets } from '../../src/pipeline/report.js';
import { renderReportHtml } from '../../src/report/html.js';
import { resolveTracePath } from '../../src/formats/ascend.js';
import { argsOf, loadTraceFile, readDecompressed, realFixture, runCli, withTempDir } from '../helpers.js';

type Sqlite = typeof import('node-sqlite3-wasm');
const { Database } = createRequire(import.meta.url)('node-sqlite3-wasm') as Sqlite;

const DB0 = realFixture('ascend', 'db', 'level0');
const DB1 = realFixture('ascend', 'db', 'level1');
const TEXT1 = realFixture('ascend', 'level1');
const rankDir = (level: string, r: number): string => path.join(level, `rank${r}_ascend_pt`);
const dbFile = (level: string, r: number): string => path.join(rankDir(level, r), 'ASCEND_PROFILER_OUTPUT', `ascend_pytorch_profiler_${r}.db`);

type Row = Record<string, unknown>;
function query(file: string, sql: string): Row[] {
  const db = new Database(file, { readOnly: true });
  try { return db.all(sql) as Row[]; } finally { db.close(); }
}
const big = (v: unknown): bigint => BigInt(String(v));

/** round(x, 3) on the printed value, as Python prints it. */
const r3 = (x: number): number => Number(x.toFixed(3));

test('Db level1: op-type equals an SQL GROUP BY over COMPUTE_TASK_INFO ⋈ TASK (comm excluded, integer ns / 1000, rounded to 3 decimals)', async () => {
  for (const r of [0, 1]) {
    const rows = query(dbFile(DB1, r), `SELECT o.value type, k.value core, COUNT(*) n, SUM(t.endNs - t.startNs) total, MIN(t.endNs - t.startNs) mn, MAX(t.endNs - t.startNs) mx
      FROM COMPUTE_TASK_INFO c JOIN TASK t ON t.globalTaskId = c.globalTaskId
      JOIN STRING_IDS o ON o.id = c.opType JOIN STRING_IDS k ON k.id = c.taskType GROUP BY 1, 2`);
    const grand = rows.reduce((a, x) => a + Number(x['total']), 0);
    const want = rows.map((x) => {
      const total = Number(x['total']);
      return {
        opType: String(x['type']), coreType: String(x['core']), count: Number(x['n']),
        totalUs: total / 1000, minUs: Number(x['mn']) / 1000, maxUs: Number(x['mx']) / 1000,
        avgUs: r3(total / Number(x['n']) / 1000), ratioPct: r3((total / grand) * 100),
      };
    }).sort((a, b) => b.totalUs - a.totalUs);
    const s = await statsOf([rankDir(DB1, r)], { views: ['op-type'] });
    assert.equal(s.opTypes!.length, 1);
    const got = s.opTypes![0]!.rows.map((x) => ({ opType: x.opType, coreType: x.coreType, count: x.count, totalUs: x.totalUs, minUs: x.minUs, maxUs: x.maxUs, avgUs: x.avgUs, ratioPct: x.ratioPct }));
    assert.deepEqual(got, want);
    assert.ok(!got.some((x) => x.coreType === 'HCCL'), 'communication left out');
  }
});

test('Db level1: kernels carry their input shapes (without the literal quotes) and the op view groups by them', async () => {
  const rows = query(dbFile(DB1, 0), `SELECT o.value type, sh.value shapes, dt.value dtypes, COUNT(*) n, SUM(t.endNs - t.startNs) total
    FROM COMPUTE_TASK_INFO c JOIN TASK t ON t.globalTaskId = c.globalTaskId JOIN STRING_IDS o ON o.id = c.opType
    JOIN STRING_IDS sh ON sh.id = c.inputShapes JOIN STRING_IDS dt ON dt.id = c.inputDataTypes GROUP BY 1, 2, 3`);
  assert.ok(rows.some((x) => String(x['shapes']).startsWith('"')), 'the .db keeps literal quotes around shapes');
  const s = await statsOf([rankDir(DB1, 0)], { views: ['op'] });
  const ops = s.npuOps!;
  for (const x of rows) {
    const shapes = String(x['shapes']).replace(/^"(.*)"$/, '$1');
    const o = ops.find((y) => y.op === x['type'] && y.inputShapes === shapes && y.inputDataTypes === x['dtypes']);
    assert.ok(o, `${String(x['type'])} ${shapes}`);
    assert.equal(o.calls, Number(x['n']));
    assert.equal(o.totalUs, Number(x['total']) / 1000);
  }
  assert.ok(ops.some((o) => o.op === 'Conv2D' && o.inputShapes === '32,1,224,224,8;121,4,16,8;64'));
  assert.ok(!s.notes.some((n) => n.includes('not recorded')), s.notes.join('\n'));
});

test('Db level0: works, and says shapes and OP types were not recorded', async () => {
  const s = await statsOf([DB0], { views: ['summary', 'kernel', 'op', 'op-type', 'step'] });
  assert.deepEqual(s.inputs.map((i) => i.label), ['RANK00', 'RANK01']);
  assert.equal(s.device, 'NPU');
  assert.ok(s.summary!.every((x) => x.busyUs > 0 && x.kernels > 0));
  assert.ok(s.kernels!.length > 0);
  assert.equal(s.steps!.length, 2);
  assert.ok(s.notes.some((n) => n.startsWith('op view:') && n.includes('input shapes were not recorded') && n.includes('COMPUTE_TASK_INFO')), s.notes.join('\n'));
  assert.ok(s.notes.some((n) => n.startsWith('op-type view:') && n.includes('OP types were not recorded')), s.notes.join('\n'));
});

test('Db and Text exports of the same model: the same OP types, core types and counts', async () => {
  const db = await statsOf([rankDir(DB1, 0)], { views: ['op-type'] });
  const text = await statsOf([rankDir(TEXT1, 0)], { views: ['op-type'] });
  const key = (s: typeof db): string[] => s.opTypes![0]!.rows.map((x) => `${x.opType}/${x.coreType}/${x.count}`).sort();
  assert.deepEqual(key(db), key(text));
});

test('Db level1: fix keeps every device task with its exact ns times and every CPU→device link as a flow pair; the output passes check', async () => {
  await withTempDir('ascend-db-fix', async (dir) => {
    const out = path.join(dir, 'fixed.json');
    const trace = resolveTracePath(rankDir(DB1, 0));
    await fixTrace(trace, { output: out });
    const c = await checkTrace(out);
    assert.equal(c.nonNesting, 0);
    assert.ok(c.clean, JSON.stringify(c.diagnostics.list().map((d) => d.name)));
    const text = readDecompressed(out).toString('utf8');
    const base = BigInt(/"baseTimeNanoseconds"\s*:\s*"?(\d+)/.exec(text)![1]!);
    const t = loadTraceFile(out);
    const absNs = (fs: bigint | undefined): bigint => base + fs! / 1_000_000n;
    // the hardware process (lanes keep the pid)
    const procName = new Map<string, string>();
    for (const ev of t.events) if (ev.ph === 'M' && ev.name === 'process_name') procName.set(ev.pidRaw!, String(argsOf(t, ev)!['name']));
    const hw = [...procName].filter(([, n]) => n === 'Ascend Hardware').map(([p]) => p);
    assert.equal(hw.length, 1);
    const got = t.events.filter((ev) => ev.ph === 'X' && ev.pidRaw === hw[0])
      .map((ev) => `${absNs(ev.ts)}+${(BigInt(Math.round(Number(ev.durRaw) * 1000)))}`).sort();
    const want = query(dbFile(DB1, 0), 'SELECT CAST(startNs AS TEXT) s, CAST(endNs - startNs AS TEXT) d FROM TASK')
      .map((x) => `${String(x['s'])}+${String(x['d'])}`).sort();
    assert.equal(got.length, want.length);
    assert.deepEqual(got, want);
    // every PYTORCH_API → CONNECTION_IDS → TASK link: one s/f pair, s at the op's start, f at the task's start
    const links = query(dbFile(DB1, 0), `SELECT CAST(a.startNs AS TEXT) s, CAST(t.startNs AS TEXT) ts FROM PYTORCH_API a
      JOIN CONNECTION_IDS c ON c.id = a.connectionId JOIN TASK t ON t.connectionId = c.connectionId`).map((x) => `${String(x['s'])}>${String(x['ts'])}`).sort();
    assert.ok(links.length > 100);
    const ends = new Map<string, { s?: bigint; f?: bigint; n: number }>();
    for (const ev of t.events) {
      if (ev.cat !== 'async_npu' || (ev.ph !== 's' && ev.ph !== 'f')) continue;
      const e = ends.get(ev.idRaw!) ?? { n: 0 };
      e[ev.ph] = absNs(ev.ts);
      e.n++;
      ends.set(ev.idRaw!, e);
    }
    assert.ok([...ends.values()].every((e) => e.n === 2 && e.s !== undefined && e.f !== undefined), 'every flow is one s and one f');
    assert.deepEqual([...ends.values()].map((e) => `${e.s}>${e.f}`).sort(), links);
  });
});

test('Db level1: merge of the two rank directories labels both ranks', async () => {
  await withTempDir('ascend-db-merge', async (dir) => {
    const out = path.join(dir, 'merged.json');
    const m = await mergeTraces({ inputs: [DB1], output: out });
    assert.equal(m.results.length, 1);
    const t = loadTraceFile(out);
    const names = t.events.filter((ev) => ev.ph === 'M' && ev.name === 'process_name').map((ev) => String(argsOf(t, ev)!['name']));
    for (const label of ['RANK00', 'RANK01']) assert.ok(names.some((n) => n.startsWith(`[${label}] `) && n.includes('Ascend Hardware')), names.join(', '));
    const c = await checkTrace(out);
    assert.equal(c.nonNesting, 0);
    const s = await statsOf([out], { views: ['summary'] });
    assert.deepEqual(s.inputs.map((i) => i.label), ['RANK00', 'RANK01']);
  });
});

test('Db: info names the .db, its schema version and tables', async () => {
  const i = await infoOf(rankDir(DB1, 1));
  assert.equal(i.kind, 'ascend-profile');
  const a = i.traces[0]!.ascend!;
  assert.equal(a.db!.file, dbFile(DB1, 1));
  assert.equal(a.db!.schemaVersion, '1.0.0');
  assert.ok(a.db!.tables.includes('TASK') && a.db!.tables.includes('PYTORCH_API'));
  assert.equal(a.hasShapes, true);
  assert.equal(i.traces[0]!.rank, 1);
});

test('a file that is not SQLite: one line naming it, exit 2', async () => {
  await withTempDir('ascend-db-bad', async (dir) => {
    const out = path.join(dir, 'rank0_ascend_pt', 'ASCEND_PROFILER_OUTPUT');
    mkdirSync(out, { recursive: true });
    const bad = path.join(out, 'ascend_pytorch_profiler_0.db');
    writeFileSync(bad, 'this is not a database, just text that is long enough to look like a header '.repeat(100));
    const r = runCli(['stats', path.join(dir, 'rank0_ascend_pt'), '--by', 'op-type'], { cwd: dir });
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.includes(bad), r.stderr);
  });
});

test('a directory without trace_view.json: op-type reproduces op_statistic.csv, info lists what is there, the timeline views say what is missing once', async () => {
  await withTempDir('ascend-partial', async (dir) => {
    const root = path.join(dir, 'rank0_ascend_pt');
    cpSync(rankDir(TEXT1, 0), root, { recursive: true });
    rmSync(path.join(root, 'ASCEND_PROFILER_OUTPUT', 'trace_view.json'));
    const r = runCli(['stats', root, '--by', 'op-type', '--format', 'csv'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const vendor = readFileSync(path.join(root, 'ASCEND_PROFILER_OUTPUT', 'op_statistic.csv'), 'utf8').replace(/\r\n/g, '\n');
    assert.equal(r.stdout.replace(/\r\n/g, '\n'), vendor);

    const all = runCli(['stats', root, '--by', 'summary,kernel,op-type'], { cwd: dir });
    assert.equal(all.status, 0, all.stderr);
    const said = all.stderr.split('\n').filter((l) => l.includes('no trace_view.json and no ascend_pytorch_profiler'));
    assert.equal(said.length, 1, all.stderr);
    assert.ok(all.stdout.includes('Kernels (all ranks)') && all.stdout.includes('Operator types'), all.stdout);
    assert.ok(!all.stdout.includes('Summary per rank'), all.stdout);

    const i = await infoOf(root);
    const a = i.traces[0]!.ascend!;
    assert.ok(a.partial);
    const names = a.files.map((f) => f.name);
    assert.ok(names.includes('kernel_details.csv') && names.includes('op_statistic.csv') && !names.includes('trace_view.json'));
    assert.equal(a.kernels, 191);
    const cli = runCli(['info', root], { cwd: dir });
    assert.equal(cli.status, 0, cli.stderr);
    assert.ok(cli.stdout.includes('kernel_details.csv') && cli.stdout.includes('partial'), cli.stdout);

    const check = runCli(['check', root], { cwd: dir });
    assert.equal(check.status, 2);
    assert.ok(check.stderr.includes('no trace_view.json'), check.stderr);
  });
});

test('the report of an NPU profile says NPU, never GPU, and shows the op-type table', async () => {
  const data = await reportDataOf([DB1]);
  assert.equal(data.stats.device, 'NPU');
  assert.equal(data.stats.opTypes!.length, 2);
  const html = renderReportHtml(data, await chartAssets());
  assert.doesNotMatch(html, /\bGPUs?\b/);
  assert.match(html, /NPU busy/);
  assert.match(html, /id="table-op-types"/);
  assert.match(html, /Operator types \(op_statistic\)/);
  // a GPU profile still says GPU and has no op-type section
  const gpu = renderReportHtml(await reportDataOf([realFixture('h200', 'tp2')]), await chartAssets());
  assert.match(gpu, /GPU busy/);
  assert.doesNotMatch(gpu, /id="table-op-types"/);
});

test('stats tables of an NPU profile say NPU', () => {
  const r = runCli(['stats', rankDir(DB1, 0), '--by', 'summary,kernel,step']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /\bGPUs?\b/);
  assert.match(r.stdout, /NPU busy/);
});

test('a CSV-only rank before a rank with its timeline: the timeline views take the timed rank only, the comm view both ranks\' vendor files', async () => {
  await withTempDir('ascend-mixed', async (dir) => {
    cpSync(TEXT1, dir, { recursive: true });
    rmSync(path.join(rankDir(dir, 0), 'ASCEND_PROFILER_OUTPUT', 'trace_view.json'));
    const r = await statsOf([dir], { views: ['summary', 'idle', 'launch', 'comm'] });
    // rank 0 sorts first but has no device timeline: every timeline view is rank 1's alone
    assert.deepEqual(r.summary!.map((s) => s.label), ['RANK01']);
    assert.ok(r.notes.some((n) => n.startsWith('RANK00:') && n.includes('idle') && n.includes('comm')), r.notes.join('\n'));
    // communication.json of both ranks is read (independently: the vendor's Total Op Info per rank)
    const total = (k: number): number => {
      const j = JSON.parse(readFileSync(path.join(rankDir(dir, k), 'ASCEND_PROFILER_OUTPUT', 'communication.json'), 'utf8')) as Record<string, Record<string, Record<string, { 'Communication Time Info': { 'Elapse Time(ms)': number } }>>>;
      let ms = 0;
      for (const step of Object.values(j)) for (const group of Object.values(step)) ms += group['Total Op Info']?.['Communication Time Info']['Elapse Time(ms)'] ?? 0;
      return ms;
    };
    const per = r.comm!.ascend!.perRank;
    assert.deepEqual(per.map((p) => p.rank), [0, 1]);
    for (const k of [0, 1]) assert.ok(total(k) > 0 && Math.abs(per[k]!.elapseUs - total(k) * 1000) < 0.1, `${per[k]!.elapseUs} vs ${total(k) * 1000}`);
  });
});
