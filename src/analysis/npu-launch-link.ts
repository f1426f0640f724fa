/**
 * torch_npu's launches, where the correlation does not already give them (launch-link.ts):
 * the device tasks a torch_npu trace links to the host by its flows (records/flows.ts).
 *
 * 1. `connection_id` (matched in launch-link.ts like a correlation): CANN writes the same id on
 *    a device task and on the host API call that put it on the device (`Node@launch`,
 *    `AscendCL@aclnnInplaceCopy`, `AscendCL@aclrtMemcpyAsync`, `Hccl@...`); that call is the launch.
 * 2. `HostToDevice` flow: its start sits at that same CANN call (the flow draws the link of 1);
 *    the launch is the innermost CANN call on the start's thread that holds the start's ts.
 * 3. `torch_to_npu` flow + task queue (Level 0, which records no CANN calls): the flow starts
 *    at the CPU op that issued the task; the op's Enqueue is the first `enqueue_to_dequeue`
 *    flow start on its thread at or after the op's start (and before the next issuing op's);
 *    that flow ends at the Dequeue on the worker thread that launched the task: the launch.
 *
 * Flows bind by (thread, ts): a finish to the device tasks that start at its ts on its track, a
 * start to the slice of its thread that holds its ts. Times are exact integer ns on both sides.
 *
 * Every task with a `torch_to_npu` flow also gets its *issuer*: the op's CPU thread. With the
 * task queue that is not the launching (worker) thread, and it is the one whose synchronising
 * calls and Python code held the next launch back.
 */
import type { TraceRecords } from './records/trace-records.js';
import { FlowKind } from './records/flows.js';

export interface FlowLinks {
  /** Tasks matched by a HostToDevice flow, by torch_to_npu + the task queue. */
  hostToDevice: number;
  taskQueue: number;
}

/** Sorted starts of one thread's launch records, with their indices. */
interface ThreadCalls { start: Float64Array; idx: Int32Array; maxDur: number }

function byThread(r: TraceRecords): Map<number, ThreadCalls> {
  const l = r.launches!;
  const lists = new Map<number, number[]>();
  for (let k = 0; k < l.count; k++) {
    const th = l.thread[k]!;
    let a = lists.get(th);
    if (!a) lists.set(th, (a = []));
    a.push(k);
  }
  const out = new Map<number, ThreadCalls>();
  for (const [th, a] of lists) {
    a.sort((x, y) => l.start[x]! - l.start[y]! || l.dur[y]! - l.dur[x]! || x - y);
    let maxDur = 0;
    for (const k of a) if (l.dur[k]! > maxDur) maxDur = l.dur[k]!;
    out.set(th, { start: Float64Array.from(a, (k) => l.start[k]!), idx: Int32Array.from(a), maxDur });
  }
  return out;
}

/** First index with a[i] > t. */
function upperBound(a: Float64Array, t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (a[m]! <= t) lo = m + 1; else hi = m; }
  return lo;
}

/**
 * The innermost launch record of the thread holding ts (start <= ts < end, or starting at ts),
 * or -1; of records with the same extent the later one in the file, as Perfetto nests them
 * (CANN writes `AscendCL@hcom_allReduce_` and the `Node@launch` inside it with equal ts and dur).
 */
function holding(r: TraceRecords, calls: ThreadCalls | undefined, ts: number): number {
  if (!calls) return -1;
  const l = r.launches!;
  let best = -1;
  for (let j = upperBound(calls.start, ts) - 1; j >= 0; j--) {
    const k = calls.idx[j]!;
    const s = l.start[k]!;
    if ((best >= 0 && s < l.start[best]!) || s + calls.maxDur < ts) break;
    if (s === ts || ts < s + l.dur[k]!) { if (best < 0 || l.dur[k]! < l.dur[best]!) best = k; }
  }
  return best;
}

/**
 * Fills launchOf (for tasks still at -1) from the flows, and issuer (every task with a
 * torch_to_npu flow). Needs records with launches and flows.
 */
export function linkByFlows(r: TraceRecords, launchOf: Int32Array, issuer: Int32Array): FlowLinks {
  const out: FlowLinks = { hostToDevice: 0, taskQueue: 0 };
  const fl = r.flows;
  const l = r.launches;
  if (!fl || fl.count === 0 || !l) return out;
  const d = r.device;
  // flows paired by (kind, id): the first start and the first finish
  const starts = new Map<string, number>();
  for (let i = 0; i < fl.count; i++) {
    const key = `${fl.kind[i]}:${fl.id[i]}`;
    if (fl.phase[i] === 0 && !starts.has(key)) starts.set(key, i);
  }
  const startOf = (i: number): number => starts.get(`${fl.kind[i]}:${fl.id[i]}`) ?? -1;
  // device tasks by (track, start)
  const tasks = new Map<number, Map<number, number[]>>();
  for (let i = 0; i < d.count; i++) {
    let m = tasks.get(d.thread[i]!);
    if (!m) tasks.set(d.thread[i]!, (m = new Map()));
    const a = m.get(d.start[i]!);
    if (a) a.push(i); else m.set(d.start[i]!, [i]);
  }
  const calls = byThread(r);
  // per thread: sorted starts of the task queue's flows (with their finish), and of the torch_to_npu sources
  const queue = new Map<number, { ts: number; f: number }[]>();
  const finishOfQueue = new Map<number, number>();
  for (let i = 0; i < fl.count; i++) if (fl.kind[i] === FlowKind.TaskQueue && fl.phase[i] === 1) finishOfQueue.set(fl.id[i]!, i);
  const sources = new Map<number, number[]>();
  for (let i = 0; i < fl.count; i++) {
    if (fl.phase[i] !== 0) continue;
    if (fl.kind[i] === FlowKind.TaskQueue) {
      const f = finishOfQueue.get(fl.id[i]!);
      if (f === undefined) continue;
      let a = queue.get(fl.thread[i]!);
      if (!a) queue.set(fl.thread[i]!, (a = []));
      a.push({ ts: fl.ts[i]!, f });
    } else if (fl.kind[i] === FlowKind.TorchToNpu) {
      let a = sources.get(fl.thread[i]!);
      if (!a) sources.set(fl.thread[i]!, (a = []));
      a.push(fl.ts[i]!);
    }
  }
  for (const a of queue.values()) a.sort((x, y) => x.ts - y.ts);
  const queueTs = new Map<number, Float64Array>();
  for (const [th, a] of queue) queueTs.set(th, Float64Array.from(a, (x) => x.ts));
  const sourceTs = new Map<number, Float64Array>();
  for (const [th, a] of sources) sourceTs.set(th, Float64Array.from(new Set(a)).sort());

  /** The Dequeue that launched the work of the op starting at ts on thread th, or -1. */
  const dequeueOf = (th: number, ts: number): number => {
    const qs = queueTs.get(th);
    if (!qs) return -1;
    const src = sourceTs.get(th);
    const next = src ? src[upperBound(src, ts)] ?? Infinity : Infinity;
    let j = upperBound(qs, ts);
    while (j > 0 && qs[j - 1] === ts) j--;
    if (j >= qs.length || qs[j]! >= next) return -1;
    const f = queue.get(th)![j]!.f;
    const w = fl.thread[f]!;
    const fts = fl.ts[f]!;
    const k = holding(r, calls.get(w), fts);
    return k >= 0 && l.start[k] === fts ? k : -1;
  };

  // HostToDevice first: where a task has both, the CANN call is the launch, not the dequeue
  for (const kind of [FlowKind.HostToDevice, FlowKind.TorchToNpu]) for (let i = 0; i < fl.count; i++) {
    if (fl.phase[i] !== 1 || fl.kind[i] !== kind) continue;
    const at = tasks.get(fl.thread[i]!)?.get(fl.ts[i]!);
    if (!at) continue;
    const s = startOf(i);
    if (s < 0) continue;
    if (kind === FlowKind.TorchToNpu) {
      for (const t of at) issuer[t] = fl.thread[s]!;
      let k = -2;
      for (const t of at) {
        if (launchOf[t]! >= 0) continue;
        if (k === -2) k = dequeueOf(fl.thread[s]!, fl.ts[s]!);
        if (k >= 0) { launchOf[t] = k; out.taskQueue++; }
      }
    } else {
      let k = -2;
      for (const t of at) {
        if (launchOf[t]! >= 0) continue;
        if (k === -2) k = holding(r, calls.get(fl.thread[s]!), fl.ts[s]!);
        if (k >= 0) { launchOf[t] = k; out.hostToDevice++; }
      }
    }
  }
  return out;
}
