/**
 * StatsResult -> report sections: one or more tables per view, each cell with a display text
 * (terminal, Markdown) and a raw value (CSV: full kernel names, µs numbers). The renderers in
 * table.ts, csv.ts and markdown.ts only lay sections out.
 */
import { uniqueShortNames } from '../analysis/names.js';
import { pythonFloatText } from '../analysis/op-statistic.js';
import type { OpTypeTable, StatsResult, StatsView } from '../analysis/result.js';
import { count, duration, percent, shape, typeList } from './format.js';
import { col, dur, limit, num, pct, txt } from './cells.js';
import { efficiencySections } from './efficiency-sections.js';
import { idleSections, launchSections } from './idle-sections.js';
import { sourceSections } from './source-sections.js';
import { commSections } from './comm-sections.js';

export type Align = 'left' | 'right';

export interface Column {
  title: string;
  /** CSV header (snake-free camelCase like the JSON keys). */
  key: string;
  align: Align;
  /** May be cut (with …) to fit the terminal; the column never goes below `min`. */
  shrink?: boolean;
  min?: number;
  /** When the table is too wide, columns with the highest `drop` go first (0 = never). */
  drop?: number;
  /** Only in CSV (e.g. a JSON list that the table shows as sub-rows). */
  csvOnly?: boolean;
  /** How notes name the column when the title alone is ambiguous (`TP03 %`). */
  longTitle?: string;
}

export interface Cell {
  text: string;
  value: string | number | null;
}

export interface Section {
  view: StatsView;
  /** CSV block name and table title. */
  name: string;
  title: string;
  columns: Column[];
  rows: Cell[][];
  /**
   * Rows that detail the row above them (an op's kernels): shown indented in tables and
   * Markdown, left out of CSV. Their first cell may run over the empty cells after it.
   */
  sub?: boolean[];
  /** Lines under the table (e.g. "12 more rows; use --top"). */
  notes: string[];
}

export interface SectionOptions {
  /** Row limit for long tables (kernels, ops, kernels across ranks). */
  top?: number;
  /** Full kernel names in `text` too (Markdown can choose either). */
  fullNames?: boolean;
}

function names(full: readonly string[], opts: SectionOptions): string[] {
  return opts.fullNames ? [...full] : uniqueShortNames(full);
}

function summarySections(r: StatsResult): Section[] {
  const rows = r.summary ?? [];
  const main: Section = {
    view: 'summary', name: 'summary', title: 'Summary per rank',
    columns: [
      col('rank', 'label', 'left'), col('span', 'spanUs'), col('GPU busy', 'busyUs'), col('idle', 'idleUs', 'right', { drop: 3 }),
      col('util', 'utilization'), col('comm', 'communicationUs'), col('comm overlap', 'overlapShare', 'right', { drop: 2 }),
      col('exposed comm', 'exposedCommunicationUs', 'right', { drop: 4 }), col('kernels', 'kernels', 'right', { drop: 5 }),
      col('devices', 'devices', 'right', { drop: 6 }),
    ],
    rows: rows.map((s) => [
      txt(s.label), dur(s.spanUs), dur(s.busyUs), dur(s.idleUs), pct(s.utilization), dur(s.communicationUs),
      pct(s.overlapShare), dur(s.exposedCommunicationUs), num(s.kernels), num(s.devices),
    ]),
    notes: ['GPU busy: union of kernel, memcpy and memset intervals per device (overlapping kernels count once); util = busy / span; comm overlap: share of communication time during which compute kernels ran'],
  };
  // time by category: rows = categories, one column per rank
  const cats: string[] = [];
  for (const s of rows) for (const c of s.categories) if (!cats.includes(c.category)) cats.push(c.category);
  const byCat: Section = {
    view: 'summary', name: 'summaryCategories', title: 'GPU time by category (sum of durations; % of GPU busy time)',
    columns: [col('category', 'category', 'left'), ...rows.flatMap((s, k) => [
      // later ranks go first when too wide, each rank's % before its time
      col(s.label, `${s.label}.totalUs`, 'right', { drop: k === 0 ? 0 : 2 * (10 + k) }),
      col('%', `${s.label}.share`, 'right', { drop: k === 0 ? 0 : 2 * (10 + k) + 1, longTitle: `${s.label} %` }),
    ])],
    rows: cats.map((c) => [txt(c), ...rows.flatMap((s) => {
      const x = s.categories.find((y) => y.category === c);
      return [dur(x?.totalUs ?? 0), pct(x?.share ?? 0)];
    })]),
    notes: [],
  };
  return [main, byCat];
}

function kernelSection(r: StatsResult, opts: SectionOptions): Section {
  const notes: string[] = [];
  const list = limit(r.kernels ?? [], opts.top, 'kernels', notes);
  const short = names(list.map((k) => k.name), opts);
  // torch_npu kernels carry their OP type (kernel_details.csv); others have none: no column
  const typed = (r.kernels ?? []).some((k) => k.type !== undefined);
  // attributed kernels name their dominant op and source (a share below 100%: launched from several)
  const origin = r.attribution !== undefined;
  const share = (x: number | undefined): Cell => (x === undefined ? txt('', null) : pct(x));
  return {
    view: 'kernel', name: 'kernels', title: 'Kernels (all ranks)',
    columns: [
      col('kernel', 'name', 'left', { shrink: true, min: 36 }), col('category', 'category', 'left', { drop: 4 }),
      ...(typed ? [col('OP type', 'type', 'left', { drop: 7 })] : []), col('calls', 'calls'),
      col('total', 'totalUs'), col('mean', 'meanUs', 'right', { drop: 3 }), col('median', 'medianUs', 'right', { drop: 2 }),
      col('min', 'minUs', 'right', { drop: 6 }), col('max', 'maxUs', 'right', { drop: 5 }), col('% busy', 'share'),
      ...(origin ? [col('op', 'op', 'left', { shrink: true, min: 12, drop: 8 }), col('op %', 'opShare', 'right', { drop: 10 }),
        col('source', 'source', 'left', { shrink: true, min: 12, drop: 9 }), col('src %', 'sourceShare', 'right', { drop: 11 }), col('sources', 'sources', 'right', { csvOnly: true })] : []),
    ],
    rows: list.map((k, i) => [
      txt(short[i]!, k.name), txt(k.category), ...(typed ? [txt(k.type ?? '', k.type ?? null)] : []), num(k.calls), dur(k.totalUs), dur(k.meanUs), dur(k.medianUs),
      dur(k.minUs), dur(k.maxUs), pct(k.share),
      ...(origin ? [txt(k.op ?? '', k.op ?? null), share(k.opShare), txt(k.source ?? '', k.source ?? null), share(k.sourceShare), num(k.sources ?? 0)] : []),
    ]),
    notes: [...notes, '% busy: share of GPU busy time; kernels that overlap each count in full, so shares can add up to more than 100%'],
  };
}

function categorySection(r: StatsResult): Section {
  return {
    view: 'category', name: 'categories', title: 'Categories (all ranks)',
    columns: [col('category', 'category', 'left'), col('kernels', 'kernels'), col('calls', 'calls'), col('total', 'totalUs'), col('% busy', 'share')],
    rows: (r.categories ?? []).map((c) => [txt(c.category), num(c.kernels), num(c.calls), dur(c.totalUs), pct(c.share)]),
    notes: [],
  };
}

function opSection(r: StatsResult, opts: SectionOptions): Section {
  const notes: string[] = [];
  const list = limit(r.ops ?? [], opts.top, 'ops', notes);
  const l = r.opLinks;
  if (l) {
    const outside = l.unlinkedKernels === 0 ? 'none' : `${count(l.unlinkedKernels)} (${duration(l.unlinkedUs)})`;
    notes.push(`${count(l.linkedKernels)} device activities linked to ops by External id${l.replayedKernels ? ` (${count(l.replayedKernels)} graph replay kernels, ${duration(l.replayedUs ?? 0)}, through their capture or mapping trace)` : ''}; ${outside} launched outside any cpu_op`);
    notes.push('↳ kernels launched by the op (its device self time), most time first');
  }
  const rows: Cell[][] = [];
  const sub: boolean[] = [];
  const empty = txt('', null);
  for (const o of list) {
    rows.push([
      txt(o.name), txt(shape(o.inputDims), o.inputDims === null ? null : JSON.stringify(o.inputDims)),
      txt(typeList(o.inputTypes), o.inputTypes === null ? null : JSON.stringify(o.inputTypes)), num(o.calls),
      dur(o.cpuTotalUs), dur(o.cpuSelfUs), dur(o.deviceSelfUs), dur(o.deviceTotalUs),
      txt('', JSON.stringify(o.kernels)),
    ]);
    sub.push(false);
    const short = names(o.kernels.map((k) => k.name), opts);
    o.kernels.forEach((k, i) => {
      rows.push([txt(`  ↳ ${short[i]!}`, k.name), empty, empty, num(k.calls), empty, empty, dur(k.totalUs), empty, empty]);
      sub.push(true);
    });
  }
  return {
    view: 'op', name: 'ops', title: 'Operators by input shape (like key_averages(group_by_input_shape=True))',
    columns: [
      col('op', 'name', 'left', { shrink: true, min: 18 }), col('input dims', 'inputDims', 'left', { shrink: true, min: 14, drop: 3 }),
      col('input type', 'inputTypes', 'left', { shrink: true, min: 13, drop: 4 }), col('calls', 'calls'),
      col('CPU total', 'cpuTotalUs', 'right', { drop: 5 }), col('CPU self', 'cpuSelfUs', 'right', { drop: 6 }),
      col('device self', 'deviceSelfUs'), col('device total', 'deviceTotalUs'),
      col('kernels', 'kernels', 'left', { csvOnly: true }),
    ],
    rows,
    sub,
    notes,
  };
}

/** The op view of torch_npu profiles: kernel_details rows per OP type and input shapes. */
function npuOpSection(r: StatsResult, opts: SectionOptions): Section {
  const notes: string[] = [];
  const list = limit(r.npuOps ?? [], opts.top, 'ops', notes);
  const rows: Cell[][] = [];
  const sub: boolean[] = [];
  const empty = txt('', null);
  for (const o of list) {
    rows.push([
      txt(o.op), txt(o.inputShapes), txt(o.inputDataTypes.replace(/;/g, '; '), o.inputDataTypes), num(o.calls),
      dur(o.totalUs), dur(o.meanUs), dur(o.minUs), dur(o.maxUs), txt('', JSON.stringify(o.kernels)),
    ]);
    sub.push(false);
    const short = names(o.kernels.map((k) => k.name), opts);
    o.kernels.forEach((k, i) => {
      rows.push([txt(`  ↳ ${short[i]!}`, k.name), empty, empty, num(k.calls), dur(k.totalUs), empty, empty, empty, empty]);
      sub.push(true);
    });
  }
  if (list.length > 0) notes.push('↳ kernels of the row, most time first');
  return {
    view: 'op', name: 'npuOps', title: 'Operators by OP type and input shapes (torch_npu kernel_details.csv, all ranks)',
    columns: [
      col('OP type', 'op', 'left', { shrink: true, min: 18 }), col('input shapes', 'inputShapes', 'left', { shrink: true, min: 14, drop: 3 }),
      col('input types', 'inputDataTypes', 'left', { shrink: true, min: 11, drop: 4 }), col('calls', 'calls'),
      col('total', 'totalUs'), col('mean', 'meanUs', 'right', { drop: 5 }), col('min', 'minUs', 'right', { drop: 7 }), col('max', 'maxUs', 'right', { drop: 6 }),
      col('kernels', 'kernels', 'left', { csvOnly: true }),
    ],
    rows,
    sub,
    notes,
  };
}

/** torch_npu's op_statistic.csv column names (CSV headers are these, as the vendor writes them). */
const OP_STATISTIC_KEYS = ['OP Type', 'Core Type', 'Count', 'Total Time(us)', 'Min Time(us)', 'Avg Time(us)', 'Max Time(us)', 'Ratio(%)'] as const;

/**
 * The op-type view: one section per rank, each torch_npu's op_statistic.csv: the vendor's
 * column names as CSV headers, and values written as its Python does (`2.0`, `22.077`).
 */
function opTypeSections(r: StatsResult): Section[] {
  const tables: OpTypeTable[] = r.opTypes ?? [];
  const one = (t: OpTypeTable | undefined): Section => {
    const rows = t?.rows ?? [];
    const dev = rows.some((x) => x.deviceId !== undefined);
    const py = (us: number): Cell => ({ text: duration(us), value: pythonFloatText(us) });
    return {
      view: 'op-type',
      name: t && tables.length > 1 ? `opStatistic.${t.label}` : 'opStatistic',
      title: `Operator types${t ? `, ${t.label}` : ''} (torch_npu op_statistic: per OP Type and Core Type; communication left out)`,
      columns: [
        ...(dev ? [col('device', 'Device_id')] : []),
        col('OP type', OP_STATISTIC_KEYS[0], 'left', { shrink: true, min: 16 }), col('core type', OP_STATISTIC_KEYS[1], 'left'), col('count', OP_STATISTIC_KEYS[2]),
        col('total', OP_STATISTIC_KEYS[3]), col('min', OP_STATISTIC_KEYS[4], 'right', { drop: 3 }), col('avg', OP_STATISTIC_KEYS[5], 'right', { drop: 2 }),
        col('max', OP_STATISTIC_KEYS[6], 'right', { drop: 4 }), col('ratio', OP_STATISTIC_KEYS[7]),
      ],
      rows: rows.map((x) => [
        ...(dev ? [x.deviceId === undefined ? txt('', null) : num(x.deviceId)] : []),
        txt(x.opType), txt(x.coreType), num(x.count), py(x.totalUs), py(x.minUs), py(x.avgUs), py(x.maxUs),
        { text: percent(x.ratioPct / 100), value: pythonFloatText(x.ratioPct) },
      ]),
      notes: [],
    };
  };
  return tables.length === 0 ? [one(undefined)] : tables.map(one);
}

function rankSections(r: StatsResult, opts: SectionOptions): Section[] {
  const c = r.ranks;
  if (!c) return [];
  const t = c.totals;
  const metric = (title: string, key: string, cells: Cell[]): Cell[] => [txt(title, key), ...cells];
  const totals: Section = {
    view: 'rank', name: 'rankTotals', title: 'Ranks side by side',
    columns: [col('', 'metric', 'left'), ...t.map((x, k) => col(x.label, x.label, 'right', { drop: k < 2 ? 0 : 10 + k }))],
    rows: [
      metric('span', 'spanUs', t.map((x) => dur(x.spanUs))),
      metric('GPU busy', 'busyUs', t.map((x) => dur(x.busyUs))),
      metric('compute', 'computeUs', t.map((x) => dur(x.computeUs))),
      metric('communication', 'communicationUs', t.map((x) => dur(x.communicationUs))),
      metric('exposed comm', 'exposedCommunicationUs', t.map((x) => dur(x.exposedCommunicationUs))),
      metric('waiting in collectives', 'collectiveWaitUs', t.map((x) => dur(x.collectiveWaitUs))),
      metric('kernels', 'kernels', t.map((x) => num(x.kernels))),
    ],
    notes: [],
  };
  const notes: string[] = [];
  const list = limit(c.kernels, opts.top, 'kernels', notes);
  const short = names(list.map((k) => k.name), opts);
  const kernels: Section = {
    view: 'rank', name: 'rankKernels', title: 'Kernels across ranks (total time per rank; largest spread first)',
    columns: [
      col('kernel', 'name', 'left', { shrink: true, min: 32 }), col('category', 'category', 'left', { drop: 3 }),
      col('min', 'minUs'), col('at', 'minRank', 'left'), col('max', 'maxUs'), col('at', 'maxRank', 'left'), col('spread', 'spreadUs'),
    ],
    rows: list.map((k, i) => [txt(short[i]!, k.name), txt(k.category), dur(k.minUs), txt(k.minRank), dur(k.maxUs), txt(k.maxRank), dur(k.spreadUs)]),
    notes,
  };
  const cl = c.collectives;
  const collNotes: string[] = [];
  if (cl.paired === 0) collNotes.push('no communication kernels to pair across ranks');
  else {
    if (cl.straggler !== null) {
      const s = cl.perRank.find((p) => p.label === cl.straggler)!;
      collNotes.push(`straggler: ${cl.straggler} starts last in ${s.lastArrivals} of ${s.collectives} collectives (median ${duration(s.medianLatenessUs)} after the first rank, ${duration(s.totalLatenessUs)} in all)`);
    }
    if (cl.mostWaiting !== null) {
      const w = cl.perRank.find((p) => p.label === cl.mostWaiting)!;
      collNotes.push(`${cl.mostWaiting} waits most in collectives: ${duration(w.waitUs)} in all, median ${duration(w.medianWaitUs)}`);
    }
    for (const g of cl.groups) {
      if (new Set(g.counts).size > 1) collNotes.push(`process group ${g.group || '(unnamed)'}: kernel counts differ across ranks (${g.ranks.map((x, k) => `${x} ${g.counts[k]}`).join(', ')}); the first ${g.paired} were paired`);
    }
  }
  const coll: Section = {
    view: 'rank', name: 'collectives', title: `Collectives (${count(cl.paired)} paired across ranks; median spread of arrivals ${duration(cl.medianLatenessUs)})`,
    columns: [
      col('rank', 'label', 'left'), col('paired', 'collectives'), col('last', 'lastArrivals'), col('median late', 'medianLatenessUs'),
      col('total late', 'totalLatenessUs', 'right', { drop: 3 }), col('waiting', 'waitUs'), col('median wait', 'medianWaitUs', 'right', { drop: 2 }),
    ],
    rows: cl.perRank.map((p) => [txt(p.label), num(p.collectives), num(p.lastArrivals), dur(p.medianLatenessUs), dur(p.totalLatenessUs), dur(p.waitUs), dur(p.medianWaitUs)]),
    notes: collNotes,
  };
  return [totals, kernels, coll];
}

function stepSection(r: StatsResult): Section {
  return {
    view: 'step', name: 'steps', title: 'Steps',
    columns: [
      col('rank', 'label', 'left'), col('step', 'name', 'left', { shrink: true, min: 12 }), col('start', 'startUs', 'right', { drop: 3 }),
      col('wall', 'wallUs'), col('GPU', 'gpuUs', 'right', { drop: 2 }), col('GPU busy', 'busyUs'), col('comm', 'communicationUs'), col('kernels', 'kernels', 'right', { drop: 4 }),
    ],
    rows: (r.steps ?? []).map((s) => [txt(s.label), txt(s.name), dur(s.startUs), dur(s.wallUs), dur(s.gpuUs), dur(s.busyUs), dur(s.communicationUs), num(s.kernels)]),
    notes: [],
  };
}

/** The sections of every view in the result, in view order. */
export function sectionsOf(r: StatsResult, opts: SectionOptions = {}): Section[] {
  const out: Section[] = [];
  for (const v of r.views) {
    // absent when no rank has a device timeline (CSV-only torch_npu directories; the notes say why)
    if (v === 'summary') { if (r.summary) out.push(...summarySections(r)); }
    else if (v === 'kernel') out.push(kernelSection(r, opts));
    else if (v === 'category') { if (r.categories) out.push(categorySection(r)); }
    else if (v === 'op') {
      if (r.ops !== undefined || r.npuOps === undefined) out.push(opSection(r, opts));
      if (r.npuOps !== undefined) out.push(npuOpSection(r, opts));
    } else if (v === 'op-type') out.push(...opTypeSections(r));
    else if (v === 'rank') out.push(...rankSections(r, opts));
    else if (v === 'efficiency') out.push(...efficiencySections(r, opts, limit, names));
    else if (v === 'idle') out.push(...idleSections(r, opts));
    else if (v === 'launch') out.push(...launchSections(r, opts));
    else if (v === 'source' || v === 'module') out.push(...sourceSections(r, v, opts));
    else if (v === 'comm') out.push(...commSections(r, opts));
    else out.push(stepSection(r));
  }
  return r.device === undefined || r.device === 'GPU' ? out : out.map((s) => deviceWords(s, r.device!));
}

/** The sections of NPU (or mixed) profiles say NPU (device) where GPU profiles say GPU. */
export function deviceWords(s: Section, word: string, metricRows = s.name === 'rankTotals'): Section {
  const w = (t: string): string => t.replace(/\bGPU\b/g, word);
  return {
    ...s, title: w(s.title), notes: s.notes.map(w),
    columns: s.columns.map((c) => ({ ...c, title: w(c.title), ...(c.longTitle !== undefined ? { longTitle: w(c.longTitle) } : {}) })),
    // the metric names of the rank totals (their first cells)
    rows: metricRows ? s.rows.map(([m, ...rest]) => [{ ...m!, text: w(m!.text) }, ...rest]) : s.rows,
  };
}
