/**
 * Ranks side by side: totals, per kernel the spread across ranks, and collectives paired across
 * ranks to find who arrives last (the straggler) and who waits.
 *
 * Pairing (collectives.ts): by process group (`Process Group Name` and `Process Group Ranks`;
 * one group when absent) and `Seq` when recorded, else the position in the group on each rank.
 * A collective cannot finish before its last participant arrives, so for each pair the rank
 * that starts last is late by (its start − the earliest start), and every rank waits
 * (the latest start − its own start). Ranks are put on one clock with each file's
 * `baseTimeNanoseconds`; across hosts that is only as good as the hosts' clock sync.
 */
import type { Categorizer } from './categories.js';
import { commCollectives, pairCollectives, type CommRankTotals } from './collectives.js';
import { durationsByName } from './kernels.js';
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

/** Per rank: collectives paired with every other participant, last arrivals, lateness and waiting (collectives.ts). */
export type CollectiveRank = CommRankTotals;

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

/** The straggler table from the comm view's pairing (collectives.ts: by process group and Seq / order in the group). */
function collectives(ranks: readonly RankData[], cats: Categorizer): CollectiveSummary {
  const p = pairCollectives(ranks, cats);
  const c = commCollectives(ranks, p);
  return {
    paired: p.groups.reduce((a, g) => a + g.complete, 0),
    groups: c.groups.map((g) => ({ group: g.name, ranks: g.members, counts: g.counts, paired: g.complete })),
    perRank: c.perRank,
    straggler: c.straggler,
    mostWaiting: c.mostWaiting,
    medianLatenessUs: c.medianSkewUs,
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
