/**
 * A rank's device timeline: per device, the union of all activity (busy), of communication
 * kernels and of compute kernels. Summary, step and rank views all measure against it.
 */
import type { Categorizer } from './categories.js';
import type { TraceRecords } from './collect.js';
import { unionOf, type Segments } from './intervals.js';

/** One rank's records, as the analyses see them. */
export interface RankData {
  label: string;
  /** The file it came from. */
  file: string;
  /** distributedInfo.rank (or the merge's rank), when known. */
  rank: number | null;
  records: TraceRecords;
}

export interface DeviceTimeline {
  /** Index into records.pids. */
  pid: number;
  /** Display name of the device (process label such as `GPU 0`, else the pid). */
  name: string;
  activities: number;
  busy: Segments;
  communication: Segments;
  compute: Segments;
  /** First start and last end of its activities (ns). */
  first: number;
  last: number;
}

export interface RankTimeline {
  devices: DeviceTimeline[];
  /** Earliest start and latest end over all timed events of the rank (ns); NaN when empty. */
  spanStart: number;
  spanEnd: number;
  busyNs: number;
  communicationNs: number;
  computeNs: number;
}

/** Span of the rank's timed events: over its pids. */
function spanOf(r: TraceRecords): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of r.pids) {
    if (p.minStart < lo) lo = p.minStart;
    if (p.maxEnd > hi) hi = p.maxEnd;
  }
  return Number.isFinite(lo) ? [lo, hi] : [NaN, NaN];
}

export function deviceName(r: TraceRecords, pid: number): string {
  const p = r.pids[pid]!;
  const label = p.labels ?? p.processName;
  const raw = p.raw.startsWith('"') ? p.raw.slice(1, -1) : p.raw;
  return label !== undefined && /^(GPU|NPU|XPU|MTIA)\b/i.test(label) ? label : `pid ${raw}`;
}

export function timelineOf(rank: RankData, cats: Categorizer): RankTimeline {
  const r = rank.records;
  const d = r.device;
  // activities per device (pid), by a counting sort over pid ids
  const perPid = new Int32Array(r.pids.length);
  for (let i = 0; i < d.count; i++) perPid[d.pid[i]!]!++;
  const devices: DeviceTimeline[] = [];
  for (let pid = 0; pid < perPid.length; pid++) {
    const n = perPid[pid]!;
    if (n === 0) continue;
    const s = new Float64Array(n);
    const e = new Float64Array(n);
    const cs = new Float64Array(n);
    const ce = new Float64Array(n);
    const ks = new Float64Array(n);
    const ke = new Float64Array(n);
    let j = 0;
    let nc = 0;
    let nk = 0;
    let first = Infinity;
    let last = -Infinity;
    for (let i = 0; i < d.count; i++) {
      if (d.pid[i] !== pid) continue;
      const a = d.start[i]!;
      const b = a + d.dur[i]!;
      s[j] = a;
      e[j] = b;
      j++;
      if (a < first) first = a;
      if (b > last) last = b;
      const c = d.category[i]!;
      if (c === cats.communication) { cs[nc] = a; ce[nc] = b; nc++; }
      else if (cats.isCompute(c)) { ks[nk] = a; ke[nk] = b; nk++; }
    }
    devices.push({
      pid, name: deviceName(r, pid), activities: n,
      busy: unionOf(s, e),
      communication: unionOf(cs.subarray(0, nc), ce.subarray(0, nc)),
      compute: unionOf(ks.subarray(0, nk), ke.subarray(0, nk)),
      first, last,
    });
  }
  const [spanStart, spanEnd] = spanOf(r);
  let busyNs = 0;
  let communicationNs = 0;
  let computeNs = 0;
  for (const dv of devices) { busyNs += dv.busy.total; communicationNs += dv.communication.total; computeNs += dv.compute.total; }
  return { devices, spanStart, spanEnd, busyNs, communicationNs, computeNs };
}
