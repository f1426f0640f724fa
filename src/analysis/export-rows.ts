/**
 * The tables of `traceforge export` (docs/SCHEMA.md), as column arrays, for one rank: pure
 * functions of what `stats` already read and computed (records, device timeline, attribution,
 * launch links, idle pieces, step annotations, collective pairing). No I/O here: the Parquet
 * writer is formats/parquet.ts.
 *
 * Times: integer ns relative to the rank's time base (`ranks.time_base_ns`, epoch ns of the
 * records' time 0), rounded to the nearest ns. The partition column `rank` is not stored in the
 * files: readers get it from the Hive path (`kernels/rank=3/part-0.parquet`).
 */
import { ROUTE_NAMES, type DeviceAttribution } from './attribution.js';
import type { Categorizer } from './categories.js';
import { pairCollectives } from './collectives.js';
import { IDLE_CAUSES, idleOfRank } from './idle.js';
import { npuLinkable } from './idle-view.js';
import { linkLaunches } from './launch-link.js';
import type { FileTopLevel } from './records/trace-records.js';
import { stepStats } from './steps.js';
import { deviceName, type RankData, type RankTimeline } from './timeline.js';

export type ColumnType = 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'VARCHAR';
export interface ColumnSpec { name: string; type: ColumnType; doc: string }
/** Numbers: Float64Array (NaN = null); time bases: bigint[]; strings: (string | null)[]. */
export type ColumnData = Float64Array | (bigint | null)[] | (string | null)[];

export const TABLE_NAMES = ['kernels', 'ops', 'ranks', 'steps', 'collectives', 'idle'] as const;
export type TableName = (typeof TABLE_NAMES)[number];

export interface ExportTable { name: TableName; columns: readonly ColumnSpec[]; rows: number; data: ColumnData[] }

const c = (name: string, type: ColumnType, doc: string): ColumnSpec => ({ name, type, doc });

/** Every table's columns, in file order (the partition column `rank` comes from the path). */
export const SCHEMA: Record<TableName, { doc: string; columns: readonly ColumnSpec[] }> = {
  kernels: {
    doc: 'Every device activity (kernel, memcpy, memset, NPU task) of the rank, with its launch call and attribution.',
    columns: [
      c('device', 'VARCHAR', 'Device: the process label (`GPU 0`, `NPU 3`), else `pid N`.'),
      c('pid', 'VARCHAR', 'The trace pid of the device process.'),
      c('tid', 'VARCHAR', 'The trace tid of the track (`stream 7`, `7`).'),
      c('stream', 'BIGINT', '`args.stream` (null when absent).'),
      c('name', 'VARCHAR', 'Kernel / activity name, in full.'),
      c('category', 'VARCHAR', 'Category as in `stats --by category` (GEMM, attention, communication, ...).'),
      c('start_ns', 'BIGINT', 'Start, ns from the rank\'s time base.'),
      c('dur_ns', 'BIGINT', 'Duration, ns.'),
      c('correlation', 'BIGINT', 'Correlation id shared with the launch call (null when absent).'),
      c('external_id', 'BIGINT', '`External id` (null when absent).'),
      c('launch_name', 'VARCHAR', 'The runtime / driver call that launched it (`cudaLaunchKernel`, `cudaGraphLaunch`, ...), null when none matched.'),
      c('launch_start_ns', 'BIGINT', 'Start of the launch call, ns from the time base.'),
      c('launch_dur_ns', 'BIGINT', 'Duration of the launch call, ns.'),
      c('launch_tid', 'VARCHAR', 'CPU thread of the launch call.'),
      c('op', 'VARCHAR', 'The CPU op it was launched in (`aten::mm`), null when unknown.'),
      c('input_dims', 'VARCHAR', 'Raw JSON text of the op\'s `Input Dims`.'),
      c('input_types', 'VARCHAR', 'Raw JSON text of the op\'s `Input type`.'),
      c('source', 'VARCHAR', 'Source line `path.py(LINE): func` (with_stack traces), null when unknown.'),
      c('module', 'VARCHAR', 'nn.Module chain, outermost first (`Model/DecoderLayer/MLP`).'),
      c('attribution', 'VARCHAR', `How op / source / module were found: ${ROUTE_NAMES.map((x) => `\`${x}\``).join(', ')}.`),
      c('step', 'INTEGER', 'Index of the step (table `steps`) whose window holds the start, null when none.'),
    ],
  },
  ops: {
    doc: 'Every CPU op (`cpu_op`, old `Operator`) with its input shapes.',
    columns: [
      c('name', 'VARCHAR', 'Op name (`aten::mm`).'),
      c('input_dims', 'VARCHAR', 'Raw JSON text of `Input Dims` (record_shapes=True), null when absent.'),
      c('input_types', 'VARCHAR', 'Raw JSON text of `Input type`.'),
      c('external_id', 'BIGINT', '`External id`: what kernels.external_id points to.'),
      c('pid', 'VARCHAR', 'Trace pid.'),
      c('tid', 'VARCHAR', 'Trace tid (the CPU thread).'),
      c('start_ns', 'BIGINT', 'Start, ns from the rank\'s time base.'),
      c('dur_ns', 'BIGINT', 'Duration, ns.'),
    ],
  },
  ranks: {
    doc: 'One row per rank: where it came from and its time base.',
    columns: [
      c('label', 'VARCHAR', 'The rank label `stats` prints (`TP00`, `RANK03`, `prefill:TP01`).'),
      c('file', 'VARCHAR', 'The trace file (a merged trace: the merged file).'),
      c('device', 'VARCHAR', 'Device name(s) from `deviceProperties`, else the device process labels, comma-separated.'),
      c('device_type', 'VARCHAR', '`GPU` or `NPU`.'),
      c('time_base_ns', 'BIGINT', 'Epoch ns of time 0: every `*_ns` start of this rank is relative to it.'),
      c('distributed_info', 'VARCHAR', 'The trace\'s `distributedInfo` as JSON text (null when absent).'),
      c('world_size', 'INTEGER', '`distributedInfo.world_size`.'),
      c('backend', 'VARCHAR', '`distributedInfo.backend`.'),
      c('kernels', 'BIGINT', 'Device activities of the rank (rows of `kernels`).'),
      c('ops', 'BIGINT', 'CPU ops of the rank (rows of `ops`).'),
      c('busy_ns', 'BIGINT', 'Device busy time (union of activities per device, summed over devices).'),
      c('span_start_ns', 'BIGINT', 'Earliest timed event, ns from the time base.'),
      c('span_end_ns', 'BIGINT', 'Latest end of a timed event, ns from the time base.'),
    ],
  },
  steps: {
    doc: 'Step annotations (`ProfilerStep#N`, `--step REGEX`, or the detected family), as `stats --by step`.',
    columns: [
      c('step', 'INTEGER', 'Position among the rank\'s steps (0-based): kernels.step points here.'),
      c('name', 'VARCHAR', 'Annotation name.'),
      c('start_ns', 'BIGINT', 'Start (CPU annotation, else GPU), ns from the time base.'),
      c('wall_ns', 'BIGINT', 'Duration of the CPU annotation (null when only a GPU one).'),
      c('gpu_ns', 'BIGINT', 'Duration of the GPU annotation (null when none).'),
      c('busy_ns', 'BIGINT', 'Device busy time inside the step\'s GPU window (else CPU window).'),
      c('communication_ns', 'BIGINT', 'Communication time inside it.'),
      c('kernels', 'BIGINT', 'Device activities starting inside it.'),
    ],
  },
  collectives: {
    doc: 'Collective kernels of the rank, paired with the other ranks exported in the same run (by Seq, else by order per process group).',
    columns: [
      c('group', 'VARCHAR', '`Process Group Name` (\'\' when unnamed).'),
      c('group_desc', 'VARCHAR', '`Process Group Description`.'),
      c('seq', 'BIGINT', '`Seq`, else the position in the group.'),
      c('type', 'VARCHAR', 'allreduce, allgather, reducescatter, alltoall, broadcast, ...'),
      c('bytes', 'BIGINT', 'Message bytes, when the args say them.'),
      c('dtype', 'VARCHAR', 'Element type.'),
      c('start_ns', 'BIGINT', 'Start of this rank\'s kernel(s), ns from this rank\'s time base.'),
      c('dur_ns', 'BIGINT', 'Summed kernel duration of this rank.'),
      c('members', 'INTEGER', 'Ranks of the instance present in the export run.'),
      c('complete', 'INTEGER', '1 when every rank of the group took part in this export run.'),
      c('skew_ns', 'BIGINT', 'This rank\'s start minus the earliest member start (common clock); null unless complete.'),
    ],
  },
  idle: {
    doc: 'Device idle gaps split into pieces by cause, as `stats --by idle`.',
    columns: [
      c('start_ns', 'BIGINT', 'Start of the piece, ns from the time base.'),
      c('dur_ns', 'BIGINT', 'Length of the piece.'),
      c('cause', 'VARCHAR', `One of ${IDLE_CAUSES.map((x) => `\`${x}\``).join(', ')}.`),
      c('gap_ns', 'BIGINT', 'Length of the whole gap the piece belongs to.'),
      c('launch_tid', 'VARCHAR', 'Host-bound pieces: the CPU thread the next launch came from.'),
    ],
  },
};

/** One rank as export sees it (StatsRanks of pipeline/stats.ts, one index). */
export interface ExportRank {
  rank: RankData;
  npu: boolean;
  top: FileTopLevel | undefined;
  timeline: RankTimeline | undefined;
  att: DeviceAttribution | undefined;
  steps: RegExp;
}

const ns = (x: number): number => (x === x ? Math.round(x) : NaN);
const strip = (raw: string): string => (raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
const orNull = (s: string | undefined): string | null => (s === undefined || s === '' ? null : s);

class Builder {
  readonly data: ColumnData[];
  constructor(readonly name: TableName, readonly rows: number) {
    this.data = SCHEMA[name].columns.map((col) => (col.type === 'VARCHAR' ? new Array<string | null>(rows).fill(null) : new Float64Array(rows).fill(NaN)));
  }
  num(k: number): Float64Array { return this.data[k] as Float64Array; }
  str(k: number): (string | null)[] { return this.data[k] as (string | null)[]; }
  table(): ExportTable { return { name: this.name, columns: SCHEMA[this.name].columns, rows: this.rows, data: this.data }; }
}

/** The step windows of a rank, sorted by start, with their index in the `steps` table. */
function stepWindows(x: ExportRank): { lo: Float64Array; hi: Float64Array; step: Int32Array } {
  const t = x.timeline;
  const empty = { lo: new Float64Array(0), hi: new Float64Array(0), step: new Int32Array(0) };
  if (!t) return empty;
  const stats = stepStats(x.rank, t, x.steps, 0);
  const gpuByName = new Map<string, { start: number; dur: number }[]>();
  for (const a of x.rank.records.annotations) {
    if (!a.gpu || !x.steps.test(a.name)) continue;
    let l = gpuByName.get(a.name);
    if (!l) gpuByName.set(a.name, (l = []));
    l.push(a);
  }
  for (const l of gpuByName.values()) l.sort((a, b) => a.start - b.start);
  const nth = new Map<string, number>();
  const w = stats.map((s) => {
    const k = nth.get(s.name) ?? 0;
    nth.set(s.name, k + 1);
    const g = gpuByName.get(s.name)?.[k];
    const lo = g ? g.start : s.startUs * 1000;
    const hi = g ? g.start + g.dur : lo + (s.wallUs ?? 0) * 1000;
    return { lo, hi, step: s.index };
  }).sort((a, b) => a.lo - b.lo);
  return { lo: Float64Array.from(w, (v) => v.lo), hi: Float64Array.from(w, (v) => v.hi), step: Int32Array.from(w, (v) => v.step) };
}

/** Step index holding time t (the last window starting at or before t that has not ended), else -1. */
function stepAt(w: { lo: Float64Array; hi: Float64Array; step: Int32Array }, t: number): number {
  let a = 0;
  let b = w.lo.length;
  while (a < b) { const m = (a + b) >> 1; if (w.lo[m]! <= t) a = m + 1; else b = m; }
  return a > 0 && t < w.hi[a - 1]! ? w.step[a - 1]! : -1;
}

export function kernelRows(x: ExportRank, cats: Categorizer): ExportTable {
  const r = x.rank.records;
  const d = r.device;
  const b = new Builder('kernels', d.count);
  const links = linkLaunches(r, 0);
  const l = r.launches;
  const att = x.att;
  const routes = ROUTE_NAMES;
  const w = stepWindows(x);
  const deviceOf = r.pids.map((_, p) => deviceName(r, p));
  const [device, pid, tid, stream, name, category, start, dur, corr, ext, lname, lstart, ldur, ltid, op, dims, types, source, module, route, step] = b.data.map((_, k) => k) as number[];
  const D = b.str(device!), P = b.str(pid!), T = b.str(tid!), S = b.num(stream!), N = b.str(name!), C = b.str(category!);
  const ST = b.num(start!), DU = b.num(dur!), CO = b.num(corr!), EX = b.num(ext!), LN = b.str(lname!), LS = b.num(lstart!), LD = b.num(ldur!), LT = b.str(ltid!);
  const OP = b.str(op!), DI = b.str(dims!), TY = b.str(types!), SO = b.str(source!), MO = b.str(module!), RO = b.str(route!), STEP = b.num(step!);
  for (let i = 0; i < d.count; i++) {
    const th = r.threads[d.thread[i]!];
    D[i] = deviceOf[d.pid[i]!] ?? null;
    P[i] = strip(r.pids[d.pid[i]!]?.raw ?? '');
    T[i] = th?.tid ?? null;
    S[i] = d.stream[i]!;
    N[i] = r.names[d.name[i]!] ?? null;
    C[i] = cats.names[d.category[i]!] ?? 'other';
    ST[i] = ns(d.start[i]!);
    DU[i] = ns(d.dur[i]!);
    CO[i] = d.corr[i]!;
    EX[i] = d.ext[i]!;
    const li = links.launchOf[i]!;
    if (li >= 0 && l) {
      LN[i] = r.apiNames[l.name[li]!] ?? null;
      LS[i] = ns(l.start[li]!);
      LD[i] = ns(l.dur[li]!);
      LT[i] = r.threads[l.thread[li]!]?.tid ?? null;
    }
    if (att) {
      const s = att.site[i]! >= 0 ? att.sites[att.site[i]!] : undefined;
      if (s) { OP[i] = orNull(s.op); DI[i] = orNull(s.dims); TY[i] = orNull(s.types); SO[i] = orNull(s.source); MO[i] = orNull(s.module); }
      RO[i] = routes[att.route[i]!] ?? null;
    }
    const k = stepAt(w, d.start[i]!);
    if (k >= 0) STEP[i] = k;
  }
  return b.table();
}

export function opRows(x: ExportRank): ExportTable {
  const r = x.rank.records;
  const o = r.ops;
  const b = new Builder('ops', o?.count ?? 0);
  if (!o) return b.table();
  const N = b.str(0), DI = b.str(1), TY = b.str(2), EX = b.num(3), P = b.str(4), T = b.str(5), ST = b.num(6), DU = b.num(7);
  for (let i = 0; i < o.count; i++) {
    const key = r.opKeys[o.key[i]!]!;
    const th = r.threads[o.thread[i]!];
    N[i] = key.name; DI[i] = orNull(key.dims); TY[i] = orNull(key.types); EX[i] = o.ext[i]!;
    P[i] = th ? strip(r.pids[th.pid]?.raw ?? '') : null; T[i] = th?.tid ?? null;
    ST[i] = ns(o.start[i]!); DU[i] = ns(o.dur[i]!);
  }
  return b.table();
}

export function rankRows(x: ExportRank): ExportTable {
  const r = x.rank.records;
  const b = new Builder('ranks', 1);
  const di = x.top?.distributedInfo;
  const t = x.timeline;
  const props = (x.top?.deviceProperties ?? r.devices ?? []).map((p) => p.name).filter((n) => n !== '');
  const devices = props.length > 0 ? [...new Set(props)] : [...new Set((t?.devices ?? []).map((dv) => dv.name))];
  b.str(0)[0] = x.rank.label;
  b.str(1)[0] = x.rank.file;
  b.str(2)[0] = devices.length > 0 ? devices.join(', ') : null;
  b.str(3)[0] = x.npu ? 'NPU' : 'GPU';
  b.data[4] = [r.originNs];
  b.str(5)[0] = di ? JSON.stringify(di) : null;
  const ws = di?.['world_size'];
  b.num(6)[0] = typeof ws === 'number' ? ws : typeof ws === 'string' && /^\d+$/.test(ws) ? Number(ws) : NaN;
  b.str(7)[0] = typeof di?.['backend'] === 'string' ? di['backend'] : null;
  b.num(8)[0] = r.device.count;
  b.num(9)[0] = r.ops?.count ?? 0;
  b.num(10)[0] = t ? ns(t.busyNs) : NaN;
  b.num(11)[0] = t && Number.isFinite(t.spanStart) ? ns(t.spanStart) : NaN;
  b.num(12)[0] = t && Number.isFinite(t.spanEnd) ? ns(t.spanEnd) : NaN;
  return b.table();
}

export function stepRows(x: ExportRank): ExportTable {
  const s = x.timeline ? stepStats(x.rank, x.timeline, x.steps, 0) : [];
  const b = new Builder('steps', s.length);
  const toNs = (us: number | null): number => (us === null ? NaN : Math.round(us * 1000));
  s.forEach((v, i) => {
    b.num(0)[i] = v.index; b.str(1)[i] = v.name; b.num(2)[i] = toNs(v.startUs); b.num(3)[i] = toNs(v.wallUs);
    b.num(4)[i] = toNs(v.gpuUs); b.num(5)[i] = toNs(v.busyUs); b.num(6)[i] = toNs(v.communicationUs); b.num(7)[i] = v.kernels;
  });
  return b.table();
}

export function idleRows(x: ExportRank): ExportTable {
  const r = x.rank.records;
  if (!x.timeline || !r.launches || (x.npu && !npuLinkable(r))) return new Builder('idle', 0).table();
  const p = idleOfRank(x.rank, x.timeline, linkLaunches(r, 0)).pieces;
  const b = new Builder('idle', p.count);
  for (let i = 0; i < p.count; i++) {
    b.num(0)[i] = ns(p.start[i]!); b.num(1)[i] = ns(p.end[i]! - p.start[i]!);
    b.str(2)[i] = IDLE_CAUSES[p.cause[i]!] ?? null; b.num(3)[i] = ns(p.gap[i]!);
    b.str(4)[i] = p.thread[i]! >= 0 ? r.threads[p.thread[i]!]?.tid ?? null : null;
  }
  return b.table();
}

/** The collectives table of every rank (pairing needs all the ranks of the run at once). */
export function collectiveRows(ranks: readonly RankData[], cats: Categorizer): ExportTable[] {
  const p = pairCollectives(ranks, cats);
  const origin0 = ranks.reduce<bigint | undefined>((m, r) => (m === undefined || r.records.originNs < m ? r.records.originNs : m), undefined) ?? 0n;
  const per = ranks.map(() => [] as { inst: (typeof p.instances)[number]; m: number }[]);
  for (const inst of p.instances) inst.members.forEach((mb, m) => per[mb.rank]?.push({ inst, m }));
  return per.map((list, k) => {
    const b = new Builder('collectives', list.length);
    const shift = Number(origin0 - ranks[k]!.records.originNs);
    list.forEach(({ inst, m }, i) => {
      const g = p.groups[inst.group];
      const mb = inst.members[m]!;
      const first = inst.members.reduce((a, y) => Math.min(a, y.start), Infinity);
      b.str(0)[i] = g?.name ?? ''; b.str(1)[i] = orNull(g?.desc); b.num(2)[i] = inst.seq; b.str(3)[i] = inst.type;
      b.num(4)[i] = inst.bytes ?? NaN; b.str(5)[i] = inst.dtype; b.num(6)[i] = ns(mb.start + shift); b.num(7)[i] = ns(mb.dur);
      b.num(8)[i] = inst.members.length; b.num(9)[i] = inst.complete ? 1 : 0; b.num(10)[i] = inst.complete ? ns(mb.start - first) : NaN;
    });
    return b.table();
  });
}

/** The schema as Markdown (docs/SCHEMA.md is this text; a test keeps them equal). */
export function schemaMarkdown(): string {
  const out: string[] = [];
  for (const t of TABLE_NAMES) {
    out.push(`## \`${t}\``, '', SCHEMA[t].doc, '', '| column | type | meaning |', '| --- | --- | --- |', '| `rank` | BIGINT | Partition column (from the path `' + t + '/rank=N/`). |');
    for (const col of SCHEMA[t].columns) out.push(`| \`${col.name}\` | ${col.type} | ${col.doc.replace(/\|/g, '\\|')} |`);
    out.push('');
  }
  return out.join('\n');
}
