/**
 * Pass 1 of `merge` for one rank, in a form that crosses a worker-thread boundary: everything
 * pass 2 needs, and nothing per event but two bytes per slice/flow (lanes) and one for filters.
 */
import { scanFile } from '../io/read.js';
import { F } from '../io/scanner.js';
import { stringField } from '../io/fields.js';
import { TraceIndex } from '../formats/trace-index.js';
import { planLanes, type FixSummary, type MetaEvent } from '../transforms/fix-plan.js';
import { assignLanes } from '../transforms/lanes.js';
import type { DiagnosticEntry } from '../model/diagnostics.js';
import { GrowableF64, GrowableI32, GrowableU16, GrowableU32, GrowableU8 } from '../model/growable.js';

export interface RawEntry {
  key: string;
  rawKey: Uint8Array;
  rawValue: Uint8Array;
}

export interface NameFilter {
  include?: string;
  exclude?: string;
}

export interface RankIndexOptions {
  /** Apply the overlap fix (lanes). */
  fix: boolean;
  names?: NameFilter;
}

export interface RankScan {
  path: string;
  name: string;
  events: number;
  bytes: number;
  compressedBytes: number;
  header: RawEntry[];
  trailer: RawEntry[];
  /** baseTimeNanoseconds as decimal text (exact), or undefined. */
  baseTimeNs: string | undefined;
  distributedInfo: Record<string, unknown> | undefined;
  /** Integer µs that the relative ns times below are measured from. */
  baseUs: number;
  /** Some ts was a JSON string (torch_npu): the merge makes them numeric. */
  stringTs: boolean;
  /** Some flow id was beyond 2^53: the merge renumbers flow ids. */
  unsafeFlowIds: boolean;
  /** Rank from the profile directory (torch_npu profiler_info), when known. */
  dirRank?: number | null;
  minTs: number;
  maxEnd: number;
  pids: string[];
  processNames: Map<string, string>;
  processLabels: Map<string, string>;
  processSort: Map<string, number>;
  /** New tid text of moved slices / flows by ordinal (sparse). */
  movedSlices: Map<number, string>;
  movedFlows: Map<number, string>;
  /** New sort_index per `pidRaw\u0001tidRaw` for existing thread_sort_index events. */
  threadSortRewrite: Map<string, number>;
  extraMetadata: MetaEvent[];
  /** Name filter verdict per slice / flow ordinal (1 keep), when a name filter is set. */
  sliceKeep: Uint8Array | undefined;
  flowKeep: Uint8Array | undefined;
  summary: FixSummary | undefined;
  diagnostics: DiagnosticEntry[];
}

function parseJson(b: Uint8Array): unknown {
  try { return JSON.parse(Buffer.from(b).toString('utf8')); } catch { return undefined; }
}

/** Whether a name passes the include / exclude regexes. */
export function nameMatcher(f: NameFilter | undefined): ((name: string | undefined) => boolean) | undefined {
  if (!f || (f.include === undefined && f.exclude === undefined)) return undefined;
  const inc = f.include !== undefined ? new RegExp(f.include) : undefined;
  const exc = f.exclude !== undefined ? new RegExp(f.exclude) : undefined;
  return (name) => {
    const s = name ?? '';
    return (inc === undefined || inc.test(s)) && (exc === undefined || !exc.test(s));
  };
}

export async function indexRank(path: string, name: string, opts: RankIndexOptions): Promise<RankScan> {
  const match = nameMatcher(opts.names);
  const index = new TraceIndex(name, { flowKeys: match !== undefined });
  const keep = new GrowableU8();
  const handler = match
    ? {
      topLevel: index.topLevel.bind(index),
      event(ev: Parameters<TraceIndex['event']>[0]) {
        const before = index.sliceCount;
        index.event(ev);
        if (index.sliceCount > before) keep.push(match(stringField(ev, F.name)) ? 1 : 0);
      },
    }
    : index;
  const r = await scanFile(path, handler);
  const plan = opts.fix ? planLanes(index) : undefined;
  const movedSlices = new Map<number, string>();
  const movedFlows = new Map<number, string>();
  const threadSortRewrite = new Map<string, number>();
  if (plan) {
    const sTrack = index.slices().track;
    const fTrack = index.flows().track;
    plan.lanes.sliceLane.forEach((lane, i) => { if (lane > 0) movedSlices.set(i, plan.laneTid.get(sTrack[i]!)![lane - 1]!); });
    plan.lanes.flowLane.forEach((lane, i) => { if (lane > 0) movedFlows.set(i, plan.laneTid.get(fTrack[i]!)![lane - 1]!); });
    for (const [t, v] of plan.sortRewrite) {
      const info = index.tracks[t]!;
      threadSortRewrite.set(info.pidRaw + '\u0001' + info.tidRaw, v);
    }
  }
  let sliceKeep: Uint8Array | undefined;
  let flowKeep: Uint8Array | undefined;
  if (match) {
    sliceKeep = keep.view().slice();
    // An arrow is kept whole or not at all: each flow event binds to a slice (the lane sweep
    // finds which, with or without the fix); a flow id is kept when all its ends' slices are.
    const flows = index.flows();
    const bound = (plan?.lanes ?? assignLanes(index.slices(), flows, index.tracks.length)).flowSlice;
    const dropKey = new Set<string>();
    const keys = index.flowKeys!;
    for (let i = 0; i < flows.count; i++) {
      const s = bound[i]!;
      if (s >= 0 && sliceKeep[s] === 0) dropKey.add(keys[i]!);
    }
    flowKeep = new Uint8Array(flows.count);
    for (let i = 0; i < flows.count; i++) flowKeep[i] = dropKey.has(keys[i]!) ? 0 : 1;
  }
  const entry = (e: { key: string; rawKey: Buffer; rawValue: Buffer }): RawEntry => ({ key: e.key, rawKey: new Uint8Array(e.rawKey), rawValue: new Uint8Array(e.rawValue) });
  const header = index.header.map(entry);
  const trailer = index.trailer.map(entry);
  const find = (k: string): RawEntry | undefined => header.find((h) => h.key === k) ?? trailer.find((h) => h.key === k);
  const base = find('baseTimeNanoseconds');
  const baseText = base ? Buffer.from(base.rawValue).toString('latin1').trim().replace(/^"|"$/g, '') : undefined;
  const di = find('distributedInfo');
  const distributedInfo = di ? parseJson(di.rawValue) : undefined;
  if (plan) {
    for (let i = 0; i < plan.lanes.flowSlice.length; i++) if (plan.lanes.flowSlice[i] === -1) index.diagnostics.add('flow_unbound');
  }
  return {
    path, name, events: r.events, bytes: r.bytes, compressedBytes: r.compressedBytes, header, trailer,
    baseTimeNs: baseText !== undefined && /^\d+$/.test(baseText) ? baseText : undefined,
    distributedInfo: distributedInfo && typeof distributedInfo === 'object' ? distributedInfo as Record<string, unknown> : undefined,
    baseUs: index.time.baseUs ?? 0,
    stringTs: index.stringTs,
    unsafeFlowIds: index.unsafeFlowIds,
    minTs: index.minTs, maxEnd: index.maxEnd,
    pids: [...index.pids],
    processNames: index.processNames, processLabels: index.processLabels, processSort: index.processSort,
    movedSlices, movedFlows, threadSortRewrite,
    extraMetadata: plan?.extraMetadata ?? [],
    sliceKeep, flowKeep,
    summary: plan?.summary,
    diagnostics: index.diagnostics.list(),
  };
}
