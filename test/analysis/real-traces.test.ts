/**
 * stats on real traces, checked against computations written here from scratch: the whole
 * file through JSON.parse, plain loops over the events, a sort-and-merge interval union, a
 * quadratic search for each op's parent. Nothing here imports analysis code except statsOf.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { statsOf } from '../../src/pipeline/stats.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const REAL = path.join(ROOT, 'test', 'fixtures', 'real');
const real = (...p: string[]): string => path.join(REAL, ...p);
const PDL_EAGER = real('h200', 'pdl-eager.trace.json.gz');
const TP2 = real('h200', 'tp2');
const TP2_FILES = [path.join(TP2, '1763900000-TP-0.trace.json.gz'), path.join(TP2, '1763900000-TP-1.trace.json.gz')];

// ---------------------------------------------------------------------------------------------
// The oracle

interface RawEvent {
  ph?: string;
  cat?: string;
  name?: string;
  pid?: unknown;
  tid?: unknown;
  /** The ts text exactly as written (the loader quotes numeric ts before JSON.parse). */
  ts?: string;
  dur?: number;
  args?: Record<string, unknown>;
  /** ts in µs from the file's smallest integer µs, computed from the text without rounding. */
  t?: number;
}

interface Loaded {
  events: RawEvent[];
  top: Record<string, unknown>;
}

const cache = new Map<string, Loaded>();
/**
 * The whole trace through JSON.parse, with every numeric "ts" turned into a string first: an
 * epoch-µs ts as a double only resolves ~0.25 µs (FORMATS.md §1), so the oracle keeps the text.
 */
function load(p: string): Loaded {
  let l = cache.get(p);
  if (!l) {
    const raw = readFileSync(p);
    const text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString('utf8')
      .replace(/"ts"(\s*):(\s*)(-?\d+(?:\.\d+)?)/g, '"ts"$1:$2"$3"');
    const j = JSON.parse(text) as unknown;
    const events = (Array.isArray(j) ? j : (j as { traceEvents: RawEvent[] }).traceEvents) as RawEvent[];
    let t0: bigint | undefined;
    for (const e of events) {
      if (typeof e.ts !== 'string' || !/^-?\d+(\.\d+)?$/.test(e.ts)) { delete e.ts; continue; }
      const i = BigInt(e.ts.split('.')[0]!);
      if (t0 === undefined || i < t0) t0 = i;
    }
    for (const e of events) {
      if (e.ts === undefined) continue;
      const [i, f] = e.ts.split('.');
      e.t = Number(BigInt(i!) - t0!) + (f ? Number(`0.${f}`) : 0);
    }
    l = { events, top: Array.isArray(j) ? {} : (j as Record<string, unknown>) };
    cache.set(p, l);
  }
  return l;
}

const DEVICE_CATS = new Set(['kernel', 'Kernel', 'gpu_memcpy', 'gpu_memset', 'Memcpy', 'Memset']);
const isDevice = (e: RawEvent): boolean => e.ph === 'X' && e.t !== undefined && DEVICE_CATS.has(e.cat ?? '');
const durOf = (e: RawEvent): number => (typeof e.dur === 'number' && e.dur > 0 ? e.dur : 0);

/** Start and end in µs from the file's first integer µs. */
function interval(_l: Loaded, e: RawEvent): [number, number] {
  const s = e.t!;
  return [s, s + durOf(e)];
}

/** Union length of intervals: sort by start, merge. */
function unionLength(iv: [number, number][]): number {
  const sorted = iv.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let cs = -Infinity;
  let ce = -Infinity;
  for (const [a, b] of sorted) {
    if (a > ce) { if (ce > cs) total += ce - cs; cs = a; ce = b; } else if (b > ce) ce = b;
  }
  if (ce > cs) total += ce - cs;
  return total;
}

/** Union length restricted to [lo, hi). */
function unionLengthIn(iv: [number, number][], lo: number, hi: number): number {
  return unionLength(iv.map(([a, b]) => [Math.max(a, lo), Math.min(b, hi)] as [number, number]));
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** |a - b| within 1 ns plus a relative 1e-9 (sums of thousands of µs decimals). */
function near(actual: number | null | undefined, expected: number, what: string): void {
  assert.ok(typeof actual === 'number', `${what}: ${String(actual)} is not a number`);
  const tol = 0.0011 + Math.abs(expected) * 1e-9;
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} != ${expected} (±${tol})`);
}

// ---------------------------------------------------------------------------------------------

const KERNEL_TRACES = [
  PDL_EAGER,
  real('h200', 'pdl-cudagraph.trace.json.gz'),
  TP2_FILES[0]!,
  real('public', 'tracelens', 'b200_eager_trace.json.gz'),
  real('public', 'tracelens', 'sglang_Qwen3-8B_decode.json.gz'),
  real('public', 'hta', 'nccl_data.json.gz'),
  real('public', 'hta', 'ns_resolution_rank-0.pt.trace.json.gz'),
  real('public', 'hta', 'old_format_inference_rank_1.json.gz'),
  real('public', 'hta', 'amd_mi250_rocm6_2.json.gz'),
];

for (const file of KERNEL_TRACES) {
  test(`kernel view = per-name loop over kernel/memcpy/memset events: ${path.relative(REAL, file)}`, async () => {
    const l = load(file);
    const byName = new Map<string, number[]>();
    for (const e of l.events) {
      if (!isDevice(e)) continue;
      const d = durOf(e);
      const list = byName.get(e.name ?? '');
      if (list) list.push(d); else byName.set(e.name ?? '', [d]);
    }
    const r = await statsOf([file], { views: ['kernel', 'summary'] });
    const kernels = r.kernels!;
    assert.equal(kernels.length, byName.size, 'distinct names');
    // the plain-loop sum for cat == "kernel" only, as the issue words it
    const kernelOnly = new Map<string, number>();
    for (const e of l.events) if (e.ph === 'X' && (e.cat === 'kernel' || e.cat === 'Kernel') && e.t !== undefined) kernelOnly.set(e.name ?? '', (kernelOnly.get(e.name ?? '') ?? 0) + durOf(e));
    for (const [name, sum] of kernelOnly) near(kernels.find((k) => k.name === name)?.totalUs, sum, `total of ${name.slice(0, 60)}`);
    const busy = r.summary![0]!.busyUs;
    for (const k of kernels) {
      const d = byName.get(k.name);
      assert.ok(d, `unexpected kernel ${k.name}`);
      assert.equal(k.calls, d.length, `calls of ${k.name}`);
      const sum = d.reduce((a, b) => a + b, 0);
      near(k.totalUs, sum, `total of ${k.name.slice(0, 60)}`);
      near(k.minUs, Math.min(...d), `min of ${k.name.slice(0, 60)}`);
      near(k.maxUs, Math.max(...d), `max of ${k.name.slice(0, 60)}`);
      near(k.medianUs, median(d), `median of ${k.name.slice(0, 60)}`);
      near(k.meanUs, sum / d.length, `mean of ${k.name.slice(0, 60)}`);
      assert.ok(Math.abs(k.share - sum / busy) < 1e-6, `share of ${k.name.slice(0, 60)}`);
    }
    // ordered by total time
    for (let i = 1; i < kernels.length; i++) assert.ok(kernels[i - 1]!.totalUs >= kernels[i]!.totalUs);
  });

  test(`summary: GPU busy = interval union per device, span, idle: ${path.relative(REAL, file)}`, async () => {
    const l = load(file);
    const perDevice = new Map<string, [number, number][]>();
    let lo = Infinity;
    let hi = -Infinity;
    for (const e of l.events) {
      if (e.ph !== 'X' || e.t === undefined) continue;
      const [a, b] = interval(l, e);
      if (a < lo) lo = a;
      if (b > hi) hi = b;
      if (!isDevice(e)) continue;
      const key = JSON.stringify(e.pid);
      const list = perDevice.get(key);
      if (list) list.push([a, b]); else perDevice.set(key, [[a, b]]);
    }
    let busy = 0;
    for (const iv of perDevice.values()) busy += unionLength(iv);
    const s = (await statsOf([file], { views: ['summary'] })).summary![0]!;
    near(s.busyUs, busy, 'busy');
    near(s.spanUs, hi - lo, 'span');
    assert.equal(s.devices, perDevice.size);
    near(s.idleUs, Math.max(0, (hi - lo) * perDevice.size - busy), 'idle');
    if (perDevice.size > 0) assert.ok(Math.abs(s.utilization! - busy / ((hi - lo) * perDevice.size)) < 1e-6);
  });
}

test('summary on tp2: communication = union of NCCL kernels, overlap with compute by brute force', async () => {
  const r = await statsOf([TP2], { views: ['summary'] });
  for (const [k, file] of TP2_FILES.entries()) {
    const l = load(file);
    const comm: [number, number][] = [];
    const comp: [number, number][] = [];
    for (const e of l.events) {
      if (!isDevice(e) || e.cat !== 'kernel') continue;
      (/nccl/i.test(e.name ?? '') ? comm : comp).push(interval(l, e));
    }
    const s = r.summary![k]!;
    assert.equal(s.label, `TP0${k}`);
    near(s.communicationUs, unionLength(comm), 'communication');
    near(s.computeUs, unionLength(comp), 'compute');
    // overlap: for each comm segment, the compute union inside it
    let overlap = 0;
    for (const [a, b] of comm) overlap += unionLengthIn(comp, a, b);
    // comm kernels do not overlap one another on this single stream, so this is exact
    near(s.overlapUs, overlap, 'overlap');
    const nccl = s.categories.find((c) => c.category === 'communication')!;
    near(nccl.totalUs, comm.reduce((a, [x, y]) => a + y - x, 0), 'communication category total');
  }
});

// ---------------------------------------------------------------------------------------------
// ops

test('op view on pdl-eager: aten::mm [[2048, 2048], [2048, 2048]] BFloat16 with its cuBLAS kernel (hand-checked External id links)', async () => {
  // Read by hand in the file: cpu_op aten::mm "External id": 3 (ts 4447234163132.061, dur 141.779)
  // launches cuLaunchKernelEx (correlation 22, External id 3) and the kernel
  // nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_NNT (correlation 22, External id 3, dur 24.191).
  // The fused_add_rmsnorm / gemm_splitk / silu_and_mul PDL kernels are launched from ctypes
  // (cudaLaunchKernelExC outside any op): no External id.
  const l = load(PDL_EAGER);
  const first = l.events.find((e) => e.cat === 'cpu_op' && e.args?.['External id'] === 3)!;
  assert.equal(first.name, 'aten::mm');
  const k3 = l.events.filter((e) => e.cat === 'kernel' && e.args?.['External id'] === 3);
  assert.equal(k3.length, 1);
  assert.equal(k3[0]!.name, 'nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_NNT');
  assert.equal(k3[0]!.dur, 24.191);

  const mmExt = new Set(l.events.filter((e) => e.cat === 'cpu_op' && e.name === 'aten::mm').map((e) => e.args!['External id']));
  const mmKernels = l.events.filter((e) => e.cat === 'kernel' && mmExt.has(e.args?.['External id']));
  const mmCpu = l.events.filter((e) => e.cat === 'cpu_op' && e.name === 'aten::mm');

  const r = await statsOf([PDL_EAGER], { views: ['op'] });
  const mm = r.ops!.find((o) => o.name === 'aten::mm')!;
  assert.ok(mm, 'aten::mm listed');
  assert.deepEqual(mm.inputDims, [[2048, 2048], [2048, 2048]]);
  assert.deepEqual(mm.inputTypes, ['c10::BFloat16', 'c10::BFloat16']);
  assert.equal(mm.calls, 48);
  assert.equal(mm.calls, mmCpu.length);
  near(mm.cpuTotalUs, mmCpu.reduce((a, e) => a + durOf(e), 0), 'cpu total');
  near(mm.cpuSelfUs, mm.cpuTotalUs, 'cpu self (no child ops)');
  near(mm.deviceSelfUs, mmKernels.reduce((a, e) => a + durOf(e), 0), 'device self');
  near(mm.deviceTotalUs, mm.deviceSelfUs, 'device total');
  assert.equal(mm.kernels.length, 1);
  assert.equal(mm.kernels[0]!.name, 'nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_NNT');
  assert.equal(mm.kernels[0]!.calls, 48);
  const unlinked = l.events.filter((e) => isDevice(e) && e.args?.['External id'] === undefined);
  assert.equal(r.opLinks!.unlinkedKernels, unlinked.length);
  assert.equal(r.opLinks!.linkedKernels, mmKernels.length);
});

test('op view on tp2 rank 0: CPU self and device totals against a brute-force op tree', async () => {
  const file = TP2_FILES[0]!;
  const l = load(file);
  const ops = l.events.filter((e) => e.ph === 'X' && e.cat === 'cpu_op' && e.t !== undefined);
  // parent = the shortest op on the same thread that contains it (ties: the earlier in the file)
  const parent = ops.map((o, i) => {
    const [a, b] = interval(l, o);
    let best = -1;
    for (let j = 0; j < ops.length; j++) {
      if (j === i || ops[j]!.tid !== o.tid || ops[j]!.pid !== o.pid) continue;
      const [c, d] = interval(l, ops[j]!);
      if (c > a || d < b) continue;
      const same = c === a && d === b;
      if (same && j > i) continue; // identical spans: the earlier one is the parent
      if (best < 0 || d - c < interval(l, ops[best]!)[1] - interval(l, ops[best]!)[0]) best = j;
    }
    return best;
  });
  const extToOp = new Map<unknown, number>();
  ops.forEach((o, i) => extToOp.set(o.args?.['External id'], i));
  const devSelf = ops.map(() => 0);
  for (const e of l.events) {
    if (!isDevice(e)) continue;
    const i = extToOp.get(e.args?.['External id']);
    if (i !== undefined) devSelf[i]! += durOf(e);
  }
  const devTotal = devSelf.slice();
  ops.forEach((_, i) => { for (let p = parent[i]!; p >= 0; p = parent[p]!) devTotal[p]! += devSelf[i]!; });
  const childSum = ops.map(() => 0);
  ops.forEach((o, i) => { if (parent[i]! >= 0) childSum[parent[i]!]! += durOf(o); });
  const key = (o: RawEvent): string => JSON.stringify([o.name, o.args?.['Input Dims'] ?? null, o.args?.['Input type'] ?? null]);
  const expect = new Map<string, { calls: number; cpuTotal: number; cpuSelf: number; devSelf: number; devTotal: number }>();
  ops.forEach((o, i) => {
    const k = key(o);
    const x = expect.get(k) ?? { calls: 0, cpuTotal: 0, cpuSelf: 0, devSelf: 0, devTotal: 0 };
    x.calls++;
    x.cpuTotal += durOf(o);
    x.cpuSelf += Math.max(0, durOf(o) - childSum[i]!);
    x.devSelf += devSelf[i]!;
    x.devTotal += devTotal[i]!;
    expect.set(k, x);
  });
  const r = await statsOf([file], { views: ['op'] });
  assert.equal(r.ops!.length, expect.size);
  assert.equal(r.opLinks!.notNested, 0);
  for (const o of r.ops!) {
    const x = expect.get(JSON.stringify([o.name, o.inputDims, o.inputTypes]));
    assert.ok(x, `unexpected op row ${o.name}`);
    const what = `${o.name} ${JSON.stringify(o.inputDims)}`;
    assert.equal(o.calls, x.calls, `${what} calls`);
    near(o.cpuTotalUs, x.cpuTotal, `${what} cpu total`);
    near(o.cpuSelfUs, x.cpuSelf, `${what} cpu self`);
    near(o.deviceSelfUs, x.devSelf, `${what} device self`);
    near(o.deviceTotalUs, x.devTotal, `${what} device total`);
  }
  // aten::linear launches nothing itself; its device time is its aten::mm's
  const linear = r.ops!.filter((o) => o.name === 'aten::linear');
  assert.ok(linear.length > 0);
  for (const o of linear) { assert.equal(o.deviceSelfUs, 0); assert.ok(o.deviceTotalUs > 0); }
});

// ---------------------------------------------------------------------------------------------
// ranks

test('rank view on tp2: the rank that waits in all-reduce matches the per-rank NCCL totals; arrivals paired by hand', async () => {
  const nccl = TP2_FILES.map((f) => {
    const l = load(f);
    const base = BigInt(String(l.top['baseTimeNanoseconds']));
    const ks = l.events.filter((e) => e.cat === 'kernel' && /^ncclDevKernel_AllReduce/.test(e.name ?? ''));
    // absolute start in ns, exact: base + ts (µs with 3 decimals) * 1000
    const starts = ks.map((e) => {
      const [i, frac = ''] = e.ts!.split('.');
      return base + BigInt(i!) * 1000n + BigInt(frac.padEnd(3, '0').slice(0, 3));
    }).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { total: ks.reduce((a, e) => a + durOf(e), 0), starts };
  });
  assert.equal(nccl[0]!.starts.length, nccl[1]!.starts.length);
  let last1 = 0;
  let wait0 = 0n;
  for (let j = 0; j < nccl[0]!.starts.length; j++) {
    const a = nccl[0]!.starts[j]!;
    const b = nccl[1]!.starts[j]!;
    if (b > a) { last1++; wait0 += b - a; }
  }
  const r = await statsOf([TP2], { views: ['rank'] });
  const c = r.ranks!;
  assert.deepEqual(c.ranks, ['TP00', 'TP01']);
  const waiting = nccl[0]!.total > nccl[1]!.total ? 'TP00' : 'TP01';
  assert.equal(waiting, 'TP00', 'rank 0 spends more time in all-reduce kernels');
  assert.equal(c.collectives.mostWaiting, waiting);
  assert.equal(c.collectives.straggler, 'TP01');
  assert.equal(c.collectives.paired, nccl[0]!.starts.length);
  assert.equal(c.collectives.perRank[1]!.lastArrivals, last1);
  assert.equal(c.collectives.perRank[0]!.lastArrivals, nccl[0]!.starts.length - last1);
  near(c.collectives.perRank[0]!.waitUs, Number(wait0) / 1000, 'TP00 wait');
  // waiting in collectives is part of the NCCL kernel time of the waiting rank
  assert.ok(c.collectives.perRank[0]!.waitUs <= nccl[0]!.total);
  const allreduce = c.kernels.find((k) => k.name.startsWith('ncclDevKernel_AllReduce'))!;
  assert.equal(allreduce.maxRank, 'TP00');
  assert.equal(allreduce.minRank, 'TP01');
  near(allreduce.maxUs, nccl[0]!.total, 'max');
  near(allreduce.minUs, nccl[1]!.total, 'min');
  assert.equal(c.kernels[0]!.name, allreduce.name, 'largest spread first');
});

// ---------------------------------------------------------------------------------------------
// steps

test('step view on tp2 with --step decode_step_\\d+: GPU windows, busy time by clipping the union', async () => {
  const r = await statsOf([TP2], { views: ['step'], step: 'decode_step_\\d+' });
  const steps = r.steps!;
  for (const [k, file] of TP2_FILES.entries()) {
    const l = load(file);
    const label = `TP0${k}`;
    const cpu = l.events.filter((e) => e.cat === 'user_annotation' && /decode_step_\d+/.test(e.name ?? '')).sort((a, b) => a.t! - b.t!);
    const gpu = l.events.filter((e) => e.cat === 'gpu_user_annotation' && /decode_step_\d+/.test(e.name ?? ''));
    const dev: [number, number][] = l.events.filter(isDevice).map((e) => interval(l, e));
    const comm: [number, number][] = l.events.filter((e) => isDevice(e) && /nccl/i.test(e.name ?? '')).map((e) => interval(l, e));
    const mine = steps.filter((s) => s.label === label);
    assert.equal(mine.length, cpu.length);
    assert.equal(cpu.length, 6);
    cpu.forEach((c, i) => {
      const g = gpu.find((x) => x.args?.['External id'] === c.args?.['External id'])!;
      assert.ok(g, 'a GPU annotation with the same External id');
      const [lo, hi] = interval(l, g);
      const s = mine[i]!;
      assert.equal(s.name, c.name);
      near(s.wallUs, durOf(c), `${label} ${c.name} wall`);
      near(s.gpuUs, durOf(g), `${label} ${c.name} gpu`);
      near(s.busyUs, unionLengthIn(dev, lo, hi), `${label} ${c.name} busy`);
      near(s.communicationUs, unionLengthIn(comm, lo, hi), `${label} ${c.name} comm`);
      assert.equal(s.kernels, dev.filter(([a]) => a >= lo && a < hi).length, `${label} ${c.name} kernels`);
    });
  }
});
