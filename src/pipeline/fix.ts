/**
 * `fix`: two streaming passes over one trace. Pass 1 indexes slices and flows (a few bytes per
 * event); the lane plan is computed; pass 2 copies the input bytes as they are, patching only the
 * tid of the moved events and inserting the metadata that names and orders the new tracks.
 * Pass 2 does not parse JSON at all, so it runs at the speed of gunzip + gzip.
 */
import { scanFile } from '../io/read.js';
import { OutputFile } from '../io/writer.js';
import { spliceCopy } from '../io/splice.js';
import { TraceIndex } from '../formats/trace-index.js';
import { lanePatches, planLanes, type FixSummary } from '../transforms/fix-plan.js';
import type { Diagnostics } from '../model/diagnostics.js';
import { rereadable } from './spool.js';
import { siblingOutput } from './names.js';

export interface FixOptions {
  /** Output path (`-` for stdout). Default: `<stem>.fixed.json.gz` next to the input. */
  output?: string;
  gzipLevel?: number;
  inPlace?: boolean;
  /** Progress callback: pass (1 or 2), compressed bytes read in this pass. */
  onProgress?: (pass: number, compressedBytes: number) => void;
}

export interface FixResult {
  input: string;
  output: string;
  /** Compressed size of the output (bytes written for stdout). */
  outputBytes: number;
  inputBytes: number;
  events: number;
  summary: FixSummary;
  diagnostics: Diagnostics;
}

export function defaultFixOutput(input: string): string {
  return input === '-' ? '-' : siblingOutput(input, 'fixed');
}

export async function fixTrace(input: string, opts: FixOptions = {}): Promise<FixResult> {
  const name = input === '-' ? '<stdin>' : input;
  const output = opts.output ?? defaultFixOutput(input);
  const src = await rereadable(input);
  try {
    const index = new TraceIndex(name);
    const p1 = await scanFile(src.path, index, { afterChunk: (_b, c) => opts.onProgress?.(1, c) });
    const plan = planLanes(index);
    const patches = lanePatches(index, plan, p1.eventsClose, p1.events);
    const out = await OutputFile.open(output, { gzipLevel: opts.gzipLevel, inputs: [input], inPlace: opts.inPlace });
    try {
      await spliceCopy(src.path, patches, out, (c) => opts.onProgress?.(2, c));
      const outputBytes = await out.commit();
      for (let i = 0; i < plan.lanes.flowSlice.length; i++) {
        if (plan.lanes.flowSlice[i] === -1) index.diagnostics.add('flow_unbound');
      }
      return { input: name, output, outputBytes, inputBytes: p1.compressedBytes, events: p1.events, summary: plan.summary, diagnostics: index.diagnostics };
    } catch (e) {
      await out.abort();
      throw e;
    }
  } finally {
    await src.cleanup();
  }
}
