import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { Categorizer } from '../../src/analysis/categories.js';
import { StatsCollector, rankSplitOf, restrictToPids, type TraceRecords } from '../../src/analysis/collect.js';
import { scanBuffer } from '../../src/io/read.js';
import { opStats } from '../../src/analysis/ops.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TP0 = path.join(ROOT, 'test', 'fixtures', 'real', 'h200', 'tp2', '1763900000-TP-0.trace.json.gz');

function collect(data: Buffer, chunk = data.length): { c: StatsCollector; r: TraceRecords; cats: Categorizer } {
  const cats = new Categorizer();
  const c = new StatsCollector({
    categorize: (n, k) => cats.categoryOf(n, k), communication: cats.communication, ops: true, groups: true, launches: true, python: true,
    file: 'inline',
  });
  scanBuffer(data, c, 'inline', chunk);
  return { c, r: c.result(), cats };
}

/** Records as plain data (typed arrays to lists) for deepEqual. */
function plain(r: TraceRecords): unknown {
  return JSON.parse(JSON.stringify(r, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : typeof v === 'bigint' ? v.toString() : v)));
}

test('records do not depend on where chunks end (a real trace read in 1 MB, 4093 B and 997 B pieces)', () => {
  const data = gunzipSync(readFileSync(TP0));
  const whole = plain(collect(data, 1 << 20).r);
  for (const chunk of [4093, 997]) assert.deepEqual(plain(collect(data, chunk).r), whole, `chunk ${chunk}`);
});

const INLINE = `{"traceEvents": [
  {"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, "tid": 1, "ts": 100.5, "dur": 10,
   "args": {"Ev Idx": 1, "meta": {"Input type": ["nested"]}, "Input Dims": [[2, 3], [3, 4]], "note": "say \\"Input type\\": no", "Input type": ["float", "float"], "External id": 7}},
  {"ph":"X","cat":"cpu_op","name":"aten::mm","pid":1,"tid":1,"ts":120,"dur":10,"args":{"External id":8,"Input type":["float","float"],"Input Strides":[[3,1],[4,1]],"Input Dims":[[2,3],[3,4]]}},
  {"ph":"X","cat":"cpu_op","name":"aten::mm","pid":1,"tid":1,"ts":140,"dur":10,"args":{"external id":9,"Input type":["float","float"],"Input Dims":[[2,3],[3,5]]}},
  {"ph":"X","cat":"cpu_op","name":"aten::zero_","pid":1,"tid":2,"ts":140,"dur":1},
  {"ph":"X","cat":"kernel","name":"gemm \\"q\\"","pid":0,"tid":7,"ts":101,"dur":2,"args":{"External id":7}},
  {"ph":"X","cat":"kernel","name":"gemm \\"q\\"","pid":0,"tid":7,"ts":121,"dur":3,"args":{"correlation":5,"External id":8}},
  {"ph":"X","cat":"Kernel","name":"old","pid":0,"tid":7,"ts":141,"dur":4,"args":{"external id":9}},
  {"ph":"X","cat":"kernel","name":"nodur","pid":0,"tid":7,"ts":150},
  {"ph":"X","cat":"kernel","name":"neg","pid":0,"tid":7,"ts":151,"dur":-1},
  {"ph":"X","cat":"kernel","name":"nots","pid":0,"tid":7},
  {"ph":"X","cat":"kernel","name":"ncclDevKernel_AllReduce_Sum_f32_RING_LL(x)","pid":0,"tid":8,"ts":160,"dur":5,"args":{"Collective name":"allreduce","Process Group Name":"7"}},
  {"ph":"X","cat":"gpu_memcpy","name":"Memcpy HtoD (Pinned -> Device)","pid":0,"tid":8,"ts":170,"dur":1.25},
  {"ph":"X","cat":"user_annotation","name":"ProfilerStep#3","pid":1,"tid":1,"ts":99,"dur":80,"args":{"External id":1}},
  {"ph":"X","cat":"gpu_user_annotation","name":"ProfilerStep#3","pid":0,"tid":7,"ts":100,"dur":79,"args":{"External id":1}},
  {"ph":"f","id":5,"pid":0,"tid":7,"ts":121,"cat":"ac2g","name":"ac2g","bp":"e"},
  {"name":"process_name","ph":"M","pid":0,"tid":0,"args":{"name":"python3"}},
  {"name":"process_labels","ph":"M","pid":0,"tid":0,"args":{"labels":"GPU 0"}}
], "baseTimeNanoseconds": 1000000000000}`;

test('inline trace: args members found wherever they sit, escapes decoded, old categories, data problems counted', () => {
  const { c, r, cats } = collect(Buffer.from(INLINE));
  // op keys are byte strings: the first two differ only in white space (the op view merges
  // them); a nested "Input type" and one inside a string are not the member
  assert.deepEqual(r.opKeys.map((k) => [k.name, k.dims, k.types]), [
    ['aten::mm', '[[2, 3], [3, 4]]', '["float", "float"]'],
    ['aten::mm', '[[2,3],[3,4]]', '["float","float"]'],
    ['aten::mm', '[[2,3],[3,5]]', '["float","float"]'],
    ['aten::zero_', '', ''],
  ]);
  const o = r.ops!;
  assert.deepEqual(Array.from(o.key), [0, 1, 2, 3]);
  const ops = opStats([{ label: 'x', file: 'inline', rank: null, records: r }]).ops;
  assert.deepEqual(ops.map((x) => [x.name, x.inputDims, x.calls, x.deviceSelfUs]), [
    ['aten::mm', [[2, 3], [3, 4]], 2, 5],
    ['aten::mm', [[2, 3], [3, 5]], 1, 4],
    ['aten::zero_', null, 1, 0],
  ]);
  assert.deepEqual(Array.from(o.ext).map((x) => (Number.isNaN(x) ? null : x)), [7, 8, 9, null]);
  // one track table for every record kind: CPU threads of the ops, GPU streams of the kernels
  assert.deepEqual(Array.from(o.thread).map((t) => r.threads[t]!.tid), ['1', '1', '1', '2']);
  assert.deepEqual(Array.from(r.device.thread).map((t) => r.threads[t]!.tid), ['7', '7', '7', '7', '7', '8', '8']);
  // device records: "nots" is skipped (no ts), "nodur" and "neg" count as zero-length
  const d = r.device;
  assert.deepEqual(Array.from(d.name).map((i) => r.names[i]), ['gemm "q"', 'gemm "q"', 'old', 'nodur', 'neg', 'ncclDevKernel_AllReduce_Sum_f32_RING_LL(x)', 'Memcpy HtoD (Pinned -> Device)']);
  assert.deepEqual(Array.from(d.dur), [2000, 3000, 4000, 0, 0, 5000, 1250]);
  assert.deepEqual(Array.from(d.start), [1000, 21000, 41000, 50000, 51000, 60000, 70000], 'ns from the first integer µs (100)');
  assert.deepEqual(Array.from(d.ext).map((x) => (Number.isNaN(x) ? null : x)), [7, 8, 9, null, null, null, null]);
  assert.deepEqual(Array.from(d.category).map((k) => cats.names[k]), ['GEMM', 'GEMM', 'other', 'other', 'other', 'communication', 'memcpy']);
  assert.deepEqual(Array.from(d.group).map((g) => (g < 0 ? null : r.groups[g])), [null, null, null, null, null, '7', null]);
  assert.deepEqual(c.diagnostics.list().map((e) => [e.name, e.count]), [
    ['complete_event_missing_dur', 1], ['event_missing_ts', 1], ['negative_duration', 1],
  ]);
  assert.equal(r.originNs, 1000000000000n + 100n * 1000n);
  assert.equal(r.pids.find((p) => p.raw === '0')?.labels, 'GPU 0');
  // every annotation is kept (the step view picks its steps among them), in any chunking
  const withSteps = collect(Buffer.from(INLINE), 64).r;
  assert.deepEqual(r.annotations, withSteps.annotations);
  assert.deepEqual(withSteps.annotations.map((a) => [a.name, a.gpu, a.ext, a.start, a.dur]), [
    ['ProfilerStep#3', false, 1, -1000, 80000],
    ['ProfilerStep#3', true, 1, 0, 79000],
  ]);
});

test('a merged trace splits by its traceforgeMerge key, else by [LABEL] process names', () => {
  const merged = `{"traceforgeMerge": {"ranks": [
      {"label": "TP00", "rank": 0, "pids": {"1000": {"label": "[TP00] GPU 0", "originalPid": "0"}, "1001": {"label": "[TP00] python3", "originalPid": "9"}}},
      {"label": "TP01", "rank": 1, "pids": {"2000": {"label": "[TP01] GPU 0", "originalPid": "0"}}}]},
    "traceEvents": [
      {"ph":"X","cat":"kernel","name":"k","pid":1000,"tid":7,"ts":1,"dur":1},
      {"ph":"X","cat":"kernel","name":"k","pid":2000,"tid":7,"ts":2,"dur":2},
      {"ph":"X","cat":"cpu_op","name":"op","pid":1001,"tid":1,"ts":0,"dur":5},
      {"ph":"X","cat":"cpu_op","name":"stray","pid":"x","tid":1,"ts":0,"dur":5},
      {"name":"process_name","ph":"M","pid":1000,"tid":0,"args":{"name":"[TP00] GPU 0"}},
      {"name":"process_name","ph":"M","pid":2000,"tid":0,"args":{"name":"[TP01] GPU 0"}}]}`;
  const { c, r } = collect(Buffer.from(merged));
  const split = rankSplitOf(r, c.top)!;
  assert.deepEqual(split.ranks.map((s) => [s.label, s.rank]), [['TP00', 0], ['TP01', 1]]);
  assert.deepEqual(split.unassigned, ['x']);
  const r0 = restrictToPids(r, split.ranks[0]!.keep);
  const r1 = restrictToPids(r, split.ranks[1]!.keep);
  assert.deepEqual(Array.from(r0.device.dur), [1000]);
  assert.deepEqual(Array.from(r1.device.dur), [2000]);
  assert.equal(r0.ops!.count, 1);
  assert.equal(r1.ops!.count, 0);
  // without the key: the [LABEL] prefixes of process_name
  const byName = collect(Buffer.from(merged.replace('"traceforgeMerge"', '"somethingElse"')));
  const split2 = rankSplitOf(byName.r, byName.c.top)!;
  assert.deepEqual(split2.ranks.map((s) => s.label), ['TP00', 'TP01']);
  assert.deepEqual(split2.unassigned.sort(), ['1001', 'x'], 'pid 1001 has no process_name, so no label');
  // an ordinary trace is not split
  const plainTrace = collect(Buffer.from(INLINE));
  assert.equal(rankSplitOf(plainTrace.r, plainTrace.c.top), undefined);
});

test('launch, Python and annotation records of a real trace equal an independent reading of its JSON', () => {
  const data = gunzipSync(readFileSync(TP0));
  const c = new StatsCollector({ categorize: () => 0, communication: 1, launches: true, python: true, ops: true, file: 'tp0' });
  scanBuffer(data, c, 'tp0', 1 << 20);
  const r = c.result();
  type Ev = { ph: string; cat?: string; name: string; ts?: number; dur?: number; tid: unknown; args?: Record<string, unknown> };
  const events = (JSON.parse(data.toString('utf8')) as { traceEvents: Ev[] }).traceEvents;
  const api = events.filter((e) => e.ph === 'X' && (e.cat === 'cuda_runtime' || e.cat === 'cuda_driver') && e.ts !== undefined);
  const launches = r.launches!;
  assert.equal(launches.count, api.length);
  api.forEach((e, i) => {
    assert.equal(r.apiNames[launches.name[i]!], e.name);
    const corr = e.args?.['correlation'];
    assert.equal(Number.isNaN(launches.corr[i]!) ? undefined : launches.corr[i], corr);
    const ext = e.args?.['External id'];
    assert.equal(Number.isNaN(launches.ext[i]!) ? undefined : launches.ext[i], ext);
    assert.equal(r.threads[launches.thread[i]!]!.tid, String(e.tid));
  });
  const kernels = events.filter((e) => e.ph === 'X' && (e.cat === 'kernel' || e.cat === 'gpu_memset' || e.cat === 'gpu_memcpy'));
  assert.equal(r.device.count, kernels.length);
  kernels.forEach((e, i) => {
    assert.equal(r.device.corr[i], e.args?.['correlation']);
    assert.equal(r.threads[r.device.thread[i]!]!.tid, String(e.tid));
  });
  const py = events.filter((e) => e.ph === 'X' && e.cat === 'python_function');
  assert.equal(r.python!.count, py.length);
  assert.ok(py.length > 1000);
  py.forEach((e, i) => assert.equal(r.frameNames[r.python!.name[i]!], e.name));
  const anns = events.filter((e) => e.ph === 'X' && (e.cat === 'user_annotation' || e.cat === 'gpu_user_annotation'));
  assert.deepEqual(r.annotations.map((a) => [a.name, a.gpu]), anns.map((e) => [e.name, e.cat === 'gpu_user_annotation']));
});
