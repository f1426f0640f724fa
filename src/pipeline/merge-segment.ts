/**
 * Pass 2 of `merge` for one rank, written as a segment (raw deflate blocks, or plain JSON) that
 * the main thread splices into the output: the events of the rank, each preceded by its
 * separator, with their merged identity (see MergeRewriter), then the rank's added metadata.
 * Runs on a worker thread, so ranks are rewritten and compressed in parallel.
 */
import { scanFile } from '../io/read.js';
import { OutputFile, type SegmentInfo } from '../io/writer.js';
import { TraceWriter, type Patch } from '../io/trace-writer.js';
import { MergeRewriter, type TrackFilter } from '../transforms/merge-rewrite.js';
import type { RankPlan } from '../transforms/merge-plan.js';
import { nameMatcher, type NameFilter } from './rank-index.js';

export interface SegmentRequest {
  plan: RankPlan;
  tracks: TrackFilter;
  window?: [number, number];
  names?: NameFilter;
  /** Segment file (a `.gz` name gives raw deflate). */
  path: string;
  gzipLevel?: number;
}

export interface SegmentResult {
  segment: SegmentInfo;
  /** Input events kept by the filters. */
  kept: number;
  /** Events written (kept + added metadata). */
  written: number;
}

export async function writeRankSegment(req: SegmentRequest, progress?: (compressedBytes: number) => void): Promise<SegmentResult> {
  const out = await OutputFile.open(req.path, { segment: true, ...(req.gzipLevel !== undefined ? { gzipLevel: req.gzipLevel } : {}) });
  try {
    const match = nameMatcher(req.names);
    const rw = new MergeRewriter(req.plan, { tracks: req.tracks, ...(req.window ? { window: req.window } : {}), ...(match ? { match } : {}) });
    const w = new TraceWriter(out, 'object');
    const patches: Patch[] = [];
    await scanFile(req.plan.scan.path, {
      event(ev) {
        patches.length = 0;
        if (rw.rewrite(ev, patches)) w.event(ev.buf, ev.start, ev.end, patches);
      },
    }, { afterChunk: async (_b, c) => { progress?.(c); await out.ready(); } });
    for (const e of rw.extraEvents()) w.eventText(e);
    await out.commit();
    return { segment: out.segmentInfo(), kept: rw.kept, written: w.events };
  } catch (e) {
    await out.abort();
    throw e;
  }
}
