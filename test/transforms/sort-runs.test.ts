/**
 * sortNearlySorted (transforms/lanes.ts): the order the lane sweep needs, by merging the sorted
 * runs a trace already has. Compared with the built-in sort on inputs from sorted to shuffled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { sortNearlySorted, orderByTrack } from '../../src/transforms/lanes.js';

function rng(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n) => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x % n; };
}

test('sortNearlySorted equals the built-in sort: sorted, one slip, a few runs, many runs, reversed, ties broken by index', () => {
  const rnd = rng(42);
  for (const n of [0, 1, 2, 3, 17, 1000, 5000]) {
    // keys with many ties (ts) and a secondary key (dur, longer first), then the index
    const ts = Float64Array.from({ length: n }, (_, i) => Math.floor(i / 3) * 10);
    const dur = Float64Array.from({ length: n }, () => rnd(5));
    const cmp = (a: number, b: number): number => ts[a]! - ts[b]! || dur[b]! - dur[a]! || a - b;
    const sorted = Uint32Array.from({ length: n }, (_, i) => i).sort(cmp);
    const cases: [string, Uint32Array][] = [
      ['sorted', sorted.slice()],
      ['reversed', sorted.slice().reverse()],
      ['shuffled', (() => { const a = sorted.slice(); for (let i = n - 1; i > 0; i--) { const j = rnd(i + 1); const t = a[i]!; a[i] = a[j]!; a[j] = t; } return a; })()],
    ];
    for (const slips of [1, 3, 40]) {
      const a = sorted.slice();
      for (let k = 0; k < slips && n > 1; k++) { // move one element far back
        const from = rnd(n);
        const to = rnd(n);
        const v = a[from]!;
        if (from < to) a.copyWithin(from, from + 1, to + 1); else a.copyWithin(to + 1, to, from);
        a[to] = v;
      }
      cases.push([`${slips} slips`, a]);
    }
    for (const [what, a] of cases) {
      // sorted in a sub-range, the rest left alone
      const pad = 5;
      const big = new Uint32Array(n + 2 * pad).fill(99);
      big.set(a, pad);
      sortNearlySorted(big, pad, pad + n, cmp);
      assert.deepEqual([...big.subarray(pad, pad + n)], [...sorted], `${what}, n=${n}`);
      assert.deepEqual([...big.subarray(0, pad), ...big.subarray(pad + n)], new Array(2 * pad).fill(99), `${what}, n=${n}: outside the range`);
    }
  }
});

test('orderByTrack: per track by (ts, longer first, file order); tracks written out of time order flagged', () => {
  // track 0 in time order but for a parent written after its children; track 1 sorted
  const track = Int32Array.from([0, 0, 1, 0, 1, 0]);
  const ts = Float64Array.from([10, 20, 5, 10, 6, 30]);
  const dur = Float64Array.from([5, 5, 1, 40, 1, 1]);
  const o = orderByTrack({ count: 6, track, ts, dur }, 2);
  assert.deepEqual([...o.order.subarray(o.start[0]!, o.start[1]!)], [3, 0, 1, 5]);
  assert.deepEqual([...o.order.subarray(o.start[1]!, o.start[2]!)], [2, 4]);
  assert.deepEqual([...o.unsorted], [1, 0]);
});
