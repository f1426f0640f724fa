/**
 * What the CPU was doing while the device waited for it: the Python functions, CPU ops and user
 * annotations running on the launching thread during host-bound idle time (idle.ts), each
 * credited with its self time inside those windows — the innermost frame of each kind gets
 * the time, so nested frames are never counted twice.
 *
 * Python: built-in calls (`<built-in method ...>`, `<built-in function perf_counter_ns>`) are
 * folded into the Python function that made them: a spin loop of `perf_counter_ns` calls is
 * time of the function spinning, not of the clock.
 */
import type { Segments } from './intervals.js';
import type { TraceRecords } from './collect.js';

export type CpuFrameKind = 'python' | 'op' | 'annotation';

/** ns of host-bound idle covered, per (kind, name). */
export type CpuDuringIdleNs = Map<string, { kind: CpuFrameKind; name: string; ns: number }>;

/**
 * Adds to `out` the innermost self time of the intervals (per thread) inside `windows` (per
 * thread: sorted disjoint segments). Intervals crossing their parent's end are cut there.
 */
function innermostInto(kind: CpuFrameKind, count: number, start: ArrayLike<number>, dur: ArrayLike<number>, thread: ArrayLike<number>,
  nameOf: (i: number) => string | null | undefined, windows: Map<number, Segments>, out: CpuDuringIdleNs): void {
  // only frames that overlap a window matter: one wholly outside changes no credit inside them
  const byThread = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const th = thread[i]!;
    const w = windows.get(th);
    if (!w) continue;
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
    const names = list.map(nameOf);
    const order = list.map((_, j) => j).filter((j) => names[j] !== undefined);
    order.sort((x, y) => start[list[x]!]! - start[list[y]!]! || dur[list[y]!]! - dur[list[x]!]!);
    let wi = 0;
    // credit [a, b) to frame j: its overlap with the windows (calls come in time order)
    const emit = (a: number, b: number, j: number): void => {
      if (b <= a) return;
      while (wi < w.start.length && w.end[wi]! <= a) wi++;
      let ns = 0;
      for (let k = wi; k < w.start.length && w.start[k]! < b; k++) ns += Math.min(b, w.end[k]!) - Math.max(a, w.start[k]!);
      if (ns <= 0) return;
      const name = names[j];
      if (name === null || name === undefined) return;
      const key = `${kind}\u0000${name}`;
      const e = out.get(key);
      if (e) e.ns += ns; else out.set(key, { kind, name, ns });
    };
    const stack: { j: number; end: number }[] = [];
    let cur = -Infinity;
    for (const j of order) {
      const s = start[list[j]!]!;
      let e = s + dur[list[j]!]!;
      while (stack.length > 0 && stack[stack.length - 1]!.end <= s) {
        const top = stack.pop()!;
        emit(cur, top.end, top.j);
        cur = top.end;
      }
      const top = stack[stack.length - 1];
      if (top) { emit(cur, s, top.j); e = Math.min(e, top.end); }
      cur = s;
      stack.push({ j, end: e });
    }
    while (stack.length > 0) {
      const top = stack.pop()!;
      emit(cur, top.end, top.j);
      cur = top.end;
    }
  }
}

/** Self time of Python functions, CPU ops and annotations inside the host-bound windows. */
export function cpuDuringIdle(r: TraceRecords, windows: Map<number, Segments>, out: CpuDuringIdleNs = new Map()): CpuDuringIdleNs {
  const py = r.python;
  const ops = r.ops;
  if (py) {
    // Python frames, with the CPU ops among them: time inside an op is the op's (framework), not its caller's
    const fn = r.frameNames;
    const builtin = fn.map((n) => n.startsWith('<built-in'));
    const no = ops?.count ?? 0;
    const n = py.count + no;
    const start = new Float64Array(n);
    const dur = new Float64Array(n);
    const thread = new Int32Array(n);
    start.set(py.start); dur.set(py.dur); thread.set(py.thread);
    if (ops) { start.set(ops.start, py.count); dur.set(ops.dur, py.count); thread.set(ops.thread, py.count); }
    innermostInto('python', n, start, dur, thread, (i) => (i >= py.count ? null : builtin[py.name[i]!] ? undefined : fn[py.name[i]!]), windows, out);
  }
  if (ops) innermostInto('op', ops.count, ops.start, ops.dur, ops.thread, (i) => r.opKeys[ops.key[i]!]?.name, windows, out);
  const anns = r.annotations.filter((a) => !a.gpu);
  innermostInto('annotation', anns.length, anns.map((a) => a.start), anns.map((a) => a.dur), anns.map((a) => a.thread), (i) => anns[i]!.name, windows, out);
  return out;
}
