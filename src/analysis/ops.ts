/**
 * Operator statistics like torch's `key_averages(group_by_input_shape=True)`, rebuilt from the
 * trace: per (op name, `Input Dims`, `Input type`) the calls, CPU total and self time, device
 * self time (kernels whose `External id` is the op's) and device total (with the op's children).
 *
 * CPU ops nest per thread (op-tree.ts); an op that starts inside another and ends after it is
 * still taken as its child, and only the overlapping part is subtracted from the parent's self
 * time. CUDA-graph replay kernels attributed through a capture or mapping trace count for the op
 * that launched them there and for the ops enclosing it (replay-ops.ts).
 */
import { Route, type DeviceAttribution } from './attribution.js';
import { indexOfIds } from '../model/id-index.js';
import { opTree } from './op-tree.js';
import { callOf, eachReplayedOp, isReplayLinked } from './replay-ops.js';
import type { OpKey, TraceRecords } from './collect.js';
import type { RankData } from './timeline.js';

export interface OpKernel {
  name: string;
  calls: number;
  totalUs: number;
}

export interface OpStat {
  name: string;
  /** `Input Dims` as in the trace (usually a list of lists), or null when not recorded. */
  inputDims: unknown;
  /** `Input type` as in the trace (a list of type names), or null. */
  inputTypes: unknown;
  calls: number;
  cpuTotalUs: number;
  cpuSelfUs: number;
  deviceSelfUs: number;
  deviceTotalUs: number;
  /** Kernels launched directly by the op, most time first (at most `topKernels`). */
  kernels: OpKernel[];
}

export interface OpSummary {
  ops: OpStat[];
  /** Device activities linked to a cpu_op by External id, and the rest (time in µs). */
  linkedKernels: number;
  unlinkedKernels: number;
  unlinkedUs: number;
  /** CPU ops that start inside another op on their thread and end after it. */
  notNested: number;
  /** Graph replay kernels given an op from a capture or mapping trace (counted in linkedKernels). */
  replayedKernels: number;
  replayedUs: number;
}

const us = (ns: number): number => Math.round(ns) / 1000;

interface Acc {
  name: string;
  dims: string;
  types: string;
  calls: number;
  cpuTotal: number;
  cpuSelf: number;
  devSelf: number;
  devTotal: number;
  kernels: Map<string, { calls: number; total: number }>;
}

function parseOr(raw: string): unknown {
  if (raw === '') return null;
  try { return JSON.parse(raw); } catch { return raw; }
}

const deviceOpsMemo = new WeakMap<TraceRecords, Int32Array>();

/**
 * Which op launched each device activity (index into records.ops, -1 for none): by `External id`
 * (the last op with an id wins). Computed once per records (the op, efficiency and attribution
 * views all ask).
 */
export function deviceOps(r: TraceRecords): Int32Array {
  const memo = deviceOpsMemo.get(r);
  if (memo) return memo;
  const o = r.ops;
  const d = r.device;
  const out = new Int32Array(d.count).fill(-1);
  if (o) {
    const byExt = indexOfIds(o.ext);
    for (let i = 0; i < d.count; i++) out[i] = byExt.get(d.ext[i]!);
  }
  deviceOpsMemo.set(r, out);
  return out;
}

function accOf(acc: Map<string, Acc>, name: string, dims: string, types: string): Acc {
  const id = opKeyId({ name, dims, types });
  let a = acc.get(id);
  if (!a) {
    a = { name, dims, types, calls: 0, cpuTotal: 0, cpuSelf: 0, devSelf: 0, devTotal: 0, kernels: new Map() };
    acc.set(id, a);
  }
  return a;
}

const addKernel = (a: Acc, name: string, ns: number): void => {
  const k = a.kernels.get(name);
  if (k) { k.calls++; k.total += ns; } else a.kernels.set(name, { calls: 1, total: ns });
};

/**
 * Graph replay kernels that the capture or mapping trace gave an op, counted as if the replay
 * trace had recorded that op and the ops enclosing it there (replay-ops.ts): the kernel's time
 * is the op's device self and total time and every enclosing op's device total; one call per op
 * instance and replay. Their CPU time is not known and not counted. A kernel whose op is known
 * but not its instance (the matching candidates sit under different ops) counts for the op alone,
 * one call per kernel.
 */
function replayedOps(rank: RankData, att: DeviceAttribution | undefined, acc: Map<string, Acc>): { kernels: number; ns: number } {
  let kernels = 0, ns = 0;
  if (!att) return { kernels, ns };
  const r = rank.records;
  const d = r.device;
  const seen = new Set<string>();
  eachReplayedOp(att, (i, link) => {
    const o = link.records.ops!;
    const t = d.dur[i]!;
    for (let depth = 0; depth < link.chain.length; depth++) {
      const op = link.chain[depth]!;
      const k = link.records.opKeys[o.key[op]!]!;
      const a = accOf(acc, k.name, k.dims, k.types);
      const call = callOf(link, op);
      if (!seen.has(call)) { seen.add(call); a.calls++; }
      a.devTotal += t;
      if (depth === 0) { a.devSelf += t; addKernel(a, r.names[d.name[i]!]!, t); }
    }
    kernels++;
    ns += t;
  });
  for (let i = 0; i < d.count; i++) {
    const rt = att.route[i];
    const s = att.site[i]!;
    if ((rt !== Route.Capture && rt !== Route.Mapping) || s < 0 || att.sites[s]!.op === '' || isReplayLinked(att, i)) continue;
    const site = att.sites[s]!;
    const a = accOf(acc, site.op, site.dims, site.types);
    a.calls++;
    a.devSelf += d.dur[i]!;
    a.devTotal += d.dur[i]!;
    addKernel(a, r.names[d.name[i]!]!, d.dur[i]!);
    kernels++;
    ns += d.dur[i]!;
  }
  return { kernels, ns };
}

function opsOfRank(rank: RankData, acc: Map<string, Acc>, att?: DeviceAttribution): { linked: number; unlinked: number; unlinkedNs: number; notNested: number; replayed: number; replayedNs: number } {
  const r = rank.records;
  const o = r.ops;
  const d = r.device;
  const rep = replayedOps(rank, att, acc);
  if (!o || o.count === 0) {
    let t = 0;
    for (let i = 0; i < d.count; i++) t += d.dur[i]!;
    return { linked: rep.kernels, unlinked: d.count - rep.kernels, unlinkedNs: t - rep.ns, notNested: 0, replayed: rep.kernels, replayedNs: rep.ns };
  }
  const opOf = deviceOps(r);
  const devSelf = new Float64Array(o.count);
  const accOfKey: Acc[] = r.opKeys.map((k) => accOf(acc, k.name, k.dims, k.types));
  let linked = rep.kernels;
  let unlinked = 0;
  let unlinkedNs = 0;
  for (let i = 0; i < d.count; i++) {
    const op = opOf[i]!;
    if (op < 0) {
      const rt = att?.route[i];
      if ((rt === Route.Capture || rt === Route.Mapping) && att!.site[i]! >= 0 && att!.sites[att!.site[i]!]!.op !== '') continue;
      unlinked++; unlinkedNs += d.dur[i]!; continue;
    }
    linked++;
    devSelf[op]! += d.dur[i]!;
    addKernel(accOfKey[o.key[op]!]!, r.names[d.name[i]!]!, d.dur[i]!);
  }
  const { order, parent, childCpu, notNested } = opTree(r);
  // device total: children come after their parent in `order`, so a reverse walk sees them first
  const devTotal = devSelf.slice();
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k]!;
    const p = parent[i]!;
    if (p >= 0) devTotal[p]! += devTotal[i]!;
  }
  for (let i = 0; i < o.count; i++) {
    const a = accOfKey[o.key[i]!]!;
    a.calls++;
    a.cpuTotal += o.dur[i]!;
    a.cpuSelf += Math.max(0, o.dur[i]! - childCpu[i]!);
    a.devSelf += devSelf[i]!;
    a.devTotal += devTotal[i]!;
  }
  return { linked, unlinked, unlinkedNs, notNested, replayed: rep.kernels, replayedNs: rep.ns };
}

/** The identity of an op + shapes row across ranks (name, normalized `Input Dims` and `Input type`). */
export function opKeyId(k: OpKey): string {
  return `${k.name}\u0001${normalize(k.dims)}\u0001${normalize(k.types)}`;
}

function normalize(raw: string): string {
  if (raw === '') return '';
  try { return JSON.stringify(JSON.parse(raw)); } catch { return raw; }
}

/**
 * Op statistics over all ranks (ops with the same name, dims and types are one row), ordered by
 * device total, then CPU total. `topKernels` limits the kernels listed per op.
 */
export function opStats(ranks: readonly RankData[], topKernels = 3, atts?: readonly (DeviceAttribution | undefined)[]): OpSummary {
  const acc = new Map<string, Acc>();
  let linkedKernels = 0;
  let unlinkedKernels = 0;
  let unlinkedNs = 0;
  let notNested = 0;
  let replayedKernels = 0;
  let replayedNs = 0;
  ranks.forEach((rank, k) => {
    const x = opsOfRank(rank, acc, atts?.[k]);
    linkedKernels += x.linked;
    unlinkedKernels += x.unlinked;
    unlinkedNs += x.unlinkedNs;
    notNested += x.notNested;
    replayedKernels += x.replayed;
    replayedNs += x.replayedNs;
  });
  const ops: OpStat[] = [];
  for (const a of acc.values()) {
    if (a.calls === 0) continue;
    ops.push({
      name: a.name,
      inputDims: parseOr(a.dims),
      inputTypes: parseOr(a.types),
      calls: a.calls,
      cpuTotalUs: us(a.cpuTotal),
      cpuSelfUs: us(a.cpuSelf),
      deviceSelfUs: us(a.devSelf),
      deviceTotalUs: us(a.devTotal),
      kernels: [...a.kernels].sort((p, q) => q[1].total - p[1].total).slice(0, topKernels)
        .map(([name, k]) => ({ name, calls: k.calls, totalUs: us(k.total) })),
    });
  }
  ops.sort((p, q) => q.deviceTotalUs - p.deviceTotalUs || q.cpuTotalUs - p.cpuTotalUs || (p.name < q.name ? -1 : 1));
  return { ops, linkedKernels, unlinkedKernels, unlinkedUs: us(unlinkedNs), notNested, replayedKernels, replayedUs: us(replayedNs) };
}
