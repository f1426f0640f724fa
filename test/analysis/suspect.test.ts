/**
 * findSuspectDurations against hand-worked cases (PDL overlap, containment at the threshold,
 * duration outliers at the exact factor) and against a brute-force oracle on random streams:
 * every pair of slices compared, medians by sorting a copy — no sort-once, no binary search.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { SUSPECT_RULES, findSuspectDurations, suspectMask, type DeviceSlices } from '../../src/analysis/suspect.js';
import { rng } from '../helpers.js';

interface S { start: number; dur: number; name: number; stream: number }

function input(slices: S[], names: string[] = []): DeviceSlices {
  const nameCount = Math.max(0, ...slices.map((s) => s.name + 1));
  return {
    count: slices.length,
    start: Float64Array.from(slices, (s) => s.start),
    dur: Float64Array.from(slices, (s) => s.dur),
    name: Int32Array.from(slices, (s) => s.name),
    stream: Int32Array.from(slices, (s) => s.stream),
    names: names.length > 0 ? names : Array.from({ length: nameCount }, (_, k) => `kernel_${k}`),
  };
}

const suspects = (slices: S[]): number[] => findSuspectDurations(input(slices)).map((x) => x.index);

/** A chain of kernels on one stream, each starting `gap` after the previous one starts. */
function chain(durs: number[], gap: (k: number) => number, name = (_k: number) => 0, stream = 7, t0 = 1000): S[] {
  const out: S[] = [];
  let t = t0;
  durs.forEach((dur, k) => { out.push({ start: t, dur, name: name(k), stream }); t += gap(k); });
  return out;
}

test('PDL: each kernel starts in the tail of the previous one and ends after it: nothing is suspect', () => {
  // the h200 pdl traces: the dependent kernel starts as early as 4% into the primary (and ends
  // after it); here every kernel starts 4% into its predecessor and lasts longer
  const durs = Array.from({ length: 50 }, (_, k) => 10_000 + k * 500);
  const s = chain(durs, (k) => Math.round(durs[k]! * 0.04), (k) => k % 3);
  for (let k = 1; k < s.length; k++) {
    assert.ok(s[k]!.start < s[k - 1]!.start + s[k - 1]!.dur && s[k]!.start + s[k]!.dur > s[k - 1]!.start + s[k - 1]!.dur, 'overlaps and ends after');
  }
  assert.deepEqual(suspects(s), []);
});

test('containment: a slice holding 2 later slices of its stream is not suspect, 3 is; other streams do not count', () => {
  const base = chain([100, 100, 100, 100, 100], () => 100, (k) => k);
  // slice 0 stretched to end exactly at the end of slice 2 (touching ends count as contained)
  const two = base.map((x, k) => (k === 0 ? { ...x, dur: 300 } : x));
  assert.deepEqual(suspects(two), []);
  const three = base.map((x, k) => (k === 0 ? { ...x, dur: 400 } : x));
  const r = findSuspectDurations(input(three));
  assert.deepEqual(r.map((x) => x.index), [0]);
  assert.equal(r[0]!.containedLater, 3);
  assert.equal(r[0]!.overlappedLater, 3);
  assert.equal(r[0]!.contains, true);
  assert.equal(r[0]!.outlier, false, 'no other calls of its name');
  assert.match(r[0]!.reason, /lasts 0\.4 µs, past the start of 3 later slices of its stream \(contains 3 entirely\)/);
  // the same slices on another stream: a long slice on stream 1 over kernels of stream 2
  const split = three.map((x, k) => ({ ...x, stream: k === 0 ? 1 : 2 }));
  assert.deepEqual(suspects(split), []);
});

test('duration outlier: more than 10× the median of ≥ 4 other calls and running into a later slice; exact at the boundary', () => {
  // 4 other calls of name 0 elsewhere on the stream (median of 10, 10, 12, 14 is 11), then the
  // candidate (name 0) followed 1 ns before its end by a kernel of name 1
  const others: S[] = [10, 10, 12, 14].map((dur, k) => ({ start: k * 1000, dur, name: 0, stream: 3 }));
  const at = (dur: number): S[] => [...others, { start: 10_000, dur, name: 0, stream: 3 }, { start: 10_000 + dur - 1, dur: 50, name: 1, stream: 3 }];
  assert.deepEqual(suspects(at(110)), [], '110 = 10 × 11 is not more than 10×');
  const r = findSuspectDurations(input(at(111)));
  assert.deepEqual(r.map((x) => x.index), [4]);
  assert.equal(r[0]!.outlier, true);
  assert.equal(r[0]!.contains, false);
  assert.equal(r[0]!.medianOthersNs, 11);
  assert.equal(r[0]!.otherCalls, 4);
  assert.match(r[0]!.reason, /10\.1× the median 0\.011 µs of 4 other calls of "kernel_0"/);
  // odd count: median of 10, 12, 14, 16, 1000 is 14
  const odd: S[] = [10, 12, 14, 16, 1000].map((dur, k) => ({ start: k * 2000, dur, name: 0, stream: 3 }));
  const atOdd = (dur: number): S[] => [...odd, { start: 20_000, dur, name: 0, stream: 3 }, { start: 20_000 + dur - 1, dur: 5, name: 1, stream: 3 }];
  assert.deepEqual(suspects(atOdd(140)), []);
  assert.deepEqual(suspects(atOdd(141)), [5]);
  // the 1000 ns call itself runs into nothing, so it is no suspect although 1000 > 10 × median
  assert.ok(!suspects(atOdd(141)).includes(4));
});

test('duration outlier needs 4 other calls, and an overlap: a long collective that runs into nothing is fine', () => {
  const three: S[] = [10, 10, 10].map((dur, k) => ({ start: k * 1000, dur, name: 0, stream: 3 }));
  assert.deepEqual(suspects([...three, { start: 10_000, dur: 500, name: 0, stream: 3 }, { start: 10_400, dur: 200, name: 1, stream: 3 }]), []);
  // tp2 TP-1: an all-reduce 3,595× the median of its name, waiting for the other rank; the next
  // kernel of its stream starts after it ends
  const ar: S[] = Array.from({ length: 40 }, (_, k) => ({ start: k * 1_000_000, dur: 100, name: 0, stream: 5 }));
  ar.push({ start: 50_000_000, dur: 359_500, name: 0, stream: 5 }, { start: 50_359_500, dur: 100, name: 0, stream: 5 });
  assert.deepEqual(suspects(ar), []);
});

test('slices with the same start are not later; negative durations count as 0; slices past count are ignored', () => {
  const s: S[] = [
    { start: 0, dur: 1000, name: 0, stream: 1 },
    { start: 0, dur: 10, name: 1, stream: 1 }, // same start: not later
    { start: 0, dur: 10, name: 1, stream: 1 }, // same start: not later
    { start: 5, dur: -3, name: 2, stream: 1 }, // zero-length, later, contained
    { start: 6, dur: 0, name: 3, stream: 1 }, // contained
    { start: 999, dur: 1, name: 4, stream: 1 }, // ends with it: contained
  ];
  assert.deepEqual(suspects(s), [0]);
  const r = findSuspectDurations(input(s))[0]!;
  assert.equal(r.containedLater, 3);
  assert.equal(r.overlappedLater, 3);
  // the same arrays with count 5: only two later slices
  assert.deepEqual(findSuspectDurations({ ...input(s), count: 5 }), []);
  // test/fixtures/edge/equal-start-times.json's stream: B 100+80 holds A and C (same start) and D
  // (120-180): one later slice, not suspect
  assert.deepEqual(suspects([{ start: 100, dur: 50, name: 0, stream: 10 }, { start: 100, dur: 80, name: 1, stream: 10 }, { start: 100, dur: 50, name: 2, stream: 10 }, { start: 120, dur: 60, name: 3, stream: 10 }]), []);
});

test('suspectMask marks exactly the suspects', () => {
  const s = chain([400, 100, 100, 100, 100], () => 100, (k) => k);
  const found = findSuspectDurations(input(s));
  assert.deepEqual([...suspectMask(s.length, found)], [1, 0, 0, 0, 0]);
  assert.deepEqual(SUSPECT_RULES, { minContained: 3, medianFactor: 10, minOtherCalls: 4, minOverlappedForOutlier: 1 });
});

/** The rules written out over all pairs. */
function oracle(s: S[]): { index: number; contained: number; overlapped: number; median: number | null; contains: boolean; outlier: boolean }[] {
  const out = [];
  const d = (x: S): number => Math.max(0, x.dur);
  for (let i = 0; i < s.length; i++) {
    const a = s[i]!;
    const end = a.start + d(a);
    let contained = 0;
    let overlapped = 0;
    for (let j = 0; j < s.length; j++) {
      const b = s[j]!;
      if (j === i || b.stream !== a.stream) continue;
      if (b.start <= a.start || b.start >= end) continue;
      overlapped++;
      if (b.start + d(b) <= end) contained++;
    }
    if (overlapped === 0) continue;
    const others = s.filter((b, j) => j !== i && b.name === a.name).map(d).sort((x, y) => x - y);
    const m = others.length;
    const median = m >= 4 ? (m % 2 === 1 ? others[(m - 1) / 2]! : (others[m / 2 - 1]! + others[m / 2]!) / 2) : null;
    const outlier = median !== null && d(a) > 10 * median;
    const contains = contained >= 3;
    if (contains || outlier) out.push({ index: i, contained, overlapped, median, contains, outlier });
  }
  return out;
}

test('random streams: the same suspects, counts and medians as the all-pairs oracle', () => {
  let total = 0;
  let onlyContains = 0;
  let onlyOutlier = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const r = rng(Math.imul(seed, 2654435761)); // spread the small seeds (xorshift starts low on them)
    const n = 5 + Math.floor(r() * 60);
    const s: S[] = [];
    const streams = 1 + Math.floor(r() * 3);
    const t = new Array<number>(streams).fill(0);
    for (let k = 0; k < n; k++) {
      const stream = Math.floor(r() * streams);
      const dur = r() < 0.05 ? -5 : 10 + Math.floor(r() * 90);
      // mostly back to back, sometimes PDL-like early starts, sometimes equal starts
      const last = s.filter((x) => x.stream === stream).pop();
      const gap = r() < 0.2 ? -Math.floor(r() * 40) : Math.floor(r() * 100);
      const start = last && r() < 0.1 ? last.start : Math.max(0, t[stream]! + gap);
      s.push({ start, dur, name: Math.floor(r() * 4), stream });
      t[stream] = start + Math.max(0, dur);
    }
    // inflate a few durations in place (the ROCm case): they run over the slices that follow
    for (const x of s) {
      if (r() < 0.06) x.dur = Math.floor(r() * (r() < 0.5 ? 600 : 3000));
    }
    const want = oracle(s);
    const got = findSuspectDurations(input(s));
    total += want.length;
    onlyContains += want.filter((x) => x.contains && !x.outlier).length;
    onlyOutlier += want.filter((x) => !x.contains && x.outlier).length;
    assert.deepEqual(got.map((x) => ({ index: x.index, contained: x.containedLater, overlapped: x.overlappedLater, median: x.medianOthersNs, contains: x.contains, outlier: x.outlier })), want, `seed ${seed}`);
  }
  assert.ok(total > 50 && onlyContains > 10 && onlyOutlier > 10, `the random cases hold suspects of each rule (${total}: ${onlyContains} by containment only, ${onlyOutlier} by duration only)`);
});
