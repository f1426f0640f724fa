import { test } from 'node:test';
import assert from 'node:assert/strict';

import { clippedTotal, intersectionTotal, unionOf } from '../../src/analysis/intervals.js';
import { rng } from '../helpers.js';

/** Covered length by counting covered unit cells (integer endpoints): no sorting, no sweep. */
function cellCount(iv: [number, number][], lo = -Infinity, hi = Infinity): number {
  const covered = new Set<number>();
  for (const [a, b] of iv) for (let t = Math.max(a, lo); t < Math.min(b, hi); t++) covered.add(t);
  return covered.size;
}

function randomIntervals(r: () => number, n: number): [number, number][] {
  return Array.from({ length: n }, () => {
    const a = Math.floor(r() * 500);
    const len = r() < 0.1 ? 0 : Math.floor(r() * 60);
    return [a, a + len] as [number, number];
  });
}

test('unionOf: total = covered length, segments disjoint and sorted (random integer intervals)', () => {
  const r = rng(7);
  for (let round = 0; round < 200; round++) {
    const iv = randomIntervals(r, Math.floor(r() * 40));
    const u = unionOf(Float64Array.from(iv.map((x) => x[0])), Float64Array.from(iv.map((x) => x[1])));
    assert.equal(u.total, cellCount(iv), `round ${round}: ${JSON.stringify(iv)}`);
    for (let i = 0; i < u.start.length; i++) {
      assert.ok(u.end[i]! > u.start[i]!);
      if (i > 0) assert.ok(u.start[i]! > u.end[i - 1]!, 'segments neither overlap nor touch');
    }
    const sum = Array.from(u.start).reduce((a, s, i) => a + u.end[i]! - s, 0);
    assert.equal(sum, u.total);
  }
});

test('unionOf: touching intervals join, empty and reversed ones are ignored, inputs untouched', () => {
  const s = Float64Array.from([10, 0, 5, 30, 40]);
  const e = Float64Array.from([20, 10, 5, 35, 39]);
  const u = unionOf(s, e);
  assert.deepEqual(Array.from(u.start), [0, 30]);
  assert.deepEqual(Array.from(u.end), [20, 35]);
  assert.equal(u.total, 25);
  assert.deepEqual(Array.from(s), [10, 0, 5, 30, 40]);
  assert.equal(unionOf(new Float64Array(0), new Float64Array(0)).total, 0);
});

test('intersectionTotal and clippedTotal agree with cell counting', () => {
  const r = rng(11);
  for (let round = 0; round < 200; round++) {
    const a = randomIntervals(r, 1 + Math.floor(r() * 20));
    const b = randomIntervals(r, 1 + Math.floor(r() * 20));
    const ua = unionOf(Float64Array.from(a.map((x) => x[0])), Float64Array.from(a.map((x) => x[1])));
    const ub = unionOf(Float64Array.from(b.map((x) => x[0])), Float64Array.from(b.map((x) => x[1])));
    const ca = new Set<number>();
    for (const [x, y] of a) for (let t = x; t < y; t++) ca.add(t);
    let both = 0;
    const cb = new Set<number>();
    for (const [x, y] of b) for (let t = x; t < y; t++) cb.add(t);
    for (const t of ca) if (cb.has(t)) both++;
    assert.equal(intersectionTotal(ua, ub), both, `round ${round}`);
    const lo = Math.floor(r() * 500);
    const hi = lo + Math.floor(r() * 200);
    assert.equal(clippedTotal(ua, lo, hi), cellCount(a, lo, hi), `round ${round} clip [${lo}, ${hi})`);
  }
});
