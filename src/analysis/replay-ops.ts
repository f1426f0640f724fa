/**
 * Replayed kernels as calls of the ops that captured them: the bridge from the graph-replay
 * attribution (graph-replay.ts) to the op-level views (`--by op` in ops.ts, `--by efficiency`).
 *
 * A graph replay kernel attributed through a capture or a mapping trace names the op that
 * launched it there (`DeviceAttribution.op` in `opTraces[opTrace]`). That op's ancestors in the
 * trace's CPU op tree (op-tree.ts) are the ops enclosing it — `aten::linear > aten::matmul >
 * aten::mm`, a module-level custom op — with their own names and shapes, so the views can count
 * the replayed time for each of them as if the replay trace had recorded them. One call of a
 * captured op is one op instance in one graph replay: an op replayed 4 times is 4 calls.
 *
 * Only kernels with the capture or mapping route and a known op take part; "graph replay,
 * unattributed" kernels never do.
 */
import { Route, type DeviceAttribution } from './attribution.js';
import { opTree } from './op-tree.js';
import type { TraceRecords } from './records/trace-records.js';

export interface ReplayLink {
  /** The trace that recorded the op (capture or mapping), and its index among `att.opTraces`. */
  records: TraceRecords;
  trace: number;
  /** The op that launched the kernel, then the ops enclosing it, outward (indices into records.ops). */
  chain: Int32Array;
  /** The graph launch the kernel ran in (index into the replay trace's launches): one replay. */
  replay: number;
  route: Route.Capture | Route.Mapping;
}

const chainMemo = new WeakMap<TraceRecords, Map<number, Int32Array>>();

/** An op and its ancestors in its trace's op tree, innermost first (memoized per records and op). */
export function opChain(r: TraceRecords, op: number): Int32Array {
  let m = chainMemo.get(r);
  if (!m) chainMemo.set(r, (m = new Map()));
  let c = m.get(op);
  if (!c) {
    const { parent } = opTree(r);
    const out: number[] = [];
    for (let x = op; x >= 0 && out.length < 4096; x = parent[x]!) out.push(x);
    m.set(op, (c = Int32Array.from(out)));
  }
  return c;
}

/** The names and shapes along an op's chain: equal for two ops that sit in the same kind of tree. */
export function chainKey(r: TraceRecords, op: number): string {
  let key = '';
  for (const x of opChain(r, op)) {
    const k = r.opKeys[r.ops!.key[x]!]!;
    key += `${k.name}\u0001${k.dims}\u0001${k.types}\u0002`;
  }
  return key;
}

/** The call of op `op` (one of `link.chain`) that a replayed kernel belongs to: op instance × replay. */
export const callOf = (link: ReplayLink, op: number): string => `${link.trace}:${op}:${link.replay}`;

/** Whether device activity i is a graph replay kernel given an op through a capture or mapping trace. */
export function isReplayLinked(att: DeviceAttribution, i: number): boolean {
  const rt = att.route[i];
  return (rt === Route.Capture || rt === Route.Mapping) && att.opTrace[i]! >= 0 && att.op[i]! >= 0;
}

/** Every replayed kernel of a trace with its captured op's chain, in device order. */
export function eachReplayedOp(att: DeviceAttribution | undefined, visit: (i: number, link: ReplayLink) => void): void {
  if (!att) return;
  const n = att.route.length;
  for (let i = 0; i < n; i++) {
    if (!isReplayLinked(att, i)) continue;
    const t = att.opTrace[i]!;
    const records = att.opTraces[t]!;
    visit(i, { records, trace: t, chain: opChain(records, att.op[i]!), replay: att.replay[i]!, route: att.route[i] as Route.Capture | Route.Mapping });
  }
}
