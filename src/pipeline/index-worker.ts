/** Worker-thread entry: runs pass 1 (`indexRank`) for one rank and posts the result back. */
import { parentPort } from 'node:worker_threads';
import { indexRank, type RankIndexOptions } from './rank-index.js';
import { serveTask } from './workers.js';

export interface IndexRequest { path: string; name: string; opts: RankIndexOptions }

serveTask(parentPort, (req: IndexRequest) => indexRank(req.path, req.name, req.opts));
