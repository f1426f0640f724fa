/** Append-only typed arrays that double when full (compact per-event storage). */
type TypedCtor<T> = { new (n: number): T };
type Typed = Float64Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

export class Growable<T extends Typed> {
  data: T;
  length = 0;
  constructor(private readonly ctor: TypedCtor<T>, initial = 1024) {
    this.data = new ctor(initial);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new this.ctor(this.data.length * 2);
      next.set(this.data as never);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  /** A view of the filled part. */
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}
