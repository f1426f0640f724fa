/**
 * CUDA / HIP graph replays traced back to the ops that captured them. A replay is one
 * `cudaGraphLaunch` / `hipGraphLaunch`: its kernels share the launch's correlation, carry no
 * External id, run on one stream, and their order is their start time. They are matched as a
 * sequence to:
 *
 * - a **capture** trace: the kernel launches made on a thread between `{cuda,hip}StreamBeginCapture`
 *   and `…EndCapture` whose correlation has no kernel event (they were captured, not run).
 *   HIP launches name their kernel (`args.kernel`): the names must equal the replay's, in order.
 *   CUDA launches carry no name: the counts and the kinds (kernel, copy, set) must be equal.
 * - a **mapping** trace (the same workload with graphs off): the replay's kernel names as a
 *   contiguous run of the eager kernels of a device (copies and sets ignored unless the replay
 *   has them), preferring runs that start a step.
 *
 * Never a guess: when several captures or runs match (several batch sizes with the same kernel
 * count, a periodic pattern), the batch size named on both sides decides; after that a kernel is
 * attributed only if every remaining candidate gives it the same site. When both routes match,
 * a kernel whose op differs between them is left unattributed. What matches nothing stays
 * "graph replay, unattributed".
 */
import { sortIfNeeded } from '../model/order.js';
import { attributeEager, launchSites, Route, type DeviceAttribution, type Site, type SiteTable } from './attribution.js';
import { apiKindOf, linkLaunches, type LaunchLinks } from './launch-link.js';
import { chainKey } from './replay-ops.js';
import type { TraceRecords } from './records/trace-records.js';

/** A trace to attribute replays from. */
export interface GraphSource {
  route: Route.Capture | Route.Mapping;
  file: string;
  records: TraceRecords;
  /** Batch size this trace was captured at (execution_details.json, `bs_32`), when known. */
  bs?: number | undefined;
}

/** One candidate sequence: tokens, and per token a site and the op there. */
interface Seq {
  route: Route.Capture | Route.Mapping;
  file: string;
  /** Index of its trace among the sources. */
  src: number;
  /** Kernel names, or undefined for CUDA capture launches (no names). */
  names: string[] | undefined;
  /** 'k' kernel, 'c' copy, 's' set, per token. */
  kinds: string;
  site: Int32Array;
  /** Per token: the op of the site, as an index into the source trace's ops (-1 none). */
  op: Int32Array;
  bs: number | undefined;
  /** For mapping runs: the run starts a step. */
  anchored: boolean;
}

/** Per replayed graph (distinct kernel sequence): how it was attributed. */
export interface GraphMatch {
  /** Graph launches with this kernel sequence, and kernels per launch. */
  launches: number;
  kernels: number;
  route: 'capture' | 'mapping' | 'none';
  /** The files of the candidates used. */
  files: string[];
  /** Kernels per launch given a site. */
  attributed: number;
  /** Why not, when nothing matched or candidates disagreed. */
  reason?: string;
}

const tokenKind = (name: string): string => (/^memcpy/i.test(name) ? 'c' : /^memset/i.test(name) ? 's' : 'k');
const BS = /\bbs[=_ :]?(\d+)\b|\bbatch[_ ]?size[=_ :]?(\d+)/i;

/** A batch size named in a text (`step[DECODE bs=32]`, `bs_32_rank0.json.gz`, `capture_32_DECODE`). */
export function batchSizeIn(text: string): number | undefined {
  const m = BS.exec(text) ?? /^(?:capture|execute)_(\d+)_/.exec(text);
  const v = m ? Number(m[1] ?? m[2]) : NaN;
  return Number.isInteger(v) ? v : undefined;
}

/** The annotations (CPU) containing time t on a thread, innermost last. */
function annotationsAt(r: TraceRecords, thread: number, t: number): string[] {
  return r.annotations.filter((a) => !a.gpu && a.thread === thread && a.start <= t && a.start + a.dur >= t)
    .sort((a, b) => a.start - b.start || b.dur - a.dur).map((a) => a.name);
}

/** Batch size named by the innermost annotation that names one. */
function bsAround(r: TraceRecords, thread: number, t: number): number | undefined {
  const names = annotationsAt(r, thread, t);
  for (let j = names.length - 1; j >= 0; j--) { const b = batchSizeIn(names[j]!); if (b !== undefined) return b; }
  return undefined;
}

/** Capture regions of one trace as candidate sequences. */
function captureSeqs(src: GraphSource, srcIdx: number, table: SiteTable, library: RegExp | undefined): Seq[] {
  const r = src.records;
  const l = r.launches;
  if (!l) return [];
  const ran = new Set<number>();
  for (let i = 0; i < r.device.count; i++) { const c = r.device.corr[i]!; if (c === c) ran.add(c); }
  const kinds = r.apiNames.map(apiKindOf);
  const begin = r.apiNames.map((n) => /^(?:cuda|hip|cu)StreamBeginCapture/.test(n));
  const end = r.apiNames.map((n) => /^(?:cuda|hip|cu)StreamEndCapture/.test(n));
  const order = sortIfNeeded(Array.from({ length: l.count }, (_, i) => i), (a, b) => l.thread[a]! - l.thread[b]! || l.start[a]! - l.start[b]! || a - b);
  const regions: { thread: number; start: number; end: number; rows: number[] }[] = [];
  let open: { thread: number; start: number; end: number; rows: number[] } | undefined;
  for (const i of order) {
    const n = l.name[i]!;
    if (open && l.thread[i] !== open.thread) open = undefined;
    if (begin[n]) { open = { thread: l.thread[i]!, start: l.start[i]!, end: NaN, rows: [] }; continue; }
    if (!open) continue;
    if (end[n]) { open.end = l.start[i]!; regions.push(open); open = undefined; continue; }
    const k = kinds[n];
    const c = l.corr[i]!;
    if ((k === 'kernel' || k === 'memcpy' || k === 'memset') && !(c === c && ran.has(c))) open.rows.push(i);
  }
  const seqs: Seq[] = [];
  for (const reg of regions) {
    if (reg.rows.length === 0) continue;
    const ls = launchSites(r, table, reg.rows, library);
    const named = reg.rows.every((i) => l.kernel[i]! >= 0 || kinds[l.name[i]!] !== 'kernel');
    seqs.push({
      route: Route.Capture, file: src.file, src: srcIdx,
      names: named ? reg.rows.map((i) => (l.kernel[i]! >= 0 ? r.launchKernelNames[l.kernel[i]!]! : '')) : undefined,
      kinds: reg.rows.map((i) => { const k = kinds[l.name[i]!]; return k === 'memcpy' ? 'c' : k === 'memset' ? 's' : 'k'; }).join(''),
      site: Int32Array.from(reg.rows, (i) => ls.site[i]!),
      op: Int32Array.from(reg.rows, (i) => ls.op[i]!),
      bs: bsAround(r, reg.thread, reg.start) ?? src.bs, anchored: true,
    });
  }
  return seqs;
}

/** The eager kernel stream of a mapping trace: per device, by start; graph replay kernels left out. */
interface EagerStream { names: string[]; kinds: string; site: Int32Array; op: Int32Array; stepStart: Uint8Array; bs: (number | undefined)[] }

function eagerStreams(src: GraphSource, table: SiteTable, library: RegExp | undefined): EagerStream[] {
  const r = src.records;
  const d = r.device;
  const links = linkLaunches(r, 0);
  const att = attributeEager(r, table, library, links);
  const l = r.launches;
  const steps = r.annotations.filter((a) => !a.gpu && /ProfilerStep#|step/i.test(a.name));
  const byPid = new Map<number, number[]>();
  for (let i = 0; i < d.count; i++) {
    if (att.route[i] === Route.GraphUnattributed) continue;
    let a = byPid.get(d.pid[i]!);
    if (!a) byPid.set(d.pid[i]!, (a = []));
    a.push(i);
  }
  const out: EagerStream[] = [];
  for (const rows of byPid.values()) {
    sortIfNeeded(rows, (a, b) => d.start[a]! - d.start[b]! || a - b);
    const names = rows.map((i) => r.names[d.name[i]!]!);
    const stepStart = new Uint8Array(rows.length);
    const bs: (number | undefined)[] = new Array(rows.length).fill(undefined);
    if (l && steps.length > 0) markStepStarts(r, rows, links.launchOf, steps, stepStart, bs);
    out.push({
      names, kinds: names.map(tokenKind).join(''),
      site: Int32Array.from(rows, (i) => att.site[i]!),
      op: Int32Array.from(rows, (i) => att.op[i]!),
      stepStart, bs,
    });
  }
  return out;
}

/**
 * Marks the first activity (in device order) launched inside each step annotation. Steps are
 * taken per process, sorted by start; a launch belongs to the latest step starting before it.
 */
function markStepStarts(r: TraceRecords, rows: number[], launchOf: Int32Array, steps: TraceRecords['annotations'], stepStart: Uint8Array, bs: (number | undefined)[]): void {
  const l = r.launches!;
  const sorted = [...steps].sort((a, b) => a.start - b.start);
  const seen = new Set<number>();
  for (let k = 0; k < rows.length; k++) {
    const li = launchOf[rows[k]!]!;
    if (li < 0) continue;
    const t = l.start[li]!;
    const pid = r.threads[l.thread[li]!]!.pid;
    let lo = 0, hi = sorted.length - 1, at = -1;
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (sorted[mid]!.start <= t) { at = mid; lo = mid + 1; } else hi = mid - 1; }
    // the innermost step containing t on this process: walk back over the ones starting before t
    for (let j = at; j >= 0 && j > at - 8; j--) {
      const s = sorted[j]!;
      if (s.pid !== pid || s.start + s.dur < t) continue;
      if (!seen.has(j)) { seen.add(j); stepStart[k] = 1; bs[k] = batchSizeIn(s.name); }
      break;
    }
  }
}

/** Runs of the eager streams equal to the replay's tokens (KMP), as candidate sequences. */
function mappingSeqs(src: GraphSource, srcIdx: number, streams: EagerStream[], names: string[], kinds: string): Seq[] {
  const keep = (k: string): boolean => k === 'k' || kinds.includes(k);
  const seqs: Seq[] = [];
  const m = names.length;
  const fail = new Int32Array(m + 1);
  fail[0] = -1;
  for (let i = 1, k = -1; i <= m; i++) {
    while (k >= 0 && names[k] !== names[i - 1]) k = fail[k]!;
    fail[i] = ++k;
  }
  for (const s of streams) {
    const idx: number[] = [];
    for (let i = 0; i < s.names.length; i++) if (keep(s.kinds[i]!)) idx.push(i);
    for (let i = 0, k = 0; i < idx.length; i++) {
      const name = s.names[idx[i]!]!;
      while (k >= 0 && (k === m || names[k] !== name)) k = fail[k]!;
      k++;
      if (k === m) {
        const pos = idx.slice(i - m + 1, i + 1);
        // a step that starts with a copy the replay does not have still anchors the run
        let anchored = false;
        for (let p = i - m >= 0 ? idx[i - m]! + 1 : 0; p <= pos[0]! && !anchored; p++) anchored = s.stepStart[p] === 1;
        seqs.push({
          route: Route.Mapping, file: src.file, src: srcIdx, names, kinds,
          site: Int32Array.from(pos, (p) => s.site[p]!), op: Int32Array.from(pos, (p) => s.op[p]!),
          bs: s.bs[pos[0]!] ?? src.bs, anchored,
        });
      }
    }
  }
  return seqs;
}

/** Candidates whose tokens fit the replay, narrowed by batch size and (mapping) anchoring. */
function narrow(cands: Seq[], bs: number | undefined): Seq[] {
  let c = cands;
  if (bs !== undefined && c.some((s) => s.bs === bs)) c = c.filter((s) => s.bs === bs || s.bs === undefined);
  else if (bs !== undefined) c = c.filter((s) => s.bs === undefined);
  if (c.some((s) => s.anchored)) c = c.filter((s) => s.anchored);
  return c;
}

/** Two sites name different ops (or shapes); an unknown op differs from nothing. */
const differ = (a: Site, b: Site): boolean => a.op !== '' && b.op !== '' && (a.op !== b.op || a.dims !== b.dims);

/**
 * Per index: the site all candidates agree on, else -1; and the op of the first candidate (its
 * trace `src`) when every candidate's op also sits under the same enclosing ops (names and
 * shapes, op-tree.ts), else -1: the views count the replayed time for those ancestors.
 */
function agreed(cands: Seq[], n: number, sources: readonly GraphSource[]): { site: Int32Array; src: Int32Array; op: Int32Array } {
  const site = new Int32Array(n).fill(-1);
  const src = new Int32Array(n).fill(-1);
  const op = new Int32Array(n).fill(-1);
  if (cands.length === 0) return { site, src, op };
  const c0 = cands[0]!;
  for (let i = 0; i < n; i++) {
    const s = c0.site[i]!;
    if (s < 0 || !cands.every((c) => c.site[i] === s)) continue;
    site[i] = s;
    const o = c0.op[i]!;
    if (o < 0) continue;
    const key = cands.length > 1 ? chainKey(sources[c0.src]!.records, o) : '';
    if (cands.length > 1 && !cands.every((c) => c.op[i]! >= 0 && chainKey(sources[c.src]!.records, c.op[i]!) === key)) continue;
    src[i] = c0.src;
    op[i] = o;
  }
  return { site, src, op };
}

export interface ReplayAttribution {
  graphs: GraphMatch[];
  /** Graph launches in the trace, and their kernels. */
  launches: number;
  kernels: number;
  /** Kernels where the two routes named different ops (left unattributed), and the first few names. */
  conflicts: number;
  conflictNames: string[];
  /**
   * Kernels given a site whose op sits under different enclosing ops in the matching candidates:
   * no op instance is linked for them (the op view counts them for the op alone, the efficiency
   * view not at all).
   */
  chainsDiffer: number;
}

/**
 * Fills in the replay kernels of `att` (from attributeEager on `r`) from the sources. Mutates
 * `att`; returns what was matched per replayed graph.
 */
export function attributeReplays(r: TraceRecords, att: DeviceAttribution, sources: readonly GraphSource[], table: SiteTable, library?: RegExp, links: LaunchLinks = linkLaunches(r, 0)): ReplayAttribution {
  const d = r.device;
  const l = r.launches;
  const res: ReplayAttribution = { graphs: [], launches: 0, kernels: 0, conflicts: 0, conflictNames: [], chainsDiffer: 0 };
  if (!l) return res;
  let any = false;
  for (let i = 0; i < d.count && !any; i++) any = att.route[i] === Route.GraphUnattributed;
  if (!any) return res;
  const byLaunch = new Map<number, number[]>();
  for (let i = 0; i < d.count; i++) {
    if (att.route[i] !== Route.GraphUnattributed) continue;
    const li = links.launchOf[i]!;
    let a = byLaunch.get(li);
    if (!a) byLaunch.set(li, (a = []));
    a.push(i);
  }
  res.launches = byLaunch.size;
  // replays grouped by their token sequence (and batch size)
  const graphs = new Map<string, { names: string[]; kinds: string; bs: number | undefined; replays: { launch: number; rows: number[] }[] }>();
  for (const [li, rows] of byLaunch) {
    sortIfNeeded(rows, (a, b) => d.start[a]! - d.start[b]! || a - b);
    res.kernels += rows.length;
    const names = rows.map((i) => r.names[d.name[i]!]!);
    const bs = bsAround(r, l.thread[li]!, l.start[li]!);
    const key = `${bs ?? ''}\u0002${names.join('\u0001')}`;
    let g = graphs.get(key);
    if (!g) graphs.set(key, (g = { names, kinds: names.map(tokenKind).join(''), bs, replays: [] }));
    g.replays.push({ launch: li, rows });
  }
  // sources: capture regions once, eager streams once
  att.opTraces = sources.map((s) => s.records);
  const captures: Seq[] = [];
  const mappings: { src: GraphSource; idx: number; streams: EagerStream[] }[] = [];
  sources.forEach((s, idx) => {
    if (s.route === Route.Capture) captures.push(...captureSeqs(s, idx, table, library));
    else mappings.push({ src: s, idx, streams: eagerStreams(s, table, library) });
  });
  for (const g of graphs.values()) {
    const n = g.names.length;
    const mapCands = narrow(mappings.flatMap((m) => mappingSeqs(m.src, m.idx, m.streams, g.names, g.kinds)), g.bs);
    const map = agreed(mapCands, n, sources);
    let capCands = narrow(captures.filter((c) => c.kinds === g.kinds && (c.names === undefined || c.names.every((x, i) => x === g.names[i]))), g.bs);
    // several capture regions fit (nameless CUDA launches, no batch size): keep those whose ops agree with the mapping run
    if (capCands.length > 1 && mapCands.length > 0) {
      const fits = capCands.filter((c) => !c.site.some((s, i) => s >= 0 && map.site[i]! >= 0 && differ(table.list[s]!, table.list[map.site[i]!]!)));
      if (fits.length > 0) capCands = fits;
    }
    const cap = agreed(capCands, n, sources);
    let attributed = 0;
    for (let i = 0; i < n; i++) {
      let s = cap.site[i]!;
      let route = Route.Capture;
      let from = cap;
      if (s >= 0 && map.site[i]! >= 0 && differ(table.list[s]!, table.list[map.site[i]!]!)) {
        res.conflicts += g.replays.length;
        if (res.conflictNames.length < 5) res.conflictNames.push(`${g.names[i]!}: capture ${table.list[s]!.op}, mapping ${table.list[map.site[i]!]!.op}`);
        continue;
      }
      if (s < 0) { s = map.site[i]!; route = Route.Mapping; from = map; }
      if (s < 0) continue;
      attributed++;
      if (from.op[i]! < 0 && table.list[s]!.op !== '') res.chainsDiffer += g.replays.length;
      for (const rep of g.replays) {
        const k = rep.rows[i]!;
        att.site[k] = s;
        att.route[k] = route;
        att.opTrace[k] = from.src[i]!;
        att.op[k] = from.op[i]!;
      }
    }
    const useCap = capCands.length > 0;
    const used = useCap ? [...capCands, ...mapCands] : mapCands;
    const m: GraphMatch = {
      launches: g.replays.length, kernels: n, route: used.length > 0 ? (useCap ? 'capture' : 'mapping') : 'none',
      files: [...new Set(used.map((c) => c.file))], attributed,
    };
    if (used.length === 0) m.reason = sources.length === 0 ? 'no capture or mapping trace' : 'no capture region or eager run has this kernel sequence';
    else if (attributed < n) m.reason = `${n - attributed} kernel(s) differ between ${used.length} matching candidates or between the routes`;
    res.graphs.push(m);
  }
  return res;
}
