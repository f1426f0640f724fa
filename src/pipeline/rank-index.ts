/**
 * Pass 1 of `merge` for one rank, in a form that crosses a worker-thread boundary: everything
 * pass 2 needs, and nothing per event but two bytes per slice/flow (lanes) and one for filters.
 */
import { scanFile } from '../io/read.js';
import { F, type ScannedEvent } from '../io/scanner.js';
import { argSpans, fieldEquals, objectMemberSpan, phaseOf, rawField, stringField } from '../io/fields.js';
import { PATCH_ARG_ID, PATCH_FLOW_ID, PATCH_PID, PATCH_PROC_NAME, PATCH_PROC_SORT, PATCH_THREAD_SORT, PatchLogWriter } from '../io/patch-log.js';
import { ByteInterner } from '../model/interner.js';
import { TraceIndex } from '../formats/trace-index.js';
import { movedTid, movedTidPatches, planLanes, suspectSlices, type FixSummary, type MetaEvent } from '../transforms/fix-plan.js';
import { assignLanes } from '../transforms/lanes.js';
import type { DiagnosticEntry } from '../model/diagnostics.js';
import { GrowableF64, GrowableU8 } from '../model/growable.js';

export interface RawEntry {
  key: string;
  rawKey: Uint8Array;
  rawValue: Uint8Array;
}

export interface NameFilter {
  include?: string;
  exclude?: string;
}

export interface RankIndexOptions {
  /** Apply the overlap fix (lanes). */
  fix: boolean;
  names?: NameFilter;
  /**
   * Record the byte spans pass 2 will patch (pids, ids, labels, sort indices) into a log file at
   * this path, so pass 2 can splice the rank without parsing it again.
   */
  patchLog?: string;
  /**
   * Also record flow ids and correlation / External id args (off for the rank that will be
   * first in the output: its ids keep their values, and finding them is most of the recording).
   */
  recordIds?: boolean;
}

/** What a recorded rank needs in pass 2 besides its patch log. */
export interface SpliceInfo {
  log: string;
  /** Raw pid text by the `aux` of PID / PROC_* records. */
  pids: string[];
  /** The '[' and ']' of the events array. */
  eventsOpen: number;
  eventsClose: number;
  /** tid patches of moved slices and flows, sorted by offset. */
  tidAt: Float64Array;
  tidLen: Uint16Array;
  tidText: string[];
  /** New sort_index by track id (the `aux` of THREAD_SORT records). */
  threadSort: Map<number, number>;
}

export interface RankScan {
  path: string;
  name: string;
  events: number;
  bytes: number;
  compressedBytes: number;
  header: RawEntry[];
  trailer: RawEntry[];
  /** baseTimeNanoseconds as decimal text (exact), or undefined. */
  baseTimeNs: string | undefined;
  distributedInfo: Record<string, unknown> | undefined;
  /** Integer µs that the relative ns times below are measured from. */
  baseUs: number;
  /** Some ts was a JSON string (torch_npu): the merge makes them numeric. */
  stringTs: boolean;
  /** Some flow id was beyond 2^53: the merge renumbers flow ids. */
  unsafeFlowIds: boolean;
  /** Rank from the profile directory (torch_npu profiler_info), when known. */
  dirRank?: number | null;
  minTs: number;
  maxEnd: number;
  pids: string[];
  processNames: Map<string, string>;
  processLabels: Map<string, string>;
  processSort: Map<string, number>;
  /** New tid text of moved slices / flows by ordinal (sparse). */
  movedSlices: Map<number, string>;
  movedFlows: Map<number, string>;
  /** New sort_index per `pidRaw\u0001tidRaw` for existing thread_sort_index events. */
  threadSortRewrite: Map<string, number>;
  extraMetadata: MetaEvent[];
  /** Name filter verdict per slice / flow ordinal (1 keep), when a name filter is set. */
  sliceKeep: Uint8Array | undefined;
  flowKeep: Uint8Array | undefined;
  summary: FixSummary | undefined;
  diagnostics: DiagnosticEntry[];
  /** Present when pass 1 recorded a patch log. */
  splice?: SpliceInfo;
  /** Whether that log holds the ids (see RankIndexOptions.recordIds). */
  splicedIds?: boolean;
}

function parseJson(b: Uint8Array): unknown {
  try { return JSON.parse(Buffer.from(b).toString('utf8')); } catch { return undefined; }
}

/** Whether a name passes the include / exclude regexes. */
export function nameMatcher(f: NameFilter | undefined): ((name: string | undefined) => boolean) | undefined {
  if (!f || (f.include === undefined && f.exclude === undefined)) return undefined;
  const inc = f.include !== undefined ? new RegExp(f.include) : undefined;
  const exc = f.exclude !== undefined ? new RegExp(f.exclude) : undefined;
  return (name) => {
    const s = name ?? '';
    return (inc === undefined || inc.test(s)) && (exc === undefined || !exc.test(s));
  };
}

export async function indexRank(path: string, name: string, opts: RankIndexOptions): Promise<RankScan> {
  const match = nameMatcher(opts.names);
  const index = new TraceIndex(name, { flowKeys: match !== undefined, keep: { tidSpans: opts.patchLog !== undefined } });
  const keep = new GrowableU8();
  const recorder = opts.patchLog !== undefined ? new PatchRecorder(opts.patchLog, index, opts.recordIds ?? true) : undefined;
  const handler = match || recorder
    ? {
      // the recorder reads ids from args members the scanner records while validating them
      argMembers: recorder?.ids === true,
      topLevel: index.topLevel.bind(index),
      event(ev: ScannedEvent) {
        const before = index.sliceCount;
        index.event(ev);
        if (match && index.sliceCount > before) keep.push(match(stringField(ev, F.name)) ? 1 : 0);
        recorder?.record(ev);
      },
    }
    : index;
  let r;
  try {
    r = await scanFile(path, handler);
  } finally {
    recorder?.close();
  }
  const plan = opts.fix ? planLanes(index) : undefined;
  if (!plan) suspectSlices(index); // the diagnostic (the fix's plan finds them itself)
  const movedSlices = new Map<number, string>();
  const movedFlows = new Map<number, string>();
  const threadSortRewrite = new Map<string, number>();
  if (plan) {
    plan.lanes.sliceLane.forEach((lane, i) => { const tid = movedTid(plan, plan.sliceTrack[i]!, lane); if (tid !== undefined) movedSlices.set(i, tid); });
    plan.lanes.flowLane.forEach((lane, i) => { const tid = movedTid(plan, plan.flowTrack[i]!, lane); if (tid !== undefined) movedFlows.set(i, tid); });
    for (const [t, v] of plan.sortRewrite) {
      const info = index.tracks[t]!;
      threadSortRewrite.set(info.pidRaw + '\u0001' + info.tidRaw, v);
    }
  }
  let sliceKeep: Uint8Array | undefined;
  let flowKeep: Uint8Array | undefined;
  if (match) {
    sliceKeep = keep.view().slice();
    // An arrow is kept whole or not at all: each flow event binds to a slice (the lane sweep
    // finds which, with or without the fix); a flow id is kept when all its ends' slices are.
    const flows = index.flows();
    const bound = (plan?.lanes ?? assignLanes(index.slices(), flows, index.tracks.length)).flowSlice;
    const dropKey = new Set<string>();
    const keys = index.flowKeys!;
    for (let i = 0; i < flows.count; i++) {
      const s = bound[i]!;
      if (s >= 0 && sliceKeep[s] === 0) dropKey.add(keys[i]!);
    }
    flowKeep = new Uint8Array(flows.count);
    for (let i = 0; i < flows.count; i++) flowKeep[i] = dropKey.has(keys[i]!) ? 0 : 1;
  }
  const entry = (e: { key: string; rawKey: Buffer; rawValue: Buffer }): RawEntry => ({ key: e.key, rawKey: new Uint8Array(e.rawKey), rawValue: new Uint8Array(e.rawValue) });
  const header = index.header.map(entry);
  const trailer = index.trailer.map(entry);
  const find = (k: string): RawEntry | undefined => header.find((h) => h.key === k) ?? trailer.find((h) => h.key === k);
  const base = find('baseTimeNanoseconds');
  const baseText = base ? Buffer.from(base.rawValue).toString('latin1').trim().replace(/^"|"$/g, '') : undefined;
  const di = find('distributedInfo');
  const distributedInfo = di ? parseJson(di.rawValue) : undefined;
  if (plan) {
    for (let i = 0; i < plan.lanes.flowSlice.length; i++) if (plan.lanes.flowSlice[i] === -1) index.diagnostics.add('flow_unbound');
  }
  let splice: SpliceInfo | undefined;
  if (recorder) {
    const moved = plan ? movedTidPatches(index, plan) : [];
    const threadSort = new Map<number, number>();
    if (plan) for (const [t, v] of plan.sortRewrite) threadSort.set(t, v);
    splice = {
      log: recorder.path, pids: recorder.pids, eventsOpen: r.eventsOpen, eventsClose: r.eventsClose,
      tidAt: Float64Array.from(moved, (m) => m.at), tidLen: Uint16Array.from(moved, (m) => m.end - m.at), tidText: moved.map((m) => m.text),
      threadSort,
    };
  }
  return {
    ...(splice ? { splice, splicedIds: opts.recordIds ?? true } : {}),
    path, name, events: r.events, bytes: r.bytes, compressedBytes: r.compressedBytes, header, trailer,
    baseTimeNs: baseText !== undefined && /^\d+$/.test(baseText) ? baseText : undefined,
    distributedInfo: distributedInfo && typeof distributedInfo === 'object' ? distributedInfo as Record<string, unknown> : undefined,
    baseUs: index.time.baseUs ?? 0,
    stringTs: index.stringTs,
    unsafeFlowIds: index.unsafeFlowIds,
    minTs: index.minTs, maxEnd: index.maxEnd,
    pids: [...index.pids],
    processNames: index.processNames, processLabels: index.processLabels, processSort: index.processSort,
    movedSlices, movedFlows, threadSortRewrite,
    extraMetadata: plan?.extraMetadata ?? [],
    sliceKeep, flowKeep,
    summary: plan?.summary,
    diagnostics: index.diagnostics.list(),
  };
}

const ID_ARG_KEYS = ['correlation', 'External id', 'external id'].map((k) => Buffer.from(k));

/** Pass 1's recording of the spans pass 2 will patch (see SpliceInfo). */
class PatchRecorder {
  private readonly log: PatchLogWriter;
  readonly pids: string[] = [];
  private readonly pidKeys = new ByteInterner();
  private readonly spans = new Int32Array(2 * ID_ARG_KEYS.length);
  /** This event's records (at, len, kind, aux), reused from event to event. */
  private readonly recs = new GrowableF64(4 * 8);

  constructor(readonly path: string, private readonly index: TraceIndex, readonly ids: boolean) {
    this.log = new PatchLogWriter(path);
  }

  private add(ev: ScannedEvent, s: number, e: number, kind: number, aux: number): void {
    const r = this.recs;
    r.push(ev.offset + (s - ev.start));
    r.push(e - s);
    r.push(kind);
    r.push(aux);
  }

  record(ev: ScannedEvent): void {
    const f = ev.f;
    const b = ev.buf;
    this.recs.length = 0;
    const ps = f[2 * F.pid]!;
    let pid = -1;
    if (ps >= 0) {
      pid = this.pidKeys.intern(b, ps, f[2 * F.pid + 1]!);
      if (pid === this.pids.length) this.pids.push(b.toString('utf8', ps, f[2 * F.pid + 1]!));
      this.add(ev, ps, f[2 * F.pid + 1]!, PATCH_PID, pid);
    }
    const ph = phaseOf(ev);
    const as = f[2 * F.args]!;
    const ae = f[2 * F.args + 1]!;
    if (ph === 0x4d) {
      if (as < 0 || pid < 0) { this.flush(); return; }
      const member = (key: string, kind: number, aux: number): void => {
        const m = objectMemberSpan(b, as, ae, key);
        if (m) this.add(ev, m[0], m[1], kind, aux);
      };
      if (fieldEquals(ev, F.name, 'process_name')) member('name', PATCH_PROC_NAME, pid);
      else if (fieldEquals(ev, F.name, 'process_sort_index')) member('sort_index', PATCH_PROC_SORT, pid);
      else if (fieldEquals(ev, F.name, 'thread_sort_index')) {
        const t = this.index.findTrack(this.pids[pid]!, rawField(ev, F.tid) ?? '');
        if (t !== undefined) member('sort_index', PATCH_THREAD_SORT, t);
      }
    } else if (this.ids) {
      if ((ph === 0x73 || ph === 0x74 || ph === 0x66) && f[2 * F.id]! >= 0) this.add(ev, f[2 * F.id]!, f[2 * F.id + 1]!, PATCH_FLOW_ID, 0);
      if (as >= 0) {
        // CPU-side ops and annotations carry an External id but no correlation (Kineto writes it
        // first in args): stop at the first id instead of walking their long shape lists
        const cpuSide = fieldEquals(ev, F.cat, 'cpu_op') || fieldEquals(ev, F.cat, 'user_annotation') || fieldEquals(ev, F.cat, 'gpu_user_annotation') || fieldEquals(ev, F.cat, 'python_function');
        argSpans(ev, ID_ARG_KEYS, this.spans, cpuSide ? 1 : 2);
        for (let k = 0; k < ID_ARG_KEYS.length; k++) {
          if (this.spans[2 * k]! >= 0) this.add(ev, this.spans[2 * k]!, this.spans[2 * k + 1]!, PATCH_ARG_ID, 0);
        }
      }
    }
    this.flush();
  }

  /** Writes this event's records in offset order. */
  private flush(): void {
    const r = this.recs.data;
    const n = this.recs.length / 4;
    if (n > 1) {
      // tiny insertion sort by offset (a handful of records)
      for (let i = 1; i < n; i++) {
        for (let j = i; j > 0 && r[4 * j]! < r[4 * (j - 1)]!; j--) {
          for (let k = 0; k < 4; k++) { const x = r[4 * j + k]!; r[4 * j + k] = r[4 * (j - 1) + k]!; r[4 * (j - 1) + k] = x; }
        }
      }
    }
    for (let i = 0; i < n; i++) this.log.add(r[4 * i]!, r[4 * i + 1]!, r[4 * i + 2]!, r[4 * i + 3]!);
  }

  close(): void {
    this.log.close();
  }
}

/** What a rank's header (the top-level keys before `traceEvents`) says, read before pass 1. */
export interface RankHeader {
  /** distributedInfo as it is in the header, when it is there. */
  distributedInfo: Record<string, unknown> | undefined;
  /** baseTimeNanoseconds of the header as decimal text (the one pass 1 will report), when there. */
  baseTimeNs: string | undefined;
  /** The events array was reached: the header is complete (a trailer may still follow). */
  complete: boolean;
}

const HEADER_DONE = new Error('header read');

/**
 * Reads only the header of a trace (decompressing its first chunk or so): merge learns ranks and
 * clocks from it before pass 1. Undefined when the file cannot be read (pass 1 will say why).
 */
export async function readRankHeader(path: string): Promise<RankHeader | undefined> {
  const header: RawEntry[] = [];
  let complete = false;
  try {
    await scanFile(path, {
      topLevel(e, after) { if (!after) header.push({ key: e.key, rawKey: e.rawKey, rawValue: e.rawValue }); },
      event() { complete = true; throw HEADER_DONE; },
    }, { chunkSize: 1 << 16 });
    complete = true;
  } catch (e) {
    if (e !== HEADER_DONE) return undefined;
  }
  // as indexRank reads them (the header is looked at before the trailer)
  const base = header.find((h) => h.key === 'baseTimeNanoseconds');
  const baseText = base ? Buffer.from(base.rawValue).toString('latin1').trim().replace(/^"|"$/g, '') : undefined;
  const di = header.find((h) => h.key === 'distributedInfo');
  const distributedInfo = di ? parseJson(di.rawValue) : undefined;
  return {
    distributedInfo: distributedInfo && typeof distributedInfo === 'object' ? distributedInfo as Record<string, unknown> : undefined,
    baseTimeNs: baseText !== undefined && /^\d+$/.test(baseText) ? baseText : undefined,
    complete,
  };
}
