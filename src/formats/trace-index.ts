/**
 * The first pass over a Chrome-trace JSON file: what every command needs to know before it can
 * rewrite or analyse events, kept in a few bytes per event (typed arrays, no event objects).
 */
import { F, type ScanHandler, type ScannedEvent, type TopLevelEntry } from '../io/scanner.js';
import { argsOf, fieldEquals, objectMemberSpan, phaseOf, rawField, stringField } from '../io/fields.js';
import { TimeBase, durationNs } from '../model/time.js';
import { Diagnostics, type DiagnosticName } from '../model/diagnostics.js';
import { GrowableF64, GrowableI32, GrowableU16, GrowableU32, GrowableU8 } from '../model/growable.js';
import { ByteInterner } from '../model/interner.js';
import { FLOW_ENCLOSING, FLOW_NEXT, type FlowArrays, type SliceArrays } from '../transforms/lanes.js';
import type { DeviceSlices } from '../analysis/suspect.js';

const PH_X = 0x58, PH_M = 0x4d, PH_S = 0x73, PH_T = 0x74, PH_F = 0x66;

export interface TrackInfo {
  /** Raw JSON text of pid and tid (`0`, `"Spans"`). */
  pidRaw: string;
  tidRaw: string;
  threadName?: string;
  sortIndex?: number;
  /** Absolute byte spans of the sort_index values of this track's thread_sort_index events. */
  sortIndexSpans?: [number, number][];
}

export interface IndexOptions {
  /** Pair flow starts and finishes (needed by `check`; costs memory per flow id). */
  pairFlows?: boolean;
  /** Keep each flow event's (cat, id) key by ordinal (needed to filter arrows whole). */
  flowKeys?: boolean;
  /**
   * What to keep per slice beyond track, ts and dur (20 bytes): the event index (`check`'s
   * examples, 4 bytes), the category (`fix`'s summary, 2 bytes), the tid's byte span (`fix`'s
   * blind patching, 10 bytes, also per flow). Off by default, so a merge keeps 20 bytes a slice.
   */
  keep?: { eventIndex?: boolean; category?: boolean; tidSpans?: boolean };
}

export const KIND_OTHER = 0, KIND_SLICE = 1, KIND_FLOW = 2, KIND_META = 3;

/** Categories of device activities (kernels, copies, sets) in Kineto traces, old and new. */
export const DEVICE_CATEGORIES: readonly string[] = ['kernel', 'gpu_memcpy', 'gpu_memset', 'Kernel', 'Memcpy', 'Memset'];

/** Whether the event's cat is one of DEVICE_CATEGORIES. */
function isDeviceActivity(ev: ScannedEvent): boolean {
  const s = ev.f[2 * F.cat]!;
  if (s < 0) return false;
  const n = ev.f[2 * F.cat + 1]! - s - 2;
  if (n !== 6 && n !== 10) return false; // kernel Kernel Memcpy Memset / gpu_memcpy gpu_memset
  for (const c of DEVICE_CATEGORIES) if (fieldEquals(ev, F.cat, c)) return true;
  return false;
}

/** The device slices of a trace (slice ordinals, event indices, names) and the detector's input. */
export interface IndexedDeviceSlices {
  /** Slice ordinal (into `slices()`) of each device slice. */
  slice: Uint32Array;
  /** Event index in the file of each device slice. */
  event: Uint32Array;
  /** Input of findSuspectDurations: the device slices with their track as the stream. */
  input: DeviceSlices;
}

/**
 * What an event is to the lane fix: a slice (X with a numeric ts), a flow (s/t/f with a numeric
 * ts), metadata, or other. Both passes use this one function so their ordinals agree.
 */
export function eventKind(ev: ScannedEvent, time: TimeBase): number {
  const ph = phaseOf(ev);
  if (ph === PH_M) return KIND_META;
  if (ph !== PH_X && ph !== PH_S && ph !== PH_T && ph !== PH_F) return KIND_OTHER;
  const s = ev.f[2 * F.ts]!;
  if (s < 0 || Number.isNaN(time.ns(ev.buf, s, ev.f[2 * F.ts + 1]!))) return KIND_OTHER;
  return ph === PH_X ? KIND_SLICE : KIND_FLOW;
}

export class TraceIndex implements ScanHandler {
  readonly header: TopLevelEntry[] = [];
  readonly trailer: TopLevelEntry[] = [];
  readonly diagnostics = new Diagnostics();
  readonly time = new TimeBase();
  readonly tracks: TrackInfo[] = [];
  private readonly trackIds = new Map<string, number>();
  readonly processNames = new Map<string, string>();
  /** process_labels (e.g. "GPU 0", "CPU") per raw pid. */
  readonly processLabels = new Map<string, string>();
  /** process_sort_index per raw pid. */
  readonly processSort = new Map<string, number>();
  /** Every raw pid seen, in order of first appearance. */
  readonly pids = new Set<string>();
  /** Raw pid/tid bytes -> track id (no strings per event). */
  private readonly trackKeys = new ByteInterner();

  private readonly sTrack = new GrowableI32();
  private readonly sTs = new GrowableF64();
  private readonly sDur = new GrowableF64();
  private readonly sIndex = new GrowableU32(16);
  private readonly sCat = new GrowableU16(16);
  private readonly catKeys = new ByteInterner();
  private readonly sTidAt = new GrowableF64(16);
  private readonly sTidLen = new GrowableU16(16);
  private readonly fTidAt = new GrowableF64(16);
  private readonly fTidLen = new GrowableU16(16);
  /** Device slices (kernel, memcpy, memset): slice ordinal, event index, name id. */
  private readonly dSlice = new GrowableU32(16);
  private readonly dEvent = new GrowableU32(16);
  private readonly dName = new GrowableU32(16);
  private readonly devNames = new ByteInterner();
  private readonly keepIndex: boolean;
  private readonly keepCat: boolean;
  private readonly keepTid: boolean;
  private readonly fTrack = new GrowableI32();
  private readonly fTs = new GrowableF64();
  private readonly fBind = new GrowableU8();
  /** flow key -> bit 1: has start, bit 2: has finish; plus the first event index (for examples). */
  private readonly flowPairs: Map<string, { bits: number; index: number; ts: string | undefined; name: string | undefined }> | undefined;

  /** (cat, id) key of each flow event by ordinal, with the flowKeys option. */
  readonly flowKeys: string[] | undefined;
  eventCount = 0;
  metadataCount = 0;
  /** Some ts is a JSON string (torch_npu's trace_view.json). */
  stringTs = false;
  /** Some flow id is an integer beyond 2^53 (JSON parsers round it; arrows break). */
  unsafeFlowIds = false;
  minTs = Infinity;
  maxEnd = -Infinity;

  constructor(readonly file: string, opts: IndexOptions = {}) {
    if (opts.pairFlows) this.flowPairs = new Map();
    this.keepIndex = opts.keep?.eventIndex ?? false;
    this.keepCat = opts.keep?.category ?? false;
    this.keepTid = opts.keep?.tidSpans ?? false;
    if (opts.flowKeys) this.flowKeys = [];
  }

  topLevel(entry: TopLevelEntry, afterEvents: boolean): void {
    (afterEvents ? this.trailer : this.header).push(entry);
  }

  trackOf(pidRaw: string, tidRaw: string): number {
    const key = pidRaw + '\u0001' + tidRaw;
    let id = this.trackIds.get(key);
    if (id === undefined) {
      this.pids.add(pidRaw);
      id = this.tracks.length;
      this.tracks.push({ pidRaw, tidRaw });
      this.trackIds.set(key, id);
    }
    return id;
  }

  /** Id of an existing track, or undefined. */
  findTrack(pidRaw: string, tidRaw: string): number | undefined {
    return this.trackIds.get(pidRaw + '\u0001' + tidRaw);
  }

  private diag(name: DiagnosticName, ev: ScannedEvent, detail?: string): void {
    this.diagnostics.add(name, { file: this.file, index: ev.index, name: stringField(ev, F.name), ts: rawField(ev, F.ts), detail });
  }

  event(ev: ScannedEvent): void {
    this.eventCount++;
    const ph = phaseOf(ev);
    const f = ev.f;
    const b = ev.buf;
    if (ph === PH_M) { this.metadataCount++; this.metadata(ev); return; }
    if (ph === 0) { this.diag('event_missing_ph', ev); return; }
    const tsS = f[2 * F.ts]!;
    const t = tsS >= 0 ? this.time.ns(b, tsS, f[2 * F.ts + 1]!) : NaN;
    if (Number.isNaN(t)) {
      this.diag('event_missing_ts', ev);
      return;
    }
    if (t < this.minTs) this.minTs = t;
    if (b[tsS] === 0x22) this.stringTs = true;
    const track = this.trackFor(ev);
    if (ph === PH_X) {
      const dS = f[2 * F.dur]!;
      let d = dS >= 0 ? durationNs(b, dS, f[2 * F.dur + 1]!) : NaN;
      if (Number.isNaN(d)) { this.diag('complete_event_missing_dur', ev); d = 0; }
      else if (d < 0) { this.diag('negative_duration', ev); d = 0; }
      this.sTrack.push(track);
      this.sTs.push(t);
      this.sDur.push(d);
      if (this.keepIndex) this.sIndex.push(ev.index);
      if (this.keepCat) {
        const cs = f[2 * F.cat]!;
        this.sCat.push(cs < 0 ? this.catKeys.intern(b, 0, 0) : this.catKeys.intern(b, cs, f[2 * F.cat + 1]!));
      }
      if (this.keepTid) this.tidSpan(ev, this.sTidAt, this.sTidLen);
      if (isDeviceActivity(ev)) {
        this.dSlice.push(this.sTrack.length - 1);
        this.dEvent.push(ev.index);
        const ns = f[2 * F.name]!;
        this.dName.push(ns < 0 ? this.devNames.intern(b, 0, 0) : this.devNames.intern(b, ns, f[2 * F.name + 1]!));
      }
      if (t + d > this.maxEnd) this.maxEnd = t + d;
      return;
    }
    if (t > this.maxEnd) this.maxEnd = t;
    if (ph === PH_S || ph === PH_T || ph === PH_F) {
      this.fTrack.push(track);
      if (this.keepTid) this.tidSpan(ev, this.fTidAt, this.fTidLen);
      this.fTs.push(t);
      this.fBind.push(ph === PH_F && !fieldEquals(ev, F.bp, 'e') ? FLOW_NEXT : FLOW_ENCLOSING);
      const is = f[2 * F.id]!;
      if (is >= 0 && !this.unsafeFlowIds && f[2 * F.id + 1]! - is >= 16) {
        const idText = b.toString('latin1', is, f[2 * F.id + 1]!).replace(/"/g, '');
        if (/^\d+$/.test(idText) && !Number.isSafeInteger(Number(idText))) this.unsafeFlowIds = true;
      }
      this.flowKeys?.push((rawField(ev, F.cat) ?? '') + '\u0001' + (rawField(ev, F.id) ?? ''));
      if (this.flowPairs && ph !== PH_T) {
        const key = (rawField(ev, F.cat) ?? '') + '\u0001' + (rawField(ev, F.id) ?? '');
        const p = this.flowPairs.get(key);
        const bit = ph === PH_S ? 1 : 2;
        if (p) p.bits |= bit;
        else this.flowPairs.set(key, { bits: bit, index: ev.index, ts: rawField(ev, F.ts), name: stringField(ev, F.name) });
      }
    }
  }

  /** Records where the tid value is (absolute offset, length) so pass 2 can patch it blind. */
  private tidSpan(ev: ScannedEvent, at: GrowableF64, len: GrowableU16): void {
    const s = ev.f[2 * F.tid]!;
    const n = ev.f[2 * F.tid + 1]! - s;
    if (s < 0 || n > 0xffff) { at.push(-1); len.push(0); return; }
    at.push(ev.offset + (s - ev.start));
    len.push(n);
  }

  private trackFor(ev: ScannedEvent): number {
    const f = ev.f;
    const ps = f[2 * F.pid]!;
    const tsp = f[2 * F.tid]!;
    if (ps < 0 || tsp < 0) {
      this.diag('event_missing_track', ev);
      return this.trackOf(rawField(ev, F.pid) ?? '', rawField(ev, F.tid) ?? '');
    }
    const id = this.trackKeys.intern(ev.buf, ps, f[2 * F.pid + 1]!, tsp, f[2 * F.tid + 1]!);
    if (id === this.trackOfKey.length) this.trackOfKey.push(this.trackOf(rawField(ev, F.pid)!, rawField(ev, F.tid)!));
    return this.trackOfKey[id]!;
  }
  private readonly trackOfKey: number[] = [];

  private metadata(ev: ScannedEvent): void {
    const isThreadName = fieldEquals(ev, F.name, 'thread_name');
    const isThreadSort = !isThreadName && fieldEquals(ev, F.name, 'thread_sort_index');
    const isProcName = !isThreadName && !isThreadSort && fieldEquals(ev, F.name, 'process_name');
    const isProcLabels = fieldEquals(ev, F.name, 'process_labels');
    const isProcSort = fieldEquals(ev, F.name, 'process_sort_index');
    const pidText = rawField(ev, F.pid);
    if (pidText !== undefined) {
      // every (pid, tid) a viewer may show as a thread is known, so new lanes can be ordered
      // around all of them
      const tidText = rawField(ev, F.tid);
      if (tidText !== undefined) this.trackOf(pidText, tidText);
      else this.pids.add(pidText);
    }
    if (!isThreadName && !isThreadSort && !isProcName && !isProcLabels && !isProcSort) return;
    let args: Record<string, unknown> | undefined;
    try { args = argsOf(ev); } catch { return; }
    const pid = rawField(ev, F.pid) ?? '';
    if (isProcName || isProcLabels || isProcSort) {
      if (isProcName && typeof args?.['name'] === 'string') this.processNames.set(pid, args['name']);
      if (isProcLabels && typeof args?.['labels'] === 'string') this.processLabels.set(pid, args['labels']);
      if (isProcSort && typeof args?.['sort_index'] === 'number') this.processSort.set(pid, args['sort_index']);
      return;
    }
    const track = this.tracks[this.trackOf(pid, rawField(ev, F.tid) ?? '')]!;
    if (isThreadName && typeof args?.['name'] === 'string') track.threadName = args['name'];
    if (isThreadSort && typeof args?.['sort_index'] === 'number') {
      track.sortIndex = args['sort_index'];
      const span = objectMemberSpan(ev.buf, ev.f[2 * F.args]!, ev.f[2 * F.args + 1]!, 'sort_index');
      if (span) (track.sortIndexSpans ??= []).push([ev.offset + span[0] - ev.start, ev.offset + span[1] - ev.start]);
    }
  }

  /** Number of slices so far. */
  get sliceCount(): number { return this.sTrack.length; }

  /** The collected slices (complete events); eventIndex / cat are empty unless kept. */
  slices(): SliceArrays & { eventIndex: Uint32Array; cat: Uint16Array } {
    return { count: this.sTrack.length, track: this.sTrack.view(), ts: this.sTs.view(), dur: this.sDur.view(), eventIndex: this.sIndex.view(), cat: this.sCat.view() };
  }

  /** The device slices (kernels, copies, sets by category), ready for findSuspectDurations. */
  deviceSlices(): IndexedDeviceSlices {
    const slice = this.dSlice.view();
    const all = this.slices();
    const n = slice.length;
    const start = new Float64Array(n);
    const dur = new Float64Array(n);
    const stream = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = slice[k]!;
      start[k] = all.ts[i]!;
      dur[k] = all.dur[i]!;
      stream[k] = all.track[i]!;
    }
    const names: string[] = [];
    for (let id = 0; id < this.devNames.size; id++) {
      const raw = this.devNames.key(id).toString('utf8');
      try { names.push(raw.length === 0 ? '' : raw.startsWith('"') ? JSON.parse(raw) as string : raw); } catch { names.push(raw); }
    }
    return { slice, event: this.dEvent.view(), input: { count: n, start, dur, name: this.dName.view(), stream, names } };
  }

  flows(): FlowArrays {
    return { count: this.fTrack.length, track: this.fTrack.view(), ts: this.fTs.view(), binding: this.fBind.view() };
  }

  /** The category of a slice's cat id ('' when absent). */
  catName(id: number): string {
    const k = this.catKeys.key(id);
    return k.length === 0 ? '' : (JSON.parse(k.toString('utf8')) as string);
  }

  /** Absolute offset and length of each slice's / flow's tid value (-1 when it has none). */
  tidSpans(): { sliceAt: Float64Array; sliceLen: Uint16Array; flowAt: Float64Array; flowLen: Uint16Array } {
    return { sliceAt: this.sTidAt.view(), sliceLen: this.sTidLen.view(), flowAt: this.fTidAt.view(), flowLen: this.fTidLen.view() };
  }

  /** Reports flow ids with a start and no finish, or a finish and no start (pairFlows only). */
  reportDanglingFlows(): void {
    if (!this.flowPairs) return;
    for (const p of this.flowPairs.values()) {
      if (p.bits === 3) continue;
      this.diagnostics.add(p.bits === 1 ? 'flow_missing_end' : 'flow_missing_start', { file: this.file, index: p.index, name: p.name, ts: p.ts });
    }
  }

  /** Header value by key, parsed (small keys only). */
  headerValue(key: string): unknown {
    const e = this.header.find((h) => h.key === key) ?? this.trailer.find((h) => h.key === key);
    if (!e) return undefined;
    try { return JSON.parse(e.rawValue.toString('utf8')); } catch { return undefined; }
  }
}
