/** `traceforge fix <trace> [-o out]`: every slice visible in Perfetto. */
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { defaultFixOutput, fixTrace } from '../../pipeline/fix.js';
import { ascendProfileOf, resolveTracePath } from '../../formats/ascend.js';
import { formatDiagnostics } from '../../model/diagnostics.js';
import { TraceforgeError } from '../../errors.js';
import { progressBar } from '../progress.js';
import { bytes, n, openHint } from '../format.js';
import type { CommandOutcome } from '../main.js';
import { cliFormat, cliSplit, partsHint, splitLines, uiLine } from '../output-options.js';
import type { UiLoadEstimate } from '../../pipeline/ui-load.js';

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
