/** `traceforge export <inputs> -o DIR` and `traceforge sql "<query>" <DIR | traces...>`: Parquet tables (docs/SCHEMA.md) and SQL over them. */
import type { Command } from 'commander';
import { once } from 'node:events';
import { TraceforgeError } from '../../errors.js';
import { bytes, n } from '../format.js';
import { progressBar, type Progress } from '../progress.js';
import type { CommandOutcome } from '../main.js';
import { parseWidth } from '../views.js';
import type { ExportOptions } from '../../pipeline/export.js';
import type { SqlResult } from '../../pipeline/sql.js';
import type { Section } from '../../report/sections.js';

interface CommonCliOptions {
  category?: string[];
  step?: string;
  profileId?: string;
  quiet?: boolean;
  dropSuspect?: boolean;
  capture?: string[];
  mapping?: string[];
  library?: string;
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];
const FORMATS = ['table', 'csv', 'json'] as const;

async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

function common(c: Command): Command {
  return c
    .option('--category <name=regex>', 'categorise kernels whose name matches regex as name (before the built-in rules); repeatable', collect)
    .option('--step <regex>', 'step annotations (default: ProfilerStep#N, else a family of numbered annotations)')
    .option('--profile-id <id>', 'which profile to read when a directory has several (default: the newest)')
    .option('--drop-suspect', 'leave device activities whose duration cannot be real out of the tables')
    .option('--capture <dir|file>', 'capture trace(s) of the CUDA/HIP graphs the trace replays; repeatable', collect)
    .option('--mapping <trace>', 'a graph-off run of the same workload: attributes graph replays by kernel sequence; repeatable', collect)
    .option('--library <regex>', 'Python frames that count as library code, never as the source')
    .option('-q, --quiet', 'no notes or progress on stderr');
}

function exportOptions(o: CommonCliOptions, label: string): { opts: ExportOptions; stop: () => void } {
  let bar: Progress | undefined;
  return {
    opts: {
      categories: o.category ?? [],
      ...(o.step !== undefined ? { step: o.step } : {}),
      ...(o.profileId !== undefined ? { profileId: o.profileId } : {}),
      ...(o.dropSuspect ? { dropSuspect: true } : {}),
      capture: o.capture ?? [], mapping: o.mapping ?? [], ...(o.library !== undefined ? { library: o.library } : {}),
      ...(o.quiet ? {} : { onProgress: (done: number, total: number) => { bar ??= progressBar(total, label); bar.update(done); } }),
    },
    stop: () => bar?.stop(),
  };
}

/** A query result as a report section (table and CSV renderers of `stats`). */
function sectionOf(r: SqlResult): Section {
  const numeric = r.columns.map((_, k) => r.rows.every((row) => row[k] === null || typeof row[k] === 'number'));
  return {
    view: 'summary', name: 'query', title: `${n(r.rows.length)} row${r.rows.length === 1 ? '' : 's'}`,
    columns: r.columns.map((c, k) => ({ title: c, key: c, align: numeric[k] ? 'right' : 'left', shrink: !numeric[k], min: 8 })),
    rows: r.rows.map((row) => row.map((v) => ({ text: v === null ? '' : String(v), value: typeof v === 'boolean' ? String(v) : v }))),
    notes: [],
  };
}

export function register(program: Command, run: (fn: () => Promise<CommandOutcome | void>) => Promise<void>): void {
  common(program
    .command('export')
    .description('Write the traces\' kernels, ops, ranks, steps, collectives and idle gaps as Parquet tables (docs/SCHEMA.md), Hive-partitioned by rank (DIR/kernels/rank=3/part-0.parquet); exporting a rank again replaces only its partitions. Read them with `traceforge sql`, DuckDB, Polars, Spark or Trino.')
    .argument('<inputs...>', 'a trace, a directory of rank traces, several files or globs, a merged trace, or torch_npu *_ascend_pt directories')
    .requiredOption('-o, --output <dir>', 'dataset directory (created; other ranks\' partitions in it are kept)'))
    .action((inputs: string[], o: CommonCliOptions & { output: string }) => run(async () => {
      const { exportTraces } = await import('../../pipeline/export.js');
      const { opts, stop } = exportOptions(o, 'export');
      const r = await exportTraces(inputs, o.output, opts).finally(stop);
      if (!o.quiet) for (const note of r.notes) process.stderr.write(`note: ${note}\n`);
      for (const x of r.ranks) {
        const size = x.tables.reduce((a, t) => a + t.bytes, 0);
        const rows = x.tables.map((t) => `${n(t.rows)} ${t.name}`).join(', ');
        await write(`rank=${x.rank} (${x.label || x.file}): ${rows}; ${bytes(size)}\n`);
      }
      await write(`wrote ${r.dir} (${r.ranks.length} rank${r.ranks.length === 1 ? '' : 's'}); query it: traceforge sql "SELECT ... FROM kernels" ${r.dir}\n`);
    }));

  common(program
    .command('sql')
    .description('Run SQL (DuckDB) over an exported dataset, or over traces (exported to a temporary dataset first). Tables: kernels, ops, ranks, steps, collectives, idle (docs/SCHEMA.md); each has the partition column rank.')
    .argument('<query>', 'the SQL query, e.g. "SELECT name, sum(dur_ns) FROM kernels GROUP BY ALL ORDER BY 2 DESC LIMIT 10"')
    .argument('<inputs...>', 'a dataset directory written by export, or traces as for export')
    .option('--format <fmt>', `output: ${FORMATS.join(', ')}`, 'table')
    .option('--width <n>', 'table width (default: the terminal width, or 100)'))
    .action((query: string, inputs: string[], o: CommonCliOptions & { format: string; width?: string }) => run(async () => {
      const format = o.format.toLowerCase();
      if (!(FORMATS as readonly string[]).includes(format)) throw new TraceforgeError('E_USAGE', `--format takes ${FORMATS.join(', ')}, not ${o.format}`);
      const width = parseWidth(o.width);
      const [{ sqlQuery }, { renderTables }, { renderCsvSection }] = await Promise.all([
        import('../../pipeline/sql.js'), import('../../report/table.js'), import('../../report/csv.js'),
      ]);
      const { opts, stop } = exportOptions(o, 'export');
      const r = await sqlQuery(query, inputs, opts).finally(stop);
      if (!o.quiet) for (const note of r.notes) process.stderr.write(`note: ${note}\n`);
      if (format === 'json') {
        await write(`${JSON.stringify(r.rows.map((row) => Object.fromEntries(r.columns.map((c, k) => [c, row[k] ?? null]))), null, 2)}\n`);
        return;
      }
      const sec = sectionOf(r);
      await write(format === 'csv' ? renderCsvSection(sec) : renderTables([sec], width));
    }));
}
