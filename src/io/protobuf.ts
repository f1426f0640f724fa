/**
 * A minimal protocol-buffers encoder (varints, fixed64, doubles, length-delimited fields) writing
 * straight into one growing Buffer, and a matching pull decoder for `check`.
 *
 * Hand-written on purpose, not protobufjs or @bufbuild/protobuf: a Perfetto trace of a large
 * profile is tens of millions of small messages (two packets per slice), and both libraries
 * build a JS object per message and then encode it (protobufjs: a Writer with an operation list
 * per message; bufbuild: reflection over the schema). Here the packet bytes come out of the JSON
 * bytes with no object in between: strings (names, arg values) are copied as UTF-8 bytes from
 * the input buffer, and a nested message's length is written after its body (one byte reserved,
 * the body shifted in the rare case it is 128 bytes or longer). The schema is the official one
 * (proto/perfetto/perfetto_trace.proto, field numbers in src/formats/perfetto-fields.ts), and the
 * tests decode the output with protobufjs loading that file, independently of this code.
 */

const TWO32 = 4294967296;

export const WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5;

export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(size = 1 << 20) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n + 1024));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** An unsigned varint of a safe non-negative integer (up to 2^53). */
  varint(v: number): void {
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      b[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[p++] = v;
    this.pos = p;
  }

  /** An unsigned 64-bit varint given as two 32-bit halves. */
  varint64(hi: number, lo: number): void {
    if (hi === 0) { this.varint(lo); return; }
    if (hi < 0x200000) { this.varint(hi * TWO32 + lo); return; }
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    // low 28 bits, then 4 bits of lo with 3 of hi, then hi
    for (let i = 0; i < 4; i++) { b[p++] = (lo & 0x7f) | 0x80; lo >>>= 7; }
    let mid = (lo & 0x0f) | ((hi & 0x07) << 4);
    hi >>>= 3;
    b[p++] = hi !== 0 ? mid | 0x80 : mid;
    while (hi !== 0) {
      mid = hi & 0x7f;
      hi >>>= 7;
      b[p++] = hi !== 0 ? mid | 0x80 : mid;
    }
    this.pos = p;
  }

  /** A signed 64-bit integer (int64, two's complement) from a BigInt. */
  varintBig(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    this.ensure(10);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  uint(field: number, v: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  /** int64 / int32 field from a safe integer (negative ones as 10-byte two's complement). */
  int(field: number, v: number): void {
    this.tag(field, WIRE_VARINT);
    if (v >= 0) this.varint(v);
    else this.varintBig(BigInt(v));
  }

  fixed64(field: number, hi: number, lo: number): void {
    this.tag(field, WIRE_I64);
    this.ensure(8);
    this.buf.writeUInt32LE(lo >>> 0, this.pos);
    this.buf.writeUInt32LE(hi >>> 0, this.pos + 4);
    this.pos += 8;
  }

  double(field: number, v: number): void {
    this.tag(field, WIRE_I64);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** A length-delimited field holding the bytes src[s, e). */
  bytes(field: number, src: Uint8Array, s: number, e: number): void {
    this.tag(field, WIRE_LEN);
    this.varint(e - s);
    this.ensure(e - s);
    this.buf.set(src.subarray(s, e), this.pos);
    this.pos += e - s;
  }

  string(field: number, text: string): void {
    this.tag(field, WIRE_LEN);
    const n = Buffer.byteLength(text, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(text, this.pos, 'utf8');
  }

  /** Opens a nested message; returns the mark to pass to `end`. */
  begin(field: number): number {
    this.tag(field, WIRE_LEN);
    this.ensure(1);
    return this.pos++;
  }

  /** Closes a nested message: writes its length before it. */
  end(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 0x80) { this.buf[mark] = len; return; }
    let n = 1;
    for (let v = len; v >= 0x80; v = Math.floor(v / 0x80)) n++;
    this.ensure(n - 1);
    this.buf.copyWithin(mark + n, mark + 1, this.pos);
    let p = mark;
    let v = len;
    while (v >= 0x80) { this.buf[p++] = (v % 0x80) | 0x80; v = Math.floor(v / 0x80); }
    this.buf[p] = v;
    this.pos += n - 1;
  }

  /** The bytes written so far (a view); `reset` starts over. */
  view(): Buffer { return this.buf.subarray(0, this.pos); }
  reset(): void { this.pos = 0; }
}

/** A pull decoder over one message's bytes. */
export class ProtoReader {
  pos: number;
  /** Wire type of the last tag read. */
  wire = 0;
  /** After a varint: its value split in halves (exact for any uint64). */
  hi = 0;
  lo = 0;

  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
  }

  get done(): boolean { return this.pos >= this.end; }

  /** Next field number (and its wire type in `wire`). */
  next(): number {
    this.readVarint();
    const key = this.hi * TWO32 + this.lo;
    this.wire = key % 8;
    return Math.floor(key / 8);
  }

  /** Reads a varint into hi/lo and returns it as a number (exact below 2^53). */
  readVarint(): number {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    let byte: number;
    // low 28 bits
    do {
      if (this.pos >= this.end) throw new Error('protobuf: truncated varint');
      byte = b[this.pos++]!;
      if (shift < 28) lo |= (byte & 0x7f) << shift;
      else if (shift === 28) { lo |= (byte & 0x0f) << 28; hi |= (byte & 0x7f) >>> 4; }
      else hi |= (byte & 0x7f) << (shift - 32);
      shift += 7;
    } while (byte & 0x80);
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    return this.hi * TWO32 + this.lo;
  }

  /** The varint as a BigInt (uint64). */
  bigU(): bigint { return (BigInt(this.hi) << 32n) | BigInt(this.lo); }

  fixed64(): [number, number] {
    const b = Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const lo = b.readUInt32LE(this.pos);
    const hi = b.readUInt32LE(this.pos + 4);
    this.pos += 8;
    this.hi = hi; this.lo = lo;
    return [hi, lo];
  }

  double(): number {
    const b = Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const v = b.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field: [start, end) of its bytes. */
  len(): [number, number] {
    const n = this.readVarint();
    const s = this.pos;
    this.pos += n;
    if (this.pos > this.end) throw new Error('protobuf: truncated length-delimited field');
    return [s, s + n];
  }

  string(): string {
    const [s, e] = this.len();
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + s, e - s).toString('utf8');
  }

  skip(): void {
    switch (this.wire) {
      case WIRE_VARINT: this.readVarint(); return;
      case WIRE_I64: this.pos += 8; return;
      case WIRE_LEN: this.len(); return;
      case WIRE_I32: this.pos += 4; return;
      default: throw new Error(`protobuf: unsupported wire type ${this.wire}`);
    }
  }
}
