/**
 * CSV-only torch_npu directories (no trace_view.json, no .db): what their files still answer.
 *
 * op_statistic.csv is computed by the vendor from unrounded task durations, which only the
 * trace holds; kernel_details.csv rounds each to 0.001 µs. Without the trace the vendor's own
 * op_statistic.csv is the exact table: {@link vendorOpStatistic} takes it after checking it
 * against the table computed from kernel_details.csv (same OP types, core types and counts,
 * totals within the rounding of the rows), and otherwise keeps the computed one and says why.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { TraceforgeError } from '../errors.js';
import { readOpStatistic } from './ascend-csv.js';
import type { OpStatisticRow } from '../analysis/op-statistic.js';

export type VendorOpStatistic = { rows: OpStatisticRow[]; note: string } | { rows: undefined; note: string | undefined };

export function vendorOpStatistic(output: string, computed: readonly OpStatisticRow[]): VendorOpStatistic {
  const file = join(output, 'op_statistic.csv');
  const rounding = 'totals from kernel_details.csv, whose durations are rounded to 0.001 µs (up to 0.0005 µs per task off the vendor\'s)';
  if (!existsSync(file)) return { rows: undefined, note: `no trace_view.json: ${rounding}` };
  let vendor;
  try { vendor = readOpStatistic(output); } catch (e) {
    if (!(e instanceof TraceforgeError)) throw e;
    return { rows: undefined, note: `${e.message}; ${rounding}` };
  }
  const key = (r: { deviceId?: number | null; opType: string; coreType: string }): string => `${r.deviceId ?? ''}\u0000${r.opType}\u0000${r.coreType}`;
  const mine = new Map(computed.map((r) => [key(r), r]));
  const bad = vendor.filter((v) => {
    const m = mine.get(key(v));
    return !m || m.count !== v.count || Math.abs(m.totalUs - v.totalUs) > 0.0005 * v.count + 0.001;
  });
  if (bad.length > 0 || vendor.length !== computed.length) {
    return { rows: undefined, note: `${file} disagrees with kernel_details.csv (${bad[0] ? `${bad[0].opType} / ${bad[0].coreType}` : `${vendor.length} vs ${computed.length} rows`}): ${rounding}` };
  }
  const rows = vendor.map((v) => ({ ...(v.deviceId !== null ? { deviceId: v.deviceId } : {}), opType: v.opType, coreType: v.coreType, count: v.count, totalUs: v.totalUs, minUs: v.minUs, avgUs: v.avgUs, maxUs: v.maxUs, ratioPct: v.ratioPct }));
  return { rows, note: `no trace_view.json: the vendor's ${file} (exact, from unrounded durations), checked against kernel_details.csv (same OP types, core types, counts; totals within rounding)` };
}
