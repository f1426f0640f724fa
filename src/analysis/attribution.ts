/**
 * The attribution chain of a device activity: its launch call (by correlation, launch-link.ts)
 * → the CPU op it was launched in (`External id`, else the innermost cpu_op containing the
 * launch on its thread) with `Input Dims` / `Input type` → the Python frames containing the
 * launch on the same thread (`with_stack`): the source line and the `nn.Module` chain.
 *
 * Source rule: the first non-library frame below the innermost `nn.Module:` frame (the
 * module's own forward); when there is none, the innermost non-library frame. Library frames:
 * `<built-in …>`, `<frozen …>`, `<string>`, `nn.Module:` itself, `torch/…`, the standard
 * library (threading.py, contextlib.py, functools.py, multiprocessing/, importlib/, …), plus
 * whatever `library` adds (e.g. `aiter/|sgl_kernel/`).
 *
 * Everything is by time containment with a 1 ns tolerance at the end (Kineto's µs decimals).
 * Sites (op, dims, types, source, module) are plain strings, interned in a SiteTable that can
 * be shared by several traces (a replay and its capture trace).
 */
import { indexOfIds } from '../model/id-index.js';
import { threadOrder } from '../model/order.js';
import { apiKindOf, linkLaunches, type LaunchLinks } from './launch-link.js';
import type { TraceRecords } from './records/trace-records.js';

/** Where a device activity comes from; '' for what is not known. */
export interface Site {
  op: string;
  /** Raw `Input Dims` / `Input type` text of the op. */
  dims: string;
  types: string;
  /** `path.py(LINE): func` by the source rule. */
  source: string;
  /** nn.Module classes from the outermost in, instance numbers dropped: `Qwen3Model/Qwen3DecoderLayer/Qwen3MLP`. */
  module: string;
}

/** Sites interned by value. */
export class SiteTable {
  readonly list: Site[] = [];
  private readonly ids = new Map<string, number>();

  id(s: Site): number {
    const key = `${s.op}\u0001${s.dims}\u0001${s.types}\u0001${s.source}\u0001${s.module}`;
    let id = this.ids.get(key);
    if (id === undefined) { id = this.list.length; this.list.push(s); this.ids.set(key, id); }
    return id;
  }
}

/** Frames that are never "the source": interpreter built-ins, torch itself, the standard library. */
export const LIBRARY_FRAMES = /^(?:<built-in|<frozen|<string>|<lambda>|nn\.Module: )|(?:^|\/)(?:torch|triton|multiprocessing|concurrent|importlib|asyncio|json|logging)\/|(?:^|\/)(?:threading|contextlib|functools|runpy|abc|typing)\.py\(|\/lib\/python3\.\d+\/(?!site-packages\/|dist-packages\/)/;

const MODULE_PREFIX = 'nn.Module: ';


/** Spans on threads: what the containment sweep walks. */
interface Spans { count: number; start: Float64Array; dur: Float64Array; thread: Int32Array }

/** Indices of `s` sorted by (thread, start ascending, duration descending). */
const orderOf = (s: Spans, rows?: ArrayLike<number>): Uint32Array => threadOrder(s, rows).order;

/**
 * For each query row (a launch), the spans containing it on its thread, outermost first:
 * `visit(q, stack, depth)` sees them as stack[0..depth). Spans nest per thread (a span that
 * crosses another is kept as its child, as the op view does).
 */
export function containing(spans: Spans, queries: Spans, rows: ArrayLike<number>, visit: (q: number, stack: Int32Array, depth: number) => void): void {
  const so = orderOf(spans);
  const qo = orderOf(queries, rows);
  const open: number[] = [];
  const chain = new Int32Array(256);
  let k = 0;
  let thread = -1;
  for (let j = 0; j < qo.length; j++) {
    const q = qo[j]!;
    const qt = queries.thread[q]!;
    const qs = queries.start[q]!;
    const qe = qs + queries.dur[q]!;
    if (qt !== thread) {
      thread = qt;
      open.length = 0;
      while (k < so.length && spans.thread[so[k]!]! < qt) k++;
    }
    while (k < so.length && spans.thread[so[k]!] === qt && spans.start[so[k]!]! <= qs) {
      const i = so[k++]!;
      const s = spans.start[i]!;
      while (open.length > 0) {
        const top = open[open.length - 1]!;
        if (spans.start[top]! + spans.dur[top]! <= s) open.pop(); else break;
      }
      open.push(i);
    }
    let depth = 0;
    for (const i of open) {
      if (spans.start[i]! + spans.dur[i]! >= qe - 1 && depth < chain.length) chain[depth++] = i;
    }
    visit(q, chain, depth);
  }
}

/**
 * Below this many queries, innermostContaining per query (a pass over the spans each) is
 * cheaper than sorting every span for containing() — a trace whose launches nearly all carry an
 * External id leaves a few sync calls to place (2 on the bench trace, against 187k ops).
 */
const FEW_QUERIES = 16;

/**
 * The innermost span containing query q on its thread, as containing() finds it (the last of
 * its chain), or -1: among the spans starting at or before the query and ending at or after its
 * end (1 ns tolerance), the latest start, then the shortest, then the last row. For a query of
 * 1 ns or less containing() may also drop a span that ended at its start; then it is used itself.
 */
export function innermostContaining(spans: Spans, queries: Spans, q: number): number {
  const qs = queries.start[q]!;
  const qe = qs + queries.dur[q]!;
  if (!(qe - 1 > qs)) {
    let found = -1;
    containing(spans, queries, [q], (_q, stack, depth) => { if (depth > 0) found = stack[depth - 1]!; });
    return found;
  }
  const qt = queries.thread[q]!;
  let best = -1;
  for (let i = 0; i < spans.count; i++) {
    if (spans.thread[i] !== qt) continue;
    const s = spans.start[i]!;
    if (s > qs || s + spans.dur[i]! < qe - 1) continue;
    if (best < 0 || s > spans.start[best]! || (s === spans.start[best]! && spans.dur[i]! <= spans.dur[best]!)) best = i;
  }
  return best;
}

/** What the attribution keeps of a trace: per launch call, its site (or -1). */
export interface LaunchSites {
  /** Per launch call (index into records.launches): site id, or -1 when not computed. */
  site: Int32Array;
  /** Per launch call: index into records.ops of its op, or -1. */
  op: Int32Array;
}

/** True for frames that are not "the source" (by name id, memoized). */
function libraryTest(names: readonly string[], extra: RegExp | undefined): (id: number) => boolean {
  const memo = new Int8Array(names.length).fill(-1);
  return (id) => {
    let v = memo[id]!;
    if (v < 0) {
      const n = names[id]!;
      v = memo[id] = LIBRARY_FRAMES.test(n) || (extra !== undefined && extra.test(n)) ? 1 : 0;
    }
    return v === 1;
  };
}

/**
 * Sites of the launch calls `rows` (default: every kernel / copy / set launch) of one trace.
 * Needs records with launches; ops and Python frames are used when collected.
 */
export function launchSites(r: TraceRecords, table: SiteTable, rows?: ArrayLike<number>, library?: RegExp): LaunchSites {
  const l = r.launches;
  const n = l?.count ?? 0;
  const site = new Int32Array(n).fill(-1);
  const opOf = new Int32Array(n).fill(-1);
  if (!l) return { site, op: opOf };
  if (!rows) {
    const kinds = r.apiNames.map(apiKindOf);
    const pick: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = kinds[l.name[i]!];
      if (k === 'kernel' || k === 'memcpy' || k === 'memset' || k === 'sync') pick.push(i);
    }
    rows = pick;
  }
  const o = r.ops;
  if (o && o.count > 0) {
    const byExt = indexOfIds(o.ext);
    const viaContainment: number[] = [];
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k]!;
      const op = byExt.get(l.ext[i]!);
      if (op >= 0) opOf[i] = op; else viaContainment.push(i);
    }
    if (viaContainment.length > 0 && viaContainment.length <= FEW_QUERIES) {
      for (const q of viaContainment) opOf[q] = innermostContaining(o, l, q);
    } else if (viaContainment.length > 0) containing(o, l, viaContainment, (q, stack, depth) => { if (depth > 0) opOf[q] = stack[depth - 1]!; });
  }
  const source = new Array<string>(n);
  const module = new Array<string>(n);
  const py = r.python;
  if (py && py.count > 0) {
    const isLib = libraryTest(r.frameNames, library);
    const names = r.frameNames;
    containing(py, l, rows, (q, stack, depth) => {
      let m = -1;
      let mod = '';
      for (let j = 0; j < depth; j++) {
        const name = names[py.name[stack[j]!]!]!;
        if (name.startsWith(MODULE_PREFIX)) {
          m = j;
          const cls = name.slice(MODULE_PREFIX.length).replace(/_\d+$/, '');
          mod = mod === '' ? cls : `${mod}/${cls}`;
        }
      }
      let src = -1;
      if (m >= 0) for (let j = m + 1; j < depth && src < 0; j++) if (!isLib(py.name[stack[j]!]!)) src = j;
      if (src < 0) for (let j = depth - 1; j >= 0 && src < 0; j--) if (!isLib(py.name[stack[j]!]!)) src = j;
      source[q] = src >= 0 ? names[py.name[stack[src]!]!]! : '';
      module[q] = mod;
    });
  }
  // a site per (op key, source, module), looked up without building the table's string key per launch
  const plain = new Int32Array(r.opKeys.length + 1).fill(-1);
  const framed = new Map<string, number>();
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k]!;
    const op = opOf[i]!;
    const kid = op >= 0 ? o!.key[op]! : -1;
    const src = source[i] ?? '';
    const mod = module[i] ?? '';
    const ck = src === '' && mod === '' ? undefined : `${kid}\u0001${src}\u0001${mod}`;
    let id = ck === undefined ? plain[kid + 1]! : framed.get(ck) ?? -1;
    if (id < 0) {
      const key = kid >= 0 ? r.opKeys[kid]! : undefined;
      id = table.id({ op: key?.name ?? '', dims: key?.dims ?? '', types: key?.types ?? '', source: src, module: mod });
      if (ck === undefined) plain[kid + 1] = id; else framed.set(ck, id);
    }
    site[i] = id;
  }
  return { site, op: opOf };
}

/** How a device activity got its site. */
export const enum Route { None = 0, Eager = 1, Capture = 2, Mapping = 3, GraphUnattributed = 4 }
export const ROUTE_NAMES = ['no launch call', 'eager', 'capture', 'mapping', 'graph replay, unattributed'] as const;

/** The attribution of every device activity of one trace (or rank). */
export interface DeviceAttribution {
  /** Per device activity: site id (index into `sites`), or -1. */
  site: Int32Array;
  route: Uint8Array;
  /**
   * Per device activity: the op its site names, as an index into the ops of the trace that
   * recorded it — this trace when `opTrace[i]` is -1, else `opTraces[opTrace[i]]` (the capture or
   * mapping trace of a replayed kernel) — or -1 when no op is known.
   */
  op: Int32Array;
  opTrace: Int32Array;
  /** The capture and mapping traces that replayed kernels' ops are in. */
  opTraces: TraceRecords[];
  /** Per graph replay kernel: its graph launch (index into the trace's launches), else -1. */
  replay: Int32Array;
  sites: Site[];
}

/**
 * Eager attribution of one trace: every device activity through its own launch call. Graph
 * replay kernels are marked GraphUnattributed (graph-replay.ts fills them in when it can).
 */
export function attributeEager(r: TraceRecords, table: SiteTable, library?: RegExp, links: LaunchLinks = linkLaunches(r, 0)): DeviceAttribution {
  const d = r.device;
  const ls = launchSites(r, table, undefined, library);
  const site = new Int32Array(d.count).fill(-1);
  const route = new Uint8Array(d.count);
  const opOf = new Int32Array(d.count).fill(-1);
  const replay = new Int32Array(d.count).fill(-1);
  const o = r.ops;
  const byExt = indexOfIds(o?.ext ?? new Float64Array(0));
  /** Site of an op key without source or module, per key id (-1: not made yet). */
  const opOnly = new Int32Array(r.opKeys.length).fill(-1);
  for (let i = 0; i < d.count; i++) {
    const li = links.launchOf[i]!;
    if (li >= 0 && links.kinds[r.launches!.name[li]!] === 'graph') { route[i] = Route.GraphUnattributed; replay[i] = li; continue; }
    const op = byExt.get(d.ext[i]!);
    const extOp = op >= 0 ? op : undefined;
    if (li >= 0 && ls.site[li]! >= 0) {
      site[i] = ls.site[li]!;
      route[i] = Route.Eager;
      opOf[i] = extOp ?? ls.op[li]!;
      // the kernel's own External id wins over containment
      if (extOp !== undefined && extOp !== ls.op[li]) {
        const s = table.list[site[i]!]!;
        const k = r.opKeys[o!.key[extOp]!]!;
        site[i] = table.id({ ...s, op: k.name, dims: k.dims, types: k.types });
      }
    } else if (extOp !== undefined) {
      const kid = o!.key[extOp]!;
      let id = opOnly[kid]!;
      if (id < 0) {
        const k = r.opKeys[kid]!;
        id = opOnly[kid] = table.id({ op: k.name, dims: k.dims, types: k.types, source: '', module: '' });
      }
      site[i] = id;
      route[i] = Route.Eager;
      opOf[i] = extOp;
    }
  }
  return { site, route, op: opOf, opTrace: new Int32Array(d.count).fill(-1), opTraces: [], replay, sites: table.list };
}
