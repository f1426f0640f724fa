/**
 * torch_npu (Ascend) profile directories: `{worker}_{timestamp}_ascend_pt/` with
 * `profiler_info_{rank}.json` and `ASCEND_PROFILER_OUTPUT/trace_view.json` (FORMATS.md §2).
 * Any of the three — the directory, its ASCEND_PROFILER_OUTPUT, or trace_view.json — is
 * accepted wherever a trace is. So is the Db export (`ascend_pytorch_profiler_N.db`, the
 * directory holding it, or the file itself): its trace is converted once (formats/ascend-db.ts)
 * and `trace` points at the conversion. A directory with neither (CSV-only copies) is a
 * `partial` profile: `trace` is '' and only the views its files answer work.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TraceforgeError } from '../errors.js';
import { dbTracePath, findProfileDb } from './ascend-db.js';

export interface AscendProfile {
  /** The `*_ascend_pt` directory (or the closest directory we know). */
  root: string;
  trace: string;
  /** ASCEND_PROFILER_OUTPUT directory. */
  output: string;
  rank: number | null;
  /** `Level0`, `Level1`, `Level2` from profiler_info, when recorded. */
  level: string | null;
  /** The Db export's `.db` file, when the profile is one (`trace` is its converted trace). */
  db?: string;
  /** Neither trace_view.json nor a `.db`: `trace` is '' (only the CSV / JSON files are there). */
  partial?: boolean;
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
  let db: string | undefined;
  let partial = false;
  const hasTrace = (dir: string): boolean => isFile(join(dir, 'trace_view.json'));
  if (isDir(path)) {
    const inner = join(path, 'ASCEND_PROFILER_OUTPUT');
    const out = isDir(inner) ? inner : basename(path) === 'ASCEND_PROFILER_OUTPUT' ? path : undefined;
    if (out !== undefined && hasTrace(out)) output = out;
    else if (out !== undefined && (db = findProfileDb(out)) !== undefined) output = out;
    else if (out !== undefined && isDir(out)) { output = out; partial = true; }
    else if (/_ascend_pt$/.test(basename(path))) {
      throw new TraceforgeError('E_INPUT', `${path}: an Ascend profile directory without ASCEND_PROFILER_OUTPUT/ (was the profile parsed? torch_npu writes it at the end of the run)`, path);
    }
  } else if (basename(path) === 'trace_view.json') {
    output = dirname(path);
  } else if (/^ascend_pytorch_profiler(_\d+)?\.db$/.test(basename(path)) && isFile(path)) {
    output = dirname(path);
    db = path;
  }
  if (output === undefined) return undefined;
  const root = basename(output) === 'ASCEND_PROFILER_OUTPUT' ? dirname(output) : output;
  const info = readProfilerInfo(root);
  const base = { root, output, rank: info.rank, level: info.level };
  if (db !== undefined) return { ...base, trace: dbTracePath(db), db };
  if (partial) return { ...base, trace: '', partial: true };
  return { ...base, trace: join(output, 'trace_view.json') };
}

/** Why a partial profile cannot give a view that needs the device timeline (one line). */
export function partialMessage(p: AscendProfile, what: string): string {
  let files: string[] = [];
  try { files = readdirSync(p.output).sort(); } catch { /* none */ }
  return `${p.output}: no trace_view.json and no ascend_pytorch_profiler*.db (${what} needs the device timeline they hold); the directory has ${files.length > 0 ? files.join(', ') : 'no files'}`;
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
export function resolveTracePath(path: string, what = 'this command'): string {
  if (path === '-') return path;
  const p = ascendProfileOf(path);
  if (p?.partial) throw new TraceforgeError('E_INPUT', partialMessage(p, what), path);
  if (p) return p.trace ?? path;
  let dir = false;
  try { dir = statSync(path).isDirectory(); } catch { /* the reader says what is wrong */ }
  if (dir) throw new TraceforgeError('E_INPUT', `${path}: is a directory; ${what} takes trace files and torch_npu *_ascend_pt directories, not a directory of ranks (that is for merge, stats, report)`, path);
  return path;
}
