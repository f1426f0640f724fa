/**
 * The launch path, per device activity name: how many launch calls put it on the device, the
 * CPU time of those calls, the launch delay (call start → activity start), the GPU time, and
 * flags; per stream, the launch queue depth over time (launched and not yet finished).
 *
 * A graph replay (`cudaGraphLaunch`, `hipGraphLaunch`) is one launch for all the kernels of the
 * replay: it is counted once, under the replay (its own row, `graph replay`), and its kernels
 * carry no launch call of their own; only the first kernel of a replay has a launch delay.
 */
import { apiKindOf, type LaunchLinks } from './launch-link.js';
import { streamKeys } from './idle.js';
import type { RankData } from './timeline.js';

/** Launch-delay outliers: delays above this (HTA's launch_delay_cutoff, 100 µs). */
export const DELAY_OUTLIER_NS = 100_000;

/** Raw launch figures of one activity name (ns, exact), summed over ranks. */
export interface LaunchAccum {
  name: string;
  activities: number;
  /** Launch calls of its own (a graph replay's kernels have none). */
  calls: number;
  callNs: number;
  gpuNs: number;
  delays: number[];
  /** Activities shorter than their own launch call. */
  shorterThanCall: number;
  /** Activities launched by a graph replay. */
  inGraph: number;
  unmatched: number;
}

/** Per launch API (`cudaLaunchKernel`, `cudaGraphLaunch`, ...): calls that launched device work. */
export interface ApiAccum { name: string; kind: string; calls: number; callNs: number; activities: number }

/** Queue depth of one stream: time-weighted median and max, and a series for charts. */
export interface QueueDepth {
  label: string;
  stream: string;
  median: number;
  max: number;
  /** Up to `buckets` points: bucket start (µs from the first launch) and the max depth in it. */
  series: { tUs: number; depth: number }[];
}

export interface LaunchPathNs {
  byName: Map<string, LaunchAccum>;
  byApi: Map<string, ApiAccum>;
  queues: QueueDepth[];
  /** Distinct launch calls that launched device work. */
  calls: number;
}

export function emptyLaunchPath(): LaunchPathNs {
  return { byName: new Map(), byApi: new Map(), queues: [], calls: 0 };
}

/** Adds one rank's launch figures into `acc`. */
export function addLaunchPath(rank: RankData, links: LaunchLinks, acc: LaunchPathNs, buckets = 200): void {
  const r = rank.records;
  const d = r.device;
  const l = r.launches;
  const kinds = r.apiNames.map(apiKindOf);
  const launchOf = links.launchOf;
  const firstOfLaunch = new Map<number, number>();
  const seen = new Set<number>();
  for (let i = 0; i < d.count; i++) {
    const k = launchOf[i]!;
    if (k < 0) continue;
    const f = firstOfLaunch.get(k);
    if (f === undefined || d.start[i]! < d.start[f]!) firstOfLaunch.set(k, i);
  }
  for (let i = 0; i < d.count; i++) {
    const name = r.names[d.name[i]!]!;
    let a = acc.byName.get(name);
    if (!a) acc.byName.set(name, (a = { name, activities: 0, calls: 0, callNs: 0, gpuNs: 0, delays: [], shorterThanCall: 0, inGraph: 0, unmatched: 0 }));
    a.activities++;
    a.gpuNs += d.dur[i]!;
    const k = launchOf[i]!;
    if (k < 0 || !l) { a.unmatched++; continue; }
    const api = r.apiNames[l.name[k]!]!;
    const graph = kinds[l.name[k]!] === 'graph';
    if (!seen.has(k)) {
      seen.add(k);
      acc.calls++;
      let x = acc.byApi.get(api);
      if (!x) acc.byApi.set(api, (x = { name: api, kind: kinds[l.name[k]!]!, calls: 0, callNs: 0, activities: 0 }));
      x.calls++;
      x.callNs += l.dur[k]!;
      if (graph) {
        const gname = `graph replay (${api})`;
        let g = acc.byName.get(gname);
        if (!g) acc.byName.set(gname, (g = { name: gname, activities: 0, calls: 0, callNs: 0, gpuNs: 0, delays: [], shorterThanCall: 0, inGraph: 0, unmatched: 0 }));
        g.calls++;
        g.callNs += l.dur[k]!;
        g.delays.push(d.start[firstOfLaunch.get(k)!]! - l.start[k]!);
      }
    }
    acc.byApi.get(api)!.activities++;
    if (graph) { a.inGraph++; continue; }
    a.calls++;
    a.callNs += l.dur[k]!;
    a.delays.push(d.start[i]! - l.start[k]!);
    if (d.dur[i]! < l.dur[k]!) a.shorterThanCall++;
  }
  if (l) acc.queues.push(...queueDepths(rank, launchOf, buckets));
}

/** Launched-and-not-finished count per stream over time. */
function queueDepths(rank: RankData, launchOf: Int32Array, buckets: number): QueueDepth[] {
  const r = rank.records;
  const d = r.device;
  const l = r.launches!;
  const stream = streamKeys(r);
  const byStream = new Map<number, number[]>();
  for (let i = 0; i < d.count; i++) {
    if (launchOf[i]! < 0) continue;
    let a = byStream.get(stream[i]!);
    if (!a) byStream.set(stream[i]!, (a = []));
    a.push(i);
  }
  const out: QueueDepth[] = [];
  for (const [th, list] of byStream) {
    // +1 at the launch call's start, -1 at the activity's end (ends before starts on ties):
    // the two sorted lists merged (a native numeric sort of each, no comparator sort of both)
    const n = list.length;
    const st = new Float64Array(n);
    const en = new Float64Array(n);
    list.forEach((i, j) => { st[j] = l.start[launchOf[i]!]!; en[j] = d.start[i]! + d.dur[i]!; });
    st.sort();
    en.sort();
    const t0 = Math.min(st[0]!, en[0]!);
    const t1 = Math.max(st[n - 1]!, en[n - 1]!);
    const span = t1 - t0;
    const timeAt = new Map<number, number>();
    const width = span > 0 ? span / buckets : 1;
    const series = new Int32Array(span > 0 ? buckets : 1);
    let depth = 0;
    let max = 0;
    let prev = t0;
    let bcur = 0;
    for (let a = 0, e = 0; a < n || e < n;) {
      const end = e < n && (a >= n || en[e]! <= st[a]!);
      const now = end ? en[e++]! : st[a++]!;
      if (now > prev) timeAt.set(depth, (timeAt.get(depth) ?? 0) + (now - prev));
      prev = now;
      const b = Math.min(series.length - 1, Math.floor((now - t0) / width));
      // buckets passed without an event hold the depth of the moment
      while (bcur < b) { bcur++; if (depth > series[bcur]!) series[bcur] = depth; }
      depth += end ? -1 : 1;
      if (depth > max) max = depth;
      if (depth > series[b]!) series[b] = depth;
    }
    // time-weighted median depth
    const levels = [...timeAt].sort((a, b) => a[0] - b[0]);
    let acc = 0;
    let median = 0;
    for (const [lv, ns] of levels) { acc += ns; if (acc * 2 >= span) { median = lv; break; } }
    const pts = Array.from(series, (depthMax, b) => ({ tUs: Math.round(b * width) / 1000, depth: depthMax }));
    const track = th < 0 ? r.threads[-th - 1] : undefined;
    out.push({ label: rank.label, stream: th >= 0 ? String(th) : track ? track.tid : '?', median, max, series: pts });
  }
  return out;
}

/** Median, p90 and max of a list (nearest-rank), or nulls when empty. */
export function quantiles(xs: number[]): { median: number | null; p90: number | null; max: number | null } {
  if (xs.length === 0) return { median: null, p90: null, max: null };
  const s = Float64Array.from(xs).sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { median: at(0.5), p90: at(0.9), max: s[s.length - 1]! };
}
