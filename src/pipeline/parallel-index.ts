/** Runs pass 1 of several ranks in parallel on worker threads (one file per worker at a time). */
import { availableParallelism } from 'node:os';
import { TraceforgeError } from '../errors.js';
import { indexRank, type RankIndexOptions, type RankScan } from './rank-index.js';
import { pool, runInWorker, type TaskOutcome } from './workers.js';

export type IndexOutcome = TaskOutcome<RankScan>;

/**
 * Indexes every file; results in input order. Errors that are the input's fault come back as
 * values so the caller can name the file (or skip it with --skip-bad).
 */
export async function indexAll(files: { path: string; name: string }[], opts: RankIndexOptions, onDone?: (i: number) => void): Promise<IndexOutcome[]> {
  return pool(files.length, availableParallelism(), async (i) => {
    const f = files[i]!;
    const r: IndexOutcome = files.length === 1
      ? await indexRank(f.path, f.name, opts).then((ok) => ({ ok }), (e: unknown) => {
        if (e instanceof TraceforgeError) return { error: e };
        throw e;
      })
      : await runInWorker<RankScan>(new URL('./index-worker.js', import.meta.url), { path: f.path, name: f.name, opts });
    onDone?.(i);
    return r;
  });
}
