/**
 * Sections of the efficiency view: per op + shapes achieved TFLOP/s and TB/s against the peak
 * (kernels as sub-rows), the time-weighted totals per op family, and the NPU pipe bounds.
 */
import type { StatsResult } from '../analysis/result.js';
import { PIPE_COLUMNS, type NpuPipeRow } from '../analysis/npu-pipes.js';
import { count, shape, typeList } from './format.js';
import { col, dur, num, pct, txt } from './cells.js';
import type { Cell, Section, SectionOptions } from './sections.js';

const empty: Cell = { text: '', value: null };

/** A rate with 3 significant digits at least (`722`, `27.2`, `0.0123`); `-` for null. */
export function rate(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '-';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
}
const r = (x: number | null): Cell => ({ text: rate(x), value: x });

/** A FLOP or byte count with an SI prefix (`17.18 G`); the raw integer in CSV. */
export function si(x: number | null): string {
  if (x === null) return '-';
  const units: [number, string][] = [[1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [v, u] of units) if (Math.abs(x) >= v) return `${(x / v).toFixed(2)}\u00a0${u}`;
  return String(x);
}
const big = (x: number | null): Cell => ({ text: si(x), value: x });

export function efficiencySections(res: StatsResult, opts: SectionOptions, limit: <T>(rows: readonly T[], top: number | undefined, what: string, notes: string[]) => T[], names: (full: readonly string[], opts: SectionOptions) => string[]): Section[] {
  const out: Section[] = [];
  const e = res.efficiency;
  if (e) {
    const notes: string[] = [];
    const list = limit(e.rows, opts.top, 'ops', notes);
    const dev = e.devices.map((d) => `${d.label}: ${d.name ?? 'unknown device'}${d.peak ? ` (${d.peak.device}: ${d.peak.tbps} TB/s${d.peak.matrix.bf16 !== undefined ? `, BF16 ${d.peak.matrix.bf16} TFLOP/s` : ''}; ${d.peak.source})` : ' (no peak figures)'}`);
    notes.push(`devices: ${[...new Set(dev)].join('; ')}`);
    notes.push('↳ kernels of the row: share of its time in the model column; TFLOP/s and TB/s of the calls the kernel ran alone (none when it shares every call, e.g. split-K + reduce)');
    notes.push('time: Σ of the kernels the op owns (its own and those of unmodelled ops under it); TFLOP/s and TB/s time-weighted (Σ FLOPs / Σ time), median over calls beside; % of the peak of the op\'s precision (vector ops: FP32 vector); bound by intensity against the ridge point');
    if (e.rows.some((x) => x.pytorchFlops !== null)) notes.push('PyTorch FLOPs: the `flops` arg the profiler wrote (with_flops=True), per call');
    const rows: Cell[][] = [];
    const sub: boolean[] = [];
    const pt = e.rows.some((x) => x.pytorchFlops !== null);
    for (const o of list) {
      rows.push([
        txt(o.name), txt(shape(o.inputDims), o.inputDims === null ? null : JSON.stringify(o.inputDims)),
        txt(typeList(o.inputTypes), o.inputTypes === null ? null : JSON.stringify(o.inputTypes)),
        txt(o.family ?? 'no model', o.family), num(o.calls), dur(o.totalUs), dur(o.medianUs),
        big(o.flops), ...(pt ? [big(o.pytorchFlops)] : []), big(o.bytes), r(o.intensity),
        r(o.tflops), r(o.tflopsMedian), r(o.tbps), r(o.tbpsMedian),
        pct(o.computeShare), pct(o.bandwidthShare), txt(o.bound ?? '-', o.bound),
        txt('', o.params), txt('', o.missing), txt('', JSON.stringify(o.kernels)),
      ]);
      sub.push(false);
      const short = names(o.kernels.map((k) => k.name), opts);
      o.kernels.forEach((k, i) => {
        const kp = (x: number | null, peak: number | null): Cell => pct(x !== null && peak !== null ? x / peak : null);
        rows.push([txt(`  ↳ ${short[i]!}`, k.name), empty, empty, pct(k.share), num(k.calls), dur(k.totalUs), empty, empty, ...(pt ? [empty] : []), empty, empty,
          r(k.tflops), empty, r(k.tbps), empty, kp(k.tflops, o.peakTflops), kp(k.tbps, o.peakTbps), empty, empty, empty, empty]);
        sub.push(true);
      });
    }
    const missing = list.filter((o) => o.missing !== null && o.missing !== 'no model');
    for (const o of missing.slice(0, 5)) notes.push(`${o.name} ${shape(o.inputDims)}: ${o.missing}`);
    out.push({
      view: 'efficiency', name: 'efficiency', title: 'Efficiency: achieved FLOP/s and bytes/s per op + shapes against the device peak',
      columns: [
        col('op', 'name', 'left', { shrink: true, min: 16 }), col('input dims', 'inputDims', 'left', { shrink: true, min: 12, drop: 3 }),
        col('input type', 'inputTypes', 'left', { shrink: true, min: 10, drop: 2 }), col('model', 'family', 'left', { drop: 6 }),
        col('calls', 'calls', 'right', { drop: 8 }), col('time', 'totalUs'), col('median', 'medianUs', 'right', { drop: 9 }),
        col('FLOPs', 'flops'), ...(pt ? [col('PyTorch FLOPs', 'pytorchFlops', 'right', { drop: 5 })] : []), col('bytes', 'bytes', 'right', { drop: 7 }),
        col('FLOP/B', 'intensity', 'right', { drop: 10 }),
        col('TFLOP/s', 'tflops'), col('med', 'tflopsMedian', 'right', { drop: 11, longTitle: 'median TFLOP/s' }),
        col('TB/s', 'tbps'), col('med', 'tbpsMedian', 'right', { drop: 12, longTitle: 'median TB/s' }),
        col('% peak', 'computeShare', 'right', { longTitle: '% of peak compute' }), col('% BW', 'bandwidthShare', 'right', { longTitle: '% of peak bandwidth' }),
        col('bound', 'bound', 'left'),
        col('params', 'params', 'left', { csvOnly: true }), col('missing', 'missing', 'left', { csvOnly: true }), col('kernels', 'kernels', 'left', { csvOnly: true }),
      ],
      rows, sub, notes,
    });
    out.push({
      view: 'efficiency', name: 'efficiencyCategories', title: 'Efficiency per op family (time-weighted)',
      columns: [
        col('family', 'family', 'left'), col('ops', 'rows'), col('calls', 'calls'), col('time', 'totalUs'),
        col('TFLOP/s', 'tflops'), col('TB/s', 'tbps'), col('% peak', 'computeShare'), col('% BW', 'bandwidthShare'),
      ],
      rows: e.categories.map((c) => [txt(c.family), num(c.rows), num(c.calls), dur(c.totalUs), r(c.tflops), r(c.tbps), pct(c.computeShare), pct(c.bandwidthShare)]),
      notes: [],
    });
  }
  for (const rank of res.npuPipes?.ranks ?? []) {
    const several = (res.npuPipes?.ranks.length ?? 0) > 1;
    const one = (what: 'type' | 'kernel', list0: NpuPipeRow[]): Section => {
      const notes: string[] = [];
      const list = limit(list0, opts.top, what === 'type' ? 'OP types' : 'kernels', notes);
      if (what === 'type') notes.push('ratios time-weighted over the kernels; bound by msprof-analyze advisor rules: cube mac ≥ 0.8 / mte2 ≥ 0.95; vector vec+mte2+mte3 ≥ 0.9, or mte2 / mte3 / vec ≥ 0.7; none: every pipe ≤ 0.8; pipe>0.8: above 0.8 but no rule\'s bound');
      return {
        view: 'efficiency', name: `npuPipes${what === 'type' ? 'Types' : 'Kernels'}${several ? `.${rank.label}` : ''}`,
        title: `NPU pipe utilization per ${what === 'type' ? 'OP type' : 'kernel'}${several ? `, ${rank.label}` : ''} (kernel_details.csv PipeUtilization)`,
        columns: [
          col(what === 'type' ? 'OP type' : 'kernel', 'name', 'left', { shrink: true, min: 16 }), ...(what === 'kernel' ? [col('OP type', 'type', 'left', { drop: 3 })] : []),
          col('core', 'core', 'left', { drop: 4 }), col('calls', 'calls'), col('time', 'totalUs'),
          ...PIPE_COLUMNS.map((c, i) => col(c.replace(/_ratio$/, ''), c, 'right', { drop: 20 - i })),
          col('bound', 'bound', 'left'),
        ],
        rows: list.map((x) => [
          txt(x.name), ...(what === 'kernel' ? [txt(x.type)] : []), txt(x.core), num(x.calls), dur(x.totalUs),
          ...PIPE_COLUMNS.map((c) => { const v = x.ratios[c]; return { text: v === undefined ? '-' : v.toFixed(3), value: v ?? null }; }),
          txt(x.bound),
        ]),
        notes,
      };
    };
    out.push(one('type', rank.byType), one('kernel', rank.byKernel));
  }
  if (out.length === 0) {
    out.push({ view: 'efficiency', name: 'efficiency', title: 'Efficiency', columns: [col('op', 'name', 'left')], rows: [], notes: ['no Kineto op data or torch_npu kernel_details.csv to compute efficiency from'] });
  }
  return out;
}
