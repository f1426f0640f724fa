/**
 * JSON: one object with a key per view asked for (`summary`, `kernels`, `categories`, `ops`
 * and/or `npuOps`, `opTypes`, `ranks`, `steps`, `efficiency` and/or `npuPipes`), durations in µs, keys in camelCase; plus
 * `inputs` (the ranks read), and `notes` / `diagnostics` when there are any.
 */
import type { StatsResult } from '../analysis/result.js';

export interface JsonOptions {
  /** Row limit for kernels, ops and kernels across ranks (default: all). */
  top?: number;
  /** Indentation (default 2). */
  indent?: number;
}

export function jsonOf(r: StatsResult, opts: JsonOptions = {}): Record<string, unknown> {
  const cut = <T>(rows: T[] | undefined): T[] | undefined => (rows && opts.top !== undefined ? rows.slice(0, opts.top) : rows);
  const out: Record<string, unknown> = { inputs: r.inputs };
  for (const v of r.views) {
    if (v === 'summary') out['summary'] = r.summary;
    else if (v === 'kernel') out['kernels'] = cut(r.kernels);
    else if (v === 'category') out['categories'] = r.categories;
    else if (v === 'op') {
      if (r.ops !== undefined || r.npuOps === undefined) { out['ops'] = cut(r.ops); out['opLinks'] = r.opLinks; }
      if (r.npuOps !== undefined) out['npuOps'] = cut(r.npuOps);
    } else if (v === 'op-type') out['opTypes'] = r.opTypes;
    else if (v === 'rank') out['ranks'] = r.ranks && { ...r.ranks, kernels: cut(r.ranks.kernels) };
    else if (v === 'efficiency') {
      if (r.efficiency) out['efficiency'] = { ...r.efficiency, rows: cut(r.efficiency.rows) };
      if (r.npuPipes) out['npuPipes'] = r.npuPipes;
    } else if (v === 'idle') out['idle'] = r.idle && { ...r.idle, cpu: cut(r.idle.cpu) };
    else if (v === 'launch') out['launch'] = r.launch && { ...r.launch, rows: cut(r.launch.rows) };
    else out['steps'] = r.steps;
  }
  if (r.stepDetection && (r.views.includes('step') || r.views.includes('idle'))) out['stepDetection'] = r.stepDetection;
  if (r.notes.length > 0) out['notes'] = r.notes;
  if (r.diagnostics.length > 0) out['diagnostics'] = r.diagnostics;
  return out;
}

export function renderJson(r: StatsResult, opts: JsonOptions = {}): string {
  return JSON.stringify(jsonOf(r, opts), null, opts.indent ?? 2) + '\n';
}
