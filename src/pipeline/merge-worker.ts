/** Worker-thread entry: writes one rank's merged segment (spliced, or rewritten event by event). */
import { parentPort } from 'node:worker_threads';
import { spliceRankSegment, writeRankSegment, type SegmentRequest } from './merge-segment.js';
import { serveTask } from './workers.js';

serveTask(parentPort, (req: SegmentRequest, progress) => (req.splice ? spliceRankSegment(req, progress) : writeRankSegment(req, progress)));
