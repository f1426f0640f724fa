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

export class PatchLogWriter {
  private buf = Buffer.allocUnsafe(BLOCK - (BLOCK % RECORD));
  private used = 0;
  private fd: number;
  count = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  add(at: number, len: number, kind: number, aux: number): void {
    if (this.used + RECORD > this.buf.length) this.flush();
    const b = this.buf;
    b.writeDoubleLE(at, this.used);
    b.writeUInt16LE(Math.min(len, 0xffff), this.used + 8);
    b.writeUInt8(kind, this.used + 10);
    b.writeUInt32LE(aux >>> 0, this.used + 11);
    this.used += RECORD;
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
  private buf = Buffer.allocUnsafe(BLOCK - (BLOCK % RECORD));
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
    const b = this.buf;
    const i = this.pos;
    this.at = b.readDoubleLE(i);
    this.len = b.readUInt16LE(i + 8);
    this.kind = b.readUInt8(i + 10);
    this.aux = b.readUInt32LE(i + 11);
    this.pos += RECORD;
    return true;
  }

  close(): void {
    closeSync(this.fd);
  }
}
