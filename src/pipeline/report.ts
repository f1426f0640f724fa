/**
 * `report`: one self-contained HTML page of a profile. The numbers are `statsOf` with every
 * view; the page (report/html.ts) embeds them as JSON and draws charts and tables from them.
 *
 * GPU utilization over time needs the device busy intervals, which `StatsResult` does not carry,
 * so this module reads the files a second time with the same collector, split and timeline code
 * as `stats` (only device activities: the cheapest pass) and buckets the busy union. When
 * `statsOf` grows a utilization series this pass goes away (see `utilizationOf`).
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { scanFile } from '../io/read.js';
import { OutputFile } from '../io/writer.js';
import { TraceforgeError } from '../errors.js';
import { Categorizer, parseCategoryOverride } from '../analysis/categories.js';
import { StatsCollector, rankSplitOf, restrictToPids } from '../analysis/collect.js';
import { clippedTotal } from '../analysis/intervals.js';
import { uniqueShortNames } from '../analysis/names.js';
import { timelineOf, type RankData, type RankTimeline } from '../analysis/timeline.js';
import { STATS_VIEWS, type StatsResult } from '../analysis/result.js';
import { statsOf, type StatsOptions } from './stats.js';
import { renderReportHtml, type ChartAssets, type ReportData, type Utilization } from '../report/html.js';

export type { ReportData, Utilization } from '../report/html.js';

export interface ReportOptions extends Omit<StatsOptions, 'views' | 'onProgress'> {
  /** Output path (default `report.html` beside the first input: see `defaultReportOutput`). */
  output?: string;
  /** Page title (default: from the inputs). */
  title?: string;
  /** Most buckets of the utilization chart (default 400). */
  buckets?: number;
  /** Progress of the two reading passes: bytes read so far (compressed), and the total. */
  onProgress?: (stage: 'stats' | 'timeline', done: number, total: number) => void;
}

export interface ReportOutcome {
  output: string;
  /** Bytes of the HTML file. */
  bytes: number;
  data: ReportData;
}

/**
 * `report.html` beside the first input: in the directory for a directory of rank traces,
 * next to the file for a file.
 */
export async function defaultReportOutput(inputs: readonly string[]): Promise<string> {
  const first = inputs[0];
  if (first === undefined || first === '-') throw new TraceforgeError('E_USAGE', 'report: name the output with -o');
  const info = await stat(first).catch(() => undefined);
  return info?.isDirectory() ? join(first, 'report.html') : join(dirname(first), 'report.html');
}

/** The page's data: statistics with every view, utilization over time, short kernel names. */
export async function reportDataOf(inputs: readonly string[], opts: ReportOptions = {}): Promise<ReportData> {
  refuseStdin(inputs);
  const { output: _output, title, buckets, onProgress, ...statsOpts } = opts;
  const stats = await statsOf(inputs, {
    ...statsOpts,
    views: [...STATS_VIEWS],
    ...(onProgress ? { onProgress: (d: number, t: number) => onProgress('stats', d, t) } : {}),
  });
  const utilization = await utilizationOf(stats, opts.categories, buckets ?? 400, onProgress && ((d, t) => onProgress('timeline', d, t)));
  const kernelNames = [...new Set([...(stats.kernels ?? []).map((k) => k.name), ...(stats.ranks?.kernels ?? []).map((k) => k.name),
    ...(stats.ops ?? []).flatMap((o) => o.kernels.map((k) => k.name))])];
  const short = uniqueShortNames(kernelNames);
  const shortNames: Record<string, string> = {};
  kernelNames.forEach((n, k) => { if (short[k] !== undefined && short[k] !== n) shortNames[n] = short[k]; });
  return {
    title: title ?? titleOf(stats),
    generator: `traceforge ${await packageVersion()}`,
    stats,
    shortNames,
    utilization,
  };
}

/** Reads the inputs, renders the page and writes it (temp file + rename). */
export async function writeReport(inputs: readonly string[], opts: ReportOptions = {}): Promise<ReportOutcome> {
  refuseStdin(inputs);
  const output = opts.output ?? (await defaultReportOutput(inputs));
  if (output === '-') throw new TraceforgeError('E_USAGE', 'report writes a file; name it with -o FILE.html');
  const data = await reportDataOf(inputs, opts);
  const html = renderReportHtml(data, await chartAssets());
  const out = await OutputFile.open(output, { inputs });
  try {
    out.write(html);
    const bytes = await out.commit();
    return { output, bytes, data };
  } catch (e) {
    await out.abort();
    throw e;
  }
}

function refuseStdin(inputs: readonly string[]): void {
  if (inputs.includes('-')) {
    throw new TraceforgeError('E_USAGE', 'report reads its inputs twice (statistics, then the utilization timeline); pass files, not stdin (-)');
  }
}

function titleOf(s: StatsResult): string {
  const files = [...new Set(s.inputs.map((i) => i.file))];
  const where = files.length === 1 ? basename(files[0]!) : basename(dirname(files[0] ?? '.')) || 'traces';
  return s.inputs.length > 1 ? `${where}: ${s.inputs.length} ranks` : where;
}

async function packageVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '';
  } catch {
    return '';
  }
}

/**
 * uPlot (MIT), read from node_modules when the report is made and inlined in the page: its
 * minified script and stylesheet, and the license text that must travel with copies.
 */
export async function chartAssets(): Promise<ChartAssets> {
  const require = createRequire(import.meta.url);
  let js: string;
  try {
    js = require.resolve('uplot/dist/uPlot.iife.min.js');
  } catch {
    throw new TraceforgeError('E_INPUT', 'report: the uplot package is missing (run npm install in the traceforge directory)');
  }
  const dir = dirname(dirname(js));
  const [script, css, license, pkg] = await Promise.all([
    readFile(js, 'utf8'),
    readFile(join(dir, 'dist', 'uPlot.min.css'), 'utf8'),
    readFile(join(dir, 'LICENSE'), 'utf8'),
    readFile(join(dir, 'package.json'), 'utf8'),
  ]);
  return { script, css, license, version: (JSON.parse(pkg) as { version: string }).version };
}

// ---------------------------------------------------------------------------------------------
// GPU utilization over time

/**
 * A bucket width for about `most` buckets over `spanNs`: 1, 2 or 5 × 10^k ns, at least 1 µs.
 */
export function bucketWidthNs(spanNs: number, most: number): number {
  const raw = Math.max(1000, spanNs / Math.max(1, most));
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** One rank's device busy segments on the common clock (ns from the common zero). */
export interface BusyTimeline {
  label: string;
  timeline: RankTimeline;
  /** Added to the rank's times to put them on the common clock. */
  offsetNs: number;
}

/**
 * Busy fraction per bucket and rank: per bucket [lo, hi), the union of device activity summed
 * over the rank's devices, divided by devices × the part of [lo, hi) inside the rank's span
 * (its first to last event, as the summary's utilization). The last bucket ends at `endNs`.
 * Buckets outside the rank's span, and ranks without devices, get null. Pure: also what
 * `statsOf` would call from its timelines.
 */
export function bucketBusy(ranks: readonly BusyTimeline[], endNs: number, widthNs: number): { startsNs: number[]; busy: (number | null)[][] } {
  const n = Math.max(1, Math.ceil(endNs / widthNs));
  const startsNs = Array.from({ length: n }, (_, b) => b * widthNs);
  const busy = ranks.map((r) => {
    const devices = r.timeline.devices;
    const from = r.timeline.spanStart + r.offsetNs;
    const to = r.timeline.spanEnd + r.offsetNs;
    return startsNs.map((start) => {
      const lo = Math.max(start, from);
      const hi = Math.min(start + widthNs, endNs, to);
      if (devices.length === 0 || !(hi > lo)) return null;
      let t = 0;
      for (const d of devices) t += clippedTotal(d.busy, lo - r.offsetNs, hi - r.offsetNs);
      return Math.round((t / (devices.length * (hi - lo))) * 1e4) / 1e4;
    });
  });
  return { startsNs, busy };
}

/**
 * The utilization series of the ranks `stats` found, by a second pass over their files (device
 * activities only). Time 0 is the earliest event of all ranks, as in the step view.
 */
export async function utilizationOf(
  stats: StatsResult,
  categories: StatsOptions['categories'],
  most: number,
  onProgress?: (done: number, total: number) => void,
): Promise<Utilization | null> {
  const files = [...new Set(stats.inputs.map((i) => i.file))];
  if (files.length === 0) return null;
  const cats = new Categorizer((categories ?? []).map((c) => (typeof c === 'string' ? parseCategoryOverride(c) : c)));
  const sizes = await Promise.all(files.map((f) => stat(f).then((s) => s.size, () => 0)));
  const total = sizes.reduce((a, b) => a + b, 0);
  let before = 0;
  const byLabel = new Map<string, RankData>();
  for (const [k, file] of files.entries()) {
    const collector = new StatsCollector({ categorize: (name, kind) => cats.categoryOf(name, kind), communication: cats.communication, file });
    await scanFile(file, collector, onProgress ? { afterChunk: (_b, c) => onProgress(before + c, total) } : {});
    before += sizes[k]!;
    const records = collector.result();
    const split = rankSplitOf(records, collector.top);
    if (split && split.ranks.length > 0) {
      for (const sp of split.ranks) byLabel.set(sp.label, { label: sp.label, file, rank: sp.rank, records: restrictToPids(records, sp.keep) });
    } else {
      const input = stats.inputs.find((i) => i.file === file)!;
      byLabel.set(input.label, { label: input.label, file, rank: input.rank, records });
    }
  }
  const ranks = stats.inputs.map((i) => byLabel.get(i.label)).filter((r): r is RankData => r !== undefined);
  const timelines = ranks.map((r) => timelineOf(r, cats));
  // the common zero: the earliest event of all ranks (absolute ns), as statsOf's step view
  let zero: bigint | undefined;
  ranks.forEach((r, k) => {
    const t = timelines[k]!;
    if (!Number.isFinite(t.spanStart)) return;
    const s = r.records.originNs + BigInt(Math.floor(t.spanStart));
    if (zero === undefined || s < zero) zero = s;
  });
  if (zero === undefined) return null;
  const z = zero;
  const tracks: BusyTimeline[] = ranks.map((r, k) => ({ label: r.label, timeline: timelines[k]!, offsetNs: Number(r.records.originNs - z) }));
  let end = 0;
  for (const t of tracks) if (Number.isFinite(t.timeline.spanEnd)) end = Math.max(end, t.timeline.spanEnd + t.offsetNs);
  if (!(end > 0) || tracks.every((t) => t.timeline.devices.length === 0)) return null;
  const width = bucketWidthNs(end, most);
  const { startsNs, busy } = bucketBusy(tracks, end, width);
  return {
    bucketUs: width / 1000,
    startsUs: startsNs.map((s) => s / 1000),
    endUs: Math.round(end) / 1000,
    ranks: tracks.map((t, k) => ({
      label: t.label, devices: t.timeline.devices.length,
      startUs: Number.isFinite(t.timeline.spanStart) ? Math.round(t.timeline.spanStart + t.offsetNs) / 1000 : null,
      endUs: Number.isFinite(t.timeline.spanEnd) ? Math.round(t.timeline.spanEnd + t.offsetNs) / 1000 : null,
      busy: busy[k]!,
    })),
  };
}
