/**
 * Per-iteration statistics from step annotations (`ProfilerStep#N`, or names matching
 * `--step REGEX`): wall time of the CPU annotation, and the GPU busy and communication time
 * inside the step's GPU window. The GPU window is the step's `gpu_user_annotation` (Kineto
 * mirrors an annotation onto the GPU, with the same `External id`, when kernels ran under it);
 * without one, the CPU window is used.
 */
import type { Annotation } from './collect.js';
import { clippedTotal } from './intervals.js';
import type { RankData, RankTimeline } from './timeline.js';

export const DEFAULT_STEP_PATTERN = /^ProfilerStep#\d+$/;

export interface StepStat {
  label: string;
  name: string;
  /** Position among the rank's steps (0-based). */
  index: number;
  /** Start of the step (CPU annotation, else GPU) in µs from the earliest event of all ranks. */
  startUs: number;
  /** Duration of the CPU annotation (null when only a GPU annotation exists). */
  wallUs: number | null;
  /** Duration of the GPU annotation (null when none). */
  gpuUs: number | null;
  /** Device activity and communication inside the GPU window (else the CPU window). */
  busyUs: number;
  communicationUs: number;
  /** Device activities starting inside the window. */
  kernels: number;
}

const us = (ns: number): number => Math.round(ns) / 1000;

function countStartsIn(sorted: Float64Array, lo: number, hi: number): number {
  const lower = (t: number): number => {
    let a = 0;
    let b = sorted.length;
    while (a < b) { const m = (a + b) >> 1; if (sorted[m]! < t) a = m + 1; else b = m; }
    return a;
  };
  return lower(hi) - lower(lo);
}

/** Steps: the annotations whose name matches `pattern`. `zeroNs`: the time (in this rank's clock) that start times are measured from. */
export function stepStats(rank: RankData, t: RankTimeline, pattern: RegExp = DEFAULT_STEP_PATTERN, zeroNs = Number.isFinite(t.spanStart) ? t.spanStart : 0): StepStat[] {
  const anns = rank.records.annotations.filter((a) => pattern.test(a.name));
  const cpu = anns.filter((a) => !a.gpu).sort((a, b) => a.start - b.start);
  const gpu = anns.filter((a) => a.gpu);
  const gpuByExt = new Map<number, Annotation>();
  const gpuByName = new Map<string, Annotation[]>();
  for (const g of gpu) {
    if (g.ext === g.ext) gpuByExt.set(g.ext, g);
    let l = gpuByName.get(g.name);
    if (!l) gpuByName.set(g.name, (l = []));
    l.push(g);
  }
  for (const l of gpuByName.values()) l.sort((a, b) => a.start - b.start);
  const used = new Set<Annotation>();
  const pairs: { cpu: Annotation | undefined; gpu: Annotation | undefined }[] = [];
  const nth = new Map<string, number>();
  for (const c of cpu) {
    let g = c.ext === c.ext ? gpuByExt.get(c.ext) : undefined;
    if (!g) {
      // no External id link: the n-th GPU annotation of the same name
      const k = nth.get(c.name) ?? 0;
      g = gpuByName.get(c.name)?.[k];
      nth.set(c.name, k + 1);
    }
    if (g && used.has(g)) g = undefined;
    if (g) used.add(g);
    pairs.push({ cpu: c, gpu: g });
  }
  if (cpu.length === 0) for (const g of [...gpu].sort((a, b) => a.start - b.start)) pairs.push({ cpu: undefined, gpu: g });
  const starts = rank.records.device.start.slice().sort();
  return pairs.map((p, index) => {
    const w = p.gpu ?? p.cpu!;
    const lo = w.start;
    const hi = w.start + w.dur;
    let busy = 0;
    let comm = 0;
    for (const d of t.devices) { busy += clippedTotal(d.busy, lo, hi); comm += clippedTotal(d.communication, lo, hi); }
    return {
      label: rank.label,
      name: (p.cpu ?? p.gpu)!.name,
      index,
      startUs: us((p.cpu ?? p.gpu)!.start - zeroNs),
      wallUs: p.cpu ? us(p.cpu.dur) : null,
      gpuUs: p.gpu ? us(p.gpu.dur) : null,
      busyUs: us(busy),
      communicationUs: us(comm),
      kernels: countStartsIn(starts, lo, hi),
    };
  });
}
