/**
 * What fix, merge and open share on their command lines: --format, --split / --step, and the
 * lines that report split parts and the Perfetto UI's memory. Light on purpose: it loads none of
 * the writers (pipeline/perfetto.ts, pipeline/split.ts), which a command loads only when it runs.
 */
import { TraceforgeError } from '../errors.js';
import type { Diagnostics } from '../model/diagnostics.js';
import { outputFormat, type OutputFormat } from '../pipeline/output-format.js';
import { parseSplit, type SplitSpec } from '../pipeline/split-spec.js';
import type { SplitResult } from '../pipeline/split.js';
import type { UiLoadEstimate } from '../pipeline/ui-load.js';
import { bytes, ms, n } from './format.js';

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
