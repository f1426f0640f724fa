/**
 * From the first pass (TraceIndex) to a plan for the second: which slices and flows move to
 * which new tid, how the new tracks are named and ordered. Pure: no I/O.
 */
import type { TraceIndex, TrackInfo } from '../formats/trace-index.js';
import { assignLanes, orderByTrack, type LaneAssignment } from './lanes.js';

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
  lanes: LaneAssignment;
  /** Raw JSON text of the tid for (track, lane >= 1): laneTid[track][lane-1]. */
  laneTid: Map<number, string[]>;
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

export function planLanes(index: TraceIndex): LanePlan {
  const slices = index.slices();
  const trackCount = index.tracks.length;
  const ord = orderByTrack(slices, trackCount);
  const lanes = assignLanes(slices, index.flows(), trackCount, ord);

  // Group touched tracks by pid to allocate tids and sort indices per process.
  const byPid = new Map<string, number[]>();
  for (let t = 0; t < trackCount; t++) {
    if (lanes.lanes[t]! > 1) {
      const pid = index.tracks[t]!.pidRaw;
      let l = byPid.get(pid);
      if (!l) byPid.set(pid, (l = []));
      l.push(t);
    }
  }
  const laneTid = new Map<number, string[]>();
  const sortRewrite = new Map<number, number>();
  const extraMetadata: MetaEvent[] = [];
  const pids = [...byPid.keys()].sort();
  for (const pid of pids) {
    const touched = byPid.get(pid)!.sort((a, b) => compareTid(index.tracks[a]!.tidRaw, index.tracks[b]!.tidRaw));
    const inPid: number[] = [];
    for (let t = 0; t < trackCount; t++) if (index.tracks[t]!.pidRaw === pid) inPid.push(t);
    const newTid = tidAllocator(inPid.map((t) => index.tracks[t]!.tidRaw), touched.reduce((n, t) => n + lanes.lanes[t]! - 1, 0));
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
      const n = lanes.lanes[t]!;
      if (n <= 1) continue;
      const tids: string[] = [];
      const name = trackDisplayName(info);
      for (let lane = 1; lane < n; lane++) {
        const tid = info.tidRaw.startsWith('"') ? JSON.stringify(`${displayTid(info.tidRaw)} (overlap ${lane})`) : newTid();
        tids.push(tid);
        extraMetadata.push({ name: 'thread_name', pidRaw: pid, tidRaw: tid, args: { name: `${name} (overlap ${lane})` } });
        extraMetadata.push({ name: 'thread_sort_index', pidRaw: pid, tidRaw: tid, args: { sort_index: rank++ } });
      }
      laneTid.set(t, tids);
    }
  }
  return { lanes, laneTid, sortRewrite, extraMetadata, summary: summarize(index, lanes, byPid) };
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

function summarize(index: TraceIndex, lanes: LaneAssignment, byPid: Map<string, number[]>): FixSummary {
  const slices = index.slices();
  const movedPerTrack = new Map<number, number>();
  const movedPerCat = new Map<number, number>();
  let slicesMoved = 0;
  for (let i = 0; i < slices.count; i++) {
    if (lanes.sliceLane[i]! > 0) {
      slicesMoved++;
      const c = slices.cat[i];
      if (c !== undefined) movedPerCat.set(c, (movedPerCat.get(c) ?? 0) + 1);
      movedPerTrack.set(slices.track[i]!, (movedPerTrack.get(slices.track[i]!) ?? 0) + 1);
    }
  }
  let flowsMoved = 0;
  for (let i = 0; i < lanes.flowLane.length; i++) if (lanes.flowLane[i]! > 0) flowsMoved++;
  const touched = [...byPid.values()].flat();
  return {
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
      const lane = lanesOf[i]!;
      if (lane === 0 || at[i]! < 0) continue;
      const tid = plan.laneTid.get(trackOf[i]!)?.[lane - 1];
      if (tid !== undefined) out.push({ at: at[i]!, end: at[i]! + len[i]!, text: tid });
    }
  };
  add(plan.lanes.sliceLane, index.slices().track, spans.sliceAt, spans.sliceLen);
  add(plan.lanes.flowLane, index.flows().track, spans.flowAt, spans.flowLen);
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
