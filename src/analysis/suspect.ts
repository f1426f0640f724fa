/**
 * Device slices whose duration cannot be real. Pure: plain typed arrays in, indices and reasons
 * out; no I/O, no trace types (used by `check`, `fix`, `merge`, and meant for `stats`).
 *
 * On one GPU stream device work runs in order. Programmatic dependent launch (PDL) and some
 * cuBLAS kernels let the next kernel start during the tail of the previous one, but that
 * dependent kernel ends after it: measured on every real trace of the corpus, no device slice
 * contains a later slice of its own stream entirely, and none runs past the start of more than
 * one later slice (docs/FORMATS-NOTES.md, "Suspect device durations"). ROCm traces are known to
 * carry kernels whose `dur` runs far past the next kernels of the stream (TraceLens #669; HTA's
 * `max_event_duration_us`). A slice is suspect when
 *
 *  - it contains at least `minContained` later slices of its stream entirely (start after its
 *    start, end at or before its end), or
 *  - its duration is more than `medianFactor` × the median duration of the other calls of the
 *    same name (at least `minOtherCalls` of them, on any stream) and it runs past the start of a
 *    later slice of its stream.
 *
 * "Later" means starting strictly after it: slices with the same start are not counted either
 * way (no real stream has them; hand-made traces do).
 *
 * All comparisons are exact on integer nanoseconds (the median of an even count is compared
 * doubled, never divided).
 */
import { sortIfNeeded } from '../model/order.js';

/** Device slices (kernels, copies, sets) as parallel arrays; index i is one slice. */
export interface DeviceSlices {
  /** Number of slices (the arrays may be longer; entries past `count` are ignored). */
  count: number;
  /** Start in integer ns, from any origin common to all slices. */
  start: ArrayLike<number>;
  /** Duration in integer ns (negative counts as 0). */
  dur: ArrayLike<number>;
  /** Index into `names` (calls of one kernel share it). */
  name: ArrayLike<number>;
  /** Stream id: slices with one id run on one stream (a trace's (pid, tid) track). */
  stream: ArrayLike<number>;
  /** Names by id; only used to word the reasons. */
  names: readonly string[];
}

export interface SuspectRules {
  /** Suspect when it entirely contains at least this many later slices of its stream. */
  minContained: number;
  /** Suspect when longer than this many times the median of the other calls of its name... */
  medianFactor: number;
  /** ...of which there are at least this many... */
  minOtherCalls: number;
  /** ...and it runs past the start of at least this many later slices of its stream. */
  minOverlappedForOutlier: number;
}

/** The thresholds, chosen with a wide margin over the real traces (see the module comment). */
export const SUSPECT_RULES: Readonly<SuspectRules> = Object.freeze({ minContained: 3, medianFactor: 10, minOtherCalls: 4, minOverlappedForOutlier: 1 });

/** Counting contained slices stops here (the count is then a lower bound). */
export const CONTAINED_SCAN_CAP = 100_000;

export interface SuspectSlice {
  /** Index into the input arrays. */
  index: number;
  /** Which rules it meets. */
  contains: boolean;
  outlier: boolean;
  /** Later slices of its stream that start before it ends. */
  overlappedLater: number;
  /** Later slices of its stream entirely inside it (a lower bound past CONTAINED_SCAN_CAP). */
  containedLater: number;
  /** Median duration (ns) of the other calls of its name, when there are minOtherCalls of them. */
  medianOthersNs: number | null;
  otherCalls: number;
  /** One line for a diagnostic: what makes it suspect. */
  reason: string;
}

/** Ratio a/b written with 1 decimal (b > 0). */
const times = (a: number, b: number): string => `${(a / b).toFixed(1)}×`;

const usText = (ns: number): string => `${(ns / 1000).toFixed(3).replace(/\.?0+$/, '')} µs`;

/** Slice indices grouped by stream, each group sorted by start (then longer first, index). */
function byStream(s: DeviceSlices): number[][] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < s.count; i++) {
    const k = s.stream[i]!;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(i);
  }
  const dur = (i: number): number => Math.max(0, s.dur[i]!);
  const out = [...groups.values()];
  for (const g of out) sortIfNeeded(g, (a, b) => s.start[a]! - s.start[b]! || dur(b) - dur(a) || a - b);
  return out;
}

/** First position q ≥ from in the start-sorted group g whose start satisfies `past` (monotone). */
function firstAtOrAfter(s: DeviceSlices, g: number[], from: number, past: (start: number) => boolean): number {
  let lo = from;
  let hi = g.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (past(s.start[g[mid]!]!)) hi = mid; else lo = mid + 1;
  }
  return lo;
}

/**
 * Median of the sorted values `v` without the element at position `skip`, doubled (an exact
 * integer for integer inputs).
 */
function doubledMedianWithout(v: Float64Array, skip: number): number {
  const m = v.length - 1;
  const at = (k: number): number => v[k < skip ? k : k + 1]!;
  return m % 2 === 1 ? 2 * at((m - 1) / 2) : at(m / 2 - 1) + at(m / 2);
}

/** First position in sorted `v` holding `x` (binary search; x is in v). */
function positionOf(v: Float64Array, x: number): number {
  let lo = 0;
  let hi = v.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v[mid]! < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * The suspect slices, in input order. Cost: a sort per stream, a binary search per slice, and a
 * scan of the later slices a slice runs past (only for slices that run past one).
 */
export function findSuspectDurations(s: DeviceSlices, rules: Readonly<SuspectRules> = SUSPECT_RULES): SuspectSlice[] {
  const dur = (i: number): number => Math.max(0, s.dur[i]!);
  const found: { index: number; overlapped: number; contained: number }[] = [];
  for (const g of byStream(s)) {
    const n = g.length;
    for (let p = 0; p < n; p++) {
      const i = g[p]!;
      const t0 = s.start[i]!;
      const end = t0 + dur(i);
      // the later slices that start before this one ends: sorted positions [first, stop)
      const first = firstAtOrAfter(s, g, p + 1, (t) => t > t0);
      const stop = firstAtOrAfter(s, g, first, (t) => t >= end);
      const overlapped = stop - first;
      if (overlapped === 0) continue;
      let contained = 0;
      const last = Math.min(stop, first + CONTAINED_SCAN_CAP);
      for (let q = first; q < last; q++) {
        const j = g[q]!;
        if (s.start[j]! + dur(j) <= end) contained++;
      }
      found.push({ index: i, overlapped, contained });
    }
  }
  if (found.length === 0) return [];

  // durations per name, sorted, only for the names of slices that run past a later one
  const wanted = new Set(found.map((f) => s.name[f.index]!));
  const lists = new Map<number, number[]>();
  for (let i = 0; i < s.count; i++) {
    const k = s.name[i]!;
    if (wanted.has(k)) {
      let l = lists.get(k);
      if (!l) lists.set(k, (l = []));
      l.push(dur(i));
    }
  }
  const sorted = new Map<number, Float64Array>();
  for (const [k, l] of lists) sorted.set(k, Float64Array.from(l).sort());

  const out: SuspectSlice[] = [];
  for (const f of found) {
    const i = f.index;
    const d = dur(i);
    const all = sorted.get(s.name[i]!)!;
    const otherCalls = all.length - 1;
    let medianOthersNs: number | null = null;
    let outlier = false;
    if (otherCalls >= rules.minOtherCalls) {
      const twice = doubledMedianWithout(all, positionOf(all, d));
      medianOthersNs = twice / 2;
      outlier = f.overlapped >= rules.minOverlappedForOutlier && 2 * d > rules.medianFactor * twice;
    }
    const contains = f.contained >= rules.minContained;
    if (!contains && !outlier) continue;
    const parts = [`lasts ${usText(d)}, past the start of ${f.overlapped} later slice${f.overlapped === 1 ? '' : 's'} of its stream`
      + (f.contained > 0 ? ` (contains ${f.contained}${f.contained === CONTAINED_SCAN_CAP ? '+' : ''} entirely)` : '')];
    if (medianOthersNs !== null && medianOthersNs > 0) parts.push(`${times(d, medianOthersNs)} the median ${usText(medianOthersNs)} of ${otherCalls} other calls of ${JSON.stringify(shortName(s.names[s.name[i]!] ?? ''))}`);
    out.push({ index: i, contains, outlier, overlappedLater: f.overlapped, containedLater: f.contained, medianOthersNs, otherCalls, reason: parts.join('; ') });
  }
  return out.sort((a, b) => a.index - b.index);
}

function shortName(name: string): string {
  return name.length > 40 ? `${name.slice(0, 37)}...` : name;
}

/** A 0/1 mask over `count` slices: 1 for the suspect ones (e.g. to leave them out of statistics). */
export function suspectMask(count: number, suspects: readonly SuspectSlice[]): Uint8Array {
  const m = new Uint8Array(count);
  for (const x of suspects) m[x.index] = 1;
  return m;
}
