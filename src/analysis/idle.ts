/**
 * Why the device waits: the gaps in the union of a device's activity, inside its active window
 * [first start, last end), each split into causes from what the trace shows. A gap [g0, g1) is
 * charged to the activity A that ends it (starts at g1; on ties the one whose launch call was
 * issued first) and to A's launch call L (matched by correlation, launch-link.ts; torch_npu:
 * also by its flows, npu-launch-link.ts), made at Ls; T is the CPU thread that issued A: the
 * launching thread, or under torch_npu's task queue the thread of the op that enqueued it (the
 * launch itself runs on a worker thread):
 *
 * - `inGraph`: A is not the first activity of its graph replay (its launch is a
 *   cudaGraphLaunch / hipGraphLaunch that already started an earlier kernel): the whole gap;
 * - `hostBound`: [g0, Ls) — the launch had not been issued yet, the device waited for the CPU;
 * - `sync`: the parts of [g0, Ls) during which T was inside a synchronizing call (stream /
 *   device / event synchronize, a blocking copy such as the one behind `.item()`);
 * - `launchLatency`: [max(g0, Ls), g1) — issued, not started yet (call overhead and queueing);
 * - `crossStream`: that same part instead, when a `*StreamWaitEvent` call was made on L's thread after
 *   the previous launch to A's stream and before L, and work of another stream of the device
 *   ended at g0 (the trace does not say which event a wait is for; this is what it supports);
 * - `other`: A has no launch call in the trace (unmatched).
 *
 * The causes partition every gap, so they add up to the idle time exactly (integer ns).
 */
import { sortIfNeeded } from '../model/order.js';
import { apiKindOf, linkLaunches, type LaunchLinks } from './launch-link.js';
import { unionOf, type Segments } from './intervals.js';
import type { RankData, RankTimeline } from './timeline.js';
import type { TraceRecords } from './collect.js';

export const IDLE_CAUSES = ['hostBound', 'sync', 'launchLatency', 'crossStream', 'inGraph', 'other'] as const;
export type IdleCause = (typeof IDLE_CAUSES)[number];
/** Display names of the causes. */
export const IDLE_CAUSE_TITLES: Record<IdleCause, string> = {
  hostBound: 'host-bound', sync: 'synchronization', launchLatency: 'launch latency',
  crossStream: 'cross-stream', inGraph: 'in-graph', other: 'other',
};

/** Gap size bins: < 10 µs, 10–100 µs, 0.1–1 ms, ≥ 1 ms (upper bounds in ns). */
export const GAP_BINS = [{ label: '< 10 µs', below: 10_000 }, { label: '10–100 µs', below: 100_000 }, { label: '0.1–1 ms', below: 1_000_000 }, { label: '> 1 ms', below: Infinity }] as const;

/** Time in ns per cause. */
export type CauseNs = Record<IdleCause, number>;

const zeroCauses = (): CauseNs => ({ hostBound: 0, sync: 0, launchLatency: 0, crossStream: 0, inGraph: 0, other: 0 });
const CAUSE_CODE: Record<IdleCause, number> = { hostBound: 0, sync: 1, launchLatency: 2, crossStream: 3, inGraph: 4, other: 5 };

/** One device's idle time, in ns (exact integers). */
export interface DeviceIdleNs {
  pid: number;
  name: string;
  windowStart: number;
  windowEnd: number;
  busyNs: number;
  idleNs: number;
  gaps: number;
  causes: CauseNs;
  /** Per GAP_BINS entry: gaps and their total. */
  bins: { gaps: number; ns: number }[];
  /** Activities of the device with no launch call in the trace. */
  unmatched: number;
}

/** The pieces every gap was split into (for clipping to steps), and the host-bound ones with their thread. */
export interface IdlePieces {
  start: Float64Array;
  end: Float64Array;
  /** Index into IDLE_CAUSES. */
  cause: Uint8Array;
  /** The launching CPU thread (index into records.threads), -1 when unknown. */
  thread: Int32Array;
  /** Length of the gap the piece belongs to. */
  gap: Float64Array;
  count: number;
}

export interface RankIdleNs {
  devices: DeviceIdleNs[];
  pieces: IdlePieces;
  links: LaunchLinks;
}

class PieceList {
  start: number[] = [];
  end: number[] = [];
  cause: number[] = [];
  thread: number[] = [];
  gap: number[] = [];
  add(a: number, b: number, c: number, t: number, gap: number): void {
    if (b <= a) return;
    this.start.push(a); this.end.push(b); this.cause.push(c); this.thread.push(t); this.gap.push(gap);
  }
  build(): IdlePieces {
    return {
      start: Float64Array.from(this.start), end: Float64Array.from(this.end), cause: Uint8Array.from(this.cause),
      thread: Int32Array.from(this.thread), gap: Float64Array.from(this.gap), count: this.start.length,
    };
  }
}

/** First index in the sorted array with a[i] >= t (lowerBound) or > t (upperBound). */
function lowerBound(a: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (a[m]! < t) lo = m + 1; else hi = m; }
  return lo;
}

function upperBound(a: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (a[m]! <= t) lo = m + 1; else hi = m; }
  return lo;
}

/**
 * The stream of each device activity: `args.stream` (kept when `fix` moved the event to an
 * overlap track), else -(track + 1).
 */
export function streamKeys(r: TraceRecords): Float64Array {
  const d = r.device;
  const out = new Float64Array(d.count);
  for (let i = 0; i < d.count; i++) { const s = d.stream[i]!; out[i] = s === s ? s : -(d.thread[i]! + 1); }
  return out;
}

/** Idle attribution of one rank (records collected with `launches: true`). */
export function idleOfRank(rank: RankData, t: RankTimeline, links: LaunchLinks = linkLaunches(rank.records)): RankIdleNs {
  const r = rank.records;
  const d = r.device;
  const l = r.launches;
  const kinds = r.apiNames.map(apiKindOf);
  const launchOf = links.launchOf;
  const issuer = links.issuer;
  const stream = streamKeys(r);
  const ls = (i: number): number => { const k = launchOf[i]!; return k >= 0 && l ? l.start[k]! : NaN; };
  /** Order of activities starting together: matched ones by launch time first. */
  const key = (i: number): number => { const s = ls(i); return s === s ? s : Infinity; };

  // sync calls per CPU thread (union), wait calls per thread (sorted starts)
  const syncByThread = new Map<number, Segments>();
  const waitByThread = new Map<number, Float64Array>();
  if (l) {
    const sync = new Map<number, [number[], number[]]>();
    const wait = new Map<number, number[]>();
    for (let k = 0; k < l.count; k++) {
      const kind = kinds[l.name[k]!];
      const th = l.thread[k]!;
      if (kind === 'sync') {
        let s = sync.get(th);
        if (!s) sync.set(th, (s = [[], []]));
        s[0].push(l.start[k]!); s[1].push(l.start[k]! + l.dur[k]!);
      } else if (kind === 'wait') {
        let w = wait.get(th);
        if (!w) wait.set(th, (w = []));
        w.push(l.start[k]!);
      }
    }
    for (const [th, [s, e]] of sync) syncByThread.set(th, unionOf(Float64Array.from(s), Float64Array.from(e)));
    for (const [th, w] of wait) waitByThread.set(th, Float64Array.from(w).sort());
  }

  // graph replays: the first start of each launch's activities
  const firstOfLaunch = new Map<number, number>();
  if (l) {
    for (let i = 0; i < d.count; i++) {
      const k = launchOf[i]!;
      if (k < 0 || kinds[l.name[k]!] !== 'graph') continue;
      const f = firstOfLaunch.get(k);
      if (f === undefined || d.start[i]! < f) firstOfLaunch.set(k, d.start[i]!);
    }
  }

  const pieces = new PieceList();
  const devices: DeviceIdleNs[] = [];
  for (const dv of t.devices) {
    const idx: number[] = [];
    for (let i = 0; i < d.count; i++) if (d.pid[i] === dv.pid) idx.push(i);
    sortIfNeeded(idx, (a, b) => d.start[a]! - d.start[b]! || a - b);
    let unmatched = 0;
    for (const i of idx) if (launchOf[i]! < 0) unmatched++;
    // per stream: sorted launch starts (for "previous launch to this stream"); activities by end
    const streamLaunches = new Map<number, number[]>();
    for (const i of idx) {
      const s = ls(i);
      if (s !== s) continue;
      let a = streamLaunches.get(stream[i]!);
      if (!a) streamLaunches.set(stream[i]!, (a = []));
      a.push(s);
    }
    const streamLaunchSorted = new Map<number, Float64Array>();
    for (const [s, a] of streamLaunches) streamLaunchSorted.set(s, Float64Array.from(a).sort());
    const byEnd = sortIfNeeded(idx.slice(), (a, b) => d.start[a]! + d.dur[a]! - (d.start[b]! + d.dur[b]!));
    const ends = Float64Array.from(byEnd, (i) => d.start[i]! + d.dur[i]!);

    const causes = zeroCauses();
    const bins = GAP_BINS.map(() => ({ gaps: 0, ns: 0 }));
    const seg = dv.busy;
    let p = 0;
    let gaps = 0;
    for (let g = 0; g + 1 < seg.start.length; g++) {
      const g0 = seg.end[g]!;
      const g1 = seg.start[g + 1]!;
      const len = g1 - g0;
      gaps++;
      const b = GAP_BINS.findIndex((x) => len < x.below);
      bins[b]!.gaps++;
      bins[b]!.ns += len;
      while (p < idx.length && d.start[idx[p]!]! < g1) p++;
      // the activity that ends the gap: among those starting at g1, the earliest launch
      let a = -1;
      for (let q = p; q < idx.length && d.start[idx[q]!]! === g1; q++) {
        const i = idx[q]!;
        if (a < 0 || key(i) < key(a)) a = i;
      }
      const add = (x: number, y: number, c: IdleCause, th: number): void => {
        if (y <= x) return;
        causes[c] += y - x;
        pieces.add(x, y, CAUSE_CODE[c], th, len);
      };
      const k = a >= 0 ? launchOf[a]! : -1;
      if (k < 0 || !l) { add(g0, g1, 'other', -1); continue; }
      // the issuing thread: the launching one, except under torch_npu's task queue (the op's thread)
      const iss = issuer ? issuer[a]! : -1;
      const th = iss >= 0 ? iss : l.thread[k]!;
      const L = l.start[k]!;
      const first = firstOfLaunch.get(k);
      if (first !== undefined && d.start[a]! > first) { add(g0, g1, 'inGraph', th); continue; }
      // before the launch: host-bound, except where the launching thread sat in a sync call
      const hEnd = Math.min(Math.max(L, g0), g1);
      if (hEnd > g0) {
        const sync = syncByThread.get(th);
        let cur = g0;
        if (sync) {
          let s = upperBound(sync.end, g0);
          for (; s < sync.start.length && sync.start[s]! < hEnd; s++) {
            const x = Math.max(sync.start[s]!, g0);
            const y = Math.min(sync.end[s]!, hEnd);
            add(cur, x, 'hostBound', th);
            add(x, y, 'sync', th);
            cur = Math.max(cur, y);
          }
        }
        add(cur, hEnd, 'hostBound', th);
      }
      if (hEnd < g1) {
        // after the launch: latency, or a wait on another stream's work that ended at g0
        let cross = false;
        const waits = waitByThread.get(l.thread[k]!);
        if (waits) {
          const sl = streamLaunchSorted.get(stream[a]!);
          const j = sl ? lowerBound(sl, L) : 0;
          const prev = sl && j > 0 ? sl[j - 1]! : -Infinity;
          const w = lowerBound(waits, prev);
          if (w < waits.length && waits[w]! < L && waits[w]! >= prev) {
            for (let e = lowerBound(ends, g0); e < ends.length && ends[e]! === g0; e++) {
              if (stream[byEnd[e]!] !== stream[a]) { cross = true; break; }
            }
          }
        }
        add(hEnd, g1, cross ? 'crossStream' : 'launchLatency', th);
      }
    }
    const windowStart = dv.first;
    const windowEnd = dv.last;
    devices.push({
      pid: dv.pid, name: dv.name, windowStart, windowEnd, busyNs: seg.total, idleNs: windowEnd - windowStart - seg.total,
      gaps, causes, bins, unmatched,
    });
  }
  return { devices, pieces: pieces.build(), links };
}

/** Time per cause of the pieces inside [lo, hi). */
export function causesIn(p: IdlePieces, lo: number, hi: number): CauseNs {
  const out = zeroCauses();
  for (let i = 0; i < p.count; i++) {
    const a = Math.max(p.start[i]!, lo);
    const b = Math.min(p.end[i]!, hi);
    if (b > a) out[IDLE_CAUSES[p.cause[i]!]!] += b - a;
  }
  return out;
}

/**
 * Sorted, disjoint host-bound windows per launching thread; a window is a stall when its gap
 * was at least `stallNs` long (windows of several devices that overlap merge, stall if any is).
 */
export function hostBoundWindows(p: IdlePieces, stallNs: number): Map<number, { start: Float64Array; end: Float64Array; stall: Uint8Array }> {
  const by = new Map<number, number[]>();
  for (let i = 0; i < p.count; i++) {
    if (p.cause[i] !== CAUSE_CODE.hostBound) continue;
    let x = by.get(p.thread[i]!);
    if (!x) by.set(p.thread[i]!, (x = []));
    x.push(i);
  }
  const out = new Map<number, { start: Float64Array; end: Float64Array; stall: Uint8Array }>();
  for (const [th, idx] of by) {
    sortIfNeeded(idx, (a, b) => p.start[a]! - p.start[b]!);
    const s: number[] = [];
    const e: number[] = [];
    const st: number[] = [];
    for (const i of idx) {
      const k = s.length - 1;
      const long = p.gap[i]! >= stallNs ? 1 : 0;
      if (k >= 0 && p.start[i]! <= e[k]!) { if (p.end[i]! > e[k]!) e[k] = p.end[i]!; st[k] = st[k]! | long; } else { s.push(p.start[i]!); e.push(p.end[i]!); st.push(long); }
    }
    out.set(th, { start: Float64Array.from(s), end: Float64Array.from(e), stall: Uint8Array.from(st) });
  }
  return out;
}
