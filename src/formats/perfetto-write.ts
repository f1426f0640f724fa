/**
 * A Chrome-trace JSON file to Perfetto's native format (a `Trace` of `TracePacket`s with
 * `TrackDescriptor`s and `TrackEvent`s), in two streaming passes like `fix`:
 *
 * 1. index the trace (TraceIndex: a few bytes per slice and flow) plus a 64-bit id per flow event,
 *    the counters and the tracks with instants; plan the overlap lanes (planLanes, as `fix`);
 * 2. write every track descriptor, then scan again and write each event as it comes: a slice as a
 *    TYPE_SLICE_BEGIN packet (name, category, args, flows) and, later, a TYPE_SLICE_END packet.
 *
 * Track tree (Perfetto's "Grouping Tracks with Hierarchies", docs/getting-started/converting.md):
 * [rank (merged traces)] > process > thread or GPU stream > its overlap / suspect-duration lanes.
 * All are plain tracks (no Process/ThreadDescriptor: a track whose parent is a process or thread
 * track is not nested under it, see track_descriptor.proto), each parent orders its children
 * EXPLICITly by `sibling_order_rank`, and no two siblings are ever merged by name.
 *
 * Why the order of packets matters: trace processor sorts packets by (timestamp, position in the
 * file) (TraceSorter), then an END closes the innermost open slice of its track. So, on one
 * track and at one timestamp, ENDs of slices ending there must come before BEGINs starting
 * there, and BEGINs of slices starting together must come outermost first. ENDs wait in a heap
 * and are written before the first BEGIN at or after their time; a slice whose file position is
 * before such a slice of its own lane (rare: equal timestamps written out of order) is held back
 * until that slice was written (`holds`). Memory: the heap of open slices and the held packets.
 */
import { F, type ScanHandler, type ScannedEvent } from '../io/scanner.js';
import { argsOf, hasByte, phaseOf, rawField } from '../io/fields.js';
import { TraceIndex, eventKind, KIND_FLOW, KIND_SLICE } from './trace-index.js';
import { TimeBase } from '../model/time.js';
import { GrowableF64, GrowableU32, GrowableU8 } from '../model/growable.js';
import { ByteInterner } from '../model/interner.js';
import { planLanes, trackDisplayName, type FixSummary, type LanePlan } from '../transforms/fix-plan.js';
import { orderByTrack } from '../transforms/lanes.js';
import { ProtoWriter } from '../io/protobuf.js';

const PH_i = 0x69, PH_I = 0x49, PH_C = 0x43, PH_s = 0x73, PH_f = 0x66, PH_M = 0x4d;
const TWO32 = 4294967296;

// Field numbers (proto/perfetto/perfetto_trace.proto).
const TRACE_PACKET = 1;
const P_TIMESTAMP = 8, P_SEQ_ID = 10, P_TRACK_EVENT = 11, P_INTERNED = 12, P_SEQ_FLAGS = 13, P_TRACK_DESC = 60;
const TD_UUID = 1, TD_NAME = 2, TD_PARENT = 5, TD_COUNTER = 8, TD_CHILD_ORDERING = 11, TD_SIBLING_RANK = 12, TD_DESCRIPTION = 14, TD_MERGE = 15;
const TE_CATEGORY_IIDS = 3, TE_DEBUG = 4, TE_TYPE = 9, TE_NAME_IID = 10, TE_TRACK_UUID = 11, TE_COUNTER_VALUE = 30, TE_DOUBLE_COUNTER = 44, TE_FLOW_IDS = 47, TE_TERM_FLOW_IDS = 48;
const DA_NAME_IID = 1, DA_BOOL = 2, DA_UINT = 3, DA_INT = 4, DA_DOUBLE = 5, DA_STRING = 6, DA_LEGACY_JSON = 9, DA_NAME = 10, DA_DICT = 11, DA_ARRAY = 12;
const ID_CATEGORIES = 1, ID_NAMES = 2, ID_DEBUG_NAMES = 3, IS_IID = 1, IS_NAME = 2;
const TYPE_BEGIN = 1, TYPE_END = 2, TYPE_INSTANT = 3, TYPE_COUNTER = 4;
const SEQ_CLEARED = 1, SEQ_NEEDS = 2;
const CHILD_ORDERING_EXPLICIT = 3, MERGE_NONE = 2;
const SEQ_ID = 1;
/** Interned strings kept per sequence before the incremental state is cleared (bounds memory). */
const INTERN_LIMIT = 1 << 17;
const FLUSH_AT = 4 << 20;
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** Where the packets go (an OutputFile, or a collector in tests). */
export interface PacketSink {
  write(data: Buffer): void;
}

export interface PerfettoSummary {
  /** Slices written (BEGIN/END pairs). */
  slices: number;
  instants: number;
  counterValues: number;
  /** Flow ends attached to slices (flow_ids / terminating_flow_ids). */
  flowEnds: number;
  /** Flow events that bind to no slice (not written). */
  flowsUnbound: number;
  tracks: number;
  /** Events of phases not converted, by phase (e.g. B/E, b/e, P). */
  skipped: Record<string, number>;
  /** Slice BEGINs held back to keep begin/end order at equal timestamps. */
  held: number;
  /** Times the interning state was cleared to bound memory. */
  internResets: number;
  fix: FixSummary;
}

const display = (raw: string): string => {
  if (!raw.startsWith('"')) return raw;
  try { return JSON.parse(raw) as string; } catch { return raw; }
};

function compareTid(a: string, b: string): number {
  const x = Number(display(a));
  const y = Number(display(b));
  if (Number.isFinite(x) && Number.isFinite(y) && x !== y) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Two 32-bit hashes of `cat \x01 id` (id without quotes): a 64-bit flow id, never 0. */
function flowHash(b: Buffer, cs: number, ce: number, is: number, ie: number): [number, number] {
  if (is >= 0 && b[is] === 0x22) { is++; ie--; }
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  const mix = (c: number): void => {
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  };
  for (let i = cs; i < ce; i++) mix(b[i]!);
  mix(1);
  for (let i = is; i < ie; i++) mix(b[i]!);
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35) ^ (h2 >>> 16);
  const hi = h2 >>> 0;
  const lo = h1 >>> 0;
  return hi === 0 && lo === 0 ? [0, 1] : [hi, lo];
}

/** Decimal µs text b[s,e) (optionally quoted) as integer ns relative to baseUs (sub-ns digits dropped). */
export function relNs(b: Uint8Array, s: number, e: number, baseUs: number): number {
  if (b[s] === 0x22) { s++; e--; }
  let neg = false;
  if (b[s] === 0x2d) { neg = true; s++; }
  let i = s;
  let v = 0;
  while (i < e && b[i]! >= 0x30 && b[i]! <= 0x39) v = v * 10 + (b[i++]! - 0x30);
  if (i === s) return NaN;
  let frac = 0;
  if (i < e && b[i] === 0x2e) {
    i++;
    let k = 0;
    for (; i < e && b[i]! >= 0x30 && b[i]! <= 0x39; i++, k++) if (k < 3) frac = frac * 10 + (b[i]! - 0x30);
    for (; k < 3; k++) frac *= 10;
  }
  if (i < e) {
    // exponent or other: through a double (rare; not Kineto's format)
    const t = Number(Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('latin1'));
    return Number.isFinite(t) ? Math.floor((neg ? -t : t) * 1000 - baseUs * 1000) : NaN;
  }
  return neg ? (-v - baseUs) * 1000 - frac : (v - baseUs) * 1000 + frac;
}

/** End of the JSON value starting at b[i] (validated by the scanner already). */
function valueEnd(b: Buffer, i: number, e: number): number {
  const c = b[i];
  if (c === 0x22) return stringEnd(b, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < e; j++) {
      const d = b[j];
      if (d === 0x22) { j = stringEnd(b, j) - 1; continue; }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) { if (--depth === 0) return j + 1; }
    }
    return e;
  }
  let j = i;
  while (j < e && b[j] !== 0x2c && b[j] !== 0x7d && b[j] !== 0x5d && b[j] !== 0x20 && b[j] !== 0x0a && b[j] !== 0x0d && b[j] !== 0x09) j++;
  return j;
}

function stringEnd(b: Buffer, i: number): number {
  let q = i;
  for (;;) {
    q = b.indexOf(0x22, q + 1);
    if (q < 0) return b.length;
    let k = q - 1;
    while (b[k] === 0x5c) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
  }
}

const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Calls fn(keyStart, keyEnd, valueStart, valueEnd) for the members of the object at b[s,e)
 * (key spans include the quotes), or for the elements of an array (key spans -1).
 */
function forMembers(b: Buffer, s: number, e: number, fn: (ks: number, ke: number, vs: number, ve: number) => void): void {
  const obj = b[s] === 0x7b;
  let i = s + 1;
  for (;;) {
    while (i < e && (isWs(b[i]) || b[i] === 0x2c)) i++;
    if (i >= e || b[i] === 0x7d || b[i] === 0x5d) return;
    let ks = -1;
    let ke = -1;
    if (obj) {
      ks = i;
      ke = stringEnd(b, i);
      i = ke;
      while (i < e && b[i] !== 0x3a) i++;
      i++;
      while (i < e && isWs(b[i])) i++;
    }
    const ve = valueEnd(b, i, e);
    fn(ks, ke, i, ve);
    i = ve;
  }
}

/** The decoded string of the JSON string token b[s,e) (with quotes). */
function jsonString(b: Buffer, s: number, e: number): string {
  if (!hasByte(b, 0x5c, s, e)) return b.toString('utf8', s + 1, e - 1);
  return JSON.parse(b.toString('utf8', s, e)) as string;
}

/** Writes a JSON string token as a proto string field: bytes copied unless it has escapes. */
function writeJsonString(w: ProtoWriter, field: number, b: Buffer, s: number, e: number): void {
  if (!hasByte(b, 0x5c, s, e)) w.bytes(field, b, s + 1, e - 1);
  else w.string(field, JSON.parse(b.toString('utf8', s, e)) as string);
}

/** The value fields of a DebugAnnotation for the JSON value b[s,e). */
function writeValue(w: ProtoWriter, b: Buffer, s: number, e: number): void {
  const c = b[s];
  if (c === 0x22) { writeJsonString(w, DA_STRING, b, s, e); return; }
  if (c === 0x7b || c === 0x5b) {
    const obj = c === 0x7b;
    let i = s + 1;
    while (i < e && isWs(b[i])) i++;
    // an empty container has no entries to tell a dict from an array: kept as its JSON
    if (b[i] === 0x7d || b[i] === 0x5d) { w.string(DA_LEGACY_JSON, obj ? '{}' : '[]'); return; }
    forMembers(b, s, e, (ks, ke, vs, ve) => {
      const m = w.begin(obj ? DA_DICT : DA_ARRAY);
      if (obj) writeJsonString(w, DA_NAME, b, ks, ke);
      writeValue(w, b, vs, ve);
      w.end(m);
    });
    return;
  }
  if (c === 0x74) { w.uint(DA_BOOL, 1); return; }
  if (c === 0x66) { w.uint(DA_BOOL, 0); return; }
  if (c === 0x6e) { w.string(DA_LEGACY_JSON, 'null'); return; }
  // a number: integers exactly (int64, else uint64), others as doubles
  let integer = true;
  for (let i = s; i < e; i++) {
    const d = b[i]!;
    if (!((d >= 0x30 && d <= 0x39) || (i === s && d === 0x2d))) { integer = false; break; }
  }
  const text = b.toString('latin1', s, e);
  if (integer) {
    if (e - s <= 15) { w.int(DA_INT, Number(text)); return; }
    const v = BigInt(text);
    if (v <= INT64_MAX && v >= -INT64_MAX - 1n) { w.tag(DA_INT, 0); w.varintBig(v); return; }
    if (v > 0n && v <= UINT64_MAX) { w.tag(DA_UINT, 0); w.varintBig(v); return; }
    w.string(DA_LEGACY_JSON, text);
    return;
  }
  w.double(DA_DOUBLE, Number(text));
}

interface CounterTrack {
  pidRaw: string;
  name: string;
  uuid: number;
}

/** Pass 1: the index, plus what the TrackEvent output needs beyond `fix`. */
class Pass1 implements ScanHandler {
  readonly index: TraceIndex;
  private readonly time = new TimeBase();
  readonly flowHi = new GrowableU32();
  readonly flowLo = new GrowableU32();
  /** 0 start (s), 1 step (t), 2 finish (f). */
  readonly flowPh = new GrowableU8();
  readonly instantTracks = new Set<number>();
  /** Counter tracks by `pid \x01 name \x01 key`, in order of appearance. */
  readonly counters = new Map<string, CounterTrack>();
  readonly skipped: Record<string, number> = {};
  /** Exact ns of each slice (ts relative to the index's base, dur), replacing the index's after pass 1. */
  private readonly ts = new GrowableF64();
  private readonly dur = new GrowableF64();

  /** Puts the exact integer ns into the index's slice arrays (lanes are then planned on them). */
  exactTimes(): void {
    const s = this.index.slices();
    if (s.count !== this.ts.length) throw new Error('perfetto: slice count mismatch between passes');
    s.ts.set(this.ts.view());
    s.dur.set(this.dur.view());
  }

  constructor(name: string) {
    this.index = new TraceIndex(name, { keep: { category: true } });
  }

  topLevel(entry: Parameters<TraceIndex['topLevel']>[0], after: boolean): void { this.index.topLevel(entry, after); }

  event(ev: ScannedEvent): void {
    this.index.event(ev);
    const kind = eventKind(ev, this.time);
    const f = ev.f;
    if (kind === KIND_FLOW) {
      const [hi, lo] = flowHash(ev.buf, f[2 * F.cat]!, f[2 * F.cat + 1]!, f[2 * F.id]!, f[2 * F.id + 1]!);
      this.flowHi.push(hi);
      this.flowLo.push(lo);
      const ph = phaseOf(ev);
      this.flowPh.push(ph === PH_s ? 0 : ph === PH_f ? 2 : 1);
      return;
    }
    if (kind === KIND_SLICE) {
      // exact integer ns from the decimal text (the index's doubles can round 0.0999… µs up)
      const baseUs = this.index.time.baseUs ?? 0;
      this.ts.push(relNs(ev.buf, f[2 * F.ts]!, f[2 * F.ts + 1]!, baseUs));
      const ds = f[2 * F.dur]!;
      const d = ds < 0 ? 0 : relNs(ev.buf, ds, f[2 * F.dur + 1]!, 0);
      this.dur.push(Number.isFinite(d) && d > 0 ? d : 0);
      return;
    }
    const ph = phaseOf(ev);
    if (ph === PH_M || ph === 0) return;
    const ts = f[2 * F.ts]!;
    if (ts < 0 || Number.isNaN(this.time.ns(ev.buf, ts, f[2 * F.ts + 1]!))) return;
    if (ph === PH_i || ph === PH_I) {
      const t = this.index.findTrack(rawField(ev, F.pid) ?? '', rawField(ev, F.tid) ?? '');
      if (t !== undefined) this.instantTracks.add(t);
      return;
    }
    if (ph === PH_C) {
      let args: Record<string, unknown> | undefined;
      try { args = argsOf(ev); } catch { args = undefined; }
      const pid = rawField(ev, F.pid) ?? '';
      const name = rawField(ev, F.name) === undefined ? '' : display(rawField(ev, F.name)!);
      for (const [k, v] of Object.entries(args ?? {})) {
        if (typeof v !== 'number') continue;
        const key = `${pid}\u0001${name}\u0001${k}`;
        if (!this.counters.has(key)) this.counters.set(key, { pidRaw: pid, name: `${name} ${k}`, uuid: 0 });
      }
      return;
    }
    const p = String.fromCharCode(ph);
    this.skipped[p] = (this.skipped[p] ?? 0) + 1;
  }
}

/** One track descriptor to write. */
interface TrackNode {
  uuid: number;
  name: string;
  parent: number;
  rank: number;
  description?: string;
  counter?: boolean;
  hasChildren: boolean;
}

/** The track tree: uuids of every planned (track, lane), with descriptors in output order. */
interface TrackTree {
  nodes: TrackNode[];
  /** uuid of planned track pt, lane l = laneBase[pt] + l (0 when the track is not written). */
  laneBase: Float64Array;
  /** uuid of lane 0 of original track t (instants). */
  trackUuid: Float64Array;
}

function buildTree(p1: Pass1, plan: LanePlan): TrackTree {
  const index = p1.index;
  const slices = index.slices();
  const trackCount = index.tracks.length;
  const planned = plan.lanes.lanes.length;
  const suspectOrig = new Int32Array(planned).fill(-1);
  const has = new Uint8Array(trackCount);
  for (let i = 0; i < slices.count; i++) {
    const t = slices.track[i]!;
    has[t] = 1;
    const pt = plan.sliceTrack[i]!;
    if (pt >= trackCount) suspectOrig[pt] = t;
  }
  for (const t of p1.instantTracks) has[t] = 1;
  // ranks of a merged trace: traceforgeMerge.ranks[].pids
  const rankOfPid = new Map<string, number>();
  const rankLabels: string[] = [];
  const merge = index.headerValue('traceforgeMerge') as { ranks?: { label?: string; pids?: Record<string, unknown> }[] } | undefined;
  for (const r of merge?.ranks ?? []) {
    const k = rankLabels.length;
    rankLabels.push(r.label ?? `rank ${k}`);
    for (const pid of Object.keys(r.pids ?? {})) rankOfPid.set(pid, k);
  }
  // processes with something to show, in (process_sort_index, pid) order
  const pidOrder = [...index.pids];
  const firstSeen = new Map(pidOrder.map((p, i) => [p, i]));
  const used = new Set<string>();
  for (let t = 0; t < trackCount; t++) if (has[t] === 1) used.add(index.tracks[t]!.pidRaw);
  for (const c of p1.counters.values()) used.add(c.pidRaw);
  const sortKey = (p: string): number => {
    const s = index.processSort.get(p);
    if (s !== undefined) return s;
    const n = Number(p);
    return Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER;
  };
  const pids = [...used].sort((a, b) => (rankOfPid.get(a) ?? -1) - (rankOfPid.get(b) ?? -1) || sortKey(a) - sortKey(b) || compareTid(a, b) || firstSeen.get(a)! - firstSeen.get(b)!);
  const nodes: TrackNode[] = [];
  let next = 1;
  const laneBase = new Float64Array(planned);
  const trackUuid = new Float64Array(trackCount);
  const rankUuid = rankLabels.map(() => next++);
  const rankEmitted = new Set<number>();
  const childRank = new Map<number, number>();
  const byUuid = new Map<number, TrackNode>();
  const add = (node: Omit<TrackNode, 'rank' | 'hasChildren'>): TrackNode => {
    const rank = childRank.get(node.parent) ?? 0;
    childRank.set(node.parent, rank + 1);
    const n: TrackNode = { ...node, rank, hasChildren: false };
    const parent = byUuid.get(node.parent);
    if (parent) parent.hasChildren = true;
    nodes.push(n);
    byUuid.set(n.uuid, n);
    return n;
  };
  // threads per pid
  const byPid = new Map<string, number[]>();
  for (let t = 0; t < trackCount; t++) {
    if (has[t] !== 1) continue;
    const p = index.tracks[t]!.pidRaw;
    let l = byPid.get(p);
    if (!l) byPid.set(p, (l = []));
    l.push(t);
  }
  const suspectsOf = new Map<number, number[]>();
  for (let v = trackCount; v < planned; v++) {
    const o = suspectOrig[v]!;
    if (o < 0) continue;
    let l = suspectsOf.get(o);
    if (!l) suspectsOf.set(o, (l = []));
    l.push(v);
  }
  const counters = [...p1.counters.values()];
  for (const pid of pids) {
    const k = rankOfPid.get(pid);
    let parent = 0;
    if (k !== undefined) {
      parent = rankUuid[k]!;
      if (!rankEmitted.has(k)) {
        rankEmitted.add(k);
        add({ uuid: parent, name: rankLabels[k]!, parent: 0, description: `rank ${rankLabels[k]!}` });
      }
    }
    const name = index.processNames.get(pid);
    const labels = index.processLabels.get(pid);
    let pname = name ?? labels ?? `pid ${display(pid)}`;
    if (labels !== undefined && !pname.includes(labels)) pname += ` [${labels}]`;
    const proc = add({ uuid: next++, name: pname, parent, description: `pid ${display(pid)}` });
    const threads = byPid.get(pid) ?? [];
    const tsort = (t: number): number => {
      const info = index.tracks[t]!;
      if (info.sortIndex !== undefined) return info.sortIndex;
      const n = Number(display(info.tidRaw));
      return Number.isSafeInteger(n) ? n : 0;
    };
    threads.sort((a, b) => tsort(a) - tsort(b) || compareTid(index.tracks[a]!.tidRaw, index.tracks[b]!.tidRaw));
    for (const t of threads) {
      const info = index.tracks[t]!;
      const tname = trackDisplayName(info);
      const node = add({ uuid: next++, name: tname, parent: proc.uuid, description: `pid ${display(pid)} tid ${display(info.tidRaw)}` });
      trackUuid[t] = node.uuid;
      laneBase[t] = node.uuid;
      const n = plan.lanes.lanes[t]!;
      // lanes 1..n-1 get the uuids right after the track's: laneBase[t] + l
      for (let l = 1; l < n; l++) add({ uuid: next++, name: `${tname} (overlap ${l})`, parent: node.uuid });
      for (const v of suspectsOf.get(t) ?? []) {
        laneBase[v] = next;
        for (let l = 0; l < plan.lanes.lanes[v]!; l++) {
          add({ uuid: next++, name: l === 0 ? `${tname} (suspect duration)` : `${tname} (suspect duration, overlap ${l})`, parent: node.uuid });
        }
      }
    }
    for (const c of counters) {
      if (c.pidRaw !== pid) continue;
      c.uuid = next++;
      add({ uuid: c.uuid, name: c.name, parent: proc.uuid, counter: true });
    }
  }
  return { nodes, laneBase, trackUuid };
}

/**
 * Per slice, the file ordinal of the slice it must wait for (-1: none): the slices of its
 * (planned track, lane) that must be written before it — those ending where it starts, and those
 * starting at the same time that sort before it (longer first) — when one of them comes later in
 * the file. Transitive: the value is always a slice that is itself never held.
 */
function holds(p1: Pass1, plan: LanePlan): Int32Array {
  const s = p1.index.slices();
  const planned = plan.lanes.lanes.length;
  const ts = new Float64Array(s.count);
  const dur = new Float64Array(s.count);
  for (let i = 0; i < s.count; i++) { ts[i] = Math.floor(s.ts[i]!); dur[i] = Math.floor(s.dur[i]!); }
  const ord = orderByTrack({ count: s.count, track: plan.sliceTrack, ts, dur }, planned);
  const release = new Int32Array(s.count).fill(-1);
  const lane = plan.lanes.sliceLane;
  for (let t = 0; t < planned; t++) {
    const states = new Map<number, { ts: number; group: number; ends: Map<number, number> }>();
    for (let k = ord.start[t]!; k < ord.start[t + 1]!; k++) {
      const o = ord.order[k]!;
      const l = lane[o]!;
      let st = states.get(l);
      if (!st) states.set(l, (st = { ts: NaN, group: -1, ends: new Map() }));
      const T = ts[o]!;
      if (T !== st.ts) {
        // ends before T can no longer matter
        for (const e of st.ends.keys()) if (e < T) st.ends.delete(e);
        st.ts = T;
        st.group = -1;
      }
      const need = Math.max(st.group, st.ends.get(T) ?? -1);
      if (need > o) release[o] = need;
      const eff = Math.max(o, release[o]!);
      if (eff > st.group) st.group = eff;
      const D = Math.max(0, dur[o]!);
      if (D > 0) st.ends.set(T + D, Math.max(st.ends.get(T + D) ?? -1, eff));
    }
  }
  return release;
}

/** A binary min-heap of pending slice ENDs: (time relative ns, track uuid). */
class EndHeap {
  private t: number[] = [];
  private u: number[] = [];
  get size(): number { return this.t.length; }
  peek(): number { return this.t[0]!; }
  push(time: number, uuid: number): void {
    const t = this.t;
    const u = this.u;
    let i = t.length;
    t.push(time);
    u.push(uuid);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (t[p]! <= time) break;
      t[i] = t[p]!; u[i] = u[p]!;
      i = p;
    }
    t[i] = time; u[i] = uuid;
  }
  /** Removes the smallest; returns its uuid (its time was `peek()`). */
  pop(): number {
    const t = this.t;
    const u = this.u;
    const top = u[0]!;
    const lt = t.pop()!;
    const lu = u.pop()!;
    const n = t.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const a = 2 * i + 1;
        if (a >= n) break;
        const b = a + 1;
        const c = b < n && t[b]! < t[a]! ? b : a;
        if (t[c]! >= lt) break;
        t[i] = t[c]!; u[i] = u[c]!;
        i = c;
      }
      t[i] = lt; u[i] = lu;
    }
    return top;
  }
}

interface Held {
  ord: number;
  ts: number;
  dur: number;
  uuid: number;
  bytes: Buffer;
}

/** Pass 2: events to packets. */
class Pass2 implements ScanHandler {
  private readonly time = new TimeBase();
  private slice = 0;
  private readonly w = new ProtoWriter(FLUSH_AT + (1 << 20));
  private readonly side = new ProtoWriter(1 << 16);
  private names = new ByteInterner();
  private cats = new ByteInterner();
  private argNames = new ByteInterner();
  private clearPending = true;
  private readonly ends = new EndHeap();
  private readonly held = new Map<number, Held[]>();
  private heldCount = 0;
  private readonly originHi: number;
  private readonly originLo: number;
  private readonly baseUs: number;
  private readonly counterUuid = new Map<string, number>();
  readonly summary: Omit<PerfettoSummary, 'fix' | 'skipped' | 'tracks'> = { slices: 0, instants: 0, counterValues: 0, flowEnds: 0, flowsUnbound: 0, held: 0, internResets: 0 };
  /** CSR of bound flows per slice. */
  private readonly flowStart: Uint32Array;
  private readonly flowList: Uint32Array;

  constructor(private readonly p1: Pass1, private readonly plan: LanePlan, private readonly tree: TrackTree, private readonly release: Int32Array, private readonly sink: PacketSink) {
    const index = p1.index;
    this.baseUs = index.time.baseUs ?? 0;
    const rawBase = (index.header.find((h) => h.key === 'baseTimeNanoseconds') ?? index.trailer.find((h) => h.key === 'baseTimeNanoseconds'))?.rawValue.toString('latin1').replace(/"/g, '').trim();
    let origin = (rawBase !== undefined && /^-?\d+$/.test(rawBase) ? BigInt(rawBase) : 0n) + BigInt(this.baseUs) * 1000n;
    if (origin < 0n) origin = 0n;
    this.originHi = Number(origin >> 32n);
    this.originLo = Number(origin & 0xffffffffn);
    for (const [key, c] of p1.counters) this.counterUuid.set(key, c.uuid);
    const n = index.sliceCount;
    const fs = plan.lanes.flowSlice;
    const start = new Uint32Array(n + 1);
    for (let f = 0; f < fs.length; f++) if (fs[f]! >= 0) start[fs[f]! + 1]!++;
    for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
    const fill = start.slice(0, n);
    const list = new Uint32Array(start[n]!);
    for (let f = 0; f < fs.length; f++) {
      const s = fs[f]!;
      if (s >= 0) list[fill[s]!++] = f; else this.summary.flowsUnbound++;
    }
    this.flowStart = start;
    this.flowList = list;
  }

  private timestamp(w: ProtoWriter, rel: number): void {
    const t = this.originLo + rel;
    const carry = Math.floor(t / TWO32);
    const hi = this.originHi + carry;
    w.tag(P_TIMESTAMP, 0);
    if (hi < 0) w.varint(0); else w.varint64(hi, t - carry * TWO32);
  }

  /** Writes the descriptors; call once before scanning. */
  descriptors(nodes: TrackNode[]): void {
    const w = this.w;
    for (const n of nodes) {
      const pk = w.begin(TRACE_PACKET);
      const d = w.begin(P_TRACK_DESC);
      w.uint(TD_UUID, n.uuid);
      w.string(TD_NAME, n.name);
      if (n.parent !== 0) w.uint(TD_PARENT, n.parent);
      if (n.description !== undefined) w.string(TD_DESCRIPTION, n.description);
      if (n.counter) w.end(w.begin(TD_COUNTER));
      if (n.hasChildren) w.uint(TD_CHILD_ORDERING, CHILD_ORDERING_EXPLICIT);
      w.int(TD_SIBLING_RANK, n.rank);
      w.uint(TD_MERGE, MERGE_NONE);
      w.end(d);
      w.uint(P_SEQ_ID, SEQ_ID);
      w.end(pk);
    }
    this.maybeFlush();
  }

  private maybeFlush(): void {
    if (this.w.pos >= FLUSH_AT) { this.sink.write(Buffer.from(this.w.view())); this.w.reset(); }
  }

  finish(): void {
    for (const [, list] of this.held) for (const h of list) this.writeHeld(h); // none expected
    this.held.clear();
    this.flushEnds(Infinity);
    if (this.w.pos > 0) this.sink.write(Buffer.from(this.w.view()));
    this.w.reset();
  }

  private flushEnds(upTo: number): void {
    const w = this.w;
    while (this.ends.size > 0 && this.ends.peek() <= upTo) {
      const t = this.ends.peek();
      const uuid = this.ends.pop();
      const pk = w.begin(TRACE_PACKET);
      this.timestamp(w, t);
      const te = w.begin(P_TRACK_EVENT);
      w.uint(TE_TYPE, TYPE_END);
      w.uint(TE_TRACK_UUID, uuid);
      w.end(te);
      w.uint(P_SEQ_ID, SEQ_ID);
      w.end(pk);
    }
  }

  private maybeResetInterning(): void {
    if (this.heldCount > 0) return;
    if (this.names.size + this.cats.size + this.argNames.size < INTERN_LIMIT) return;
    this.names = new ByteInterner();
    this.cats = new ByteInterner();
    this.argNames = new ByteInterner();
    this.clearPending = true;
    this.summary.internResets++;
  }

  /**
   * One TrackEvent packet into `w`: name, category and args from the event's bytes. New interned
   * strings go into the same packet (`inline`), or into a packet of their own written to the
   * main output right away (held packets, which are written later).
   */
  private eventPacket(w: ProtoWriter, ev: ScannedEvent, type: number, uuid: number, rel: number, slice: number, inline: boolean, counter?: [number, number]): void {
    const b = ev.buf;
    const f = ev.f;
    const n0 = this.names.size, c0 = this.cats.size, a0 = this.argNames.size;
    const pk = w.begin(TRACE_PACKET);
    this.timestamp(w, rel);
    const te = w.begin(P_TRACK_EVENT);
    w.uint(TE_TYPE, type);
    w.uint(TE_TRACK_UUID, uuid);
    const ns = f[2 * F.name]!;
    if (ns >= 0) w.uint(TE_NAME_IID, this.names.intern(b, ns, f[2 * F.name + 1]!) + 1);
    const cs = f[2 * F.cat]!;
    if (cs >= 0) w.uint(TE_CATEGORY_IIDS, this.cats.intern(b, cs, f[2 * F.cat + 1]!) + 1);
    if (counter) {
      const [vs, ve] = counter;
      const text = b.toString('latin1', vs, ve);
      if (/^-?\d{1,15}$/.test(text)) w.int(TE_COUNTER_VALUE, Number(text));
      else w.double(TE_DOUBLE_COUNTER, Number(text));
    } else {
      const as = f[2 * F.args]!;
      if (as >= 0 && b[as] === 0x7b) {
        forMembers(b, as, f[2 * F.args + 1]!, (ks, ke, vs, ve) => {
          const m = w.begin(TE_DEBUG);
          w.uint(DA_NAME_IID, this.argNames.intern(b, ks, ke) + 1);
          writeValue(w, b, vs, ve);
          w.end(m);
        });
      }
    }
    if (slice >= 0) {
      for (let k = this.flowStart[slice]!; k < this.flowStart[slice + 1]!; k++) {
        const fl = this.flowList[k]!;
        w.fixed64(this.p1.flowPh.data[fl] === 2 ? TE_TERM_FLOW_IDS : TE_FLOW_IDS, this.p1.flowHi.data[fl]!, this.p1.flowLo.data[fl]!);
        this.summary.flowEnds++;
      }
    }
    w.end(te);
    w.uint(P_SEQ_ID, SEQ_ID);
    const fresh = this.names.size > n0 || this.cats.size > c0 || this.argNames.size > a0;
    if (fresh && inline) this.internedData(w, n0, c0, a0);
    let flags = SEQ_NEEDS;
    if (this.clearPending && (inline || !fresh)) { flags |= SEQ_CLEARED; this.clearPending = false; }
    w.uint(P_SEQ_FLAGS, flags);
    w.end(pk);
    if (fresh && !inline) {
      const m = this.w;
      const p = m.begin(TRACE_PACKET);
      m.uint(P_SEQ_ID, SEQ_ID);
      this.internedData(m, n0, c0, a0);
      let fl = SEQ_NEEDS;
      if (this.clearPending) { fl |= SEQ_CLEARED; this.clearPending = false; }
      m.uint(P_SEQ_FLAGS, fl);
      m.end(p);
    }
  }

  private internedData(w: ProtoWriter, n0: number, c0: number, a0: number): void {
    const m = w.begin(P_INTERNED);
    const entries = (field: number, it: ByteInterner, from: number): void => {
      for (let id = from; id < it.size; id++) {
        const e = w.begin(field);
        w.uint(IS_IID, id + 1);
        const k = it.key(id);
        if (k[0] === 0x22) writeJsonString(w, IS_NAME, k, 0, k.length);
        else w.bytes(IS_NAME, k, 0, k.length);
        w.end(e);
      }
    };
    entries(ID_CATEGORIES, this.cats, c0);
    entries(ID_NAMES, this.names, n0);
    entries(ID_DEBUG_NAMES, this.argNames, a0);
    w.end(m);
  }

  event(ev: ScannedEvent): void {
    const kind = eventKind(ev, this.time);
    if (kind === KIND_FLOW) return;
    if (kind === KIND_SLICE) { this.sliceEvent(ev, this.slice++); return; }
    const ph = phaseOf(ev);
    if (ph !== PH_i && ph !== PH_I && ph !== PH_C) return;
    const f = ev.f;
    const tsS = f[2 * F.ts]!;
    if (tsS < 0) return;
    const rel = relNs(ev.buf, tsS, f[2 * F.ts + 1]!, this.baseUs);
    if (Number.isNaN(rel)) return;
    this.maybeResetInterning();
    if (ph === PH_C) {
      const as = f[2 * F.args]!;
      if (as < 0 || ev.buf[as] !== 0x7b) return;
      const pid = rawField(ev, F.pid) ?? '';
      const name = rawField(ev, F.name) === undefined ? '' : display(rawField(ev, F.name)!);
      forMembers(ev.buf, as, f[2 * F.args + 1]!, (ks, ke, vs, ve) => {
        const c = ev.buf[vs]!;
        if (!(c === 0x2d || (c >= 0x30 && c <= 0x39))) return;
        const uuid = this.counterUuid.get(`${pid}\u0001${name}\u0001${jsonString(ev.buf, ks, ke)}`);
        if (uuid === undefined || uuid === 0) return;
        this.flushEnds(rel);
        this.eventPacket(this.w, ev, TYPE_COUNTER, uuid, rel, -1, true, [vs, ve]);
        this.summary.counterValues++;
      });
      this.maybeFlush();
      return;
    }
    const t = this.p1.index.findTrack(rawField(ev, F.pid) ?? '', rawField(ev, F.tid) ?? '');
    const uuid = t === undefined ? 0 : this.tree.trackUuid[t]!;
    if (uuid === 0) return;
    this.flushEnds(rel);
    this.eventPacket(this.w, ev, TYPE_INSTANT, uuid, rel, -1, true);
    this.summary.instants++;
    this.maybeFlush();
  }

  private sliceEvent(ev: ScannedEvent, i: number): void {
    const s = this.p1.index.slices();
    const ts = Math.floor(s.ts[i]!);
    const dur = Math.max(0, Math.floor(s.dur[i]!));
    const pt = this.plan.sliceTrack[i]!;
    const uuid = this.tree.laneBase[pt]! + this.plan.lanes.sliceLane[i]!;
    this.summary.slices++;
    const r = this.release[i]!;
    if (r > i) {
      this.side.reset();
      this.eventPacket(this.side, ev, TYPE_BEGIN, uuid, ts, i, false);
      let list = this.held.get(r);
      if (!list) this.held.set(r, (list = []));
      list.push({ ord: i, ts, dur, uuid, bytes: Buffer.from(this.side.view()) });
      this.heldCount++;
      this.summary.held++;
      return;
    }
    this.maybeResetInterning();
    this.flushEnds(ts);
    this.eventPacket(this.w, ev, TYPE_BEGIN, uuid, ts, i, true);
    this.ends.push(ts + dur, uuid);
    const waiting = this.held.get(i);
    if (waiting) {
      this.held.delete(i);
      waiting.sort((a, b) => a.ts - b.ts || b.dur - a.dur || a.ord - b.ord);
      for (const h of waiting) this.writeHeld(h);
    }
    this.maybeFlush();
  }

  private writeHeld(h: Held): void {
    this.flushEnds(h.ts);
    const w = this.w;
    w.ensure(h.bytes.length);
    h.bytes.copy(w.buf, w.pos);
    w.pos += h.bytes.length;
    this.ends.push(h.ts + h.dur, h.uuid);
    this.heldCount--;
  }
}

export interface PerfettoConverter {
  /** Scan handler of pass 1. */
  pass1: ScanHandler;
  /** After pass 1: plans lanes and tracks, writes the descriptors; returns pass 2's handler. */
  plan(): ScanHandler & { finish(): void };
  /** After pass 2. */
  summary(): PerfettoSummary;
  index: TraceIndex;
}

/** The two passes of a JSON → Perfetto conversion, for any byte source. */
export function perfettoConverter(name: string, sink: PacketSink): PerfettoConverter {
  const p1 = new Pass1(name);
  let p2: Pass2 | undefined;
  let plan: LanePlan | undefined;
  let tracks = 0;
  return {
    pass1: p1,
    index: p1.index,
    plan() {
      p1.exactTimes();
      plan = planLanes(p1.index);
      const tree = buildTree(p1, plan);
      tracks = tree.nodes.length;
      p2 = new Pass2(p1, plan, tree, holds(p1, plan), sink);
      p2.descriptors(tree.nodes);
      return p2;
    },
    summary() {
      if (!p2 || !plan) throw new Error('perfettoConverter: summary() before plan()');
      return { ...p2.summary, tracks, skipped: p1.skipped, fix: plan.summary };
    },
  };
}
