/**
 * torch_npu's device slices: X events without `cat` in the "Ascend Hardware", "HCCL" /
 * "Communication" processes of trace_view.json. Their process name can come after them in
 * the file, so they are kept aside during the pass and turned into device activities at the
 * end (resolve), with the rules of analysis/ascend-tasks.ts.
 */
import type { ScannedEvent } from '../../io/scanner.js';
import { stringValue } from '../../io/arg-spans.js';
import { objectMemberSpan } from '../../io/fields.js';
import { F } from '../../io/scanner.js';
import { GrowableF64, GrowableI32 } from '../../model/growable.js';
import { KIND_MEMCPY } from '../categories.js';
import { ascendProcessKind, ascendTaskKind, isCollectiveStepName, processLabel, type AscendProcessKind } from '../ascend-tasks.js';
import type { DeviceBuilder } from './device.js';
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
}

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
  /** Per pid: its torch_npu device process kind, null for another process, undefined while its name is unknown. */
  private readonly pidKind: (AscendProcessKind | null | undefined)[] = [];

  /** Called when a process_name is read. */
  processNamed(pid: number, processName: string): void {
    this.pidKind[pid] = ascendProcessKind(processName) ?? null;
  }

  /** A slice without `cat`: kept (with its Task Type) unless its process is known not to be a device process. */
  add(ev: ScannedEvent, start: number, dur: number, pid: number, thread: number, name: () => number): void {
    const kind = this.pidKind[pid];
    if (kind === null) return;
    let task = -1;
    if (kind !== 'communication') {
      const as = ev.f[2 * F.args]!;
      const sp = as >= 0 ? objectMemberSpan(ev.buf, as, ev.f[2 * F.args + 1]!, 'Task Type') : undefined;
      if (sp) {
        const t = stringValue(ev.buf, sp);
        task = this.taskTypeIds.get(t) ?? -1;
        if (task < 0) { task = this.taskTypes.length; this.taskTypes.push(t); this.taskTypeIds.set(t, task); }
      }
    }
    this.start.push(start);
    this.dur.push(dur);
    this.name.push(name());
    this.pid.push(pid);
    this.thread.push(thread);
    this.task.push(task);
    this.coll.push(this.collectives && kind !== 'hardware' ? hcomArgs(this.collectives, ev) : -1);
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
      c.device.add(start[i]!, dur[i]!, name, category, device, threadOf[i]!, NaN, NaN, -1, NaN, kind === 'communication' ? collOf[i]! : -1);
      added++;
    }
    return added;
  }
}
