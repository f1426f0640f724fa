/**
 * Exposed communication: how much of a rank's communication time runs under compute kernels
 * on other streams (hidden) and how much does not (exposed), per step and over the whole
 * trace; and which compute kernels run slower while communication runs beside them.
 *
 * Per device: communication = the union of its communication kernels, compute = the union of
 * its compute kernels (categories other than communication, memcpy, memset); hidden =
 * communication ∩ compute, exposed = communication − hidden (HTA's comm/comp overlap and
 * msprof-analyze's "Communication(Not Overlapped)" are the same split). Steps are the step
 * annotations of the step view (GPU mirror when recorded, else the CPU range), clipped.
 * Inflation: a compute kernel counts as overlapped when any part of it runs while a
 * communication kernel of its device runs; per kernel name, the median duration overlapped
 * and not.
 */
import type { Categorizer } from './categories.js';
import { clippedTotal, type Segments } from './intervals.js';
import { medianOf } from './kernels.js';
import type { RankData, RankTimeline } from './timeline.js';

const us = (ns: number): number => Math.round(ns) / 1000;

/** The intersection of two sorted, disjoint segment lists. */
export function intersectionOf(a: Segments, b: Segments): Segments {
  const s: number[] = [];
  const e: number[] = [];
  let total = 0;
  let i = 0, j = 0;
  while (i < a.start.length && j < b.start.length) {
    const lo = Math.max(a.start[i]!, b.start[j]!);
    const hi = Math.min(a.end[i]!, b.end[j]!);
    if (hi > lo) { s.push(lo); e.push(hi); total += hi - lo; }
    if (a.end[i]! < b.end[j]!) i++; else j++;
  }
  return { start: Float64Array.from(s), end: Float64Array.from(e), total };
}

export interface CommPhase {
  label: string;
  /** `all` (the whole trace) or the step's name. */
  phase: string;
  communicationUs: number;
  hiddenUs: number;
  exposedUs: number;
}

export interface KernelInflation {
  name: string;
  overlappedCalls: number;
  aloneCalls: number;
  /** Median duration while communication runs on the device, and while it does not. */
  overlappedMedianUs: number;
  aloneMedianUs: number;
  /** overlapped / alone median. */
  inflation: number;
}

/** Whole-trace and per-step communication, hidden and exposed, of one rank. */
export function commPhases(rank: RankData, t: RankTimeline, steps: RegExp): CommPhase[] {
  const hidden = t.devices.map((d) => intersectionOf(d.communication, d.compute));
  const at = (phase: string, lo: number, hi: number): CommPhase => {
    let c = 0, h = 0;
    t.devices.forEach((d, k) => { c += clippedTotal(d.communication, lo, hi); h += clippedTotal(hidden[k]!, lo, hi); });
    return { label: rank.label, phase, communicationUs: us(c), hiddenUs: us(h), exposedUs: us(c - h) };
  };
  const out = [at('all', -Infinity, Infinity)];
  const anns = rank.records.annotations.filter((a) => steps.test(a.name));
  const gpu = anns.filter((a) => a.gpu);
  for (const a of (gpu.length > 0 ? gpu : anns).sort((x, y) => x.start - y.start)) out.push(at(a.name, a.start, a.start + a.dur));
  return out;
}

/** Compute kernels of all ranks, overlapped with communication vs not; the `top` most inflated by total extra time. */
export function kernelInflation(ranks: readonly RankData[], timelines: readonly RankTimeline[], cats: Categorizer, top = 20): KernelInflation[] {
  const by = new Map<string, { on: number[]; off: number[] }>();
  ranks.forEach((rank, k) => {
    const r = rank.records;
    const d = r.device;
    const comm = new Map(timelines[k]!.devices.map((dv) => [dv.pid, dv.communication]));
    for (let i = 0; i < d.count; i++) {
      if (!cats.isCompute(d.category[i]!)) continue;
      const seg = comm.get(d.pid[i]!);
      const a = d.start[i]!;
      const on = seg !== undefined && seg.total > 0 && clippedTotal(seg, a, a + d.dur[i]!) > 0;
      const name = r.names[d.name[i]!] ?? '';
      let x = by.get(name);
      if (!x) by.set(name, (x = { on: [], off: [] }));
      (on ? x.on : x.off).push(d.dur[i]!);
    }
  });
  const out: (KernelInflation & { extra: number })[] = [];
  for (const [name, x] of by) {
    if (x.on.length === 0 || x.off.length === 0) continue;
    const mOn = medianOf(x.on);
    const mOff = medianOf(x.off);
    if (mOff <= 0) continue;
    out.push({
      name, overlappedCalls: x.on.length, aloneCalls: x.off.length, overlappedMedianUs: us(mOn), aloneMedianUs: us(mOff),
      inflation: Math.round((mOn / mOff) * 1000) / 1000, extra: (mOn - mOff) * x.on.length,
    });
  }
  return out.sort((a, b) => b.extra - a.extra).slice(0, top).map(({ extra: _e, ...rest }) => rest);
}
