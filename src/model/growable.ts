/**
 * Append-only typed arrays that double when full (compact per-event storage).
 * One class per element type: a single generic class made every `push` a megamorphic store
 * (one call site, five array types) and cost more than the JSON scan itself (bench/, pass 1).
 */
type Typed = Float64Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

abstract class GrowableBase<T extends Typed> {
  length = 0;
  constructor(public data: T) {}
  protected grow(): void {
    // 2x: what costs is touching fresh pages (zeroing, copying), not the unused tail. Growing by
    // 1.5 touched ~3x the final size (~70 ms of page faults and copies for the cpu_op columns of
    // a 150 MB trace); by 2 it is ~2x, and peak RSS measured the same (tp2long: 116 MB plain stats).
    const next = new (this.data.constructor as new (n: number) => T)(this.data.length * 2 + 16);
    next.set(this.data as never);
    this.data = next;
  }
  /** A view of the filled part. */
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

export class GrowableF64 extends GrowableBase<Float64Array> {
  constructor(n = 1024) { super(new Float64Array(n)); }
  push(v: number): void { if (this.length === this.data.length) this.grow(); this.data[this.length++] = v; }
}
export class GrowableI32 extends GrowableBase<Int32Array> {
  constructor(n = 1024) { super(new Int32Array(n)); }
  push(v: number): void { if (this.length === this.data.length) this.grow(); this.data[this.length++] = v; }
}
export class GrowableU32 extends GrowableBase<Uint32Array> {
  constructor(n = 1024) { super(new Uint32Array(n)); }
  push(v: number): void { if (this.length === this.data.length) this.grow(); this.data[this.length++] = v; }
}
export class GrowableU16 extends GrowableBase<Uint16Array> {
  constructor(n = 1024) { super(new Uint16Array(n)); }
  push(v: number): void { if (this.length === this.data.length) this.grow(); this.data[this.length++] = v; }
}
export class GrowableU8 extends GrowableBase<Uint8Array> {
  constructor(n = 1024) { super(new Uint8Array(n)); }
  push(v: number): void { if (this.length === this.data.length) this.grow(); this.data[this.length++] = v; }
}
