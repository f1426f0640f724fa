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
import { lanePatches, planLanes, renderMeta, type FixSummary, type LanePlan } from '../transforms/fix-plan.js';
import { LaneRewriter } from '../transforms/lane-rewrite.js';
import { Normalizer } from '../transforms/normalize.js';
import { TraceWriter, type Patch } from '../io/trace-writer.js';
import type { TopLevelEntry, TraceShape } from '../io/scanner.js';
import { KIND_FLOW, eventKind } from '../formats/trace-index.js';
import { TimeBase } from '../model/time.js';
import { TraceforgeError } from '../errors.js';
import type { Diagnostics } from '../model/diagnostics.js';
import { rereadable } from './spool.js';
import { siblingOutput } from './names.js';
import { convertParts, outputFormat, perfettoSibling, writePerfettoFile, type OutputFormat } from './perfetto.js';
import type { PerfettoSummary } from '../formats/perfetto-write.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { splitTrace, type SplitResult, type SplitSpec } from './split.js';
import { estimateUiLoadBeforeWriting, noteUiLoad, PERFETTO_UI_MEMORY_BYTES, type UiLoadEstimate } from './ui-load.js';
import { fileSize } from '../io/source.js';

export interface FixOptions {
  /** Output path (`-` for stdout). Default: `<stem>.fixed.json.gz` next to the input. */
  output?: string;
  gzipLevel?: number;
  inPlace?: boolean;
  /** Accept a trace cut off inside its events array: keep the complete events. */
  salvage?: boolean;
  /** Progress callback: pass (1 or 2), compressed bytes read in this pass. */
  onProgress?: (pass: number, compressedBytes: number) => void;
  /**
   * `perfetto`: write Perfetto's native TrackEvent protobuf (lanes as child tracks) instead of
   * JSON. Default: by the output's name (`.pftrace`, `.perfetto-trace`, optionally `.gz`), else JSON.
   */
  format?: OutputFormat;
  /**
   * Write one file per window instead of one file (`<stem>-part-NN<ext>`, see pipeline/split.ts):
   * `steps:N` steps per part, or `time:MS` ms per part.
   */
  split?: SplitSpec;
  /** With `split` by steps: the step annotations (`--step REGEX`); default: found as `stats` finds them. */
  step?: RegExp;
  /**
   * Memory the Perfetto UI is assumed to have, for the load estimate of a JSON output (default
   * PERFETTO_UI_MEMORY_BYTES; see pipeline/ui-load.ts). Tests set it small.
   */
  uiMemoryBytes?: number;
  /**
   * Called after pass 1, before the output is written, when the JSON output (about the input's
   * decompressed size) will probably not fit the Perfetto UI: the user can stop and split.
   */
  onUiEstimate?: (estimate: UiLoadEstimate) => void;
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
  /** Bytes dropped after the last complete event (with salvage). */
  droppedBytes: number;
  /** When timestamps were made relative: the output's baseTimeNanoseconds. */
  timeBaseNs?: string;
  /** For Perfetto output: what was written. */
  perfetto?: PerfettoSummary;
  /** With `split`: the parts (`output` is then the name they were derived from, never written). */
  split?: SplitResult;
  /** JSON output (not split): the estimate of the Perfetto UI's memory for it. */
  ui?: UiLoadEstimate;
}

export function defaultFixOutput(input: string, format: OutputFormat = 'json'): string {
  if (input === '-') return '-';
  return format === 'perfetto' ? perfettoSibling(input, 'fixed') : siblingOutput(input, 'fixed');
}

export async function fixTrace(input: string, opts: FixOptions = {}): Promise<FixResult> {
  const name = input === '-' ? '<stdin>' : input;
  const format = outputFormat(opts.format, opts.output);
  const output = opts.output ?? defaultFixOutput(input, format);
  if (opts.split) return fixAndSplit(input, output, format, opts.split, opts);
  if (format === 'perfetto') {
    const r = await writePerfettoFile(input, output, { gzipLevel: opts.gzipLevel, inPlace: opts.inPlace, salvage: opts.salvage, onProgress: opts.onProgress });
    return {
      input: r.input, output, outputBytes: r.outputBytes, inputBytes: r.inputBytes, events: r.events, summary: r.perfetto.fix,
      diagnostics: r.diagnostics, droppedBytes: r.droppedBytes, perfetto: r.perfetto,
    };
  }
  const src = await rereadable(input);
  try {
    const index = new TraceIndex(name, { keep: { category: true, tidSpans: true } });
    const p1 = await scanFile(src.path, index, { salvage: opts.salvage ?? false, afterChunk: (_b, c) => opts.onProgress?.(1, c) });
    const plan = planLanes(index);
    // Traces with string timestamps or unsafe flow ids (torch_npu), or salvaged ones, need every
    // event rewritten; all others are copied byte for byte with a few patches.
    const normalize = index.stringTs || index.unsafeFlowIds;
    const before = estimateUiLoadBeforeWriting(p1.bytes, opts.uiMemoryBytes ?? PERFETTO_UI_MEMORY_BYTES);
    if (!before.fits) opts.onUiEstimate?.(before);
    const out = await OutputFile.open(output, { gzipLevel: opts.gzipLevel, inputs: [input], inPlace: opts.inPlace });
    try {
      if (normalize || p1.droppedBytes > 0) {
        await rewriteCopy(src.path, index, plan, p1.shape, normalize, out, opts);
      } else {
        await spliceCopy(src.path, lanePatches(index, plan, p1.eventsClose, p1.events), out, (c) => opts.onProgress?.(2, c));
      }
      const jsonBytes = out.bytesWritten;
      const outputBytes = await out.commit();
      for (let i = 0; i < plan.lanes.flowSlice.length; i++) {
        if (plan.lanes.flowSlice[i] === -1) index.diagnostics.add('flow_unbound');
      }
      const ui = noteUiLoad(output === '-' ? '<stdout>' : output, jsonBytes, index.diagnostics, opts.uiMemoryBytes ?? PERFETTO_UI_MEMORY_BYTES);
      return {
        input: name, output, outputBytes, inputBytes: p1.compressedBytes, events: p1.events, summary: plan.summary, diagnostics: index.diagnostics,
        droppedBytes: p1.droppedBytes, ui,
        ...(normalize ? { timeBaseNs: (BigInt(index.time.baseUs ?? 0) * 1000n).toString() } : {}),
      };
    } catch (e) {
      await out.abort();
      throw e;
    }
  } finally {
    await src.cleanup();
  }
}

/**
 * `fix --split`: JSON — the fix into a scratch file beside the output (plain JSON: it is read
 * twice and compressed only once, as parts), then that file cut into parts (pipeline/split.ts):
 * each part's events are the bytes the unsplit output has. Perfetto — the input cut into JSON
 * parts first, each part then converted with the fix as lanes, as `fix --format perfetto` does.
 */
async function fixAndSplit(input: string, output: string, format: OutputFormat, spec: SplitSpec, opts: FixOptions): Promise<FixResult> {
  if (output === '-') throw new TraceforgeError('E_USAGE', '--split writes one file per part: give an output file name (-o), not stdout');
  if (opts.inPlace) throw new TraceforgeError('E_USAGE', '--in-place cannot be combined with --split: the parts are new files beside the output');
  const scratch = await mkdtemp(join(dirname(resolve(output)), '.traceforge-split-'));
  const src = await rereadable(input);
  try {
    const splitOpts = {
      ...(opts.step ? { step: opts.step } : {}),
      ...(opts.uiMemoryBytes !== undefined ? { uiMemoryBytes: opts.uiMemoryBytes } : {}),
    };
    if (format === 'json') {
      const whole = join(scratch, 'whole.json');
      const r = await fixTrace(src.path, { salvage: opts.salvage, output: whole, format: 'json', uiMemoryBytes: Infinity, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
      const size = r.inputBytes;
      const s = await splitTrace(whole, output, spec, {
        ...splitOpts, inputs: [input], ...(opts.gzipLevel !== undefined ? { gzipLevel: opts.gzipLevel } : {}),
        onProgress: (pass, done, total) => opts.onProgress?.(2 + pass, total > 0 ? Math.round((done / total) * size) : 0),
      });
      r.diagnostics.merge(s.diagnostics);
      const { ui: _ui, ...rest } = r;
      return { ...rest, input: input === '-' ? '<stdin>' : input, output, outputBytes: s.parts.reduce((n, p) => n + p.bytes, 0), split: s };
    }
    // Perfetto: JSON parts of the input (as it is), then each converted with the fix
    const size = fileSize(src.path);
    const jsonParts = await splitTrace(src.path, join(scratch, 'part.json'), spec, {
      ...splitOpts, inputs: [input], gzipLevel: 0, salvage: opts.salvage ?? false,
      onProgress: (pass, done, total) => opts.onProgress?.(pass, total > 0 ? Math.round((done / total) * size) : 0),
    });
    const pf = await convertParts(jsonParts, output, { gzipLevel: opts.gzipLevel, inputs: [input] },
      (k) => opts.onProgress?.(3, Math.round((2 * size * (k + 1)) / jsonParts.parts.length)));
    return {
      input: input === '-' ? '<stdin>' : input, output, outputBytes: pf.outputBytes,
      inputBytes: size, events: jsonParts.metadata + jsonParts.events, summary: pf.perfetto.fix, diagnostics: pf.diagnostics,
      droppedBytes: 0, perfetto: pf.perfetto, split: pf.split,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await src.cleanup();
  }
}

/**
 * The full-rewrite second pass: every event goes through the scanner and is written with its
 * patches (lane tids, sort indices, relative numeric ts, renumbered flow ids). Used for torch_npu
 * traces and for salvaged (truncated) ones; the output is always the object form.
 */
async function rewriteCopy(path: string, index: TraceIndex, plan: LanePlan, shape: TraceShape, normalize: boolean, out: OutputFile, opts: FixOptions): Promise<void> {
  const baseUs = BigInt(index.time.baseUs ?? 0);
  const norm = new Normalizer({ shiftNs: normalize ? -baseUs * 1000n : 0n, unquote: normalize, renumberFlows: normalize && index.unsafeFlowIds });
  const w = new TraceWriter(out, 'object');
  const header: (TopLevelEntry | string)[] = [...index.header];
  if (normalize) {
    const existing = index.header.find((h) => h.key === 'baseTimeNanoseconds');
    if (existing) throw new TraceforgeError('E_PARSE', `${index.file}: string timestamps together with baseTimeNanoseconds are not supported`, index.file);
    header.push(`"baseTimeNanoseconds": ${(baseUs * 1000n).toString()}`);
    header.push(`"traceforge": ${JSON.stringify({ note: 'ts made relative to baseTimeNanoseconds (was epoch microseconds)' + (index.unsafeFlowIds ? '; flow ids renumbered (were above 2^53)' : ''), from: shape === 'array' ? 'bare array' : 'object' })}`);
  }
  w.begin(header);
  const lanes = new LaneRewriter(index, plan);
  const patches: Patch[] = [];
  const time = new TimeBase();
  await scanFile(path, {
    event(ev) {
      patches.length = 0;
      const kind = eventKind(ev, time);
      lanes.patches(ev, kind, patches);
      if (norm.active) norm.patches(ev, kind === KIND_FLOW, patches);
      if (patches.length > 1) patches.sort((a, b) => a.start - b.start);
      w.event(ev.buf, ev.start, ev.end, patches);
    },
  }, { salvage: true, afterChunk: async (_b, c) => { opts.onProgress?.(2, c); await out.ready(); } });
  for (const m of plan.extraMetadata) w.eventText(renderMeta(m));
  w.end(index.trailer);
}
