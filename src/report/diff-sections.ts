/**
 * DiffResult -> report sections, laid out by the same renderers as stats (table.ts, csv.ts,
 * markdown.ts). Every time and call count is per unit (step / second / profile, said in the
 * titles); CSV keeps raw numbers and full kernel names.
 */
import { uniqueShortNames } from '../analysis/names.js';
import type {
  ApiDiffRow, CategoryDiffRow, DiffResult, DiffRow, KernelDiffRow, Measure, OpDiffRow, RankDiffRow, StepDiffRow, TotalRow,
} from '../analysis/diff.js';
import { count, duration, shape, typeList } from './format.js';
import { col, dur, limit, txt } from './cells.js';
import { rate } from './efficiency-sections.js';
import { deviceWords, type Cell, type Column, type Section } from './sections.js';
import { commDiffSection } from './comm-sections.js';

export interface DiffSectionOptions {
  /** Row limit for kernels, ops and API calls. */
  top?: number;
  /** Full kernel names in `text` too. */
  fullNames?: boolean;
}

const MINUS = '\u2212';

/** `+12.3%`, `−4.0%`, `0%`; `-` for null (no baseline to compare with). */
export function signedPercent(x: number | null): string {
  if (x === null) return '-';
  if (!Number.isFinite(x)) return x > 0 ? '+∞' : '-';
  if (x === 0) return '0%';
  const a = Math.abs(x * 100);
  const t = a < 0.1 ? '<0.1%' : a >= 1000 ? `${Math.round(a).toLocaleString('en-US')}%` : `${a.toFixed(1)}%`;
  return `${x > 0 ? '+' : MINUS}${t}`;
}

/** A signed duration in µs: `+1.20 ms`, `−812 ns`, `0`. */
export function signedDuration(us: number | null): string {
  if (us === null || !Number.isFinite(us)) return '-';
  if (us === 0) return '0';
  return `${us > 0 ? '+' : MINUS}${duration(Math.abs(us))}`;
}

/** A per-unit count: whole numbers as they are, else with one decimal (`8.5`). */
function perUnit(n: number): string {
  if (Number.isInteger(n)) return count(n);
  const a = Math.abs(n);
  return a >= 100 ? count(Math.round(n)) : a >= 0.1 ? n.toFixed(1) : n === 0 ? '0' : n.toPrecision(2);
}

const r6 = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? x : Math.round(x * 1e6) / 1e6);
const sdur = (us: number | null): Cell => ({ text: signedDuration(us), value: us });
const calls = (n: number | null | undefined): Cell => ({ text: n === null || n === undefined ? '-' : perUnit(n), value: n ?? null });
const change = (x: number | null, status?: string): Cell => ({ text: status === 'removed' || status === 'added' ? (status === 'added' ? 'new' : 'removed') : signedPercent(x), value: r6(x) });

function unitWord(r: DiffResult): string {
  return r.normalization.per === 'step' ? 'per step' : r.normalization.per === 'second' ? 'per second of profile' : 'per profile';
}

/** The headline: GPU busy time per unit on both sides. */
export function headlineOf(r: DiffResult): string {
  const t = r.totals[0]!;
  return `${r.device === undefined || r.device === 'GPU' ? 'GPU' : r.device} busy ${unitWord(r)}: ${duration(t.baseline)} → ${duration(t.candidate)} (${signedDuration(t.delta)}, ${signedPercent(t.change)})`;
}

function totalsSection(r: DiffResult): Section {
  const cell = (t: TotalRow, v: number): Cell => (t.unit === 'us' ? dur(v) : calls(v));
  const counts = (s: DiffResult['baseline']): string => `${s.inputs.length} rank${s.inputs.length === 1 ? '' : 's'}`;
  return {
    view: 'summary', name: 'totals', title: headlineOf(r),
    columns: [col('', 'metric', 'left'), col('baseline', 'baseline'), col('candidate', 'candidate'), col('Δ', 'delta'), col('Δ%', 'change')],
    rows: r.totals.map((t) => [
      txt(t.title, t.metric), cell(t, t.baseline), cell(t, t.candidate),
      t.unit === 'us' ? sdur(t.delta) : { text: t.delta === 0 ? '0' : `${t.delta > 0 ? '+' : MINUS}${perUnit(Math.abs(t.delta))}`, value: t.delta },
      change(t.change),
    ]),
    notes: [
      `normalized ${r.normalization.reason}`,
      `baseline: ${counts(r.baseline)}; candidate: ${counts(r.candidate)}. GPU busy: union of device activity per device; launch calls: ${r.device === 'NPU' ? 'CANN launch calls (AscendCL, Node@launch)' : 'CUDA/HIP runtime and driver launch calls'} on the CPU`,
    ],
  };
}

/** The columns every compared row has: calls, total and mean on both sides, Δ, Δ%. */
function measureColumns(): Column[] {
  // when too wide: candidate calls, baseline calls, candidate mean, baseline mean go first, in pairs
  return [
    col('calls', 'baselineCalls', 'right', { drop: 8, longTitle: 'baseline calls' }),
    col('calls′', 'candidateCalls', 'right', { drop: 9, longTitle: 'candidate calls' }),
    col('total', 'baselineTotalUs', 'right', { longTitle: 'baseline total' }),
    col('total′', 'candidateTotalUs', 'right', { longTitle: 'candidate total' }),
    col('mean', 'baselineMeanUs', 'right', { drop: 5, longTitle: 'baseline mean' }),
    col('mean′', 'candidateMeanUs', 'right', { drop: 6, longTitle: 'candidate mean' }),
    col('Δ total', 'deltaUs'),
    col('Δ%', 'change'),
  ];
}

function measureCells(x: DiffRow<Measure>): Cell[] {
  return [
    calls(x.baseline?.calls), calls(x.candidate?.calls), dur(x.baseline?.totalUs), dur(x.candidate?.totalUs),
    dur(x.baseline?.meanUs), dur(x.candidate?.meanUs), sdur(x.deltaUs), change(x.change, x.status),
  ];
}

const PRIMES = 'primed columns (′) are the candidate, the others the baseline';

function kernelSection(r: DiffResult, opts: DiffSectionOptions): Section {
  const notes: string[] = [];
  const list = limit<KernelDiffRow>(r.kernels ?? [], opts.top, 'kernels', notes);
  const short = opts.fullNames ? list.map((k) => k.name) : uniqueShortNames(list.map((k) => k.name));
  const matchText = (k: KernelDiffRow): string => (k.match === null ? k.status : k.match === 'exact' ? '' : `≈ ${k.match}`);
  const counts = { spelling: 0, family: 0, added: 0, removed: 0 };
  for (const k of r.kernels ?? []) {
    if (k.match === 'spelling' || k.match === 'family') counts[k.match]++;
    else if (k.status === 'added' || k.status === 'removed') counts[k.status]++;
  }
  notes.push(`${PRIMES}; Δ total = candidate − baseline, ${unitWord(r)}; sorted by |Δ total|`);
  const paired = counts.spelling + counts.family;
  notes.push(r.exact
    ? `--exact: kernels paired by identical names only; ${counts.removed} removed, ${counts.added} added`
    : `${paired} kernel(s) paired under another name (≈ spelling: ${counts.spelling}, ≈ family: ${counts.family}); ${counts.removed} removed, ${counts.added} added; --exact pairs identical names only`);
  for (const k of (r.kernels ?? []).filter((x) => x.match === 'family').slice(0, 3)) {
    notes.push(`≈ family: ${k.baselineNames.join(' | ')} → ${k.candidateNames.join(' | ')}`);
  }
  for (const a of r.ambiguous.slice(0, 3)) {
    notes.push(`not paired (family ${a.key} has ${a.baseline.length} kernel(s) on the baseline, ${a.candidate.length} on the candidate)`);
  }
  return {
    view: 'kernel', name: 'kernels', title: `Kernels (${unitWord(r)}; all ranks)`,
    columns: [
      col('kernel', 'name', 'left', { shrink: true, min: 30 }),
      col('baseline names', 'baselineNames', 'left', { csvOnly: true }), col('candidate names', 'candidateNames', 'left', { csvOnly: true }),
      col('category', 'category', 'left', { drop: 4 }), col('match', 'match', 'left', { drop: 3 }),
      ...measureColumns(),
    ],
    rows: list.map((k, i) => [
      txt(short[i]!, k.name), txt('', k.baselineNames.join('\n')), txt('', k.candidateNames.join('\n')),
      txt(k.category), txt(matchText(k), k.match ?? k.status), ...measureCells(k),
    ]),
    notes,
  };
}

function apiSection(r: DiffResult, opts: DiffSectionOptions): Section {
  const notes: string[] = [];
  const list = limit<ApiDiffRow>(r.apiCalls ?? [], opts.top, 'calls', notes);
  notes.push('launch: kernel and graph launch calls (their time is CPU launch overhead); the rest is other runtime / driver work, e.g. synchronization waits');
  return {
    view: 'kernel', name: 'apiCalls', title: `${r.device === 'NPU' ? 'CANN (AscendCL) calls' : 'CUDA / HIP runtime and driver calls'} on the CPU (${unitWord(r)})`,
    columns: [col('call', 'name', 'left', { shrink: true, min: 20 }), col('launch', 'launch', 'left', { drop: 4 }), ...measureColumns()],
    rows: list.map((a) => [txt(a.name), txt(a.launch ? 'launch' : '', a.launch ? 'true' : 'false'), ...measureCells(a)]),
    notes,
  };
}

function categorySection(r: DiffResult): Section {
  return {
    view: 'category', name: 'categories', title: `Categories (${unitWord(r)}; all ranks)`,
    columns: [col('category', 'name', 'left'), col('kernels', 'baselineKernels', 'right', { drop: 10 }), col('kernels′', 'candidateKernels', 'right', { drop: 11 }), ...measureColumns()],
    rows: (r.categories ?? []).map((c: CategoryDiffRow) => [txt(c.name), calls(c.baselineKernels), calls(c.candidateKernels), ...measureCells(c)]),
    notes: [`${PRIMES}; kernels: distinct kernel names in the category`],
  };
}

function opSection(r: DiffResult, opts: DiffSectionOptions): Section {
  const notes: string[] = [];
  const list = limit<OpDiffRow>(r.ops ?? [], opts.top, 'ops', notes);
  notes.push(`${PRIMES}; total: device self time (kernels the op launched itself), ${unitWord(r)}; ops with another input shape are other rows`);
  return {
    view: 'op', name: 'ops', title: `Operators by input shape (${unitWord(r)})`,
    columns: [
      col('op', 'name', 'left', { shrink: true, min: 18 }), col('input dims', 'inputDims', 'left', { shrink: true, min: 14, drop: 3 }),
      col('input type', 'inputTypes', 'left', { shrink: true, min: 12, drop: 12 }),
      ...measureColumns(),
      col('CPU total', 'baselineCpuTotalUs', 'right', { drop: 10, longTitle: 'baseline CPU total' }),
      col('CPU total′', 'candidateCpuTotalUs', 'right', { drop: 11, longTitle: 'candidate CPU total' }),
    ],
    rows: list.map((o) => [
      txt(o.name), txt(shape(o.inputDims), o.inputDims === null ? null : JSON.stringify(o.inputDims)),
      txt(typeList(o.inputTypes), o.inputTypes === null ? null : JSON.stringify(o.inputTypes)),
      ...measureCells(o), dur(o.baseline?.cpuTotalUs), dur(o.candidate?.cpuTotalUs),
    ]),
    notes,
  };
}

/** Device time by Python source or nn.Module chain, both sides. */
function sourceSection(r: DiffResult, view: 'source' | 'module', opts: DiffSectionOptions): Section {
  const notes: string[] = [];
  const list = limit<DiffRow<Measure>>((view === 'source' ? r.sources : r.modules) ?? [], opts.top, view === 'source' ? 'sources' : 'modules', notes);
  notes.push(`${PRIMES}; calls: device activities launched from there; Δ total = candidate − baseline, ${unitWord(r)}`);
  return {
    view, name: view === 'source' ? 'sources' : 'modules', title: `GPU time by ${view === 'source' ? 'Python source' : 'nn.Module'} (${unitWord(r)}; all ranks)`,
    columns: [col(view, 'name', 'left', { shrink: true, min: 24 }), ...measureColumns()],
    rows: list.map((x) => [txt(x.name), ...measureCells(x)]),
    notes,
  };
}

function rankSection(r: DiffResult): Section {
  return {
    view: 'rank', name: 'ranks', title: `Ranks (${unitWord(r)})`,
    columns: [
      col('rank', 'label', 'left'), col('GPU busy', 'baselineBusyUs', 'right', { longTitle: 'baseline GPU busy' }),
      col('GPU busy′', 'candidateBusyUs', 'right', { longTitle: 'candidate GPU busy' }), col('Δ busy', 'deltaBusyUs'), col('Δ%', 'changeBusy'),
      col('comm', 'baselineCommunicationUs', 'right', { drop: 4, longTitle: 'baseline comm' }), col('comm′', 'candidateCommunicationUs', 'right', { drop: 5, longTitle: 'candidate comm' }),
      col('exposed', 'baselineExposedCommunicationUs', 'right', { drop: 6, longTitle: 'baseline exposed comm' }),
      col('exposed′', 'candidateExposedCommunicationUs', 'right', { drop: 7, longTitle: 'candidate exposed comm' }),
      col('kernels', 'baselineKernels', 'right', { drop: 8 }), col('kernels′', 'candidateKernels', 'right', { drop: 9 }),
    ],
    rows: (r.ranks ?? []).map((x: RankDiffRow) => [
      txt(x.label), dur(x.baseline?.busyUs), dur(x.candidate?.busyUs), sdur(x.deltaBusyUs), change(x.changeBusy, x.status),
      dur(x.baseline?.communicationUs), dur(x.candidate?.communicationUs),
      dur(x.baseline?.exposedCommunicationUs), dur(x.candidate?.exposedCommunicationUs),
      calls(x.baseline?.kernels), calls(x.candidate?.kernels),
    ]),
    notes: [PRIMES],
  };
}

function stepSection(r: DiffResult): Section {
  return {
    view: 'step', name: 'steps', title: 'Steps, k-th step of each side (not normalized; wall: longest rank, GPU busy: sum over ranks)',
    columns: [
      col('#', 'index'), col('step', 'name', 'left', { shrink: true, min: 12, drop: 5 }),
      col('wall', 'baselineWallUs', 'right', { longTitle: 'baseline wall' }), col('wall′', 'candidateWallUs', 'right', { longTitle: 'candidate wall' }),
      col('Δ wall', 'deltaWallUs'),
      col('GPU busy', 'baselineBusyUs', 'right', { longTitle: 'baseline GPU busy' }), col('GPU busy′', 'candidateBusyUs', 'right', { longTitle: 'candidate GPU busy' }),
      col('Δ busy', 'deltaBusyUs'), col('Δ%', 'changeBusy'),
      col('kernels', 'baselineKernels', 'right', { drop: 6 }), col('kernels′', 'candidateKernels', 'right', { drop: 7 }),
    ],
    rows: (r.steps ?? []).map((s: StepDiffRow) => [
      calls(s.index), txt(s.candidate?.name ?? s.baseline?.name ?? ''),
      dur(s.baseline?.wallUs), dur(s.candidate?.wallUs), sdur(s.deltaWallUs),
      dur(s.baseline?.busyUs), dur(s.candidate?.busyUs), sdur(s.deltaBusyUs), change(s.changeBusy, s.status),
      calls(s.baseline?.kernels), calls(s.candidate?.kernels),
    ]),
    notes: [PRIMES],
  };
}

/** `--by efficiency`: achieved TFLOP/s per op + shapes on each side (per call: no normalization). */
function efficiencyDiffSection(r: DiffResult, opts: DiffSectionOptions): Section {
  const notes: string[] = [];
  const list = limit(r.efficiency ?? [], opts.top, 'ops', notes);
  const tf = (x: number | null | undefined): Cell => ({ text: x === null || x === undefined ? '-' : rate(x), value: x ?? null });
  notes.push('TFLOP/s: Σ FLOPs / Σ kernel time of the op\'s calls (the efficiency view), a property of each call, so not normalized; largest change first');
  return {
    view: 'efficiency', name: 'efficiency', title: 'Achieved TFLOP/s per op + shapes',
    columns: [
      col('op', 'name', 'left', { shrink: true, min: 16 }), col('input dims', 'inputDims', 'left', { shrink: true, min: 12, drop: 3 }),
      col('input type', 'inputTypes', 'left', { shrink: true, min: 10, drop: 2 }),
      col('base mean', 'baselineMeanUs', 'right', { drop: 4 }), col('cand mean', 'candidateMeanUs', 'right', { drop: 5 }),
      col('base TFLOP/s', 'baselineTflops'), col('cand TFLOP/s', 'candidateTflops'), col('Δ TFLOP/s', 'deltaTflops'), col('change', 'change'),
    ],
    rows: list.map((x) => [
      txt(x.name), txt(shape(x.inputDims), x.inputDims === null ? null : JSON.stringify(x.inputDims)),
      txt(typeList(x.inputTypes), x.inputTypes === null ? null : JSON.stringify(x.inputTypes)),
      dur(x.baseline?.meanUs), dur(x.candidate?.meanUs), tf(x.baseline?.tflops), tf(x.candidate?.tflops),
      { text: x.deltaTflops === null ? '-' : `${x.deltaTflops > 0 ? '+' : x.deltaTflops < 0 ? MINUS : ''}${rate(Math.abs(x.deltaTflops))}`, value: x.deltaTflops },
      change(x.change, x.status),
    ]),
    notes,
  };
}

/** The totals section, then the sections of every view asked for, in view order. */
export function diffSectionsOf(r: DiffResult, opts: DiffSectionOptions = {}): Section[] {
  const out: Section[] = [totalsSection(r)];
  for (const v of r.views) {
    if (v === 'kernel') {
      out.push(kernelSection(r, opts));
      if (r.apiCalls) out.push(apiSection(r, opts));
    } else if (v === 'category') out.push(categorySection(r));
    else if (v === 'op') out.push(opSection(r, opts));
    else if (v === 'rank') out.push(rankSection(r));
    else if (v === 'efficiency') out.push(efficiencyDiffSection(r, opts));
    else if (v === 'step') out.push(stepSection(r));
    else if (v === 'source' || v === 'module') out.push(sourceSection(r, v, opts));
    else if (v === 'comm') out.push(commDiffSection(r));
    // idle: its rows are in the totals
  }
  return r.device === undefined || r.device === 'GPU' ? out : out.map((s) => deviceWords(s, r.device!, s === out[0]));
}
