/** `traceforge fix <trace> [-o out]`: every slice visible in Perfetto. */
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { defaultFixOutput, fixTrace } from '../../pipeline/fix.js';
import { ascendProfileOf, resolveTracePath } from '../../formats/ascend.js';
import { formatDiagnostics, type Diagnostics } from '../../model/diagnostics.js';
import { TraceforgeError } from '../../errors.js';
import { progressBar } from '../progress.js';
import { bytes, ms, n, openHint } from '../format.js';
import type { CommandOutcome } from '../main.js';
import { outputFormat, type OutputFormat } from '../../pipeline/perfetto.js';
import { parseSplit, type SplitResult, type SplitSpec } from '../../pipeline/split.js';
import type { UiLoadEstimate } from '../../pipeline/ui-load.js';

/** `--split` and `--step`, as fix, merge and open take them. */
export function cliSplit(split: string | undefined, step: string | undefined): { split?: SplitSpec; step?: RegExp } {
  if (split === undefined) {
    if (step !== undefined) throw new TraceforgeError('E_USAGE', '--step names the steps of --split steps:N; give --split too');
    return {};
  }
  const spec = parseSplit(split);
  if (step === undefined) return { split: spec };
  if (spec.by !== 'steps') throw new TraceforgeError('E_USAGE', '--step only goes with --split steps:N');
  try { return { split: spec, step: new RegExp(step) }; } catch (e) { throw new TraceforgeError('E_USAGE', `--step: not a valid regular expression: ${(e as Error).message}`); }
}


/** The lines that describe the parts of a split output. */
export function splitLines(s: SplitResult, diagnostics: Diagnostics): string[] {
  const lines: string[] = [];
  if (s.steps) lines.push(`  ${s.steps.detection.description}: ${n(s.steps.count)} step(s)`);
  lines.push(`  split ${s.spec.by === 'steps' ? `by ${n(s.spec.steps)} step(s)` : `into windows of ${ms(s.spec.ms)}`}: ${n(s.parts.length)} part(s); ${n(s.metadata)} metadata event(s) in every part, ${n(s.events)} other event(s) each in one part`);
  if (s.flowsAcross > 0) lines.push(`  ${n(s.flowsAcross)} flow(s) cross a part boundary: kept whole in the part of their first event (their arrow has no slice to end on there)`);
  for (const p of s.parts) {
    const steps = p.steps ? (p.steps.count === 1 ? ` ${p.steps.first}` : ` ${p.steps.first} .. ${p.steps.last}`) : '';
    lines.push(`  ${p.path}  ${ms(p.startMs)} – ${ms(p.endMs)}${steps}, ${n(p.events)} events, ${bytes(p.bytes)}`);
  }
  const big = diagnostics.count('perfetto_ui_memory');
  if (big > 0) lines.push(`  warning: ${n(big)} part(s) still look too big for the Perfetto UI (see perfetto_ui_memory below): split finer, or use --format perfetto or trace_processor --httpd`);
  if (s.stale.length > 0) lines.push(`  note: ${n(s.stale.length)} older part file(s) of an earlier split are still there (not removed): ${s.stale.slice(0, 3).join(', ')}${s.stale.length > 3 ? ', ...' : ''}`);
  return lines;
}

/** How to open the parts. */
export function partsHint(output: string, s: SplitResult): string {
  return `open a part: traceforge open ${s.parts[0]!.path}   (or: traceforge open ${output} --part NN)`;
}

/**
 * One line on the Perfetto UI's memory for a JSON output that looks too big for it: after
 * writing, on the bytes written; before (`fromInputs`), on the inputs' decompressed sizes.
 */
export function uiLine(ui: UiLoadEstimate | undefined, output?: string): string | undefined {
  if (!ui || ui.fits) return undefined;
  const gb = (b: number): string => `${(b / 1024 ** 3).toFixed(1)} GB`;
  const what = ui.fromInputs
    ? `before writing${output !== undefined ? ` ${output}` : ''}: the input(s) hold ${bytes(ui.jsonBytes)} of JSON, so the output needs about ${gb(ui.estimatedBytes)} in the Perfetto UI`
    : `${bytes(ui.jsonBytes)} of JSON needs about ${gb(ui.estimatedBytes)} in the Perfetto UI`;
  const stop = ui.fromInputs ? ' (Ctrl-C now to stop)' : '';
  return `  warning (perfetto_ui_memory): ${what}, over the ~${gb(ui.limitBytes)} it has: it will probably not load${stop}; try --split steps:N or time:MS, --format perfetto, or trace_processor --httpd`;
}

/** --format (json | perfetto), else by the output's name. */
export function cliFormat(format: string | undefined, output: string | undefined): OutputFormat {
  try { return outputFormat(format, output); } catch (e) { throw new TraceforgeError('E_USAGE', (e as Error).message); }
}

export function register(program: Command, run: (fn: () => Promise<CommandOutcome | void>) => Promise<void>): void {
  program
    .command('fix')
    .description('Put complete events that do not nest on extra tracks ("lanes") so Perfetto shows them all; launch arrows move with their kernels.')
    .argument('<trace>', 'a .json or .json.gz trace, a torch_npu *_ascend_pt directory, or - for stdin')
    .option('-o, --output <path>', 'output (.json.gz compressed, .json plain, - stdout); default <stem>.fixed.json.gz next to the input')
    .option('--gzip-level <n>', 'gzip level for .gz output (0-9)', '1')
    .option('--format <fmt>', 'json, or perfetto: Perfetto\'s native TrackEvent protobuf (default: by the output name, .pftrace / .perfetto-trace [.gz] are perfetto, else json)')
    .option('--in-place', 'allow the output to replace the input')
    .option('--salvage', 'accept a trace cut off inside its events array (crashed run): keep the complete events')
    .option('--split <spec>', 'write one file per part, <stem>-part-NN<ext>: steps:N (N steps per part) or time:MS (MS ms per part)')
    .option('--step <regex>', 'with --split steps:N: the step annotations (default: ProfilerStep#N, else a numbered family such as decode_step_N)')
    .option('-q, --quiet', 'print nothing but errors')
    .action((given: string, o: { output?: string; format?: string; gzipLevel: string; inPlace?: boolean; salvage?: boolean; split?: string; step?: string; quiet?: boolean }) => run(async () => {
      const split = cliSplit(o.split, o.step);
      if (split.split && o.inPlace) throw new TraceforgeError('E_USAGE', '--in-place cannot be combined with --split: the parts are new files beside the output');
      const trace = resolveTracePath(given, 'fix');
      const level = Number(o.gzipLevel);
      if (!Number.isInteger(level) || level < 0 || level > 9) throw new TraceforgeError('E_USAGE', `--gzip-level takes 0-9, not ${o.gzipLevel}`);
      // a Db export's output goes next to its .db, not next to the converted trace in the cache
      const db = given !== '-' ? ascendProfileOf(given)?.db : undefined;
      const format = cliFormat(o.format, o.output);
      const output = o.inPlace && !o.output && db === undefined && format === 'json' ? trace : o.output ?? defaultFixOutput(db !== undefined ? db.replace(/\.db$/, '.json') : trace, format);
      if (split.split && output === '-') throw new TraceforgeError('E_USAGE', '--split writes one file per part: give an output file name (-o), not stdout');
      let size = 0;
      try { size = trace === '-' ? 0 : statSync(trace).size; } catch { /* reported by the reader */ }
      const bar = progressBar(size * (split.split ? 4 : 2), 'fix');
      const r = await fixTrace(trace, {
        output, format, gzipLevel: level, inPlace: o.inPlace, salvage: o.salvage, ...split,
        onProgress: (pass, c) => bar.update((pass - 1) * size + c, pass === 1 ? 'fix: index' : pass === 2 ? 'fix: write' : 'fix: split'),
        ...(o.quiet ? {} : { onUiEstimate: (e: UiLoadEstimate) => bar.note(uiLine(e, output)!) }),
      }).finally(() => bar.stop());
      if (o.quiet || output === '-') return;
      const s = r.summary;
      const log = (line: string): void => void process.stderr.write(line + '\n');
      log(`${r.input}: ${n(r.events)} events`);
      if (s.slicesMoved === 0 && s.suspect.slices === 0) log('  nothing to fix: every complete event already nests on its track');
      if (s.suspect.slices > 0) log(`  ${n(s.suspect.slices)} device slice(s) with a duration that cannot be real moved to ${n(s.suspect.tracks)} "(suspect duration)" track(s) (see suspect_device_duration below)`);
      if (s.slicesMoved > 0) {
        log(`  ${n(s.tracksTouched)} track(s) had slices that do not nest; ${n(s.slicesMoved)} slice(s) moved to ${n(s.lanesAdded)} new track(s), ${n(s.flowsMoved)} flow arrow end(s) moved with them`);
        log(`  moved by category: ${s.byCategory.map((c) => `${c.category || '(none)'} ${n(c.moved)}`).join(', ')}`);
        for (const t of s.tracks.slice(0, 8)) log(`  pid ${t.pid} "${t.name}": ${t.lanes} lanes, ${n(t.moved)} moved`);
        if (s.tracks.length > 8) log(`  ... and ${s.tracks.length - 8} more tracks`);
      }
      if (r.droppedBytes > 0) log(`  salvaged: the trace was cut off; ${n(r.events)} complete events kept, ${n(r.droppedBytes)} bytes after the last one dropped`);
      if (r.perfetto) log(`  Perfetto TrackEvent: ${n(r.perfetto.slices)} slices, ${n(r.perfetto.instants)} instants, ${n(r.perfetto.counterValues)} counter values, ${n(r.perfetto.flowEnds)} flow ends on ${n(r.perfetto.tracks)} tracks${Object.keys(r.perfetto.skipped).length > 0 ? `; not converted: ${Object.entries(r.perfetto.skipped).map(([ph, c]) => `${n(c)} ph "${ph}"`).join(', ')}` : ''}`);
      if (r.timeBaseNs !== undefined) log(`  timestamps made relative to baseTimeNanoseconds ${r.timeBaseNs} (every digit kept)`);
      const warn = uiLine(r.ui);
      if (warn) log(warn);
      if (!r.diagnostics.isEmpty) log(`  data notes:\n${formatDiagnostics(r.diagnostics)}`);
      if (r.split) {
        for (const line of splitLines(r.split, r.diagnostics)) log(line);
        log(`wrote ${n(r.split.parts.length)} parts (${bytes(r.outputBytes)} in all)`);
        log(partsHint(r.output, r.split));
        return;
      }
      log(`wrote ${r.output} (${bytes(r.outputBytes)})`);
      log(openHint(r.output));
    }));
}
