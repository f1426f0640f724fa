/** `traceforge check <trace>...`: what Perfetto would drop, suspect durations, dangling flows, unsorted tracks. */
import type { Command } from 'commander';
import { checkTrace, type CheckResult } from '../../pipeline/check.js';
import { formatDiagnostics } from '../../model/diagnostics.js';
import { n } from '../format.js';
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { resolveTracePath } from '../../formats/ascend.js';
import { discoverInputs, notTracesNote } from '../../formats/discover.js';
import { isAscendProfileDirName } from '../../formats/filenames.js';
import type { CommandOutcome } from '../main.js';

function human(r: CheckResult): string {
  const lines = [`${r.file}: ${n(r.events)} events, ${n(r.slices)} complete events, ${n(r.flows)} flow events — ${r.clean ? 'clean' : 'problems found'}`];
  for (const t of r.tracks.slice(0, 10)) {
    const what = [t.nonNesting > 0 ? `${n(t.nonNesting)} of ${n(t.slices)} slices do not nest` : '', t.unsorted ? 'not sorted by ts' : ''].filter(Boolean).join('; ');
    lines.push(`  pid ${t.pid} tid ${t.tid} "${t.name}": ${what}`);
  }
  if (r.tracks.length > 10) lines.push(`  ... and ${r.tracks.length - 10} more tracks`);
  if (!r.diagnostics.isEmpty) lines.push(formatDiagnostics(r.diagnostics));
  if (r.suspectDurations > 0) lines.push(`  ${n(r.suspectDurations)} device slice(s) with a duration that cannot be real (suspect_device_duration): not to be trusted in timings; fix shows them on a "(suspect duration)" track`);
  if (r.nonNesting > 0 || r.suspectDurations > 0) lines.push(`  fix: traceforge fix ${r.file}`);
  return lines.join('\n');
}

/** A directory of ranks stands for its traces (found as merge and stats find them); notes to stderr. */
async function expand(t: string): Promise<string[]> {
  let dir = false;
  try { dir = t !== '-' && statSync(t).isDirectory(); } catch { /* the reader says what is wrong */ }
  if (!dir || isAscendProfileDirName(basename(t))) return [t];
  const found = await discoverInputs([t]);
  for (const note of [found.profileChoice?.message, notTracesNote(found)]) if (note) process.stderr.write(`note: ${note}\n`);
  return [...found.groups.flatMap((g) => g.files.map((f) => f.path)), ...found.loose.map((l) => l.path)];
}

export function register(program: Command, run: (fn: () => Promise<CommandOutcome | void>) => Promise<void>): void {
  program
    .command('check')
    .description('Report complete events that do not nest (Perfetto drops or spills them), device slices whose duration cannot be real, flows missing an end, unsorted tracks and events missing fields. Exit 0 clean, 1 problems, 2 error.')
    .argument('<trace...>', 'trace files (.json / .json.gz), torch_npu *_ascend_pt directories, directories of ranks, or - for stdin')
    .option('--json', 'machine-readable output')
    .action((traces: string[], o: { json?: boolean }) => run(async () => {
      const results: CheckResult[] = [];
      for (const arg of traces) for (const t of await expand(arg)) results.push(await checkTrace(resolveTracePath(t, 'check')));
      if (o.json) {
        process.stdout.write(JSON.stringify(results.map((r) => ({ ...r, diagnostics: r.diagnostics.list() })), null, 2) + '\n');
      } else {
        process.stdout.write(results.map(human).join('\n') + '\n');
      }
      return { exitCode: results.every((r) => r.clean) ? 0 : 1 };
    }));
}
