/**
 * `stats` on torch_npu (Ascend) profiles: the level0 / level1 fixtures, two ranks each.
 *
 * Oracles, none of them traceforge's own reading:
 * - the op-type view against the vendor's op_statistic.csv of the same run (its text);
 * - the kernel and op views against kernel_details.csv split here by a small quote-aware
 *   splitter, durations summed exactly as integer thousandths of a µs;
 * - the summary against the vendor's step_trace_time.csv (Computing, Communication,
 *   Overlapped, Communication(Not Overlapped)), which msprof computes from the same timeline;
 * - steps against the ProfilerStep event read with JSON.parse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

import { statsOf, type StatsResult } from '../../src/pipeline/stats.js';
import { mergeTraces } from '../../src/pipeline/merge.js';
import { sectionsOf } from '../../src/report/sections.js';
import { renderCsv } from '../../src/report/csv.js';
import { realFixture, runCli, withTempDir } from '../helpers.js';

const LEVEL0 = realFixture('ascend', 'level0');
const LEVEL1 = realFixture('ascend', 'level1');
const rankDir = (level: string, rank: number): string => path.join(level, `rank${rank}_ascend_pt`);
const outputDir = (level: string, rank: number): string => path.join(rankDir(level, rank), 'ASCEND_PROFILER_OUTPUT');
const vendorFile = (level: string, rank: number, name: string): string => path.join(outputDir(level, rank), name);

// ---------------------------------------------------------------------------------------------
// The oracle's CSV reading: one record per line (these files have no quoted line breaks)

/** Fields of one CSV line: `"..."` fields with `""` escapes, the vendor's TAB after numbers dropped. */
function splitLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new Error(`unterminated quote in ${line}`);
        field += line.slice(i, q);
        if (line[q + 1] === '"') { field += '"'; i = q + 2; continue; }
        i = q + 1;
        break;
      }
    }
    const comma = line.indexOf(',', i);
    field += line.slice(i, comma < 0 ? line.length : comma);
    out.push(field.replace(/\t+$/, ''));
    if (comma < 0) return out;
    i = comma + 1;
  }
}

function readTable(file: string): Record<string, string>[] {
  const lines = readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l !== '');
  const head = splitLine(lines[0]!);
  return lines.slice(1).map((l) => {
    const f = splitLine(l);
    assert.equal(f.length, head.length, `${file}: ${l}`);
    return Object.fromEntries(head.map((h, k) => [h, f[k]!]));
  });
}

/** `53.741` -> 53741 (thousandths of a µs), exactly. */
function milli(text: string): number {
  const m = /^(\d+)(?:\.(\d{1,3}))?$/.exec(text.trim());
  assert.ok(m, `not a duration with up to 3 decimals: ${text}`);
  return Number(m[1]) * 1000 + Number((m[2] ?? '').padEnd(3, '0'));
}

/** Per Name: calls, and total / min / max in thousandths of a µs. */
function kernelOracle(files: string[]): Map<string, { calls: number; total: number; min: number; max: number }> {
  const out = new Map<string, { calls: number; total: number; min: number; max: number }>();
  for (const f of files) {
    for (const r of readTable(f)) {
      const d = milli(r['Duration(us)']!);
      const k = out.get(r['Name']!) ?? { calls: 0, total: 0, min: Infinity, max: -Infinity };
      k.calls++;
      k.total += d;
      k.min = Math.min(k.min, d);
      k.max = Math.max(k.max, d);
      out.set(r['Name']!, k);
    }
  }
  return out;
}

const LF = (text: string): string => text.replace(/\r\n/g, '\n');

// ---------------------------------------------------------------------------------------------

test('op-type (CLI, one rank directory): the CSV is that directory\'s op_statistic.csv, row for row and digit for digit', () => {
  for (const rank of [0, 1]) {
    const r = runCli(['stats', rankDir(LEVEL1, rank), '--by', 'op-type', '--format', 'csv']);
    assert.equal(r.status, 0, r.stderr);
    const vendor = readFileSync(vendorFile(LEVEL1, rank, 'op_statistic.csv'), 'utf8');
    // the same text; traceforge's CSV ends lines with CRLF (RFC 4180), the vendor's with LF
    assert.ok(r.stdout.endsWith('\r\n'));
    assert.equal(LF(r.stdout), vendor);
    // and field by field through the oracle's reader: same rows, counts, times as rounded there
    const mine = r.stdout.trimEnd().split('\r\n').map(splitLine);
    const theirs = vendor.trimEnd().split('\n').map(splitLine);
    assert.deepEqual(mine[0], ['OP Type', 'Core Type', 'Count', 'Total Time(us)', 'Min Time(us)', 'Avg Time(us)', 'Max Time(us)', 'Ratio(%)']);
    assert.equal(mine.length, theirs.length);
    assert.ok(mine.length > 30);
    mine.forEach((row, k) => assert.deepEqual(row, theirs[k], `rank ${rank} line ${k + 1}`));
  }
});

test('op-type (CLI and statsOf, the directory of both ranks): one table per rank, each the rank\'s op_statistic.csv', async () => {
  const r = runCli(['stats', LEVEL1, '--by', 'op-type', '--format', 'csv']);
  assert.equal(r.status, 0, r.stderr);
  // blocks `# name` + table, separated by an empty line
  const blocks = r.stdout.split(/(?<=\r\n)\r\n(?=# )/);
  assert.equal(blocks.length, 2);
  for (const rank of [0, 1]) {
    const [name, ...rest] = blocks[rank]!.split('\r\n');
    assert.equal(name, `# opStatistic.RANK0${rank}`);
    assert.equal(LF(rest.join('\r\n')), readFileSync(vendorFile(LEVEL1, rank, 'op_statistic.csv'), 'utf8'));
  }
  // the library: numbers equal to the file's, as rounded there
  const s = await statsOf([LEVEL1], { views: ['op-type'] });
  assert.deepEqual(s.opTypes!.map((t) => [t.label, t.rank]), [['RANK00', 0], ['RANK01', 1]]);
  for (const rank of [0, 1]) {
    const want = readTable(vendorFile(LEVEL1, rank, 'op_statistic.csv'));
    const got = s.opTypes![rank]!.rows;
    assert.equal(got.length, want.length);
    got.forEach((g, k) => {
      const w = want[k]!;
      assert.deepEqual(
        [g.opType, g.coreType, g.count, g.totalUs, g.minUs, g.avgUs, g.maxUs, g.ratioPct],
        [w['OP Type'], w['Core Type'], Number(w['Count']), Number(w['Total Time(us)']), Number(w['Min Time(us)']), Number(w['Avg Time(us)']), Number(w['Max Time(us)']), Number(w['Ratio(%)'])],
      );
    });
  }
  // statsOf + the CSV renderer give the CLI's text
  assert.equal(renderCsv(sectionsOf(s)), r.stdout);
  // JSON: camelCase keys
  const j = JSON.parse(runCli(['stats', rankDir(LEVEL1, 0), '--by', 'op-type', '--format', 'json']).stdout) as { opTypes: { label: string; rows: Record<string, unknown>[] }[] };
  assert.deepEqual(Object.keys(j.opTypes[0]!.rows[0]!), ['opType', 'coreType', 'count', 'totalUs', 'minUs', 'avgUs', 'maxUs', 'ratioPct']);
});

test('every way of naming a torch_npu rank gives the same statistics; ranks come from profiler_info', async () => {
  const views = ['summary', 'kernel', 'category', 'op', 'op-type', 'rank', 'step'] as const;
  const facts = (r: StatsResult): unknown => ({ ...r, inputs: r.inputs.map((i) => [i.label, i.rank, i.events]), notes: [] });
  const dir = await statsOf([rankDir(LEVEL1, 1)], { views: [...views] });
  assert.deepEqual(dir.inputs.map((i) => [i.label, i.rank, path.basename(i.file)]), [['RANK01', 1, 'trace_view.json']]);
  for (const other of [outputDir(LEVEL1, 1), vendorFile(LEVEL1, 1, 'trace_view.json')]) {
    assert.deepEqual(facts(await statsOf([other], { views: [...views] })), facts(dir), other);
  }
  // the parent directory, or both rank directories in any order: RANK00, RANK01
  const parent = await statsOf([LEVEL1], { views: [...views] });
  assert.deepEqual(parent.inputs.map((i) => [i.label, i.rank]), [['RANK00', 0], ['RANK01', 1]]);
  const both = await statsOf([rankDir(LEVEL1, 1), outputDir(LEVEL1, 0)], { views: [...views] });
  assert.deepEqual(facts(both), facts(parent));
});

test('kernel view: per kernel name, the calls and total, min, max of kernel_details.csv (all ranks, exactly)', async () => {
  for (const level of [LEVEL0, LEVEL1]) {
    const s = await statsOf([level], { views: ['kernel'] });
    const want = kernelOracle([0, 1].map((r) => vendorFile(level, r, 'kernel_details.csv')));
    const got = s.kernels!;
    assert.deepEqual(new Set(got.map((k) => k.name)), new Set(want.keys()));
    for (const k of got) {
      const w = want.get(k.name)!;
      assert.equal(k.calls, w.calls, k.name);
      assert.equal(k.totalUs, w.total / 1000, `total of ${k.name}`);
      assert.equal(k.minUs, w.min / 1000, `min of ${k.name}`);
      assert.equal(k.maxUs, w.max / 1000, `max of ${k.name}`);
    }
    const sumCalls = [...want.values()].reduce((a, k) => a + k.calls, 0);
    assert.equal(got.reduce((a, k) => a + k.calls, 0), sumCalls);
    assert.equal(sumCalls, 2 * 191);
    // level 1 records OP types; the all-reduces are communication either way
    if (level === LEVEL1) assert.equal(got.find((k) => k.name === 'trans_TransData_0')!.type, 'TransData');
    else assert.ok(got.every((k) => k.type === undefined));
    for (const k of got.filter((x) => x.name.startsWith('hcom_allReduce'))) assert.equal(k.category, 'communication');
  }
  // the table shows the OP type column only when there are types
  const csv = runCli(['stats', LEVEL1, '--by', 'kernel', '--format', 'csv']).stdout.split('\r\n')[0];
  assert.equal(csv, 'name,category,type,calls,totalUs,meanUs,medianUs,minUs,maxUs,share');
  assert.equal(runCli(['stats', LEVEL0, '--by', 'kernel', '--format', 'csv']).stdout.split('\r\n')[0], 'name,category,calls,totalUs,meanUs,medianUs,minUs,maxUs,share');
});

test('op view (level 1): per OP type and input shapes over both ranks, the calls of kernel_details.csv; totals within its rounding', async () => {
  const s = await statsOf([LEVEL1], { views: ['op'] });
  assert.equal(s.ops, undefined, 'no cpu_op table for torch_npu profiles');
  const want = new Map<string, { calls: number; total: number; names: Set<string> }>();
  for (const r of [0, 1].flatMap((k) => readTable(vendorFile(LEVEL1, k, 'kernel_details.csv')))) {
    // the shapes as written, without the vendor's one pair of literal quotes
    const unq = (t: string): string => t.replace(/^"(.*)"$/, '$1');
    const key = `${r['Type']}|${unq(r['Input Shapes']!)}|${r['Input Data Types']}`;
    const w = want.get(key) ?? { calls: 0, total: 0, names: new Set<string>() };
    w.calls++;
    w.total += milli(r['Duration(us)']!);
    w.names.add(r['Name']!);
    want.set(key, w);
  }
  const got = s.npuOps!;
  assert.equal(got.length, want.size);
  for (const o of got) {
    const w = want.get(`${o.op}|${o.inputShapes}|${o.inputDataTypes}`);
    assert.ok(w, `${o.op} ${o.inputShapes}`);
    assert.equal(o.calls, w.calls);
    // the trace's full-precision durations: each CSV value is within 0.0005 µs of one
    assert.ok(Math.abs(o.totalUs - w.total / 1000) <= 0.0005 * w.calls + 0.0005 + 1e-9, `${o.op} ${o.inputShapes}: ${o.totalUs} vs ${w.total / 1000}`);
    for (const k of o.kernels) assert.ok(w.names.has(k.name));
  }
  const conv = got.find((o) => o.op === 'Conv2D' && o.inputShapes === '32,1,224,224,8;121,4,16,8;64')!;
  assert.equal(conv.inputDataTypes, 'FLOAT;FLOAT;FLOAT');
  assert.equal(conv.kernels[0]!.name, 'Conv2D1');
  assert.ok(s.notes.every((n) => !/shapes were not recorded/.test(n)), s.notes.join('\n'));
  const j = JSON.parse(runCli(['stats', LEVEL1, '--by', 'op', '--format', 'json']).stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j), ['inputs', 'npuOps']);
});

test('level 0: the op and op-type views say plainly that shapes / types were not recorded and how to record them', async () => {
  const s = await statsOf([LEVEL0], { views: ['op', 'op-type'] });
  assert.deepEqual(s.npuOps, []);
  assert.deepEqual(s.opTypes, []);
  const shapes = s.notes.filter((n) => n.includes('input shapes were not recorded'));
  assert.equal(shapes.length, 2, s.notes.join('\n'));
  for (const [k, n] of shapes.entries()) {
    assert.ok(n.includes(`RANK0${k}`) && n.includes(vendorFile(LEVEL0, k, 'kernel_details.csv')), n);
    assert.match(n, /profiler level Level0/);
    assert.match(n, /profiler_level=torch_npu\.profiler\.ProfilerLevel\.Level1/);
    assert.match(n, /record_shapes=True/);
  }
  assert.equal(s.notes.filter((n) => n.startsWith('op-type view:') && n.includes('OP types were not recorded') && n.includes('Level1')).length, 2, s.notes.join('\n'));
  const r = runCli(['stats', rankDir(LEVEL0, 0), '--by', 'op']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /note: op view: RANK00: .*input shapes were not recorded .*record_shapes=True/);
});

test('summary: compute, communication and their overlap equal the vendor\'s step_trace_time.csv (within 0.01 µs)', async () => {
  for (const level of [LEVEL0, LEVEL1]) {
    const s = await statsOf([level], { views: ['summary'] });
    for (const rank of [0, 1]) {
      const sum = s.summary![rank]!;
      const [v] = readTable(vendorFile(level, rank, 'step_trace_time.csv'));
      const near = (got: number, col: string): void => assert.ok(Math.abs(got - Number(v![col])) <= 0.01, `${level} rank ${rank} ${col}: ${got} vs ${v![col]}`);
      near(sum.computeUs, 'Computing');
      near(sum.communicationUs, 'Communication');
      near(sum.overlapUs, 'Overlapped');
      near(sum.exposedCommunicationUs, 'Communication(Not Overlapped)');
      assert.equal(sum.devices, 1);
      // busy: compute and exposed communication, plus at most the copies
      const trace = JSON.parse(readFileSync(vendorFile(level, rank, 'trace_view.json'), 'utf8')) as { name?: string; ph?: string; dur?: number }[];
      const copies = trace.filter((e) => e.ph === 'X' && e.name === 'MEMCPY_ASYNC').reduce((a, e) => a + (e.dur ?? 0), 0);
      const floor = Number(v!['Computing']) + Number(v!['Communication(Not Overlapped)']);
      assert.ok(sum.busyUs >= floor - 0.01 && sum.busyUs <= floor + copies + 0.01, `busy ${sum.busyUs} outside [${floor}, ${floor + copies}]`);
    }
  }
});

test('steps: ProfilerStep#N (a cpu_op in torch_npu traces) with its duration from the trace', async () => {
  const s = await statsOf([LEVEL1], { views: ['step'] });
  for (const rank of [0, 1]) {
    const trace = JSON.parse(readFileSync(vendorFile(LEVEL1, rank, 'trace_view.json'), 'utf8')) as { name?: string; ph?: string; dur?: number }[];
    const step = trace.filter((e) => e.ph === 'X' && /^ProfilerStep#\d+$/.test(e.name ?? ''));
    assert.equal(step.length, 1);
    const got = s.steps!.filter((x) => x.label === `RANK0${rank}`);
    assert.deepEqual(got.map((x) => [x.name, x.wallUs]), [[step[0]!.name, step[0]!.dur]]);
    assert.ok(got[0]!.communicationUs > 0 && got[0]!.busyUs > got[0]!.communicationUs);
  }
});

test('without kernel_details.csv: the kernel view counts the device tasks of trace_view.json, and a note says why', async () => {
  await withTempDir('stats-ascend', async (dir) => {
    const copy = path.join(dir, 'rank0_ascend_pt');
    cpSync(rankDir(LEVEL1, 0), copy, { recursive: true });
    rmSync(path.join(copy, 'ASCEND_PROFILER_OUTPUT', 'kernel_details.csv'));
    const s = await statsOf([copy], { views: ['kernel', 'op', 'op-type'] });
    assert.ok(s.notes.some((n) => /^RANK00: .*no kernel_details\.csv.*the kernel view counts the device tasks of trace_view\.json/.test(n)), s.notes.join('\n'));
    assert.deepEqual(s.npuOps, []);
    assert.deepEqual(s.opTypes, []);
    // every computing task of kernel_details is a device task of the trace: same calls per name
    const want = kernelOracle([vendorFile(LEVEL1, 0, 'kernel_details.csv')]);
    const got = new Map(s.kernels!.map((k) => [k.name, k]));
    for (const [name, w] of want) assert.equal(got.get(name)?.calls, w.calls, name);
    // and copies, which kernel_details leaves out
    assert.equal(got.get('MEMCPY_ASYNC')!.category, 'memcpy');
  });
});

test('a merged torch_npu trace is split back into its ranks with the same device timeline', async () => {
  await withTempDir('stats-ascend-merged', async (dir) => {
    const out = path.join(dir, 'merged.json');
    await mergeTraces({ inputs: [LEVEL1], output: out });
    const views = ['summary', 'category', 'rank'] as const;
    const merged = await statsOf([out], { views: [...views] });
    const dirs = await statsOf([LEVEL1], { views: [...views] });
    assert.deepEqual(merged.inputs.map((i) => i.label), ['RANK00', 'RANK01']);
    const facts = (r: StatsResult): unknown => r.summary!.map((x) => [x.label, x.devices, x.kernels, x.busyUs, x.computeUs, x.communicationUs, x.overlapUs, x.categories]);
    assert.deepEqual(facts(merged), facts(dirs));
    assert.deepEqual(merged.ranks!.collectives, dirs.ranks!.collectives);
  });
});

test('op-type on Kineto traces: an empty table and a note', async () => {
  const s = await statsOf([realFixture('h200', 'tp2')], { views: ['op-type'] });
  assert.deepEqual(s.opTypes, []);
  assert.ok(s.notes.some((n) => n.startsWith('op-type view:') && n.includes('torch_npu')), s.notes.join('\n'));
});
