/**
 * `fixTrace` on every real Kineto trace of the corpus and on hand-made edge cases, checked
 * against the independent oracle in test/helpers.ts (own JSON splitter, exact decimal time,
 * own nesting sweep, own lane lower bound, own flow binding).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { copyFile, rm } from 'node:fs/promises';
import path from 'node:path';

import { fixTrace, type FixResult } from '../../src/pipeline/fix.js';
import {
  FLOW_PHASES, FlowBinder, PDL_EAGER, REAL, analyseFix, argsOf, crossingSlices, crossingsByTrack, edgeFixture, groupBy,
  laneLowerBound, loadTrace, makeTempDir, pidOfTrack, readDecompressed, realKinetoTraces, relToRepo, slicesOf, sortIndices,
  sum, threadNames, tidOfTrack, trackKey, twoLanesSuffice, type Ev, type FixAnalysis, type LoadedTrace,
} from '../helpers.js';

const ok = (cond: boolean, msg: string): void => assert.ok(cond, msg);

/** Files the corpus manifest says have kernels (or CPU spans) that start before the previous ends. */
const KNOWN_OVERLAPPING = new Set([
  'h200/pdl-eager.trace.json.gz',
  'h200/pdl-cudagraph.trace.json.gz',
  'h200/tp2/1763900000-TP-0.trace.json.gz',
  'h200/tp2/1763900000-TP-1.trace.json.gz',
  'public/tracelens/b200_eager_trace.json.gz',
]);

let tmp: string;
before(async () => { tmp = await makeTempDir('fix'); });
after(async () => { await rm(tmp, { recursive: true, force: true }); });

interface Case {
  result: FixResult;
  input: LoadedTrace;
  output: LoadedTrace;
  outBytes: Buffer;
  analysis: () => FixAnalysis;
}

async function runFix(file: string, outName: string): Promise<Case> {
  const out = path.join(tmp, outName);
  const result = await fixTrace(file, { output: out });
  const input = loadTrace(readDecompressed(file));
  const outBytes = readDecompressed(out);
  const output = loadTrace(outBytes);
  let memo: FixAnalysis | undefined;
  return { result, input, output, outBytes, analysis: () => (memo ??= analyseFix(input, output, ok)) };
}

/** The kernel (X with args.correlation == flow id, same track, same ts) an ac2g flow end points at. */
function kernelIndex(t: LoadedTrace): Map<string, Ev[]> {
  const m = new Map<string, Ev[]>();
  for (const e of t.events) {
    if (e.ph !== 'X') continue;
    const c = argsOf(t, e)?.['correlation'];
    if (typeof c !== 'number') continue;
    const k = String(c);
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(e);
  }
  return m;
}

for (const file of realKinetoTraces()) {
  const rel = path.relative(REAL, file);
  describe(`fix ${relToRepo(file)}`, () => {
    let c: Case;
    before(async () => { c = await runFix(file, path.basename(file).replace(/\.json\.gz$/, '.fixed.json.gz')); });
    after(() => { c = undefined as unknown as Case; });

    it('(a) the output has no complete event crossing another on its track', () => {
      const before = sum(crossingsByTrack(slicesOf(c.input)).values());
      const after = crossingsByTrack(slicesOf(c.output));
      for (const [track, n] of after) assert.equal(n, 0, `track ${track} still has ${n} crossing slices`);
      if (KNOWN_OVERLAPPING.has(rel)) {
        assert.ok(before > 0, 'the manifest says this trace has overlapping slices');
        assert.ok(c.result.summary.slicesMoved > 0);
      }
      // something moved exactly when something crossed
      assert.equal(c.result.summary.slicesMoved > 0, before > 0);
      // no real trace has a device slice with a suspect duration (test/pipeline/suspect.test.ts)
      assert.deepEqual(c.result.summary.suspect, { slices: 0, tracks: 0, flowsMoved: 0 });
      // Only what crosses moves: in these real traces every slice that does not cross has a
      // container on the original track (or none), so it stays there. A rule that moved whole
      // call stacks along with a crossing annotation (e.g. "tightest container") fails this:
      // on tp2 TP-0 it moved 11,291 slices for 90 crossings.
      if (KNOWN_OVERLAPPING.has(rel)) assert.equal(c.result.summary.slicesMoved, before);
    });

    it('(b) the output holds the input events unchanged but for tids of moved events, plus thread metadata', () => {
      const a = c.analysis();
      // also valid JSON for a real parser, with the same number of events
      const parsed = JSON.parse(c.outBytes.toString('utf8')) as { traceEvents: unknown[] };
      assert.equal(parsed.traceEvents.length, c.output.events.length);
      const extraLanes = sum([...a.laneTids.values()].map((s) => s.size));
      assert.equal(a.added.filter((e) => e.name === 'thread_name').length, extraLanes);
      // the summary agrees with what actually changed
      const s = c.result.summary;
      const moved = [...a.moved].map((i) => c.input.events[i]!);
      assert.equal(s.slicesMoved, moved.filter((e) => e.ph === 'X').length);
      assert.equal(s.flowsMoved, moved.filter((e) => FLOW_PHASES.has(e.ph ?? '')).length);
      assert.equal(s.lanesAdded, extraLanes);
      assert.equal(s.tracksTouched, a.laneTids.size);
      assert.equal(sum(s.byCategory.map((x) => x.moved)), s.slicesMoved);
      assert.equal(c.result.events, c.input.events.length);
      for (const t of s.tracks) {
        const key = trackKey(JSON.stringify(typeof t.pid === 'string' && !/^-?\d+$/.test(t.pid) ? t.pid : Number(t.pid)),
          JSON.stringify(typeof t.tid === 'string' && !/^-?\d+$/.test(t.tid) ? t.tid : Number(t.tid)));
        assert.equal(a.lanes.get(key), t.lanes, `summary lanes of ${key}`);
      }
    });

    it('(c) every ac2g flow end still lands on its kernel (same track, same ts)', () => {
      const a = c.analysis();
      const kernels = kernelIndex(c.input);
      let checked = 0;
      let ac2gEnds = 0;
      for (const f of c.input.events) {
        if (f.ph !== 'f' || f.cat !== 'ac2g' || f.idRaw === undefined) continue;
        ac2gEnds++;
        const id = String(JSON.parse(f.idRaw));
        const target = (kernels.get(id) ?? []).filter((k) => k.track === f.track && k.ts === f.ts);
        if (target.length !== 1) continue;
        const k = target[0]!;
        const fo = c.output.events[f.index]!;
        const ko = c.output.events[k.index]!;
        assert.equal(fo.track, ko.track, `flow #${f.index} (id ${id}) is on ${fo.track}, its kernel #${k.index} on ${ko.track}`);
        assert.equal(fo.tsRaw, ko.tsRaw);
        checked++;
      }
      // in these files every launch arrow end sits on exactly one kernel: the check covers them all
      assert.equal(checked, ac2gEnds, `only ${checked} of ${ac2gEnds} ac2g flow ends matched a kernel`);
      // arrows into moved kernels moved too
      const movedKernels = [...a.moved].filter((i) => c.input.events[i]!.ph === 'X' && c.input.events[i]!.cat === 'kernel').length;
      if (movedKernels > 0) assert.ok([...a.moved].some((i) => c.input.events[i]!.ph === 'f'));
    });

    it('(c2) every flow event stays with the slice it binds to (s/t/f bp=e: enclosing; f: next)', () => {
      const inSlices = slicesOf(c.input);
      const binder = new FlowBinder(inSlices);
      let bound = 0;
      for (const f of c.input.events) {
        if (!FLOW_PHASES.has(f.ph ?? '') || f.ts === undefined) continue;
        const cands = binder.candidates(f);
        const fo = c.output.events[f.index]!;
        if (cands.length === 0) {
          assert.equal(fo.tidRaw, f.tidRaw, `unbound flow #${f.index} moved`);
          continue;
        }
        const tracks = new Set(cands.map((s) => c.output.events[s.ev.index]!.track));
        if (tracks.size !== 1) continue; // an exact tie split over lanes: either is right
        assert.equal(fo.track, [...tracks][0], `flow #${f.index} (${f.ph} ts ${f.tsRaw}) left its slice #${cands[0]!.ev.index}`);
        bound++;
      }
      if (c.input.events.some((e) => FLOW_PHASES.has(e.ph ?? ''))) assert.ok(bound > 0);
    });

    it('(d) fixing the output again changes nothing', async () => {
      const again = await runFix(path.join(tmp, path.basename(file).replace(/\.json\.gz$/, '.fixed.json.gz')),
        path.basename(file).replace(/\.json\.gz$/, '.fixed2.json.gz'));
      assert.equal(again.result.summary.slicesMoved, 0);
      assert.equal(again.result.summary.flowsMoved, 0);
      assert.ok(again.outBytes.equals(c.outBytes), 'second fix output is not byte-identical to the first');
    });

    it('(e) every ts and dur keeps its exact text', () => {
      const a = c.analysis(); // byte-compares every event outside the tid
      let unchanged = 0;
      for (let i = 0; i < c.input.events.length; i++) {
        const x = c.input.events[i]!;
        const y = c.output.events[i]!;
        assert.equal(y.tsRaw, x.tsRaw);
        assert.equal(y.durRaw, x.durRaw);
        if (!a.moved.has(i)) {
          ok(c.input.buf.subarray(x.start, x.end).equals(c.output.buf.subarray(y.start, y.end)) || x.name === 'thread_sort_index', `event #${i} text changed`);
          unchanged++;
        }
      }
      assert.equal(unchanged + a.moved.size, c.input.events.length);
      // and the bytes around the events array (top level, before the first event) are the same
      const first = c.input.events[0];
      if (first) assert.ok(c.input.buf.subarray(0, first.start).equals(c.output.buf.subarray(0, c.output.events[0]!.start)));
    });

    it('(f) each track gets the minimum number of lanes (largest set of pairwise crossing slices)', () => {
      const a = c.analysis();
      for (const [track, l] of groupBy(slicesOf(c.input), (s) => s.track)) {
        const bound = laneLowerBound(l);
        const lanes = a.lanes.get(track);
        if (lanes === bound) continue;
        const why = bound === 2 && twoLanesSuffice(l) ? ' (and two lanes do suffice: the crossing graph is bipartite)' : '';
        assert.fail(`track ${JSON.stringify(track)}: ${lanes} lanes, but at most ${bound} slices pairwise cross${why}`);
      }
    });

    it('(g) new tracks are named "<name> (overlap k)" and sort right after their original', () => {
      const a = c.analysis();
      const inNames = threadNames(c.input);
      const outNames = threadNames(c.output);
      const sorts = sortIndices(c.output);
      const outTracks = new Set(c.output.events.map((e) => e.track));
      for (const [orig, news] of a.laneTids) {
        const tid = tidOfTrack(orig);
        const base = (inNames.get(orig) ?? '').trim() || String(tid);
        const byK = new Map<number, string>();
        for (const t of news) {
          const name = outNames.get(t);
          const m = name === undefined ? null : /^(.*) \(overlap (\d+)\)$/s.exec(name);
          assert.ok(m, `lane ${t} of ${orig} is named ${String(name)}`);
          assert.equal(m[1], base, `lane ${t} of ${orig}: name ${name}`);
          assert.equal(byK.has(Number(m[2])), false, `two lanes named overlap ${m[2]}`);
          byK.set(Number(m[2]), t);
        }
        assert.deepEqual([...byK.keys()].sort((x, y) => x - y), Array.from({ length: news.size }, (_, i) => i + 1));
        // sort order: original, overlap 1, overlap 2, ... with no other thread of the pid in between
        const chain = [orig, ...[...byK.keys()].sort((x, y) => x - y).map((k) => byK.get(k)!)];
        const idx = chain.map((t) => sorts.get(t));
        for (const [i, v] of idx.entries()) assert.ok(v !== undefined, `no sort index for ${chain[i]}`);
        for (let i = 1; i < idx.length; i++) assert.ok(idx[i]! > idx[i - 1]!, `sort index of ${chain[i]} (${idx[i]}) not after ${chain[i - 1]} (${idx[i - 1]})`);
        const lo = idx[0]!;
        const hi = idx[idx.length - 1]!;
        for (const other of outTracks) {
          if (chain.includes(other) || pidOfTrack(other) !== pidOfTrack(orig)) continue;
          const v = sorts.get(other);
          if (v === undefined) continue;
          assert.ok(v < lo || v > hi, `thread ${other} (sort ${v}) sorts between ${orig} (${lo}) and its last lane (${hi})`);
        }
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Hand-made edge cases. Expected tids were worked out by hand; see each comment.

/** Fixes an edge fixture to plain JSON and returns the per-event output tids and the analysis. */
async function fixEdge(name: string): Promise<Case & { tids: unknown[]; names: Map<string, string> }> {
  const out = path.join(tmp, name.replace(/\.json$/, '.fixed.json'));
  const result = await fixTrace(edgeFixture(name), { output: out });
  const input = loadTrace(readFileSync(edgeFixture(name)));
  const outBytes = readFileSync(out);
  const output = loadTrace(outBytes);
  const analysis = analyseFix(input, output, ok);
  // generic invariants hold on every edge case too
  for (const [t, n] of crossingsByTrack(slicesOf(output))) assert.equal(n, 0, `${name}: ${t} still crosses`);
  for (const [t, l] of groupBy(slicesOf(input), (s) => s.track)) assert.equal(analysis.lanes.get(t), laneLowerBound(l), `${name}: lanes of ${t}`);
  // fixing again is a no-op
  const out2 = path.join(tmp, name.replace(/\.json$/, '.fixed2.json'));
  const again = await fixTrace(out, { output: out2 });
  assert.equal(again.summary.slicesMoved, 0);
  assert.ok(readFileSync(out2).equals(outBytes), `${name}: second fix changed the output`);
  const full = JSON.parse(outBytes.toString('utf8')) as { traceEvents?: { tid: unknown }[] } | { tid: unknown }[];
  const evs = Array.isArray(full) ? full : full.traceEvents!;
  return { result, input, output, outBytes, analysis: () => analysis, tids: evs.slice(0, input.events.length).map((e) => e.tid), names: threadNames(output) };
}

/** thread_name of an output track given pid and tid values. */
const nameOf = (names: Map<string, string>, pid: unknown, tid: unknown): string | undefined => names.get(trackKey(JSON.stringify(pid), JSON.stringify(tid)));

describe('fix edge cases', () => {
  it('equal-start-times: identical slices nest; only the one crossing them moves', async () => {
    // pid 1 tid 10 "worker " : A 100+50, B 100+80, C 100+50 (same as A), D 120+60.
    // Order (ts, longer first): B, A, C, D. A and C nest in B (and C in A: equal ends nest).
    // D (120-180) starts inside C (ends 150) and ends after it: crossing -> lane 1.
    // pid 1 also has tid 20, so the new tid is max(10, 20) + 1 = 21.
    const r = await fixEdge('equal-start-times.json');
    assert.deepEqual(r.tids, [10, 20, 10, 10, 10, 21]);
    assert.equal(r.result.summary.slicesMoved, 1);
    assert.equal(r.result.summary.lanesAdded, 1);
    assert.equal(nameOf(r.names, 1, 21), 'worker (overlap 1)'); // trailing space of "worker " trimmed
  });

  it('zero-duration: zero-length slices never need a lane', async () => {
    // pid 1 tid 1: A 0-100, Z1 @50 dur 0, Z2 @100 dur 0.0, B 60-120, Z3 @110 dur 0, Z4 @60 dur 0.
    // Only B crosses A: B -> lane 1 = tid 2 (max tid 1 + 1). A zero-length slice never needs a
    // lane of its own; it goes to the lowest lane with an open slice that contains it:
    // Z1 @50 and Z4 @60 into A (lane 0); Z2 @100 and Z3 @110 into B (A has closed by then).
    const r = await fixEdge('zero-duration.json');
    assert.deepEqual(r.tids, [1, 1, 2, 2, 2, 1]);
    assert.equal(r.result.summary.slicesMoved, 3);
    assert.equal(r.result.summary.lanesAdded, 1);
    assert.equal(nameOf(r.names, 1, 2), '1 (overlap 1)'); // no thread_name: the tid is the name
  });

  it('touching-end-start: a slice starting exactly when another ends needs no lane', async () => {
    // A 0-100, E 50-100 (ends with A), B 100-200 (starts when A ends), D 150-200 (ends with B),
    // C 200-250. Everything nests: output is the input byte for byte.
    const r = await fixEdge('touching-end-start.json');
    assert.equal(r.result.summary.slicesMoved, 0);
    assert.ok(r.outBytes.equals(readFileSync(edgeFixture('touching-end-start.json'))));
  });

  it('depth-3-overlap: three pairwise crossing slices need exactly 3 lanes', async () => {
    // pid 2 tid 5: A 0-100, B 50-150, C 90-190 cross pairwise at 90..100 -> 3 lanes.
    // B -> lane 1 = tid 6, C -> lane 2 = tid 7. E 95-99 is inside A, B and C: the lowest lane
    // with a container is A's (lane 0). D 160-170 starts after A and B closed, inside C -> lane 2.
    const r = await fixEdge('depth-3-overlap.json');
    assert.deepEqual(r.tids, [5, 6, 7, 7, 5]);
    assert.equal(r.result.summary.lanesAdded, 2);
    assert.deepEqual(r.result.summary.tracks.map((t) => t.lanes), [3]);
    assert.equal(nameOf(r.names, 2, 6), '5 (overlap 1)');
    assert.equal(nameOf(r.names, 2, 7), '5 (overlap 2)');
  });

  it('unsorted-input: the file order does not matter, the ts order does', async () => {
    // File order B 50-150, A 0-100, D 200-300, C 20-40. By ts: A, C (in A), B (crosses A), D.
    // B is first in the file and the only one to move: tid 3 -> 4.
    const r = await fixEdge('unsorted-input.json');
    assert.deepEqual(r.tids, [4, 3, 3, 3]);
    assert.equal(r.result.summary.slicesMoved, 1);
  });

  it('string-pids-tids: "Spans" and "" pids/tids get string lane tids', async () => {
    // pid "Spans" tid "Trace" (thread_name "PyTorch trace"): A 0-100, B 50-150 -> B to lane 1.
    // pid "" tid "": C 0-10, D 5-20 -> D to lane 1. String tids get a string lane tid,
    // "<tid> (overlap k)"; the name is "<thread name> (overlap k)" (the tid when unnamed: "").
    const r = await fixEdge('string-pids-tids.json');
    assert.deepEqual(r.tids, ['Trace', 'Trace', 'Trace (overlap 1)', '', ' (overlap 1)', 7]);
    assert.equal(nameOf(r.names, 'Spans', 'Trace (overlap 1)'), 'PyTorch trace (overlap 1)');
    assert.equal(nameOf(r.names, '', ' (overlap 1)'), ' (overlap 1)');
    assert.equal(r.result.summary.tracksTouched, 2);
  });

  it('missing-dur: an X without numeric dur is zero-length and diagnosed', async () => {
    // A 0-100; M1 @50 no dur; M2 @150 dur null; N 20-30. M1 and M2 count as zero-length:
    // nothing crosses. Two complete_event_missing_dur.
    const r = await fixEdge('missing-dur.json');
    assert.equal(r.result.summary.slicesMoved, 0);
    assert.equal(r.result.diagnostics.count('complete_event_missing_dur'), 2);
  });

  it('flow-end-before-start-in-file: the f before its s still moves with its kernel', async () => {
    // File: f2 @120, f1 @100 (pid 0 tid 7, bp e), K2 120-170 (corr 2), K1 100-150 (corr 1),
    // then on pid 1 tid 1: L1 10-15, s1 @10, L2 20-25, s2 @20.
    // K2 crosses K1 -> lane 1 = tid 8. f2 @120 is inside K1 and K2; the deepest (latest start)
    // is K2, so f2 moves to tid 8. f1 @100 is only inside K1: stays.
    const r = await fixEdge('flow-end-before-start-in-file.json');
    assert.deepEqual(r.tids, [8, 7, 8, 7, 1, 1, 1, 1]);
    assert.equal(r.result.summary.flowsMoved, 1);
  });

  it('bare-array: the array form comes out as an array with the lane metadata appended', async () => {
    // [thread_name "main", A 0-10, B 5-15] on pid 1 tid 1 -> B to tid 2.
    const r = await fixEdge('bare-array.json');
    assert.equal(r.output.raw.shape, 'array');
    assert.deepEqual(r.tids, [1, 1, 2]);
    assert.equal(nameOf(r.names, 1, 2), 'main (overlap 1)');
  });

  it('long-tid: a 300-character string tid is moved like any other', async () => {
    // pid 1, tid "T"*300: A 0-100, B 50-150 -> B to lane 1, tid "TTT... (overlap 1)".
    const r = await fixEdge('long-tid.json');
    const tid = 'T'.repeat(300);
    assert.deepEqual(r.tids, [tid, `${tid} (overlap 1)`]);
  });

  it('flow-next-binding: f without bp binds to the next slice', async () => {
    // pid 0 tid 7: K1 100-150, K2 120-170 (crosses K1 -> tid 8).
    // f id 1 @90 (no bp): next slice is K1 -> stays.
    // f id 2 @115 (no bp): next slice starting at/after 115 is K2 -> moves (though it is
    //   inside K1, which would be its enclosing slice had it bp "e").
    // f id 3 @120 (no bp): K2 starts exactly at 120 -> moves.
    // f id 4 @140 bp "e": enclosing, deepest is K2 -> moves.
    // f id 5 @155 (no bp): no slice starts at/after 155 -> unbound, stays.
    const r = await fixEdge('flow-next-binding.json');
    assert.deepEqual(r.tids, [7, 8, 7, 8, 8, 8, 7, 1, 1, 1, 1, 1, 1]);
    assert.equal(r.result.summary.flowsMoved, 3);
  });
});

// A sanity check of the oracle itself, so a broken sweep cannot pass everything vacuously.
describe('oracle self-check', () => {
  it('the sweep finds the crossing in a two-slice example and the bound is 2', () => {
    const t = loadTrace(Buffer.from('[{"ph":"X","pid":1,"tid":1,"ts":0,"dur":10},{"ph":"X","pid":1,"tid":1,"ts":5,"dur":10}]'));
    const s = slicesOf(t);
    assert.equal(crossingSlices(s).length, 1);
    assert.equal(laneLowerBound(s), 2);
  });

  it('exact time: two absolute ts that are the same double are still ordered', () => {
    const t = loadTrace(Buffer.from('[{"ph":"X","pid":1,"tid":1,"ts":1712195495519689.047,"dur":0.001},{"ph":"X","pid":1,"tid":1,"ts":1712195495519689.048,"dur":0.001}]'));
    assert.equal(1712195495519689.047, 1712195495519689.048); // what JSON.parse would see
    const s = slicesOf(t);
    assert.ok(s[0]!.ts < s[1]!.ts);
    assert.equal(s[0]!.end, s[1]!.ts); // touching, not crossing
    assert.equal(crossingSlices(s).length, 0);
  });

  it('exact time matters: a float sweep over JSON.parse finds crossings that are not there', async () => {
    // ns_resolution has absolute epoch µs with 3 fraction digits (19 significant digits).
    const file = path.join(REAL, 'public', 'hta', 'ns_resolution_rank-0.pt.trace.json.gz');
    const doc = JSON.parse(readDecompressed(file).toString('utf8')) as { traceEvents: { ph: string; pid: unknown; tid: unknown; ts: number; dur?: number }[] };
    const byTrack = groupBy(doc.traceEvents.filter((e) => e.ph === 'X'), (e) => JSON.stringify([e.pid, e.tid]));
    let floatCrossings = 0;
    for (const l of byTrack.values()) {
      l.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
      const ends: number[] = [];
      for (const e of l) {
        const end = e.ts + Math.max(0, e.dur ?? 0);
        while (ends.length > 0 && ends[ends.length - 1]! <= e.ts) ends.pop();
        if (ends.length > 0 && ends[ends.length - 1]! < end) { floatCrossings++; continue; }
        ends.push(end);
      }
    }
    assert.ok(floatCrossings > 0, 'expected doubles to misjudge some slices of this file');
    assert.equal(sum(crossingsByTrack(slicesOf(loadTrace(readDecompressed(file)))).values()), 0);
    const r = await fixTrace(file, { output: path.join(tmp, 'ns.fixed.json.gz') });
    assert.equal(r.summary.slicesMoved, 0); // traceforge decides on exact time, like the oracle
  });

  it('fixing a copy under another name gives the same bytes', async () => {
    const copy = path.join(tmp, 'copy-of-pdl-eager.json.gz');
    await copyFile(PDL_EAGER, copy);
    await fixTrace(copy, { output: path.join(tmp, 'copy.fixed.json.gz') });
    await fixTrace(PDL_EAGER, { output: path.join(tmp, 'orig.fixed.json.gz') });
    assert.ok(readDecompressed(path.join(tmp, 'copy.fixed.json.gz')).equals(readDecompressed(path.join(tmp, 'orig.fixed.json.gz'))));
  });
});
