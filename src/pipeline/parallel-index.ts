/** Runs pass 1 of several ranks in parallel on worker threads (one file per worker at a time). */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { TraceforgeError, type ErrorCode } from '../errors.js';
import { indexRank, type RankIndexOptions, type RankScan } from './rank-index.js';

export type IndexOutcome = { ok: RankScan } | { error: TraceforgeError };

interface WorkerReply {
  ok?: RankScan;
  error?: { code: string; message: string; file?: string; offset?: number };
}

function runInWorker(path: string, name: string, opts: RankIndexOptions): Promise<IndexOutcome> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./index-worker.js', import.meta.url));
    w.once('message', (m: WorkerReply) => {
      void w.terminate();
      if (m.ok) resolve({ ok: m.ok });
      else if (m.error && m.error.code !== 'BUG') resolve({ error: new TraceforgeError(m.error.code as ErrorCode, m.error.message, m.error.file, m.error.offset) });
      else reject(new Error(m.error?.message ?? 'worker failed'));
    });
    w.once('error', reject);
    w.postMessage({ path, name, opts });
  });
}

/**
 * Indexes every file; results in input order. Errors that are the input's fault come back as
 * values so the caller can name the file (or skip it with --skip-bad).
 */
export async function indexAll(files: { path: string; name: string }[], opts: RankIndexOptions, onDone?: (i: number) => void): Promise<IndexOutcome[]> {
  const limit = Math.max(1, Math.min(files.length, availableParallelism()));
  const out: IndexOutcome[] = new Array(files.length);
  let next = 0;
  const inline = files.length === 1;
  const lane = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      const f = files[i]!;
      out[i] = inline
        ? await indexRank(f.path, f.name, opts).then((ok) => ({ ok }), (e: unknown) => {
          if (e instanceof TraceforgeError) return { error: e };
          throw e;
        })
        : await runInWorker(f.path, f.name, opts);
      onDone?.(i);
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
  return out;
}
