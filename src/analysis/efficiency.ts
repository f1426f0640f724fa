/**
 * The efficiency view: per op + input shapes (the op view's rows), achieved FLOP/s and bytes/s
 * against the device's peak — a roofline per op.
 *
 * Which kernels are an op's: the op view's links (ops.ts `deviceOps`: the op that launched each
 * device activity) and its CPU op tree (`opTree`). A kernel belongs to the innermost op with a
 * performance model among the launching op and its ancestors, so `aten::linear > aten::matmul >
 * aten::mm` puts the GEMM kernel under `aten::mm` (as TraceLens does: it models the leaf op) and
 * `scaled_dot_product_attention > _scaled_dot_product_cudnn_attention > _cudnn_attention_forward`
 * under the cudnn op. Kernels with no modelled op above them stay with their launching op, listed
 * as "no model" with their time.
 *
 * CUDA/HIP graph replay kernels carry no External id: those that the capture or mapping trace
 * gave an op (graph-replay.ts) take it from there with its ancestors (replay-ops.ts), and the
 * model reads that op's `Input Dims`, `Input type`, `Concrete Inputs` and `flops` arg in that
 * trace; one call is one op instance in one replay. Replay kernels that matched nothing (or whose
 * candidates disagree on the enclosing ops) stay linked to no op. `routes` and a note give the
 * device time that reached the view per route (eager, capture, mapping).
 *
 * A call's time is the sum of its kernels' durations (exact integer ns in the records). Achieved
 * TFLOP/s of a call = FLOPs / time; a row gives the mean and median over calls and the
 * time-weighted figure (Σ FLOPs / Σ time), which the percentages of peak and the bound use.
 * Bound: arithmetic intensity (FLOPs / bytes) against the ridge point (peak FLOP/s / peak B/s).
 *
 * FLOP and byte counts are exact integers (BigInt in the models, summed as BigInt); the result
 * carries them as numbers, which are exact below 2^53 (9.007e15) — `exact: false` on a row whose
 * totals are above that.
 */
import { medianOf } from './kernels.js';
import { type DevicePeak, computeRoof, peakOf } from './device-peaks.js';
import { Route, type DeviceAttribution } from './attribution.js';
import { deviceOps, opKeyId } from './ops.js';
import { opTree } from './op-tree.js';
import { estimateOp, hasModel, type Family, type PerfEstimate, type Precision } from './perf-models/index.js';
import { callOf, eachReplayedOp } from './replay-ops.js';
import type { TraceRecords } from './records/trace-records.js';
import type { RankData } from './timeline.js';

export interface EfficiencyKernel {
  name: string;
  calls: number;
  totalUs: number;
  /** Share of the row's time. */
  share: number;
  /**
   * Achieved TFLOP/s and TB/s of the calls this kernel ran alone (one kernel per call: then the
   * op's FLOPs are the kernel's); null when it always shared its calls (split-K GEMM + reduce:
   * the FLOPs are the op's, not one kernel's).
   */
  tflops: number | null;
  tbps: number | null;
}

export interface EfficiencyRow {
  name: string;
  inputDims: unknown;
  inputTypes: unknown;
  /** Null: the op has no performance model (or its shapes do not fit it: see `missing`). */
  family: Family | null;
  /** The model's reading of the shapes (`M=… N=… K=…`). */
  params: string;
  precision: Precision | null;
  calls: number;
  totalUs: number;
  meanUs: number;
  medianUs: number;
  /** FLOPs / bytes of one call (null when unknown or when calls differ: then see the totals). */
  flops: number | null;
  bytes: number | null;
  /** Σ over the calls with a count. */
  totalFlops: number | null;
  totalBytes: number | null;
  /** PyTorch's own `flops` arg per call (`with_flops=True`), null when the trace has none. */
  pytorchFlops: number | null;
  /** Achieved TFLOP/s: time-weighted (Σ FLOPs / Σ time), mean and median over calls. */
  tflops: number | null;
  tflopsMean: number | null;
  tflopsMedian: number | null;
  /** Achieved TB/s (10^12 bytes/s), the same three ways. */
  tbps: number | null;
  tbpsMean: number | null;
  tbpsMedian: number | null;
  /** FLOPs per byte. */
  intensity: number | null;
  /** The device's roofs for this op (its precision; vector ops the FP32 vector rate). */
  peakTflops: number | null;
  peakTbps: number | null;
  /** tflops / peakTflops, tbps / peakTbps. */
  computeShare: number | null;
  bandwidthShare: number | null;
  /** By the ridge point: intensity ≥ peak FLOP/s ÷ peak B/s → compute. */
  bound: 'compute' | 'memory' | null;
  /** Why a figure is missing. */
  missing: string | null;
  /** False when a total is above 2^53 and so not exact as a number. */
  exact: boolean;
  kernels: EfficiencyKernel[];
}

export interface EfficiencyCategory {
  family: Family | 'no model';
  rows: number;
  calls: number;
  totalUs: number;
  /** Σ FLOPs / Σ time over the rows with FLOPs; Σ bytes / Σ time likewise. */
  tflops: number | null;
  tbps: number | null;
  /** Time-weighted mean of the rows' % of peak compute / bandwidth. */
  computeShare: number | null;
  bandwidthShare: number | null;
}

export interface EfficiencyDevice {
  label: string;
  /** `deviceProperties` name, or null when the trace has none. */
  name: string | null;
  peak: DevicePeak | null;
}

export interface EfficiencySummary {
  rows: EfficiencyRow[];
  categories: EfficiencyCategory[];
  devices: EfficiencyDevice[];
  /** Device time not linked to any op (µs). */
  unlinkedUs: number;
  /** Device time in the view per route: eager (External id), capture, mapping (graph replays). */
  routes: EfficiencyRoute[];
  notes: string[];
}

export interface EfficiencyOptions {
  /** `--peak`: replaces the table's peak for every device. */
  peak?: DevicePeak;
  /** Kernels listed per row (default 3). */
  topKernels?: number;
}

interface Acc {
  name: string;
  dims: string;
  types: string;
  family: Family | null;
  modelled: boolean;
  params: Set<string>;
  precision: Precision | null;
  missing: Set<string>;
  /** Per call: time (ns), FLOPs and bytes (null unknown), PyTorch flops (NaN absent). */
  times: number[];
  flops: (bigint | null)[];
  bytes: (bigint | null)[];
  ptFlops: number[];
  /** The peak of each device the calls ran on, by device name ('' for unknown). */
  peaks: Map<string, DevicePeak | null>;
  kernels: Map<string, { calls: number; ns: number; soleNs: number; soleFlops: bigint | null; soleBytes: bigint | null }>;
}

const median = (v: number[]): number | null => (v.length === 0 ? null : medianOf(v));
const mean = (v: number[]): number | null => (v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length);
const us = (ns: number): number => Math.round(ns) / 1000;

function parseList(raw: string): unknown[] | null {
  if (raw === '') return null;
  try { const v: unknown = JSON.parse(raw); return Array.isArray(v) ? v : null; } catch { return null; }
}
/** torch_npu writes `Input Dims` / `Input type` as `;\r\n`-joined strings: not read by the models. */
const parseOr = (raw: string): unknown => { if (raw === '') return null; try { return JSON.parse(raw); } catch { return raw; } };

/** The device of a rank: the `deviceProperties` entry of the pid most of its kernels run on. */
function rankDevice(rank: RankData): { name: string | null; sms: number | null } {
  const r = rank.records;
  const devs = r.devices ?? [];
  if (devs.length === 0) return { name: null, sms: null };
  const names = new Set(devs.map((d) => d.name));
  if (names.size === 1) return { name: devs[0]!.name || null, sms: devs[0]!.numSms };
  const count = new Map<number, number>();
  for (let i = 0; i < r.device.count; i++) count.set(r.device.pid[i]!, (count.get(r.device.pid[i]!) ?? 0) + 1);
  const top = [...count].sort((a, b) => b[1] - a[1])[0];
  const id = top ? Number(r.pids[top[0]]?.raw) : NaN;
  const d = devs.find((x) => x.id === id) ?? devs[0]!;
  return { name: d.name || null, sms: d.numSms };
}

const toNum = (b: bigint): number => Number(b);
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Device time that reached the view by one attribution route. */
export interface EfficiencyRoute {
  /** `eager`: the op that launched it in this trace (External id); `capture` / `mapping`: a graph replay kernel given its op by a capture or graph-off trace. */
  route: 'eager' | 'capture' | 'mapping';
  kernels: number;
  us: number;
  /** Of all device time of the ranks. */
  share: number;
}

/** One op call's device time (the kernels it owns), in the trace that recorded the op. */
interface Call {
  records: TraceRecords;
  op: number;
  ns: number;
  kernels: Map<string, { calls: number; ns: number }>;
}

/** Per records: op key → whether its name has a model (memoized; capture traces are shared by ranks). */
const modelledMemo = new WeakMap<TraceRecords, boolean[]>();
function modelledKeys(r: TraceRecords): boolean[] {
  let m = modelledMemo.get(r);
  if (!m) modelledMemo.set(r, (m = r.opKeys.map((k) => hasModel(k.name))));
  return m;
}

/** The innermost op with a model in a chain (launching op first, then its ancestors), else the launching op. */
function ownerIn(r: TraceRecords, chain: ArrayLike<number>): number {
  const modelled = modelledKeys(r);
  for (let j = 0; j < chain.length; j++) if (modelled[r.ops!.key[chain[j]!]!]) return chain[j]!;
  return chain[0]!;
}

const ROUTE_OF: Partial<Record<number, 'capture' | 'mapping'>> = { [Route.Capture]: 'capture', [Route.Mapping]: 'mapping' };

/**
 * The efficiency view over all ranks (rows with the same op name, dims and types are one).
 * `atts` (per rank, from graph-sources.ts): graph replay kernels attributed through a capture or
 * mapping trace join the op that launched them there, as if the replay trace had recorded it.
 */
export function efficiencyOf(ranks: readonly RankData[], opts: EfficiencyOptions = {}, atts?: readonly (DeviceAttribution | undefined)[]): EfficiencySummary {
  const acc = new Map<string, Acc>();
  const devices: EfficiencyDevice[] = [];
  const notes: string[] = [];
  const byRoute = { eager: { kernels: 0, ns: 0 }, capture: { kernels: 0, ns: 0 }, mapping: { kernels: 0, ns: 0 } };
  let totalNs = 0;
  let unlinkedNs = 0;
  /** Unlinked device time: graph replay kernels nothing matched, replayed outside any op of the capture / mapping trace, op instance not known. */
  let unattributedNs = 0, noOpReplayNs = 0, chainsDifferNs = 0;
  const keyAcc = new WeakMap<TraceRecords, Acc[]>();
  const accOfKey = (r: TraceRecords, key: number): Acc => {
    let list = keyAcc.get(r);
    if (!list) keyAcc.set(r, (list = []));
    let a = list[key];
    if (a) return a;
    const k = r.opKeys[key]!;
    const id = opKeyId(k);
    a = acc.get(id);
    if (!a) {
      a = {
        name: k.name, dims: k.dims, types: k.types, family: null, modelled: hasModel(k.name), params: new Set(), precision: null, missing: new Set(),
        times: [], flops: [], bytes: [], ptFlops: [], peaks: new Map(), kernels: new Map(),
      };
      acc.set(id, a);
    }
    return (list[key] = a);
  };
  const cache = new WeakMap<TraceRecords, Map<string, PerfEstimate | { error: string } | undefined>>();
  ranks.forEach((rank, rk) => {
    const dev = rankDevice(rank);
    const peak = opts.peak ?? (dev.name !== null ? peakOf(dev.name, dev.sms ?? undefined) : null);
    devices.push({ label: rank.label, name: dev.name, peak });
    const r = rank.records;
    const o = r.ops;
    const d = r.device;
    const att = atts?.[rk];
    // device time per owning op call, and its kernels
    const calls = new Map<number | string, Call>();
    const charge = (key: number | string, records: TraceRecords, op: number, i: number): void => {
      let c = calls.get(key);
      if (!c) calls.set(key, (c = { records, op, ns: 0, kernels: new Map() }));
      c.ns += d.dur[i]!;
      const name = r.names[d.name[i]!]!;
      const k = c.kernels.get(name);
      if (k) { k.calls++; k.ns += d.dur[i]!; } else c.kernels.set(name, { calls: 1, ns: d.dur[i]! });
    };
    const replayed = new Uint8Array(d.count);
    eachReplayedOp(att, (i, link) => {
      replayed[i] = 1;
      const owner = ownerIn(link.records, link.chain);
      charge(callOf(link, owner), link.records, owner, i);
      const x = byRoute[ROUTE_OF[link.route]!];
      x.kernels++;
      x.ns += d.dur[i]!;
    });
    const opOf = o && o.count > 0 ? deviceOps(r) : undefined;
    const parent = opOf ? opTree(r).parent : undefined;
    const chain: number[] = [];
    for (let i = 0; i < d.count; i++) {
      totalNs += d.dur[i]!;
      if (replayed[i]) continue;
      const x = opOf ? opOf[i]! : -1;
      if (x < 0) {
        unlinkedNs += d.dur[i]!;
        const rt = att?.route[i];
        if (rt === Route.GraphUnattributed) unattributedNs += d.dur[i]!;
        else if (rt === Route.Capture || rt === Route.Mapping) { if (att!.sites[att!.site[i]!]?.op) chainsDifferNs += d.dur[i]!; else noOpReplayNs += d.dur[i]!; }
        continue;
      }
      chain.length = 0;
      for (let y = x; y >= 0; y = parent![y]!) chain.push(y);
      const owner = ownerIn(r, chain);
      charge(owner, r, owner, i);
      byRoute.eager.kernels++;
      byRoute.eager.ns += d.dur[i]!;
    }
    for (const c of calls.values()) {
      const cr = c.records;
      const co = cr.ops!;
      const key = co.key[c.op]!;
      const a = accOfKey(cr, key);
      const ci = co.concrete?.[c.op] ?? -1;
      let est: PerfEstimate | { error: string } | undefined;
      if (a.modelled) {
        let memo = cache.get(cr);
        if (!memo) cache.set(cr, (memo = new Map()));
        const ck = `${key}\u0001${ci}`;
        if (memo.has(ck)) est = memo.get(ck);
        else {
          const k = cr.opKeys[key]!;
          const dims = parseList(k.dims);
          const types = parseList(k.types);
          const concrete = ci >= 0 ? parseList(cr.opConcrete?.[ci] ?? '') : null;
          est = dims && types
            ? estimateOp(k.name, { dims, types: types.map((t) => (typeof t === 'string' ? t : '')), concrete: concrete ? concrete.map((t) => (typeof t === 'string' ? t : String(t))) : null })
            : { error: 'no input shapes recorded (record_shapes=True)' };
          memo.set(ck, est);
        }
      }
      a.times.push(c.ns);
      a.peaks.set(peak?.device ?? '', peak);
      if (est && !('error' in est)) {
        a.family = est.family;
        a.precision ??= est.precision;
        a.params.add(est.params);
        if (est.missing) a.missing.add(est.missing);
        a.flops.push(est.flops);
        a.bytes.push(est.bytes);
      } else {
        if (est && 'error' in est) a.missing.add(`shapes do not fit the model: ${est.error}`);
        a.flops.push(null);
        a.bytes.push(null);
      }
      const pf = co.flops?.[c.op];
      a.ptFlops.push(pf === undefined ? NaN : pf);
      const km = c.kernels;
      const sole = km.size === 1 && [...km.values()][0]!.calls === 1;
      const cf = a.flops[a.flops.length - 1]!, cb = a.bytes[a.bytes.length - 1]!;
      for (const [name, k] of km) {
        let t = a.kernels.get(name);
        if (!t) { t = { calls: 0, ns: 0, soleNs: 0, soleFlops: 0n, soleBytes: 0n }; a.kernels.set(name, t); }
        t.calls += k.calls;
        t.ns += k.ns;
        if (sole) {
          t.soleNs += k.ns;
          t.soleFlops = t.soleFlops === null || cf === null ? null : t.soleFlops + cf;
          t.soleBytes = t.soleBytes === null || cb === null ? null : t.soleBytes + cb;
        }
      }
    }
  });
  const rows: EfficiencyRow[] = [];
  for (const a of acc.values()) {
    if (a.times.length === 0) continue;
    rows.push(rowOf(a, opts.topKernels ?? 3));
  }
  rows.sort((p, q) => q.totalUs - p.totalUs || (p.name < q.name ? -1 : p.name > q.name ? 1 : 0));
  const unknown = devices.filter((d) => d.peak === null);
  if (unknown.length > 0) {
    const names = [...new Set(unknown.map((d) => d.name ?? '(no deviceProperties)'))];
    notes.push(`efficiency: no peak figures for ${names.join(', ')}; achieved TFLOP/s and TB/s are shown without % of peak (give them with --peak tflops=N,tbps=N)`);
  }
  const noModel = rows.filter((x) => x.family === null);
  if (noModel.length > 0) notes.push(`efficiency: ${noModel.length} op(s) have no performance model (${us(noModel.reduce((s, x) => s + x.totalUs * 1000, 0)).toLocaleString('en-US')} µs of device time); they are listed without FLOPs`);
  const share = (ns: number): number => (totalNs > 0 ? ns / totalNs : 0);
  const routes: EfficiencyRoute[] = (['eager', 'capture', 'mapping'] as const).map((route) => ({ route, kernels: byRoute[route].kernels, us: us(byRoute[route].ns), share: share(byRoute[route].ns) }));
  const pct = (ns: number): string => `${(share(ns) * 100).toFixed(1)}%`;
  const usText = (ns: number): string => `${us(ns).toLocaleString('en-US')} µs`;
  if (byRoute.capture.kernels + byRoute.mapping.kernels > 0 || unattributedNs > 0) {
    notes.push(`efficiency: ${pct(totalNs - unlinkedNs)} of device time is in the view: ${routes.filter((x) => x.kernels > 0 || x.route === 'eager').map((x) => `${x.route} ${pct(byRoute[x.route].ns)} (${usText(byRoute[x.route].ns)}, ${x.kernels} kernels)`).join(', ')}`);
  }
  if (unlinkedNs > 0) {
    const parts = [
      unattributedNs > 0 ? `${usText(unattributedNs)} graph replay, unattributed (give --capture or --mapping)` : '',
      noOpReplayNs > 0 ? `${usText(noOpReplayNs)} replayed kernels launched outside any cpu_op of the capture or mapping trace` : '',
      chainsDifferNs > 0 ? `${usText(chainsDifferNs)} replayed kernels whose matching candidates sit under different ops` : '',
    ].filter((x) => x !== '');
    const rest = unlinkedNs - unattributedNs - noOpReplayNs - chainsDifferNs;
    if (rest > 0) parts.push(`${usText(rest)} launched outside any cpu_op`);
    notes.push(`efficiency: ${usText(unlinkedNs)} of device time is linked to no op: ${parts.join('; ')}`);
  }
  return { rows, categories: categoriesOf(rows), devices, unlinkedUs: us(unlinkedNs), routes, notes };
}

function rowOf(a: Acc, topKernels: number): EfficiencyRow {
  const n = a.times.length;
  const totalNs = a.times.reduce((s, t) => s + t, 0);
  const same = (v: (bigint | null)[]): bigint | null => (v.length > 0 && v.every((x) => x !== null && x === v[0]) ? v[0]! : null);
  const sum = (v: (bigint | null)[]): { total: bigint; ns: number } | null => {
    let total = 0n;
    let ns = 0;
    let any = false;
    v.forEach((x, i) => { if (x !== null) { total += x; ns += a.times[i]!; any = true; } });
    return any ? { total, ns } : null;
  };
  const perCall = (v: (bigint | null)[], scale: number): number[] => {
    const out: number[] = [];
    v.forEach((x, i) => { const t = a.times[i]!; if (x !== null && t > 0) out.push(toNum(x) / t / scale); });
    return out;
  };
  const f = sum(a.flops);
  const b = sum(a.bytes);
  // FLOPs per ns / 1000 = TFLOP/s
  const tflopsCalls = perCall(a.flops, 1000);
  const tbpsCalls = perCall(a.bytes, 1000);
  const tflops = f && f.ns > 0 ? toNum(f.total) / f.ns / 1000 : null;
  const tbps = b && b.ns > 0 ? toNum(b.total) / b.ns / 1000 : null;
  const flops1 = same(a.flops);
  const bytes1 = same(a.bytes);
  const intensity = f && b && b.total > 0n ? toNum(f.total) / toNum(b.total) : null;
  const peaks = [...a.peaks.values()];
  const peak = peaks.length === 1 ? peaks[0]! : null;
  const missing = [...a.missing];
  if (peaks.length > 1) missing.push('ranks on different devices: no single peak');
  const matrix = a.family === 'gemm' || a.family === 'attention' || a.family === 'conv';
  const peakTflops = peak && a.family !== null ? computeRoof(peak, matrix, a.precision) : null;
  const peakTbps = peak ? peak.tbps : null;
  if (peak && a.family !== null && peakTflops === null) missing.push(`no ${a.precision ?? 'unknown-precision'} peak for ${peak.device}`);
  const ridge = peakTflops !== null && peakTbps !== null ? peakTflops / peakTbps : null;
  const pt = a.ptFlops.every((x) => x === x) && a.ptFlops.every((x) => x === a.ptFlops[0]) ? a.ptFlops[0]! : null;
  const kernels = [...a.kernels].sort((p, q) => q[1].ns - p[1].ns).slice(0, topKernels)
    .map(([name, k]) => ({
      name, calls: k.calls, totalUs: us(k.ns), share: totalNs > 0 ? k.ns / totalNs : 0,
      tflops: k.soleNs > 0 && k.soleFlops !== null && a.family !== null ? toNum(k.soleFlops) / k.soleNs / 1000 : null,
      tbps: k.soleNs > 0 && k.soleBytes !== null && a.family !== null ? toNum(k.soleBytes) / k.soleNs / 1000 : null,
    }));
  return {
    name: a.name, inputDims: parseOr(a.dims), inputTypes: parseOr(a.types),
    family: a.family, params: [...a.params].join(' | '), precision: a.precision,
    calls: n, totalUs: us(totalNs), meanUs: us(totalNs / n), medianUs: us(median(a.times)!),
    flops: flops1 === null ? null : toNum(flops1), bytes: bytes1 === null ? null : toNum(bytes1),
    totalFlops: f ? toNum(f.total) : null, totalBytes: b ? toNum(b.total) : null,
    pytorchFlops: pt,
    tflops, tflopsMean: mean(tflopsCalls), tflopsMedian: median(tflopsCalls),
    tbps, tbpsMean: mean(tbpsCalls), tbpsMedian: median(tbpsCalls),
    intensity,
    peakTflops, peakTbps,
    computeShare: tflops !== null && peakTflops !== null ? tflops / peakTflops : null,
    bandwidthShare: tbps !== null && peakTbps !== null ? tbps / peakTbps : null,
    bound: intensity !== null && ridge !== null ? (intensity >= ridge ? 'compute' : 'memory') : null,
    missing: a.family === null && !a.modelled ? 'no model' : missing.length > 0 ? missing.join('; ') : null,
    exact: (f === null || f.total <= SAFE) && (b === null || b.total <= SAFE),
    kernels,
  };
}

const FAMILIES: (Family | 'no model')[] = ['gemm', 'attention', 'conv', 'norm', 'elementwise', 'no model'];

/** Time-weighted totals per family. */
function categoriesOf(rows: readonly EfficiencyRow[]): EfficiencyCategory[] {
  const out: EfficiencyCategory[] = [];
  for (const fam of FAMILIES) {
    const rs = rows.filter((r) => (r.family ?? 'no model') === fam);
    if (rs.length === 0) continue;
    let flops = 0, flopsUs = 0, bytes = 0, bytesUs = 0, cw = 0, cwUs = 0, bw = 0, bwUs = 0;
    for (const r of rs) {
      if (r.totalFlops !== null && r.tflops !== null && r.tflops > 0) { flops += r.totalFlops; flopsUs += r.totalFlops / r.tflops / 1e6; }
      if (r.totalBytes !== null && r.tbps !== null && r.tbps > 0) { bytes += r.totalBytes; bytesUs += r.totalBytes / r.tbps / 1e6; }
      if (r.computeShare !== null) { cw += r.computeShare * r.totalUs; cwUs += r.totalUs; }
      if (r.bandwidthShare !== null) { bw += r.bandwidthShare * r.totalUs; bwUs += r.totalUs; }
    }
    out.push({
      family: fam, rows: rs.length, calls: rs.reduce((s, r) => s + r.calls, 0), totalUs: us(rs.reduce((s, r) => s + r.totalUs * 1000, 0)),
      tflops: flopsUs > 0 ? flops / flopsUs / 1e6 : null, tbps: bytesUs > 0 ? bytes / bytesUs / 1e6 : null,
      computeShare: cwUs > 0 ? cw / cwUs : null, bandwidthShare: bwUs > 0 ? bw / bwUs : null,
    });
  }
  return out;
}
