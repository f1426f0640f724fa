/**
 * Ascend NPU pipe utilization: per OP type and per kernel name, the PipeUtilization ratios of
 * kernel_details.csv (`aic_*_ratio` of the cube core, `aiv_*_ratio` of the vector core; Level 1
 * with `aic_metrics=PipeUtilization`), time-weighted by the kernels' durations, and a bound
 * verdict by msprof-analyze's advisor rules (Ascend/mstt, `msprof_analyze/advisor/rules/en/aicore_performance.yaml`,
 * checker `advisor/analyzer/computation/ai_core_performance/ai_core_performance_checker.py`, and
 * `advisor/analyzer/computation/bound/operator_bound_checker.py` with `config.ini`
 * `operator_bound_ratio = 0.8`; see docs ASCEND.md §2.1):
 *
 * - cube ops (Accelerator Core AI_CORE / MIX_AIC): `aic_mac_ratio ≥ 0.8` → mac-bound;
 *   `aic_mte2_ratio ≥ 0.95` → mte2-bound; both → mac+mte2.
 *   The vendor's code deviates from its own yaml here: `del_cube_operator_bound` tests
 *   `aic_mac_ratio >= aic_mte2_ratio_rule["threshold"]`, i.e. mac against 0.95, so mac in
 *   [0.8, 0.95) is never called mac-bound there. We follow the rule as written (0.8).
 *   The advisor only looks at cube ops whose type contains "matmul" (and ≥ 100 MB of tensors);
 *   we apply the rule to every cube op and say so.
 * - vector ops (AI_VECTOR_CORE / MIX_AIV): `aiv_vec + aiv_mte2 + aiv_mte3 ≥ 0.9` → vec+mte2+mte3;
 *   else `mte2 ≥ 0.7` → mte2, else `mte3 ≥ 0.7` → mte3, else `vec ≥ 0.7` → vec (the checker's order).
 * - no rule fired and every ratio (mac, vec, scalar, mte1, mte2, mte3, fixpipe) ≤ 0.8 → "none": no
 *   pipe is saturated (latency / scalar / launch bound; the advisor's "Operator No Bound" check).
 *   Otherwise (a pipe above 0.8 that no rule calls a bound: cube mte2 in (0.8, 0.95), scalar, mte1,
 *   fixpipe) the verdict is `<pipe>>0.8`: neither bound by the rules nor "no bound".
 *
 * The advisor averages ratios over calls with equal weight; we weight each call by its duration
 * (a 300 µs call says more about where the time goes than a 3 µs one). Communication tasks (HCCL)
 * are left out; rows whose ratios are all zero or absent (AI_CPU, DSA, Level 0) get "no data".
 */
import { csvNumber, readCsv, type CsvTable } from '../formats/ascend-csv.js';

export const CUBE_MAC = 0.8, CUBE_MTE2 = 0.95, VEC_SUM = 0.9, VEC_ONE = 0.7, NO_BOUND = 0.8;

/** The ratio columns read (names as in kernel_details.csv). */
export const PIPE_COLUMNS = [
  'aic_mac_ratio', 'aic_scalar_ratio', 'aic_mte1_ratio', 'aic_mte2_ratio', 'aic_fixpipe_ratio',
  'aiv_vec_ratio', 'aiv_scalar_ratio', 'aiv_mte2_ratio', 'aiv_mte3_ratio',
] as const;
export type PipeColumn = (typeof PIPE_COLUMNS)[number];
export type PipeRatios = Partial<Record<PipeColumn, number>>;

/**
 * A rule's bound (`mac`, `mte2`, `mac+mte2`, `vec+mte2+mte3`, `mte3`, `vec`), `none` (no pipe above
 * 0.8), `no data`, or `<pipe>>0.8` (e.g. `mte2>0.8`): a pipe above 0.8 that no rule calls a bound
 * (under its rule's threshold, or a pipe no rule looks at: scalar, mte1, fixpipe).
 */
export type PipeBound = string;

export interface NpuPipeRow {
  /** OP type (`Type`) or kernel `Name`. */
  name: string;
  /** For kernel rows: its OP type. */
  type: string;
  core: string;
  calls: number;
  totalUs: number;
  ratios: PipeRatios;
  bound: PipeBound;
}

export interface NpuPipeRank {
  label: string;
  byType: NpuPipeRow[];
  byKernel: NpuPipeRow[];
}

export interface NpuPipeSummary {
  ranks: NpuPipeRank[];
  notes: string[];
}

const isCube = (core: string): boolean => core === 'AI_CORE' || core === 'MIX_AIC';
const isVector = (core: string): boolean => core === 'AI_VECTOR_CORE' || core === 'MIX_AIV';

/** The verdict for one set of (time-weighted) ratios of an op on `core`. */
export function pipeBound(core: string, r: PipeRatios): PipeBound {
  const g = (k: PipeColumn): number => r[k] ?? 0;
  const all = PIPE_COLUMNS.map(g);
  if (all.every((x) => x === 0)) return 'no data';
  if (isCube(core)) {
    const mac = g('aic_mac_ratio') >= CUBE_MAC, mte2 = g('aic_mte2_ratio') >= CUBE_MTE2;
    if (mac && mte2) return 'mac+mte2';
    if (mac) return 'mac';
    if (mte2) return 'mte2';
  } else if (isVector(core)) {
    const vec = g('aiv_vec_ratio'), m2 = g('aiv_mte2_ratio'), m3 = g('aiv_mte3_ratio');
    // 1e-9: 0.3 + 0.3 + 0.3 is 0.8999999999999999 in binary floating point
    if (vec + m2 + m3 >= VEC_SUM - 1e-9) return 'vec+mte2+mte3';
    if (m2 >= VEC_ONE) return 'mte2';
    if (m3 >= VEC_ONE) return 'mte3';
    if (vec >= VEC_ONE) return 'vec';
  }
  if (all.every((x) => x <= NO_BOUND)) return 'none';
  // a pipe above 0.8 that no rule names
  let best: PipeColumn = PIPE_COLUMNS[0];
  for (const k of PIPE_COLUMNS) if (g(k) > g(best)) best = k;
  return `${best.replace(/^ai[cv]_/, '').replace(/_ratio$/, '')}>0.8`;
}

interface Acc { name: string; type: string; core: string; calls: number; us: number; w: Record<string, number>; wUs: Record<string, number> }

function add(m: Map<string, Acc>, key: string, name: string, type: string, core: string, dur: number, ratios: PipeRatios): void {
  let a = m.get(key);
  if (!a) { a = { name, type, core, calls: 0, us: 0, w: {}, wUs: {} }; m.set(key, a); }
  a.calls++;
  a.us += dur;
  for (const [k, v] of Object.entries(ratios)) {
    a.w[k] = (a.w[k] ?? 0) + v * dur;
    a.wUs[k] = (a.wUs[k] ?? 0) + dur;
  }
}

function rows(m: Map<string, Acc>): NpuPipeRow[] {
  return [...m.values()].map((a) => {
    const ratios: PipeRatios = {};
    for (const k of PIPE_COLUMNS) { const t = a.wUs[k]; if (t !== undefined && t > 0) ratios[k] = a.w[k]! / t; }
    return { name: a.name, type: a.type, core: a.core, calls: a.calls, totalUs: Math.round(a.us * 1000) / 1000, ratios, bound: pipeBound(a.core, ratios) };
  }).sort((p, q) => q.totalUs - p.totalUs || (p.name < q.name ? -1 : 1));
}

/** Pipe rows of one kernel_details.csv table; null when it has no PipeUtilization columns. */
export function npuPipesOfTable(t: CsvTable): { byType: NpuPipeRow[]; byKernel: NpuPipeRow[] } | null {
  const col = new Map<string, number>();
  t.header.forEach((h, i) => { if (!col.has(h)) col.set(h, i); });
  const present = PIPE_COLUMNS.filter((c) => col.has(c));
  const iName = col.get('Name'), iType = col.get('Type'), iCore = col.get('Accelerator Core'), iDur = col.get('Duration(us)');
  if (present.length === 0 || iName === undefined || iDur === undefined) return null;
  const byType = new Map<string, Acc>();
  const byKernel = new Map<string, Acc>();
  for (const row of t.rows) {
    const dur = csvNumber(row[iDur]);
    if (dur === null) continue;
    const name = row[iName] ?? '';
    const type = iType !== undefined ? row[iType] ?? 'N/A' : 'N/A';
    const core = iCore !== undefined ? row[iCore] ?? 'N/A' : 'N/A';
    if (core === 'HCCL') continue; // communication tasks have no pipe metrics (op_statistic leaves them out too)
    const ratios: PipeRatios = {};
    for (const c of present) { const v = csvNumber(row[col.get(c)!]); if (v !== null) ratios[c] = v; }
    add(byType, `${type}\u0001${core}`, type, type, core, dur, ratios);
    add(byKernel, `${name}\u0001${core}`, name, type, core, dur, ratios);
  }
  return { byType: rows(byType), byKernel: rows(byKernel) };
}

/** Pipe rows of torch_npu ranks (their ASCEND_PROFILER_OUTPUT directories). */
export function npuPipesOf(ranks: readonly { label: string; output: string }[]): NpuPipeSummary {
  const out: NpuPipeSummary = { ranks: [], notes: [] };
  for (const r of ranks) {
    let t: CsvTable;
    try { t = readCsv(`${r.output}/kernel_details.csv`); } catch (e) {
      out.notes.push(`npu pipes: ${r.label}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    const p = npuPipesOfTable(t);
    if (!p) { out.notes.push(`npu pipes: ${r.label}: kernel_details.csv has no aic_*/aiv_* ratio columns (profile at Level 1 with aic_metrics=PipeUtilization)`); continue; }
    out.ranks.push({ label: r.label, ...p });
  }
  return out;
}
