/** Worker-thread entry: runs pass 1 (`indexRank`) for one rank and posts the result back. */
import { parentPort } from 'node:worker_threads';
import { indexRank, type RankIndexOptions } from './rank-index.js';
import { isTraceforgeError } from '../errors.js';

export interface IndexRequest { path: string; name: string; opts: RankIndexOptions }

parentPort?.on('message', (req: IndexRequest) => {
  indexRank(req.path, req.name, req.opts).then(
    (scan) => parentPort!.postMessage({ ok: scan }),
    (e: unknown) => parentPort!.postMessage({
      error: isTraceforgeError(e)
        ? { code: e.code, message: e.message, file: e.file, offset: e.offset }
        : { code: 'BUG', message: e instanceof Error ? e.stack ?? e.message : String(e) },
    }),
  );
});
