/**
 * The idle and launch views against independent sweeps of the raw traces: exact decimal time
 * (helpers' usTextToFs), our own union of device activity, our own gap split at the launch
 * call, our own nesting of Python frames. HTA's exact-mode numbers (notes/hta-idle.md) are a
 * second cross-check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { statsOf } from '../../src/pipeline/stats.js';
import { diffOf } from '../../src/pipeline/diff.js';
import { mergeTraces } from '../../src/pipeline/merge.js';
import { IDLE_CAUSES } from '../../src/analysis/idle.js';
import type { IdleDeviceRow } from '../../src/analysis/idle-view.js';
import { argsOf, loadTraceFile, realFixture, usTextToFs, withTempDir, type Ev, type LoadedTrace } from '../helpers.js';

const TP2 = realFixture('h200', 'tp2');
const TP = [0, 1].map((k) => realFixture('h200', 'tp2', `1763900000-TP-${k}.trace.json.gz`));
const EAGER = realFixture('h200', 'tiny', 'tiny-eager.trace.json.gz');
const GRAPH = realFixture('h200', 'tiny', 'tiny-graph.trace.json.gz');
const PDL = [realFixture('h200', 'pdl-eager.trace.json.gz'), realFixture('h200', 'pdl-cudagraph.trace.json.gz')];
const ROCM = [realFixture('public', 'tracelens', 'sglang_Qwen3-8B_decode.json.gz'), realFixture('public', 'tracelens', 'vllm_decode_graph_execution.json.gz'), realFixture('public', 'hta', 'amd_mi250_rocm6_2.json.gz')];
const OTHERS = [realFixture('public', 'tracelens', 'b200_eager_trace.json.gz'), realFixture('public', 'hta', 'nccl_data.json.gz')];

const DEVICE_CATS = new Set(['kernel', 'Kernel', 'gpu_memcpy', 'gpu_memset', 'Memcpy', 'Memset']);
const API_CATS = new Set(['cuda_runtime', 'cuda_driver', 'Runtime']);
const SYNC = /Synchronize$|^(cuda|hip)Memcpy(2D|3D|Peer)?$|^hipMemcpyWithStream$/;

interface Iv { s: bigint; e: bigint }
interface Dev extends Iv { pid: string; corr: unknown; stream: unknown }
interface Call extends Iv { name: string; tid: string; corr: unknown }

const fsNs = (fs: bigint): bigint => fs / 1_000_000n;
const durFs = (e: Ev): bigint => { const d = usTextToFs(e.durRaw); return d !== undefined && d > 0n ? d : 0n; };

/** Device activities and runtime calls, exact ns. */
function read(t: LoadedTrace): { dev: Dev[]; calls: Call[] } {
  const dev: Dev[] = [];
  const calls: Call[] = [];
  for (const e of t.events) {
    if (e.ph !== 'X' || e.ts === undefined || e.cat === undefined) continue;
    if (DEVICE_CATS.has(e.cat)) {
      const a = argsOf(t, e);
      dev.push({ s: fsNs(e.ts), e: fsNs(e.ts + durFs(e)), pid: String(e.pidRaw), corr: a?.['correlation'], stream: e.tidRaw });
    } else if (API_CATS.has(e.cat)) {
      const a = argsOf(t, e);
      calls.push({ s: fsNs(e.ts), e: fsNs(e.ts + durFs(e)), name: e.name ?? '', tid: `${e.pidRaw}/${e.tidRaw}`, corr: a?.['correlation'] });
    }
  }
  return { dev, calls };
}

/** Union of intervals (sort by start, running max end). */
function union(xs: Iv[]): Iv[] {
  const s = [...xs].filter((x) => x.e > x.s).sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
  const out: Iv[] = [];
  for (const x of s) {
    const last = out[out.length - 1];
    if (last && x.s <= last.e) { if (x.e > last.e) last.e = x.e; } else out.push({ ...x });
  }
  return out;
}

const overlap = (a: Iv, lo: bigint, hi: bigint): bigint => { const x = a.s > lo ? a.s : lo; const y = a.e < hi ? a.e : hi; return y > x ? y - x : 0n; };

interface Oracle {
  /** Per device pid: window − union. */
  idle: Map<string, bigint>;
  /** Host-bound (before the launch, outside sync calls on its thread), summed over devices. */
  hostBound: bigint;
  /** Host-bound windows per launching thread. */
  hostWindows: Map<string, Iv[]>;
  /** Σ of [g0, min(L, g1)) over gaps whose launch came after g0 (host-bound + sync). */
  beforeLaunch: bigint;
  /** HTA's host wait in exact ns: whole gaps (to the previous op by start, per stream) whose launch started after the previous end. */
  htaHostWait: bigint;
  lastDeviceEnd: bigint;
}

function oracleOf(file: string): Oracle {
  const t = loadTraceFile(file);
  const { dev, calls } = read(t);
  const byCorr = new Map<unknown, Call>();
  for (const c of calls) if (c.corr !== undefined && !byCorr.has(c.corr)) byCorr.set(c.corr, c);
  const graphFirst = new Map<unknown, bigint>();
  for (const d of dev) {
    const c = byCorr.get(d.corr);
    if (c && /GraphLaunch/.test(c.name)) { const f = graphFirst.get(d.corr); if (f === undefined || d.s < f) graphFirst.set(d.corr, d.s); }
  }
  const syncCache = new Map<string, Iv[]>();
  const syncOf = (tid: string): Iv[] => {
    let x = syncCache.get(tid);
    if (!x) syncCache.set(tid, (x = union(calls.filter((c) => c.tid === tid && SYNC.test(c.name)))));
    return x;
  };
  const idle = new Map<string, bigint>();
  const hostWindows = new Map<string, Iv[]>();
  let hostBound = 0n;
  let beforeLaunch = 0n;
  let lastDeviceEnd = 0n;
  for (const pid of new Set(dev.map((d) => d.pid))) {
    const mine = dev.filter((d) => d.pid === pid);
    const startingAt = new Map<bigint, Dev[]>();
    for (const d of mine) { const l = startingAt.get(d.s); if (l) l.push(d); else startingAt.set(d.s, [d]); }
    const u = union(mine);
    let busy = 0n;
    for (const x of u) busy += x.e - x.s;
    const lo = mine.reduce((a, d) => (d.s < a ? d.s : a), mine[0]!.s);
    const hi = mine.reduce((a, d) => (d.e > a ? d.e : a), mine[0]!.e);
    if (hi > lastDeviceEnd) lastDeviceEnd = hi;
    idle.set(pid, hi - lo - busy);
    for (let g = 0; g + 1 < u.length; g++) {
      const g0 = u[g]!.e;
      const g1 = u[g + 1]!.s;
      const starters = (startingAt.get(g1) ?? []).filter((d) => byCorr.has(d.corr)).sort((a, b) => (byCorr.get(a.corr)!.s < byCorr.get(b.corr)!.s ? -1 : 1));
      const a = starters[0];
      if (!a) continue;
      const L = byCorr.get(a.corr)!;
      const first = graphFirst.get(a.corr);
      if (first !== undefined && a.s > first) continue;
      if (L.s <= g0) continue;
      const h = L.s < g1 ? L.s : g1;
      beforeLaunch += h - g0;
      // host-bound: [g0, h) minus the thread's sync calls
      let cur = g0;
      const w = hostWindows.get(L.tid) ?? [];
      for (const sc of syncOf(L.tid)) {
        if (sc.e <= cur || sc.s >= h) continue;
        if (sc.s > cur) { w.push({ s: cur, e: sc.s }); hostBound += sc.s - cur; }
        cur = sc.e;
      }
      if (h > cur) { w.push({ s: cur, e: h }); hostBound += h - cur; }
      hostWindows.set(L.tid, w);
    }
  }
  // HTA: per stream, ops by start, gap to the previous op's end, host wait when the launch started after it
  let htaHostWait = 0n;
  for (const stream of new Set(dev.map((d) => `${d.pid}/${d.stream}`))) {
    const ops = dev.filter((d) => `${d.pid}/${d.stream}` === stream).sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
    for (let i = 1; i < ops.length; i++) {
      const L = byCorr.get(ops[i]!.corr);
      if (L && L.s > ops[i - 1]!.e) htaHostWait += ops[i]!.s - ops[i - 1]!.e;
    }
  }
  return { idle, hostBound, hostWindows, beforeLaunch, htaHostWait, lastDeviceEnd };
}

const ns = (us: number): number => Math.round(us * 1000);
const causeSumNs = (d: IdleDeviceRow): number => IDLE_CAUSES.reduce((a, k) => a + ns(d.causes![k]), 0);

test('idle per device = window − union of activity; the causes add up to it exactly, none negative; every launch matched', async () => {
  for (const file of [...TP, EAGER, GRAPH, ...PDL, ...ROCM, ...OTHERS]) {
    const r = await statsOf([file], { views: ['idle'] });
    const o = oracleOf(file);
    const rows = r.idle!.devices;
    assert.equal(rows.length, o.idle.size, file);
    const want = [...o.idle.values()].map(Number).sort((a, b) => a - b);
    assert.deepEqual(rows.map((d) => ns(d.idleUs)).sort((a, b) => a - b), want, file);
    for (const d of rows) {
      assert.ok(d.available, file);
      assert.equal(causeSumNs(d), ns(d.idleUs), `${file}: causes add up`);
      for (const k of IDLE_CAUSES) assert.ok(d.causes![k] >= 0, `${file}: ${k} ${d.causes![k]}`);
      assert.equal(d.unmatched, 0, `${file}: unmatched`);
      assert.equal(d.causes!.other, 0, file);
    }
    assert.ok(!r.diagnostics.some((x) => x.name === 'device_activity_unmatched_launch'), file);
    // one clock on CUDA / ROCm: no kernel starts before its launch call
    assert.ok(!r.diagnostics.some((x) => x.name === 'activity_before_launch'), file);
  }
});

test('tp2: idle as HTA measures it; host-bound = the time before each launch; HTA\'s host wait also holds the time after it', async () => {
  const r = await statsOf([TP2], { views: ['idle'] });
  // HTA exact mode (notes/hta-idle.md): window − busy per device, and host wait
  const hta = [{ idle: 117_566_974, hostWait: 116_445_161 }, { idle: 182_853_785, hostWait: 182_346_805 }];
  for (const k of [0, 1]) {
    const d = r.idle!.devices.find((x) => x.label === `TP0${k}`)!;
    const o = oracleOf(TP[k]!);
    assert.equal(ns(d.idleUs), hta[k]!.idle);
    // the oracle reproduces HTA (to the noise of its float µs arithmetic, a few ns)
    assert.ok(Math.abs(Number(o.htaHostWait) - hta[k]!.hostWait) <= 10, `${o.htaHostWait} vs HTA ${hta[k]!.hostWait}`);
    assert.equal(ns(d.causes!.hostBound), Number(o.hostBound));
    assert.equal(ns(d.causes!.hostBound) + ns(d.causes!.sync), Number(o.beforeLaunch));
    // HTA counts the whole gap as host wait when the launch came after the previous op; we
    // split it at the launch: ours + the post-launch latency of those gaps = HTA's
    assert.ok(ns(d.causes!.hostBound) <= hta[k]!.hostWait);
    assert.ok(Math.abs(ns(d.causes!.hostBound) + ns(d.causes!.launchLatency) - hta[k]!.hostWait) <= 0.01 * ns(d.idleUs));
  }
});

test('PDL traces: no figure negative, overlapping kernels never make idle negative', async () => {
  for (const file of PDL) {
    const r = await statsOf([file], { views: ['idle', 'launch'] });
    for (const d of r.idle!.devices) for (const k of IDLE_CAUSES) assert.ok(d.causes![k] >= 0);
    for (const s of r.idle!.steps) for (const k of IDLE_CAUSES) assert.ok(s.causes[k] >= 0);
    for (const x of r.launch!.rows) for (const v of [x.delayMedianUs, x.delayMaxUs, x.callUs, x.gpuUs]) assert.ok(v === null || v >= 0, `${x.name} ${v}`);
  }
  const eager = await statsOf([PDL[0]!], { views: ['idle'] });
  assert.equal(ns(eager.idle!.devices[0]!.idleUs), 354_844);
});

test('tiny-eager: scheduler_overhead is credited its spins inside host-bound idle, as the raw frames say; the last spin is after the last GPU op', async () => {
  const truth = JSON.parse(readFileSync(realFixture('h200', 'tiny', 'tiny-truth.json'), 'utf8')) as { traces: Record<string, { spin_ns: number[] }> };
  const spins = truth.traces['tiny-eager']!.spin_ns;
  const r = await statsOf([EAGER], { views: ['idle'] });
  const o = oracleOf(EAGER);
  const t = loadTraceFile(EAGER);
  // scheduler_overhead frames; the time inside them outside cpu_ops (built-in calls such as
  // perf_counter_ns are the spin itself), intersected with the oracle's host-bound windows
  const frames = t.events.filter((e) => e.ph === 'X' && e.cat === 'python_function' && /\): scheduler_overhead$/.test(e.name ?? ''));
  assert.equal(frames.length, 4);
  let want = 0n;
  for (const f of frames) {
    const iv = { s: fsNs(f.ts!), e: fsNs(f.ts! + durFs(f)) };
    const ops = t.events.filter((e) => e.ph === 'X' && e.cat === 'cpu_op' && e.track === f.track && e.ts !== undefined && fsNs(e.ts) < iv.e && fsNs(e.ts + durFs(e)) > iv.s);
    assert.equal(ops.length, 0, 'no cpu_op inside a spin');
    for (const w of o.hostWindows.get(`${f.pidRaw}/${f.tidRaw}`) ?? []) want += overlap(w, iv.s, iv.e);
  }
  const row = r.idle!.cpu.find((c) => c.kind === 'python' && /scheduler_overhead$/.test(c.name))!;
  assert.equal(ns(row.us), Number(want));
  // the last step's spin starts after the last device activity: outside the window
  assert.ok(fsNs(frames[3]!.ts!) > o.lastDeviceEnd);
  const inWindow = spins.slice(0, 3).reduce((a, b) => a + b, 0);
  const frameTime = frames.slice(0, 3).reduce((a, f) => a + Number(fsNs(durFs(f))), 0);
  assert.ok(ns(row.us) >= inWindow && ns(row.us) <= frameTime, `${ns(row.us)} vs spins ${inWindow}, frames ${frameTime}`);
  // all of it in stalls (gaps of 100 µs or more), where it is the top Python function
  assert.equal(row.stallUs, row.us);
  const stalls = r.idle!.cpu.filter((c) => c.kind === 'python');
  assert.equal(stalls[0], row, 'the first Python function of the ranking');
  assert.ok(stalls.every((c) => c.stallUs <= row.stallUs));
});

test('steps found without flags: decode_step_N on tiny-* and tp2, ProfilerStep#N where present, none on pdl-eager (layers are not steps)', async () => {
  for (const [file, pattern, n] of [[EAGER, '^decode_step_\\d+$', 4], [GRAPH, '^decode_step_\\d+$', 4], [TP[0]!, '^decode_step_\\d+$', 6],
    [realFixture('public', 'hta', 'nccl_data.json.gz'), '^ProfilerStep#\\d+$', undefined], [PDL[0]!, null, 0]] as const) {
    const r = await statsOf([file], { views: ['step'] });
    assert.equal(r.stepDetection!.pattern, pattern, file);
    const t = loadTraceFile(file);
    const re = pattern === null ? /^$/ : new RegExp(pattern);
    const want = t.events.filter((e) => e.ph === 'X' && e.cat === 'user_annotation' && re.test(e.name ?? '')).length;
    if (n !== undefined) assert.equal(want, n);
    assert.equal(r.steps!.length, want, file);
  }
});

test('diff tiny-eager vs tiny-graph per step: kernels about the same, launch calls −9x%, host-bound idle down', async () => {
  const r = await diffOf(EAGER, GRAPH, { views: ['kernel', 'idle'] });
  assert.equal(r.normalization.per, 'step');
  assert.deepEqual([r.normalization.baselineUnits, r.normalization.candidateUnits], [4, 4]);
  const t = new Map(r.totals.map((x) => [x.metric, x]));
  // independent: kernel time per step from the raw events; launch calls per step by name
  for (const [file, side] of [[EAGER, 'baseline'], [GRAPH, 'candidate']] as const) {
    const { dev, calls } = read(loadTraceFile(file));
    const kernelNs = dev.reduce((a, d) => a + Number(d.e - d.s), 0);
    assert.ok(Math.abs(t.get('kernelTime')![side] - kernelNs / 4 / 1000) < 1e-6);
    const launches = calls.filter((c) => /Launch/.test(c.name)).length;
    assert.equal(t.get('launchCalls')![side], launches / 4);
  }
  assert.ok(Math.abs(t.get('kernelTime')!.change!) < 0.05, `kernel time ${t.get('kernelTime')!.change}`);
  assert.ok(t.get('launchCalls')!.change! < -0.9, `launch calls ${t.get('launchCalls')!.change}`);
  for (const k of r.kernels!) if (k.status === 'both') assert.ok(Math.abs(k.change!) < 0.25, `${k.name} ${k.change}`);
  assert.ok(t.get('idle-hostBound')!.change! < -0.5);
});

test('launch view: a graph replay is one launch for all its kernels; every kernel of tiny-eager has its own launch call', async () => {
  const g = await statsOf([GRAPH], { views: ['launch'] });
  const { dev, calls } = read(loadTraceFile(GRAPH));
  const graphLaunches = calls.filter((c) => c.name === 'cudaGraphLaunch');
  const replay = g.launch!.rows.find((x) => x.name === 'graph replay (cudaGraphLaunch)')!;
  assert.equal(replay.calls, graphLaunches.length);
  assert.equal(ns(replay.callUs), graphLaunches.reduce((a, c) => a + Number(c.e - c.s), 0));
  const corr = new Set(graphLaunches.map((c) => c.corr));
  assert.equal(g.launch!.rows.reduce((a, x) => a + x.inGraph, 0), dev.filter((d) => corr.has(d.corr)).length);
  assert.equal(g.launch!.calls, graphLaunches.length + calls.filter((c) => c.name === 'cudaMemcpyAsync').length);
  const e = await statsOf([EAGER], { views: ['launch'] });
  const ed = read(loadTraceFile(EAGER));
  assert.equal(e.launch!.calls, ed.dev.length);
  // queue depth: launched-and-not-finished never exceeds the activities of the stream
  for (const q of [...g.launch!.queues, ...e.launch!.queues]) assert.ok(q.max >= q.median && q.max <= dev.length);
});

test('a device activity whose correlation no call carries: a named diagnostic with a count, its gap is other', async () => {
  await withTempDir('idle-unmatched', async (dir) => {
    const file = path.join(dir, 'unmatched.trace.json');
    const k = (ts: number, corr: number): object => ({ ph: 'X', cat: 'kernel', name: `k${corr}`, pid: 0, tid: 7, ts, dur: 2, args: { correlation: corr, stream: 7 } });
    writeFileSync(file, JSON.stringify({ traceEvents: [
      { ph: 'M', name: 'process_name', pid: 0, tid: 0, args: { name: 'GPU 0' } },
      { ph: 'X', cat: 'cuda_runtime', name: 'cudaLaunchKernel', pid: 1, tid: 1, ts: 95, dur: 3, args: { correlation: 1 } },
      { ph: 'X', cat: 'cuda_runtime', name: 'cudaStreamSynchronize', pid: 1, tid: 1, ts: 101, dur: 4 },
      { ph: 'X', cat: 'cuda_runtime', name: 'cudaLaunchKernel', pid: 1, tid: 1, ts: 108, dur: 3, args: { correlation: 2 } },
      k(100, 1), k(110, 2), k(120, 3),
    ] }));
    const r = await statsOf([file], { views: ['idle'] });
    const d = r.diagnostics.find((x) => x.name === 'device_activity_unmatched_launch')!;
    assert.equal(d.count, 1);
    assert.equal(d.examples[0]!.name, 'k3');
    const c = r.idle!.devices[0]!.causes!;
    // gap [102, 110): sync 102-105, host-bound 105-108, latency 108-110; gap [112, 120): other
    assert.deepEqual([ns(c.sync), ns(c.hostBound), ns(c.launchLatency), ns(c.other)], [3000, 3000, 2000, 8000]);
  });
});

test('a merged trace gives each rank the idle split and launch figures of its own file', async () => {
  await withTempDir('idle-merged', async (dir) => {
    const merged = path.join(dir, 'merged-1763900000.trace.json.gz');
    await mergeTraces({ inputs: [TP2], output: merged });
    const views = ['idle', 'launch'] as const;
    const a = await statsOf([merged], { views: [...views] });
    const b = await statsOf([TP2], { views: [...views] });
    assert.deepEqual(a.idle!.devices.map((d) => [d.label, d.idleUs, d.causes]), b.idle!.devices.map((d) => [d.label, d.idleUs, d.causes]));
    assert.deepEqual(a.idle!.steps, b.idle!.steps);
    assert.deepEqual(a.launch!.apis, b.launch!.apis);
    assert.equal(a.launch!.calls, b.launch!.calls);
  });
});
