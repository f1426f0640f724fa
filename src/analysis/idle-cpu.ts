/**
 * What the CPU was doing while the device waited for it: the Python functions, CPU ops and user
 * annotations running on the launching thread during host-bound idle time (idle.ts), each
 * credited with its self time inside those windows — the innermost frame of each kind gets
 * the time, so nested frames are never counted twice. Each window may be a stall (a gap of
 * 100 µs or more); stall time is summed apart too.
 *
 * Python: built-in calls (`<built-in method ...>`, `<built-in function perf_counter_ns>`) are
 * folded into the Python function that made them: a spin loop of `perf_counter_ns` calls is
 * time of the function spinning, not of the clock. Time inside a CPU op is the op's.
 */
import { sortIfNeeded } from '../model/order.js';
import type { TraceRecords } from './collect.js';

export type CpuFrameKind = 'python' | 'op' | 'annotation';

/** Host-bound windows of one thread: sorted, disjoint; `stall[k]` = 1 for windows in long gaps. */
export interface ThreadWindows { start: Float64Array; end: Float64Array; stall: Uint8Array }

/** ns of host-bound idle covered (all, and in stalls), per (kind, name). */
export type CpuDuringIdleNs = Map<string, { kind: CpuFrameKind; name: string; ns: number; stallNs: number }>;

/** A frame's id: >= 0 credited under names[id]; FOLD: ignored (time goes to its parent); MASK: takes time, credits none. */
const FOLD = -1;
const MASK = -2;

/**
 * Adds to all[id] / stall[id] the innermost self time of the intervals (per thread) inside
 * the windows of their thread. Intervals crossing their parent's end are cut there.
 */
function innermostInto(count: number, start: ArrayLike<number>, dur: ArrayLike<number>, thread: ArrayLike<number>,
  idOf: (i: number) => number, windows: Map<number, ThreadWindows>, all: Float64Array, stall: Float64Array): void {
  // only frames that overlap a window matter: one wholly outside changes no credit inside them
  const byThread = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const th = thread[i]!;
    const w = windows.get(th);
    if (!w || idOf(i) === FOLD) continue;
    const s = start[i]!;
    let lo = 0;
    let hi = w.end.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (w.end[m]! <= s) lo = m + 1; else hi = m; }
    if (lo >= w.start.length || w.start[lo]! >= s + dur[i]!) continue;
    let a = byThread.get(th);
    if (!a) byThread.set(th, (a = []));
    a.push(i);
  }
  for (const [th, list] of byThread) {
    const w = windows.get(th)!;
    sortIfNeeded(list, (x, y) => start[x]! - start[y]! || dur[y]! - dur[x]!);
    let wi = 0;
    // credit [a, b) to frame i: its overlap with the windows (calls come in time order)
    const emit = (a: number, b: number, i: number): void => {
      if (b <= a) return;
      const id = idOf(i);
      if (id < 0) return;
      while (wi < w.start.length && w.end[wi]! <= a) wi++;
      for (let k = wi; k < w.start.length && w.start[k]! < b; k++) {
        const x = Math.min(b, w.end[k]!) - Math.max(a, w.start[k]!);
        all[id]! += x;
        if (w.stall[k] === 1) stall[id]! += x;
      }
    };
    const stackI: number[] = [];
    const stackEnd: number[] = [];
    let cur = -Infinity;
    for (const i of list) {
      const s = start[i]!;
      let e = s + dur[i]!;
      while (stackI.length > 0 && stackEnd[stackEnd.length - 1]! <= s) {
        const end = stackEnd.pop()!;
        emit(cur, end, stackI.pop()!);
        cur = end;
      }
      if (stackI.length > 0) {
        emit(cur, s, stackI[stackI.length - 1]!);
        e = Math.min(e, stackEnd[stackEnd.length - 1]!);
      }
      cur = s;
      stackI.push(i);
      stackEnd.push(e);
    }
    while (stackI.length > 0) {
      const end = stackEnd.pop()!;
      emit(cur, end, stackI.pop()!);
      cur = end;
    }
  }
}

function addTo(out: CpuDuringIdleNs, kind: CpuFrameKind, names: readonly string[], all: Float64Array, stall: Float64Array): void {
  for (let id = 0; id < all.length; id++) {
    if (all[id]! <= 0) continue;
    const name = names[id]!;
    const key = `${kind}\u0000${name}`;
    const e = out.get(key);
    if (e) { e.ns += all[id]!; e.stallNs += stall[id]!; } else out.set(key, { kind, name, ns: all[id]!, stallNs: stall[id]! });
  }
}

/** Self time of Python functions, CPU ops and annotations inside the host-bound windows. */
export function cpuDuringIdle(r: TraceRecords, windows: Map<number, ThreadWindows>, out: CpuDuringIdleNs = new Map()): CpuDuringIdleNs {
  const py = r.python;
  const ops = r.ops;
  if (py && py.count > 0) {
    // Python frames with the CPU ops among them: time inside an op is the op's (framework), not its caller's
    const fn = r.frameNames;
    const fold = fn.map((n) => n.startsWith('<built-in'));
    const no = ops?.count ?? 0;
    const n = py.count + no;
    const start = new Float64Array(n);
    const dur = new Float64Array(n);
    const thread = new Int32Array(n);
    start.set(py.start); dur.set(py.dur); thread.set(py.thread);
    if (ops) { start.set(ops.start, py.count); dur.set(ops.dur, py.count); thread.set(ops.thread, py.count); }
    const all = new Float64Array(fn.length);
    const stall = new Float64Array(fn.length);
    innermostInto(n, start, dur, thread, (i) => (i >= py.count ? MASK : fold[py.name[i]!] ? FOLD : py.name[i]!), windows, all, stall);
    addTo(out, 'python', fn, all, stall);
  }
  if (ops) {
    const names = r.opKeys.map((k) => k.name);
    const all = new Float64Array(names.length);
    const stall = new Float64Array(names.length);
    innermostInto(ops.count, ops.start, ops.dur, ops.thread, (i) => ops.key[i]!, windows, all, stall);
    addTo(out, 'op', names, all, stall);
  }
  const anns = r.annotations.filter((a) => !a.gpu);
  const names = [...new Set(anns.map((a) => a.name))];
  const id = new Map(names.map((x, k) => [x, k]));
  const annId = Int32Array.from(anns, (a) => id.get(a.name)!);
  const all = new Float64Array(names.length);
  const stall = new Float64Array(names.length);
  innermostInto(anns.length, anns.map((a) => a.start), anns.map((a) => a.dur), anns.map((a) => a.thread), (i) => annId[i]!, windows, all, stall);
  addTo(out, 'annotation', names, all, stall);
  return out;
}
