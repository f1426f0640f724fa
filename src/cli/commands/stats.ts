/** `traceforge stats <trace | dir | files>...`: where the GPU (NPU) time goes, per rank, kernel, op, step. */
import type { Command } from 'commander';
import { once } from 'node:events';
import { STATS_VIEWS, type StatsView } from '../../analysis/result.js';
import { formatDiagnostics, Diagnostics } from '../../model/diagnostics.js';
import { TraceforgeError } from '../../errors.js';
import { progressBar, type Progress } from '../progress.js';
import type { CommandOutcome } from '../main.js';
import { parseTop, parseViewList, parseWidth } from '../views.js';

interface StatsCliOptions {
  by?: string[];
  format: string;
  top?: string;
  category?: string[];
  step?: string;
  profileId?: string;
  width?: string;
  peak?: string;
  quiet?: boolean;
  dropSuspect?: boolean;
  capture?: string[];
  mapping?: string[];
  library?: string;
}

const FORMATS = ['table', 'csv', 'json', 'md'] as const;
type Format = (typeof FORMATS)[number];

/** `--by` values: the view names, a few plural spellings, and comma lists. */
function parseViews(values: readonly string[]): StatsView[] {
  return parseViewList(values, STATS_VIEWS, {
    kernels: 'kernel', categories: 'category', ops: 'op', ranks: 'rank', steps: 'step', operator: 'op',
    launches: 'launch', 'launch-path': 'launch', 'idle-time': 'idle', sources: 'source', modules: 'module',
    roofline: 'efficiency', eff: 'efficiency', 'op-types': 'op-type', optype: 'op-type', op_type: 'op-type', 'op-statistic': 'op-type', op_statistic: 'op-type',
  });
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

export function register(program: Command, run: (fn: () => Promise<CommandOutcome | void>) => Promise<void>): void {
  program
    .command('stats')
    .description('Where the time goes: GPU/NPU busy/idle time, kernels, categories, operators by input shape, ranks side by side (stragglers), steps, why the GPU waits (idle by cause) and the launch path; on torch_npu profiles also op-type (the op_statistic table). A directory or several files are several ranks; a merged trace is split back into its ranks.')
    .argument('<inputs...>', 'a trace, a directory of rank traces, several files or globs, a merged trace, or torch_npu *_ascend_pt directories (or their ASCEND_PROFILER_OUTPUT / trace_view.json, or a directory of them)')
    .option('--by <view>', `view to show, repeatable or comma-separated: ${STATS_VIEWS.join(', ')}, all (default: summary,kernel)`, collect)
    .option('--format <fmt>', `output: ${FORMATS.join(', ')}`, 'table')
    .option('--top <n>', 'rows of the long tables (kernels, ops); default 20 in table/md, all in csv/json')
    .option('--category <name=regex>', 'categorise kernels whose name matches regex as name (before the built-in rules); repeatable', collect)
    .option('--step <regex>', 'step annotations for --by step and idle (default: ProfilerStep#N, else a family of numbered annotations such as decode_step_N), e.g. "decode_step_\\d+"')
    .option('--profile-id <id>', 'which profile to read when a directory has several (default: the newest)')
    .option('--width <n>', 'table width (default: the terminal width, or 100)')
    .option('--peak <tflops=N,tbps=N>', 'efficiency view: the device peak to compare with (TFLOP/s, TB/s) instead of the built-in table')
    .option('--drop-suspect', 'leave device activities whose duration cannot be real (suspect_device_duration, see check) out of every view; by default they are counted and reported')
    .option('-q, --quiet', 'no notes or data warnings on stderr')
    .option('--capture <dir|file>', 'capture trace(s) of the CUDA/HIP graphs the trace replays (default: capture_traces/, graph_capture_profile/ or graph_capture_rank_* next to it); repeatable', collect)
    .option('--mapping <trace>', 'a graph-off run of the same workload: attributes graph replays by kernel sequence; repeatable', collect)
    .option('--library <regex>', 'Python frames that count as library code, never as the source (on top of torch/, built-ins, the standard library), e.g. "aiter/|sgl_kernel/"')
    .action((inputs: string[], o: StatsCliOptions) => run(async () => {
      const format = o.format.toLowerCase() === 'markdown' ? 'md' : (o.format.toLowerCase() as Format);
      if (!FORMATS.includes(format)) throw new TraceforgeError('E_USAGE', `--format takes ${FORMATS.join(', ')}, not ${o.format}`);
      const top = parseTop(o.top, format);
      const width = parseWidth(o.width);
      const views = parseViews(o.by ?? []);
      // loaded here: every command module is imported at start-up to register itself
      const [{ statsOf }, { sectionsOf }, { renderTables }, { renderCsv }, { renderMarkdown }, { renderJson }] = await Promise.all([
        import('../../pipeline/stats.js'), import('../../report/sections.js'), import('../../report/table.js'),
        import('../../report/csv.js'), import('../../report/markdown.js'), import('../../report/json.js'),
      ]);
      let bar: Progress | undefined;
      const result = await statsOf(inputs, {
        ...(views.length > 0 ? { views } : {}),
        categories: o.category ?? [],
        ...(o.step !== undefined ? { step: o.step } : {}),
        ...(o.profileId !== undefined ? { profileId: o.profileId } : {}),
        ...(o.peak !== undefined ? { peak: o.peak } : {}),
        ...(o.dropSuspect ? { dropSuspect: true } : {}),
        capture: o.capture ?? [], mapping: o.mapping ?? [], ...(o.library !== undefined ? { library: o.library } : {}),
        onProgress: (done, total) => { bar ??= progressBar(total, 'stats'); bar.update(done); },
      }).finally(() => bar?.stop());
      if (!o.quiet) {
        for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
        if (result.diagnostics.length > 0) {
          const d = new Diagnostics();
          for (const e of result.diagnostics) { for (const ex of e.examples) d.add(e.name, ex, 0); d.add(e.name, undefined, e.count); }
          process.stderr.write(`data notes:\n${formatDiagnostics(d)}\n`);
        }
      }
      if (format === 'json') { await write(renderJson(result, top !== undefined ? { top } : {})); return; }
      const sections = sectionsOf(result, top !== undefined ? { top } : {});
      if (format === 'csv') await write(renderCsv(sections));
      else if (format === 'md') await write(renderMarkdown(sections));
      else {
        const ranks = result.inputs.map((i) => i.label).join(', ');
        await write(`${result.inputs.length === 1 ? `${result.inputs[0]!.file}` : `${result.inputs.length} ranks: ${ranks}`}\n\n`);
        await write(renderTables(sections, width));
      }
    }));
}
