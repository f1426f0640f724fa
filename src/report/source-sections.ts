/**
 * Sections of the attribution views: `--by source` and `--by module` (device time per Python
 * location / nn.Module chain, with their top kernels and ops), and the attribution summary
 * (how much device time has an op and a source, by route) under them.
 */
import type { StatsResult, StatsView } from '../analysis/result.js';
import type { SourceStat } from '../analysis/source-view.js';
import { count, duration, percent } from './format.js';
import { col, limit } from './cells.js';
import type { Cell, Section, SectionOptions } from './sections.js';

const cell = (text: string, value: string | number | null = text): Cell => ({ text, value });
const share = (x: number): Cell => cell(percent(x), Math.round(x * 1e6) / 1e6);

function rowsSection(view: StatsView, rows: readonly SourceStat[], opts: SectionOptions, title: string, what: string): Section {
  const notes: string[] = [];
  const list = limit(rows, opts.top, what, notes);
  const empty = cell('', null);
  const out: Cell[][] = [];
  const sub: boolean[] = [];
  for (const s of list) {
    out.push([cell(s.name), cell(count(s.calls), s.calls), cell(duration(s.gpuUs), s.gpuUs), share(s.share),
      cell('', JSON.stringify(s.kernels)), cell('', JSON.stringify(s.ops))]);
    sub.push(false);
    for (const o of s.ops.slice(0, 2)) { out.push([cell(`  ↳ op ${o.name}`, o.name), cell(count(o.calls), o.calls), cell(duration(o.totalUs), o.totalUs), empty, empty, empty]); sub.push(true); }
    for (const k of s.kernels.slice(0, 2)) { out.push([cell(`  ↳ ${k.name}`, k.name), cell(count(k.calls), k.calls), cell(duration(k.totalUs), k.totalUs), empty, empty, empty]); sub.push(true); }
  }
  notes.push('↳ the ops and kernels with most of the row\'s time; % busy: share of GPU busy time');
  return {
    view, name: view === 'source' ? 'sources' : 'modules', title,
    columns: [col(what === 'sources' ? 'source' : 'module', 'name', 'left', { shrink: true, min: 24 }), col('kernels', 'calls'), col('GPU time', 'gpuUs'), col('% busy', 'share'),
      col('top kernels', 'kernels', 'left', { csvOnly: true }), col('top ops', 'ops', 'left', { csvOnly: true })],
    rows: out, sub, notes,
  };
}

function attributionSection(r: StatsResult, view: StatsView): Section | undefined {
  const a = r.attribution;
  if (!a) return undefined;
  const notes = [`${percent(a.withOp.share)} of device time has an op, ${percent(a.withSource.share)} a Python source`];
  for (const g of a.replays.graphs) notes.push(`graph replay: ${count(g.launches)} launch(es) × ${count(g.kernels)} kernels, ${count(g.attributed)} attributed${g.route !== 'none' ? ` via ${g.route}` : ''}${g.reason ? ` (${g.reason})` : ''}`);
  return {
    view, name: 'attribution', title: 'Attribution of device time (by route)',
    columns: [col('route', 'route', 'left'), col('kernels', 'kernels'), col('time', 'us'), col('% of device time', 'share')],
    rows: a.routes.map((x) => [cell(x.route), cell(count(x.kernels), x.kernels), cell(duration(x.us), x.us), share(x.share)]),
    notes,
  };
}

/** Sections of the source or module view; the attribution summary goes under the first of them. */
export function sourceSections(r: StatsResult, view: StatsView, opts: SectionOptions): Section[] {
  const main = view === 'source'
    ? rowsSection(view, r.sources ?? [], opts, 'GPU time by Python source (first user frame below the innermost nn.Module)', 'sources')
    : rowsSection(view, r.modules ?? [], opts, 'GPU time by nn.Module', 'modules');
  const first = r.views.find((v) => v === 'source' || v === 'module') === view;
  const a = first ? attributionSection(r, view) : undefined;
  return a ? [main, a] : [main];
}
