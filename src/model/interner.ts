/**
 * Maps short byte strings (raw pid/tid/cat JSON text) to small integer ids without creating a JS
 * string per event: a 32-bit FNV-1a hash of the bytes, checked byte by byte on a hit.
 * (Creating two strings and a Map key per event cost more than the whole scan; see bench/.)
 */
export class ByteInterner {
  private readonly byHash = new Map<number, number[]>();
  private readonly keys: Buffer[] = [];
  private lastId = -1;
  private prevId = -1;

  /** Makes `id` the last key used (the one before it becomes the previous one). */
  private use(id: number): number {
    if (id !== this.lastId) { this.prevId = this.lastId; this.lastId = id; }
    return id;
  }

  get size(): number { return this.keys.length; }

  /** Key bytes of an id. */
  key(id: number): Buffer { return this.keys[id]!; }

  /** Id of the concatenation of b[s1,e1) + 0x01 + b[s2,e2) (e2 = s2 = -1 for one span). */
  intern(b: Uint8Array, s1: number, e1: number, s2 = -1, e2 = -1): number {
    const len = e1 - s1 + (s2 >= 0 ? e2 - s2 + 1 : 0);
    // fast paths: the key of the previous call (consecutive events on one track), or the one
    // before it (events alternating between two tracks: a thread and its stream, flows)
    if (this.lastId >= 0 && this.equals(this.keys[this.lastId]!, len, b, s1, e1, s2, e2)) return this.lastId;
    if (this.prevId >= 0 && this.equals(this.keys[this.prevId]!, len, b, s1, e1, s2, e2)) return this.use(this.prevId);
    let h = 0x811c9dc5;
    for (let i = s1; i < e1; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    if (s2 >= 0) {
      h = Math.imul(h ^ 1, 0x01000193);
      for (let i = s2; i < e2; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    }
    let bucket = this.byHash.get(h);
    if (bucket) {
      for (const id of bucket) if (this.equals(this.keys[id]!, len, b, s1, e1, s2, e2)) return this.use(id);
    } else {
      bucket = [];
      this.byHash.set(h, bucket);
    }
    const key = Buffer.allocUnsafe(len);
    key.set(b.subarray(s1, e1), 0);
    if (s2 >= 0) { key[e1 - s1] = 1; key.set(b.subarray(s2, e2), e1 - s1 + 1); }
    const id = this.keys.length;
    this.keys.push(key);
    bucket.push(id);
    return this.use(id);
  }

  private equals(k: Buffer, len: number, b: Uint8Array, s1: number, e1: number, s2: number, e2: number): boolean {
    if (k.length !== len) return false;
    let j = 0;
    for (let i = s1; i < e1; i++, j++) if (k[j] !== b[i]) return false;
    if (s2 >= 0) {
      if (k[j++] !== 1) return false;
      for (let i = s2; i < e2; i++, j++) if (k[j] !== b[i]) return false;
    }
    return true;
  }
}
