/**
 * Copies a trace's (decompressed) bytes to an output, replacing a sorted list of byte ranges.
 * The second pass of `fix`: everything not patched comes out byte for byte as it went in.
 */
import { readTraceBytes } from './source.js';
import type { OutputFile } from './writer.js';

export interface ByteRangePatch {
  /** Absolute offsets in the decompressed input; at == end inserts. */
  at: number;
  end: number;
  text: string;
}

export async function spliceCopy(path: string, patches: readonly ByteRangePatch[], out: OutputFile, onChunk?: (compressedBytes: number) => void): Promise<number> {
  let pos = 0; // absolute offset of chunk[0]
  let skipTo = 0; // bytes before this offset are replaced by an earlier patch
  let p = 0;
  const info = { name: path, gzip: false, compressedBytes: 0 };
  for await (const chunk of readTraceBytes(path, info)) {
    const end = pos + chunk.length;
    let at = Math.max(pos, skipTo); // next byte to copy
    while (p < patches.length && patches[p]!.at < end) {
      const pt = patches[p]!;
      if (pt.at > at) out.write(chunk.subarray(at - pos, pt.at - pos));
      out.write(pt.text);
      at = Math.max(at, pt.end);
      skipTo = Math.max(skipTo, pt.end);
      p++;
    }
    if (at < end) out.write(chunk.subarray(at - pos));
    pos = end;
    onChunk?.(info.compressedBytes);
    await out.ready();
  }
  // insertions at the very end (not expected: the events array closes before the end)
  for (; p < patches.length; p++) out.write(patches[p]!.text);
  return pos;
}
