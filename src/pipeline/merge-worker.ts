/** Worker-thread entry: writes one rank's merged segment (`writeRankSegment`). */
import { parentPort } from 'node:worker_threads';
import { writeRankSegment, type SegmentRequest } from './merge-segment.js';
import { serveTask } from './workers.js';

serveTask(parentPort, (req: SegmentRequest, progress) => writeRankSegment(req, progress));
