/**
 * The `idle` and `launch` views of `stats` as plain data (µs for output, computed in exact ns):
 * idle time per device split into causes (idle.ts), per step, by gap size, and what the CPU
 * was doing while the device waited for it (idle-cpu.ts); the launch path per device activity
 * name and the launch queue depth per stream (launch-path.ts).
 *
 * torch_npu ranks: their device tasks are linked to their CANN launch calls by `connection_id`
 * and the trace's HostToDevice / torch_to_npu flows (launch-link.ts, npu-launch-link.ts). A
 * torch_npu rank whose trace links nothing (no CANN call, no flow: e.g. a merged trace written
 * without them) is not available: its rows say so.
 */
import { cpuDuringIdle, type CpuDuringIdleNs, type CpuFrameKind } from './idle-cpu.js';
import { GAP_BINS, IDLE_CAUSES, causesIn, hostBoundWindows, idleOfRank, type CauseNs, type IdleCause } from './idle.js';
import { linkLaunches, type LaunchLinks } from './launch-link.js';
import { DELAY_OUTLIER_NS, addLaunchPath, emptyLaunchPath, quantiles, type QueueDepth } from './launch-path.js';
import type { RankData, RankTimeline } from './timeline.js';

const us = (ns: number): number => Math.round(ns) / 1000;
/** Gaps this long or longer are stalls (the `stallUs` column of what the CPU was doing). */
export const STALL_NS = 100_000;

/** µs per cause. */
export type CauseUs = Record<IdleCause, number>;

const causeUs = (c: CauseNs): CauseUs => Object.fromEntries(IDLE_CAUSES.map((k) => [k, us(c[k])])) as CauseUs;

export interface IdleDeviceRow {
  label: string;
  device: string;
  /** False for ranks whose launches cannot be linked (a torch_npu trace without CANN calls or flows): the cause figures are null. */
  available: boolean;
  windowUs: number;
  busyUs: number;
  idleUs: number;
  gaps: number;
  causes: CauseUs | null;
  /** Device activities with no launch call in the trace (their gaps are `other`). */
  unmatched: number | null;
}

export interface IdleStepRow {
  label: string;
  name: string;
  index: number;
  /** The step's CPU annotation (else its GPU one): idle pieces inside it. */
  idleUs: number;
  causes: CauseUs;
}

export interface IdleBinRow { label: string; bin: string; gaps: number; idleUs: number }

export interface IdleCpuRow {
  kind: CpuFrameKind;
  name: string;
  /** Host-bound idle time during which this was the innermost frame of its kind on the launching thread. */
  us: number;
  /** The part of it in gaps of 100 µs or more (stalls, rather than the launch overhead of short kernels). */
  stallUs: number;
  /** Share of all host-bound idle time. Rows are ranked by stallUs, then us. */
  share: number;
}

export interface IdleView {
  devices: IdleDeviceRow[];
  steps: IdleStepRow[];
  bins: IdleBinRow[];
  cpu: IdleCpuRow[];
  hostBoundUs: number;
}

export interface LaunchRow {
  name: string;
  activities: number;
  /** Launch calls of its own (graph-replayed kernels have none: see the graph replay row). */
  calls: number;
  callUs: number;
  gpuUs: number;
  delayMedianUs: number | null;
  delayP90Us: number | null;
  delayMaxUs: number | null;
  /** Activities shorter than their own launch call. */
  launchBound: number;
  /** Launch delays above 100 µs. */
  delayOutliers: number;
  inGraph: number;
  unmatched: number;
  flags: string[];
}

export interface LaunchApiRow { name: string; kind: string; calls: number; callUs: number; activities: number }

export interface LaunchView {
  rows: LaunchRow[];
  apis: LaunchApiRow[];
  queues: QueueDepth[];
  /** Distinct launch calls that put work on a device. */
  calls: number;
  /** Median launch delay over all launches (a graph replay: its first kernel). */
  delayMedianUs: number | null;
  /** Ranks left out (torch_npu traces that link no launch). */
  unavailable: string[];
}

export interface LinkedRank { rank: RankData; timeline: RankTimeline; links: LaunchLinks | undefined; npu: boolean }

/**
 * True when a torch_npu rank's trace holds anything that links tasks to launches: CANN calls
 * or dequeues (launch records) or host↔device flows.
 */
export function npuLinkable(r: RankData['records']): boolean {
  return (r.launches?.count ?? 0) > 0 || (r.flows?.count ?? 0) > 0;
}

/** Links each rank's activities to launches once, for both views (torch_npu ranks that link nothing: undefined). */
export function linkRanks(ranks: readonly RankData[], timelines: readonly RankTimeline[], npu: readonly boolean[]): LinkedRank[] {
  return ranks.map((rank, k) => ({ rank, timeline: timelines[k]!, npu: npu[k]!, links: npu[k] && !npuLinkable(rank.records) ? undefined : linkLaunches(rank.records) }));
}

/** Step windows of a rank: [start, end) of each step annotation (CPU first), from the step view's pattern. */
export interface StepWindow { name: string; lo: number; hi: number }

export function idleView(linked: readonly LinkedRank[], stepsOf: (rank: RankData) => StepWindow[], top = Infinity): IdleView {
  const devices: IdleDeviceRow[] = [];
  const steps: IdleStepRow[] = [];
  const bins: IdleBinRow[] = [];
  const cpu: CpuDuringIdleNs = new Map();
  let hostBound = 0;
  for (const x of linked) {
    const label = x.rank.label;
    if (!x.links) {
      for (const dv of x.timeline.devices) {
        devices.push({ label, device: dv.name, available: false, windowUs: us(dv.last - dv.first), busyUs: us(dv.busy.total), idleUs: us(dv.last - dv.first - dv.busy.total), gaps: Math.max(0, dv.busy.start.length - 1), causes: null, unmatched: null });
      }
      continue;
    }
    const r = idleOfRank(x.rank, x.timeline, x.links);
    for (const dv of r.devices) {
      devices.push({ label, device: dv.name, available: true, windowUs: us(dv.windowEnd - dv.windowStart), busyUs: us(dv.busyNs), idleUs: us(dv.idleNs), gaps: dv.gaps, causes: causeUs(dv.causes), unmatched: dv.unmatched });
      hostBound += dv.causes.hostBound;
      dv.bins.forEach((b, k) => bins.push({ label: dv.name === label || r.devices.length === 1 ? label : `${label} ${dv.name}`, bin: GAP_BINS[k]!.label, gaps: b.gaps, idleUs: us(b.ns) }));
    }
    stepsOf(x.rank).forEach((s, index) => {
      const c = causesIn(r.pieces, s.lo, s.hi);
      let total = 0;
      for (const k of IDLE_CAUSES) total += c[k];
      steps.push({ label, name: s.name, index, idleUs: us(total), causes: causeUs(c) });
    });
    cpuDuringIdle(x.rank.records, hostBoundWindows(r.pieces, STALL_NS), cpu);
  }
  // grouped by kind (Python functions, CPU ops, annotations: three layers of the same time, and
  // an enclosing step annotation would otherwise top every list), each kind ranked with stalls
  // first: a function that held the device up for long gaps outranks the launch overhead spread
  // over hundreds of short gaps (eager launch-bound code); then all host-bound time
  const KIND_ORDER = ['python', 'op', 'annotation'];
  const cpuRows = KIND_ORDER.flatMap((kind) => [...cpu.values()].filter((e) => e.kind === kind)
    .sort((a, b) => b.stallNs - a.stallNs || b.ns - a.ns || (a.name < b.name ? -1 : 1)).slice(0, top))
    .map((e) => ({ kind: e.kind, name: e.name, us: us(e.ns), stallUs: us(e.stallNs), share: hostBound > 0 ? Math.round((e.ns / hostBound) * 1e6) / 1e6 : 0 }));
  return { devices, steps, bins, cpu: cpuRows, hostBoundUs: us(hostBound) };
}

export function launchView(linked: readonly LinkedRank[], buckets = 200): LaunchView {
  const acc = emptyLaunchPath();
  const unavailable: string[] = [];
  for (const x of linked) {
    if (x.links) addLaunchPath(x.rank, x.links, acc, buckets);
    else unavailable.push(x.rank.label);
  }
  const rows: LaunchRow[] = [...acc.byName.values()].map((a) => {
    const q = quantiles(a.delays);
    const outliers = a.delays.filter((d) => d > DELAY_OUTLIER_NS).length;
    const flags: string[] = [];
    if (a.calls > 0 && a.shorterThanCall * 2 > a.calls) flags.push('launch-bound');
    if (outliers > 0) flags.push('delay outliers');
    if (a.unmatched > 0) flags.push('unmatched');
    const n = (v: number | null): number | null => (v === null ? null : us(v));
    return {
      name: a.name, activities: a.activities, calls: a.calls, callUs: us(a.callNs), gpuUs: us(a.gpuNs),
      delayMedianUs: n(q.median), delayP90Us: n(q.p90), delayMaxUs: n(q.max),
      launchBound: a.shorterThanCall, delayOutliers: outliers, inGraph: a.inGraph, unmatched: a.unmatched, flags,
    };
  }).sort((p, q) => q.callUs - p.callUs || q.gpuUs - p.gpuUs || (p.name < q.name ? -1 : 1));
  const apis = [...acc.byApi.values()].map((a) => ({ name: a.name, kind: a.kind, calls: a.calls, callUs: us(a.callNs), activities: a.activities }))
    .sort((p, q) => q.calls - p.calls || (p.name < q.name ? -1 : 1));
  const all = quantiles([...acc.byName.values()].flatMap((a) => a.delays)).median;
  return { rows, apis, queues: acc.queues, calls: acc.calls, delayMedianUs: all === null ? null : us(all), unavailable };
}
