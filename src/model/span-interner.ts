/**
 * Interns byte strings made of up to three spans (a kernel name; an op's name, dims and
 * types) without decoding them. Kernel names run to kilobytes of template arguments, so the
 * hash reads about 32 bytes of each span (spread over it, plus its length and last bytes)
 * and equality is decided by a native compare of the stored bytes.
 */
export class SpanInterner {
  private readonly buckets = new Map<number, number[]>();
  private readonly keys: Buffer[][] = [];

  get size(): number { return this.keys.length; }

  private static hash(h: number, b: Buffer, s: number, e: number): number {
    const n = e - s;
    h = Math.imul(h ^ n, 0x01000193);
    const step = n > 24 ? ((n / 24) | 0) : 1;
    for (let i = s; i < e; i += step) h = Math.imul(h ^ b[i]!, 0x01000193);
    for (let i = Math.max(s, e - 8); i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    return h;
  }

  /** True when key `id` is made of exactly the bytes of these spans. */
  matches(id: number, b: Buffer, spans: readonly number[]): boolean {
    const k = this.keys[id]!;
    if (k.length * 2 !== spans.length) return false;
    for (let p = 0; p < k.length; p++) {
      const key = k[p]!;
      const s = spans[2 * p]!;
      const e = spans[2 * p + 1]!;
      const n = key.length;
      if (n !== e - s) return false;
      if (n > 48) { if (b.compare(key, 0, n, s, e) !== 0) return false; continue; }
      for (let i = 0; i < n; i++) if (key[i] !== b[s + i]) return false;
    }
    return true;
  }

  /** Id of the key made of b[spans[0], spans[1]), b[spans[2], spans[3]), ... */
  intern(b: Buffer, spans: readonly number[]): number {
    let h = 0x811c9dc5;
    for (let p = 0; p < spans.length; p += 2) h = SpanInterner.hash(h, b, spans[p]!, spans[p + 1]!);
    let bucket = this.buckets.get(h);
    if (bucket) {
      for (const id of bucket) if (this.matches(id, b, spans)) return id;
    } else {
      bucket = [];
      this.buckets.set(h, bucket);
    }
    const key: Buffer[] = [];
    for (let p = 0; p < spans.length; p += 2) key.push(Buffer.from(b.subarray(spans[p]!, spans[p + 1]!)));
    const id = this.keys.length;
    this.keys.push(key);
    bucket.push(id);
    return id;
  }
}

/** A name table: events' `name` spans interned to ids, each distinct name decoded once. */
export class NameTable {
  private readonly ids = new SpanInterner();
  private readonly spans: number[] = [0, 0];
  readonly names: string[] = [];

  /** Id of the name value b[s,e) (an empty span: the name ''); `decode` makes the string once. */
  id(b: Buffer, s: number, e: number, decode: (b: Buffer, s: number, e: number) => string): number {
    const spans = this.spans;
    spans[0] = s < 0 ? 0 : s;
    spans[1] = s < 0 ? 0 : e;
    const id = this.ids.intern(b, spans);
    if (id === this.names.length) this.names.push(s < 0 ? '' : decode(b, s, e));
    return id;
  }
}
