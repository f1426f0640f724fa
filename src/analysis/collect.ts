/**
 * One streaming pass over a trace that keeps only what the statistics need, as compact typed
 * records, each kind filled by its own builder under records/:
 *
 * | record kind                         | builder                    | read by                        |
 * |-------------------------------------|----------------------------|--------------------------------|
 * | device activities (kernel, copy...) | records/device.ts          | every device-side view         |
 * | CPU ops with input shapes           | records/cpu-ops.ts         | op view, attribution           |
 * | runtime / driver calls (launches)   | records/launches.ts        | launch and idle views          |
 * | Python frames (`with_stack`)        | records/python.ts          | source attribution, idle       |
 * | user annotations (steps, ranges)    | records/annotations.ts     | steps, idle                    |
 * | torch_npu device slices, CANN calls  | records/ascend-device.ts   | (become device activities, launches) |
 * | torch_npu's host↔device flows       | records/flows.ts           | launch and idle views          |
 *
 * This file only routes: it classifies an event from the bytes of its `ph` and `cat`, reads
 * its times and pid, and hands it to the builder of its kind. Everything else is skipped
 * without creating a string. Nothing holds on to event bytes after the callback.
 *
 * Cost per event (see bench/): the phase byte, the length and bytes of `cat`, the pid (interned
 * from its bytes) and `ts`/`dur` (for the profiled span). Names are interned from their bytes
 * and decoded once per distinct name. `args` are never parsed as a whole except for metadata:
 * the few members needed are located by their byte spans.
 */
import { F, type ScanHandler, type ScannedEvent, type TopLevelEntry } from '../io/scanner.js';
import { argSpans, argsOf } from '../io/fields.js';
import { decodeName, eqAt, externalIdOf, numberAt, sameBytes, stringValue } from '../io/arg-spans.js';
import { TimeBase, durationNs } from '../model/time.js';
import { ByteInterner } from '../model/interner.js';
import { NameTable } from '../model/span-interner.js';
import { Diagnostics } from '../model/diagnostics.js';
import { KIND_KERNEL, KIND_MEMCPY, KIND_MEMSET } from './categories.js';
import { AnnotationBuilder } from './records/annotations.js';
import { AscendDeviceBuilder, hostThreads, type PidInfo } from './records/ascend-device.js';
import { CollectiveBuilder } from './records/collectives.js';
import { OpBuilder } from './records/cpu-ops.js';
import { DeviceBuilder } from './records/device.js';
import { FlowBuilder, flowKindOf, isFlowPhase } from './records/flows.js';
import { LaunchBuilder } from './records/launches.js';
import { PythonBuilder } from './records/python.js';
import { ThreadTable } from './records/threads.js';
import type { FileTopLevel, TraceRecords } from './records/trace-records.js';

export type * from './records/trace-records.js';
export { restrictToPids, pidText, rankSplitOf, type RankSplit } from './records/split.js';

const PH_X = 0x58, PH_M = 0x4d;

/**
 * What an event is to the statistics, from its `cat`. Roles from Kernel on are the ones whose
 * data problems (no ts, no dur) are counted; `Untyped` (no `cat`: torch_npu's device slices),
 * `Api` (runtime calls), `Python` and `Dequeue` (torch_npu's task queue) are not.
 */
const enum Role { Other, Untyped, Api, Python, Dequeue, Kernel, Memcpy, Memset, CpuOp, Annotation, GpuAnnotation }

export interface CollectOptions {
  /** Category of a device activity name (called once per distinct name). */
  categorize: (name: string, kind: number) => number;
  /** Category id of communication. */
  communication: number;
  /** Collect CPU ops and the `External id` of device activities (op view, attribution). */
  ops?: boolean;
  /** Collect process groups of communication kernels (rank view). */
  groups?: boolean;
  /** Collect the collective args of communication kernels and `record_param_comms` ops (comm view). */
  collectives?: boolean;
  /** Keep `cpu_op` events whose name matches as step annotations (torch_npu writes `ProfilerStep#N` as a cpu_op). */
  stepOps?: RegExp;
  /** With `ops`: also keep each op's `flops` arg and `Concrete Inputs` (efficiency view). */
  opArgs?: boolean;
  /** Sum calls and time per name of `cuda_runtime` / `cuda_driver` / old `Runtime` events. */
  apiCalls?: boolean;
  /**
   * Keep every runtime / driver call, and the `correlation` of device activities (launch and
   * idle views); on torch_npu traces also the CANN calls, the task queue's dequeues, the
   * `connection_id` of device tasks and the host↔device flows.
   */
  launches?: boolean;
  /** Keep `python_function` frames (source attribution, idle view). */
  python?: boolean;
  /** File name for diagnostics. */
  file?: string;
}

const q = (s: string): Buffer => Buffer.from(s, 'latin1');
const K_KERNEL = q('kernel'), K_KERNEL_OLD = q('Kernel'), K_CPU_OP = q('cpu_op'), K_OPERATOR = q('Operator');
const K_GPU_MEMCPY = q('gpu_memcpy'), K_GPU_MEMSET = q('gpu_memset'), K_MEMCPY = q('Memcpy'), K_MEMSET = q('Memset');
const K_USER_ANN = q('user_annotation'), K_GPU_USER_ANN = q('gpu_user_annotation'), K_PYTHON = q('python_function');
const K_CUDA_RUNTIME = q('cuda_runtime'), K_CUDA_DRIVER = q('cuda_driver'), K_RUNTIME = q('Runtime'), K_DEQUEUE = q('dequeue');

/** Role from the raw `cat` value b[s,e) (with quotes). */
function roleOf(b: Buffer, s: number, e: number): Role {
  if (s < 0) return Role.Untyped;
  if (b[s] !== 0x22) return Role.Other;
  const s1 = s + 1;
  switch (e - s - 2) {
    case 7: return eqAt(b, s1, K_RUNTIME) ? Role.Api : eqAt(b, s1, K_DEQUEUE) ? Role.Dequeue : Role.Other;
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
    case 15:
      if (eqAt(b, s1, K_USER_ANN)) return Role.Annotation;
      return eqAt(b, s1, K_PYTHON) ? Role.Python : Role.Other;
    case 19: return eqAt(b, s1, K_GPU_USER_ANN) ? Role.GpuAnnotation : Role.Other;
    default: return Role.Other;
  }
}

/** Members of a device activity's args read in one walk: External id (two spellings), correlation, stream (3 at most present). */
const DEVICE_KEYS = [Buffer.from('External id'), Buffer.from('external id'), Buffer.from('correlation'), Buffer.from('stream')];
const PG_KEYS = [Buffer.from('Process Group Name')];

/** `deviceProperties`: id, name and SM count of each device (an unreadable value gives none). */
function devicePropertiesOf(text: string): FileTopLevel['deviceProperties'] {
  let v: unknown;
  try { v = JSON.parse(text); } catch { return undefined; }
  if (!Array.isArray(v)) return undefined;
  return v.filter((d): d is Record<string, unknown> => d !== null && typeof d === 'object').map((d) => ({
    id: typeof d['id'] === 'number' ? d['id'] : null,
    name: typeof d['name'] === 'string' ? d['name'] : '',
    numSms: typeof d['numSms'] === 'number' ? d['numSms'] : null,
  }));
}

/** Scan handler that collects TraceRecords. Feed it to scanFile / scanBuffer, then call result(). */
export class StatsCollector implements ScanHandler {
  readonly time = new TimeBase();
  readonly diagnostics = new Diagnostics();
  readonly top: FileTopLevel = { baseTimeNs: undefined, distributedInfo: undefined, merge: undefined };
  events = 0;

  private readonly pidKeys = new ByteInterner();
  private readonly pids: PidInfo[] = [];
  private readonly threads = new ThreadTable();
  private readonly names = new NameTable();
  private readonly nameCategory: number[] = [];
  private readonly device = new DeviceBuilder();
  private readonly deviceArgs = new Int32Array(2 * DEVICE_KEYS.length);
  private readonly groupArgs = new Int32Array(2);
  private readonly groupIds = new Map<string, number>();
  private readonly groups: string[] = [];
  private readonly ops: OpBuilder | undefined;
  private readonly coll: CollectiveBuilder | undefined;
  private readonly annotations = new AnnotationBuilder();
  private readonly launches = new LaunchBuilder();
  private readonly python: PythonBuilder | undefined;
  private readonly ascend = new AscendDeviceBuilder();
  private readonly flows: FlowBuilder | undefined;
  /** Set by the first result(): the torch_npu device activities added to the device records. */
  private ascendTasks: number | undefined;
  private readonly file: string;
  private readonly countApi: boolean;

  /** The scanner records `args` members (ScannedEvent.m) when a builder reads args. */
  readonly argMembers: boolean;

  constructor(private readonly opts: CollectOptions) {
    this.argMembers = opts.ops === true || opts.launches === true || opts.groups === true || opts.collectives === true;
    if (opts.ops) this.ops = new OpBuilder(opts.opArgs === true);
    if (opts.python) this.python = new PythonBuilder();
    if (opts.collectives) this.ascend.collectives = this.coll = new CollectiveBuilder();
    if (opts.launches) this.flows = new FlowBuilder();
    // the CANN process's calls are launches (idle, launch views) and the NPU's API calls (diff)
    if (opts.launches || opts.apiCalls) this.ascend.launches = true;
    this.countApi = opts.apiCalls === true || opts.launches === true;
    this.file = opts.file ?? '<trace>';
  }

  topLevel(entry: TopLevelEntry): void {
    const key = entry.key;
    if (key !== 'baseTimeNanoseconds' && key !== 'distributedInfo' && key !== 'traceforgeMerge' && key !== 'deviceProperties') return;
    const text = entry.rawValue.toString('utf8').trim();
    if (key === 'deviceProperties') { this.top.deviceProperties = devicePropertiesOf(text); return; }
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
    if (ph !== PH_X) {
      if (this.flows && isFlowPhase(ph)) this.flow(ev, ph!);
      return;
    }
    const tss = f[2 * F.ts]!;
    const role = roleOf(b, f[2 * F.cat]!, f[2 * F.cat + 1]!);
    const api = role === Role.Api && this.countApi ? this.launches.count(b, f) : -1;
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
      case Role.Api:
        if (this.opts.launches) this.launches.add(ev, api, start, dur, this.threads.id(b, f, pid));
        return;
      case Role.Python:
        this.python?.add(ev, start, dur, this.threads.id(b, f, pid));
        return;
      case Role.Dequeue:
        // torch_npu's task queue: a worker thread takes the op off the queue and launches it
        if (this.opts.launches) this.launches.addCall('Dequeue', start, dur, this.threads.id(b, f, pid), NaN);
        return;
      case Role.CpuOp:
        if (this.ops) this.ops.add(ev, start, dur, this.threads.id(b, f, pid));
        this.coll?.cpuOp(ev);
        if (this.opts.stepOps) this.stepOp(ev, start, dur, pid);
        return;
      case Role.Untyped:
        this.ascend.add(ev, start, dur, pid, this.threads.id(b, f, pid), () => this.nameId(b, f, KIND_KERNEL));
        return;
      case Role.Annotation:
      case Role.GpuAnnotation:
        this.annotations.add(ev, start, dur, pid, this.threads.id(b, f, pid), role === Role.GpuAnnotation);
        return;
      default:
    }
  }

  /** A flow endpoint of torch_npu's host↔device links (records/flows.ts); other flows are skipped. */
  private flow(ev: ScannedEvent, ph: number): void {
    const b = ev.buf;
    const f = ev.f;
    const kind = flowKindOf(b, f[2 * F.cat]!, f[2 * F.cat + 1]!);
    const tss = f[2 * F.ts]!;
    if (kind < 0 || tss < 0) return;
    const ts = this.time.ns(b, tss, f[2 * F.ts + 1]!);
    if (ts !== ts) return;
    const pid = this.pidOf(b, f);
    this.flows!.add(b, f, kind, ph, ts, this.threads.id(b, f, pid));
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

  private nameId(b: Buffer, f: Int32Array, kind: number): number {
    const id = this.names.id(b, f[2 * F.name]!, f[2 * F.name + 1]!, decodeName);
    if (id === this.nameCategory.length) this.nameCategory.push(this.opts.categorize(this.names.names[id]!, kind));
    return id;
  }

  private deviceActivity(ev: ScannedEvent, kind: number, start: number, dur: number, pid: number): void {
    const b = ev.buf;
    const f = ev.f;
    const name = this.nameId(b, f, kind);
    const cat = this.nameCategory[name]!;
    let ext = NaN;
    let corr = NaN;
    let stream = NaN;
    const as = f[2 * F.args]!;
    if (as >= 0 && (this.ops || this.opts.launches)) {
      const o = this.deviceArgs;
      argSpans(ev, DEVICE_KEYS, o, 3);
      ext = o[0]! >= 0 ? numberAt(b, o[0]!, o[1]!) : numberAt(b, o[2]!, o[3]!);
      corr = numberAt(b, o[4]!, o[5]!);
      stream = numberAt(b, o[6]!, o[7]!);
    }
    let group = -1;
    if (this.opts.groups && cat === this.opts.communication && as >= 0) {
      const o = this.groupArgs;
      argSpans(ev, PG_KEYS, o);
      if (o[0]! >= 0) {
        const g = stringValue(b, [o[0]!, o[1]!]);
        group = this.groupIds.get(g) ?? -1;
        if (group < 0) { group = this.groups.length; this.groups.push(g); this.groupIds.set(g, group); }
      }
    }
    let coll = -1;
    if (this.coll && cat === this.opts.communication) {
      if (ext !== ext && as >= 0) ext = externalIdOf(b, as, f[2 * F.args + 1]!);
      coll = this.coll.kernel(ev, ext);
    }
    this.device.add(start, dur, name, cat, pid, this.threads.id(b, f, pid), ext, corr, group, stream, coll);
  }

  /** A cpu_op that names a step (torch_npu's `ProfilerStep#N`), kept as a CPU annotation. */
  private stepOp(ev: ScannedEvent, start: number, dur: number, pid: number): void {
    const f = ev.f;
    const ns = f[2 * F.name]!;
    if (ns < 0) return;
    const name = decodeName(ev.buf, ns, f[2 * F.name + 1]!);
    if (!this.opts.stepOps!.test(name)) return;
    this.annotations.add(ev, start, dur, pid, this.threads.id(ev.buf, f, pid), false);
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
      this.ascend.processNamed(pid, p.processName);
    }
    if (which === 'process_labels' && typeof args?.['labels'] === 'string') p.labels = args['labels'];
  }

  /** The records collected. Call once, after the scan. */
  result(): TraceRecords {
    const base = this.top.baseTimeNs !== undefined ? BigInt(this.top.baseTimeNs) : 0n;
    const canon = this.opts.launches ? hostThreads(this.pids, this.threads.list) : undefined;
    const ascendTasks = (this.ascendTasks ??= this.ascend.resolve({
      pids: this.pids, names: this.names.names, nameCategory: this.nameCategory,
      categorize: this.opts.categorize, communication: this.opts.communication, device: this.device,
      // the CANN calls: launch records (idle, launch views) and API call totals (diff)
      launches: this.opts.launches || this.opts.apiCalls ? this.launches : undefined, canon,
    }));
    return {
      names: this.names.names,
      device: this.device.build(),
      pids: this.pids,
      threads: this.threads.list,
      groups: this.groups,
      collectives: this.coll?.build() ?? [],
      ops: this.ops?.build(),
      opKeys: this.ops?.keys ?? [],
      ...(this.opts.opArgs && this.ops ? { opConcrete: this.ops.concreteTexts } : {}),
      ...(this.top.deviceProperties ? { devices: this.top.deviceProperties } : {}),
      annotations: this.annotations.list,
      originNs: base + BigInt(Math.trunc(this.time.baseUs ?? 0)) * 1000n,
      apiCalls: this.opts.apiCalls ? this.launches.totals() : undefined,
      launches: this.opts.launches ? this.launches.build() : undefined,
      flows: this.flows?.build(canon),
      apiNames: this.launches.names,
      launchKernelNames: this.launches.kernelNames,
      python: this.python?.build(),
      frameNames: this.python?.names ?? [],
      ascendTasks,
    };
  }
}

