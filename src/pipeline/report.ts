/**
 * `report`: one self-contained HTML page of a profile. The numbers are `statsOf` with every
 * view the page shows (REPORT_VIEWS) and the utilization series (one pass over the inputs);
 * the page (report/html.ts) embeds them as JSON and draws charts and tables from them.
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { OutputFile } from '../io/writer.js';
import { TraceforgeError } from '../errors.js';
import { uniqueShortNames } from '../analysis/names.js';
import { STATS_VIEWS, type StatsResult, type StatsView } from '../analysis/result.js';
import { statsOf, type StatsOptions } from './stats.js';
import { renderReportHtml, type ChartAssets, type ReportData } from '../report/html.js';

export type { ReportData } from '../report/html.js';
export type { Utilization, BusyTimeline } from '../analysis/utilization.js';
export { bucketBusy, bucketWidthNs } from '../analysis/utilization.js';

export interface ReportOptions extends Omit<StatsOptions, 'views' | 'onProgress'> {
  /** Output path (default `report.html` beside the first input: see `defaultReportOutput`). */
  output?: string;
  /** Page title (default: from the inputs). */
  title?: string;
  /** Most buckets of the utilization chart (default 400). */
  buckets?: number;
  /** Progress of the reading pass: bytes read so far (compressed), and the total. */
  onProgress?: (stage: 'stats', done: number, total: number) => void;
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

/** The views the page shows: every view (op-type, torch_npu's op_statistic, only has a table for NPU profiles). */
export const REPORT_VIEWS: readonly StatsView[] = STATS_VIEWS;

/** The page's data: statistics with every view it shows, utilization over time, short kernel names. */
export async function reportDataOf(inputs: readonly string[], opts: ReportOptions = {}): Promise<ReportData> {
  const { output: _output, title, buckets, onProgress, ...statsOpts } = opts;
  const { utilization = null, ...stats } = await statsOf(inputs, {
    ...statsOpts,
    views: [...REPORT_VIEWS],
    utilization: { buckets: buckets ?? 400 },
    ...(onProgress ? { onProgress: (d: number, t: number) => onProgress('stats', d, t) } : {}),
  });
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

function titleOf(s: StatsResult): string {
  // a torch_npu rank is its *_ascend_pt directory, not ASCEND_PROFILER_OUTPUT/trace_view.json
  const files = [...new Set(s.inputs.map((i) => (basename(i.file) === 'trace_view.json' ? dirname(dirname(i.file)) : i.file)))];
  const where = files.length === 1 ? (files[0] === '-' ? 'stdin' : basename(files[0]!)) : basename(dirname(files[0] ?? '.')) || 'traces';
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
