/**
 * Output files: `.json.gz` / `.gz` names are gzip-compressed, others plain; `-` is stdout.
 * Bytes go to a temp file next to the target, renamed over it only at `commit()`, so a failed
 * run never leaves a half-written output. An input is never overwritten unless allowed.
 */
import { createReadStream, createWriteStream, promises as fsp, realpathSync } from 'node:fs';
import { ParallelGzip } from './parallel-gzip.js';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { TraceforgeError } from '../errors.js';

export interface OutputOptions {
  /** gzip level 0-9 for .gz outputs. Default 1: fast, and what `gzip -1` gives. */
  gzipLevel?: number;
  /** Input paths: the output may not be one of them unless `inPlace`. */
  inputs?: readonly string[];
  inPlace?: boolean;
  /**
   * Write a segment, not a whole file: for a .gz name, raw deflate blocks with no gzip header or
   * trailer (`segmentInfo()` gives the CRC and length), to be spliced into another output with
   * `appendSegment`. Used by merge's worker threads.
   */
  segment?: boolean;
  /**
   * Bytes staged before a block goes to the file / compressor (default 1 MiB). `--split` keeps
   * one output per part open at once and gives each a smaller stage, to bound memory.
   */
  stageBytes?: number;
}

/** What a segment holds: its uncompressed CRC-32 and length. */
export interface SegmentInfo {
  path: string;
  gzip: boolean;
  crc: number;
  size: number;
}

const STAGE = 1 << 20;

export function isGzipName(path: string): boolean {
  return /\.gz$/i.test(path);
}

function sameFile(a: string, b: string): boolean {
  try { return realpathSync(a) === realpathSync(b); } catch { return resolve(a) === resolve(b); }
}

export class OutputFile {
  private stage: Buffer;
  private stageView: DataView;
  /** The last source of a writeRange run, and a DataView over it. */
  private viewSrc: Buffer | undefined;
  private srcView: DataView | undefined;
  private readonly size: number;
  private used = 0;
  private needDrain = false;
  private failed: Error | undefined;
  private written = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly tmp: string | undefined,
    private readonly head: Writable,
    private readonly file: Writable,
    stageBytes = STAGE,
  ) {
    this.size = stageBytes;
    this.stage = Buffer.allocUnsafe(stageBytes);
    this.stageView = new DataView(this.stage.buffer, this.stage.byteOffset, this.stage.length);
    const onErr = (e: Error): void => { this.failed ??= e; };
    head.on('error', onErr);
    if (file !== head) file.on('error', onErr);
  }

  static async open(path: string, opts: OutputOptions = {}): Promise<OutputFile> {
    if (path === '-') return new OutputFile('-', undefined, process.stdout, process.stdout);
    for (const inp of opts.inputs ?? []) {
      if (inp !== '-' && sameFile(inp, path) && !opts.inPlace) {
        throw new TraceforgeError('E_OUTPUT', `${path}: refusing to overwrite an input (use --in-place to allow it)`, path);
      }
    }
    const dir = dirname(resolve(path));
    try {
      const st = await fsp.stat(dir);
      if (!st.isDirectory()) throw new Error('not a directory');
    } catch {
      throw new TraceforgeError('E_OUTPUT', `${path}: the output directory ${dir} does not exist`, path);
    }
    const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
    const file = createWriteStream(tmp, { highWaterMark: 1 << 20 });
    await new Promise<void>((res, rej) => {
      file.once('open', () => res());
      file.once('error', (e) => rej(new TraceforgeError('E_OUTPUT', `${path}: cannot write: ${e.message}`, path)));
    });
    const stage = Math.max(1 << 12, Math.min(STAGE, Math.floor(opts.stageBytes ?? STAGE)));
    if (!isGzipName(path)) return new OutputFile(path, tmp, file, file, stage);
    const gz = new ParallelGzip(file, opts.gzipLevel ?? 1, opts.segment ?? false);
    return new OutputFile(path, tmp, gz, file, stage);
  }

  /** After commit of a segment: what it holds. */
  segmentInfo(): SegmentInfo {
    const gz = this.head instanceof ParallelGzip ? this.head : undefined;
    return { path: this.path, gzip: gz !== undefined, crc: gz?.crc ?? 0, size: gz?.size ?? this.written };
  }

  /**
   * Appends a segment written by another OutputFile with `segment: true` (same compression):
   * its bytes are copied as they are; for gzip its CRC and length are folded into the trailer.
   */
  async appendSegment(seg: SegmentInfo): Promise<void> {
    const gz = this.head instanceof ParallelGzip;
    if (gz !== seg.gzip) throw new Error('appendSegment: the segment and the output differ in compression');
    this.flushStage();
    for await (const chunk of createReadStream(seg.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      if (!this.head.write(gz ? { bytes: chunk } : chunk)) await new Promise<void>((res) => this.head.once('drain', res));
    }
    if (gz) this.head.write({ crc: seg.crc, size: seg.size });
    this.written += seg.size;
    await this.ready();
  }

  /** Uncompressed bytes written so far. */
  get bytesWritten(): number { return this.written + this.used; }

  write(data: Buffer | string): void {
    if (typeof data === 'string') {
      if (data.length * 3 > this.size - this.used) this.flushStage();
      if (data.length * 3 > this.size) { this.push(Buffer.from(data, 'utf8')); return; }
      this.used += this.stage.write(data, this.used, 'utf8');
      return;
    }
    if (data.length > this.size - this.used) {
      this.flushStage();
      if (data.length > this.size / 2) { this.push(Buffer.from(data)); return; }
    }
    data.copy(this.stage, this.used);
    this.used += data.length;
  }

  /**
   * Writes `src[from, to)`: the same as `write(src.subarray(from, to))` without making a view per
   * call (merge's splice writes millions of short runs between patches).
   */
  writeRange(src: Buffer, from: number, to: number): void {
    const len = to - from;
    if (len > this.size - this.used) {
      this.flushStage();
      if (len > this.size / 2) { this.push(Buffer.from(src.subarray(from, to))); return; }
    }
    // Measured (bench rank, 1M short runs): Buffer.copy costs ≈ 100-250 ns a call whatever the
    // length, a byte loop ≈ 3 ns a byte, 4-byte DataView moves ≈ 1 ns a byte — the fastest up to
    // about 128 bytes. Runs of 16 bytes and more come from the input chunk the splice is copying:
    // its DataView is kept between calls.
    if (len <= 128) {
      const stage = this.stage;
      let u = this.used;
      let i = from;
      if (len >= 16) {
        if (src !== this.viewSrc) { this.viewSrc = src; this.srcView = new DataView(src.buffer, src.byteOffset, src.length); }
        const sv = this.srcView!;
        const dv = this.stageView;
        for (; i + 4 <= to; i += 4, u += 4) dv.setUint32(u, sv.getUint32(i));
      }
      for (; i < to; i++) stage[u++] = src[i]!;
    } else {
      src.copy(this.stage, this.used, from, to);
    }
    this.used += len;
  }

  /**
   * Room for `n` bytes written straight into the stage: returns the stage buffer, which the caller
   * fills from `claimAt` on, then calls `advance` with how many bytes it wrote (none: nothing is
   * written). For hot loops that would otherwise make several small writes per item (merge's
   * offset ids).
   */
  claim(n: number): Buffer {
    if (n > this.size) throw new Error(`claim: ${n} bytes is more than the stage holds`);
    if (this.size - this.used < n) this.flushStage();
    return this.stage;
  }

  /** Where the bytes of a `claim` start. */
  get claimAt(): number { return this.used; }

  /** After `claim`: `n` bytes were written at `claimAt`. */
  advance(n: number): void { this.used += n; }

  /**
   * Writes the decimal digits of a safe integer — what `write(String(v))` writes, without making
   * the string (merge's splice writes an offset id per event of every rank after the first).
   */
  writeInteger(v: number): void {
    if (this.size - this.used < 24) this.flushStage();
    const stage = this.stage;
    let u = this.used;
    if (v < 0) { stage[u++] = 0x2d; v = -v; }
    let digits = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
    for (let p = u + digits - 1; p >= u; p--) { stage[p] = 0x30 + (v % 10); v = Math.floor(v / 10); }
    this.used = u + digits;
  }

  private flushStage(): void {
    if (this.used === 0) return;
    const out = this.stage.subarray(0, this.used);
    this.stage = Buffer.allocUnsafe(this.size);
    this.stageView = new DataView(this.stage.buffer, this.stage.byteOffset, this.stage.length);
    this.used = 0;
    this.push(out);
  }

  private push(b: Buffer): void {
    this.written += b.length;
    if (!this.head.write(b)) this.needDrain = true;
  }

  /** Waits while the output is backed up (call between input chunks). */
  async ready(): Promise<void> {
    if (this.failed) throw this.wrapErr(this.failed);
    if (!this.needDrain) return;
    this.needDrain = false;
    // the stream may have drained since the write that filled it (appendSegment awaits its reads
    // in between): waiting for a 'drain' that already came would wait forever — merge then ended
    // with its output never written (seen about once in 40 merges under load)
    if (!this.head.writableNeedDrain) return;
    await new Promise<void>((res) => this.head.once('drain', res));
  }

  private wrapErr(e: Error): TraceforgeError {
    return new TraceforgeError('E_OUTPUT', `${this.path}: cannot write: ${e.message}`, this.path);
  }

  /** Flushes, closes and renames the temp file into place. Returns the compressed size. */
  async commit(): Promise<number> {
    this.flushStage();
    this.closed = true;
    if (this.path === '-') {
      await this.ready();
      return this.written;
    }
    await new Promise<void>((res, rej) => {
      this.file.once('close', () => (this.failed ? rej(this.wrapErr(this.failed)) : res()));
      this.file.once('error', (e) => rej(this.wrapErr(e)));
      this.head.end();
    });
    if (this.failed) throw this.wrapErr(this.failed);
    await fsp.rename(this.tmp!, this.path);
    return (await fsp.stat(this.path)).size;
  }

  /** Drops the temp file (after an error). Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.path === '-' || this.tmp === undefined) return;
    if (!this.closed) {
      this.closed = true;
      this.head.destroy();
      if (this.file !== this.head) this.file.destroy();
    }
    await fsp.rm(this.tmp, { force: true });
  }
}
