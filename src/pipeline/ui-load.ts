/**
 * Will the Perfetto UI load this JSON? An estimate of the memory its in-browser trace processor
 * needs for a Chrome-trace JSON file, against what a browser gives it.
 *
 * What is known (read in Perfetto's documentation and issue tracker):
 * - docs/visualization/large-traces.md ("How big is too big?"): "The exact memory limit can vary
 *   by browser, architecture, and OS however 2GB is typical. This limit is a limit on the total
 *   memory used at runtime, not on the binary size of the trace", and the runtime representation
 *   "is normally larger than the binary size of that trace … can be 2-4x for uncompressed proto
 *   traces"; the remedy it gives is `trace_processor --httpd` (native, all of the machine's RAM).
 * - google/perfetto#83: the wasm build failing with "Cannot enlarge memory, asked to go up to
 *   2147422208 bytes, but the limit is 2147418112 bytes" — the 2 GiB heap of the 32-bit build.
 *   google/perfetto#1490 (2025): a memory64 build exists on the autopush channel, none for
 *   Safari; the stable UI most users open is still bounded as above.
 * - golang/go#57315 (2022): Go's trace tool cuts its JSON into 100 MB pieces for the Perfetto
 *   UI; 500 MB pieces still loaded, 1000 MB pieces failed — i.e. for JSON the UI needed between
 *   2x and 4x the file size against its ~2 GB.
 * - google/perfetto#99: a 900 MB JSON trace crashed the UI (2021; JSON memory was reduced after).
 *
 * The estimate: uncompressed JSON bytes × JSON_MEMORY_FACTOR (3, the middle of the 2–4x the Go
 * data point brackets and of the documented proto inflation; for JSON trace processor also keeps
 * the text of every event until it has sorted the whole file, and stores each of a Kineto
 * event's ~10 args as a row of its own). The limit is PERFETTO_UI_MEMORY_BYTES (2 GiB). So a JSON
 * output above ~715 MB uncompressed gets the `perfetto_ui_memory` warning. It is an estimate,
 * meant to say "this will probably not open" before a user waits minutes for a crash — not a
 * promise that a smaller file opens (a browser with less memory, or other tabs, lower the limit).
 */
import type { Diagnostics } from '../model/diagnostics.js';

/** Memory the Perfetto UI's in-browser trace processor can use: the 2 GiB wasm heap ("2GB is typical"). */
export const PERFETTO_UI_MEMORY_BYTES = 2 * 1024 ** 3;

/** Bytes of trace-processor memory per byte of uncompressed Chrome-trace JSON (see above). */
export const JSON_MEMORY_FACTOR = 3;

export interface UiLoadEstimate {
  /** Uncompressed JSON bytes of the output. */
  jsonBytes: number;
  /** Estimated memory of the Perfetto UI for it. */
  estimatedBytes: number;
  /** The limit compared against. */
  limitBytes: number;
  /** True when the estimate is within the limit. */
  fits: boolean;
  /** Made before writing, from the inputs' decompressed sizes read by pass 1 (the output is about their sum). */
  fromInputs?: true;
}

export function estimateUiLoad(jsonBytes: number, limitBytes = PERFETTO_UI_MEMORY_BYTES): UiLoadEstimate {
  const estimatedBytes = jsonBytes * JSON_MEMORY_FACTOR;
  return { jsonBytes, estimatedBytes, limitBytes, fits: estimatedBytes <= limitBytes };
}

const size = (b: number): string => (b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(1)} GB` : b >= 1024 ** 2 ? `${Math.round(b / 1024 ** 2).toLocaleString('en-US')} MB` : `${Math.ceil(b / 1024).toLocaleString('en-US')} KB`);

/**
 * Estimates one written JSON file and, when it does not fit, adds `perfetto_ui_memory` (a
 * warning, not an error: the file is written and valid) with the numbers. Returns the estimate.
 */
export function noteUiLoad(file: string, jsonBytes: number, diagnostics: Diagnostics, limitBytes = PERFETTO_UI_MEMORY_BYTES): UiLoadEstimate {
  const e = estimateUiLoad(jsonBytes, limitBytes);
  if (!e.fits) {
    diagnostics.add('perfetto_ui_memory', {
      file, index: -1,
      detail: `${size(jsonBytes)} of JSON ≈ ${size(e.estimatedBytes)} in the UI (${JSON_MEMORY_FACTOR}x), over its ~${size(limitBytes)}`,
    });
  }
  return e;
}

/**
 * The estimate before the output is written: an unfiltered `fix` or `merge` writes its inputs'
 * decompressed bytes (plus a few metadata events), known exactly once pass 1 has read them — so a
 * user learns that the output will probably not open before waiting for it to be written, and
 * can stop and `--split` instead. (A gzip's ISIZE trailer would tell it before pass 1, but a
 * truncated file's last four bytes are not one: it warned of 4 GB for a 60 KB rank.)
 */
export function estimateUiLoadBeforeWriting(inputJsonBytes: number, limitBytes = PERFETTO_UI_MEMORY_BYTES): UiLoadEstimate {
  return { ...estimateUiLoad(inputJsonBytes, limitBytes), fromInputs: true };
}
