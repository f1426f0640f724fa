/**
 * Writing Perfetto's native format (TrackEvent protobuf) from a Chrome-trace JSON file: the
 * overlap fix applied as lanes (child tracks), two streaming passes (see formats/perfetto-write).
 * `fix --format perfetto` runs it on the input; `merge --format perfetto` on the merged JSON.
 */
import { rm } from 'node:fs/promises';
import { scanFile } from '../io/read.js';
import { OutputFile } from '../io/writer.js';
import { perfettoConverter, type PerfettoSummary } from '../formats/perfetto-write.js';
import { Diagnostics } from '../model/diagnostics.js';
import { rereadable } from './spool.js';
import { existingParts, partPath, partWidth, type SplitResult } from './split.js';

// names and formats of outputs live in output-format.ts (light: the CLI loads them for every command)
export { isPerfettoName, outputFormat, perfettoName, perfettoSibling, type OutputFormat } from './output-format.js';

export interface PerfettoWriteOptions {
  gzipLevel?: number;
  /** Inputs the output may not overwrite. */
  inputs?: readonly string[];
  inPlace?: boolean;
  salvage?: boolean;
  onProgress?: (pass: number, compressedBytes: number) => void;
}

export interface PerfettoWriteResult {
  input: string;
  output: string;
  outputBytes: number;
  inputBytes: number;
  events: number;
  droppedBytes: number;
  perfetto: PerfettoSummary;
  diagnostics: Diagnostics;
}

export async function writePerfettoFile(input: string, output: string, opts: PerfettoWriteOptions = {}): Promise<PerfettoWriteResult> {
  const name = input === '-' ? '<stdin>' : input;
  const src = await rereadable(input);
  try {
    let out: OutputFile | undefined;
    const conv = perfettoConverter(name, { write: (b) => out!.write(b) });
    const p1 = await scanFile(src.path, conv.pass1, { salvage: opts.salvage ?? false, afterChunk: (_b, c) => opts.onProgress?.(1, c) });
    out = await OutputFile.open(output, { gzipLevel: opts.gzipLevel, inputs: opts.inputs ?? [input], inPlace: opts.inPlace });
    try {
      const p2 = conv.plan();
      await scanFile(src.path, p2, { salvage: true, afterChunk: async (_b, c) => { opts.onProgress?.(2, c); await out!.ready(); } });
      p2.finish();
      const outputBytes = await out.commit();
      const summary = conv.summary();
      if (summary.flowsUnbound > 0) conv.index.diagnostics.add('flow_unbound', undefined, summary.flowsUnbound);
      return { input: name, output, outputBytes, inputBytes: p1.compressedBytes, events: p1.events, droppedBytes: p1.droppedBytes, perfetto: summary, diagnostics: conv.index.diagnostics };
    } catch (e) {
      await out.abort();
      throw e;
    }
  } finally {
    await src.cleanup();
  }
}

/** What several Perfetto files (the parts of a split) hold together: counts added, lists merged. */
export function sumPerfettoSummaries(list: readonly PerfettoSummary[]): PerfettoSummary {
  const skipped: Record<string, number> = {};
  const byCategory = new Map<string, number>();
  const tracks = new Map<string, PerfettoSummary['fix']['tracks'][number]>();
  const out: PerfettoSummary = {
    slices: 0, instants: 0, counterValues: 0, flowEnds: 0, flowsUnbound: 0, tracks: 0, skipped, held: 0, internResets: 0,
    fix: { tracksTouched: 0, lanesAdded: 0, slicesMoved: 0, flowsMoved: 0, byCategory: [], tracks: [], suspect: { slices: 0, tracks: 0, flowsMoved: 0 } },
  };
  for (const s of list) {
    out.slices += s.slices; out.instants += s.instants; out.counterValues += s.counterValues; out.flowEnds += s.flowEnds;
    out.flowsUnbound += s.flowsUnbound; out.tracks += s.tracks; out.held += s.held; out.internResets += s.internResets;
    for (const [ph, n] of Object.entries(s.skipped)) skipped[ph] = (skipped[ph] ?? 0) + n;
    const f = s.fix;
    out.fix.lanesAdded += f.lanesAdded; out.fix.slicesMoved += f.slicesMoved; out.fix.flowsMoved += f.flowsMoved;
    out.fix.suspect.slices += f.suspect.slices; out.fix.suspect.tracks += f.suspect.tracks; out.fix.suspect.flowsMoved += f.suspect.flowsMoved;
    for (const c of f.byCategory) byCategory.set(c.category, (byCategory.get(c.category) ?? 0) + c.moved);
    for (const t of f.tracks) {
      const key = `${t.pid}\u0001${t.tid}`;
      const have = tracks.get(key);
      if (have) { have.lanes = Math.max(have.lanes, t.lanes); have.moved += t.moved; } else tracks.set(key, { ...t });
    }
  }
  out.fix.byCategory = [...byCategory].map(([category, moved]) => ({ category, moved })).sort((a, b) => b.moved - a.moved);
  out.fix.tracks = [...tracks.values()].sort((a, b) => b.moved - a.moved);
  out.fix.tracksTouched = out.fix.tracks.length;
  return out;
}

/** The Perfetto parts of a split: what was written, and what the parts hold together. */
export interface PerfettoParts {
  split: SplitResult;
  converted: PerfettoWriteResult[];
  perfetto: PerfettoSummary;
  /** The diagnostics of every conversion. */
  diagnostics: Diagnostics;
  outputBytes: number;
}

/**
 * Converts the JSON parts of a split (`fix` / `merge --split --format perfetto`), each into the
 * Perfetto part of the same number named after `output`, removing each JSON part once converted.
 * All or none: a failed conversion removes the Perfetto parts already written.
 */
export async function convertParts(json: SplitResult, output: string, opts: { gzipLevel?: number | undefined; inputs: readonly string[] }, onPart?: (k: number) => void): Promise<PerfettoParts> {
  const width = partWidth(json.parts.length);
  const converted: PerfettoWriteResult[] = [];
  try {
    for (const [k, part] of json.parts.entries()) {
      converted.push(await writePerfettoFile(part.path, partPath(output, k, width), { ...(opts.gzipLevel !== undefined ? { gzipLevel: opts.gzipLevel } : {}), inputs: opts.inputs }));
      await rm(part.path, { force: true });
      onPart?.(k);
    }
  } catch (e) {
    await Promise.all(converted.map((c) => rm(c.output, { force: true })));
    throw e;
  }
  const diagnostics = new Diagnostics();
  for (const c of converted) diagnostics.merge(c.diagnostics);
  const parts = json.parts.map((p, k) => ({ ...p, path: converted[k]!.output, bytes: converted[k]!.outputBytes }));
  const written = new Set(parts.map((p) => p.path));
  return {
    split: { ...json, parts, diagnostics: new Diagnostics(), stale: existingParts(output, written).map((x) => x.path) },
    converted, perfetto: sumPerfettoSummaries(converted.map((c) => c.perfetto)), diagnostics,
    outputBytes: parts.reduce((n, p) => n + p.bytes, 0),
  };
}
