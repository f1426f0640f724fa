/**
 * Collectives across ranks: pairing, bandwidth and skew (the comm view; the rank view's
 * straggler table is built from the same pairing).
 *
 * Pairing. A collective instance is (process group, sequence): the group is `Process Group
 * Name` with `Process Group Ranks` (so TP, DP and EP groups, and two TP groups of the same name
 * on different ranks, stay apart); the sequence is `Seq` when every kernel of the group carries
 * one (PyTorch writes it on `record_param_comms`), else the kernel's position among the group's
 * kernels on its rank, by start. This is TraceLens's collective id (NcclAnalyser
 * `build_df_long`: `collective_id = Process Group Name + '_' + index_in_group`, the index being
 * the rank of `ts` within (group, rank)); never the n-th communication kernel of the whole rank.
 * Kernels of one rank with the same (group, Seq) are one instance (first start, last end).
 *
 * Per instance, on one clock (each rank's `baseTimeNanoseconds`):
 * - latency = the shortest duration over the group's ranks: the rank that arrived last did not
 *   wait, so its kernel is the transfer itself (TraceLens `comm_latency`);
 * - start skew = latest start − earliest start; end skew = latest end − earliest end;
 *   a rank waits (latest start − its start); a rank is late by (its start − earliest start);
 * - bytes = `Out msg nelems` × dtype size for all-gather, `In msg nelems` × dtype size for
 *   the others (the full message, TraceLens `Full msg size`; nccl-tests' S);
 * - algbw = bytes / latency; busbw = algbw × factor, with nccl-tests' factors
 *   (NVIDIA/nccl-tests doc/PERFORMANCE.md): all-reduce 2(n−1)/n; all-gather, reduce-scatter,
 *   all-to-all (n−1)/n; broadcast, reduce, send/recv 1. GB/s are 10⁹ bytes per second.
 * Ranks that disagree on the size (all-to-allv) leave the instance without bytes and bandwidth.
 * An instance seen on fewer ranks than its group has (a single rank's file, a missing rank)
 * has no latency, skew or bandwidth: those are reported missing, and counted.
 */
import type { Categorizer } from './categories.js';
import type { CollectiveArgs } from './collect.js';
import { medianOf } from './kernels.js';
import type { RankData } from './timeline.js';
import { Diagnostics, type DiagnosticEntry } from '../model/diagnostics.js';

export type CollectiveType =
  | 'all_reduce' | 'all_gather' | 'reduce_scatter' | 'all_to_all' | 'broadcast' | 'reduce'
  | 'send' | 'recv' | 'gather' | 'scatter' | 'barrier' | 'other';

/** Collective type from `Collective name`, else from the kernel name (NCCL, RCCL, HCCL). */
export function collectiveType(collective: string, kernel: string): CollectiveType {
  const of = (s: string): CollectiveType | undefined => {
    const t = s.toLowerCase().replace(/[^a-z]/g, '');
    if (t === '') return undefined;
    if (t.includes('allreduce')) return 'all_reduce';
    if (t.includes('allgather')) return 'all_gather';
    if (t.includes('reducescatter')) return 'reduce_scatter';
    if (t.includes('alltoall')) return 'all_to_all';
    if (t.includes('broadcast')) return 'broadcast';
    if (t.includes('barrier')) return 'barrier';
    if (t.includes('sendrecv')) return 'send';
    if (t.includes('recv') || t.includes('receive')) return 'recv';
    if (t.includes('send')) return 'send';
    if (t.includes('gather')) return 'gather';
    if (t.includes('scatter')) return 'scatter';
    if (t.includes('reduce')) return 'reduce';
    return undefined;
  };
  return of(collective) ?? of(kernel.replace(/\(.*$/, '')) ?? 'other';
}

/** nccl-tests' bus bandwidth factor for n ranks (doc/PERFORMANCE.md); null when it defines none. */
export function busFactor(type: CollectiveType, n: number): number | null {
  switch (type) {
    case 'all_reduce': return (2 * (n - 1)) / n;
    case 'all_gather': case 'reduce_scatter': case 'all_to_all': return (n - 1) / n;
    case 'broadcast': case 'reduce': case 'send': case 'recv': return 1;
    default: return null;
  }
}

/** Bytes per element of the `dtype` names PyTorch writes (c10 ScalarType names). */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  Double: 8, Float: 4, Half: 2, BFloat16: 2, Long: 8, Int: 4, Short: 2, Char: 1, Byte: 1, Bool: 1,
  ComplexFloat: 8, ComplexDouble: 16, ComplexHalf: 4, UInt16: 2, UInt32: 4, UInt64: 8,
  Float8_e4m3fn: 1, Float8_e5m2: 1, Float8_e4m3fnuz: 1, Float8_e5m2fnuz: 1, Float8_e8m0fnu: 1,
};

/** The full message size in bytes (see the file comment); null when a count or the dtype is unknown. */
export function messageBytes(type: CollectiveType, a: CollectiveArgs | undefined): number | null {
  if (!a || a.dtype === null) return null;
  const size = DTYPE_BYTES[a.dtype];
  if (size === undefined) return null;
  const n = type === 'all_gather' ? a.outNelems ?? a.inNelems : a.inNelems ?? a.outNelems;
  return n === null ? null : n * size;
}

/** One rank's part of an instance (ns on the common clock: from the earliest rank's origin). */
export interface InstanceMember {
  rank: number;
  start: number;
  end: number;
  /** Sum of the kernel durations (one kernel usually). */
  dur: number;
}

export interface CollectiveInstance {
  /** Index into `groups`. */
  group: number;
  /** `Seq`, or the position in the group on each rank (0-based). */
  seq: number;
  type: CollectiveType;
  bytes: number | null;
  dtype: string | null;
  /** Split sizes (rows along dim 0) per member rank (all-to-all), when recorded, and each member's `In msg nelems`. */
  inSplit: (number[] | null)[];
  inNelems: (number | null)[];
  members: InstanceMember[];
  /** Every rank of the group took part (only then latency, skew, bandwidth exist). */
  complete: boolean;
}

export interface PairedGroup {
  /** `Process Group Name` ('' when the trace names none). */
  name: string;
  desc: string;
  /** Global ranks of the group (`Process Group Ranks`), when recorded. */
  globalRanks: number[] | null;
  /** Group size (`Group size`, else the ranks listed, else the inputs that have it). */
  size: number;
  /** Inputs (indices into the ranks) that have kernels of this group. */
  members: number[];
  /** Kernels per member (same order). */
  counts: number[];
  pairedBy: 'seq' | 'order';
  instances: number;
  complete: number;
}

export interface Pairing {
  groups: PairedGroup[];
  instances: CollectiveInstance[];
  diagnostics: DiagnosticEntry[];
}

interface Entry { start: number; end: number; dur: number; args: CollectiveArgs | undefined; kernel: string }

const groupKey = (a: CollectiveArgs | undefined): string => (a ? `${a.group}\u0000${a.groupRanks?.join(',') ?? ''}` : '\u0000');

/**
 * HCCL op names carry their group and index: `hcom_allReduce__586_0_1` is the op with index 0
 * in the group whose hash ends in 586 (docs ASCEND.md §3); torch_npu writes the same name on
 * every rank, so NPU collectives pair by (group, index) without args.
 */
const HCOM = /^hcom_([A-Za-z]+)_+(\d+)_(\d+)_\d+$/;

/** Args of an HCCL op: group `hcom:<hash suffix>` and seq = index from its name, count and dtype from its slice. */
function hcomArgs(kernel: string, a: CollectiveArgs | undefined, sizes: ReadonlyMap<string, number> | undefined): CollectiveArgs | undefined {
  const m = HCOM.exec(kernel);
  if (!m || (a && a.group !== '')) return a;
  return {
    collective: m[1]!, group: `hcom:${m[2]!}`, groupDesc: '', groupRanks: null, groupSize: sizes?.get(m[2]!) ?? null,
    inNelems: a?.inNelems ?? null, outNelems: a?.outNelems ?? null, dtype: a?.dtype ?? null, seq: Number(m[3]), inSplit: null, outSplit: null,
  };
}

/** Pairs the communication kernels of the ranks into collective instances (see the file comment). */
export function pairCollectives(ranks: readonly RankData[], cats: Categorizer, opts: { hcomGroupSizes?: ReadonlyMap<string, number> } = {}): Pairing {
  const diags = new Diagnostics();
  const origin0 = ranks.reduce<bigint | undefined>((m, r) => (m === undefined || r.records.originNs < m ? r.records.originNs : m), undefined) ?? 0n;
  // per rank: group key -> entries sorted by start
  const perRank = ranks.map((rank) => {
    const r = rank.records;
    const d = r.device;
    const offset = Number(r.originNs - origin0);
    const m = new Map<string, Entry[]>();
    for (let i = 0; i < d.count; i++) {
      if (d.category[i] !== cats.communication) continue;
      const c = d.coll[i]!;
      const args = hcomArgs(r.names[d.name[i]!] ?? '', c >= 0 ? r.collectives[c] : undefined, opts.hcomGroupSizes);
      const g = args ? groupKey(args) : d.group[i]! >= 0 ? `${r.groups[d.group[i]!]!}\u0000` : '\u0000';
      let l = m.get(g);
      if (!l) m.set(g, (l = []));
      const start = d.start[i]! + offset;
      l.push({ start, end: start + d.dur[i]!, dur: d.dur[i]!, args, kernel: r.names[d.name[i]!] ?? '' });
    }
    for (const l of m.values()) l.sort((a, b) => a.start - b.start);
    return m;
  });
  const keys = [...new Set(perRank.flatMap((m) => [...m.keys()]))].sort();
  const groups: PairedGroup[] = [];
  const instances: CollectiveInstance[] = [];
  for (const key of keys) {
    const members = ranks.map((_, k) => k).filter((k) => (perRank[k]!.get(key)?.length ?? 0) > 0);
    const lists = members.map((k) => perRank[k]!.get(key)!);
    const first = lists[0]![0]!.args;
    const bySeq = lists.every((l) => l.every((e) => e.args?.seq != null));
    const size = first?.groupSize ?? first?.groupRanks?.length ?? members.length;
    const gi = groups.length;
    // instances by key: seq, or position
    const byKey = new Map<number, Map<number, Entry[]>>();
    lists.forEach((l, m) => {
      l.forEach((e, pos) => {
        const s = bySeq ? e.args!.seq! : pos;
        let x = byKey.get(s);
        if (!x) byKey.set(s, (x = new Map()));
        let y = x.get(members[m]!);
        if (!y) x.set(members[m]!, (y = []));
        y.push(e);
      });
    });
    let complete = 0;
    for (const s of [...byKey.keys()].sort((a, b) => a - b)) {
      const parts = byKey.get(s)!;
      const ms: InstanceMember[] = [];
      const splits: (number[] | null)[] = [];
      const nelems: (number | null)[] = [];
      let args: CollectiveArgs | undefined;
      let kernel = '';
      let bytes: number | null | undefined;
      let mismatch = false;
      for (const [k, es] of [...parts].sort((a, b) => a[0] - b[0])) {
        let st = Infinity, en = -Infinity, du = 0;
        for (const e of es) { st = Math.min(st, e.start); en = Math.max(en, e.end); du += e.dur; }
        ms.push({ rank: k, start: st, end: en, dur: du });
        const a = es[0]!.args;
        splits.push(a?.inSplit ?? null);
        nelems.push(a?.inNelems ?? null);
        args ??= a;
        if (kernel === '') kernel = es[0]!.kernel;
        const b = messageBytes(collectiveType(a?.collective ?? '', es[0]!.kernel), a);
        if (bytes === undefined) bytes = b;
        else if (b !== bytes) mismatch = true;
      }
      const type = collectiveType(args?.collective ?? '', kernel);
      // all-to-all(v) ranks send different amounts by design: no single message size, no bandwidth
      if (mismatch && type !== 'all_to_all') diags.add('collective_size_mismatch', { file: ranks[ms[0]!.rank]!.file, index: -1, name: args?.collective ?? kernel, detail: `group ${first?.group ?? ''}, seq ${s}` });
      if (mismatch) bytes = null;
      if (bytes == null && args && args.dtype !== null && DTYPE_BYTES[args.dtype] === undefined) {
        diags.add('collective_dtype_unknown', { file: ranks[ms[0]!.rank]!.file, index: -1, name: args.dtype, detail: `${args.collective || kernel}` });
      }
      const isComplete = ms.length === size && size > 1;
      if (isComplete) complete++;
      instances.push({ group: gi, seq: s, type, bytes: bytes ?? null, dtype: args?.dtype ?? null, inSplit: splits, inNelems: nelems, members: ms, complete: isComplete });
    }
    const n = byKey.size - complete;
    if (n > 0 && size > 1) {
      diags.add('collective_unpaired', {
        file: ranks[members[0]!]!.file, index: -1, name: first?.group ?? '',
        detail: `process group ${first?.group || '(unnamed)'} has ${size} ranks, ${members.length} in the input; ${n} of ${byKey.size} instances lack a rank`,
      }, n);
    }
    groups.push({
      name: first?.group ?? '', desc: first?.groupDesc ?? '', globalRanks: first?.groupRanks ?? null, size,
      members, counts: lists.map((l) => l.length), pairedBy: bySeq ? 'seq' : 'order', instances: byKey.size, complete,
    });
  }
  return { groups, instances, diagnostics: diags.list() };
}

// ---------------------------------------------------------------------------------------------
// The comm view: rows per (group, collective type, message size)

const us = (ns: number): number => Math.round(ns) / 1000;
const gbps = (bytes: number, ns: number): number => Math.round((bytes / ns) * 1000) / 1000;

export interface CommRow {
  /** Process group (name, and description when recorded). */
  group: string;
  collective: CollectiveType;
  dtype: string | null;
  /** Full message size in bytes (null when not recorded). */
  bytes: number | null;
  /** Ranks in the group. */
  ranks: number;
  /** Instances, and the ones seen on every rank of the group. */
  calls: number;
  complete: number;
  /** Median kernel duration per input rank (null where the rank is not in the group). */
  durationUs: (number | null)[];
  /** Median over complete instances of the shortest duration across ranks. */
  latencyUs: number | null;
  algbwGBs: number | null;
  busbwGBs: number | null;
  startSkewMedianUs: number | null;
  startSkewMaxUs: number | null;
  /** The rank that started last in the instance with the largest start skew. */
  startSkewMaxRank: string | null;
  endSkewMedianUs: number | null;
  endSkewMaxUs: number | null;
  endSkewMaxRank: string | null;
  /** Total waiting (latest start − own start) per input rank over complete instances. */
  waitUs: (number | null)[];
}

export interface CommRankTotals {
  label: string;
  /** Collectives of this rank that were paired with every other participant. */
  collectives: number;
  /** How often it started last. */
  lastArrivals: number;
  /** Median and total of (its start − the earliest start) over the collectives it was last in. */
  medianLatenessUs: number | null;
  totalLatenessUs: number;
  /** Total and median of (latest start − its start) over all its paired collectives. */
  waitUs: number;
  medianWaitUs: number | null;
}

/** One complete instance for the lateness heatmap: per input rank, start − earliest start (null: not a member). */
export interface CommInstanceRow {
  group: string;
  seq: number;
  collective: CollectiveType;
  bytes: number | null;
  lateUs: (number | null)[];
}

/** All-to-all bytes sent from each rank (rows) to each rank (columns), summed over the instances of a group. */
export interface CommPairBytes {
  group: string;
  /** Global ranks, in matrix order. */
  ranks: number[];
  /** Input label per global rank ('' when not in the input). */
  labels: string[];
  bytes: number[][];
  instances: number;
}

export interface CommCollectives {
  ranks: string[];
  groups: (Omit<PairedGroup, 'members'> & { members: string[] })[];
  rows: CommRow[];
  perRank: CommRankTotals[];
  straggler: string | null;
  mostWaiting: string | null;
  /** Median start skew over all complete instances. */
  medianSkewUs: number | null;
  instances: CommInstanceRow[];
  pairBytes: CommPairBytes[];
}

const groupLabel = (g: PairedGroup): string => (g.desc && g.desc !== g.name ? `${g.name || '(unnamed)'} (${g.desc})` : g.name || '(unnamed)');

export function commCollectives(ranks: readonly RankData[], p: Pairing): CommCollectives {
  const labels = ranks.map((r) => r.label);
  const rowMap = new Map<string, { g: PairedGroup; list: CollectiveInstance[] }>();
  for (const inst of p.instances) {
    const g = p.groups[inst.group]!;
    const key = `${inst.group}\u0000${inst.type}\u0000${inst.dtype}\u0000${inst.bytes}`;
    let x = rowMap.get(key);
    if (!x) rowMap.set(key, (x = { g, list: [] }));
    x.list.push(inst);
  }
  const late = ranks.map(() => [] as number[]);
  const waits = ranks.map(() => [] as number[]);
  const allSkews: number[] = [];
  const rows: CommRow[] = [];
  for (const { g, list } of rowMap.values()) {
    const first = list[0]!;
    const durs = ranks.map(() => [] as number[]);
    const wait: (number | null)[] = ranks.map((_, k) => (g.members.includes(k) ? 0 : null));
    const lat: number[] = [];
    const ss: { v: number; who: number }[] = [];
    const es: { v: number; who: number }[] = [];
    for (const inst of list) {
      for (const m of inst.members) durs[m.rank]!.push(m.dur);
      if (!inst.complete) continue;
      let minDur = Infinity, s0 = Infinity, s1 = -Infinity, e0 = Infinity, e1 = -Infinity, lastS = -1, lastE = -1;
      for (const m of inst.members) {
        minDur = Math.min(minDur, m.dur);
        s0 = Math.min(s0, m.start);
        e0 = Math.min(e0, m.end);
        if (m.start > s1) { s1 = m.start; lastS = m.rank; }
        if (m.end > e1) { e1 = m.end; lastE = m.rank; }
      }
      lat.push(minDur);
      ss.push({ v: s1 - s0, who: lastS });
      es.push({ v: e1 - e0, who: lastE });
      allSkews.push(s1 - s0);
      late[lastS]!.push(s1 - s0);
      for (const m of inst.members) { wait[m.rank] = wait[m.rank]! + (s1 - m.start); waits[m.rank]!.push(s1 - m.start); }
    }
    const latency = lat.length > 0 ? medianOf(lat) : null;
    const factor = busFactor(first.type, g.size);
    const algbw = latency !== null && latency > 0 && first.bytes !== null ? first.bytes / latency : null;
    const maxOf = (l: { v: number; who: number }[]): { v: number; who: number } | undefined => l.reduce<{ v: number; who: number } | undefined>((a, b) => (!a || b.v > a.v ? b : a), undefined);
    const sMax = maxOf(ss);
    const eMax = maxOf(es);
    rows.push({
      group: groupLabel(g), collective: first.type, dtype: first.dtype, bytes: first.bytes, ranks: g.size,
      calls: list.length, complete: lat.length,
      durationUs: durs.map((d) => (d.length > 0 ? us(medianOf(d)) : null)),
      latencyUs: latency !== null ? us(latency) : null,
      algbwGBs: algbw !== null ? gbps(first.bytes!, latency!) : null,
      busbwGBs: algbw !== null && factor !== null ? Math.round(algbw * factor * 1000) / 1000 : null,
      startSkewMedianUs: ss.length > 0 ? us(medianOf(ss.map((x) => x.v))) : null,
      startSkewMaxUs: sMax ? us(sMax.v) : null,
      startSkewMaxRank: sMax ? labels[sMax.who]! : null,
      endSkewMedianUs: es.length > 0 ? us(medianOf(es.map((x) => x.v))) : null,
      endSkewMaxUs: eMax ? us(eMax.v) : null,
      endSkewMaxRank: eMax ? labels[eMax.who]! : null,
      waitUs: wait.map((w) => (w === null || lat.length === 0 ? null : us(w))),
    });
  }
  rows.sort((a, b) => (b.latencyUs ?? -1) * b.complete - (a.latencyUs ?? -1) * a.complete || b.calls - a.calls);
  const sum = (l: number[]): number => l.reduce((a, b) => a + b, 0);
  const perRank: CommRankTotals[] = ranks.map((rank, k) => ({
    label: rank.label,
    collectives: waits[k]!.length,
    lastArrivals: late[k]!.length,
    medianLatenessUs: late[k]!.length > 0 ? us(medianOf(late[k]!)) : null,
    totalLatenessUs: us(sum(late[k]!)),
    waitUs: us(sum(waits[k]!)),
    medianWaitUs: waits[k]!.length > 0 ? us(medianOf(waits[k]!)) : null,
  }));
  const pick = (score: (r: CommRankTotals) => number): string | null => {
    let best: CommRankTotals | undefined;
    for (const r of perRank) if (score(r) > 0 && (!best || score(r) > score(best))) best = r;
    return best?.label ?? null;
  };
  const timed: { s0: number; row: CommInstanceRow }[] = [];
  for (const inst of p.instances) {
    if (!inst.complete) continue;
    const s0 = Math.min(...inst.members.map((m) => m.start));
    const lateUs: (number | null)[] = ranks.map(() => null);
    for (const m of inst.members) lateUs[m.rank] = us(m.start - s0);
    timed.push({ s0, row: { group: groupLabel(p.groups[inst.group]!), seq: inst.seq, collective: inst.type, bytes: inst.bytes, lateUs } });
  }
  const instances = timed.sort((a, b) => a.s0 - b.s0).map((t) => t.row);
  return {
    ranks: labels,
    groups: p.groups.map((g) => ({ ...g, members: g.members.map((k) => labels[k]!) })),
    rows, perRank,
    straggler: ranks.length > 1 ? pick((r) => r.totalLatenessUs) : null,
    mostWaiting: ranks.length > 1 ? pick((r) => r.waitUs) : null,
    medianSkewUs: allSkews.length > 0 ? us(medianOf(allSkews)) : null,
    instances,
    pairBytes: pairBytesOf(ranks, p),
  };
}

/**
 * All-to-all traffic per rank pair: `In split size` lists the rows (along dim 0) the member rank
 * sends to each rank of the group, in group order (TraceLens `_parse_split_sizes`); a row holds
 * `In msg nelems` / Σ splits elements, so rank → j gets split[j] × that × dtype size bytes.
 * Only instances whose splits were recorded count.
 */
function pairBytesOf(ranks: readonly RankData[], p: Pairing): CommPairBytes[] {
  const out: CommPairBytes[] = [];
  p.groups.forEach((g, gi) => {
    const list = p.instances.filter((i) => i.group === gi && i.type === 'all_to_all' && i.inSplit.some((s) => s !== null));
    if (list.length === 0 || !g.globalRanks) return;
    const n = g.globalRanks.length;
    const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    let used = 0;
    for (const inst of list) {
      const size = inst.dtype !== null ? DTYPE_BYTES[inst.dtype] : undefined;
      if (size === undefined) continue;
      used++;
      inst.members.forEach((mem, j) => {
        const split = inst.inSplit[j];
        const total = inst.inNelems[j];
        const src = g.globalRanks!.indexOf(ranks[mem.rank]!.rank ?? -1);
        if (!split || total === null || total === undefined || src < 0 || split.length !== n) return;
        const rows = split.reduce((a, b) => a + b, 0);
        if (rows <= 0) return;
        for (let d = 0; d < n; d++) m[src]![d]! += (split[d]! * total * size) / rows;
      });
    }
    if (used === 0) return;
    const byRank = new Map(ranks.map((r) => [r.rank, r.label]));
    out.push({ group: groupLabel(g), ranks: g.globalRanks, labels: g.globalRanks.map((r) => byRank.get(r) ?? ''), bytes: m, instances: used });
  });
  return out;
}
