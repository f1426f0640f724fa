/**
 * A log of byte spans to patch, kept on disk (15 bytes a record) rather than in memory: merge's
 * pass 1 records where every pid, id and label of a rank sits, so pass 2 can splice the rank's
 * bytes without parsing them again, whatever the rank's size. Records are appended in offset
 * order and read back in the same order.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

export const PATCH_PID = 1, PATCH_FLOW_ID = 2, PATCH_ARG_ID = 3, PATCH_PROC_NAME = 4, PATCH_PROC_SORT = 5, PATCH_THREAD_SORT = 6;

const RECORD = 15;
const BLOCK = 1 << 20;

export interface PatchRecord {
  /** Absolute offset of the span in the decompressed input. */
  at: number;
  len: number;
  kind: number;
  aux: number;
}

/**
 * Records are read and written through a DataView over the block: Buffer's writeDoubleLE /
 * readUInt32LE & co. check their arguments in JS on every call (≈ 70 ns a record, 0.1 s for one
 * bench rank's 1.4M records in pass 1 and again in pass 2).
 */
const viewOf = (b: Buffer): DataView => new DataView(b.buffer, b.byteOffset, b.length);

export class PatchLogWriter {
  private readonly buf = Buffer.allocUnsafe(BLOCK - (BLOCK % RECORD));
  private readonly view = viewOf(this.buf);
  private used = 0;
  private fd: number;
  count = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  add(at: number, len: number, kind: number, aux: number): void {
    if (this.used + RECORD > this.buf.length) this.flush();
    const v = this.view;
    const u = this.used;
    v.setFloat64(u, at, true);
    v.setUint16(u + 8, Math.min(len, 0xffff), true);
    v.setUint8(u + 10, kind);
    v.setUint32(u + 11, aux >>> 0, true);
    this.used = u + RECORD;
    this.count++;
  }

  private flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/**
 * Reads a log back in order, synchronously (block reads; per-record async iteration would cost
 * more than the splice it serves). `next()` fills `at`, `len`, `kind`, `aux`.
 */
export class PatchLogReader implements PatchRecord {
  at = Infinity;
  len = 0;
  kind = 0;
  aux = 0;
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(BLOCK - (BLOCK % RECORD));
  private readonly view = viewOf(this.buf);
  private filled = 0;
  private pos = 0;
  private done = false;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
  }

  /** Advances to the next record; false (and `at` = Infinity) at the end. */
  next(): boolean {
    if (this.pos + RECORD > this.filled) {
      if (this.done) { this.at = Infinity; return false; }
      const rest = this.filled - this.pos;
      this.buf.copy(this.buf, 0, this.pos, this.filled);
      const n = readSync(this.fd, this.buf, rest, this.buf.length - rest, null);
      this.filled = rest + n;
      this.pos = 0;
      if (n === 0) this.done = true;
      if (this.filled < RECORD) { this.done = true; this.at = Infinity; return false; }
    }
    const v = this.view;
    const i = this.pos;
    this.at = v.getFloat64(i, true);
    this.len = v.getUint16(i + 8, true);
    this.kind = v.getUint8(i + 10);
    this.aux = v.getUint32(i + 11, true);
    this.pos += RECORD;
    return true;
  }

  close(): void {
    closeSync(this.fd);
  }
}
