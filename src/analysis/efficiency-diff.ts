/**
 * `diff --by efficiency`: achieved TFLOP/s (and TB/s) per op + shapes, baseline vs candidate.
 * Rows pair by op name, `Input Dims` and `Input type` (as the op diff does). Rates are per call
 * properties, so no normalization (per step / per second) applies to them; time per call is
 * shown beside. Sorted by the largest absolute change of time-weighted TFLOP/s.
 */
import type { EfficiencyRow, EfficiencySummary } from './efficiency.js';

export interface EfficiencyMeasure {
  calls: number;
  meanUs: number;
  tflops: number | null;
  tflopsMedian: number | null;
  tbps: number | null;
  computeShare: number | null;
}

export interface EfficiencyDiffRow {
  name: string;
  inputDims: unknown;
  inputTypes: unknown;
  family: string | null;
  status: 'both' | 'added' | 'removed';
  baseline: EfficiencyMeasure | null;
  candidate: EfficiencyMeasure | null;
  /** candidate − baseline time-weighted TFLOP/s; null unless both sides have it. */
  deltaTflops: number | null;
  /** delta / baseline. */
  change: number | null;
}

const keyOf = (r: EfficiencyRow): string => `${r.name}\u0001${JSON.stringify(r.inputDims)}\u0001${JSON.stringify(r.inputTypes)}`;
const measure = (r: EfficiencyRow): EfficiencyMeasure => ({ calls: r.calls, meanUs: r.meanUs, tflops: r.tflops, tflopsMedian: r.tflopsMedian, tbps: r.tbps, computeShare: r.computeShare });

export function diffEfficiency(b: EfficiencySummary, c: EfficiencySummary): EfficiencyDiffRow[] {
  const base = new Map(b.rows.map((r) => [keyOf(r), r]));
  const out: EfficiencyDiffRow[] = [];
  const seen = new Set<string>();
  for (const r of c.rows) {
    const k = keyOf(r);
    seen.add(k);
    const x = base.get(k);
    const delta = x && x.tflops !== null && r.tflops !== null ? r.tflops - x.tflops : null;
    out.push({
      name: r.name, inputDims: r.inputDims, inputTypes: r.inputTypes, family: r.family ?? x?.family ?? null,
      status: x ? 'both' : 'added', baseline: x ? measure(x) : null, candidate: measure(r),
      deltaTflops: delta, change: delta !== null && x!.tflops! > 0 ? delta / x!.tflops! : null,
    });
  }
  for (const [k, x] of base) {
    if (seen.has(k)) continue;
    out.push({ name: x.name, inputDims: x.inputDims, inputTypes: x.inputTypes, family: x.family, status: 'removed', baseline: measure(x), candidate: null, deltaTflops: null, change: null });
  }
  const mag = (r: EfficiencyDiffRow): number => (r.deltaTflops === null ? -1 : Math.abs(r.deltaTflops));
  return out.sort((p, q) => mag(q) - mag(p) || ((q.candidate ?? q.baseline)!.meanUs * (q.candidate ?? q.baseline)!.calls) - ((p.candidate ?? p.baseline)!.meanUs * (p.candidate ?? p.baseline)!.calls));
}
