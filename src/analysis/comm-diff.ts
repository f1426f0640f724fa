/**
 * `diff --by comm`: the comm view's rows of two profiles side by side, paired by process group,
 * collective type, dtype and message size. Latency and bus bandwidth are rates of one
 * collective, so they are compared as they are (no per-step normalization); calls are totals of
 * each profile. A side without the row, or without a latency (ranks missing), gives null.
 */
import type { CommCollectives, CommRow } from './collectives.js';

export interface CommDiffSide {
  calls: number;
  latencyUs: number | null;
  busbwGBs: number | null;
}

export interface CommDiffRow {
  group: string;
  collective: string;
  dtype: string | null;
  bytes: number | null;
  baseline: CommDiffSide | null;
  candidate: CommDiffSide | null;
  /** (candidate − baseline) / baseline; null when either is missing. */
  latencyChange: number | null;
  busbwChange: number | null;
}

const keyOf = (r: CommRow): string => `${r.group}\u0000${r.collective}\u0000${r.dtype}\u0000${r.bytes}`;
const side = (r: CommRow | undefined): CommDiffSide | null => (r ? { calls: r.calls, latencyUs: r.latencyUs, busbwGBs: r.busbwGBs } : null);
const rel = (b: number | null | undefined, c: number | null | undefined): number | null =>
  b === null || b === undefined || c === null || c === undefined || b === 0 ? null : Math.round(((c - b) / b) * 1e6) / 1e6;

export function commDiffRows(b: CommCollectives | undefined, c: CommCollectives | undefined): CommDiffRow[] {
  const bm = new Map((b?.rows ?? []).map((r) => [keyOf(r), r]));
  const cm = new Map((c?.rows ?? []).map((r) => [keyOf(r), r]));
  const keys = [...new Set([...bm.keys(), ...cm.keys()])];
  const rows = keys.map((k): CommDiffRow => {
    const x = bm.get(k);
    const y = cm.get(k);
    const r = (x ?? y)!;
    return {
      group: r.group, collective: r.collective, dtype: r.dtype, bytes: r.bytes, baseline: side(x), candidate: side(y),
      latencyChange: rel(x?.latencyUs, y?.latencyUs), busbwChange: rel(x?.busbwGBs, y?.busbwGBs),
    };
  });
  const weight = (r: CommDiffRow): number => Math.abs(((r.candidate?.latencyUs ?? 0) * (r.candidate?.calls ?? 0)) - ((r.baseline?.latencyUs ?? 0) * (r.baseline?.calls ?? 0)));
  return rows.sort((p, q) => weight(q) - weight(p));
}
