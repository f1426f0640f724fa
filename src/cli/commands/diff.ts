/**
 * `traceforge diff <baseline> <candidate>`: what changed between two profiles, per kernel,
 * category, op, rank or step, normalized per step (else whole-profile totals); `--fail-above PCT` exits 1
 * when GPU busy time (or `--metric`) grew by more than PCT percent, for CI.
 */
import type { Command } from 'commander';
import { once } from 'node:events';
import { DIFF_VIEWS, NORMALIZE_MODES, type DiffView, type Normalize } from '../../analysis/diff.js';
import { formatDiagnostics, Diagnostics, type DiagnosticEntry } from '../../model/diagnostics.js';
import { TraceforgeError } from '../../errors.js';
import { progressBar, type Progress } from '../progress.js';
import type { CommandOutcome } from '../main.js';
import { parseTop, parseViewList, parseWidth } from '../views.js';

interface DiffCliOptions {
  by?: string[];
  format: string;
  top?: string;
  step?: string;
  category?: string[];
  profileId?: string;
  exact?: boolean;
  normalize: string;
  failAbove?: string;
  metric?: string;
  apiCalls: boolean;
  width?: string;
  quiet?: boolean;
}

const FORMATS = ['table', 'csv', 'json', 'md'] as const;
type Format = (typeof FORMATS)[number];

function parseViews(values: readonly string[]): DiffView[] {
  return parseViewList(values, DIFF_VIEWS, { kernels: 'kernel', categories: 'category', ops: 'op', operator: 'op', ranks: 'rank', steps: 'step', roofline: 'efficiency' });
}

/** `5`, `5%`, `0.5` -> percent as a number. */
function parsePercent(text: string): number {
  const t = text.trim().replace(/%$/, '');
  const v = t === '' ? NaN : Number(t);
  if (!Number.isFinite(v) || v < 0) throw new TraceforgeError('E_USAGE', `--fail-above takes a percentage of 0 or more (e.g. 5 or 5%), not ${text}`);
  return v;
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

function dataNotes(side: string, entries: readonly DiagnosticEntry[]): void {
  if (entries.length === 0) return;
  const d = new Diagnostics();
  for (const e of entries) { for (const ex of e.examples) d.add(e.name, ex, 0); d.add(e.name, undefined, e.count); }
  process.stderr.write(`data notes (${side}):\n${formatDiagnostics(d)}\n`);
}

export function register(program: Command, run: (fn: () => Promise<CommandOutcome | void>) => Promise<void>): void {
  program
    .command('diff')
    .description('Compare two profiles: kernels, categories, ops by input shape, ranks or steps, per step (else per second) so that profiles of different lengths compare fairly; kernels renamed by another build are still paired. --fail-above gates CI.')
    .argument('<baseline>', 'a trace, a directory of rank traces, or a merged trace')
    .argument('<candidate>', 'the same for the profile to compare with the baseline')
    .option('--by <view>', `view to show, repeatable or comma-separated: ${DIFF_VIEWS.join(', ')}, all (default: kernel)`, collect)
    .option('--format <fmt>', `output: ${FORMATS.join(', ')}`, 'table')
    .option('--top <n>', 'rows of the long tables (kernels, calls, ops); default 20 in table/md, all in csv/json')
    .option('--step <regex>', 'step annotations on both sides (default ProfilerStep#N), e.g. "decode_step_\\d+"')
    .option('--category <name=regex>', 'categorise kernels whose name matches regex as name (before the built-in rules); repeatable', collect)
    .option('--profile-id <id>', 'which profile to read when a directory has several (both sides)')
    .option('--exact', 'pair kernels by identical names only (no spelling / family matching)')
    .option('--normalize <unit>', `compare ${NORMALIZE_MODES.join(', ')}: auto is per step when both sides have steps (ProfilerStep#N, a numbered annotation family, or --step), else whole-profile totals; second: per second of profile`, 'auto')
    .option('--fail-above <pct>', 'exit 1 when the metric grew by more than pct percent (candidate vs baseline, per unit)')
    .option('--metric <name>', 'what --fail-above measures: busy (default), compute, comm, exposed-comm, kernel-time, launch, launches, a category, a kernel (full name or a unique part) or a runtime call')
    .option('--no-api-calls', 'skip the CPU runtime / driver call table (saves one pass over every file)')
    .option('--width <n>', 'table width (default: the terminal width, or 100)')
    .option('-q, --quiet', 'no notes or data warnings on stderr')
    .action((baseline: string, candidate: string, o: DiffCliOptions) => run(async () => {
      const format = o.format.toLowerCase() === 'markdown' ? 'md' : (o.format.toLowerCase() as Format);
      if (!FORMATS.includes(format)) throw new TraceforgeError('E_USAGE', `--format takes ${FORMATS.join(', ')}, not ${o.format}`);
      const normalize = o.normalize.toLowerCase() as Normalize;
      if (!NORMALIZE_MODES.includes(normalize)) throw new TraceforgeError('E_USAGE', `--normalize takes ${NORMALIZE_MODES.join(', ')}, not ${o.normalize}`);
      const top = parseTop(o.top, format);
      const width = parseWidth(o.width);
      const failAbove = o.failAbove !== undefined ? parsePercent(o.failAbove) : undefined;
      if (o.metric !== undefined && failAbove === undefined) throw new TraceforgeError('E_USAGE', '--metric says what --fail-above measures; give --fail-above PCT too');
      const views = parseViews(o.by ?? []);
      const [{ diffOf, gateOf }, { diffSectionsOf, signedPercent }, { renderTables }, { renderCsv }, { renderMarkdown }, { renderDiffJson }] = await Promise.all([
        import('../../pipeline/diff.js'), import('../../report/diff-sections.js'), import('../../report/table.js'),
        import('../../report/csv.js'), import('../../report/markdown.js'), import('../../report/diff-json.js'),
      ]);
      let bar: Progress | undefined;
      const result = await diffOf(baseline, candidate, {
        ...(views.length > 0 ? { views } : {}),
        exact: o.exact === true,
        normalize,
        apiCalls: o.apiCalls,
        categories: o.category ?? [],
        ...(o.step !== undefined ? { step: o.step } : {}),
        ...(o.profileId !== undefined ? { profileId: o.profileId } : {}),
        onProgress: (done, total) => { bar ??= progressBar(total, 'diff'); bar.update(done); },
      }).finally(() => bar?.stop());
      // the gate is evaluated before printing: a bad --metric is an error, not a report
      const gate = failAbove !== undefined ? gateOf(result, failAbove, o.metric) : undefined;
      if (!o.quiet) {
        for (const n of result.baseline.notes) process.stderr.write(`note: baseline: ${n}\n`);
        for (const n of result.candidate.notes) process.stderr.write(`note: candidate: ${n}\n`);
        for (const n of result.notes) process.stderr.write(`note: ${n}\n`);
        dataNotes('baseline', result.baseline.diagnostics);
        dataNotes('candidate', result.candidate.diagnostics);
      }
      if (format === 'json') await write(renderDiffJson(result, top !== undefined ? { top } : {}));
      else {
        const sections = diffSectionsOf(result, top !== undefined ? { top } : {});
        if (format === 'csv') await write(renderCsv(sections));
        else if (format === 'md') await write(renderMarkdown(sections));
        else {
          const side = (s: typeof result.baseline): string => [...new Set(s.inputs.map((i) => i.file))].join(', ');
          await write(`baseline:  ${side(result.baseline)}\ncandidate: ${side(result.candidate)}\n\n`);
          await write(renderTables(sections, width));
        }
      }
      if (!gate) return;
      const unit = result.normalization.per === 'profile' ? '' : ` per ${result.normalization.per}`;
      const verdict = gate.regressed ? `regressed by more than ${failAbove}%` : `within ${failAbove}%`;
      process.stderr.write(`fail-above: ${gate.metric}${unit} ${signedPercent(Number.isFinite(gate.change) ? gate.change : Infinity)}: ${verdict}${gate.regressed ? ' (exit 1)' : ''}\n`);
      return { exitCode: gate.regressed ? 1 : 0 };
    }));
}
