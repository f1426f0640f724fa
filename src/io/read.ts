/** Drives the scanner over a file: the one place where bytes are read and handed to a pass. */
import { TraceScanner, type ScanHandler, type TraceShape } from './scanner.js';
import { readTraceBytes, type SourceInfo } from './source.js';

export interface ScanResult {
  shape: TraceShape;
  events: number;
  /** Decompressed bytes. */
  bytes: number;
  gzip: boolean;
  compressedBytes: number;
  /** Absolute offset of the ']' closing the events array (-1 when salvaged). */
  eventsClose: number;
  /** Absolute offset of the '[' opening the events array. */
  eventsOpen: number;
  /** Bytes dropped after the last complete event (salvage only; 0 when the trace was whole). */
  droppedBytes: number;
}

export interface ScanOptions {
  /** Called after each input chunk (await output backpressure, update progress). */
  afterChunk?: (bytesIn: number, compressedIn: number) => Promise<void> | void;
  /** Accept a trace cut off inside its events array (see TraceScanner.finish). */
  salvage?: boolean;
  chunkSize?: number;
}

export async function scanFile(path: string, handler: ScanHandler, opts: ScanOptions = {}): Promise<ScanResult> {
  const name = path === '-' ? '<stdin>' : path;
  const info: SourceInfo = { name, gzip: false, compressedBytes: 0 };
  const scanner = new TraceScanner(handler, { name });
  let bytes = 0;
  for await (const chunk of readTraceBytes(path, info, opts.chunkSize)) {
    bytes += chunk.length;
    scanner.push(chunk);
    if (opts.afterChunk) await opts.afterChunk(bytes, info.compressedBytes);
  }
  const droppedBytes = scanner.finish(opts.salvage ?? false);
  return { shape: scanner.traceShape ?? 'object', events: scanner.eventCount, bytes, gzip: info.gzip, compressedBytes: info.compressedBytes, eventsClose: scanner.eventsClose, eventsOpen: scanner.eventsOpen, droppedBytes };
}

/** Scans an in-memory trace (tests, small inputs). */
export function scanBuffer(data: Buffer, handler: ScanHandler, name = '<buffer>', chunkSize = data.length): TraceShape {
  const scanner = new TraceScanner(handler, { name });
  for (let i = 0; i < data.length; i += Math.max(1, chunkSize)) scanner.push(data.subarray(i, i + Math.max(1, chunkSize)));
  scanner.finish();
  return scanner.traceShape ?? 'object';
}
