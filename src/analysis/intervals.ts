/**
 * Unions of time intervals (busy time without double counting overlapping kernels), their
 * intersections and clipping to windows. Times are ns as doubles; intervals are half-open
 * [start, end).
 */

/** Disjoint, sorted, non-touching segments and their total length. */
export interface Segments {
  start: Float64Array;
  end: Float64Array;
  total: number;
}

export const EMPTY_SEGMENTS: Segments = { start: new Float64Array(0), end: new Float64Array(0), total: 0 };

/**
 * The union of the intervals [starts[i], ends[i]) as segments. Starts and ends are sorted
 * separately (typed-array sorts, no index arrays): at any time t, the number of intervals
 * holding t is #(starts <= t) - #(ends <= t), so a sweep over the two sorted lists finds where
 * that count is positive. Empty intervals (end <= start) are ignored. Inputs are not modified.
 */
export function unionOf(starts: Float64Array, ends: Float64Array): Segments {
  const n = starts.length;
  const s = new Float64Array(n);
  const e = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const a = starts[i]!;
    const b = ends[i]!;
    if (b > a) { s[m] = a; e[m] = b; m++; }
  }
  const ss = s.subarray(0, m).sort();
  const es = e.subarray(0, m).sort();
  const outS = new Float64Array(m);
  const outE = new Float64Array(m);
  let k = 0;
  let i = 0;
  let j = 0;
  let active = 0;
  let total = 0;
  let open = 0;
  while (i < m) {
    const a = ss[i]!;
    const b = es[j]!;
    // starts first on ties: [a,b) and [b,c) join into one segment
    if (a <= b) {
      if (active === 0) open = a;
      active++;
      i++;
    } else {
      active--;
      if (active === 0) { outS[k] = open; outE[k] = b; k++; total += b - open; }
      j++;
    }
  }
  if (m > 0) {
    // all starts consumed: the last open segment ends at the largest end
    const last = es[m - 1]!;
    outS[k] = open;
    outE[k] = last;
    k++;
    total += last - open;
  }
  return { start: outS.slice(0, k), end: outE.slice(0, k), total };
}

/** Total length of the intersection of two segment lists. */
export function intersectionTotal(a: Segments, b: Segments): number {
  let i = 0;
  let j = 0;
  let total = 0;
  const na = a.start.length;
  const nb = b.start.length;
  while (i < na && j < nb) {
    const lo = Math.max(a.start[i]!, b.start[j]!);
    const hi = Math.min(a.end[i]!, b.end[j]!);
    if (hi > lo) total += hi - lo;
    if (a.end[i]! < b.end[j]!) i++; else j++;
  }
  return total;
}

/** First segment index whose end is after t. */
function firstEndingAfter(seg: Segments, t: number): number {
  let lo = 0;
  let hi = seg.end.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (seg.end[mid]! <= t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Length of the part of `seg` inside [lo, hi). */
export function clippedTotal(seg: Segments, lo: number, hi: number): number {
  let total = 0;
  for (let i = firstEndingAfter(seg, lo); i < seg.start.length; i++) {
    const s = seg.start[i]!;
    if (s >= hi) break;
    total += Math.min(hi, seg.end[i]!) - Math.max(lo, s);
  }
  return total;
}

/** Sum of a list of segment totals. */
export function totalOf(list: readonly Segments[]): number {
  let t = 0;
  for (const s of list) t += s.total;
  return t;
}
