/**
 * Writing Perfetto's native format (TrackEvent protobuf) from a Chrome-trace JSON file: the
 * overlap fix applied as lanes (child tracks), two streaming passes (see formats/perfetto-write).
 * `fix --format perfetto` runs it on the input; `merge --format perfetto` on the merged JSON.
 */
import { basename, dirname, join } from 'node:path';
import { scanFile } from '../io/read.js';
import { OutputFile } from '../io/writer.js';
import { perfettoConverter, type PerfettoSummary } from '../formats/perfetto-write.js';
import type { Diagnostics } from '../model/diagnostics.js';
import { rereadable } from './spool.js';
import { traceStem } from './names.js';

export type OutputFormat = 'json' | 'perfetto';

/** `.pftrace`, `.perfetto-trace`, optionally `.gz`. */
export function isPerfettoName(path: string): boolean {
  return /\.(pftrace|perfetto-trace)(\.gz)?$/i.test(path);
}

/** The format asked for: explicit, else by the output's name, else JSON. */
export function outputFormat(format: string | undefined, output: string | undefined): OutputFormat {
  if (format !== undefined) {
    if (format !== 'json' && format !== 'perfetto') throw new Error(`--format takes json or perfetto, not ${format}`);
    return format;
  }
  return output !== undefined && isPerfettoName(output) ? 'perfetto' : 'json';
}

/** `dir/x.trace.json.gz` + `fixed` -> `dir/x.trace.fixed.pftrace`. */
export function perfettoSibling(input: string, suffix: string): string {
  return join(dirname(input), `${traceStem(input)}.${suffix}.pftrace`);
}

/** A JSON output name turned into the Perfetto one (`merged-1.trace.json.gz` -> `merged-1.pftrace`). */
export function perfettoName(jsonName: string): string {
  if (isPerfettoName(jsonName)) return jsonName;
  return join(dirname(jsonName), basename(jsonName).replace(/(\.trace)?(\.json)?(\.gz)?$/i, '') + '.pftrace');
}

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
