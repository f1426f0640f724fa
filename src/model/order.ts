/**
 * Index orders of record columns. Trace files are mostly written in time order, so each helper
 * first checks whether the order is already right — a linear pass — and sorts only when it is
 * not (a comparator sort over hundreds of thousands of rows costs tens of ms).
 */

/** Sorts `idx` in place by `cmp` unless it is already in order; returns it. */
export function sortIfNeeded<T extends Uint32Array | Int32Array | number[]>(idx: T, cmp: (a: number, b: number) => number): T {
  for (let k = 1; k < idx.length; k++) {
    if (cmp(idx[k - 1]!, idx[k]!) > 0) {
      (idx as { sort(c: (a: number, b: number) => number): unknown }).sort(cmp);
      return idx;
    }
  }
  return idx;
}

/** Rows of spans on threads: what threadOrder sorts. */
export interface ThreadSpans { count: number; start: ArrayLike<number>; dur: ArrayLike<number>; thread: ArrayLike<number> }

/**
 * Rows (default: all) grouped by thread (ascending), each group by start ascending, longer
 * first on ties, then row: a stable bucket pass by thread, then a sort of the groups that
 * are not in order already. `bounds[t], bounds[t+1]` delimit thread t's group in `order`.
 */
export function threadOrder(s: ThreadSpans, rows?: ArrayLike<number>): { order: Uint32Array; bounds: Int32Array } {
  const n = rows ? rows.length : s.count;
  const at = (k: number): number => (rows ? rows[k]! : k);
  let nThreads = 0;
  for (let k = 0; k < n; k++) { const t = s.thread[at(k)]!; if (t + 1 > nThreads) nThreads = t + 1; }
  const count = new Int32Array(nThreads + 1);
  for (let k = 0; k < n; k++) count[s.thread[at(k)]! + 1]!++;
  for (let t = 0; t < nThreads; t++) count[t + 1]! += count[t]!;
  const bounds = count.slice();
  const fill = count.slice(0, nThreads);
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) { const i = at(k); order[fill[s.thread[i]!]!++] = i; }
  const before = (a: number, b: number): number => s.start[a]! - s.start[b]! || s.dur[b]! - s.dur[a]! || a - b;
  for (let t = 0; t < nThreads; t++) sortIfNeeded(order.subarray(bounds[t]!, bounds[t + 1]!), before);
  return { order, bounds };
}
