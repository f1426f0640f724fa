/**
 * The overlap fix, as pure functions over compact arrays of slices (complete events) and flows.
 *
 * Perfetto (and chrome://tracing) require the complete events of one track to nest like a stack.
 * `assignLanes` sorts each track's slices by (ts, longer first, file order) and puts each on a
 * lane where it nests — the lowest lane with an open slice that contains it, else the lowest
 * empty lane; lane 0 is the original track. Flow events move with the slice they
 * bind to, using Perfetto's binding rules: `s`, `t` and `f` with `bp: "e"` bind to the deepest
 * slice enclosing their ts; `f` without `bp: "e"` binds to the next slice starting at or after ts.
 */

/** Complete events: parallel arrays indexed by slice ordinal (file order). Times in ns. */
export interface SliceArrays {
  count: number;
  track: Int32Array;
  ts: Float64Array;
  dur: Float64Array;
}

export const FLOW_ENCLOSING = 0;
export const FLOW_NEXT = 1;

/** Flow events (s/t/f) indexed by flow ordinal (file order). */
export interface FlowArrays {
  count: number;
  track: Int32Array;
  ts: Float64Array;
  /** FLOW_ENCLOSING or FLOW_NEXT. */
  binding: Uint8Array;
}

/** Slices grouped by track, each group sorted by (ts asc, dur desc, ordinal asc). */
export interface TrackOrder {
  order: Uint32Array;
  /** Slices of track t are order[start[t], start[t+1]). */
  start: Uint32Array;
  /** Tracks whose slices were not in timestamp order in the file. */
  unsorted: Uint8Array;
}

/** Ordinals grouped by track, in file order within a track (a counting sort). */
function groupByTrack(track: Int32Array, count: number, trackCount: number): { order: Uint32Array; start: Uint32Array } {
  const start = new Uint32Array(trackCount + 1);
  for (let i = 0; i < count; i++) start[track[i]! + 1]!++;
  for (let t = 0; t < trackCount; t++) start[t + 1]! += start[t]!;
  const fill = start.slice(0, trackCount);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[fill[track[i]!]!++] = i;
  return { order, start };
}

/**
 * Sorts `a[from, to)` by `cmp` (a total order). Traces are written almost in time order — the
 * bench rank's CPU thread (268k slices) has a single place out of order — so the sorted runs
 * already there are merged (natural merge sort: one pass when sorted, O(n log runs) otherwise);
 * when the input is far from sorted (more than n/16 runs) the built-in sort is used. The
 * built-in comparator sort of a typed array took 35-50 ms for that thread; the merge ≈ 3 ms.
 */
export function sortNearlySorted(a: Uint32Array, from: number, to: number, cmp: (x: number, y: number) => number): void {
  const n = to - from;
  if (n < 2) return;
  // run boundaries: starts of the ascending runs, then `to`
  const bounds: number[] = [from];
  for (let k = from + 1; k < to; k++) if (cmp(a[k - 1]!, a[k]!) > 0) bounds.push(k);
  if (bounds.length === 1) return;
  if (bounds.length > 1 + (n >> 4)) { a.subarray(from, to).sort(cmp); return; }
  bounds.push(to);
  // runs merged pairwise between `a`'s range and a scratch array, indices relative to `from`
  let src: Uint32Array = a.subarray(from, to);
  let dst: Uint32Array = new Uint32Array(n);
  const view = src;
  let runs = bounds.map((k) => k - from);
  while (runs.length > 2) {
    const next: number[] = [];
    for (let r = 0; r + 1 < runs.length; r += 2) {
      const lo = runs[r]!;
      const mid = runs[r + 1]!;
      const hi = r + 2 < runs.length ? runs[r + 2]! : mid;
      let i = lo;
      let j = mid;
      let o = lo;
      // stable: on equal keys the left run's element first (cmp is a total order here anyway)
      while (i < mid && j < hi) dst[o++] = cmp(src[i]!, src[j]!) <= 0 ? src[i++]! : src[j++]!;
      while (i < mid) dst[o++] = src[i++]!;
      while (j < hi) dst[o++] = src[j++]!;
      next.push(lo);
    }
    next.push(n);
    runs = next;
    const t = src; src = dst; dst = t;
  }
  if (src !== view) view.set(src);
}

export function orderByTrack(s: SliceArrays, trackCount: number): TrackOrder {
  const { order, start } = groupByTrack(s.track, s.count, trackCount);
  const unsorted = new Uint8Array(trackCount);
  const { ts, dur } = s;
  const cmp = (a: number, b: number): number => ts[a]! - ts[b]! || dur[b]! - dur[a]! || a - b;
  for (let t = 0; t < trackCount; t++) {
    const a = start[t]!;
    const b = start[t + 1]!;
    for (let k = a + 1; k < b; k++) {
      if (ts[order[k - 1]!]! > ts[order[k]!]!) { unsorted[t] = 1; break; }
    }
    // (its first pass finds the runs: a track already in order costs one pass and no sort)
    sortNearlySorted(order, a, b, cmp);
  }
  return { order, start, unsorted };
}

export interface LaneAssignment {
  /** Lane of each slice (0 = original track). */
  sliceLane: Uint16Array;
  /** Lane of each flow event (that of the slice it binds to; 0 when unbound). */
  flowLane: Uint16Array;
  /** Slice each flow binds to, or -1. */
  flowSlice: Int32Array;
  /** Number of lanes per track (1 when nothing overlapped). */
  lanes: Uint16Array;
}

/**
 * Lane assignment. A slice nests on a lane when, after closing the lane's slices that end at or
 * before its start, the lane's innermost open slice (if any) ends at or after its end.
 */
export function assignLanes(s: SliceArrays, f: FlowArrays, trackCount: number, ord: TrackOrder = orderByTrack(s, trackCount)): LaneAssignment {
  const sliceLane = new Uint16Array(s.count);
  const flowLane = new Uint16Array(f.count);
  const flowSlice = new Int32Array(f.count).fill(-1);
  const lanes = new Uint16Array(trackCount).fill(1);
  const { ts, dur } = s;
  const end = (o: number): number => ts[o]! + Math.max(0, dur[o]!);

  // Flows grouped by track, sorted by ts then file order.
  const { order: fOrder, start: fStart } = groupByTrack(f.track, f.count, trackCount);

  for (let t = 0; t < trackCount; t++) {
    const a = ord.start[t]!;
    const b = ord.start[t + 1]!;
    const fa = fStart[t]!;
    const fb = fStart[t + 1]!;
    if (fb - fa > 1) sortNearlySorted(fOrder, fa, fb, (x, y) => f.ts[x]! - f.ts[y]! || x - y);
    const stacks: number[][] = [[]];
    const pendingNext: number[] = [];
    let k = fa;
    const bindEnclosing = (fo: number): void => {
      const at = f.ts[fo]!;
      let best = -1;
      let bestLane = 0;
      for (let l = 0; l < stacks.length; l++) {
        const st = stacks[l]!;
        for (let d = st.length - 1; d >= 0; d--) {
          const o = st[d]!;
          if (end(o) >= at) {
            if (ts[o]! <= at && (best < 0 || ts[o]! > ts[best]! || (ts[o]! === ts[best]! && dur[o]! < dur[best]!))) { best = o; bestLane = l; }
            break;
          }
        }
      }
      flowSlice[fo] = best;
      flowLane[fo] = bestLane;
    };
    for (let i = a; i <= b; i++) {
      const o = i < b ? ord.order[i]! : -1;
      const oTs = o >= 0 ? ts[o]! : Infinity;
      // flows that come before this slice in the sweep
      while (k < fb) {
        const fo = fOrder[k]!;
        const at = f.ts[fo]!;
        if (f.binding[fo] === FLOW_NEXT ? at <= oTs : at < oTs) {
          if (f.binding[fo] === FLOW_NEXT) pendingNext.push(fo); else bindEnclosing(fo);
          k++;
        } else break;
      }
      if (o < 0) break;
      const oEnd = end(o);
      // The lowest lane whose innermost open slice contains this one; else the lowest empty
      // lane; else a new lane. (Taking the lowest lane where it nests, empty or not, can put a
      // slice on an empty lane while its container sits on another, and need an extra lane
      // later: pdl-eager's stream 7 needs 2 lanes, not 3. Taking the tightest container
      // instead moves whole CPU call stacks under one crossing annotation onto the new lane.)
      let lane = -1;
      let empty = -1;
      for (let l = 0; l < stacks.length; l++) {
        const st = stacks[l]!;
        while (st.length > 0 && end(st[st.length - 1]!) <= oTs) st.pop();
        if (st.length === 0) { if (empty < 0) empty = l; continue; }
        if (end(st[st.length - 1]!) >= oEnd) { lane = l; break; }
      }
      if (lane < 0) lane = empty;
      if (lane < 0) { lane = stacks.length; stacks.push([]); }
      stacks[lane]!.push(o);
      sliceLane[o] = lane;
      if (lane + 1 > lanes[t]!) lanes[t] = lane + 1;
      if (pendingNext.length > 0) { // (emptying an array costs a runtime call: not per slice)
        for (const fo of pendingNext) { flowSlice[fo] = o; flowLane[fo] = lane; }
        pendingNext.length = 0;
      }
    }
  }
  return { sliceLane, flowLane, flowSlice, lanes };
}

/** One non-nesting slice: the slice, and the open slice it crosses. */
export interface Crossing {
  slice: number;
  other: number;
}

/**
 * What Perfetto would drop or spill: sweeping each track in sorted order with one stack, a slice
 * that starts inside the innermost open slice and ends after it. Such a slice is not pushed
 * (as in Perfetto). Returns the count per track and the first `maxExamples` crossings per track.
 */
export function findCrossings(s: SliceArrays, trackCount: number, ord: TrackOrder, maxExamples = 3): { perTrack: Uint32Array; examples: Crossing[][] } {
  const perTrack = new Uint32Array(trackCount);
  const examples: Crossing[][] = [];
  const { ts, dur } = s;
  const end = (o: number): number => ts[o]! + Math.max(0, dur[o]!);
  for (let t = 0; t < trackCount; t++) {
    const ex: Crossing[] = [];
    const st: number[] = [];
    for (let i = ord.start[t]!; i < ord.start[t + 1]!; i++) {
      const o = ord.order[i]!;
      const oTs = ts[o]!;
      const oEnd = end(o);
      while (st.length > 0 && end(st[st.length - 1]!) <= oTs) st.pop();
      const top = st[st.length - 1];
      if (top !== undefined && end(top) < oEnd) {
        perTrack[t]!++;
        if (ex.length < maxExamples) ex.push({ slice: o, other: top });
        continue;
      }
      st.push(o);
    }
    examples.push(ex);
  }
  return { perTrack, examples };
}
