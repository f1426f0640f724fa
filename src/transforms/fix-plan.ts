/**
 * From the first pass (TraceIndex) to a plan for the second: which slices and flows move to
 * which new tid, how the new tracks are named and ordered. Pure: no I/O.
 */
import type { TraceIndex, TrackInfo } from '../formats/trace-index.js';
import { assignLanes, orderByTrack, type LaneAssignment } from './lanes.js';
import { findSuspectDurations, type SuspectSlice } from '../analysis/suspect.js';
import { addNsToMicrosText } from '../model/time.js';

const INT32_MAX = 2 ** 31 - 1;

export interface FixSummary {
  /** Tracks that had non-nesting slices. */
  tracksTouched: number;
  /** New tracks (lanes) created. */
  lanesAdded: number;
  slicesMoved: number;
  flowsMoved: number;
  /** Slices moved, per category, most first . */
  byCategory: { category: string; moved: number }[];
  /** The touched tracks: name and number of lanes. */
  tracks: { pid: string; tid: string; name: string; lanes: number; moved: number }[];
  /**
   * Device slices with a duration that cannot be real (`suspect_device_duration`), moved to
   * their own tracks (`stream 7 (suspect duration)`); not counted above as overlap moves.
   */
  suspect: { slices: number; tracks: number; flowsMoved: number };
}

/** A metadata (ph M) event to add; rendered with `renderMeta` (pid may be remapped). */
export interface MetaEvent {
  name: 'thread_name' | 'thread_sort_index' | 'process_name' | 'process_sort_index' | 'process_labels';
  pidRaw: string;
  tidRaw: string;
  args: Record<string, unknown>;
}

export function renderMeta(m: MetaEvent, pidRaw = m.pidRaw): string {
  return `{"name": "${m.name}", "ph": "M", "pid": ${pidRaw}, "tid": ${m.tidRaw}, "args": ${JSON.stringify(m.args)}}`;
}

export interface LanePlan {
  /**
   * Lanes of the slices and flows on their planned tracks (`sliceTrack` / `flowTrack`): the
   * index's tracks, then one more per track with suspect slices (ids from index.tracks.length).
   */
  lanes: LaneAssignment;
  /** Planned track of each slice: its own, or its track's suspect track. */
  sliceTrack: Int32Array;
  /** Planned track of each flow event: that of the slice it binds to when that is suspect. */
  flowTrack: Int32Array;
  /** Number of tracks of the index (planned track ids at or above it are suspect tracks). */
  trackCount: number;
  /** Raw JSON text of the tid for (track, lane >= 1): laneTid[track][lane-1]. */
  laneTid: Map<number, string[]>;
  /** Raw JSON text of the tid for (suspect track, lane >= 0): suspectTid[track][lane]. */
  suspectTid: Map<number, string[]>;
  /** New sort_index for tracks whose existing thread_sort_index metadata must change. */
  sortRewrite: Map<number, number>;
  /** Metadata events to append: names and sort indices of new lanes. */
  extraMetadata: MetaEvent[];
  summary: FixSummary;
}

function displayTid(tidRaw: string): string {
  return tidRaw.startsWith('"') ? (JSON.parse(tidRaw) as string) : tidRaw;
}

/** The name a track shows in Perfetto: its thread_name, else the tid. */
export function trackDisplayName(t: TrackInfo): string {
  return t.threadName?.trimEnd() || displayTid(t.tidRaw);
}

/** A suspect device slice of an indexed trace (see analysis/suspect.ts). */
export interface IndexSuspect extends SuspectSlice {
  /** Slice ordinal (into index.slices()). */
  slice: number;
  /** Event index in the file. */
  event: number;
}

/**
 * The device slices of an indexed trace whose duration cannot be real, in file order; each is
 * counted under the `suspect_device_duration` diagnostic of the index, the first with examples.
 */
export function suspectSlices(index: TraceIndex): IndexSuspect[] {
  const dev = index.deviceSlices();
  if (dev.input.count === 0) return [];
  const out: IndexSuspect[] = findSuspectDurations(dev.input).map((x) => ({ ...x, slice: dev.slice[x.index]!, event: dev.event[x.index]! }));
  const slices = index.slices();
  for (const x of out) {
    const info = index.tracks[slices.track[x.slice]!]!;
    index.diagnostics.add('suspect_device_duration', {
      file: index.file, index: x.event, name: dev.input.names[dev.input.name[x.index]!],
      ts: addNsToMicrosText(String(index.time.baseUs ?? 0), BigInt(Math.round(slices.ts[x.slice]!))).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, ''),
      detail: `on pid ${displayTid(info.pidRaw)} tid ${displayTid(info.tidRaw)} (${trackDisplayName(info)}): ${x.reason}`,
    });
  }
  return out;
}

/** The new tid of a slice or flow on planned track `track`, lane `lane`; undefined if it stays. */
export function movedTid(plan: LanePlan, track: number, lane: number): string | undefined {
  if (track >= plan.trackCount) return plan.suspectTid.get(track)?.[lane];
  return lane === 0 ? undefined : plan.laneTid.get(track)?.[lane - 1];
}

/**
 * Suspect slices go to a track of their own per original track (`suspectOf[t]`, a new track id),
 * and the flow events bound to them (as the lanes of the unchanged trace bind them) go along.
 */
function withSuspectTracks(index: TraceIndex, lanes: LaneAssignment, suspects: IndexSuspect[]): { sliceTrack: Int32Array; flowTrack: Int32Array; suspectOf: Map<number, number> } {
  const slices = index.slices();
  const flows = index.flows();
  const sliceTrack = slices.track.slice();
  const suspectOf = new Map<number, number>();
  const isSuspect = new Uint8Array(slices.count);
  for (const x of suspects) {
    const t = slices.track[x.slice]!;
    let v = suspectOf.get(t);
    if (v === undefined) suspectOf.set(t, (v = index.tracks.length + suspectOf.size));
    sliceTrack[x.slice] = v;
    isSuspect[x.slice] = 1;
  }
  const flowTrack = flows.track.slice();
  for (let i = 0; i < flows.count; i++) {
    const s = lanes.flowSlice[i]!;
    if (s >= 0 && isSuspect[s] === 1) flowTrack[i] = sliceTrack[s]!;
  }
  return { sliceTrack, flowTrack, suspectOf };
}

export function planLanes(index: TraceIndex): LanePlan {
  const slices = index.slices();
  const flows = index.flows();
  const trackCount = index.tracks.length;
  let lanes = assignLanes(slices, flows, trackCount, orderByTrack(slices, trackCount));
  let sliceTrack = slices.track;
  let flowTrack = flows.track;
  let suspectOf = new Map<number, number>();
  const suspects = suspectSlices(index);
  if (suspects.length > 0) {
    // plan again with the suspect slices on their own tracks: the others then nest as they would
    // without them (a suspect that contains later kernels would otherwise hold them as children)
    ({ sliceTrack, flowTrack, suspectOf } = withSuspectTracks(index, lanes, suspects));
    const all = trackCount + suspectOf.size;
    const planned = { count: slices.count, track: sliceTrack, ts: slices.ts, dur: slices.dur };
    lanes = assignLanes(planned, { ...flows, track: flowTrack }, all, orderByTrack(planned, all));
  }

  // Group touched tracks by pid to allocate tids and sort indices per process.
  const byPid = new Map<string, number[]>();
  for (let t = 0; t < trackCount; t++) {
    if (lanes.lanes[t]! > 1 || suspectOf.has(t)) {
      const pid = index.tracks[t]!.pidRaw;
      let l = byPid.get(pid);
      if (!l) byPid.set(pid, (l = []));
      l.push(t);
    }
  }
  const laneTid = new Map<number, string[]>();
  const suspectTid = new Map<number, string[]>();
  const sortRewrite = new Map<number, number>();
  const extraMetadata: MetaEvent[] = [];
  const pids = [...byPid.keys()].sort();
  for (const pid of pids) {
    const touched = byPid.get(pid)!.sort((a, b) => compareTid(index.tracks[a]!.tidRaw, index.tracks[b]!.tidRaw));
    const inPid: number[] = [];
    for (let t = 0; t < trackCount; t++) if (index.tracks[t]!.pidRaw === pid) inPid.push(t);
    const newLanes = (t: number): number => lanes.lanes[t]! - 1 + (suspectOf.has(t) ? lanes.lanes[suspectOf.get(t)!]! : 0);
    const newTid = tidAllocator(inPid.map((t) => index.tracks[t]!.tidRaw), touched.reduce((n, t) => n + newLanes(t), 0));
    const baseSort = (t: number): number => {
      const info = index.tracks[t]!;
      if (info.sortIndex !== undefined) return info.sortIndex;
      const n = Number(info.tidRaw);
      return Number.isSafeInteger(n) ? n : 0;
    };
    // Every thread of this process gets its rank in the (sort index, tid) order as its new sort
    // index, and each new lane the next rank right after its original track: lanes sit under
    // their track, the other threads keep their relative order, and indices stay small.
    inPid.sort((a, b) => baseSort(a) - baseSort(b) || compareTid(index.tracks[a]!.tidRaw, index.tracks[b]!.tidRaw));
    let rank = 0;
    for (const t of inPid) {
      const info = index.tracks[t]!;
      const s = rank++;
      if (info.sortIndex !== undefined) sortRewrite.set(t, s);
      else extraMetadata.push({ name: 'thread_sort_index', pidRaw: pid, tidRaw: info.tidRaw, args: { sort_index: s } });
      const name = trackDisplayName(info);
      // a new track right after the others of t: its tid, name and sort index
      const lane = (suffix: string): string => {
        const tid = info.tidRaw.startsWith('"') ? JSON.stringify(`${displayTid(info.tidRaw)} (${suffix})`) : newTid();
        extraMetadata.push({ name: 'thread_name', pidRaw: pid, tidRaw: tid, args: { name: `${name} (${suffix})` } });
        extraMetadata.push({ name: 'thread_sort_index', pidRaw: pid, tidRaw: tid, args: { sort_index: rank++ } });
        return tid;
      };
      const n = lanes.lanes[t]!;
      if (n > 1) {
        const tids: string[] = [];
        for (let l = 1; l < n; l++) tids.push(lane(`overlap ${l}`));
        laneTid.set(t, tids);
      }
      const v = suspectOf.get(t);
      if (v !== undefined) {
        const tids: string[] = [];
        for (let l = 0; l < lanes.lanes[v]!; l++) tids.push(lane(l === 0 ? 'suspect duration' : `suspect duration, overlap ${l}`));
        suspectTid.set(v, tids);
      }
    }
  }
  const plan = { lanes, sliceTrack, flowTrack, trackCount, laneTid, suspectTid, sortRewrite, extraMetadata };
  return { ...plan, summary: summarize(index, plan, byPid, suspectOf.size) };
}

/**
 * New numeric tids for a process: after its largest tid when that stays a small, exact integer
 * (viewers read tids as 32-bit), else the smallest integers no thread of the process uses.
 */
function tidAllocator(tidsRaw: string[], needed: number): () => string {
  const used = new Set<number>();
  let max = 0;
  for (const raw of tidsRaw) {
    const n = Number(raw);
    if (Number.isSafeInteger(n)) { used.add(n); if (n > max) max = n; } else if (/^-?\d+$/.test(raw)) max = Infinity;
  }
  let next = max + needed < INT32_MAX ? max + 1 : 1;
  return () => {
    while (used.has(next)) next++;
    used.add(next);
    return String(next++);
  };
}

function compareTid(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

function summarize(index: TraceIndex, plan: Omit<LanePlan, 'summary'>, byPid: Map<string, number[]>, suspectTracks: number): FixSummary {
  const { lanes, trackCount } = plan;
  const slices = index.slices();
  const movedPerTrack = new Map<number, number>();
  const movedPerCat = new Map<number, number>();
  let slicesMoved = 0;
  let suspectSliceCount = 0;
  for (let i = 0; i < slices.count; i++) {
    if (plan.sliceTrack[i]! >= trackCount) suspectSliceCount++;
    else if (lanes.sliceLane[i]! > 0) {
      slicesMoved++;
      const c = slices.cat[i];
      if (c !== undefined) movedPerCat.set(c, (movedPerCat.get(c) ?? 0) + 1);
      movedPerTrack.set(slices.track[i]!, (movedPerTrack.get(slices.track[i]!) ?? 0) + 1);
    }
  }
  let flowsMoved = 0;
  let suspectFlows = 0;
  for (let i = 0; i < lanes.flowLane.length; i++) {
    if (plan.flowTrack[i]! >= trackCount) suspectFlows++;
    else if (lanes.flowLane[i]! > 0) flowsMoved++;
  }
  const touched = [...byPid.values()].flat().filter((t) => lanes.lanes[t]! > 1);
  return {
    suspect: { slices: suspectSliceCount, tracks: suspectTracks, flowsMoved: suspectFlows },
    tracksTouched: touched.length,
    lanesAdded: touched.reduce((n, t) => n + lanes.lanes[t]! - 1, 0),
    slicesMoved,
    flowsMoved,
    byCategory: [...movedPerCat].map(([c, moved]) => ({ category: index.catName(c), moved })).sort((a, b) => b.moved - a.moved || a.category.localeCompare(b.category)),
    tracks: touched.map((t) => {
      const info = index.tracks[t]!;
      return { pid: displayTid(info.pidRaw), tid: displayTid(info.tidRaw), name: trackDisplayName(info), lanes: lanes.lanes[t]!, moved: movedPerTrack.get(t) ?? 0 };
    }),
  };
}

/** A replacement of input bytes [at, end) (absolute offsets) by text. */
export interface SplicePatch {
  at: number;
  end: number;
  text: string;
}

/**
 * The new tids of the moved slices and flows as byte patches (needs the index's tid spans),
 * in offset order.
 */
export function movedTidPatches(index: TraceIndex, plan: LanePlan): SplicePatch[] {
  const out: SplicePatch[] = [];
  const spans = index.tidSpans();
  const add = (lanesOf: Uint16Array, trackOf: Int32Array, at: Float64Array, len: Uint16Array): void => {
    for (let i = 0; i < lanesOf.length; i++) {
      if (at[i]! < 0) continue;
      const tid = movedTid(plan, trackOf[i]!, lanesOf[i]!);
      if (tid !== undefined) out.push({ at: at[i]!, end: at[i]! + len[i]!, text: tid });
    }
  };
  add(plan.lanes.sliceLane, plan.sliceTrack, spans.sliceAt, spans.sliceLen);
  add(plan.lanes.flowLane, plan.flowTrack, spans.flowAt, spans.flowLen);
  return out.sort((a, b) => a.at - b.at);
}

/**
 * The plan as byte patches on the input: new tids of moved slices and flows, rewritten sort
 * indices, and the new metadata events inserted before the ']' that closes the events array.
 * Sorted by offset.
 */
export function lanePatches(index: TraceIndex, plan: LanePlan, eventsClose: number, eventCount: number): SplicePatch[] {
  const out = movedTidPatches(index, plan);
  for (const [t, v] of plan.sortRewrite) {
    for (const [at, end] of index.tracks[t]!.sortIndexSpans ?? []) out.push({ at, end, text: String(v) });
  }
  if (plan.extraMetadata.length > 0 && eventsClose >= 0) {
    const lead = eventCount > 0 ? ',\n' : '\n';
    out.push({ at: eventsClose, end: eventsClose, text: lead + plan.extraMetadata.map((m) => renderMeta(m)).join(',\n') + '\n' });
  }
  return out.sort((a, b) => a.at - b.at || a.end - b.end);
}
