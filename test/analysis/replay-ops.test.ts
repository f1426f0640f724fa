/**
 * CUDA/HIP graph replays feeding the op-level views: a replayed kernel given its op by a capture
 * or a graph-off (mapping) trace counts, in `--by op`, for that op and every op enclosing it
 * there, and in `--by efficiency` for its innermost modelled op, with that op's shapes.
 *
 * The oracles here read the raw JSON (JSON.parse, plain loops) and match the replay to the other
 * trace by themselves: kernel i of a replay ↔ the i-th launch captured (HIP: names checked), or
 * ↔ kernel i of every run of the same kernel names in the eager trace (all runs must agree). The
 * ops of a launch are the cpu_ops containing it on its thread. FLOPs are written out as 2·M·N·K.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { statsOf } from '../../src/pipeline/stats.js';
import { realFixture, withTempDir } from '../helpers.js';
import { DEVICE, RUNTIME, corrOf, graphReplays, load, ns, type Ev } from '../oracle-events.js';

const dimsOf = (e: Ev): string => JSON.stringify(e.args?.['Input Dims'] ?? null);
const sameDims = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The cpu_ops containing a launch call on its thread, innermost first. */
function enclosing(ops: Ev[], l: Ev): Ev[] {
  return ops.filter((o) => o.pid === l.pid && o.tid === l.tid && ns(o.ts) <= ns(l.ts) && ns(o.ts) + ns(o.dur) >= ns(l.ts) + ns(l.dur))
    .sort((a, b) => ns(a.dur) - ns(b.dur) || ns(b.ts) - ns(a.ts));
}

/** One replayed kernel as the oracle sees it: its duration, its graph launch, and the ops its launch ran in (innermost first). */
interface Matched { kernel: Ev; ns: number; replay: unknown; chain: Ev[] }


/** Capture route: kernel i of every replay ↔ the i-th launch between Begin/EndCapture that did not run. */
function matchCapture(replayEv: Ev[], captureEv: Ev[]): Matched[] {
  const rt = captureEv.filter((e) => e.ph === 'X' && RUNTIME.has(e.cat ?? '')).sort((a, b) => a.ts! - b.ts!);
  const begin = rt.find((e) => /StreamBeginCapture/.test(e.name))!;
  const end = rt.find((e) => /StreamEndCapture/.test(e.name))!;
  const ran = new Set(captureEv.filter((e) => e.ph === 'X' && DEVICE.has(e.cat ?? '')).map(corrOf));
  const launches = rt.filter((e) => e.ts! > begin.ts! && e.ts! < end.ts! && e.tid === begin.tid && /Launch\w*Kernel|Memcpy|Memset/.test(e.name) && !ran.has(corrOf(e)));
  const ops = captureEv.filter((e) => e.ph === 'X' && e.cat === 'cpu_op');
  const chains = launches.map((l) => enclosing(ops, l));
  const out: Matched[] = [];
  for (const r of graphReplays(replayEv)) {
    assert.equal(r.kernels.length, launches.length);
    r.kernels.forEach((k, i) => {
      const named = launches[i]!.args?.['kernel'];
      if (named !== undefined) assert.equal(k.name, named);
      out.push({ kernel: k, ns: ns(k.dur), replay: r.corr, chain: chains[i]! });
    });
  }
  return out;
}

/** Mapping route: the runs of the replay's kernel names among the eager kernels; kernel i gets the ops only when every run agrees on them. */
function matchMapping(replayEv: Ev[], eagerEv: Ev[]): Matched[] {
  const launchOf = new Map<unknown, Ev>();
  for (const e of eagerEv) if (e.ph === 'X' && RUNTIME.has(e.cat ?? '') && corrOf(e) !== undefined) launchOf.set(corrOf(e), e);
  const ops = eagerEv.filter((e) => e.ph === 'X' && e.cat === 'cpu_op');
  const kernels = eagerEv.filter((e) => e.ph === 'X' && e.cat === 'kernel').sort((a, b) => a.ts! - b.ts!);
  const names = kernels.map((k) => k.name);
  const out: Matched[] = [];
  const memo = new Map<string, (Ev[] | undefined)[]>();
  for (const r of graphReplays(replayEv)) {
    const want = r.kernels.map((k) => k.name);
    const key = want.join('\n');
    let per = memo.get(key);
    if (!per) {
      const runs: number[] = [];
      for (let s = 0; s + want.length <= names.length; s++) if (want.every((n, i) => names[s + i] === n)) runs.push(s);
      assert.ok(runs.length > 0, 'the replay occurs in the eager trace');
      per = want.map((_, i) => {
        const chains = runs.map((s) => { const l = launchOf.get(corrOf(kernels[s + i]!)); return l ? enclosing(ops, l) : []; });
        const sig = (c: Ev[]): string => c.map((o) => `${o.name} ${dimsOf(o)}`).join(' < ');
        return chains.every((c) => sig(c) === sig(chains[0]!)) ? chains[0]! : undefined;
      });
      memo.set(key, per);
    }
    r.kernels.forEach((k, i) => { if (per![i]) out.push({ kernel: k, ns: ns(k.dur), replay: r.corr, chain: per![i]! }); });
  }
  return out;
}

/** Per op + dims inside the chains: device time of the kernels under it, and its calls (op instance × replay). */
function underOp(m: Matched[], name: string, dims: unknown, innermostOnly = false): { ns: number; calls: number } {
  let t = 0;
  const calls = new Set<string>();
  for (const k of m) {
    const chain = innermostOnly ? k.chain.slice(0, 1) : k.chain;
    const o = chain.find((x) => x.name === name && sameDims(x.args?.['Input Dims'], dims));
    if (!o) continue;
    t += k.ns;
    calls.add(`${String(k.replay)} ${String(o.tid)} ${o.ts}`);
  }
  return { ns: t, calls: calls.size };
}

const us = (x: number): number => Math.round(x * 1000);

test('SGLang (HIP capture): the efficiency view\'s GEMMs [32, K] x [K, N] get 2·32·K·N FLOPs and the time of the replayed kernels the test matches', async () => {
  const replayFile = realFixture('public', 'tracelens', 'sglang_Qwen3-8B_decode.json.gz');
  const rev = load(replayFile);
  const m = matchCapture(rev, load(realFixture('public', 'tracelens', 'capture_traces', 'bs_32_rank0.json.gz')));
  assert.equal(m.length, 544);
  // capture_traces/ next to the trace is found for --by efficiency too
  const r = await statsOf([replayFile], { views: ['efficiency'] });
  const e = r.efficiency!;
  for (const [K, N, calls] of [[4096, 6144, 36], [4096, 4096, 36], [4096, 24576, 36], [12288, 4096, 36], [4096, 151936, 1]] as const) {
    const dims = [[32, K], [K, N]];
    const row = e.rows.find((x) => x.name === 'aten::mm' && sameDims(x.inputDims, dims));
    assert.ok(row, JSON.stringify(dims));
    const want = underOp(m, 'aten::mm', dims);
    assert.equal(want.calls, calls);
    assert.equal(row.calls, calls);
    assert.equal(us(row.totalUs), want.ns, JSON.stringify(dims));
    assert.equal(row.family, 'gemm');
    assert.deepEqual(row.inputTypes, ['c10::BFloat16', 'c10::BFloat16']);
    assert.equal(row.flops, 2 * 32 * K * N);
    assert.equal(row.totalFlops, 2 * 32 * K * N * calls);
    assert.equal(row.bytes, (32 * K + K * N + 32 * N) * 2);
    assert.ok(Math.abs(row.tflops! - (2 * 32 * K * N * calls) / want.ns / 1000) <= 1e-9 * row.tflops!);
    // MI300X: a known peak, so a share of it
    assert.ok(row.computeShare! > 0 && row.computeShare! < 1, `${row.computeShare}`);
  }
  // device time by route: eager = kernels whose External id is a cpu_op of the replay trace; capture = the 544 replayed
  const ext = new Set(rev.filter((x) => x.ph === 'X' && x.cat === 'cpu_op').map((x) => x.args?.['External id']));
  const dev = rev.filter((x) => x.ph === 'X' && DEVICE.has(x.cat ?? ''));
  const total = dev.reduce((a, x) => a + ns(x.dur), 0);
  const eagerNs = dev.filter((x) => !m.some((k) => k.kernel === x) && ext.has(x.args?.['External id'])).reduce((a, x) => a + ns(x.dur), 0);
  const capNs = m.reduce((a, k) => a + k.ns, 0);
  const route = (n: string): { kernels: number; us: number; share: number } => e.routes.find((x) => x.route === n)!;
  assert.equal(us(route('capture').us), capNs);
  assert.equal(route('capture').kernels, 544);
  assert.equal(us(route('eager').us), eagerNs);
  assert.equal(route('mapping').kernels, 0);
  assert.equal(route('capture').share, capNs / total);
  assert.equal(us(e.rows.reduce((a, x) => a + x.totalUs, 0)), eagerNs + capNs);
  assert.equal(us(e.unlinkedUs), total - eagerNs - capNs);
  assert.ok(r.notes.some((n) => /^efficiency: 99\.8% of device time is in the view: eager 1\.1% .*capture 98\.8% \(9,656\.404 µs, 544 kernels\)$/.test(n)), r.notes.join('\n'));
});

test('SGLang --by op: the ops enclosing a captured op carry the replayed device time (total, not self) and one call per instance', async () => {
  const replayFile = realFixture('public', 'tracelens', 'sglang_Qwen3-8B_decode.json.gz');
  const m = matchCapture(load(replayFile), load(realFixture('public', 'tracelens', 'capture_traces', 'bs_32_rank0.json.gz')));
  const r = await statsOf([replayFile], { views: ['op'] });
  const rowOf = (name: string, dims: unknown): NonNullable<typeof r.ops>[number] | undefined => r.ops!.find((o) => o.name === name && sameDims(o.inputDims, dims));
  // a module-level op of SGLang's profiler around the q/k norm: its children are a reshape (> clone > copy_) and an rmsnorm op, for q and for k
  const qk = m.find((k) => k.chain.some((o) => o.name === 'sglang_profiler::utils_apply_qk_norm_487'))!.chain.find((o) => o.name === 'sglang_profiler::utils_apply_qk_norm_487')!;
  const want = underOp(m, qk.name, qk.args?.['Input Dims']);
  const row = rowOf(qk.name, qk.args?.['Input Dims'])!;
  assert.ok(row, 'the enclosing op has a row');
  assert.equal(want.calls, 36);
  assert.equal(row.calls, 36);
  assert.equal(us(row.deviceTotalUs), want.ns);
  assert.equal(row.deviceSelfUs, 0);
  assert.equal(row.cpuTotalUs, 0, 'the CPU time of a captured op is not known');
  // its total is the sum over its children's rows
  const kids = new Map<string, { name: string; dims: unknown }>();
  for (const k of m) {
    const j = k.chain.findIndex((o) => o.name === qk.name);
    if (j > 0) kids.set(`${k.chain[j - 1]!.name} ${dimsOf(k.chain[j - 1]!)}`, { name: k.chain[j - 1]!.name, dims: k.chain[j - 1]!.args?.['Input Dims'] });
  }
  assert.equal(kids.size, 4, 'reshape and rmsnorm, once for q and once for k');
  assert.equal(us([...kids.values()].reduce((a, c) => a + rowOf(c.name, c.dims)!.deviceTotalUs, 0)), want.ns);
  // the GEMM wrapper: aiter::gemm_a16w16 > aten::linear > aten::matmul > aten::mm, every level with the mm kernels' time
  for (const [K, N] of [[4096, 24576], [12288, 4096]] as const) {
    const mm = underOp(m, 'aten::mm', [[32, K], [K, N]]);
    assert.equal(us(rowOf('aten::matmul', [[32, K], [K, N]])!.deviceTotalUs), mm.ns);
    assert.equal(us(rowOf('aten::linear', [[32, K], [N, K], []])!.deviceTotalUs), mm.ns);
    const wrapper = r.ops!.find((o) => o.name === 'aiter::gemm_a16w16' && sameDims((o.inputDims as unknown[]).slice(0, 2), [[32, K], [N, K]]))!;
    assert.equal(us(wrapper.deviceTotalUs), mm.ns);
    assert.equal(wrapper.calls, 36);
    assert.equal(us(rowOf('aten::mm', [[32, K], [K, N]])!.deviceSelfUs), mm.ns);
  }
});

test('pdl pair (mapping): aten::mm [[2048, 2048], [2048, 2048]] gets 2·2048³ FLOPs per call and its replayed kernels\' time; the kernels launched outside any op stay out', async () => {
  const graph = realFixture('h200', 'pdl-cudagraph.trace.json.gz');
  const eager = realFixture('h200', 'pdl-eager.trace.json.gz');
  const gev = load(graph);
  const m = matchMapping(gev, load(eager));
  const dims = [[2048, 2048], [2048, 2048]];
  const want = underOp(m, 'aten::mm', dims);
  assert.equal(want.calls, 48);
  const r = await statsOf([graph], { views: ['efficiency', 'op'], mapping: [eager] });
  const rows = r.efficiency!.rows;
  assert.equal(rows.length, 1);
  const row = rows[0]!;
  assert.equal(row.name, 'aten::mm');
  assert.deepEqual(row.inputDims, dims);
  assert.equal(row.calls, 48);
  assert.equal(row.flops, 2 * 2048 ** 3);
  assert.equal(row.totalFlops, 2 * 2048 ** 3 * 48);
  assert.equal(us(row.totalUs), want.ns);
  const total = gev.filter((x) => x.ph === 'X' && DEVICE.has(x.cat ?? '')).reduce((a, x) => a + ns(x.dur), 0);
  const mapping = r.efficiency!.routes.find((x) => x.route === 'mapping')!;
  assert.equal(us(mapping.us), want.ns);
  assert.equal(mapping.kernels, 48);
  assert.equal(us(r.efficiency!.unlinkedUs), total - want.ns);
  assert.ok(r.notes.some((n) => /linked to no op: .* replayed kernels launched outside any cpu_op of the capture or mapping trace/.test(n)), r.notes.join('\n'));
  // the op view: aten::mm has the same time as its own and its total
  const mm = r.ops!.find((o) => o.name === 'aten::mm')!;
  assert.equal(us(mm.deviceTotalUs), want.ns);
  assert.equal(mm.calls, 48);
});

interface Truth {
  gemms_per_step: { name: string; M: number; N: number; K: number; count: number; flops: number }[];
  attention_per_step: { calls: number; flops_each: number };
  traces: { 'tiny-graph': { steps: number } };
}

for (const route of ['capture', 'mapping'] as const) {
  test(`tiny (${route}): the efficiency view of the graph replay has tiny-truth's GEMM and attention FLOPs, calls and the matched kernels' time`, async () => {
    const truth = JSON.parse(readFileSync(realFixture('h200', 'tiny', 'tiny-truth.json'), 'utf8')) as Truth;
    const steps = truth.traces['tiny-graph'].steps;
    const graph = realFixture('h200', 'tiny', 'tiny-graph.trace.json.gz');
    const other = realFixture('h200', 'tiny', route === 'capture' ? 'tiny-capture.trace.json.gz' : 'tiny-eager.trace.json.gz');
    const gev = load(graph);
    const m = route === 'capture' ? matchCapture(gev, load(other)) : matchMapping(gev, load(other));
    assert.equal(m.length, 276);
    const r = await statsOf([graph], { views: ['efficiency', 'op'], ...(route === 'capture' ? { capture: [other] } : { mapping: [other] }) });
    const rows = r.efficiency!.rows;
    for (const g of truth.gemms_per_step) {
      const dims = [[g.M, g.K], [g.K, g.N]];
      const row = rows.find((x) => x.name === 'aten::mm' && sameDims(x.inputDims, dims));
      assert.ok(row, g.name);
      assert.equal(row.flops, g.flops, g.name);
      assert.equal(row.flops, 2 * g.M * g.N * g.K);
      assert.equal(row.calls, g.count * steps, g.name);
      assert.equal(us(row.totalUs), underOp(m, 'aten::mm', dims).ns, g.name);
    }
    const gemm = rows.filter((x) => x.family === 'gemm');
    assert.equal(gemm.length, truth.gemms_per_step.length);
    assert.equal(gemm.reduce((a, x) => a + x.totalFlops!, 0), truth.gemms_per_step.reduce((a, g) => a + g.flops * g.count, 0) * steps);
    const att = rows.filter((x) => x.family === 'attention');
    assert.equal(att.length, 1);
    assert.equal(att[0]!.name, 'aten::_scaled_dot_product_cudnn_attention');
    assert.equal(att[0]!.flops, truth.attention_per_step.flops_each);
    assert.equal(att[0]!.calls, truth.attention_per_step.calls * steps);
    // the attention owns the kernels of _cudnn_attention_forward below it
    assert.equal(us(att[0]!.totalUs), underOp(m, att[0]!.name, att[0]!.inputDims).ns);
    // every replayed kernel is in the view; only the 4 eager copies of .item() come by External id
    const rt = Object.fromEntries(r.efficiency!.routes.map((x) => [x.route, x]));
    assert.equal(rt[route]!.kernels, 276);
    assert.equal(us(rt[route]!.us), m.reduce((a, k) => a + k.ns, 0));
    assert.equal(rt.eager!.kernels, 4);
    assert.equal(r.efficiency!.unlinkedUs, 0);
    // --by op: the SDPA op above the cudnn op carries the time of both its kernels, one call per layer and replay
    const sdpaDims = m.flatMap((k) => k.chain).find((o) => o.name === 'aten::scaled_dot_product_attention')!.args?.['Input Dims'];
    const sdpa = r.ops!.find((o) => o.name === 'aten::scaled_dot_product_attention' && sameDims(o.inputDims, sdpaDims))!;
    const want = underOp(m, 'aten::scaled_dot_product_attention', sdpaDims);
    assert.equal(sdpa.calls, truth.attention_per_step.calls * steps);
    assert.equal(want.calls, sdpa.calls);
    assert.equal(us(sdpa.deviceTotalUs), want.ns);
    assert.equal(sdpa.deviceSelfUs, 0);
  });
}

test('fail safe: replayed kernels that matched nothing stay out of the efficiency view and out of every op', async () => {
  const graph = realFixture('h200', 'tiny', 'tiny-graph.trace.json.gz');
  const gev = load(graph);
  const r = await statsOf([graph], { views: ['efficiency', 'op'], capture: [realFixture('public', 'tracelens', 'capture_traces', 'bs_32_rank0.json.gz')], mapping: [realFixture('h200', 'pdl-eager.trace.json.gz')] });
  const replayNs = graphReplays(gev).flatMap((x) => x.kernels).reduce((a, k) => a + ns(k.dur), 0);
  const e = r.efficiency!;
  assert.equal(e.routes.find((x) => x.route === 'capture')!.kernels, 0);
  assert.equal(e.routes.find((x) => x.route === 'mapping')!.kernels, 0);
  assert.equal(us(e.unlinkedUs), replayNs);
  // what is left: the .item() copies, by External id
  assert.deepEqual(e.rows.map((x) => x.name), ['aten::_local_scalar_dense']);
  assert.deepEqual(r.ops!.filter((o) => o.deviceTotalUs > 0).map((o) => o.name).sort(), ['aten::_local_scalar_dense', 'aten::item'].sort());
  assert.ok(r.notes.some((n) => n.includes(`${(replayNs / 1000).toLocaleString('en-US')} µs graph replay, unattributed`)), r.notes.join('\n'));
});

test('never a guess: mapping runs whose op sits under different enclosing ops give the op its time, but no enclosing op and no efficiency row', async () => {
  await withTempDir('replay-ops', async (dir) => {
    // a replay of one GEMM kernel; the eager run launches it from aten::mm inside aten::linear in step 0 and inside aten::matmul in step 1
    const replay = path.join(dir, 'replay.json');
    writeFileSync(replay, JSON.stringify({ traceEvents: [
      { ph: 'X', cat: 'cuda_runtime', name: 'cudaGraphLaunch', pid: 1, tid: 1, ts: 10, dur: 5, args: { correlation: 77 } },
      { ph: 'X', cat: 'kernel', name: 'gemm_kernel', pid: 0, tid: 7, ts: 20, dur: 3, args: { correlation: 77, stream: 7 } },
    ] }));
    const eager = path.join(dir, 'eager.json');
    const dims = [[4, 64], [64, 64]];
    const step = (k: number, outer: string): object[] => {
      const t = 100 * k;
      return [
        { ph: 'X', cat: 'user_annotation', name: `decode_step_${k}`, pid: 1, tid: 1, ts: t, dur: 90 },
        { ph: 'X', cat: 'cpu_op', name: outer, pid: 1, tid: 1, ts: t + 5, dur: 30, args: { 'External id': 10 * k + 1, 'Input Dims': dims, 'Input type': ['float', 'float'] } },
        { ph: 'X', cat: 'cpu_op', name: 'aten::mm', pid: 1, tid: 1, ts: t + 10, dur: 10, args: { 'External id': 10 * k + 2, 'Input Dims': dims, 'Input type': ['float', 'float'] } },
        { ph: 'X', cat: 'cuda_runtime', name: 'cudaLaunchKernel', pid: 1, tid: 1, ts: t + 12, dur: 2, args: { 'External id': 10 * k + 2, correlation: 50 + k } },
        { ph: 'X', cat: 'kernel', name: 'gemm_kernel', pid: 0, tid: 7, ts: t + 60, dur: 3, args: { 'External id': 10 * k + 2, correlation: 50 + k, stream: 7 } },
      ];
    };
    writeFileSync(eager, JSON.stringify({ traceEvents: [...step(0, 'aten::linear'), ...step(1, 'aten::matmul')] }));
    const r = await statsOf([replay], { views: ['op', 'efficiency'], mapping: [eager] });
    assert.equal(r.attribution!.routes.find((x) => x.route === 'mapping')!.kernels, 1);
    const mm = r.ops!.find((o) => o.name === 'aten::mm')!;
    assert.equal(mm.deviceSelfUs, 3);
    assert.equal(r.ops!.some((o) => o.name !== 'aten::mm' && o.deviceTotalUs > 0), false);
    assert.equal(r.efficiency!.rows.length, 0);
    assert.equal(r.efficiency!.unlinkedUs, 3);
    assert.ok(r.notes.some((n) => /3 µs replayed kernels whose matching candidates sit under different ops/.test(n)), r.notes.join('\n'));
    // the same op under the same enclosing op in both steps: linked, and the enclosing op counts it
    writeFileSync(eager, JSON.stringify({ traceEvents: [...step(0, 'aten::linear'), ...step(1, 'aten::linear')] }));
    const s = await statsOf([replay], { views: ['op', 'efficiency'], mapping: [eager] });
    assert.equal(s.ops!.find((o) => o.name === 'aten::linear')!.deviceTotalUs, 3);
    assert.equal(s.efficiency!.rows.find((x) => x.name === 'aten::mm')!.flops, 2 * 4 * 64 * 64);
  });
});
