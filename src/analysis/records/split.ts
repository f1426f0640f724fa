/** Splitting the records of a merged trace back into its ranks (by pid). */
import type { DeviceRecords } from './device.js';
import type { LaunchRecords } from './launches.js';
import type { FlowRecords } from './flows.js';
import type { OpRecords } from './cpu-ops.js';
import type { PythonRecords } from './python.js';
import type { FileTopLevel, PidInfo, TraceRecords } from './trace-records.js';

type Column = Float64Array | Int32Array | Uint16Array | Uint8Array;

/** The columns of a record set restricted to the rows `idx`, in order. */
function pickRows<T extends { count: number }>(r: T, idx: readonly number[]): T {
  const out: Record<string, unknown> = { count: idx.length };
  for (const [k, v] of Object.entries(r)) {
    if (k === 'count') continue;
    const a = v as unknown as Column;
    const col = new (a.constructor as new (n: number) => Column)(idx.length);
    for (let j = 0; j < idx.length; j++) col[j] = a[idx[j]!]!;
    out[k] = col;
  }
  return out as T;
}

function rowsWhere(count: number, keep: (i: number) => boolean): number[] {
  const idx: number[] = [];
  for (let i = 0; i < count; i++) if (keep(i)) idx.push(i);
  return idx;
}

/** Records restricted to the pids with keep[pid] = 1 (names, pids, threads and keys stay shared). */
export function restrictToPids(r: TraceRecords, keep: Uint8Array): TraceRecords {
  const d = r.device;
  const onThread = (t: number): boolean => keep[r.threads[t]!.pid] === 1;
  const device: DeviceRecords = pickRows(d, rowsWhere(d.count, (i) => keep[d.pid[i]!] === 1));
  const sub = <T extends { count: number; thread: Int32Array }>(x: T | undefined): T | undefined =>
    x && pickRows(x, rowsWhere(x.count, (i) => onThread(x.thread[i]!)));
  return {
    ...r,
    device,
    ops: sub<OpRecords>(r.ops),
    launches: sub<LaunchRecords>(r.launches),
    flows: sub<FlowRecords>(r.flows),
    python: sub<PythonRecords>(r.python),
    pids: r.pids.map((p, i) => (keep[i] === 1 ? p : { ...p, minStart: Infinity, maxEnd: -Infinity })),
    annotations: r.annotations.filter((a) => keep[a.pid] === 1),
  };
}

/** The pid value as text (`0`, `Spans`): JSON strings decoded, numbers as written. */
export function pidText(raw: string): string {
  const t = raw.trim();
  if (t.startsWith('"')) { try { return String(JSON.parse(t)); } catch { return t; } }
  return t;
}

export interface RankSplit {
  label: string;
  rank: number | null;
  /** keep[pid] = 1 for the pids of this rank. */
  keep: Uint8Array;
}

/**
 * How a merged trace splits into ranks: by its `traceforgeMerge` key (new pid -> rank label),
 * else by the `[LABEL]` prefix of process names. Undefined when the trace is not merged.
 * `unassigned` lists the pids (as text) with events that belong to no rank.
 */
export function rankSplitOf(r: TraceRecords, top: FileTopLevel): { ranks: RankSplit[]; unassigned: string[] } | undefined {
  const n = r.pids.length;
  const used = (i: number): boolean => Number.isFinite(r.pids[i]!.minStart);
  if (top.merge && top.merge.ranks.length > 0) {
    const byPid = new Map<string, number>();
    const ranks: RankSplit[] = top.merge.ranks.map((mr, k) => {
      for (const p of Object.keys(mr.pids ?? {})) byPid.set(p, k);
      return { label: String(mr.label), rank: typeof mr.rank === 'number' ? mr.rank : null, keep: new Uint8Array(n) };
    });
    const unassigned: string[] = [];
    r.pids.forEach((p, i) => {
      const k = byPid.get(pidText(p.raw));
      if (k !== undefined) ranks[k]!.keep[i] = 1;
      else if (used(i)) unassigned.push(pidText(p.raw));
    });
    return { ranks, unassigned };
  }
  const labelOf = (p: PidInfo): string | undefined => /^\[([^\]]+)\]/.exec(p.processName ?? '')?.[1];
  const labels = [...new Set(r.pids.map(labelOf).filter((l): l is string => l !== undefined))];
  if (labels.length === 0) return undefined;
  labels.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const ranks: RankSplit[] = labels.map((label) => ({ label, rank: null, keep: new Uint8Array(n) }));
  const unassigned: string[] = [];
  r.pids.forEach((p, i) => {
    const l = labelOf(p);
    if (l !== undefined) ranks[labels.indexOf(l)]!.keep[i] = 1;
    else if (used(i)) unassigned.push(pidText(p.raw));
  });
  return { ranks, unassigned };
}

/** Records without the device activities with drop[i] = 1 (everything else shared). */
export function dropDeviceRows(r: TraceRecords, drop: Uint8Array): TraceRecords {
  return { ...r, device: pickRows(r.device, rowsWhere(r.device.count, (i) => drop[i] !== 1)) };
}
