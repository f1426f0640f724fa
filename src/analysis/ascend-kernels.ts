/**
 * `stats` on torch_npu profiles: what comes from kernel_details.csv (the device tasks with
 * their OP type and, at Level 1 and above, input shapes), next to the device timeline that
 * collect.ts reads from trace_view.json.
 *
 * - {@link TraceDurationMatcher}: the full-precision durations of the kernel_details rows, found
 *   in trace_view.json during the statistics pass (the same matching as formats/ascend-csv.ts
 *   `attachTraceDurations`, which reads the trace on its own), so op_statistic.csv can be
 *   reproduced to the last digit without a second read;
 * - {@link kernelDurations}: per kernel name, the durations of its rows (for the kernel view);
 * - {@link npuOpStats}: per (OP type, Input Shapes, Input Data Types) over all ranks, with the
 *   kernels behind each row (the op view).
 */
import { F, type ScanHandler, type ScannedEvent } from '../io/scanner.js';
import { stringField } from '../io/fields.js';
import type { KernelDetails, KernelRow } from '../formats/ascend-csv.js';
import { COMMUNICATION_CORE_TYPES, shapeStatistic, type ShapeStatistic } from './op-statistic.js';
import type { OpKernel } from './ops.js';

const PH_X = 0x58;

/**
 * Scan handler for trace_view.json: remembers the `dur` of every X event whose `ts` text and
 * name are those of a kernel_details row (ambiguous keys — two durations — are dropped), and
 * `finish()` sets `traceDurationUs` on the rows found. Rows keyed alike are left alone.
 */
export class TraceDurationMatcher implements ScanHandler {
  private readonly byKey = new Map<string, KernelRow[]>();
  private readonly starts: Set<string>;
  /** null: ambiguous (two durations for one key). */
  private readonly found = new Map<string, number | null>();

  constructor(private readonly details: KernelDetails) {
    for (const r of details.rows) {
      const k = `${r.startUsText}\u0000${r.name}`;
      const l = this.byKey.get(k);
      if (l) l.push(r); else this.byKey.set(k, [r]);
    }
    this.starts = new Set(details.rows.map((r) => r.startUsText));
  }

  event(ev: ScannedEvent): void {
    const ph = ev.f[2 * F.ph]!;
    if (ph < 0 || ev.buf[ph + 1] !== PH_X) return;
    let s = ev.f[2 * F.ts]!;
    if (s < 0) return;
    let e = ev.f[2 * F.ts + 1]!;
    if (ev.buf[s] === 0x22) { s++; e--; }
    const ts = ev.buf.toString('latin1', s, e);
    if (!this.starts.has(ts)) return;
    const k = `${ts}\u0000${stringField(ev, F.name) ?? ''}`;
    if (!this.byKey.has(k)) return;
    const dur = Number(stringField(ev, F.dur));
    if (!Number.isFinite(dur)) return;
    const prev = this.found.get(k);
    this.found.set(k, prev === undefined || prev === dur ? dur : null);
  }

  /** Sets traceDurationUs on the rows found; how many were, and how many not. */
  finish(): { matched: number; unmatched: number } {
    let matched = 0;
    for (const [k, rows] of this.byKey) {
      const d = this.found.get(k);
      if (d === undefined || d === null || rows.length !== 1) continue;
      rows[0]!.traceDurationUs = d;
      matched++;
    }
    return { matched, unmatched: this.details.rows.length - matched };
  }
}

/** `Type` of a row when recorded (not `N/A` or empty). */
export function recordedType(row: Pick<KernelRow, 'type'>): string | undefined {
  return row.type !== 'N/A' && row.type !== '' ? row.type : undefined;
}

/** The kernel_details rows of one kernel name. */
export interface NamedKernelDurations {
  /** The first recorded OP type. */
  type: string | undefined;
  /** True when a row ran on a communication core type (`HCCL`). */
  communication: boolean;
  /** Durations in ns from the CSV's `Duration(us)` (3 decimals, so whole ns). */
  durations: Float64Array;
}

/** Per kernel name (first-seen order), its rows' durations and OP type. */
export function kernelDurations(rows: readonly KernelRow[]): Map<string, NamedKernelDurations> {
  const acc = new Map<string, { type: string | undefined; communication: boolean; list: number[] }>();
  for (const r of rows) {
    let a = acc.get(r.name);
    if (!a) acc.set(r.name, (a = { type: undefined, communication: false, list: [] }));
    a.type ??= recordedType(r);
    if (COMMUNICATION_CORE_TYPES.has(r.acceleratorCore)) a.communication = true;
    a.list.push(Math.round(r.durationUs * 1000));
  }
  const out = new Map<string, NamedKernelDurations>();
  for (const [name, a] of acc) out.set(name, { type: a.type, communication: a.communication, durations: Float64Array.from(a.list) });
  return out;
}

/** One row of the op view on NPU profiles: kernel_details tasks of one OP type and input shapes. */
export interface NpuOpStat {
  /** OP type (`Type`); the kernel name when types were not recorded. */
  op: string;
  /** `Input Shapes` as the vendor writes them, without its literal quotes (`32,3,224,224;64`). */
  inputShapes: string;
  inputDataTypes: string;
  calls: number;
  totalUs: number;
  meanUs: number;
  minUs: number;
  maxUs: number;
  /** Kernels (names) of the row, most time first (at most the asked number). */
  kernels: OpKernel[];
}

export type NpuOpResult =
  | { ok: true; by: 'type' | 'name'; ops: NpuOpStat[] }
  | { ok: false; message: string };

/**
 * The op view over the kernel_details of all ranks that recorded shapes: per (OP type, Input
 * Shapes, Input Data Types), durations as {@link shapeStatistic} takes them (the trace's full
 * precision where attached), with the `kernelsPerOp` kernels of most time in each row.
 * Grouped by kernel name instead when no rank recorded OP types.
 */
export function npuOpStats(details: readonly KernelDetails[], kernelsPerOp: number): NpuOpResult {
  const withShapes = details.filter((d) => d.hasShapes);
  if (withShapes.length === 0) return { ok: false, message: 'no kernel_details.csv with an Input Shapes column' };
  const by = withShapes.some((d) => d.hasTypes) ? 'type' : 'name';
  const rows = withShapes.flatMap((d) => d.rows);
  const table: ShapeStatistic = shapeStatistic({ file: withShapes[0]!.file, hasShapes: true, rows }, { by });
  if (!table.ok) return { ok: false, message: table.message };
  const keyOf = (op: string, shapes: string, types: string): string => `${op}\u0000${shapes}\u0000${types}`;
  const kernels = new Map<string, Map<string, { calls: number; total: number }>>();
  for (const r of rows) {
    const k = keyOf(by === 'name' ? r.name : r.type, r.inputShapes ?? '', r.inputDataTypes ?? '');
    let m = kernels.get(k);
    if (!m) kernels.set(k, (m = new Map()));
    const x = m.get(r.name) ?? { calls: 0, total: 0 };
    x.calls++;
    x.total += Math.round((r.traceDurationUs ?? r.durationUs) * 1000);
    m.set(r.name, x);
  }
  const ops = table.rows.map((t) => ({
    op: t.op, inputShapes: t.inputShapes, inputDataTypes: t.inputDataTypes, calls: t.count,
    totalUs: t.totalUs, meanUs: t.avgUs, minUs: t.minUs, maxUs: t.maxUs,
    kernels: [...(kernels.get(keyOf(t.op, t.inputShapes, t.inputDataTypes)) ?? [])]
      .sort((a, b) => b[1].total - a[1].total || (a[0] < b[0] ? -1 : 1))
      .slice(0, kernelsPerOp)
      .map(([name, x]) => ({ name, calls: x.calls, totalUs: Math.round(x.total) / 1000 })),
  }));
  return { ok: true, by, ops };
}
