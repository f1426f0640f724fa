/** Runs pass 1 of several ranks in parallel on worker threads (one file per worker at a time). */
import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import { TraceforgeError } from '../errors.js';
import { indexRank, type RankIndexOptions, type RankScan } from './rank-index.js';
import { pool, runInWorker, type TaskOutcome } from './workers.js';

export type IndexOutcome = TaskOutcome<RankScan>;

/** Memory pass 1 may use at once across ranks, in bytes (merge keeps ≤ 400 MB in all). */
export const DEFAULT_INDEX_BUDGET = 300e6;
const INDEX_BYTES_PER_GZ_BYTE = 2.5;

/**
 * Indexes every file; results in input order. Errors that are the input's fault come back as
 * values so the caller can name the file (or skip it with --skip-bad).
 */
export interface IndexFile { path: string; name: string; patchLog?: string; recordIds?: boolean }

/** How many ranks pass 1 may index at once within `memoryBudget` bytes (at least 1, at most the cores). */
export function indexConcurrency(paths: readonly string[], memoryBudget = DEFAULT_INDEX_BUDGET): number {
  // Pass 1 of a rank holds ~20 bytes per slice in typed arrays: about 2.5 bytes per byte of gzip
  // input (measured on the tiled 1 GB bench ranks). Run as many at once as fit the budget.
  const perRank = Math.max(...paths.map((p) => { try { return statSync(p).size * INDEX_BYTES_PER_GZ_BYTE; } catch { return 0; } }), 1);
  return Math.max(1, Math.min(availableParallelism(), Math.floor(memoryBudget / perRank)));
}

/** Pass 1 of one file: in this thread (`inProcess`) or on a worker thread. */
export function indexOne(f: IndexFile, opts: RankIndexOptions, inProcess: boolean): Promise<IndexOutcome> {
  const fileOpts: RankIndexOptions = f.patchLog !== undefined ? { ...opts, patchLog: f.patchLog, ...(f.recordIds !== undefined ? { recordIds: f.recordIds } : {}) } : opts;
  return inProcess
    ? indexRank(f.path, f.name, fileOpts).then((ok) => ({ ok }), (e: unknown) => {
      if (e instanceof TraceforgeError) return { error: e };
      throw e;
    })
    : runInWorker<RankScan>(new URL('./index-worker.js', import.meta.url), { path: f.path, name: f.name, opts: fileOpts });
}

/**
 * Indexes every file; results in input order. Errors that are the input's fault come back as
 * values so the caller can name the file (or skip it with --skip-bad).
 */
export async function indexAll(files: IndexFile[], opts: RankIndexOptions, onDone?: (i: number) => void, memoryBudget = DEFAULT_INDEX_BUDGET): Promise<IndexOutcome[]> {
  const limit = indexConcurrency(files.map((f) => f.path), memoryBudget);
  return pool(files.length, limit, async (i) => {
    const r = await indexOne(files[i]!, opts, files.length === 1);
    onDone?.(i);
    return r;
  });
}
