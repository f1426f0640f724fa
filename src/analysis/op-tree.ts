/**
 * The CPU op tree of a trace: each op's parent on its thread. CPU ops nest per thread; the tree is
 * rebuilt by a stack sweep over the thread's ops sorted by start (longer first on ties). An op
 * that starts inside another and ends after it (rare; the profiler's clock or a missing end) is
 * still taken as its child. Computed once per records: the op view, the efficiency view and the
 * replayed-op bridge (replay-ops.ts) all walk it, also over capture and mapping traces.
 */
import { threadOrder } from '../model/order.js';
import type { TraceRecords } from './records/trace-records.js';

export interface OpTree {
  /** Op indices per thread by start, so a parent comes before its children. */
  order: Uint32Array;
  /** Parent of every op, -1 for a root. */
  parent: Int32Array;
  /** CPU time of each op's children (only the overlapping part of one that ends after it). */
  childCpu: Float64Array;
  /** Ops that start inside another op of their thread and end after it. */
  notNested: number;
}

/** Op indices grouped by thread, each group sorted by start ascending, duration descending. */
const orderByThread = (r: TraceRecords): { order: Uint32Array; bounds: Int32Array } => threadOrder(r.ops!);

const treeMemo = new WeakMap<TraceRecords, OpTree>();

/**
 * The CPU op tree of each thread: `parent` of every op (-1 for a root), `order` (per thread by
 * start, so a parent comes before its children), the CPU time of each op's children, and the
 * count of ops that start inside another and end after it.
 */
export function opTree(r: TraceRecords): OpTree {
  const memo = treeMemo.get(r);
  if (memo) return memo;
  const o = r.ops!;
  const { order, bounds } = orderByThread(r);
  const parent = new Int32Array(o.count).fill(-1);
  const childCpu = new Float64Array(o.count);
  let notNested = 0;
  const stack: number[] = [];
  for (let t = 0; t + 1 < bounds.length; t++) {
    stack.length = 0;
    for (let k = bounds[t]!; k < bounds[t + 1]!; k++) {
      const i = order[k]!;
      const s = o.start[i]!;
      const e = s + o.dur[i]!;
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        if (o.start[top]! + o.dur[top]! <= s) stack.pop();
        else break;
      }
      const top = stack[stack.length - 1];
      if (top !== undefined) {
        const topEnd = o.start[top]! + o.dur[top]!;
        parent[i] = top;
        if (e > topEnd) { notNested++; childCpu[top]! += topEnd - s; } else childCpu[top]! += e - s;
      }
      stack.push(i);
    }
  }
  const tree = { order, parent, childCpu, notNested };
  treeMemo.set(r, tree);
  return tree;
}
