/**
 * One streaming pass over a trace that keeps only what the statistics need, as small typed
 * records: device activities (kernels, memcpy, memset), and on request CPU ops and step
 * annotations. Everything else is classified from the bytes of its `ph` and `cat` and skipped
 * without creating a string. Nothing holds on to event bytes after the callback.
 *
 * Cost per event (see bench/): the phase byte, the length and bytes of `cat`, the pid (interned
 * from its bytes) and `ts`/`dur` (for the profiled span). Names are interned from their bytes
 * and decoded once per distinct name. `args` are never parsed as a whole except for metadata:
 * the few members needed are located by their byte spans.
 */
import { F, type ScanHandler, type ScannedEvent, type TopLevelEntry } from '../io/scanner.js';
import { argsOf, isWs, objectMemberSpan, valueEndIn } from '../io/fields.js';
import { TimeBase, durationNs } from '../model/time.js';
import { ByteInterner } from '../model/interner.js';
import { GrowableF64, GrowableI32, GrowableU16 } from '../model/growable.js';
import { Diagnostics } from '../model/diagnostics.js';
import { KIND_KERNEL, KIND_MEMCPY, KIND_MEMSET } from './categories.js';
import { ascendProcessKind, ascendTaskKind, isCollectiveStepName, processLabel, type AscendProcessKind } from './ascend-tasks.js';

const PH_X = 0x58, PH_M = 0x4d;

/**
 * What an event is to the statistics, from its `cat`. Roles from Kernel on are the ones whose
 * data problems (no ts, no dur) are counted; `Untyped` (no `cat`: torch_npu's device slices)
 * and `Api` (runtime calls) are not.
 */
const enum Role { Other, Untyped, Api, Kernel, Memcpy, Memset, CpuOp, Annotation, GpuAnnotation }

/** Device activities (kernels, copies, sets) of one trace or rank. Times in ns. */
export interface DeviceRecords {
  count: number;
  start: Float64Array;
  dur: Float64Array;
  /** Index into `names`. */
  name: Int32Array;
  /** Index into the categorizer's names. */
  category: Uint16Array;
  /** Index into `pids` (the device). */
  pid: Int32Array;
  /** `External id` (NaN when absent or not collected). */
  ext: Float64Array;
  /** Index into `groups` for communication kernels with a `Process Group Name`, else -1. */
  group: Int32Array;
}

/** CPU ops (`cat: cpu_op`), collected for the op view only. */
export interface OpRecords {
  count: number;
  /** Index into `threads`. */
  thread: Int32Array;
  start: Float64Array;
  dur: Float64Array;
  /** Index into `opKeys`. */
  key: Int32Array;
  ext: Float64Array;
}

export interface OpKey {
  name: string;
  /** Raw JSON text of `Input Dims` / `Input type` ('' when absent). */
  dims: string;
  types: string;
}

export interface ThreadInfo {
  pid: number;
  tid: string;
}

/** A `user_annotation` / `gpu_user_annotation` whose name matched the step pattern. */
export interface Annotation {
  name: string;
  start: number;
  dur: number;
  pid: number;
  ext: number;
  gpu: boolean;
}

export interface PidInfo {
  /** The pid as written (JSON text, e.g. `0`, `"Spans"`). */
  raw: string;
  processName?: string;
  labels?: string;
  /** Earliest start and latest end of its timed events (ns); Infinity / -Infinity if none. */
  minStart: number;
  maxEnd: number;
}

/** Everything collected from one trace file (or, after a split, from one rank of it). */
export interface TraceRecords {
  names: string[];
  device: DeviceRecords;
  pids: PidInfo[];
  groups: string[];
  ops: OpRecords | undefined;
  opKeys: OpKey[];
  threads: ThreadInfo[];
  annotations: Annotation[];
  /** Absolute ns (epoch) of time 0 of this record's times. */
  originNs: bigint;
  /** Runtime / driver API calls per name (first-seen order), when asked for. */
  apiCalls: ApiCallRecord[] | undefined;
  /** Device activities that came from torch_npu's Ascend Hardware / HCCL processes. */
  ascendTasks: number;
}

/** Calls and summed duration (ns) of one runtime / driver API (`cudaLaunchKernel`, ...). */
export interface ApiCallRecord {
  name: string;
  calls: number;
  ns: number;
}

export interface FileTopLevel {
  baseTimeNs: string | undefined;
  distributedInfo: Record<string, unknown> | undefined;
  /** The `traceforgeMerge` key of a trace written by `traceforge merge`. */
  merge: { ranks: { label: string; rank?: number | null; file?: string; pids: Record<string, unknown> }[] } | undefined;
}

export interface CollectOptions {
  /** Category of a device activity name (called once per distinct name). */
  categorize: (name: string, kind: number) => number;
  /** Category id of communication. */
  communication: number;
  /** Collect CPU ops and the `External id` of device activities (op view). */
  ops?: boolean;
  /** Collect process groups of communication kernels (rank view). */
  groups?: boolean;
  /** Keep annotations whose name matches (step view). */
  annotations?: RegExp;
  /**
   * Also take `cpu_op` events whose name matches `annotations` as step annotations (torch_npu
   * writes `ProfilerStep#N` as a cpu_op).
   */
  cpuOpSteps?: boolean;
  /** Sum calls and time per name of `cuda_runtime` / `cuda_driver` / old `Runtime` events. */
  apiCalls?: boolean;
  /** File name for diagnostics. */
  file?: string;
}

const q = (s: string): Buffer => Buffer.from(s, 'latin1');
const K_KERNEL = q('kernel'), K_KERNEL_OLD = q('Kernel'), K_CPU_OP = q('cpu_op'), K_OPERATOR = q('Operator');
const K_GPU_MEMCPY = q('gpu_memcpy'), K_GPU_MEMSET = q('gpu_memset'), K_MEMCPY = q('Memcpy'), K_MEMSET = q('Memset');
const K_USER_ANN = q('user_annotation'), K_GPU_USER_ANN = q('gpu_user_annotation');
const K_CUDA_RUNTIME = q('cuda_runtime'), K_CUDA_DRIVER = q('cuda_driver'), K_RUNTIME = q('Runtime');

function eqAt(b: Buffer, s: number, k: Buffer): boolean {
  for (let i = 0; i < k.length; i++) if (b[s + i] !== k[i]) return false;
  return true;
}

/** Role from the raw `cat` value b[s,e) (with quotes). */
function roleOf(b: Buffer, s: number, e: number): Role {
  if (s < 0) return Role.Untyped;
  if (b[s] !== 0x22) return Role.Other;
  const s1 = s + 1;
  switch (e - s - 2) {
    case 7: return eqAt(b, s1, K_RUNTIME) ? Role.Api : Role.Other;
    case 11: return eqAt(b, s1, K_CUDA_DRIVER) ? Role.Api : Role.Other;
    case 12: return eqAt(b, s1, K_CUDA_RUNTIME) ? Role.Api : Role.Other;
    case 6:
      if (eqAt(b, s1, K_KERNEL) || eqAt(b, s1, K_KERNEL_OLD)) return Role.Kernel;
      if (eqAt(b, s1, K_CPU_OP)) return Role.CpuOp;
      if (eqAt(b, s1, K_MEMCPY)) return Role.Memcpy;
      if (eqAt(b, s1, K_MEMSET)) return Role.Memset;
      return Role.Other;
    case 8: return eqAt(b, s1, K_OPERATOR) ? Role.CpuOp : Role.Other;
    case 10:
      if (eqAt(b, s1, K_GPU_MEMCPY)) return Role.Memcpy;
      if (eqAt(b, s1, K_GPU_MEMSET)) return Role.Memset;
      return Role.Other;
    case 15: return eqAt(b, s1, K_USER_ANN) ? Role.Annotation : Role.Other;
    case 19: return eqAt(b, s1, K_GPU_USER_ANN) ? Role.GpuAnnotation : Role.Other;
    default: return Role.Other;
  }
}

/** An integer / decimal JSON number (optionally quoted) in b[s,e); NaN otherwise. */
function numberAt(b: Buffer, s: number, e: number): number {
  if (b[s] === 0x22) { s++; e--; }
  let v = 0;
  let i = s;
  for (; i < e; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
  }
  if (i === s) return NaN;
  if (i === e) return v;
  const x = Number(b.toString('latin1', s, e));
  return Number.isFinite(x) ? x : NaN;
}

const DIMS_KEY = Buffer.from('"Input Dims"'), STRIDES_KEY = Buffer.from('"Input Strides"');

/**
 * The value span of member `key` when it is the next member after position p (the end of the
 * previous value) in an object ending before e, optionally after one `skip` member; else
 * undefined (the caller then searches).
 */
function memberAfter(b: Buffer, p: number, e: number, key: Buffer, skip: Buffer): [number, number] | undefined {
  for (let round = 0; round < 2; round++) {
    while (p < e && isWs(b[p])) p++;
    if (b[p] !== 0x2c) return undefined;
    p++;
    while (p < e && isWs(b[p])) p++;
    const k = round === 0 && sameBytes(skip, b, p, skip.length) ? skip
      : sameBytes(key, b, p, key.length) ? key : undefined;
    if (k === undefined) return undefined;
    p += k.length;
    while (p < e && isWs(b[p])) p++;
    if (b[p] !== 0x3a) return undefined;
    p++;
    while (p < e && isWs(b[p])) p++;
    const ve = valueEndIn(b, p, e);
    if (k === key) return [p, ve];
    p = ve;
  }
  return undefined;
}

const EXT_KEY = Buffer.from('"External id"'), EXT_KEY_OLD = Buffer.from('"external id"');

/**
 * The numeric `External id` of an args object b[s,e): a byte check of the first member (where
 * Kineto writes it), else an exact member lookup. NaN when absent.
 */
function externalIdOf(b: Buffer, s: number, e: number): number {
  let p = s + 1;
  while (p < e && isWs(b[p])) p++;
  if (sameBytes(EXT_KEY, b, p, EXT_KEY.length) || sameBytes(EXT_KEY_OLD, b, p, EXT_KEY_OLD.length)) {
    p += EXT_KEY.length;
    while (p < e && isWs(b[p])) p++;
    if (b[p] === 0x3a) {
      p++;
      while (p < e && isWs(b[p])) p++;
      return numberAt(b, p, valueEndIn(b, p, e));
    }
  }
  const sp = objectMemberSpan(b, s, e, 'External id') ?? objectMemberSpan(b, s, e, 'external id');
  return sp ? numberAt(b, sp[0], sp[1]) : NaN;
}

/** True when k equals b[s, s+n). */
function sameBytes(k: Buffer, b: Buffer, s: number, n: number): boolean {
  if (k.length !== n) return false;
  for (let i = 0; i < n; i++) if (k[i] !== b[s + i]) return false;
  return true;
}

/**
 * Finds the value span of one key inside `args` objects with a native byte search. The search
 * runs over the rest of the scanner's buffer, so its result is cached: while the buffer is the
 * same and later events start before the cached hit, the hit stays the answer (total work stays
 * linear even when no event has the key). A hit is checked to be a member key of the args
 * object itself (preceded by `{` or `,`, followed by `:`, no `{` between the args start and it);
 * otherwise the exact member lookup decides.
 */
class ArgFinder {
  private readonly needle: Buffer;
  private buf: Buffer | undefined;
  private from = 0;
  private at = -1;
  constructor(private readonly key: string) { this.needle = Buffer.from(JSON.stringify(key), 'utf8'); }

  private next(b: Buffer, s: number): number {
    if (b !== this.buf || s < this.from || (this.at >= 0 && this.at < s)) {
      this.buf = b;
      this.at = b.indexOf(this.needle, s);
    }
    this.from = s;
    return this.at;
  }

  /** [valueStart, valueEnd) of the key in the args object b[s,e), or undefined. */
  span(b: Buffer, s: number, e: number): [number, number] | undefined {
    const at = this.next(b, s);
    if (at < 0 || at >= e) return undefined;
    let p = at - 1;
    while (p > s && isWs(b[p])) p--;
    let j = at + this.needle.length;
    while (j < e && isWs(b[j])) j++;
    // a member of args itself, not of an object nested in one of its values: no '{' before it
    const brace = b.indexOf(0x7b, s + 1);
    if ((b[p] !== 0x2c && b[p] !== 0x7b) || b[j] !== 0x3a || (brace >= 0 && brace < at)) return objectMemberSpan(b, s, e, this.key);
    j++;
    while (j < e && isWs(b[j])) j++;
    return [j, valueEndIn(b, j, e)];
  }
}

/** The text of a name value: the decoded JSON string, or the raw text of anything else. */
function decodeName(b: Buffer, s: number, e: number): string {
  const raw = b.toString('utf8', s, e);
  try { const v: unknown = JSON.parse(raw); return typeof v === 'string' ? v : raw; } catch { return raw; }
}

/**
 * Interns byte strings made of up to three spans (a kernel name; an op's name, dims and
 * types) without decoding them. Kernel names run to kilobytes of template arguments, so the
 * hash reads about 32 bytes of each span (spread over it, plus its length and last bytes)
 * and equality is decided by a native compare of the stored bytes.
 */
class SpanInterner {
  private readonly buckets = new Map<number, number[]>();
  private readonly keys: Buffer[][] = [];

  get size(): number { return this.keys.length; }

  private static hash(h: number, b: Buffer, s: number, e: number): number {
    const n = e - s;
    h = Math.imul(h ^ n, 0x01000193);
    const step = n > 24 ? ((n / 24) | 0) : 1;
    for (let i = s; i < e; i += step) h = Math.imul(h ^ b[i]!, 0x01000193);
    for (let i = Math.max(s, e - 8); i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    return h;
  }

  private matches(id: number, b: Buffer, spans: readonly number[]): boolean {
    const k = this.keys[id]!;
    if (k.length * 2 !== spans.length) return false;
    for (let p = 0; p < k.length; p++) {
      const key = k[p]!;
      const s = spans[2 * p]!;
      const e = spans[2 * p + 1]!;
      const n = key.length;
      if (n !== e - s) return false;
      if (n > 48) { if (b.compare(key, 0, n, s, e) !== 0) return false; continue; }
      for (let i = 0; i < n; i++) if (key[i] !== b[s + i]) return false;
    }
    return true;
  }

  /** Id of the key made of b[spans[0], spans[1]), b[spans[2], spans[3]), ... */
  intern(b: Buffer, spans: readonly number[]): number {
    let h = 0x811c9dc5;
    for (let p = 0; p < spans.length; p += 2) h = SpanInterner.hash(h, b, spans[p]!, spans[p + 1]!);
    let bucket = this.buckets.get(h);
    if (bucket) {
      for (const id of bucket) if (this.matches(id, b, spans)) return id;
    } else {
      bucket = [];
      this.buckets.set(h, bucket);
    }
    const key: Buffer[] = [];
    for (let p = 0; p < spans.length; p += 2) key.push(Buffer.from(b.subarray(spans[p]!, spans[p + 1]!)));
    const id = this.keys.length;
    this.keys.push(key);
    bucket.push(id);
    return id;
  }
}

/** Growable arrays behind DeviceRecords. */
class DeviceBuilder {
  readonly start = new GrowableF64(4096);
  readonly dur = new GrowableF64(4096);
  readonly name = new GrowableI32(4096);
  readonly category = new GrowableU16(4096);
  readonly pid = new GrowableI32(4096);
  readonly ext = new GrowableF64(4096);
  readonly group = new GrowableI32(4096);
  build(): DeviceRecords {
    return {
      count: this.start.length, start: this.start.view(), dur: this.dur.view(), name: this.name.view(),
      category: this.category.view(), pid: this.pid.view(), ext: this.ext.view(), group: this.group.view(),
    };
  }
}

class OpBuilder {
  readonly thread = new GrowableI32(4096);
  readonly start = new GrowableF64(4096);
  readonly dur = new GrowableF64(4096);
  readonly key = new GrowableI32(4096);
  readonly ext = new GrowableF64(4096);
  build(): OpRecords {
    return { count: this.start.length, thread: this.thread.view(), start: this.start.view(), dur: this.dur.view(), key: this.key.view(), ext: this.ext.view() };
  }
}

/**
 * X events without `cat` of processes that may be torch_npu device processes (their
 * process_name can come after them): sorted out in result().
 */
class UntypedBuilder {
  readonly start = new GrowableF64(4096);
  readonly dur = new GrowableF64(4096);
  readonly name = new GrowableI32(4096);
  readonly pid = new GrowableI32(4096);
  /** Index into the collector's task types; -1 when the event has none. */
  readonly task = new GrowableI32(4096);
}

/** Scan handler that collects TraceRecords. Feed it to scanFile / scanBuffer, then call result(). */
export class StatsCollector implements ScanHandler {
  readonly time = new TimeBase();
  readonly diagnostics = new Diagnostics();
  readonly top: FileTopLevel = { baseTimeNs: undefined, distributedInfo: undefined, merge: undefined };
  events = 0;

  private readonly pidKeys = new ByteInterner();
  private readonly pids: PidInfo[] = [];
  private readonly nameKeys = new SpanInterner();
  private readonly spans: number[] = [0, 0];
  private readonly names: string[] = [];
  private readonly nameCategory: number[] = [];
  private readonly device = new DeviceBuilder();
  private readonly groupIds = new Map<string, number>();
  private readonly groups: string[] = [];

  private readonly ops: OpBuilder | undefined;
  private readonly threadKeys = new SpanInterner();
  private readonly threads: ThreadInfo[] = [];
  private readonly opKeyIds = new SpanInterner();
  private readonly opKeys: OpKey[] = [];
  private readonly dimsFinder = new ArgFinder('Input Dims');
  private readonly typesFinder = new ArgFinder('Input type');
  private readonly annotations: Annotation[] = [];
  private readonly file: string;

  private readonly untyped = new UntypedBuilder();
  /** Set by the first result(): the torch_npu device activities added to the device records. */
  private ascendTasks: number | undefined;
  /** Per pid: its torch_npu device process kind, null for another process, undefined while its name is unknown. */
  private readonly pidKind: (AscendProcessKind | null | undefined)[] = [];
  private readonly taskTypes: string[] = [];
  private readonly taskTypeIds = new Map<string, number>();

  private readonly apiKeys = new SpanInterner();
  private readonly apiNames: string[] = [];
  private readonly apiCount: number[] = [];
  private readonly apiNs: number[] = [];

  constructor(private readonly opts: CollectOptions) {
    if (opts.ops) this.ops = new OpBuilder();
    this.file = opts.file ?? '<trace>';
  }

  topLevel(entry: TopLevelEntry): void {
    const key = entry.key;
    if (key !== 'baseTimeNanoseconds' && key !== 'distributedInfo' && key !== 'traceforgeMerge') return;
    const text = entry.rawValue.toString('utf8').trim();
    if (key === 'baseTimeNanoseconds') {
      const t = text.replace(/^"|"$/g, '');
      if (/^\d+$/.test(t) && this.top.baseTimeNs === undefined) this.top.baseTimeNs = t;
      return;
    }
    let v: unknown;
    try { v = JSON.parse(text); } catch { return; }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return;
    if (key === 'distributedInfo') {
      if (this.top.distributedInfo === undefined || this.top.distributedInfo['rank'] === undefined) this.top.distributedInfo = v as Record<string, unknown>;
    } else {
      const ranks = (v as { ranks?: unknown }).ranks;
      if (Array.isArray(ranks)) this.top.merge = v as FileTopLevel['merge'];
    }
  }

  /** Two most recent pids (events alternate between a CPU and a GPU pid): their bytes and ids. */
  private pidA: Buffer = Buffer.alloc(0);
  private pidAId = -1;
  private pidB: Buffer = Buffer.alloc(0);
  private pidBId = -1;

  private pidOf(b: Buffer, f: Int32Array): number {
    const s = f[2 * F.pid]!;
    const e = s < 0 ? 0 : f[2 * F.pid + 1]!;
    const s0 = s < 0 ? 0 : s;
    const n = e - s0;
    if (sameBytes(this.pidA, b, s0, n)) return this.pidAId;
    if (sameBytes(this.pidB, b, s0, n)) {
      // swap so the most recent is first
      const t = this.pidA; this.pidA = this.pidB; this.pidB = t;
      const ti = this.pidAId; this.pidAId = this.pidBId; this.pidBId = ti;
      return this.pidAId;
    }
    const id = this.pidKeys.intern(b, s0, e);
    if (id === this.pids.length) {
      this.pids.push({ raw: b.toString('utf8', s0, e), minStart: Infinity, maxEnd: -Infinity });
    }
    this.pidB = this.pidA; this.pidBId = this.pidAId;
    this.pidA = this.pidKeys.key(id); this.pidAId = id;
    return id;
  }

  event(ev: ScannedEvent): void {
    this.events++;
    const b = ev.buf;
    const f = ev.f;
    const phs = f[2 * F.ph]!;
    if (phs < 0) return;
    const ph = b[phs + 1];
    if (ph === PH_M) { this.metadata(ev); return; }
    if (ph !== PH_X) return;
    const tss = f[2 * F.ts]!;
    let role = roleOf(b, f[2 * F.cat]!, f[2 * F.cat + 1]!);
    if (role === Role.Api) {
      if (this.opts.apiCalls) this.apiCall(b, f);
      role = Role.Other;
    }
    if (tss < 0) {
      if (role >= Role.Kernel) this.diag('event_missing_ts', ev);
      return;
    }
    const start = this.time.ns(b, tss, f[2 * F.ts + 1]!);
    if (start !== start) { if (role >= Role.Kernel) this.diag('event_missing_ts', ev); return; }
    const ds = f[2 * F.dur]!;
    let dur = ds >= 0 ? durationNs(b, ds, f[2 * F.dur + 1]!) : NaN;
    if (!(dur >= 0)) {
      if (role >= Role.Kernel) this.diag(dur < 0 ? 'negative_duration' : 'complete_event_missing_dur', ev);
      dur = 0;
    }
    const pid = this.pidOf(b, f);
    const p = this.pids[pid]!;
    if (start < p.minStart) p.minStart = start;
    if (start + dur > p.maxEnd) p.maxEnd = start + dur;
    switch (role) {
      case Role.Kernel: this.deviceActivity(ev, KIND_KERNEL, start, dur, pid); return;
      case Role.Memcpy: this.deviceActivity(ev, KIND_MEMCPY, start, dur, pid); return;
      case Role.Memset: this.deviceActivity(ev, KIND_MEMSET, start, dur, pid); return;
      case Role.CpuOp:
        if (this.ops) this.cpuOp(ev, start, dur, pid);
        if (this.opts.cpuOpSteps && this.opts.annotations) this.annotation(ev, start, dur, pid, false);
        return;
      case Role.Untyped: this.untypedSlice(ev, start, dur, pid); return;
      case Role.Annotation:
      case Role.GpuAnnotation:
        if (this.opts.annotations) this.annotation(ev, start, dur, pid, role === Role.GpuAnnotation);
        return;
      default:
    }
  }

  private diag(name: 'event_missing_ts' | 'negative_duration' | 'complete_event_missing_dur', ev: ScannedEvent): void {
    const f = ev.f;
    const ns = f[2 * F.name]!;
    const ts = f[2 * F.ts]!;
    this.diagnostics.add(name, {
      file: this.file, index: ev.index,
      name: ns >= 0 ? ev.buf.toString('utf8', ns, f[2 * F.name + 1]!).replace(/^"|"$/g, '') : undefined,
      ts: ts >= 0 ? ev.buf.toString('latin1', ts, f[2 * F.ts + 1]!) : undefined,
    });
  }

  /** Sets `spans` to the name's value span (empty when absent) for interning. */
  private nameSpans(f: Int32Array): number[] {
    const s = f[2 * F.name]!;
    const spans = this.spans;
    spans.length = 2;
    spans[0] = s < 0 ? 0 : s;
    spans[1] = s < 0 ? 0 : f[2 * F.name + 1]!;
    return spans;
  }

  private nameId(b: Buffer, f: Int32Array, kind: number): number {
    const id = this.nameKeys.intern(b, this.nameSpans(f));
    if (id === this.names.length) {
      const name = f[2 * F.name]! >= 0 ? decodeName(b, f[2 * F.name]!, f[2 * F.name + 1]!) : '';
      this.names.push(name);
      this.nameCategory.push(this.opts.categorize(name, kind));
    }
    return id;
  }

  private argSpan(ev: ScannedEvent, key: string): [number, number] | undefined {
    const as = ev.f[2 * F.args]!;
    if (as < 0) return undefined;
    return objectMemberSpan(ev.buf, as, ev.f[2 * F.args + 1]!, key);
  }

  private externalId(ev: ScannedEvent): number {
    const as = ev.f[2 * F.args]!;
    return as < 0 ? NaN : externalIdOf(ev.buf, as, ev.f[2 * F.args + 1]!);
  }

  private deviceActivity(ev: ScannedEvent, kind: number, start: number, dur: number, pid: number): void {
    const b = ev.buf;
    const d = this.device;
    const name = this.nameId(b, ev.f, kind);
    const cat = this.nameCategory[name]!;
    d.start.push(start);
    d.dur.push(dur);
    d.name.push(name);
    d.category.push(cat);
    d.pid.push(pid);
    d.ext.push(this.ops ? this.externalId(ev) : NaN);
    let group = -1;
    if (this.opts.groups && cat === this.opts.communication) {
      const sp = this.argSpan(ev, 'Process Group Name');
      if (sp) {
        let g = b.toString('utf8', sp[0], sp[1]);
        if (g.startsWith('"')) { try { g = String(JSON.parse(g)); } catch { /* keep the raw text */ } }
        group = this.groupIds.get(g) ?? -1;
        if (group < 0) { group = this.groups.length; this.groups.push(g); this.groupIds.set(g, group); }
      }
    }
    d.group.push(group);
  }

  private cpuOp(ev: ScannedEvent, start: number, dur: number, pid: number): void {
    const b = ev.buf;
    const f = ev.f;
    const o = this.ops!;
    const spans = this.spans;
    // thread: (pid, tid) bytes; a missing field is an empty span
    const ps = f[2 * F.pid]!;
    const ts = f[2 * F.tid]!;
    spans.length = 4;
    spans[0] = ps < 0 ? 0 : ps; spans[1] = ps < 0 ? 0 : f[2 * F.pid + 1]!;
    spans[2] = ts < 0 ? 0 : ts; spans[3] = ts < 0 ? 0 : f[2 * F.tid + 1]!;
    const thread = this.threadKeys.intern(b, spans);
    if (thread === this.threads.length) this.threads.push({ pid, tid: b.toString('utf8', spans[2]!, spans[3]!) });
    const as = f[2 * F.args]!;
    const ae = f[2 * F.args + 1]!;
    const ns = f[2 * F.name]!;
    const ne = f[2 * F.name + 1]!;
    let dims: [number, number] | undefined;
    let types: [number, number] | undefined;
    let ext = NaN;
    if (as >= 0) {
      types = this.typesFinder.span(b, as, ae);
      // Kineto writes "Input type", "Input Strides", "Input Dims" in this order: walk there
      dims = types ? memberAfter(b, types[1], ae, DIMS_KEY, STRIDES_KEY) : undefined;
      dims ??= this.dimsFinder.span(b, as, ae);
      ext = externalIdOf(b, as, ae);
    }
    spans.length = 6;
    spans[0] = ns < 0 ? 0 : ns; spans[1] = ns < 0 ? 0 : ne;
    spans[2] = dims ? dims[0] : 0; spans[3] = dims ? dims[1] : 0;
    spans[4] = types ? types[0] : 0; spans[5] = types ? types[1] : 0;
    const key = this.opKeyIds.intern(b, spans);
    if (key === this.opKeys.length) {
      let name = '';
      if (ns >= 0) { try { name = String(JSON.parse(b.toString('utf8', ns, ne))); } catch { name = b.toString('utf8', ns, ne); } }
      this.opKeys.push({ name, dims: dims ? b.toString('utf8', dims[0], dims[1]) : '', types: types ? b.toString('utf8', types[0], types[1]) : '' });
    }
    o.thread.push(thread);
    o.start.push(start);
    o.dur.push(dur);
    o.key.push(key);
    o.ext.push(ext);
  }

  /** A runtime / driver call: counted per name (its ts is not needed). */
  private apiCall(b: Buffer, f: Int32Array): void {
    const id = this.apiKeys.intern(b, this.nameSpans(f));
    if (id === this.apiNames.length) {
      const name = f[2 * F.name]! >= 0 ? decodeName(b, f[2 * F.name]!, f[2 * F.name + 1]!) : '';
      this.apiNames.push(name);
      this.apiCount.push(0);
      this.apiNs.push(0);
    }
    const ds = f[2 * F.dur]!;
    const d = ds >= 0 ? durationNs(b, ds, f[2 * F.dur + 1]!) : 0;
    this.apiCount[id]!++;
    this.apiNs[id]! += d >= 0 ? d : 0;
  }

  /** A slice without `cat`: kept (with its Task Type) unless its process is known not to be a device process. */
  private untypedSlice(ev: ScannedEvent, start: number, dur: number, pid: number): void {
    const kind = this.pidKind[pid];
    if (kind === null) return;
    let task = -1;
    if (kind !== 'communication') {
      const sp = this.argSpan(ev, 'Task Type');
      if (sp) {
        let t = ev.buf.toString('utf8', sp[0], sp[1]);
        if (t.startsWith('"')) { try { t = String(JSON.parse(t)); } catch { /* keep the raw text */ } }
        task = this.taskTypeIds.get(t) ?? -1;
        if (task < 0) { task = this.taskTypes.length; this.taskTypes.push(t); this.taskTypeIds.set(t, task); }
      }
    }
    const u = this.untyped;
    u.start.push(start);
    u.dur.push(dur);
    u.name.push(this.nameId(ev.buf, ev.f, KIND_KERNEL));
    u.pid.push(pid);
    u.task.push(task);
  }

  /**
   * The device activities of torch_npu's device processes (see ascend-tasks.ts), added to the
   * device records: computing tasks and copies of "Ascend Hardware", and the collectives of
   * "HCCL" / "Communication" (the outermost slices that are not collective steps; the steps
   * nested in them are left out) as communication on the same device. Stream synchronisation is left out, and so are
   * the collective steps on the device's streams when the collectives are there. Returns how
   * many activities were added.
   */
  private resolveUntyped(): number {
    const u = this.untyped;
    const n = u.start.length;
    if (n === 0) return 0;
    const kinds = this.pids.map((p) => ascendProcessKind(p.processName));
    if (!kinds.some((k) => k !== undefined)) return 0;
    const labelOf = (pid: number): string => processLabel(this.pids[pid]!.processName);
    const hardware = new Map<string, number[]>();
    kinds.forEach((k, pid) => {
      if (k !== 'hardware') return;
      const l = labelOf(pid);
      const list = hardware.get(l);
      if (list) list.push(pid); else hardware.set(l, [pid]);
      const p = this.pids[pid]!;
      if (l === '' && p.labels === undefined && /^\d+$/.test(p.raw)) p.labels = `NPU ${Number(p.raw) % 32}`;
    });
    // a collective's device: the label's Ascend Hardware process with the same device id
    // (the low 5 bits of torch_npu's device pids), else the label's first one
    const deviceOf = new Map<number, number>();
    const pidOf = u.pid.view();
    const start = u.start.view();
    const dur = u.dur.view();
    const byCommPid = new Map<number, number[]>();
    const nameOf = u.name.view();
    for (let i = 0; i < n; i++) {
      const pid = pidOf[i]!;
      if (kinds[pid] !== 'communication' || isCollectiveStepName(this.names[nameOf[i]!]!)) continue;
      let list = byCommPid.get(pid);
      if (!list) {
        byCommPid.set(pid, (list = []));
        const raw = this.pids[pid]!.raw;
        const same = hardware.get(labelOf(pid)) ?? [];
        const dev = /^\d+$/.test(raw) ? same.find((h) => /^\d+$/.test(this.pids[h]!.raw) && Number(this.pids[h]!.raw) % 32 === Number(raw) % 32) : undefined;
        deviceOf.set(pid, dev ?? same[0] ?? pid);
      }
      list.push(i);
    }
    const keep = new Uint8Array(n);
    const withCollectives = new Set<string>();
    for (const [pid, list] of byCommPid) {
      withCollectives.add(labelOf(pid));
      list.sort((a, b) => start[a]! - start[b]! || dur[b]! - dur[a]!);
      let end = -Infinity;
      for (const i of list) {
        const e = start[i]! + dur[i]!;
        if (e > end) { keep[i] = 1; end = e; }
      }
    }
    const d = this.device;
    const taskOf = u.task.view();
    const kindCache = new Map<number, ReturnType<typeof ascendTaskKind>>();
    const copyCategory = new Map<number, number>();
    let added = 0;
    for (let i = 0; i < n; i++) {
      const pid = pidOf[i]!;
      const kind = kinds[pid];
      if (kind === undefined) continue;
      const name = nameOf[i]!;
      let category: number;
      let device = pid;
      if (kind === 'communication') {
        if (keep[i] !== 1) continue;
        category = this.opts.communication;
        device = deviceOf.get(pid)!;
      } else {
        const task = taskOf[i]!;
        const key = (task + 1) * this.names.length + name;
        let tk = kindCache.get(key);
        if (tk === undefined) { tk = ascendTaskKind(task >= 0 ? this.taskTypes[task]! : '', this.names[name]!); kindCache.set(key, tk); }
        if (tk === 'sync') continue;
        if (tk === 'collective-step') {
          if (withCollectives.has(labelOf(pid))) continue;
          category = this.opts.communication;
        } else if (tk === 'memcpy') {
          let c = copyCategory.get(name);
          if (c === undefined) { c = this.opts.categorize(this.names[name]!, KIND_MEMCPY); copyCategory.set(name, c); }
          category = c;
        } else {
          category = this.nameCategory[name]!;
        }
      }
      d.start.push(start[i]!);
      d.dur.push(dur[i]!);
      d.name.push(name);
      d.category.push(category);
      d.pid.push(device);
      d.ext.push(NaN);
      d.group.push(-1);
      added++;
    }
    return added;
  }

  private annotation(ev: ScannedEvent, start: number, dur: number, pid: number, gpu: boolean): void {
    const f = ev.f;
    const ns = f[2 * F.name]!;
    if (ns < 0) return;
    let name: string;
    try { name = String(JSON.parse(ev.buf.toString('utf8', ns, f[2 * F.name + 1]!))); } catch { return; }
    if (!this.opts.annotations!.test(name)) return;
    this.annotations.push({ name, start, dur, pid, ext: this.externalId(ev), gpu });
  }

  private metadata(ev: ScannedEvent): void {
    const f = ev.f;
    const ns = f[2 * F.name]!;
    if (ns < 0) return;
    const len = f[2 * F.name + 1]! - ns;
    // "process_name" / "process_labels" (with quotes: 14 / 16 bytes)
    if (len !== 14 && len !== 16) return;
    const which = ev.buf.toString('latin1', ns + 1, f[2 * F.name + 1]! - 1);
    if (which !== 'process_name' && which !== 'process_labels') return;
    let args: Record<string, unknown> | undefined;
    try { args = argsOf(ev); } catch { return; }
    const pid = this.pidOf(ev.buf, f);
    const p = this.pids[pid]!;
    if (which === 'process_name' && typeof args?.['name'] === 'string') {
      p.processName = args['name'];
      this.pidKind[pid] = ascendProcessKind(p.processName) ?? null;
    }
    if (which === 'process_labels' && typeof args?.['labels'] === 'string') p.labels = args['labels'];
  }

  /** The records collected. Call once, after the scan. */
  result(): TraceRecords {
    const base = this.top.baseTimeNs !== undefined ? BigInt(this.top.baseTimeNs) : 0n;
    const ascendTasks = (this.ascendTasks ??= this.resolveUntyped());
    return {
      names: this.names,
      device: this.device.build(),
      pids: this.pids,
      groups: this.groups,
      ops: this.ops?.build(),
      opKeys: this.opKeys,
      threads: this.threads,
      annotations: this.annotations,
      originNs: base + BigInt(Math.trunc(this.time.baseUs ?? 0)) * 1000n,
      apiCalls: this.opts.apiCalls ? this.apiNames.map((name, k) => ({ name, calls: this.apiCount[k]!, ns: this.apiNs[k]! })) : undefined,
      ascendTasks,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Splitting a merged trace into ranks

/** Records restricted to the pids with keep[pid] = 1 (names, pids and keys stay shared). */
export function restrictToPids(r: TraceRecords, keep: Uint8Array): TraceRecords {
  const d = r.device;
  const idx: number[] = [];
  for (let i = 0; i < d.count; i++) if (keep[d.pid[i]!] === 1) idx.push(i);
  const pick = <T extends Float64Array | Int32Array | Uint16Array>(a: T, make: (n: number) => T): T => {
    const out = make(idx.length);
    for (let j = 0; j < idx.length; j++) out[j] = a[idx[j]!]!;
    return out;
  };
  const device: DeviceRecords = {
    count: idx.length,
    start: pick(d.start, (n) => new Float64Array(n)), dur: pick(d.dur, (n) => new Float64Array(n)),
    name: pick(d.name, (n) => new Int32Array(n)), category: pick(d.category, (n) => new Uint16Array(n)),
    pid: pick(d.pid, (n) => new Int32Array(n)), ext: pick(d.ext, (n) => new Float64Array(n)), group: pick(d.group, (n) => new Int32Array(n)),
  };
  let ops: OpRecords | undefined;
  if (r.ops) {
    const o = r.ops;
    const oi: number[] = [];
    for (let i = 0; i < o.count; i++) if (keep[r.threads[o.thread[i]!]!.pid] === 1) oi.push(i);
    const take = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const out = make(oi.length);
      for (let j = 0; j < oi.length; j++) out[j] = a[oi[j]!]!;
      return out;
    };
    ops = {
      count: oi.length, thread: take(o.thread, (n) => new Int32Array(n)), start: take(o.start, (n) => new Float64Array(n)),
      dur: take(o.dur, (n) => new Float64Array(n)), key: take(o.key, (n) => new Int32Array(n)), ext: take(o.ext, (n) => new Float64Array(n)),
    };
  }
  return {
    ...r,
    device,
    ops,
    pids: r.pids.map((p, i) => (keep[i] === 1 ? p : { ...p, minStart: Infinity, maxEnd: -Infinity })),
    annotations: r.annotations.filter((a) => keep[a.pid] === 1),
  };
}

/** The pid value as text (`0`, `Spans`): JSON strings decoded, numbers as written. */
export function pidText(raw: string): string {
  const t = raw.trim();
  if (t.startsWith('"')) { try { return String(JSON.parse(t)); } catch { return t; } }
  return t;
}

export interface RankSplit {
  label: string;
  rank: number | null;
  /** keep[pid] = 1 for the pids of this rank. */
  keep: Uint8Array;
}

/**
 * How a merged trace splits into ranks: by its `traceforgeMerge` key (new pid -> rank label),
 * else by the `[LABEL]` prefix of process names. Undefined when the trace is not merged.
 * `unassigned` lists the pids (as text) with events that belong to no rank.
 */
export function rankSplitOf(r: TraceRecords, top: FileTopLevel): { ranks: RankSplit[]; unassigned: string[] } | undefined {
  const n = r.pids.length;
  const used = (i: number): boolean => Number.isFinite(r.pids[i]!.minStart);
  if (top.merge && top.merge.ranks.length > 0) {
    const byPid = new Map<string, number>();
    const ranks: RankSplit[] = top.merge.ranks.map((mr, k) => {
      for (const p of Object.keys(mr.pids ?? {})) byPid.set(p, k);
      return { label: String(mr.label), rank: typeof mr.rank === 'number' ? mr.rank : null, keep: new Uint8Array(n) };
    });
    const unassigned: string[] = [];
    r.pids.forEach((p, i) => {
      const k = byPid.get(pidText(p.raw));
      if (k !== undefined) ranks[k]!.keep[i] = 1;
      else if (used(i)) unassigned.push(pidText(p.raw));
    });
    return { ranks, unassigned };
  }
  const labelOf = (p: PidInfo): string | undefined => /^\[([^\]]+)\]/.exec(p.processName ?? '')?.[1];
  const labels = [...new Set(r.pids.map(labelOf).filter((l): l is string => l !== undefined))];
  if (labels.length === 0) return undefined;
  labels.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const ranks: RankSplit[] = labels.map((label) => ({ label, rank: null, keep: new Uint8Array(n) }));
  const unassigned: string[] = [];
  r.pids.forEach((p, i) => {
    const l = labelOf(p);
    if (l !== undefined) ranks[labels.indexOf(l)]!.keep[i] = 1;
    else if (used(i)) unassigned.push(pidText(p.raw));
  });
  return { ranks, unassigned };
}
