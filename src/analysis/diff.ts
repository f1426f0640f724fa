/**
 * Two profiles compared: `diffStats(baseline, candidate)` over the statistics of each side (what
 * `statsOf` returns, plus the CPU-side CUDA/HIP runtime and driver calls).
 *
 * Profiles of different lengths are made comparable by normalizing every time and call count
 * to one unit: per step when both sides have steps (`ProfilerStep#N`, a family of numbered
 * annotations such as `decode_step_N` found by step-detect.ts, or the `--step` pattern), else
 * whole-profile totals (the reason says whether the workloads look alike); per second of
 * profile only with `--normalize second`. Means per call need no unit.
 *
 * Kernels are paired by kernel-match.ts (exact, then spelling, then unambiguous family); ops by
 * name + input dims + input types; categories, API calls and ranks by name. Rows are sorted by
 * absolute change of total time. Pure: no I/O.
 */
import type { SourceStat } from './source-view.js';
import { isLaunchCall } from './launch-link.js';
import { IDLE_CAUSES, IDLE_CAUSE_TITLES, type IdleCause } from './idle.js';
export { isLaunchCall } from './launch-link.js';
import { TraceforgeError } from '../errors.js';
import type { DiagnosticEntry } from '../model/diagnostics.js';
import type { CategoryStat, KernelStat } from './kernels.js';
import { matchKernelNames, type MatchLevel } from './kernel-match.js';
import type { OpStat } from './ops.js';
import { diffEfficiency, type EfficiencyDiffRow } from './efficiency-diff.js';
import type { ApiCallStat, StatsInput, StatsResult } from './result.js';
import type { StepStat } from './steps.js';
import type { RankSummary } from './summary.js';
import { commDiffRows, type CommDiffRow } from './comm-diff.js';

export type DiffView = 'kernel' | 'category' | 'op' | 'rank' | 'step' | 'idle' | 'efficiency' | 'source' | 'module' | 'comm';
/** Every view, in report order. `idle`: idle time by cause and the launch path, as totals rows (idle-view.ts). */
export const DIFF_VIEWS: readonly DiffView[] = ['kernel', 'category', 'op', 'rank', 'step', 'idle', 'efficiency', 'source', 'module', 'comm'];
export const DEFAULT_DIFF_VIEWS: readonly DiffView[] = ['kernel'];

export type Normalize = 'auto' | 'step' | 'second' | 'none';
export const NORMALIZE_MODES: readonly Normalize[] = ['auto', 'step', 'second', 'none'];

export type { ApiCallStat } from './result.js';

/** One side of the comparison. */
export interface DiffSide {
  /** Needs the summary view; kernel, category, op and step for the views compared (step also for per-step units). */
  stats: StatsResult;
  /** Runtime / driver calls; undefined when not collected. */
  apiCalls?: ApiCallStat[];
}

export interface DiffOptions {
  views?: readonly DiffView[];
  /** Pair kernels by their exact names only. */
  exact?: boolean;
  /** Unit of comparison (default auto: step, else second). */
  normalize?: Normalize;
  /** How steps were recognised, for the notes (e.g. `ProfilerStep#N`). */
  stepPattern?: string;
}

export interface Normalization {
  per: 'step' | 'second' | 'profile';
  /** Units each side's totals were divided by: steps, seconds, or 1. */
  baselineUnits: number;
  candidateUnits: number;
  /** Steps per rank found on each side (mean over ranks with steps), 0 when none. */
  baselineSteps: number;
  candidateSteps: number;
  /** Mean profiled span of a rank, in seconds. */
  baselineSeconds: number;
  candidateSeconds: number;
  /** One sentence: which unit, and why. */
  reason: string;
}

/** Calls and total time per unit; mean per call (unit-free). */
export interface Measure {
  calls: number;
  totalUs: number;
  /** total / calls over the whole profile; null without calls. */
  meanUs: number | null;
}

export interface OpMeasure extends Measure {
  /** Per unit: CPU time of the op (with children) and device time of kernels it and its children launched. */
  cpuTotalUs: number;
  deviceTotalUs: number;
}

export type RowStatus = 'both' | 'added' | 'removed';

export interface DiffRow<M extends Measure = Measure> {
  /** The name shown: the candidate's when both sides have the row. */
  name: string;
  status: RowStatus;
  baseline: M | null;
  candidate: M | null;
  /** candidate − baseline total per unit. */
  deltaUs: number;
  /** delta / baseline; null when the baseline has none (added rows). */
  change: number | null;
}

export interface KernelDiffRow extends DiffRow {
  category: string;
  /** How the kernel was paired; null for added / removed rows. */
  match: MatchLevel | null;
  /** Every raw name of the kernel on each side (several when spellings merged). */
  baselineNames: string[];
  candidateNames: string[];
}

export interface OpDiffRow extends DiffRow<OpMeasure> {
  inputDims: unknown;
  inputTypes: unknown;
}

export interface CategoryDiffRow extends DiffRow {
  /** Distinct kernels in the category on each side. */
  baselineKernels: number;
  candidateKernels: number;
}

export interface ApiDiffRow extends DiffRow {
  /** A kernel / graph launch call (`cudaLaunchKernel`, `cuLaunchKernelEx`, `cudaGraphLaunch`, `hipLaunchKernel`, ...). */
  launch: boolean;
}

export interface RankMeasure {
  busyUs: number;
  computeUs: number;
  communicationUs: number;
  exposedCommunicationUs: number;
  kernels: number;
}

export interface RankDiffRow {
  label: string;
  baselineLabel: string | null;
  candidateLabel: string | null;
  status: RowStatus;
  baseline: RankMeasure | null;
  candidate: RankMeasure | null;
  deltaBusyUs: number;
  changeBusy: number | null;
}

export interface StepMeasure {
  name: string;
  /** Longest CPU step annotation over the ranks (null without one). */
  wallUs: number | null;
  /** GPU busy time inside the step, summed over ranks. */
  busyUs: number;
  kernels: number;
}

export interface StepDiffRow {
  /** Position of the step on its side (0-based). */
  index: number;
  status: RowStatus;
  baseline: StepMeasure | null;
  candidate: StepMeasure | null;
  deltaWallUs: number | null;
  deltaBusyUs: number;
  changeBusy: number | null;
}

export type TotalMetric = 'busy' | 'compute' | 'communication' | 'exposedCommunication' | 'kernelTime' | 'kernels' | 'launchCalls' | 'launchTime'
  | 'idle' | `idle-${IdleCause}` | 'launchDelay';

export interface TotalRow {
  metric: TotalMetric;
  title: string;
  /** `us` for times, `count` for counts (per unit). */
  unit: 'us' | 'count';
  baseline: number;
  candidate: number;
  delta: number;
  change: number | null;
}

export interface DiffSideInfo {
  inputs: StatsInput[];
  /** The side's own notes from reading it (ranks found, merged traces split). */
  notes: string[];
  /** Data problems met while reading it. */
  diagnostics: DiagnosticEntry[];
}

export interface DiffResult {
  views: DiffView[];
  /** What the devices are called (see StatsResult.device). */
  device?: 'GPU' | 'NPU' | 'device';
  exact: boolean;
  baseline: DiffSideInfo;
  candidate: DiffSideInfo;
  normalization: Normalization;
  /** GPU busy, compute, communication, kernel time, launches: per unit, both sides. `totals[0]` is GPU busy (the headline). */
  totals: TotalRow[];
  kernels?: KernelDiffRow[];
  /** Runtime / driver API calls (with the kernel view, when collected on both sides). */
  apiCalls?: ApiDiffRow[];
  categories?: CategoryDiffRow[];
  ops?: OpDiffRow[];
  ranks?: RankDiffRow[];
  steps?: StepDiffRow[];
  /** Achieved TFLOP/s per op + shapes (efficiency-diff.ts). */
  efficiency?: EfficiencyDiffRow[];
  /** Device time by Python source / nn.Module chain (attribution), rows by name. */
  sources?: DiffRow[];
  modules?: DiffRow[];
  /** Collectives per type and size: latency and busbw of both sides (comm-diff.ts). */
  comm?: CommDiffRow[];
  /** Kernels left unpaired because their family is not one-to-one (see kernel-match.ts). */
  ambiguous: { key: string; baseline: string[]; candidate: string[] }[];
  notes: string[];
}


const changeOf = (b: number, c: number): number | null => (b !== 0 ? (c - b) / b : c === 0 ? 0 : null);

/** Step annotations per rank on one side: the mean over ranks that have any, and whether ranks disagree. */
function stepsPerRank(steps: readonly StepStat[] | undefined): { mean: number; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  for (const s of steps ?? []) counts.set(s.label, (counts.get(s.label) ?? 0) + 1);
  const n = [...counts.values()];
  return { mean: n.length === 0 ? 0 : n.reduce((a, b) => a + b, 0) / n.length, counts };
}

const sumOf = (s: readonly RankSummary[] | undefined, f: (r: RankSummary) => number): number => (s ?? []).reduce((a, r) => a + f(r), 0);

function secondsPerRank(summary: readonly RankSummary[] | undefined): number {
  const spans = (summary ?? []).map((s) => s.spanUs).filter((x) => x > 0);
  return spans.length === 0 ? 0 : spans.reduce((a, b) => a + b, 0) / spans.length / 1e6;
}

function normalizationOf(b: StatsResult, c: StatsResult, opts: DiffOptions, notes: string[]): Normalization {
  const mode = opts.normalize ?? 'auto';
  const pattern = opts.stepPattern ?? 'ProfilerStep#N';
  const sb = stepsPerRank(b.steps);
  const sc = stepsPerRank(c.steps);
  for (const [side, s] of [['baseline', sb], ['candidate', sc]] as const) {
    if (new Set(s.counts.values()).size > 1) {
      notes.push(`${side}: ranks have different numbers of steps (${[...s.counts].map(([l, n]) => `${l} ${n}`).join(', ')}); their mean is used`);
    }
  }
  const secB = secondsPerRank(b.summary);
  const secC = secondsPerRank(c.summary);
  const base = { baselineSteps: sb.mean, candidateSteps: sc.mean, baselineSeconds: secB, candidateSeconds: secC };
  const stepsBoth = sb.mean > 0 && sc.mean > 0;
  const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(2));
  if (mode === 'step' || (mode === 'auto' && stepsBoth)) {
    if (!stepsBoth) {
      const where = sb.mean > 0 ? 'the candidate has none' : sc.mean > 0 ? 'the baseline has none' : 'neither side has any';
      throw new TraceforgeError('E_USAGE', `--normalize step: no step annotations matching ${pattern} on both sides (${where}); name them with --step REGEX, or use --normalize second`);
    }
    return { per: 'step', baselineUnits: sb.mean, candidateUnits: sc.mean, ...base,
      reason: `per step: ${pattern} steps on both sides (baseline ${fmt(sb.mean)}, candidate ${fmt(sc.mean)} per rank); totals of the whole profile divided by its steps` };
  }
  if (mode === 'auto') {
    // no steps on both sides: totals, never rates (a shorter profile of the same work is not "slower per second")
    const kb = sumOf(b.summary, (r) => r.kernels);
    const kc = sumOf(c.summary, (r) => r.kernels);
    const alike = kb > 0 && kc > 0 && Math.abs(kb - kc) <= 0.1 * Math.max(kb, kc);
    const which = sb.mean > 0 ? `${pattern} steps on the baseline only` : sc.mean > 0 ? `${pattern} steps on the candidate only` : 'no steps on either side';
    return { per: 'profile', baselineUnits: 1, candidateUnits: 1, ...base,
      reason: `per profile: whole-profile totals (${which}; ${alike ? `the workloads look alike: ${kb} vs ${kc} device activities` : `the workloads differ: ${kb} vs ${kc} device activities, so totals compare different amounts of work`}; --normalize second compares rates)` };
  }
  if (mode === 'second') {
    if (!(secB > 0 && secC > 0)) throw new TraceforgeError('E_USAGE', '--normalize second: a side has no timed events');
    const why = 'as asked';
    return { per: 'second', baselineUnits: secB, candidateUnits: secC, ...base,
      reason: `per second of profile (${why}; profiled span per rank: baseline ${(secB * 1000).toFixed(3)} ms, candidate ${(secC * 1000).toFixed(3)} ms)` };
  }
  return { per: 'profile', baselineUnits: 1, candidateUnits: 1, ...base,
    reason: mode === 'none' ? 'per profile: raw totals, not normalized (as asked)' : 'per profile: raw totals (no steps and no profiled span to normalize by)' };
}

function sortRows<R extends { deltaUs: number; name: string; baseline: Measure | null; candidate: Measure | null }>(rows: R[]): R[] {
  const size = (r: R): number => Math.max(r.baseline?.totalUs ?? 0, r.candidate?.totalUs ?? 0);
  return rows.sort((p, q) => Math.abs(q.deltaUs) - Math.abs(p.deltaUs) || size(q) - size(p) || (p.name < q.name ? -1 : p.name > q.name ? 1 : 0));
}

function statusOf(b: unknown, c: unknown): RowStatus {
  return b === null ? 'added' : c === null ? 'removed' : 'both';
}

/** Calls and total per unit from raw sums. */
function measure(calls: number, totalUs: number, units: number): Measure {
  return { calls: calls / units, totalUs: totalUs / units, meanUs: calls > 0 ? totalUs / calls : null };
}

function row<M extends Measure>(name: string, b: M | null, c: M | null): DiffRow<M> {
  const bt = b?.totalUs ?? 0;
  const ct = c?.totalUs ?? 0;
  return { name, status: statusOf(b, c), baseline: b, candidate: c, deltaUs: ct - bt, change: b === null ? null : changeOf(bt, ct) };
}

function kernelRows(b: readonly KernelStat[], c: readonly KernelStat[], n: Normalization, exact: boolean): { rows: KernelDiffRow[]; ambiguous: DiffResult['ambiguous'] } {
  const byName = (list: readonly KernelStat[]): Map<string, KernelStat> => new Map(list.map((k) => [k.name, k]));
  const bm = byName(b);
  const cm = byName(c);
  const m = matchKernelNames(b.map((k) => k.name), c.map((k) => k.name), { exact });
  const sum = (names: readonly string[], map: Map<string, KernelStat>, units: number): Measure => {
    let calls = 0;
    let total = 0;
    for (const nm of names) { const k = map.get(nm)!; calls += k.calls; total += k.totalUs; }
    return measure(calls, total, units);
  };
  const catOf = (names: readonly string[], map: Map<string, KernelStat>): string => map.get(names[0]!)!.category;
  const rows: KernelDiffRow[] = [];
  for (const p of m.pairs) {
    rows.push({ ...row(p.candidate[0]!, sum(p.baseline, bm, n.baselineUnits), sum(p.candidate, cm, n.candidateUnits)),
      category: catOf(p.candidate, cm), match: p.level, baselineNames: p.baseline, candidateNames: p.candidate });
  }
  for (const names of m.removed) {
    rows.push({ ...row(names[0]!, sum(names, bm, n.baselineUnits), null), category: catOf(names, bm), match: null, baselineNames: names, candidateNames: [] });
  }
  for (const names of m.added) {
    rows.push({ ...row(names[0]!, null, sum(names, cm, n.candidateUnits)), category: catOf(names, cm), match: null, baselineNames: [], candidateNames: names });
  }
  return { rows: sortRows(rows), ambiguous: m.ambiguous };
}

function categoryRows(b: readonly CategoryStat[], c: readonly CategoryStat[], n: Normalization): CategoryDiffRow[] {
  const order = [...b.map((x) => x.category), ...c.map((x) => x.category)].filter((x, i, a) => a.indexOf(x) === i);
  return sortRows(order.map((cat) => {
    const x = b.find((y) => y.category === cat);
    const y = c.find((z) => z.category === cat);
    return {
      ...row(cat, x ? measure(x.calls, x.totalUs, n.baselineUnits) : null, y ? measure(y.calls, y.totalUs, n.candidateUnits) : null),
      baselineKernels: x?.kernels ?? 0, candidateKernels: y?.kernels ?? 0,
    };
  }));
}

const canonical = (v: unknown): string => (v === null || v === undefined ? '' : JSON.stringify(v));

function opRows(b: readonly OpStat[], c: readonly OpStat[], n: Normalization): OpDiffRow[] {
  const key = (o: OpStat): string => `${o.name}\u0001${canonical(o.inputDims)}\u0001${canonical(o.inputTypes)}`;
  const om = (o: OpStat, units: number): OpMeasure => ({
    ...measure(o.calls, o.deviceSelfUs, units), cpuTotalUs: o.cpuTotalUs / units, deviceTotalUs: o.deviceTotalUs / units,
  });
  const cm = new Map(c.map((o) => [key(o), o]));
  const seen = new Set<string>();
  const rows: OpDiffRow[] = [];
  for (const o of b) {
    const k = key(o);
    seen.add(k);
    const other = cm.get(k);
    rows.push({ ...row(o.name, om(o, n.baselineUnits), other ? om(other, n.candidateUnits) : null), inputDims: o.inputDims, inputTypes: o.inputTypes });
  }
  for (const o of c) {
    if (!seen.has(key(o))) rows.push({ ...row(o.name, null, om(o, n.candidateUnits)), inputDims: o.inputDims, inputTypes: o.inputTypes });
  }
  // by device self time; ops without device time (CPU-only) by CPU time after them
  const cpu = (r: OpDiffRow): number => (r.candidate?.cpuTotalUs ?? 0) - (r.baseline?.cpuTotalUs ?? 0);
  return rows.sort((p, q) => Math.abs(q.deltaUs) - Math.abs(p.deltaUs) || Math.abs(cpu(q)) - Math.abs(cpu(p))
    || (p.name < q.name ? -1 : p.name > q.name ? 1 : 0) || (canonical(p.inputDims) < canonical(q.inputDims) ? -1 : 1));
}

function apiRows(b: readonly ApiCallStat[], c: readonly ApiCallStat[], n: Normalization): ApiDiffRow[] {
  const cm = new Map(c.map((x) => [x.name, x]));
  const bm = new Map(b.map((x) => [x.name, x]));
  const names = [...b.map((x) => x.name), ...c.map((x) => x.name).filter((x) => !bm.has(x))];
  return sortRows(names.map((name) => {
    const x = bm.get(name);
    const y = cm.get(name);
    return { ...row(name, x ? measure(x.calls, x.totalUs, n.baselineUnits) : null, y ? measure(y.calls, y.totalUs, n.candidateUnits) : null), launch: isLaunchCall(name) };
  }));
}

function rankRows(b: readonly RankSummary[], c: readonly RankSummary[], n: Normalization, notes: string[]): RankDiffRow[] {
  const rm = (s: RankSummary, units: number): RankMeasure => ({
    busyUs: s.busyUs / units, computeUs: s.computeUs / units, communicationUs: s.communicationUs / units,
    exposedCommunicationUs: s.exposedCommunicationUs / units, kernels: s.kernels / units,
  });
  // pair by rank number when every rank has a distinct one, else by label; one rank each: with each other
  const byNumber = (l: readonly RankSummary[]): boolean => l.every((s) => s.rank !== null) && new Set(l.map((s) => s.rank)).size === l.length;
  let key: (s: RankSummary) => string;
  if (b.length === 1 && c.length === 1) key = () => 'only';
  else if (byNumber(b) && byNumber(c)) key = (s) => `#${s.rank!}`;
  else key = (s) => s.label;
  const pairs: [RankSummary | null, RankSummary | null][] = [];
  const cm = new Map(c.map((s) => [key(s), s]));
  const used = new Set<string>();
  for (const s of b) { const k = key(s); used.add(k); pairs.push([s, cm.get(k) ?? null]); }
  for (const s of c) if (!used.has(key(s))) pairs.push([null, s]);
  if (pairs.some(([x, y]) => x === null || y === null)) notes.push('rank view: some ranks have no counterpart on the other side (paired by rank number, else by label)');
  return pairs.map(([x, y]) => {
    const bb = x ? rm(x, n.baselineUnits) : null;
    const cc = y ? rm(y, n.candidateUnits) : null;
    const label = x && y && x.label !== y.label ? `${x.label} → ${y.label}` : (y ?? x)!.label;
    return {
      label, baselineLabel: x?.label ?? null, candidateLabel: y?.label ?? null, status: statusOf(bb, cc), baseline: bb, candidate: cc,
      deltaBusyUs: (cc?.busyUs ?? 0) - (bb?.busyUs ?? 0), changeBusy: bb === null ? null : changeOf(bb.busyUs, cc?.busyUs ?? 0),
    };
  });
}

/** The k-th step of each rank, combined over ranks: longest wall time, summed busy time and kernels. */
function stepsByIndex(steps: readonly StepStat[] | undefined): StepMeasure[] {
  const out: StepMeasure[] = [];
  for (const s of steps ?? []) {
    const m = out[s.index] ?? (out[s.index] = { name: s.name, wallUs: null, busyUs: 0, kernels: 0 });
    if (s.wallUs !== null) m.wallUs = Math.max(m.wallUs ?? 0, s.wallUs);
    m.busyUs += s.busyUs;
    m.kernels += s.kernels;
  }
  return out;
}

function stepRows(b: readonly StepStat[] | undefined, c: readonly StepStat[] | undefined): StepDiffRow[] {
  const sb = stepsByIndex(b);
  const sc = stepsByIndex(c);
  const rows: StepDiffRow[] = [];
  for (let i = 0; i < Math.max(sb.length, sc.length); i++) {
    const x = sb[i] ?? null;
    const y = sc[i] ?? null;
    rows.push({
      index: i, status: statusOf(x, y), baseline: x, candidate: y,
      deltaWallUs: x?.wallUs != null && y?.wallUs != null ? y.wallUs - x.wallUs : null,
      deltaBusyUs: (y?.busyUs ?? 0) - (x?.busyUs ?? 0),
      changeBusy: x === null ? null : changeOf(x.busyUs, y?.busyUs ?? 0),
    });
  }
  return rows;
}

const sumOver = (s: StatsResult, f: (r: RankSummary) => number): number => sumOf(s.summary, f);
const launches = (d: DiffSide, f: (x: ApiCallStat) => number): number => (d.apiCalls ?? []).filter((x) => isLaunchCall(x.name)).reduce((a, x) => a + f(x), 0);

/**
 * A side with device activity but no launch call at all does not record the launch layer
 * (torch_npu Level 0 writes no CANN calls; a CUDA trace without its cuda_runtime events): its
 * API call figures are missing, not zero.
 */
const launchesUnrecorded = (d: DiffSide): boolean => launches(d, (x) => x.calls) === 0 && sumOver(d.stats, (r) => r.kernels) > 0;

function totalsOf(b: DiffSide, c: DiffSide, n: Normalization, apiBoth: boolean): TotalRow[] {
  const kernelTime = (s: StatsResult): number => (s.kernels ?? []).reduce((a, k) => a + k.totalUs, 0);
  const t = (metric: TotalMetric, title: string, unit: TotalRow['unit'], vb: number, vc: number): TotalRow => {
    const x = vb / n.baselineUnits;
    const y = vc / n.candidateUnits;
    return { metric, title, unit, baseline: x, candidate: y, delta: y - x, change: changeOf(x, y) };
  };
  const rows = [
    t('busy', 'GPU busy', 'us', sumOver(b.stats, (r) => r.busyUs), sumOver(c.stats, (r) => r.busyUs)),
    t('compute', 'compute (union)', 'us', sumOver(b.stats, (r) => r.computeUs), sumOver(c.stats, (r) => r.computeUs)),
    t('communication', 'communication (union)', 'us', sumOver(b.stats, (r) => r.communicationUs), sumOver(c.stats, (r) => r.communicationUs)),
    t('exposedCommunication', 'exposed communication', 'us', sumOver(b.stats, (r) => r.exposedCommunicationUs), sumOver(c.stats, (r) => r.exposedCommunicationUs)),
    t('kernelTime', 'kernel time (sum of durations)', 'us', kernelTime(b.stats), kernelTime(c.stats)),
    t('kernels', 'device activities', 'count', sumOver(b.stats, (r) => r.kernels), sumOver(c.stats, (r) => r.kernels)),
  ];
  const ib = b.stats.idle;
  const ic = c.stats.idle;
  if (ib && ic) {
    const avail = (v: typeof ib): typeof ib.devices => v.devices.filter((d) => d.available);
    rows.push(t('idle', 'idle (devices with launches linked)', 'us', avail(ib).reduce((a, d) => a + d.idleUs, 0), avail(ic).reduce((a, d) => a + d.idleUs, 0)));
    for (const k of IDLE_CAUSES) {
      rows.push(t(`idle-${k}`, `  idle: ${IDLE_CAUSE_TITLES[k]}`, 'us', avail(ib).reduce((a, d) => a + d.causes![k], 0), avail(ic).reduce((a, d) => a + d.causes![k], 0)));
    }
  }
  const lb = b.stats.launch;
  const lc = c.stats.launch;
  if (lb && lc) {
    const x = lb.delayMedianUs ?? 0;
    const y = lc.delayMedianUs ?? 0;
    rows.push({ metric: 'launchDelay', title: 'launch delay (median over launches)', unit: 'us', baseline: x, candidate: y, delta: y - x, change: changeOf(x, y) });
  }
  if (apiBoth) {
    rows.push(t('launchCalls', 'launch calls (CPU)', 'count', launches(b, (x) => x.calls), launches(c, (x) => x.calls)));
    rows.push(t('launchTime', 'launch call time (CPU)', 'us', launches(b, (x) => x.totalUs), launches(c, (x) => x.totalUs)));
  }
  return rows;
}

/**
 * Compares two profiles' statistics. Throws TraceforgeError (E_USAGE) when a forced
 * normalization is impossible. (`diffOf` in pipeline/diff.ts reads the traces and calls this.)
 */
export function diffStats(baseline: DiffSide, candidate: DiffSide, opts: DiffOptions = {}): DiffResult {
  const views = opts.views && opts.views.length > 0 ? DIFF_VIEWS.filter((v) => opts.views!.includes(v)) : [...DEFAULT_DIFF_VIEWS];
  const b = baseline.stats;
  const c = candidate.stats;
  if (!b.summary || !c.summary) throw new Error('diffStats: both sides need the summary view');
  const notes: string[] = [];
  const n = normalizationOf(b, c, opts, notes);
  if (b.inputs.length !== c.inputs.length) {
    notes.push(`the baseline has ${b.inputs.length} rank(s), the candidate ${c.inputs.length}: totals are sums over ranks`);
  }
  let apiBoth = baseline.apiCalls !== undefined && candidate.apiCalls !== undefined;
  const unrecorded = [baseline, candidate].map(launchesUnrecorded);
  if (apiBoth && (unrecorded[0] || unrecorded[1])) {
    apiBoth = false;
    const which = unrecorded[0] && unrecorded[1] ? 'neither side records' : unrecorded[0] ? 'the baseline does not record' : 'the candidate does not record';
    notes.push(`launch calls and runtime API calls: left out — ${which} them (device activity but no launch call: a torch_npu Level 0 profile has no CANN calls, a CUDA trace may lack its cuda_runtime events)`);
  }
  const result: DiffResult = {
    views, exact: opts.exact ?? false,
    baseline: { inputs: b.inputs, notes: b.notes, diagnostics: b.diagnostics }, candidate: { inputs: c.inputs, notes: c.notes, diagnostics: c.diagnostics },
    normalization: n, totals: totalsOf(baseline, candidate, n, apiBoth), ambiguous: [], notes,
  };
  const need = (v: DiffView, what: unknown, name: string): void => {
    if (what === undefined) throw new Error(`diffStats: the ${v} view needs ${name} on both sides`);
  };
  // kernels, categories and API calls are compared whenever both sides have them (--metric may
  // name any of them); `views` says which ones reports show
  if (views.includes('kernel')) need('kernel', b.kernels && c.kernels, 'kernels');
  if (views.includes('category')) need('category', b.categories && c.categories, 'categories');
  if (b.kernels && c.kernels) {
    const k = kernelRows(b.kernels, c.kernels, n, opts.exact ?? false);
    result.kernels = k.rows;
    result.ambiguous = k.ambiguous;
  }
  if (apiBoth) result.apiCalls = apiRows(baseline.apiCalls!, candidate.apiCalls!, n);
  if (b.categories && c.categories) result.categories = categoryRows(b.categories, c.categories, n);
  if (views.includes('op')) {
    need('op', b.ops && c.ops, 'ops');
    result.ops = opRows(b.ops!, c.ops!, n);
    if (b.ops!.length === 0 || c.ops!.length === 0) {
      notes.push(`op view: no cpu_op events on the ${b.ops!.length === 0 && c.ops!.length === 0 ? 'two sides' : b.ops!.length === 0 ? 'baseline' : 'candidate'} (CUDA graph replays launch no ops; record_shapes=True gives input shapes)`);
    }
  }
  for (const [v, key] of [['source', 'sources'], ['module', 'modules']] as const) {
    if (!views.includes(v)) continue;
    need(v, b[key] && c[key], key);
    const side = (list: readonly SourceStat[], units: number): Map<string, Measure> => new Map(list.map((x) => [x.name, measure(x.calls, x.gpuUs, units)]));
    const bm = side(b[key]!, n.baselineUnits);
    const cm = side(c[key]!, n.candidateUnits);
    result[key] = sortRows([...new Set([...bm.keys(), ...cm.keys()])].map((name) => row(name, bm.get(name) ?? null, cm.get(name) ?? null)));
  }
  if (views.includes('rank')) result.ranks = rankRows(b.summary, c.summary, n, notes);
  if (views.includes('efficiency')) {
    need('efficiency', b.efficiency && c.efficiency, 'the efficiency view');
    result.efficiency = diffEfficiency(b.efficiency!, c.efficiency!);
  }
  if (views.includes('comm')) result.comm = commDiffRows(b.comm?.collectives, c.comm?.collectives);
  if (views.includes('step')) {
    result.steps = stepRows(b.steps, c.steps);
    if (result.steps.length === 0) notes.push(`step view: no ${opts.stepPattern ?? 'ProfilerStep#N'} steps on either side; name them with --step REGEX`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Gating: --fail-above PCT [--metric NAME]

export interface Gate {
  /** What was measured, as the report names it. */
  metric: string;
  baseline: number;
  candidate: number;
  /** Relative change; Infinity when the baseline had none and the candidate has some. */
  change: number;
  /** PCT as a fraction. */
  threshold: number;
  regressed: boolean;
}

const METRIC_ALIASES: Record<string, TotalMetric> = {
  total: 'busy', busy: 'busy', gpu: 'busy', compute: 'compute', comm: 'communication', communication: 'communication',
  'exposed-comm': 'exposedCommunication', exposed: 'exposedCommunication', 'kernel-time': 'kernelTime',
  launch: 'launchTime', launches: 'launchCalls', 'launch-calls': 'launchCalls', 'launch-time': 'launchTime',
};

/**
 * Did `metric` (default: GPU busy time per unit) grow by more than `pct` percent? A metric is a
 * total (`busy`/`total`, `compute`, `comm`, `exposed-comm`, `kernel-time`, `launch`,
 * `launches`), a category, a kernel (full name, or a part of exactly one kernel's name), or a
 * runtime call. Throws E_NOT_FOUND / E_USAGE when the name names nothing or several kernels.
 */
export function gateOf(r: DiffResult, pct: number, metric?: string): Gate {
  const threshold = pct / 100;
  const make = (label: string, b: number, c: number): Gate => {
    const change = b !== 0 ? (c - b) / b : c > 0 ? Infinity : 0;
    return { metric: label, baseline: b, candidate: c, change, threshold, regressed: change > threshold };
  };
  const m = (metric ?? 'busy').trim();
  const alias = METRIC_ALIASES[m.toLowerCase()];
  if (alias) {
    const t = r.totals.find((x) => x.metric === alias);
    if (!t) throw new TraceforgeError('E_USAGE', `--metric ${m}: runtime API calls were not collected`);
    return make(t.title, t.baseline, t.candidate);
  }
  const lower = m.toLowerCase();
  const cat = r.categories?.find((x) => x.name.toLowerCase() === lower);
  if (cat) return make(`category ${cat.name}`, cat.baseline?.totalUs ?? 0, cat.candidate?.totalUs ?? 0);
  const kernels = r.kernels ?? [];
  const exact = kernels.filter((k) => k.name === m || k.baselineNames.includes(m) || k.candidateNames.includes(m));
  const partial = exact.length > 0 ? exact : kernels.filter((k) => [...k.baselineNames, ...k.candidateNames].some((nm) => nm.includes(m)));
  if (partial.length === 1) {
    const k = partial[0]!;
    return make(`kernel ${k.name}`, k.baseline?.totalUs ?? 0, k.candidate?.totalUs ?? 0);
  }
  if (partial.length > 1) {
    const list = partial.slice(0, 5).map((k) => k.name).join('; ');
    throw new TraceforgeError('E_USAGE', `--metric ${m}: ${partial.length} kernels match (${list}${partial.length > 5 ? '; ...' : ''}); give more of the name`);
  }
  const api = r.apiCalls?.find((x) => x.name === m);
  if (api) return make(`${api.name} calls`, api.baseline?.totalUs ?? 0, api.candidate?.totalUs ?? 0);
  throw new TraceforgeError('E_NOT_FOUND', `--metric ${m}: no such total (${Object.keys(METRIC_ALIASES).join(', ')}), category, kernel or runtime call on either side`);
}
