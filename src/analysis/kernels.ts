/**
 * Per kernel name and per category statistics over device activities (kernels, memcpy,
 * memset) of all ranks. Durations are kept per name in one typed array for exact medians.
 */
import type { Categorizer } from './categories.js';
import type { RankData } from './timeline.js';

export interface KernelStat {
  name: string;
  category: string;
  /** OP type (torch_npu kernel_details.csv `Type`), when recorded. */
  type?: string;
  calls: number;
  totalUs: number;
  meanUs: number;
  medianUs: number;
  minUs: number;
  maxUs: number;
  /** total / GPU busy time (of all ranks); shares of overlapping kernels can add up to more than 1. */
  share: number;
  /** When attributing: the op (`name [dims]`) and Python source with most of its time, their shares, and how many sources launch it. */
  op?: string;
  opShare?: number;
  source?: string;
  sourceShare?: number;
  sources?: number;
}

export interface CategoryStat {
  category: string;
  calls: number;
  /** Kernels (distinct names) in the category. */
  kernels: number;
  totalUs: number;
  share: number;
}

/** Median of sorted values (mean of the two middle ones for an even count); NaN when empty. */
export function medianOfSorted(v: Float64Array): number {
  const n = v.length;
  if (n === 0) return NaN;
  const m = n >> 1;
  return n % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

export function medianOf(values: ArrayLike<number>): number {
  return medianOfSorted(Float64Array.from(values).sort());
}

/** Durations (ns) per kernel name over all ranks; names in first-seen order. */
export function durationsByName(ranks: readonly RankData[]): Map<string, { category: number; durations: Float64Array }> {
  const parts = new Map<string, { category: number; list: Float64Array[]; n: number }>();
  for (const rank of ranks) {
    const r = rank.records;
    const d = r.device;
    // counting sort of durations by name id
    const count = new Int32Array(r.names.length);
    for (let i = 0; i < d.count; i++) count[d.name[i]!]!++;
    const offset = new Int32Array(r.names.length + 1);
    for (let k = 0; k < r.names.length; k++) offset[k + 1] = offset[k]! + count[k]!;
    const fill = offset.slice(0, r.names.length);
    const durs = new Float64Array(d.count);
    const cat = new Int32Array(r.names.length).fill(-1);
    for (let i = 0; i < d.count; i++) {
      const k = d.name[i]!;
      durs[fill[k]!++] = d.dur[i]!;
      if (cat[k] === -1) cat[k] = d.category[i]!;
    }
    for (let k = 0; k < r.names.length; k++) {
      if (count[k] === 0) continue;
      const name = r.names[k]!;
      const sub = durs.subarray(offset[k]!, offset[k + 1]!);
      const p = parts.get(name);
      if (p) { p.list.push(sub); p.n += sub.length; } else parts.set(name, { category: cat[k]!, list: [sub], n: sub.length });
    }
  }
  const out = new Map<string, { category: number; durations: Float64Array }>();
  for (const [name, p] of parts) {
    let all: Float64Array;
    if (p.list.length === 1) all = p.list[0]!;
    else {
      all = new Float64Array(p.n);
      let o = 0;
      for (const a of p.list) { all.set(a, o); o += a.length; }
    }
    out.set(name, { category: p.category, durations: all });
  }
  return out;
}

const us = (ns: number): number => Math.round(ns) / 1000;

/** Durations (ns) of one kernel name, with its category name and (NPU) OP type. */
export interface KernelDurations {
  category: string;
  type?: string | undefined;
  durations: Float64Array;
}

/** Kernel statistics, most total time first. `busyNs` is the GPU busy time the shares refer to. */
export function kernelStats(ranks: readonly RankData[], cats: Categorizer, busyNs: number): KernelStat[] {
  const groups: [string, KernelDurations][] = [];
  for (const [name, { category, durations }] of durationsByName(ranks)) groups.push([name, { category: cats.names[category] ?? 'other', durations }]);
  return kernelStatsOf(groups, busyNs);
}

/** Kernel statistics from durations grouped by name (each name once), most total time first. */
export function kernelStatsOf(groups: Iterable<readonly [string, KernelDurations]>, busyNs: number): KernelStat[] {
  const out: KernelStat[] = [];
  for (const [name, { category, type, durations }] of groups) {
    const sorted = durations.slice().sort();
    let total = 0;
    for (let i = 0; i < sorted.length; i++) total += sorted[i]!;
    const n = sorted.length;
    if (n === 0) continue;
    out.push({
      name,
      category,
      ...(type !== undefined ? { type } : {}),
      calls: n,
      totalUs: us(total),
      meanUs: us(total / n),
      medianUs: us(medianOfSorted(sorted)),
      minUs: us(sorted[0]!),
      maxUs: us(sorted[n - 1]!),
      share: busyNs > 0 ? total / busyNs : 0,
    });
  }
  return out.sort((a, b) => b.totalUs - a.totalUs || (a.name < b.name ? -1 : 1));
}

/** Sum of durations per category over the given ranks, in Categorizer order; empty ones left out. */
export function categoryStats(ranks: readonly RankData[], cats: Categorizer, busyNs: number): CategoryStat[] {
  const calls = new Float64Array(cats.names.length);
  const total = new Float64Array(cats.names.length);
  const kernels = cats.names.map(() => new Set<string>());
  for (const rank of ranks) {
    const r = rank.records;
    const d = r.device;
    const catOfName = new Int32Array(r.names.length).fill(-1);
    for (let i = 0; i < d.count; i++) {
      const c = d.category[i]!;
      calls[c]!++;
      total[c]! += d.dur[i]!;
      catOfName[d.name[i]!] = c;
    }
    catOfName.forEach((c, k) => { if (c >= 0) kernels[c]!.add(r.names[k]!); });
  }
  const out: CategoryStat[] = [];
  cats.names.forEach((category, c) => {
    if (calls[c] === 0) return;
    out.push({ category, calls: calls[c]!, kernels: kernels[c]!.size, totalUs: us(total[c]!), share: busyNs > 0 ? total[c]! / busyNs : 0 });
  });
  return out;
}
