/** `traceforge merge <dir | files | globs>...`: all ranks on one timeline. */
import type { Command } from 'commander';
import { mergeTraces, parseRankList, type MergeWindow } from '../../pipeline/merge.js';
import { formatDiagnostics } from '../../model/diagnostics.js';
import { TraceforgeError } from '../../errors.js';
import { progressBar, type Progress } from '../progress.js';
import { bytes, n, openHint } from '../format.js';
import type { CommandOutcome } from '../main.js';
import { cliFormat, cliSplit, partsHint, splitLines, uiLine } from '../output-options.js';
import type { UiLoadEstimate } from '../../pipeline/ui-load.js';

interface MergeCliOptions {
  output?: string;
  profileId?: string;
  fix: boolean;
  window?: string;
  windowAbs?: string;
  tracks: string;
  name?: string;
  exclude?: string;
  ranks?: string;
  skipBad?: boolean;
  gzipLevel: string;
  format?: string;
  split?: string;
  step?: string;
  cpuFirst?: boolean;
  quiet?: boolean;
}

function parseWindow(text: string, absolute: boolean): MergeWindow {
  const m = /^\s*(-?[\d.]+)\s*:\s*(-?[\d.]+)\s*$/.exec(text);
  const start = m ? Number(m[1]) : NaN;
  const end = m ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(start) || !Number.isFinite(end) || end < start) {
    throw new TraceforgeError('E_USAGE', `--window${absolute ? '-abs' : ''} takes START:END with START <= END, not "${text}"`);
  }
  return { start, end, absolute };
}

export function register(program: Command, run: (fn: () => Promise<CommandOutcome | void>) => Promise<void>): void {
  program
    .command('merge')
    .description('Merge per-rank traces (SGLang TP/DP/PP/EP names, or rank from the file) into one timeline, one output per profile and stage; the overlap fix is applied in the same pass.')
    .argument('<inputs...>', 'a directory of rank traces, trace files, or globs')
    .option('-o, --output <path>', 'output file, or a directory (default: merged-<id>[-STAGE].trace.json.gz beside the inputs)')
    .option('--profile-id <id>', 'which profile to merge when the directory has several (default: the newest)')
    .option('--no-fix', 'keep overlapping slices as they are (no extra lanes)')
    .option('--window <start:end>', 'keep events in this window, in ms from the earliest event of all ranks')
    .option('--window-abs <start:end>', 'keep events in this window, in trace µs (the output\'s ts units)')
    .option('--tracks <which>', 'gpu, cpu or all', 'all')
    .option('--name <regex>', 'keep only events whose name matches')
    .option('--exclude <regex>', 'drop events whose name matches')
    .option('--ranks <list>', 'keep only these ranks, e.g. 0,2-3')
    .option('--skip-bad', 'merge the readable ranks when some file is corrupt, and list the ones skipped')
    .option('--cpu-first', 'list CPU processes before GPU ones within a rank')
    .option('--format <fmt>', 'json, or perfetto: Perfetto\'s native TrackEvent protobuf, merged-<id>.pftrace (default: by the output name, else json)')
    .option('--split <spec>', 'write one file per part, <stem>-part-NN<ext>: steps:N (N steps per part) or time:MS (MS ms per part)')
    .option('--step <regex>', 'with --split steps:N: the step annotations (default: ProfilerStep#N, else a numbered family such as decode_step_N)')
    .option('--gzip-level <n>', 'gzip level for .gz output (0-9)', '1')
    .option('-q, --quiet', 'print nothing but errors')
    .action((inputs: string[], o: MergeCliOptions) => run(async () => {
      const split = cliSplit(o.split, o.step);
      if (split.split && o.output === '-') throw new TraceforgeError('E_USAGE', '--split writes one file per part: give an output file or directory (-o), not stdout');
      const level = Number(o.gzipLevel);
      if (!Number.isInteger(level) || level < 0 || level > 9) throw new TraceforgeError('E_USAGE', `--gzip-level takes 0-9, not ${o.gzipLevel}`);
      if (!['gpu', 'cpu', 'all'].includes(o.tracks)) throw new TraceforgeError('E_USAGE', `--tracks takes gpu, cpu or all, not ${o.tracks}`);
      for (const [flag, re] of [['--name', o.name], ['--exclude', o.exclude]] as const) {
        if (re !== undefined) { try { new RegExp(re); } catch (e) { throw new TraceforgeError('E_USAGE', `${flag}: not a valid regular expression: ${(e as Error).message}`); } }
      }
      if (o.window && o.windowAbs) throw new TraceforgeError('E_USAGE', 'give --window or --window-abs, not both');
      const window = o.window ? parseWindow(o.window, false) : o.windowAbs ? parseWindow(o.windowAbs, true) : undefined;
      let bar: Progress | undefined;
      const outcome = await mergeTraces({
        inputs, fix: o.fix, format: cliFormat(o.format, o.output), tracks: o.tracks as 'gpu' | 'cpu' | 'all', gzipLevel: level,
        ...(o.output !== undefined ? { output: o.output } : {}),
        ...(o.profileId !== undefined ? { profileId: o.profileId } : {}),
        ...(window ? { window } : {}),
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.exclude !== undefined ? { exclude: o.exclude } : {}),
        ...(o.ranks !== undefined ? { ranks: parseRankList(o.ranks) } : {}),
        ...(o.skipBad ? { skipBad: true } : {}),
        ...(o.cpuFirst ? { cpuFirst: true } : {}),
        ...split,
        onProgress: (done, total, label) => { bar ??= progressBar(total, label); bar.update(done, label); },
        ...(o.quiet ? {} : { onUiEstimate: (e: UiLoadEstimate, out: string) => { const line = uiLine(e, out)!; if (bar) bar.note(line); else process.stderr.write(line + '\n'); } }),
      }).finally(() => bar?.stop());
      if (o.quiet) return;
      const log = (line: string): void => void process.stderr.write(line + '\n');
      for (const note of outcome.notes) log(`note: ${note}`);
      for (const r of outcome.results) {
        log(`merged ${r.ranks.length} rank(s): ${r.ranks.map((x) => x.label).join(', ')}`);
        log(`  events: ${n(r.eventsIn)} in, ${n(r.eventsOut)} out (${n(r.eventsOut - r.eventsIn + r.filtered)} metadata added to label ranks and lanes)${r.filtered > 0 ? `, ${n(r.filtered)} filtered out` : ''}${r.windowMs ? `; window ${r.windowMs[0]}–${r.windowMs[1]} ms from the earliest event` : ''}`);
        if (o.fix) log(`  overlap fix: ${n(r.slicesMoved)} slice(s) moved to ${n(r.lanesAdded)} new track(s)${r.suspectSlices > 0 ? `; ${n(r.suspectSlices)} slice(s) with a suspect duration moved to "(suspect duration)" tracks` : ''}`);
        for (const s of r.skipped) log(`  skipped (--skip-bad): ${s.error}`);
        for (const wng of r.warnings) log(`  warning: ${wng}`);
        const warn = uiLine(r.ui);
        if (warn) log(warn);
        if (!r.diagnostics.isEmpty) log(`  data notes:\n${formatDiagnostics(r.diagnostics)}`);
        if (r.split) {
          for (const line of splitLines(r.split, r.diagnostics)) log(line);
          log(`wrote ${n(r.split.parts.length)} parts (${bytes(r.outputBytes)} in all)`);
          log(partsHint(r.output, r.split));
          continue;
        }
        log(`wrote ${r.output} (${bytes(r.outputBytes)})`);
        log(openHint(r.output));
      }
    }));
}
