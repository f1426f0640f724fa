/**
 * GPU (NPU) utilization over time: per time bucket and rank, the share of the rank's device
 * capacity that was busy. Pure: computed from the ranks' timelines (timeline.ts), which
 * `statsOf` builds anyway.
 */
import { clippedTotal } from './intervals.js';
import type { RankData, RankTimeline } from './timeline.js';

export interface Utilization {
  /** Bucket width (the last bucket may be shorter: it ends at `endUs`). */
  bucketUs: number;
  /** Start of each bucket, µs from the earliest event of all ranks (the step view's zero). */
  startsUs: number[];
  endUs: number;
  /**
   * Per rank: its span (first to last event) on this clock, and per bucket busy / (devices ×
   * the part of the bucket inside the span), 0..1; null outside the span or without devices.
   */
  ranks: { label: string; devices: number; startUs: number | null; endUs: number | null; busy: (number | null)[] }[];
}

/**
 * A bucket width for about `most` buckets over `spanNs`: 1, 2 or 5 × 10^k ns, at least 1 µs.
 */
export function bucketWidthNs(spanNs: number, most: number): number {
  const raw = Math.max(1000, spanNs / Math.max(1, most));
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** One rank's device busy segments on the common clock (ns from the common zero). */
export interface BusyTimeline {
  label: string;
  timeline: RankTimeline;
  /** Added to the rank's times to put them on the common clock. */
  offsetNs: number;
}

/**
 * Busy fraction per bucket and rank: per bucket [lo, hi), the union of device activity summed
 * over the rank's devices, divided by devices × the part of [lo, hi) inside the rank's span
 * (its first to last event, as the summary's utilization). The last bucket ends at `endNs`.
 * Buckets outside the rank's span, and ranks without devices, get null.
 */
export function bucketBusy(ranks: readonly BusyTimeline[], endNs: number, widthNs: number): { startsNs: number[]; busy: (number | null)[][] } {
  const n = Math.max(1, Math.ceil(endNs / widthNs));
  const startsNs = Array.from({ length: n }, (_, b) => b * widthNs);
  const busy = ranks.map((r) => {
    const devices = r.timeline.devices;
    const from = r.timeline.spanStart + r.offsetNs;
    const to = r.timeline.spanEnd + r.offsetNs;
    return startsNs.map((start) => {
      const lo = Math.max(start, from);
      const hi = Math.min(start + widthNs, endNs, to);
      if (devices.length === 0 || !(hi > lo)) return null;
      let t = 0;
      for (const d of devices) t += clippedTotal(d.busy, lo - r.offsetNs, hi - r.offsetNs);
      return Math.round((t / (devices.length * (hi - lo))) * 1e4) / 1e4;
    });
  });
  return { startsNs, busy };
}

/**
 * The utilization series of the ranks, in about `most` buckets. Time 0 is the earliest event
 * of all ranks (absolute, through each rank's `originNs`), as in the step view. Null when no
 * rank has events or device activity.
 */
export function utilizationOf(ranks: readonly RankData[], timelines: readonly RankTimeline[], most: number): Utilization | null {
  let zero: bigint | undefined;
  ranks.forEach((r, k) => {
    const t = timelines[k]!;
    if (!Number.isFinite(t.spanStart)) return;
    const s = r.records.originNs + BigInt(Math.floor(t.spanStart));
    if (zero === undefined || s < zero) zero = s;
  });
  if (zero === undefined) return null;
  const z = zero;
  const tracks: BusyTimeline[] = ranks.map((r, k) => ({ label: r.label, timeline: timelines[k]!, offsetNs: Number(r.records.originNs - z) }));
  let end = 0;
  for (const t of tracks) if (Number.isFinite(t.timeline.spanEnd)) end = Math.max(end, t.timeline.spanEnd + t.offsetNs);
  if (!(end > 0) || tracks.every((t) => t.timeline.devices.length === 0)) return null;
  const width = bucketWidthNs(end, most);
  const { startsNs, busy } = bucketBusy(tracks, end, width);
  return {
    bucketUs: width / 1000,
    startsUs: startsNs.map((s) => s / 1000),
    endUs: Math.round(end) / 1000,
    ranks: tracks.map((t, k) => ({
      label: t.label, devices: t.timeline.devices.length,
      startUs: Number.isFinite(t.timeline.spanStart) ? Math.round(t.timeline.spanStart + t.offsetNs) / 1000 : null,
      endUs: Number.isFinite(t.timeline.spanEnd) ? Math.round(t.timeline.spanEnd + t.offsetNs) / 1000 : null,
      busy: busy[k]!,
    })),
  };
}
