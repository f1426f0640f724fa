/**
 * The views over attributed device time: `--by source` (Python location → GPU time), `--by
 * module` (nn.Module chain → GPU time), the dominant op and source of each kernel, and the
 * summary of how much time each attribution route covered.
 */
import { ROUTE_NAMES, Route, type DeviceAttribution, type Site } from './attribution.js';
import type { GraphMatch } from './graph-replay.js';
import type { RankData } from './timeline.js';

export interface NamedTime { name: string; calls: number; totalUs: number }

/** One Python location (or module chain) and the device time launched from it. */
export interface SourceStat {
  /** `path.py(LINE): func`, a module chain, or `(no Python frame)` / `(graph replay, unattributed)`. */
  name: string;
  /** Device activities launched from it, and their summed time. */
  calls: number;
  gpuUs: number;
  /** gpu time / GPU busy time (all ranks). */
  share: number;
  /** Most time first (at most 3 each); ops as `name [dims]`. */
  kernels: NamedTime[];
  ops: NamedTime[];
}

/** Device time per attribution route. */
export interface RouteStat { route: string; kernels: number; us: number; share: number }

export interface AttributionSummary {
  /** Device activities and their summed time (all ranks). */
  kernels: number;
  us: number;
  routes: RouteStat[];
  /** With an op (any route), and with a Python source. */
  withOp: { kernels: number; us: number; share: number };
  withSource: { kernels: number; us: number; share: number };
  /** Graph replays: launches, kernels, and each distinct replayed graph. */
  replays: { launches: number; kernels: number; graphs: GraphMatch[] };
  captureFiles: string[];
  mappingFiles: string[];
  /** Kernels left unattributed because the capture and the mapping trace named different ops. */
  conflicts: number;
}

export const NO_SOURCE = '(no Python frame)';
export const NO_MODULE = '(no nn.Module)';
export const UNATTRIBUTED = '(graph replay, unattributed)';

const us = (ns: number): number => Math.round(ns) / 1000;

/** `aten::mm [[32, 4096], [4096, 6144]]`, or the bare name without dims. */
export function opLabel(op: string, dims: string): string {
  if (dims === '' || dims === '[]') return op;
  let d = dims;
  try { d = JSON.stringify(JSON.parse(dims)).replace(/,/g, ', '); } catch { /* keep the raw text */ }
  return `${op} ${d}`;
}

/** opLabel per site id, made once. */
function labelsOf(sites: readonly { op: string; dims: string }[]): (s: number) => string {
  const memo: (string | undefined)[] = [];
  return (s) => (memo[s] ??= opLabel(sites[s]!.op, sites[s]!.dims));
}

interface Acc { calls: number; ns: number; kernels: Map<string, { calls: number; ns: number }>; ops: Map<string, { calls: number; ns: number }> }

const bump = (m: Map<string, { calls: number; ns: number }>, k: string, ns: number): void => {
  const x = m.get(k);
  if (x) { x.calls++; x.ns += ns; } else m.set(k, { calls: 1, ns });
};
const top3 = (m: Map<string, { calls: number; ns: number }>): NamedTime[] =>
  [...m].sort((a, b) => b[1].ns - a[1].ns || (a[0] < b[0] ? -1 : 1)).slice(0, 3).map(([name, x]) => ({ name, calls: x.calls, totalUs: us(x.ns) }));

/** Every device activity of every rank with its kernel name, duration (ns), site and route; `label` is the site's op label. */
function eachActivity(ranks: readonly RankData[], atts: readonly DeviceAttribution[],
  visit: (name: string, ns: number, site: Site | undefined, label: string, route: number) => void): void {
  ranks.forEach((rank, k) => {
    const r = rank.records;
    const d = r.device;
    const a = atts[k]!;
    const label = labelsOf(a.sites);
    for (let i = 0; i < d.count; i++) {
      const s = a.site[i]!;
      const site = s >= 0 ? a.sites[s]! : undefined;
      visit(r.names[d.name[i]!]!, d.dur[i]!, site, site && site.op !== '' ? label(s) : '', a.route[i]!);
    }
  });
}

/** Device time per source location (`by: 'source'`) or module chain (`by: 'module'`), most time first. */
export function sourceStats(ranks: readonly RankData[], atts: readonly DeviceAttribution[], by: 'source' | 'module', busyNs: number): SourceStat[] {
  const acc = new Map<string, Acc>();
  eachActivity(ranks, atts, (name, ns, site, label, route) => {
    const key = route === Route.GraphUnattributed ? UNATTRIBUTED
      : by === 'source' ? (site?.source || NO_SOURCE) : (site?.module || NO_MODULE);
    let x = acc.get(key);
    if (!x) acc.set(key, (x = { calls: 0, ns: 0, kernels: new Map(), ops: new Map() }));
    x.calls++;
    x.ns += ns;
    bump(x.kernels, name, ns);
    if (label !== '') bump(x.ops, label, ns);
  });
  return [...acc].map(([name, x]) => ({ name, calls: x.calls, gpuUs: us(x.ns), share: busyNs > 0 ? x.ns / busyNs : 0, kernels: top3(x.kernels), ops: top3(x.ops) }))
    .sort((p, q) => q.gpuUs - p.gpuUs || (p.name < q.name ? -1 : 1));
}

/** Per kernel name: the op and the source location with the most of its time, their shares, and how many sources launch it. */
export interface KernelOrigin { op?: string; opShare?: number; source?: string; sourceShare?: number; sources: number }

export function kernelOrigins(ranks: readonly RankData[], atts: readonly DeviceAttribution[]): Map<string, KernelOrigin> {
  const per = new Map<string, { ns: number; ops: Map<string, number>; srcs: Map<string, number> }>();
  eachActivity(ranks, atts, (name, ns, site, label) => {
    let x = per.get(name);
    if (!x) per.set(name, (x = { ns: 0, ops: new Map(), srcs: new Map() }));
    x.ns += ns;
    if (label !== '') x.ops.set(label, (x.ops.get(label) ?? 0) + ns);
    if (site && site.source !== '') x.srcs.set(site.source, (x.srcs.get(site.source) ?? 0) + ns);
  });
  const best = (m: Map<string, number>): [string, number] | undefined => [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  const out = new Map<string, KernelOrigin>();
  for (const [name, x] of per) {
    const o = best(x.ops);
    const s = best(x.srcs);
    out.set(name, {
      ...(o ? { op: o[0], opShare: x.ns > 0 ? o[1] / x.ns : 1 } : {}),
      ...(s ? { source: s[0], sourceShare: x.ns > 0 ? s[1] / x.ns : 1 } : {}),
      sources: x.srcs.size,
    });
  }
  return out;
}

/** How much device time each route attributed (all ranks). */
export function attributionSummary(ranks: readonly RankData[], atts: readonly DeviceAttribution[],
  replays: { launches: number; kernels: number; graphs: GraphMatch[]; conflicts: number }, captureFiles: string[], mappingFiles: string[]): AttributionSummary {
  const byRoute = ROUTE_NAMES.map(() => ({ kernels: 0, ns: 0 }));
  let kernels = 0, total = 0, opK = 0, opNs = 0, srcK = 0, srcNs = 0;
  eachActivity(ranks, atts, (_name, ns, site, _label, route) => {
    kernels++;
    total += ns;
    const rt = byRoute[route]!;
    rt.kernels++;
    rt.ns += ns;
    if (site && site.op !== '') { opK++; opNs += ns; }
    if (site && site.source !== '') { srcK++; srcNs += ns; }
  });
  const share = (ns: number): number => (total > 0 ? ns / total : 0);
  return {
    kernels, us: us(total),
    routes: ROUTE_NAMES.map((route, k) => ({ route, kernels: byRoute[k]!.kernels, us: us(byRoute[k]!.ns), share: share(byRoute[k]!.ns) })).filter((x) => x.kernels > 0),
    withOp: { kernels: opK, us: us(opNs), share: share(opNs) },
    withSource: { kernels: srcK, us: us(srcNs), share: share(srcNs) },
    replays: { launches: replays.launches, kernels: replays.kernels, graphs: replays.graphs },
    captureFiles, mappingFiles, conflicts: replays.conflicts,
  };
}
