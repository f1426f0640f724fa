/** `traceforge info <dir|file>`: what a profile is (vendor, devices, level, ranks, steps, span, events, files). */
import type { Command } from 'commander';
import { infoOf, type InfoResult, type TraceInfo } from '../../pipeline/info.js';
import { bytes, n } from '../format.js';
import type { CommandOutcome } from '../main.js';

function top(rec: Record<string, number>, k: number): string {
  const e = Object.entries(rec);
  const shown = e.slice(0, k).map(([name, c]) => `${name} ${n(c)}`).join(', ');
  return e.length > k ? `${shown}, ... (${e.length - k} more)` : shown;
}

function steps(t: TraceInfo): string {
  const ids = t.steps.ids;
  if (ids.length === 0) return 'none found (no ProfilerStep#N, no family of numbered annotations)';
  const list = ids.length <= 8 ? ids.join(', ') : `${ids.slice(0, 4).join(', ')}, ..., ${ids.slice(-2).join(', ')}`;
  const from = t.steps.source === 'ProfilerStep' ? 'ProfilerStep#N annotations' : t.steps.source === 'annotations' ? `the numbered annotations ${t.steps.pattern ?? ''}` : t.steps.source;
  return `${ids.length} (${list}) from ${from}`;
}

function span(t: TraceInfo): string {
  if (!t.time) return 'no timestamps';
  const ms = t.time.spanUs / 1000;
  const when = t.time.startEpochNs !== null ? `, starting ${new Date(Number(BigInt(t.time.startEpochNs) / 1_000_000n)).toISOString()}` : '';
  return `${ms.toFixed(ms < 10 ? 3 : 1)} ms (ts ${t.time.firstTs} .. ${t.time.lastEnd} µs${when})`;
}

function human(r: InfoResult): string {
  const out: string[] = [];
  const first = r.traces[0];
  const kind = r.kind === 'ranks' ? `${r.traces.length} rank(s)` : r.kind === 'ascend-profile' ? 'torch_npu profile directory' : 'trace';
  out.push(`${r.input}: ${kind}, ${r.vendor}${first?.profilerLevel ? `, profiler level ${first.profilerLevel}` : ''}`);
  for (const t of r.traces) {
    out.push('');
    out.push(`${t.label}${t.rank !== null ? ` (rank ${t.rank})` : ''}: ${t.file}`);
    const row = (k: string, v: string): void => { out.push(`  ${k.padEnd(11)} ${v}`); };
    row('format', `${t.ascend?.db ? 'torch_npu Db export (SQLite), read as a trace_view.json-shaped conversion' : t.ascend?.partial ? 'torch_npu CSV / JSON files only (no trace)' : t.format === 'torch_npu' ? 'torch_npu trace_view.json' : 'Kineto (PyTorch profiler)'}, ${t.shape === 'array' ? 'bare array' : 'object'}, ${bytes(t.bytes)}${t.fileBytes !== t.bytes && t.fileBytes > 0 ? ` (${bytes(t.fileBytes)} on disk)` : ''}`);
    row('vendor', t.vendor);
    row('devices', t.devices.length > 0 ? t.devices.join(', ') : 'none described');
    if (t.profilerLevel !== null) row('level', t.profilerLevel);
    row('steps', steps(t));
    row('time', span(t));
    row('events', `${n(t.events.total)}: ${top(t.events.byPhase, 12)}`);
    row('categories', Object.keys(t.events.byCategory).length > 0 ? top(t.events.byCategory, 8) : 'none');
    const g = t.graphs;
    row('graphs', g.kind === 'eager' ? 'none (eager)' : g.kind === 'capture' ? `a capture trace (${n(g.captures)} stream capture(s))`
      : `replays CUDA graphs (${n(g.graphLaunches)} graph launches); capture traces next to it: ${g.captureFiles.length > 0 ? g.captureFiles.join(', ') : 'none (stats --capture / --mapping attribute the replays)'}`);
    const procs = t.processes.map((p) => p.name ?? p.labels ?? `pid ${p.pid === '' ? '""' : p.pid}`);
    row('processes', [...new Set(procs)].join(', '));
    if (t.ascend) {
      const a = t.ascend;
      if (a.db) row('db', `${a.db.file} (schema ${a.db.schemaVersion ?? 'not recorded'}; ${a.db.tables.length} tables: ${a.db.tables.filter((x) => !x.startsWith('ENUM_')).join(', ')})`);
      if (a.partial) row('partial', a.partial);
      row('shapes', a.hasShapes === null ? (a.db ? 'no COMPUTE_TASK_INFO' : 'no kernel_details.csv') : a.hasShapes ? `recorded (${a.db ? 'COMPUTE_TASK_INFO' : 'kernel_details.csv'}: ${n(a.kernels ?? 0)} device tasks)` : 'not recorded (Level0): profile with profiler_level=Level1 and record_shapes=True for operator shapes');
      row('files', a.files.map((f) => `${f.name}${f.dir ? '/' : ` ${bytes(f.bytes)}`}`).join(', '));
      row('directory', a.rootEntries.map((f) => f.name + (f.dir ? '/' : '')).join(', ') + (a.analyseDone ? '' : '  (no analyse.done)'));
    }
  }
  for (const note of r.notes) out.push(`note: ${note}`);
  return out.join('\n') + '\n';
}

export function register(program: Command, run: (fn: () => Promise<CommandOutcome | void>) => Promise<void>): void {
  program
    .command('info')
    .description('What a profile is: vendor (Ascend / NVIDIA / AMD), devices, profiler level, ranks, steps, time span, events by phase and category, and the files of a torch_npu profile directory. Streams through the traces.')
    .argument('<path>', 'a trace file, a torch_npu *_ascend_pt directory (or its ASCEND_PROFILER_OUTPUT / trace_view.json), or a directory of rank traces')
    .option('--json', 'machine-readable output')
    .action((path: string, o: { json?: boolean }) => run(async () => {
      const r = await infoOf(path);
      process.stdout.write(o.json ? JSON.stringify(r, null, 2) + '\n' : human(r));
    }));
}
