/**
 * Operator statistics of Ascend device tasks (pure: rows in, tables out).
 *
 * {@link opStatistic} is the table torch_npu writes as `op_statistic.csv` at Level 1, computed
 * the vendor's way from kernel_details rows:
 * - one row per (OP Type, Core Type) — the `Type` and `Accelerator Core` columns (per
 *   `Device_id` too when the rows have one);
 * - communication tasks (core type `HCCL` / `COMMUNICATION`) are left out, as the vendor does
 *   (they have their own files: communication.json);
 * - Total, Min, Avg (= Total / Count) and Max in µs, and Ratio(%) = Total / (sum of all Totals)
 *   × 100, each computed unrounded and then rounded to 3 decimals the way Python's
 *   `round(x, 3)` does (the exact binary value, ties to even; `75.9015` → `75.901`);
 * - sorted by Total Time, largest first.
 * The vendor sums unrounded durations; kernel_details.csv holds them rounded to 0.001 µs. Rows
 * with `traceDurationUs` (see formats/ascend-csv.ts attachTraceDurations) use that and
 * reproduce the vendor's file to the last digit; otherwise totals can differ by up to
 * 0.0005 µs per task.
 *
 * {@link shapeStatistic} groups by operator and input shapes (Level 1 and above only).
 */
import type { KernelDetails, OpStatisticFileRow } from '../formats/ascend-csv.js';

/** What the statistics need of a kernel_details row. */
export interface KernelTiming {
  name: string;
  type: string;
  acceleratorCore: string;
  durationUs: number;
  traceDurationUs?: number;
  /** Exact integer ns (Db export): sums are then exact, divided by 1000 once. */
  durationNs?: number;
  deviceId?: number | null;
  inputShapes?: string;
  inputDataTypes?: string;
}

/** A computed op_statistic row: the vendor file's columns (deviceId present when the rows had one). */
export type OpStatisticRow = Omit<OpStatisticFileRow, 'deviceId'> & { deviceId?: number };

/** Core types of communication tasks, which op_statistic.csv leaves out. */
export const COMMUNICATION_CORE_TYPES: ReadonlySet<string> = new Set(['HCCL', 'COMMUNICATION']);

/**
 * `round(x, digits)` as Python computes it: on the exact binary value of x, ties to even.
 * (`toFixed` also rounds the exact value, but sends exact ties up.)
 */
export function roundLikePython(x: number, digits = 3): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp = biased - 1075;
  if (biased === 0) exp = -1074; else mant |= 1n << 52n;
  // |x| = mant * 2^exp exactly; scaled = |x| * 10^digits = num / den
  let num = mant * 10n ** BigInt(digits);
  let den = 1n;
  if (exp >= 0) num <<= BigInt(exp); else den <<= BigInt(-exp);
  let q = num / den;
  const twice = 2n * (num - q * den);
  if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
  const s = q.toString().padStart(digits + 1, '0');
  const text = digits > 0 ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s;
  const v = Number(text);
  return x < 0 ? -v : v;
}

interface Acc { deviceId: number | undefined; a: string; b: string; count: number; total: number; min: number; max: number; ns: number; exact: boolean }

/** op_statistic.csv's table from kernel_details rows (see the module comment for the rules). */
export function opStatistic(kernels: readonly KernelTiming[]): OpStatisticRow[] {
  const groups = new Map<string, Acc>();
  const grand = new Map<number | undefined, number>();
  const grandNs = new Map<number | undefined, number>();
  for (const k of kernels) {
    if (COMMUNICATION_CORE_TYPES.has(k.acceleratorCore)) continue;
    const d = k.traceDurationUs ?? k.durationUs;
    const dev = k.deviceId ?? undefined;
    const key = `${dev ?? ''}\u0000${k.type}\u0000${k.acceleratorCore}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { deviceId: dev, a: k.type, b: k.acceleratorCore, count: 0, total: 0, min: Infinity, max: -Infinity, ns: 0, exact: true }));
    g.count++;
    g.total += d;
    if (d < g.min) g.min = d;
    if (d > g.max) g.max = d;
    grand.set(dev, (grand.get(dev) ?? 0) + d);
    if (k.durationNs === undefined) g.exact = false; else g.ns += k.durationNs;
    grandNs.set(dev, (grandNs.get(dev) ?? 0) + (k.durationNs ?? NaN));
  }
  const rows: OpStatisticRow[] = [...groups.values()].map((g) => {
    // integer ns (Db export): exact sums, divided once
    if (g.exact) { g.total = g.ns / 1000; grand.set(g.deviceId, Number.isNaN(grandNs.get(g.deviceId)) ? grand.get(g.deviceId)! : grandNs.get(g.deviceId)! / 1000); }
    const all = grand.get(g.deviceId) ?? 0;
    return {
      ...(g.deviceId !== undefined ? { deviceId: g.deviceId } : {}),
      opType: g.a,
      coreType: g.b,
      count: g.count,
      totalUs: roundLikePython(g.total),
      minUs: roundLikePython(g.min),
      avgUs: roundLikePython(g.total / g.count),
      maxUs: roundLikePython(g.max),
      ratioPct: all > 0 ? roundLikePython((g.total / all) * 100) : 0,
      _total: g.total,
    };
  }).sort((x, y) => (x.deviceId ?? 0) - (y.deviceId ?? 0) || y._total - x._total || cmp(x.opType, y.opType) || cmp(x.coreType, y.coreType))
    .map(({ _total, ...r }) => r);
  return rows;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export type OpStatisticResult =
  | { ok: true; rows: OpStatisticRow[] }
  | { ok: false; reason: 'types-not-recorded'; message: string };

/**
 * {@link opStatistic} for a kernel_details file, or why it cannot be computed: at Level 0 every
 * `Type` is `N/A` (and torch_npu writes no op_statistic.csv), so the table would be one row.
 */
export function opStatisticOf(details: Pick<KernelDetails, 'file' | 'hasTypes'> & { rows: readonly KernelTiming[] }): OpStatisticResult {
  if (!details.hasTypes) {
    return { ok: false, reason: 'types-not-recorded', message: `${details.file}: OP types were not recorded (every Type is N/A: profiler level Level0); ${SHAPES_ADVICE.replace(' and record_shapes=True', '')}` };
  }
  return { ok: true, rows: opStatistic(details.rows) };
}

/** A float the way Python's `str()` writes it (`2.0`, `22.01`, `0.0`), as in the vendor's CSVs. */
export function pythonFloatText(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  return String(x);
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * CSV with the vendor's exact column names (`Device_id` first when the rows have one), LF line
 * ends and Python float formatting — byte for byte what torch_npu writes for the same numbers.
 */
export function formatOpStatisticCsv(rows: readonly OpStatisticRow[]): string {
  const dev = rows.some((r) => r.deviceId !== undefined);
  const head = [...(dev ? ['Device_id'] : []), 'OP Type', 'Core Type', 'Count', 'Total Time(us)', 'Min Time(us)', 'Avg Time(us)', 'Max Time(us)', 'Ratio(%)'];
  const lines = [head.join(',')];
  for (const r of rows) {
    lines.push([
      ...(dev ? [String(r.deviceId ?? '')] : []),
      csvField(r.opType), csvField(r.coreType), String(r.count),
      pythonFloatText(r.totalUs), pythonFloatText(r.minUs), pythonFloatText(r.avgUs), pythonFloatText(r.maxUs), pythonFloatText(r.ratioPct),
    ].join(','));
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// By input shape

export interface ShapeStatRow {
  /** The OP type (by: 'type') or the kernel name (by: 'name'). */
  op: string;
  inputShapes: string;
  inputDataTypes: string;
  count: number;
  totalUs: number;
  avgUs: number;
  minUs: number;
  maxUs: number;
}

export type ShapeStatistic =
  | { ok: true; by: 'type' | 'name'; rows: ShapeStatRow[] }
  | { ok: false; reason: 'shapes-not-recorded'; message: string };

/** The advice when a profile has no shapes (Level 0). */
export const SHAPES_ADVICE =
  'profile with torch_npu.profiler._ExperimentalConfig(profiler_level=torch_npu.profiler.ProfilerLevel.Level1) and record_shapes=True';

export function shapesNotRecordedMessage(file: string): string {
  const where = file.endsWith('.db') ? 'every COMPUTE_TASK_INFO input shape is N/A' : 'kernel_details.csv has no Input Shapes column';
  return `${file}: input shapes were not recorded (${where}: profiler level Level0); ${SHAPES_ADVICE}`;
}

/**
 * Per (operator, Input Shapes, Input Data Types): count, total, average, min and max duration
 * (µs, rounded to 3 decimals like the vendor), largest total first. `by: 'type'` groups by OP
 * type (default), `by: 'name'` by kernel name. A Level 0 file has no shapes: the result says so
 * and how to record them.
 */
export function shapeStatistic(details: Pick<KernelDetails, 'file' | 'hasShapes'> & { rows: readonly KernelTiming[] }, opts: { by?: 'type' | 'name' } = {}): ShapeStatistic {
  if (!details.hasShapes) return { ok: false, reason: 'shapes-not-recorded', message: shapesNotRecordedMessage(details.file) };
  const by = opts.by ?? 'type';
  const groups = new Map<string, { op: string; shapes: string; types: string; count: number; total: number; min: number; max: number }>();
  for (const k of details.rows) {
    const op = by === 'name' ? k.name : k.type;
    const shapes = k.inputShapes ?? '';
    const types = k.inputDataTypes ?? '';
    const key = `${op}\u0000${shapes}\u0000${types}`;
    const d = k.traceDurationUs ?? k.durationUs;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { op, shapes, types, count: 0, total: 0, min: Infinity, max: -Infinity }));
    g.count++;
    g.total += d;
    if (d < g.min) g.min = d;
    if (d > g.max) g.max = d;
  }
  const rows = [...groups.values()]
    .sort((x, y) => y.total - x.total || cmp(x.op, y.op) || cmp(x.shapes, y.shapes) || cmp(x.types, y.types))
    .map((g) => ({
      op: g.op, inputShapes: g.shapes, inputDataTypes: g.types, count: g.count,
      totalUs: roundLikePython(g.total), avgUs: roundLikePython(g.total / g.count), minUs: roundLikePython(g.min), maxUs: roundLikePython(g.max),
    }));
  return { ok: true, by, rows };
}
