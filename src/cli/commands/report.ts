/** `traceforge report <trace | dir | files>... -o report.html`: the whole profile on one self-contained HTML page. */
import type { Command } from 'commander';
import { TraceforgeError } from '../../errors.js';
import { formatDiagnostics, Diagnostics } from '../../model/diagnostics.js';
import { progressBar, type Progress } from '../progress.js';
import { bytes } from '../format.js';
import type { CommandOutcome } from '../main.js';

interface ReportCliOptions {
  output?: string;
  title?: string;
  category?: string[];
  step?: string;
  profileId?: string;
  buckets?: string;
  quiet?: boolean;
  capture?: string[];
  mapping?: string[];
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function register(program: Command, run: (fn: () => Promise<CommandOutcome | void>) => Promise<void>): void {
  program
    .command('report')
    .description('One self-contained HTML page (no network needed to view it) of what stats shows: profile facts, GPU time by category, utilization over time, per-step times, ranks side by side with the straggler, sortable tables of kernels and operators with shapes, and the data problems found.')
    .argument('<inputs...>', 'a trace, a directory of rank traces, several files or globs, a merged trace, torch_npu *_ascend_pt directories, or - for stdin (with -o)')
    .option('-o, --output <file>', 'the HTML file to write (default: report.html beside the input: inside a directory input, next to a file input)')
    .option('--title <text>', 'page title (default: from the inputs)')
    .option('--category <name=regex>', 'categorise kernels whose name matches regex as name (before the built-in rules); repeatable', collect)
    .option('--step <regex>', 'step annotations for the per-step chart (default ProfilerStep#N), e.g. "decode_step_\\d+"')
    .option('--profile-id <id>', 'which profile to read when a directory has several (default: the newest)')
    .option('--buckets <n>', 'most time buckets in the utilization chart (default 400)')
    .option('-q, --quiet', 'no notes or data warnings on stderr')
    .option('--capture <dir|file>', 'capture trace(s) of the CUDA/HIP graphs the trace replays (default: found next to it); repeatable', collect)
    .option('--mapping <trace>', 'a graph-off run of the same workload, to attribute graph replays; repeatable', collect)
    .action((inputs: string[], o: ReportCliOptions) => run(async () => {
      let buckets: number | undefined;
      if (o.buckets !== undefined) {
        buckets = Number(o.buckets);
        if (!Number.isInteger(buckets) || buckets < 10 || buckets > 100_000) throw new TraceforgeError('E_USAGE', `--buckets takes a whole number from 10 to 100000, not ${o.buckets}`);
      }
      // loaded here: every command module is imported at start-up to register itself
      const { writeReport } = await import('../../pipeline/report.js');
      let bar: Progress | undefined;
      const outcome = await writeReport(inputs, {
        ...(o.output !== undefined ? { output: o.output } : {}),
        ...(o.title !== undefined ? { title: o.title } : {}),
        categories: o.category ?? [],
        ...(o.step !== undefined ? { step: o.step } : {}),
        ...(o.profileId !== undefined ? { profileId: o.profileId } : {}),
        ...(buckets !== undefined ? { buckets } : {}),
        capture: o.capture ?? [], mapping: o.mapping ?? [],
        onProgress: (_stage, done, total) => { bar ??= progressBar(total, 'report'); bar.update(done); },
      }).finally(() => bar?.stop());
      if (o.quiet) return;
      const log = (line: string): void => void process.stderr.write(line + '\n');
      const result = outcome.data.stats;
      for (const note of result.notes) log(`note: ${note}`);
      if (result.diagnostics.length > 0) {
        const d = new Diagnostics();
        for (const e of result.diagnostics) { for (const ex of e.examples) d.add(e.name, ex, 0); d.add(e.name, undefined, e.count); }
        log(`data notes:\n${formatDiagnostics(d)}`);
      }
      log(`wrote ${outcome.output} (${bytes(outcome.bytes)}): ${result.inputs.length} rank(s), ${(result.kernels ?? []).length} kernels, ${(result.ops ?? []).length + (result.npuOps ?? []).length} operator rows`);
    }));
}
