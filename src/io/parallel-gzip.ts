/**
 * gzip on several threads (the way pigz does it): the input is cut into blocks, each block is
 * compressed on its own in libuv's thread pool as raw deflate ending in a sync flush (so the
 * pieces concatenate into one valid deflate stream), and the pieces are written in order behind
 * one gzip header, followed by a final empty block and the CRC-32 / size trailer.
 * One gzip member: every gzip reader (zcat, Python, Perfetto) reads it. zlib's own gzip stream
 * compresses on one thread and made the fix's second pass wait on it (see bench/).
 */
import { Writable } from 'node:stream';
import { constants, crc32, deflateRaw } from 'node:zlib';
import { availableParallelism } from 'node:os';

const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
/** A final, empty fixed-Huffman block: BFINAL=1, BTYPE=01, end-of-block. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

function compress(block: Buffer, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    deflateRaw(block, { level, finishFlush: constants.Z_SYNC_FLUSH }, (e, out) => (e ? reject(e) : resolve(out)));
  });
}

export class ParallelGzip extends Writable {
  private crc = 0;
  private size = 0;
  private readonly inFlight: Promise<Buffer>[] = [];
  private readonly maxInFlight: number;

  constructor(private readonly sink: Writable, private readonly level = 1) {
    super({ highWaterMark: 4 << 20 });
    this.maxInFlight = Math.max(2, availableParallelism() * 2);
    sink.write(HEADER);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.crc = crc32(chunk, this.crc);
    this.size += chunk.length;
    this.inFlight.push(compress(chunk, this.level));
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
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(this.crc >>> 0, 0);
      trailer.writeUInt32LE(this.size % 2 ** 32, 4);
      this.sink.write(FINAL_BLOCK);
      this.sink.end(trailer);
    })().then(() => cb(), cb);
  }
}
