/**
 * `diff`: two profiles compared. Each side is read like `stats` reads its inputs (a trace, a
 * directory of rank traces, files, or a merged trace split back into its ranks), in one
 * streaming pass per file that also sums the CPU-side CUDA / HIP runtime and driver calls
 * (launch overhead: what CUDA graphs remove). analysis/diff.ts compares.
 */
import { TraceforgeError } from '../errors.js';
import { diffStats, type DiffOptions, type DiffResult } from '../analysis/diff.js';
import type { StatsView } from '../analysis/result.js';
import { statsOf, type StatsOptions } from './stats.js';

export type { DiffResult, DiffView, Normalize } from '../analysis/diff.js';
export { DIFF_VIEWS, DEFAULT_DIFF_VIEWS, NORMALIZE_MODES, gateOf, type Gate } from '../analysis/diff.js';

export interface DiffRequest extends DiffOptions {
  /** Step annotations (default `^ProfilerStep#\d+$`); a string is a regex. Used on both sides. */
  step?: string | RegExp;
  /** Extra category rules, as for stats. */
  categories?: StatsOptions['categories'];
  /** SGLang profile id, when a directory holds several (both sides). */
  profileId?: string;
  /** Collect runtime / driver API calls (in the same pass; default true). */
  apiCalls?: boolean;
  /** Capture / mapping traces for graph replays (stats --capture / --mapping), used on both sides. */
  capture?: readonly string[];
  mapping?: readonly string[];
  /** Progress over both sides: compressed bytes read so far, and the total known so far. */
  onProgress?: (done: number, total: number) => void;
}

const asList = (x: string | readonly string[]): string[] => (typeof x === 'string' ? [x] : [...x]);

/**
 * Compares a baseline profile with a candidate. Each side: a trace, a directory of rank traces,
 * several files, or a merged trace. Reads every file once.
 */
export async function diffOf(baseline: string | readonly string[], candidate: string | readonly string[], opts: DiffRequest = {}): Promise<DiffResult> {
  const sides = [asList(baseline), asList(candidate)] as const;
  for (const s of sides) {
    if (s.length === 0) throw new TraceforgeError('E_USAGE', 'diff: each side needs a trace, a directory or files');
    if (s.includes('-')) throw new TraceforgeError('E_USAGE', 'diff reads files; stdin (-) is not supported');
  }
  const views = opts.views ?? [];
  const statViews: StatsView[] = ['summary', 'kernel', 'category', 'step', ...views.filter((v) => v === 'op' || v === 'source' || v === 'module' || v === 'efficiency' || v === 'comm'), ...(views.includes('idle') ? ['idle' as const, 'launch' as const] : [])];
  const done = [0, 0];
  const totals = [0, 0];
  const progress = (k: number) => opts.onProgress && ((d: number, t: number): void => {
    done[k] = d; totals[k] = t;
    opts.onProgress!(done[0]! + done[1]!, totals[0]! + totals[1]!);
  });
  const statsOpts = (k: number): StatsOptions => ({
    views: statViews,
    ...(opts.step !== undefined ? { step: opts.step } : {}),
    ...(opts.categories ? { categories: opts.categories } : {}),
    ...(opts.profileId !== undefined ? { profileId: opts.profileId } : {}),
    ...(opts.onProgress ? { onProgress: progress(k)! } : {}),
    apiCalls: opts.apiCalls !== false,
    ...(opts.capture ? { capture: opts.capture } : {}), ...(opts.mapping ? { mapping: opts.mapping } : {}),
  });
  const [b, c] = await Promise.all([statsOf(sides[0], statsOpts(0)), statsOf(sides[1], statsOpts(1))]);
  // stats' hints about missing steps and ops: the diff says them itself, for both sides at once
  for (const r of [b, c]) r.notes = r.notes.filter((n) => !n.startsWith('step view: no annotation') && !n.startsWith('op view: no cpu_op'));
  const api = [b.apiCalls, c.apiCalls];
  const detected = [b.stepDetection?.pattern, c.stepDetection?.pattern].filter((x): x is string => typeof x === 'string');
  const pattern = opts.step === undefined ? (detected.length > 0 ? [...new Set(detected)].join(' / ') : undefined) : typeof opts.step === 'string' ? opts.step : opts.step.source;
  const device = b.device === c.device ? b.device : 'device';
  const result = diffStats(
    { stats: b, ...(api[0] ? { apiCalls: api[0] } : {}) },
    { stats: c, ...(api[1] ? { apiCalls: api[1] } : {}) },
    { ...opts, ...(pattern !== undefined ? { stepPattern: pattern } : {}) },
  );
  if (device !== undefined) result.device = device;
  return result;
}
