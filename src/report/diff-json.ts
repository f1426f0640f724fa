/**
 * JSON of a diff: `headline`, `normalization`, `totals`, then one key per view asked for
 * (`kernels` with `apiCalls`, `categories`, `ops`, `ranks`, `steps`); times in µs per unit,
 * relative changes as fractions (null for added rows). `inputs` of both sides, `notes` and
 * `ambiguous` kernel families when there are any.
 */
import type { DiffResult } from '../analysis/diff.js';
import { headlineOf } from './diff-sections.js';

export interface DiffJsonOptions {
  /** Row limit for kernels, API calls and ops (default: all). */
  top?: number;
  indent?: number;
}

export function diffJsonOf(r: DiffResult, opts: DiffJsonOptions = {}): Record<string, unknown> {
  const cut = <T>(rows: T[] | undefined): T[] | undefined => (rows && opts.top !== undefined ? rows.slice(0, opts.top) : rows);
  const out: Record<string, unknown> = {
    headline: headlineOf(r),
    normalization: r.normalization,
    baseline: { inputs: r.baseline.inputs, ...(r.baseline.diagnostics.length > 0 ? { diagnostics: r.baseline.diagnostics } : {}) },
    candidate: { inputs: r.candidate.inputs, ...(r.candidate.diagnostics.length > 0 ? { diagnostics: r.candidate.diagnostics } : {}) },
    exact: r.exact,
    totals: r.totals,
  };
  for (const v of r.views) {
    if (v === 'kernel') {
      out['kernels'] = cut(r.kernels);
      if (r.apiCalls) out['apiCalls'] = cut(r.apiCalls);
    } else if (v === 'category') out['categories'] = r.categories;
    else if (v === 'op') out['ops'] = cut(r.ops);
    else if (v === 'rank') out['ranks'] = r.ranks;
    else if (v === 'efficiency') out['efficiency'] = cut(r.efficiency);
    else out['steps'] = r.steps;
  }
  if (r.ambiguous.length > 0) out['ambiguous'] = r.ambiguous;
  const notes = [...r.notes, ...r.baseline.notes.map((n) => `baseline: ${n}`), ...r.candidate.notes.map((n) => `candidate: ${n}`)];
  if (notes.length > 0) out['notes'] = notes;
  return out;
}

export function renderDiffJson(r: DiffResult, opts: DiffJsonOptions = {}): string {
  // Infinity is not JSON: a relative change without a baseline is null already; guard anyway
  return JSON.stringify(diffJsonOf(r, opts), (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), opts.indent ?? 2) + '\n';
}
