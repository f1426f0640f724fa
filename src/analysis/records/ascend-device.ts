/**
 * torch_npu's device slices: X events without `cat` in the "Ascend Hardware", "HCCL" /
 * "Communication" processes of trace_view.json. Their process name can come after them in
 * the file, so they are kept aside during the pass and turned into device activities at the
 * end (resolve), with the rules of analysis/ascend-tasks.ts.
 *
 * With `launches` set (launch and idle views), each slice also keeps its `connection_id`, the
 * id CANN writes on a device task and on the host API call that put it there; the slices of
 * the "CANN" process (those host API calls: `Node@launch`, `AscendCL@aclnnMuls`, ...) are
 * kept too and handed to the launch records at the end, on the thread that stands for their
 * OS thread (hostThreads below).
 */
import type { ScannedEvent } from '../../io/scanner.js';
import { decodeName, numberAt, stringValue } from '../../io/arg-spans.js';
import { objectMemberSpans } from '../../io/fields.js';
import { NameTable } from '../../model/span-interner.js';
import { F } from '../../io/scanner.js';
import { GrowableF64, GrowableI32 } from '../../model/growable.js';
import { KIND_MEMCPY } from '../categories.js';
import { ascendProcessKind, ascendTaskKind, isCollectiveStepName, processLabel, type AscendProcessKind } from '../ascend-tasks.js';
import type { DeviceBuilder } from './device.js';
import type { LaunchBuilder } from './launches.js';
import type { ThreadInfo } from './threads.js';
import { hcomArgs, type CollectiveBuilder } from './collectives.js';

export interface PidInfo {
  /** The pid as written (JSON text, e.g. `0`, `"Spans"`). */
  raw: string;
  processName?: string;
  labels?: string;
  /** Earliest start and latest end of its timed events (ns); Infinity / -Infinity if none. */
  minStart: number;
  maxEnd: number;
}

/** What resolve() needs from the collector. */
export interface AscendContext {
  pids: PidInfo[];
  names: readonly string[];
  nameCategory: readonly number[];
  categorize: (name: string, kind: number) => number;
  communication: number;
  device: DeviceBuilder;
  /** Set when launches are collected: receives the CANN API calls. */
  launches?: LaunchBuilder | undefined;
  /** Per thread: the thread that stands for its OS thread (hostThreads). */
  canon?: Int32Array | undefined;
}

/** The bare process name (without a merge's `[LABEL] ` prefix). */
const bareName = (processName: string | undefined): string | undefined => processName?.replace(/^\[[^\]]*\] /, '');

/**
 * Per thread, the thread that stands for the same OS thread: torch_npu writes one OS thread's
 * host events in two processes, "Python" (CPU ops, Python functions, enqueue / dequeue) and
 * "CANN" (the CANN API calls), both with the OS thread id as tid; a CANN thread maps to the
 * Python thread with the same tid (and merge label) when there is one. Every other thread maps
 * to itself.
 */
export function hostThreads(pids: readonly PidInfo[], threads: readonly ThreadInfo[]): Int32Array {
  const out = Int32Array.from(threads, (_, k) => k);
  const python = new Map<string, number>();
  threads.forEach((t, k) => {
    const p = pids[t.pid];
    if (p && bareName(p.processName) === 'Python') python.set(`${processLabel(p.processName)}\0${t.tid}`, k);
  });
  if (python.size === 0) return out;
  threads.forEach((t, k) => {
    const p = pids[t.pid];
    if (!p || bareName(p.processName) !== 'CANN') return;
    const h = python.get(`${processLabel(p.processName)}\0${t.tid}`);
    if (h !== undefined) out[k] = h;
  });
  return out;
}

const TASK_KEYS = [Buffer.from('Task Type'), Buffer.from('connection_id')];

export class AscendDeviceBuilder {
  private readonly start = new GrowableF64(4096);
  private readonly dur = new GrowableF64(4096);
  private readonly name = new GrowableI32(4096);
  private readonly pid = new GrowableI32(4096);
  private readonly thread = new GrowableI32(4096);
  /** Index into taskTypes; -1 when the event has none. */
  private readonly task = new GrowableI32(4096);
  /** Index into the collective args of HCCL op slices (comm view), else -1. */
  private readonly coll = new GrowableI32(4096);
  /** Set when the comm view is asked for: HCCL ops keep their count and dtype. */
  collectives: CollectiveBuilder | undefined;
  private readonly taskTypes: string[] = [];
  private readonly taskTypeIds = new Map<string, number>();
  /** Per pid: its torch_npu device process kind, 'cann' for the CANN process, null for another process, undefined while its name is unknown. */
  private readonly pidKind: (AscendProcessKind | 'cann' | null | undefined)[] = [];
  /** Set when the launch and idle views are asked for: connection ids and CANN calls are kept. */
  launches = false;
  /** Per slice: `connection_id` (NaN when absent or not collected). */
  private readonly corr = new GrowableF64(4096);
  /** Per slice that may be a CANN call (its process is CANN or not yet known): index into apiNames, else -1. */
  private readonly api = new GrowableI32(4096);
  private readonly apiNames = new NameTable();
  private readonly spans = new Int32Array(2 * TASK_KEYS.length);

  /** Called when a process_name is read. */
  processNamed(pid: number, processName: string): void {
    this.pidKind[pid] = ascendProcessKind(processName) ?? (bareName(processName) === 'CANN' ? 'cann' : null);
  }

  /** A slice without `cat`: kept (with its Task Type) unless its process is known not to be a device (or, for launches, the CANN) process. */
  add(ev: ScannedEvent, start: number, dur: number, pid: number, thread: number, name: () => number): void {
    const kind = this.pidKind[pid];
    if (kind === null || (kind === 'cann' && !this.launches)) return;
    let task = -1;
    let corr = NaN;
    let api = -1;
    const b = ev.buf;
    const f = ev.f;
    if (kind !== 'communication' || this.launches) {
      const as = f[2 * F.args]!;
      const o = this.spans;
      if (as >= 0) objectMemberSpans(b, as, f[2 * F.args + 1]!, TASK_KEYS, o); else o.fill(-1);
      if (o[0]! >= 0 && kind !== 'communication' && kind !== 'cann') {
        const t = stringValue(b, [o[0]!, o[1]!]);
        task = this.taskTypeIds.get(t) ?? -1;
        if (task < 0) { task = this.taskTypes.length; this.taskTypes.push(t); this.taskTypeIds.set(t, task); }
      }
      if (this.launches) {
        corr = numberAt(b, o[2]!, o[3]!);
        if (kind === 'cann' || kind === undefined) api = this.apiNames.id(b, f[2 * F.name]!, f[2 * F.name + 1]!, decodeName);
      }
    }
    this.start.push(start);
    this.dur.push(dur);
    // CANN calls are not device activities: no device name for them
    this.name.push(kind === 'cann' ? -1 : name());
    this.pid.push(pid);
    this.thread.push(thread);
    this.task.push(task);
    this.coll.push(this.collectives && kind !== 'hardware' && kind !== 'cann' ? hcomArgs(this.collectives, ev) : -1);
    this.corr.push(corr);
    this.api.push(api);
  }

  /**
   * The device activities of torch_npu's device processes (see ascend-tasks.ts), added to the
   * device records: computing tasks and copies of "Ascend Hardware", and the collectives of
   * "HCCL" / "Communication" (the outermost slices that are not collective steps; the steps
   * nested in them are left out) as communication on the same device. Stream synchronisation
   * is left out, and so are the collective steps on the device's streams when the collectives
   * are there. Returns how many activities were added.
   */
  resolve(c: AscendContext): number {
    const n = this.start.length;
    if (n === 0) return 0;
    const kinds = c.pids.map((p) => ascendProcessKind(p.processName));
    if (!kinds.some((k) => k !== undefined)) return 0;
    if (this.launches && c.launches) this.resolveCalls(c.pids, c.launches, c.canon);
    const labelOf = (pid: number): string => processLabel(c.pids[pid]!.processName);
    const hardware = new Map<string, number[]>();
    kinds.forEach((k, pid) => {
      if (k !== 'hardware') return;
      const l = labelOf(pid);
      const list = hardware.get(l);
      if (list) list.push(pid); else hardware.set(l, [pid]);
      const p = c.pids[pid]!;
      if (l === '' && p.labels === undefined && /^\d+$/.test(p.raw)) p.labels = `NPU ${Number(p.raw) % 32}`;
    });
    // a collective's device: the label's Ascend Hardware process with the same device id
    // (the low 5 bits of torch_npu's device pids), else the label's first one
    const deviceOf = new Map<number, number>();
    const pidOf = this.pid.view();
    const start = this.start.view();
    const dur = this.dur.view();
    const nameOf = this.name.view();
    const threadOf = this.thread.view();
    const byCommPid = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const pid = pidOf[i]!;
      if (kinds[pid] !== 'communication' || isCollectiveStepName(c.names[nameOf[i]!]!)) continue;
      let list = byCommPid.get(pid);
      if (!list) {
        byCommPid.set(pid, (list = []));
        const raw = c.pids[pid]!.raw;
        const same = hardware.get(labelOf(pid)) ?? [];
        const dev = /^\d+$/.test(raw) ? same.find((h) => /^\d+$/.test(c.pids[h]!.raw) && Number(c.pids[h]!.raw) % 32 === Number(raw) % 32) : undefined;
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
    const taskOf = this.task.view();
    const collOf = this.coll.view();
    const corrOf = this.corr.view();
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
        category = c.communication;
        device = deviceOf.get(pid)!;
      } else {
        const task = taskOf[i]!;
        const key = (task + 1) * c.names.length + name;
        let tk = kindCache.get(key);
        if (tk === undefined) { tk = ascendTaskKind(task >= 0 ? this.taskTypes[task]! : '', c.names[name]!); kindCache.set(key, tk); }
        if (tk === 'sync') continue;
        if (tk === 'collective-step') {
          if (withCollectives.has(labelOf(pid))) continue;
          category = c.communication;
        } else if (tk === 'memcpy') {
          let cc = copyCategory.get(name);
          if (cc === undefined) { cc = c.categorize(c.names[name]!, KIND_MEMCPY); copyCategory.set(name, cc); }
          category = cc;
        } else {
          category = c.nameCategory[name]!;
        }
      }
      c.device.add(start[i]!, dur[i]!, name, category, device, threadOf[i]!, NaN, corrOf[i]!, -1, NaN, kind === 'communication' ? collOf[i]! : -1);
      added++;
    }
    return added;
  }

  /** The CANN process's slices, as launch records with their connection_id as the correlation. */
  private resolveCalls(pids: readonly PidInfo[], launches: LaunchBuilder, canon: Int32Array | undefined): void {
    const cann = pids.map((p) => bareName(p.processName) === 'CANN');
    const pidOf = this.pid.view();
    const apiOf = this.api.view();
    const start = this.start.view();
    const dur = this.dur.view();
    const threadOf = this.thread.view();
    const corrOf = this.corr.view();
    for (let i = 0; i < pidOf.length; i++) {
      if (!cann[pidOf[i]!] || apiOf[i]! < 0) continue;
      const th = threadOf[i]!;
      launches.addCall(this.apiNames.names[apiOf[i]!]!, start[i]!, dur[i]!, canon?.[th] ?? th, corrOf[i]!, true);
    }
  }
}
