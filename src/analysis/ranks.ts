/**
 * Ranks side by side: totals, per kernel the spread across ranks, and collectives paired across
 * ranks to find who arrives last (the straggler) and who waits.
 *
 * Pairing: the communication kernels of each rank are ordered by start and split by process
 * group (`Process Group Name` in the kernel args; one group when absent); the n-th kernel of a
 * group on one rank is paired with the n-th of that group on every other rank that has it.
 * A collective cannot finish before its last participant arrives, so for each pair the rank
 * that starts last is late by (its start − the earliest start), and every rank waits
 * (the latest start − its own start). Ranks are put on one clock with each file's
 * `baseTimeNanoseconds`; across hosts that is only as good as the hosts' clock sync.
 */
import type { Categorizer } from './categories.js';
import { durationsByName, medianOf } from './kernels.js';
import type { RankSummary } from './summary.js';
import type { RankData } from './timeline.js';

export interface RankTotals {
  label: string;
  rank: number | null;
  spanUs: number;
  busyUs: number;
  computeUs: number;
  communicationUs: number;
  exposedCommunicationUs: number;
  kernels: number;
  /** Total time this rank's collectives waited for the last participant. */
  collectiveWaitUs: number;
}

export interface KernelAcrossRanks {
  name: string;
  category: string;
  /** Total time per rank, in `ranks` order (0 where the rank never ran it). */
  totalsUs: number[];
  calls: number[];
  minUs: number;
  minRank: string;
  maxUs: number;
  maxRank: string;
  spreadUs: number;
}

export interface CollectiveRank {
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

export interface CollectiveGroup {
  /** Process group name ('' when the trace does not name groups). */
  group: string;
  ranks: string[];
  /** Kernels per rank (same order as `ranks`). */
  counts: number[];
  paired: number;
}

export interface CollectiveSummary {
  paired: number;
  groups: CollectiveGroup[];
  perRank: CollectiveRank[];
  /** The rank that arrives last most (by total lateness), and the one that waits most. */
  straggler: string | null;
  mostWaiting: string | null;
  /** Median over all paired collectives of (latest − earliest start). */
  medianLatenessUs: number | null;
}

export interface RankComparison {
  ranks: string[];
  totals: RankTotals[];
  kernels: KernelAcrossRanks[];
  collectives: CollectiveSummary;
}

const us = (ns: number): number => Math.round(ns) / 1000;

function kernelsAcross(ranks: readonly RankData[], cats: Categorizer): KernelAcrossRanks[] {
  const labels = ranks.map((r) => r.label);
  const per = ranks.map((r) => durationsByName([r]));
  const names = new Map<string, number>();
  per.forEach((m) => { for (const [name, v] of m) if (!names.has(name)) names.set(name, v.category); });
  const out: KernelAcrossRanks[] = [];
  for (const [name, category] of names) {
    const totals: number[] = [];
    const calls: number[] = [];
    for (const m of per) {
      const d = m.get(name)?.durations;
      let t = 0;
      if (d) for (let i = 0; i < d.length; i++) t += d[i]!;
      totals.push(t);
      calls.push(d?.length ?? 0);
    }
    let lo = 0;
    let hi = 0;
    totals.forEach((t, k) => { if (t < totals[lo]!) lo = k; if (t > totals[hi]!) hi = k; });
    out.push({
      name, category: cats.names[category] ?? 'other',
      totalsUs: totals.map(us), calls,
      minUs: us(totals[lo]!), minRank: labels[lo]!, maxUs: us(totals[hi]!), maxRank: labels[hi]!,
      spreadUs: us(totals[hi]! - totals[lo]!),
    });
  }
  return out.sort((a, b) => b.spreadUs - a.spreadUs || b.maxUs - a.maxUs);
}

function collectives(ranks: readonly RankData[], cats: Categorizer): CollectiveSummary {
  const origin0 = ranks[0]?.records.originNs ?? 0n;
  // per rank: group name -> absolute starts (ns from rank 0's origin), sorted
  const byGroup = ranks.map((rank) => {
    const r = rank.records;
    const d = r.device;
    const offset = Number(r.originNs - origin0);
    const m = new Map<string, number[]>();
    for (let i = 0; i < d.count; i++) {
      if (d.category[i] !== cats.communication) continue;
      const g = d.group[i]! >= 0 ? r.groups[d.group[i]!]! : '';
      let l = m.get(g);
      if (!l) m.set(g, (l = []));
      l.push(d.start[i]! + offset);
    }
    for (const l of m.values()) l.sort((a, b) => a - b);
    return m;
  });
  const groupNames = [...new Set(byGroup.flatMap((m) => [...m.keys()]))].sort();
  const late = ranks.map(() => [] as number[]);
  const waits = ranks.map(() => [] as number[]);
  const spreads: number[] = [];
  const groups: CollectiveGroup[] = [];
  let paired = 0;
  for (const g of groupNames) {
    const members = ranks.map((_, k) => k).filter((k) => (byGroup[k]!.get(g)?.length ?? 0) > 0);
    const lists = members.map((k) => byGroup[k]!.get(g)!);
    const n = members.length > 1 ? Math.min(...lists.map((l) => l.length)) : 0;
    groups.push({ group: g, ranks: members.map((k) => ranks[k]!.label), counts: lists.map((l) => l.length), paired: n });
    paired += n;
    for (let j = 0; j < n; j++) {
      let first = Infinity;
      let last = -Infinity;
      let who = -1;
      for (let m = 0; m < members.length; m++) {
        const t = lists[m]![j]!;
        if (t < first) first = t;
        if (t > last) { last = t; who = members[m]!; }
      }
      spreads.push(last - first);
      late[who]!.push(last - first);
      for (let m = 0; m < members.length; m++) waits[members[m]!]!.push(last - lists[m]![j]!);
    }
  }
  const sum = (l: number[]): number => l.reduce((a, b) => a + b, 0);
  const perRank: CollectiveRank[] = ranks.map((rank, k) => ({
    label: rank.label,
    collectives: waits[k]!.length,
    lastArrivals: late[k]!.length,
    medianLatenessUs: late[k]!.length > 0 ? us(medianOf(late[k]!)) : null,
    totalLatenessUs: us(sum(late[k]!)),
    waitUs: us(sum(waits[k]!)),
    medianWaitUs: waits[k]!.length > 0 ? us(medianOf(waits[k]!)) : null,
  }));
  const pick = (score: (r: CollectiveRank) => number): string | null => {
    let best: CollectiveRank | undefined;
    for (const r of perRank) if (score(r) > 0 && (!best || score(r) > score(best))) best = r;
    return best?.label ?? null;
  };
  return {
    paired, groups, perRank,
    straggler: ranks.length > 1 ? pick((r) => r.totalLatenessUs) : null,
    mostWaiting: ranks.length > 1 ? pick((r) => r.waitUs) : null,
    medianLatenessUs: spreads.length > 0 ? us(medianOf(spreads)) : null,
  };
}

export function compareRanks(ranks: readonly RankData[], summaries: readonly RankSummary[], cats: Categorizer): RankComparison {
  const coll = collectives(ranks, cats);
  return {
    ranks: ranks.map((r) => r.label),
    totals: summaries.map((s, k) => ({
      label: s.label, rank: s.rank, spanUs: s.spanUs, busyUs: s.busyUs, computeUs: s.computeUs,
      communicationUs: s.communicationUs, exposedCommunicationUs: s.exposedCommunicationUs, kernels: s.kernels,
      collectiveWaitUs: coll.perRank[k]?.waitUs ?? 0,
    })),
    kernels: kernelsAcross(ranks, cats),
    collectives: coll,
  };
}
