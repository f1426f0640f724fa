/**
 * torch_npu (Ascend) profile directories: `{worker}_{timestamp}_ascend_pt/` with
 * `profiler_info_{rank}.json` and `ASCEND_PROFILER_OUTPUT/trace_view.json` (FORMATS.md §2).
 * Any of the three — the directory, its ASCEND_PROFILER_OUTPUT, or trace_view.json — is
 * accepted wherever a trace is.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TraceforgeError } from '../errors.js';

export interface AscendProfile {
  /** The `*_ascend_pt` directory (or the closest directory we know). */
  root: string;
  trace: string;
  /** ASCEND_PROFILER_OUTPUT directory. */
  output: string;
  rank: number | null;
  /** `Level0`, `Level1`, `Level2` from profiler_info, when recorded. */
  level: string | null;
}

function isDir(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

function isFile(p: string): boolean {
  try { return statSync(p).isFile(); } catch { return false; }
}

/** The Ascend profile a path points into, or undefined when it is not one. */
export function ascendProfileOf(path: string): AscendProfile | undefined {
  let output: string | undefined;
  if (isDir(path)) {
    if (isFile(join(path, 'ASCEND_PROFILER_OUTPUT', 'trace_view.json'))) output = join(path, 'ASCEND_PROFILER_OUTPUT');
    else if (basename(path) === 'ASCEND_PROFILER_OUTPUT' && isFile(join(path, 'trace_view.json'))) output = path;
    else if (/_ascend_pt$/.test(basename(path))) {
      throw new TraceforgeError('E_INPUT', `${path}: an Ascend profile directory without ASCEND_PROFILER_OUTPUT/trace_view.json (was the profile parsed? torch_npu writes it at the end of the run)`, path);
    }
  } else if (basename(path) === 'trace_view.json') {
    output = dirname(path);
  }
  if (output === undefined) return undefined;
  const root = basename(output) === 'ASCEND_PROFILER_OUTPUT' ? dirname(output) : output;
  const info = readProfilerInfo(root);
  return { root, trace: join(output, 'trace_view.json'), output, rank: info.rank, level: info.level };
}

/** rank_id (string or int) and profiler level from `profiler_info_{N}.json` / `profiler_info.json`. */
export function readProfilerInfo(root: string): { rank: number | null; level: string | null } {
  let files: string[] = [];
  try { files = readdirSync(root).filter((f) => /^profiler_info(_\d+)?\.json$/.test(f)); } catch { /* none */ }
  for (const f of files) {
    try {
      const j = JSON.parse(readFileSync(join(root, f), 'utf8')) as { rank_id?: unknown; config?: { experimental_config?: { _profiler_level?: unknown } } };
      const r = j.rank_id;
      const rank = typeof r === 'number' ? r : typeof r === 'string' && /^-?\d+$/.test(r) ? Number(r) : null;
      const lv = j.config?.experimental_config?._profiler_level;
      const fromName = /_(\d+)\.json$/.exec(f);
      return { rank: rank !== null && rank >= 0 ? rank : fromName ? Number(fromName[1]) : null, level: typeof lv === 'string' ? lv : null };
    } catch { /* try the next one */ }
  }
  return { rank: null, level: null };
}

/** The trace file to read for a user-given path (Ascend directories resolve to trace_view.json). */
export function resolveTracePath(path: string): string {
  if (path === '-') return path;
  return ascendProfileOf(path)?.trace ?? path;
}
