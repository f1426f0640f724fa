/**
 * Kernels traced back to their op, shapes and Python source, also under CUDA/HIP graphs.
 * The oracles read the raw JSON here (JSON.parse, plain loops); nothing but statsOf is imported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { statsOf } from '../../src/pipeline/stats.js';
import { realFixture, runCli, withTempDir } from '../helpers.js';
import { DEVICE, RUNTIME, corrOf, graphReplays, load, ns, type Ev } from '../oracle-events.js';

/** Replay kernels of every graph launch, ts order, one list per launch. */
const replays = (ev: Ev[]): Ev[][] => graphReplays(ev).map((r) => r.kernels);



/** Launches captured between Begin/EndCapture that did not run, with their cpu_op (External id). */
function captured(ev: Ev[]): { kernel: unknown; op: Ev }[] {
  const rt = ev.filter((e) => e.ph === 'X' && RUNTIME.has(e.cat ?? '')).sort((a, b) => a.ts! - b.ts!);
  const begin = rt.find((e) => /StreamBeginCapture/.test(e.name))!;
  const end = rt.find((e) => /StreamEndCapture/.test(e.name))!;
  const ran = new Set(ev.filter((e) => e.ph === 'X' && DEVICE.has(e.cat ?? '')).map(corrOf));
  const ops = new Map(ev.filter((e) => e.cat === 'cpu_op').map((e) => [e.args?.['External id'], e]));
  return rt.filter((e) => e.ts! > begin.ts! && e.ts! < end.ts! && e.tid === begin.tid && /Launch\w*Kernel/.test(e.name) && !ran.has(corrOf(e)))
    .map((e) => ({ kernel: e.args?.['kernel'], op: ops.get(e.args?.['External id'])! }));
}

const dimsKey = (op: string, dims: unknown): string => `${op} ${JSON.stringify(dims)}`;

test('SGLang (HIP): every replay kernel gets the op and shapes of its captured launch; GEMMs checked by hand', async () => {
  const replayFile = realFixture('public', 'tracelens', 'sglang_Qwen3-8B_decode.json.gz');
  const captureFile = realFixture('public', 'tracelens', 'capture_traces', 'bs_32_rank0.json.gz');
  const rev = load(replayFile);
  const [rep] = replays(rev);
  const cap = captured(load(captureFile));
  assert.equal(rep!.length, 544);
  assert.equal(cap.length, 544);
  // oracle: kernel i of the replay <-> captured launch i (HIP names them: byte-identical)
  const want = new Map<string, { calls: number; ns: number }>();
  rep!.forEach((k, i) => {
    assert.equal(k.name, cap[i]!.kernel);
    const key = dimsKey(cap[i]!.op.name, cap[i]!.op.args?.['Input Dims']);
    const w = want.get(key) ?? { calls: 0, ns: 0 };
    w.calls++; w.ns += ns(k.dur);
    want.set(key, w);
  });
  // auto-discovered: capture_traces/ sits next to the trace
  const r = await statsOf([replayFile], { views: ['kernel', 'op', 'source'] });
  assert.deepEqual(r.attribution!.captureFiles.map((f) => path.basename(f)), ['bs_32_rank0.json.gz']);
  const capRoute = r.attribution!.routes.find((x) => x.route === 'capture')!;
  assert.equal(capRoute.kernels, 544);
  const all = rev.filter((e) => e.ph === 'X' && DEVICE.has(e.cat ?? ''));
  assert.equal(all.length, 555 + 3);
  const total = all.reduce((a, e) => a + ns(e.dur), 0);
  const replayNs = rep!.reduce((a, e) => a + ns(e.dur), 0);
  assert.equal(Math.round(capRoute.us * 1000), replayNs);
  assert.equal(capRoute.share, replayNs / total);
  assert.ok(r.notes.some((n) => /544 of 544 attributed via capture/.test(n)), r.notes.join('\n'));
  // the GEMMs by hand (graph-data.md): [32, 4096] x [4096, N]
  const gemms: [number[][], number][] = [[[[32, 4096], [4096, 6144]], 36], [[[32, 4096], [4096, 4096]], 36],
    [[[32, 4096], [4096, 24576]], 36], [[[32, 12288], [12288, 4096]], 36], [[[32, 4096], [4096, 151936]], 1]];
  for (const [dims, calls] of gemms) {
    const row = r.ops!.find((o) => o.name === 'aten::mm' && JSON.stringify(o.inputDims) === JSON.stringify(dims));
    assert.ok(row, JSON.stringify(dims));
    const w = want.get(dimsKey('aten::mm', dims))!;
    assert.equal(w.calls, calls);
    assert.equal(row.calls, calls);
    assert.equal(Math.round(row.deviceSelfUs * 1000), w.ns);
  }
  // every GEMM kernel of the replay (Tensile Cijk_) names its aten::mm, for all of its time
  const gemmKernels = r.kernels!.filter((k) => k.name.startsWith('Cijk_'));
  assert.equal(gemmKernels.reduce((a, k) => a + k.calls, 0), 145);
  for (const k of gemmKernels) {
    assert.match(k.op ?? '', /^aten::mm \[\[32, /, k.name);
    assert.equal(k.opShare, 1);
  }
  // every captured op shows up with the replay's time
  for (const [key, w] of want) {
    const row = r.ops!.find((o) => dimsKey(o.name, o.inputDims) === key)!;
    assert.ok(row.deviceSelfUs * 1000 >= w.ns - 1, key);
  }
  // sources: the module's own forward line
  const qkv = r.sources!.find((s) => /srt\/layers\/linear\.py\(461\): forward$/.test(s.name))!;
  assert.ok(qkv.ops.some((o) => o.name === 'aten::mm [[32, 4096], [4096, 24576]]'));
});

test('pdl pair: the mapping route gives the nvjet kernels of the replay aten::mm [[2048, 2048], [2048, 2048]]', async () => {
  const graph = realFixture('h200', 'pdl-cudagraph.trace.json.gz');
  const eager = realFixture('h200', 'pdl-eager.trace.json.gz');
  const reps = replays(load(graph));
  assert.equal(reps.length, 6);
  const nvjet = reps.flat().filter((k) => k.name.startsWith('nvjet_'));
  assert.equal(nvjet.length, 48);
  const r = await statsOf([graph], { views: ['op'], mapping: [eager] });
  const mm = r.ops!.filter((o) => o.name === 'aten::mm');
  assert.equal(mm.length, 1);
  assert.deepEqual(mm[0]!.inputDims, [[2048, 2048], [2048, 2048]]);
  assert.equal(mm[0]!.calls, 48);
  assert.equal(Math.round(mm[0]!.deviceSelfUs * 1000), nvjet.reduce((a, k) => a + ns(k.dur), 0));
  assert.deepEqual(mm[0]!.kernels.map((k) => [k.name, k.calls]), [[nvjet[0]!.name, 48]]);
  assert.equal(r.attribution!.routes.find((x) => x.route === 'mapping')!.kernels, 240);
  assert.equal(r.opLinks!.replayedKernels, 48);
});

interface Gemm { name: string; M: number; N: number; K: number; count: number }

for (const route of ['capture', 'mapping'] as const) {
  test(`tiny: the ${route} route attributes 276/276 replay kernels; GEMM dims are tiny-truth's M, N, K`, async () => {
    const graph = realFixture('h200', 'tiny', 'tiny-graph.trace.json.gz');
    const other = realFixture('h200', 'tiny', route === 'capture' ? 'tiny-capture.trace.json.gz' : 'tiny-eager.trace.json.gz');
    const truth = JSON.parse(readFileSync(realFixture('h200', 'tiny', 'tiny-truth.json'), 'utf8')) as { gemms_per_step: Gemm[]; traces: { 'tiny-graph': { steps: number } } };
    const steps = truth.traces['tiny-graph'].steps;
    const reps = replays(load(graph));
    assert.equal(reps.length, steps);
    const r = await statsOf([graph], { views: ['op'], ...(route === 'capture' ? { capture: [other] } : { mapping: [other] }) });
    const rt = r.attribution!.routes.find((x) => x.route === route)!;
    assert.equal(rt.kernels, 276);
    assert.equal(r.attribution!.replays.kernels, 276);
    assert.equal(r.attribution!.routes.some((x) => x.route === 'graph replay, unattributed'), false);
    const mm = r.ops!.filter((o) => o.name === 'aten::mm');
    assert.equal(mm.length, truth.gemms_per_step.length);
    for (const g of truth.gemms_per_step) {
      const row = mm.find((o) => {
        const d = o.inputDims as number[][];
        return d[0]![0] === g.M && d[0]![1] === g.K && d[1]![1] === g.N;
      });
      assert.ok(row, `${g.name} M${g.M} N${g.N} K${g.K}`);
      assert.equal(row.calls, g.count * steps, g.name);
    }
  });
}

test('tiny: both routes together agree (no conflicts)', async () => {
  const r = await statsOf([realFixture('h200', 'tiny', 'tiny-graph.trace.json.gz')], {
    views: ['source'], capture: [realFixture('h200', 'tiny', 'tiny-capture.trace.json.gz')], mapping: [realFixture('h200', 'tiny', 'tiny-eager.trace.json.gz')],
  });
  assert.equal(r.attribution!.conflicts, 0);
  assert.equal(r.attribution!.routes.find((x) => x.route === 'capture')!.kernels, 276);
  // the mm kernels: no frame below nn.Module Linear is user code, so the source falls back to the innermost user frame
  assert.ok(r.sources!.some((s) => s.name === 'llm_trace.py(49): forward' && s.ops.some((o) => o.name.startsWith('aten::mm'))));
});

test('fail safe: a capture or mapping of another workload attributes nothing; the time stays "graph replay, unattributed"', async () => {
  const graph = realFixture('h200', 'tiny', 'tiny-graph.trace.json.gz');
  const r = await statsOf([graph], { views: ['op', 'source'], capture: [realFixture('public', 'tracelens', 'capture_traces', 'bs_32_rank0.json.gz')], mapping: [realFixture('h200', 'pdl-eager.trace.json.gz')] });
  const un = r.attribution!.routes.find((x) => x.route === 'graph replay, unattributed')!;
  assert.equal(un.kernels, 276);
  assert.equal(r.sources!.find((s) => s.name === '(graph replay, unattributed)')!.calls, 276);
  assert.equal(r.opLinks!.replayedKernels, undefined);
  assert.ok(r.notes.some((n) => /0 of 69 attributed/.test(n)));
  const diag = r.diagnostics.find((d) => d.name === 'graph_replay_unattributed')!;
  assert.equal(diag.count, 276);
  assert.equal(diag.examples[0]!.name, replays(load(graph))[0]![0]!.name);
});

/** A synthetic CUDA pair: two capture regions of two launches each (bs 1 and bs 4), and a replay. */
function syntheticPair(dir: string, replayBs: number | undefined): { replay: string; capture: string } {
  const ev: object[] = [];
  let corr = 1;
  let t = 1000;
  const region = (bs: number): void => {
    ev.push({ ph: 'X', cat: 'user_annotation', name: `capture_${bs}_DECODE`, pid: 1, tid: 1, ts: t, dur: 100 });
    ev.push({ ph: 'X', cat: 'cuda_runtime', name: 'cudaStreamBeginCapture', pid: 1, tid: 1, ts: t + 1, dur: 1, args: { correlation: corr++ } });
    for (const [k, n] of [[0, 'aten::mm'], [1, 'aten::add']] as const) {
      const ext = corr * 10;
      ev.push({ ph: 'X', cat: 'cpu_op', name: n, pid: 1, tid: 1, ts: t + 10 + 20 * k, dur: 10, args: { 'External id': ext, 'Input Dims': [[bs, 64], [64, 64]], 'Input type': ['float', 'float'] } });
      ev.push({ ph: 'X', cat: 'cuda_runtime', name: 'cudaLaunchKernel', pid: 1, tid: 1, ts: t + 12 + 20 * k, dur: 2, args: { 'External id': ext, correlation: corr++ } });
    }
    ev.push({ ph: 'X', cat: 'cuda_runtime', name: 'cudaStreamEndCapture', pid: 1, tid: 1, ts: t + 80, dur: 1, args: { correlation: corr++ } });
    t += 200;
  };
  region(1);
  region(4);
  const capture = path.join(dir, 'cap.json');
  writeFileSync(capture, JSON.stringify({ traceEvents: ev }));
  const rev: object[] = [];
  if (replayBs !== undefined) rev.push({ ph: 'X', cat: 'user_annotation', name: `step[DECODE bs=${replayBs}]`, pid: 1, tid: 1, ts: 5, dur: 100 });
  rev.push({ ph: 'X', cat: 'cuda_runtime', name: 'cudaGraphLaunch', pid: 1, tid: 1, ts: 10, dur: 5, args: { correlation: 77 } });
  rev.push({ ph: 'X', cat: 'kernel', name: 'gemm_kernel', pid: 0, tid: 7, ts: 20, dur: 3, args: { correlation: 77, stream: 7 } });
  rev.push({ ph: 'X', cat: 'kernel', name: 'add_kernel', pid: 0, tid: 7, ts: 24, dur: 1, args: { correlation: 77, stream: 7 } });
  const replay = path.join(dir, 'replay.json');
  writeFileSync(replay, JSON.stringify({ traceEvents: rev }));
  return { replay, capture };
}

test('several capture regions fit a nameless CUDA replay: the batch size decides, and without one the disagreeing kernels stay unattributed', async () => {
  await withTempDir('attr', async (dir) => {
    const a = syntheticPair(dir, 4);
    const r = await statsOf([a.replay], { views: ['op'], capture: [a.capture] });
    const mm = r.ops!.find((o) => o.name === 'aten::mm')!;
    assert.deepEqual(mm.inputDims, [[4, 64], [64, 64]]);
    assert.equal(r.attribution!.routes.find((x) => x.route === 'capture')!.kernels, 2);
    const b = syntheticPair(dir, undefined);
    const u = await statsOf([b.replay], { views: ['op'], capture: [b.capture] });
    assert.equal(u.ops!.some((o) => o.name === 'aten::mm'), false);
    assert.equal(u.attribution!.routes.find((x) => x.route === 'graph replay, unattributed')!.kernels, 2);
    assert.ok(u.notes.some((n) => /differ between 2 matching candidates/.test(n)), u.notes.join('\n'));
    // a graph-off run picks the capture region whose ops it shares
    const eager = path.join(dir, 'eager.json');
    writeFileSync(eager, JSON.stringify({ traceEvents: [
      { ph: 'X', cat: 'user_annotation', name: 'decode_step_0', pid: 1, tid: 1, ts: 0, dur: 100 },
      ...(['gemm_kernel', 'add_kernel'] as const).flatMap((k, j) => [
        { ph: 'X', cat: 'cpu_op', name: j === 0 ? 'aten::mm' : 'aten::add', pid: 1, tid: 1, ts: 10 + 20 * j, dur: 10, args: { 'External id': 5 + j, 'Input Dims': [[4, 64], [64, 64]], 'Input type': ['float', 'float'] } },
        { ph: 'X', cat: 'cuda_runtime', name: 'cudaLaunchKernel', pid: 1, tid: 1, ts: 12 + 20 * j, dur: 2, args: { 'External id': 5 + j, correlation: 50 + j } },
        { ph: 'X', cat: 'kernel', name: k, pid: 0, tid: 7, ts: 60 + 5 * j, dur: 3, args: { 'External id': 5 + j, correlation: 50 + j, stream: 7 } },
      ]),
    ] }));
    const m = await statsOf([b.replay], { views: ['op'], capture: [b.capture], mapping: [eager] });
    assert.deepEqual(m.ops!.find((o) => o.name === 'aten::mm')!.inputDims, [[4, 64], [64, 64]]);
    assert.equal(m.attribution!.routes.find((x) => x.route === 'capture')!.kernels, 2);
    assert.equal(m.attribution!.conflicts, 0);
  });
});

test('--capture that is not a trace: one line naming the file, exit 2', () => {
  const bad = realFixture('h200', 'tiny', 'tiny-truth.json');
  const r = runCli(['stats', realFixture('h200', 'tiny', 'tiny-graph.trace.json.gz'), '--by', 'op', '--capture', bad]);
  assert.equal(r.status, 2);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('traceforge:'));
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.includes('tiny-truth.json'), r.stderr);
  const missing = runCli(['stats', realFixture('h200', 'tiny', 'tiny-graph.trace.json.gz'), '--capture', '/nonexistent/capture']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /\/nonexistent\/capture/);
});

/** Oracle: the innermost frame on the launch's thread containing it that is not built-in / torch / stdlib. */
function sourcesOracle(file: string): Map<string, number> {
  const ev = load(file);
  const launches = new Map<unknown, Ev>();
  for (const e of ev) if (e.ph === 'X' && RUNTIME.has(e.cat ?? '') && corrOf(e) !== undefined && !launches.has(corrOf(e))) launches.set(corrOf(e), e);
  const frames = ev.filter((e) => e.ph === 'X' && e.cat === 'python_function' && !/^<|^torch\/|^nn\.Module|(^|\/)(threading|typing|contextlib|functools)\.py\(/.test(e.name));
  const out = new Map<string, number>();
  for (const k of ev) {
    if (k.ph !== 'X' || !DEVICE.has(k.cat ?? '')) continue;
    const l = launches.get(corrOf(k));
    let best: Ev | undefined;
    if (l) {
      for (const f of frames) {
        if (f.pid !== l.pid || f.tid !== l.tid) continue;
        if (ns(f.ts) <= ns(l.ts) && ns(f.ts) + ns(f.dur) >= ns(l.ts) + ns(l.dur) - 1 && (!best || f.ts! > best.ts!)) best = f;
      }
    }
    const name = best?.name ?? '(no Python frame)';
    out.set(name, (out.get(name) ?? 0) + ns(k.dur));
  }
  return out;
}

test('tp2 --by source: the forward line with the all-reduce call in it, totals equal to an independent sweep', async () => {
  const files = ['1763900000-TP-0.trace.json.gz', '1763900000-TP-1.trace.json.gz'].map((f) => realFixture('h200', 'tp2', f));
  const r = await statsOf(files, { views: ['source', 'module'] });
  const want = new Map<string, number>();
  for (const f of files) for (const [k, v] of sourcesOracle(f)) want.set(k, (want.get(k) ?? 0) + v);
  assert.deepEqual(new Map(r.sources!.map((s) => [s.name, Math.round(s.gpuUs * 1000)])), want);
  assert.equal(r.sources![0]!.name, 'tp_trace.py(33): forward');
  const nccl = r.sources![0]!.kernels.find((k) => k.name.startsWith('ncclDevKernel_AllReduce'));
  assert.ok(nccl, 'the all-reduce kernels are launched from the forward');
  assert.ok(r.sources![0]!.ops.some((o) => o.name.startsWith('record_param_comms')));
  // no nn.Module frames in this trace
  assert.deepEqual(r.modules!.map((m) => m.name), ['(no nn.Module)']);
});

test('info: a replay (with the capture files next to it), a capture, or eager', async () => {
  const { infoOf } = await import('../../src/pipeline/info.js');
  const replay = (await infoOf(realFixture('public', 'tracelens', 'sglang_Qwen3-8B_decode.json.gz'))).traces[0]!.graphs;
  assert.equal(replay.kind, 'replay');
  assert.equal(replay.graphLaunches, 1);
  assert.deepEqual(replay.captureFiles.map((f) => path.basename(f)), ['bs_32_rank0.json.gz']);
  const cap = (await infoOf(realFixture('h200', 'tiny', 'tiny-capture.trace.json.gz'))).traces[0]!.graphs;
  assert.equal(cap.kind, 'capture');
  assert.equal(cap.captures, 1);
  assert.equal((await infoOf(realFixture('h200', 'tiny', 'tiny-eager.trace.json.gz'))).traces[0]!.graphs.kind, 'eager');
  assert.equal((await infoOf(realFixture('h200', 'pdl-cudagraph.trace.json.gz'))).traces[0]!.graphs.graphLaunches, 6);
});

test('diff --by source: eager vs graph replay (with its capture) compared per Python location', async () => {
  const { diffOf } = await import('../../src/pipeline/diff.js');
  const r = await diffOf(realFixture('h200', 'tiny', 'tiny-eager.trace.json.gz'), realFixture('h200', 'tiny', 'tiny-graph.trace.json.gz'),
    { views: ['source', 'module'], capture: [realFixture('h200', 'tiny', 'tiny-capture.trace.json.gz')], normalize: 'none' });
  const fwd = r.sources!.find((x) => x.name === 'llm_trace.py(36): forward')!;
  assert.equal(fwd.status, 'both');
  assert.equal(r.sources!.some((x) => x.name === '(graph replay, unattributed)'), false);
  // the graph side launches each of these kernels once per replay: 4 replays; the eager side once per step
  const rn = r.modules!.find((x) => x.name === 'Model/Layer/RMSNorm')!;
  assert.equal(rn.status, 'both');
  assert.equal(rn.candidate!.calls, 144);
});

test('report: the source and module tables and the attribution line', async () => {
  const { reportDataOf, chartAssets } = await import('../../src/pipeline/report.js');
  const { renderReportHtml } = await import('../../src/report/html.js');
  const data = await reportDataOf([realFixture('h200', 'tiny', 'tiny-graph.trace.json.gz')], { capture: [realFixture('h200', 'tiny', 'tiny-capture.trace.json.gz')] });
  assert.ok((data.stats.sources ?? []).length > 0);
  const html = renderReportHtml(data, await chartAssets());
  assert.ok(html.includes('id="table-sources"') && html.includes('id="table-modules"'));
  assert.match(html, /of device time has an op, [\d.]+% a Python source; by route: eager [\d.]+% \(4\), capture [\d.]+% \(276\)/);
});

test('--library: frames it matches are never the source', async () => {
  const files = ['1763900000-TP-0.trace.json.gz'].map((f) => realFixture('h200', 'tp2', f));
  const r = await statsOf(files, { views: ['source'], library: 'tp_trace\\.py' });
  assert.deepEqual(r.sources!.map((s) => s.name), ['(no Python frame)']);
  await assert.rejects(statsOf(files, { views: ['source'], library: '(' }), /--library: not a valid regular expression/);
});

test('innermostContaining: the same span as the containment sweep, for every launch call of real traces', async () => {
  const { scanFile } = await import('../../src/io/read.js');
  const { StatsCollector } = await import('../../src/analysis/collect.js');
  const { containing, innermostContaining } = await import('../../src/analysis/attribution.js');
  for (const file of [realFixture('h200', 'tp2', '1763900000-TP-0.trace.json.gz'), realFixture('public', 'tracelens', 'b200_eager_trace.json.gz'), realFixture('public', 'hta', 'amd_mi250_rocm6_2.json.gz')]) {
    const c = new StatsCollector({ categorize: () => 0, communication: 1, ops: true, launches: true });
    await scanFile(file, c);
    const r = c.result();
    const o = r.ops!, l = r.launches!;
    const rows = Array.from({ length: l.count }, (_, i) => i);
    const sweep = new Int32Array(l.count).fill(-1);
    containing(o, l, rows, (q, stack, depth) => { if (depth > 0) sweep[q] = stack[depth - 1]!; });
    let inside = 0;
    for (const q of rows) {
      assert.equal(innermostContaining(o, l, q), sweep[q], `${file}: launch ${q}`);
      if (sweep[q]! >= 0) inside++;
    }
    assert.ok(inside > 0, `${file}: some launch calls are inside an op`);
  }
});
