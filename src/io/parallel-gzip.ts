/**
 * gzip on several threads (the way pigz does it): the input is cut into blocks, each block is
 * compressed on its own in libuv's thread pool as raw deflate ending in a sync flush (so the
 * pieces concatenate into one valid deflate stream), and the pieces are written in order behind
 * one gzip header, followed by a final empty block and the CRC-32 / size trailer.
 * One gzip member: every gzip reader (zcat, Python, Perfetto) reads it. zlib's own gzip stream
 * compresses on one thread and made the fix's second pass wait on it (see bench/).
 *
 * Pieces compressed elsewhere the same way (a merge's rank segments, written by worker threads in
 * `raw` mode) can be spliced in with `Precompressed` items: their bytes are copied, and their CRC
 * and length folded into the trailer.
 */
import { Writable } from 'node:stream';
import { constants, crc32, deflateRaw } from 'node:zlib';
import { availableParallelism } from 'node:os';
import { crc32Combine } from './crc.js';

const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
/** A final, empty fixed-Huffman block: BFINAL=1, BTYPE=01, end-of-block. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** Raw deflate bytes made elsewhere (`bytes`), or the CRC and length of what they hold. */
export type Precompressed = { bytes: Buffer } | { crc: number; size: number };

function compress(block: Buffer, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    deflateRaw(block, { level, finishFlush: constants.Z_SYNC_FLUSH }, (e, out) => (e ? reject(e) : resolve(out)));
  });
}

export class ParallelGzip extends Writable {
  private crcValue = 0;
  private sizeValue = 0;
  private readonly inFlight: Promise<Buffer>[] = [];
  private readonly maxInFlight: number;

  /** `raw`: only the deflate blocks (no header, final block or trailer), for segments. */
  constructor(private readonly sink: Writable, private readonly level = 1, private readonly raw = false) {
    super({ objectMode: true, highWaterMark: 4 });
    this.maxInFlight = Math.max(2, availableParallelism() * 2);
    if (!raw) sink.write(HEADER);
  }

  /** CRC-32 and length of the uncompressed data so far. */
  get crc(): number { return this.crcValue >>> 0; }
  get size(): number { return this.sizeValue; }

  override _write(chunk: Buffer | Precompressed, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (Buffer.isBuffer(chunk)) {
      this.crcValue = crc32(chunk, this.crcValue);
      this.sizeValue += chunk.length;
      this.inFlight.push(compress(chunk, this.level));
    } else if ('bytes' in chunk) {
      this.inFlight.push(Promise.resolve(chunk.bytes));
    } else {
      this.crcValue = crc32Combine(this.crcValue, chunk.crc, chunk.size);
      this.sizeValue += chunk.size;
      cb();
      return;
    }
    if (this.inFlight.length < this.maxInFlight) { cb(); return; }
    this.drainOne().then(() => cb(), cb);
  }

  /** Writes the oldest compressed block to the sink, waiting for the sink when it is full. */
  private async drainOne(): Promise<void> {
    const out = await this.inFlight.shift()!;
    if (!this.sink.write(out)) await new Promise<void>((res) => this.sink.once('drain', res));
  }

  override _final(cb: (e?: Error | null) => void): void {
    (async () => {
      while (this.inFlight.length > 0) await this.drainOne();
      if (this.raw) { this.sink.end(); return; }
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.crc, 0);
      trailer.writeUInt32LE(this.sizeValue % 2 ** 32, 4);
      this.sink.write(FINAL_BLOCK);
      this.sink.end(trailer);
    })().then(() => cb(), cb);
  }
}
