/**
 * The capture and mapping traces of `stats --capture / --mapping`, and their discovery next to
 * a replay trace:
 *
 * - SGLang: `capture_traces/bs_<bs>_rank<tp>.json.gz` (+ `execution_details.json` naming each
 *   file's batch size), `graph_capture_profile/cuda_graph_capture-{runner}-TP-{rank}.json.gz`;
 * - vLLM: `graph_capture_rank_<r>.<id>.pt.trace.json.gz` beside the trace.
 *
 * Then, per rank, the attribution of every device activity (analysis/attribution.ts) with the
 * replays filled in from these traces (analysis/graph-replay.ts).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TraceforgeError } from '../errors.js';
import { SiteTable, attributeEager, Route, type DeviceAttribution } from '../analysis/attribution.js';
import { attributeReplays, batchSizeIn, type GraphMatch, type GraphSource } from '../analysis/graph-replay.js';
import type { TraceRecords } from '../analysis/records/trace-records.js';
import { linkLaunches } from '../analysis/launch-link.js';
import type { Diagnostics } from '../model/diagnostics.js';
import type { AttributionSummary } from '../analysis/source-view.js';
import type { RankData } from '../analysis/timeline.js';

const TRACE_FILE = /\.json(?:\.gz)?$/i;
const CAPTURE_DIRS = ['capture_traces', 'graph_capture_profile'];
const VLLM_CAPTURE = /^graph_capture_rank_\d+\..*\.json(?:\.gz)?$/i;

/** A capture or mapping trace to read. */
export interface GraphFile { path: string; route: Route.Capture | Route.Mapping; bs: number | undefined; rank: number | undefined }

const traceFilesIn = (dir: string): string[] => readdirSync(dir).filter((n) => TRACE_FILE.test(n) && n !== 'execution_details.json').sort().map((n) => join(dir, n));

/** Capture files found next to the given trace files (deduplicated, sorted). */
export function discoverCaptures(traces: readonly string[]): string[] {
  const out = new Set<string>();
  for (const dir of new Set(traces.filter((t) => t !== '-').map((t) => dirname(t)))) {
    for (const sub of CAPTURE_DIRS) {
      const p = join(dir, sub);
      if (existsSync(p) && statSync(p).isDirectory()) for (const f of traceFilesIn(p)) out.add(f);
    }
    if (existsSync(dir)) for (const n of readdirSync(dir)) if (VLLM_CAPTURE.test(n)) out.add(join(dir, n));
  }
  return [...out].sort();
}

/** `--capture` / `--mapping` arguments as files: a directory stands for the traces in it. */
export function expandGraphPaths(args: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (const a of args) {
    let st;
    try { st = statSync(a); } catch { throw new TraceforgeError('E_INPUT', `${a}: ${flag}: no such file or directory`, a); }
    if (!st.isDirectory()) { out.push(a); continue; }
    const files = traceFilesIn(a);
    if (files.length === 0) throw new TraceforgeError('E_NOT_FOUND', `${a}: ${flag}: no .json or .json.gz trace in this directory`, a);
    out.push(...files);
  }
  return out;
}

/** Batch size of a capture file: its directory's execution_details.json, else its name (`bs_32`). */
function batchSizeOf(path: string): number | undefined {
  const details = join(dirname(path), 'execution_details.json');
  if (existsSync(details)) {
    try {
      const v: unknown = JSON.parse(readFileSync(details, 'utf8'));
      const rows = Array.isArray(v) ? v : [];
      for (const r of rows as { file?: unknown; batch_size?: unknown }[]) {
        if (r.file === basename(path) && typeof r.batch_size === 'number') return r.batch_size;
      }
    } catch { /* a malformed file says nothing about batch sizes */ }
  }
  return batchSizeIn(basename(path));
}

const rankOfName = (name: string): number | undefined => {
  const m = /(?:rank[_-]?|-TP-)(\d+)/i.exec(name);
  return m ? Number(m[1]) : undefined;
};

export function graphFiles(capture: readonly string[], mapping: readonly string[]): GraphFile[] {
  return [
    ...capture.map((path) => ({ path, route: Route.Capture as const, bs: batchSizeOf(path), rank: rankOfName(basename(path)) })),
    ...mapping.map((path) => ({ path, route: Route.Mapping as const, bs: undefined, rank: undefined })),
  ];
}

export interface RankAttribution {
  atts: DeviceAttribution[];
  replays: { launches: number; kernels: number; graphs: GraphMatch[]; conflicts: number };
  notes: string[];
}

/**
 * Attribution of every rank. Capture files that name a rank are used for that rank only when
 * some capture file names it; the others serve every rank.
 */
export function attributeRanks(ranks: readonly RankData[], files: readonly GraphFile[], records: readonly TraceRecords[], diagnostics: Diagnostics, library?: RegExp): RankAttribution {
  const table = new SiteTable();
  const notes: string[] = [];
  const sources: (GraphSource & { rank: number | undefined })[] = files.map((f, k) => ({ route: f.route, file: f.path, records: records[k]!, bs: f.bs, rank: f.rank }));
  for (const s of sources) {
    if (s.route !== Route.Capture) continue;
    if (!s.records.apiNames.some((n) => /StreamBeginCapture/.test(n))) notes.push(`${s.file}: no stream capture in this trace (no cudaStreamBeginCapture / hipStreamBeginCapture); not used as a capture trace`);
  }
  const replays = { launches: 0, kernels: 0, graphs: [] as GraphMatch[], conflicts: 0 };
  const atts = ranks.map((rank) => {
    const links = linkLaunches(rank.records, 0);
    const att = attributeEager(rank.records, table, library, links);
    const named = sources.filter((s) => s.route === Route.Capture && s.rank !== undefined && s.rank === rank.rank);
    const use = sources.filter((s) => s.route === Route.Mapping || named.length === 0 || s.rank === rank.rank || s.rank === undefined);
    const r = attributeReplays(rank.records, att, use, table, library, links);
    replays.launches += r.launches;
    replays.kernels += r.kernels;
    replays.conflicts += r.conflicts;
    for (const c of r.conflictNames) diagnostics.add('graph_routes_disagree', { file: rank.file, index: -1, name: c.slice(0, c.indexOf(': capture ')), detail: c.slice(c.indexOf(': capture ') + 2) }, 0);
    if (r.conflicts > 0) diagnostics.add('graph_routes_disagree', undefined, r.conflicts);
    const d = rank.records.device;
    let open = 0;
    for (let i = 0; i < d.count; i++) {
      if (att.route[i] !== Route.GraphUnattributed) continue;
      if (open++ === 0) diagnostics.add('graph_replay_unattributed', { file: rank.file, index: -1, name: rank.records.names[d.name[i]!]!, detail: `${rank.label}: first of the unattributed replay kernels` }, 0);
    }
    if (open > 0) diagnostics.add('graph_replay_unattributed', undefined, open);
    replays.graphs.push(...r.graphs);
    return att;
  });
  return { atts, replays, notes };
}

/** `--library`: a regular expression (E_USAGE when malformed). */
export function libraryPattern(p: string | RegExp): RegExp {
  if (p instanceof RegExp) return p;
  try { return new RegExp(p); } catch (e) {
    throw new TraceforgeError('E_USAGE', `--library: not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** One line per replayed graph and one for the totals. */
export function attributionNotes(s: AttributionSummary): string[] {
  const out = s.replays.graphs.map((g) => `graph replay: ${g.launches} launch(es) × ${g.kernels} kernels: ${g.attributed} of ${g.kernels} attributed${g.route !== 'none' ? ` via ${g.route} (${g.files.join(', ')})` : ''}${g.reason ? `; ${g.reason}` : ''}`);
  if (s.conflicts > 0) out.push(`graph replay: ${s.conflicts} kernel(s) left unattributed: the capture and the mapping trace name different ops for them`);
  out.push(`attribution: ${pct(s.withOp.share)} of device time has an op, ${pct(s.withSource.share)} a Python source; by route: ${s.routes.map((r) => `${r.route} ${pct(r.share)} (${r.kernels})`).join(', ')}`);
  return out;
}

/** Whether a trace replays CUDA/HIP graphs, captures them, or neither (`info`). */
export interface GraphInfo {
  kind: 'replay' | 'capture' | 'eager';
  /** `cudaGraphLaunch` / `hipGraphLaunch` calls, and stream captures begun. */
  graphLaunches: number;
  captures: number;
  /** Capture traces found next to the trace (for a replay). */
  captureFiles: string[];
}

/** Counts graph launches and captures among runtime calls, from their names' bytes. */
export class GraphCallCounter {
  launches = 0;
  captures = 0;
  add(b: Buffer, s: number, e: number): void {
    if (e - s < 14) return;
    const name = b.toString('latin1', s, e);
    if (/^"(?:cuda|cu|hip)GraphLaunch/.test(name)) this.launches++;
    else if (/^"(?:cuda|cu|hip)StreamBeginCapture/.test(name)) this.captures++;
  }
  info(file: string): GraphInfo {
    const kind = this.captures > 0 ? 'capture' : this.launches > 0 ? 'replay' : 'eager';
    return { kind, graphLaunches: this.launches, captures: this.captures, captureFiles: kind === 'replay' && file !== '-' ? discoverCaptures([file]) : [] };
  }
}
