/**
 * Row of an id (External id, correlation): a dense table when the ids are small non-negative
 * integers (the usual case), else a Map. Ids read from a Float64Array are heap numbers, and a
 * Map keyed by them costs about 2 µs per insert: 0.4 s for the ops of a 150 MB trace.
 */
export class IdIndex {
  private readonly dense: Int32Array | undefined;
  private readonly map: Map<number, number> | undefined;

  /** The first row with each id wins when `first`, else the last. */
  constructor(ids: Float64Array, first = false) {
    let max = -1;
    let ok = true;
    for (let i = 0; i < ids.length; i++) {
      const x = ids[i]!;
      if (x !== x) continue;
      if (!(x >= 0 && x <= 0x7fffffff && x === Math.floor(x))) { ok = false; break; }
      if (x > max) max = x;
    }
    // dense up to 16 slots per id plus 1 Mi (4 MB): correlations run to ~7 per launch call (tp2long: 676,927 for 99,526 calls)
    if (ok && max < 16 * ids.length + (1 << 20)) {
      const d = (this.dense = new Int32Array(max + 1).fill(-1));
      for (let i = 0; i < ids.length; i++) { const x = ids[i]!; if (x === x && (!first || d[x]! < 0)) d[x] = i; }
    } else {
      const m = (this.map = new Map());
      for (let i = 0; i < ids.length; i++) { const x = ids[i]!; if (x === x && (!first || !m.has(x))) m.set(x, i); }
    }
  }

  /** Row of id x, or -1. */
  get(x: number): number {
    if (x !== x) return -1;
    if (this.dense) return x >= 0 && x < this.dense.length && x === Math.floor(x) ? this.dense[x]! : -1;
    return this.map!.get(x) ?? -1;
  }
}

const lastIndexMemo = new WeakMap<Float64Array, IdIndex>();

/** The (last-wins) IdIndex of an id column, built once per column: several views index the ops by External id. */
export function indexOfIds(ids: Float64Array): IdIndex {
  let x = lastIndexMemo.get(ids);
  if (!x) { x = new IdIndex(ids); lastIndexMemo.set(ids, x); }
  return x;
}
