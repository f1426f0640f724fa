/**
 * `mergeTraces` on real per-rank traces. Every output is read back independently
 * (test/merge-helpers.ts: a byte walker + JSON.parse, exact decimal times) and compared event by
 * event with its inputs; nothing is compared with a stored snapshot.
 *
 * Inputs are always copied into a temp dir so that outputs never land in test/fixtures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { mergeTraces } from '../../src/pipeline/merge.js';
import { checkTrace } from '../../src/pipeline/check.js';
import { TraceforgeError } from '../../src/errors.js';
import {
  HTA_0, HTA_1, NS, TP2_0, TP2_1, baseNsOf,
  checkLabels, checkMergedSegments, copyAs, flowBindings, loadTrace, nonNestingCount, processNames,
  rankFacts, readDecompressed, reclock, usScaled, withTempDir,
  type Ev, type Trace,
} from '../merge-helpers.js';

const US = 1_000_000_000n; // usScaled units per µs

/** Copies the two tp2 ranks under their own names into `dir`. */
function copyTp2(dir: string): void {
  copyAs(TP2_0, dir, '1763900000-TP-0.trace.json.gz');
  copyAs(TP2_1, dir, '1763900000-TP-1.trace.json.gz');
}

const tp2 = (): [Trace, Trace] => [loadTrace(TP2_0, true), loadTrace(TP2_1, true)];
const hta = (): [Trace, Trace] => [loadTrace(HTA_0, true), loadTrace(HTA_1, true)];

/** A predicate for assert.rejects: a TraceforgeError with this code whose message passes `check`. */
function tfError(code: string, check: (msg: string) => void = () => {}): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof TraceforgeError, `expected a TraceforgeError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    check(e.message);
    return true;
  };
}

const outPidRank = (pid: string | undefined): number => Math.floor(Number(pid) / 1000) - 1;
const isNccl = (e: Ev): boolean => e.ph === 'X' && e.v['cat'] === 'kernel' && /^nccl(Dev)?Kernel/.test(e.name ?? '');

/**
 * The physical check of a common clock on a 2-rank merge: the NCCL kernels of the two ranks,
 * each sorted by ts, pair up (same count) and each pair ENDS within 50 µs (an all-reduce
 * finishes on all ranks together). Also: the rank that starts last in most all-reduces is not
 * the one with the larger total NCCL kernel time (the earlier rank waits inside the kernel).
 */
function checkNcclClock(out: Trace): { pairs: number; worstUs: number; lastCount: number[]; totalMs: number[] } {
  const nccl = (k: number): { ts: bigint; end: bigint }[] => out.events
    .filter((e) => isNccl(e) && outPidRank(e.pid) === k)
    .map((e) => { const ts = usScaled(e.raw['ts'])!; return { ts, end: ts + usScaled(e.raw['dur'])! }; })
    .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  const k0 = nccl(0);
  const k1 = nccl(1);
  assert.ok(k0.length > 10, `${k0.length} NCCL kernels on rank 0`);
  assert.equal(k0.length, k1.length);
  const lastCount = [0, 0];
  const total = [0n, 0n];
  let worst = 0n;
  for (let i = 0; i < k0.length; i++) {
    const a = k0[i]!;
    const b = k1[i]!;
    const d = a.end > b.end ? a.end - b.end : b.end - a.end;
    if (d > worst) worst = d;
    assert.ok(d <= 50n * US, `all-reduce #${i}: ends ${Number(d) / 1e9} µs apart`);
    if (a.ts > b.ts) lastCount[0]!++; else if (b.ts > a.ts) lastCount[1]!++;
    total[0]! += a.end - a.ts;
    total[1]! += b.end - b.ts;
  }
  assert.notEqual(lastCount[0], lastCount[1]);
  assert.notEqual(total[0], total[1]);
  const usuallyLast = lastCount[0]! > lastCount[1]! ? 0 : 1;
  const longerTotal = total[0]! > total[1]! ? 0 : 1;
  assert.notEqual(usuallyLast, longerTotal, `last in ${JSON.stringify(lastCount)}, totals ${total.join(', ')}`);
  return { pairs: k0.length, worstUs: Number(worst) / 1e9, lastCount, totalMs: total.map((t) => Number(t) / 1e12) };
}

// ---------------------------------------------------------------------------------------------
// 1. tp2, default options

test('merge tp2 (defaults, fix on): every input event once, rank labels, per-rank ids, nesting, common clock', async () => {
  const [in0, in1] = tp2();
  await withTempDir('tp2', async (dir) => {
    copyTp2(dir);
    const { results } = await mergeTraces({ inputs: [dir] });
    assert.equal(results.length, 1);
    const r = results[0]!;
    assert.equal(r.output, path.join(dir, 'merged-1763900000.trace.json.gz'));
    assert.ok(existsSync(r.output));
    assert.deepEqual(r.ranks.map((x) => x.label), ['TP00', 'TP01']);
    const out = loadTrace(r.output);

    // Event by event: rank 0's events in file order, its added metadata, then rank 1's.
    const reps = checkMergedSegments(out, [{ input: in0, label: 'TP00' }, { input: in1, label: 'TP01' }], { fix: true });
    const [rep0, rep1] = reps as [typeof reps[0], typeof reps[0]];
    assert.equal(rep0.pairs.length, in0.events.length);
    assert.equal(rep1.pairs.length, in1.events.length);
    const added = rep0.added.length + rep1.added.length;
    assert.ok(added > 0, 'pids without a process_name (e.g. "Spans", -1) get one');
    assert.equal(out.events.length, in0.events.length + in1.events.length + added);
    assert.equal(out.events.filter((e) => e.ph === 'M').length, [in0, in1].reduce((n, t) => n + t.events.filter((e) => e.ph === 'M').length, 0) + added);
    assert.equal(r.eventsIn, in0.events.length + in1.events.length);
    assert.equal(r.eventsOut, out.events.length);
    assert.equal(r.filtered, 0);

    // The fix moved slices to lanes; the summary counts exactly the slices whose tid changed.
    const movedSlices = reps.reduce((n, rep) => n + rep.pairs.filter(([a, o]) => a.ph === 'X' && a.raw['tid'] !== o.raw['tid']).length, 0);
    assert.ok(movedSlices > 0);
    assert.equal(r.slicesMoved, movedSlices);

    // Labels: every output pid named once, with its rank label; ranks never share a pid.
    checkLabels(out, rep0, in0);
    checkLabels(out, rep1, in1);
    const pids0 = new Set(rep0.pidMap.values());
    const pids1 = new Set(rep1.pidMap.values());
    assert.equal(pids0.size, rep0.pidMap.size);
    assert.equal([...pids1].filter((p) => pids0.has(p)).length, 0);
    const names = processNames(out);
    for (const e of out.events) {
      if (e.pid === undefined) continue;
      const k = outPidRank(e.pid);
      const list = names.get(Number(e.pid));
      assert.ok(list?.length === 1 && list[0]!.startsWith(`[TP0${k}] `), `pid ${e.pid}: ${JSON.stringify(list)}`);
    }
    // the GPU of each rank, by name
    assert.ok([...names.values()].some((l) => l[0] === '[TP01] GPU 1'));
    assert.ok([...names.values()].some((l) => l[0] === '[TP01] python3 (pid 633)'));
    assert.ok([...names.values()].some((l) => l[0] === '[TP00] python3 (pid 632)'));

    // Flow ids: shared between the inputs, never between the ranks of the output.
    const flowIds = (t: Trace, pred: (e: Ev) => boolean): Set<string> =>
      new Set(t.events.filter((e) => (e.ph === 's' || e.ph === 'f' || e.ph === 't') && pred(e) && e.raw['id'] !== undefined).map((e) => e.raw['id']!));
    const inShared = [...flowIds(in0, () => true)].filter((id) => flowIds(in1, () => true).has(id));
    assert.ok(inShared.length > 0, 'the two inputs reuse flow ids (else this check proves nothing)');
    const out0 = flowIds(out, (e) => outPidRank(e.pid) === 0);
    const out1 = flowIds(out, (e) => outPidRank(e.pid) === 1);
    assert.ok(out0.size > 0 && out1.size > 0);
    assert.deepEqual([...out1].filter((id) => out0.has(id)), []);

    // args.correlation / "External id": rank 1 = input + 10^10, rank 0 unchanged (checked for
    // every event above; counted here so the check is known to have run).
    let corr1 = 0;
    let ext1 = 0;
    for (const [a, o] of rep1.pairs) {
      const aa = a.v['args'] as Record<string, unknown> | undefined;
      const oa = o.v['args'] as Record<string, unknown> | undefined;
      if (typeof aa?.['correlation'] === 'number') { corr1++; assert.equal(oa?.['correlation'], aa['correlation'] + 1e10); }
      if (typeof aa?.['External id'] === 'number') { ext1++; assert.equal(oa?.['External id'], aa['External id'] + 1e10); }
    }
    assert.ok(corr1 > 1000 && ext1 > 1000, `${corr1} correlation, ${ext1} External id args on rank 1`);
    for (const [a, o] of rep0.pairs) assert.deepEqual(o.v['args'], a.ph === 'M' ? o.v['args'] : a.v['args']);

    // Nesting: checkTrace and an independent sweep agree there is nothing left to fix,
    // while the inputs did have crossing slices.
    assert.ok(nonNestingCount(in0) + nonNestingCount(in1) > 0);
    assert.equal(nonNestingCount(out), 0);
    const check = await checkTrace(r.output);
    assert.equal(check.nonNesting, 0);
    assert.equal(check.events, out.events.length);

    // The common clock, physically: an all-reduce ends at (nearly) the same instant on both GPUs.
    // Measured on this fixture: 112 all-reduces, ends at most ~11.6 µs apart; rank 1 starts
    // last in 74 of them (rank 0 in 38); total NCCL kernel time is 382.2 ms on rank 0 (273.2 ms
    // of it in the first all-reduce, waiting for rank 1, which started profiling ~274 ms later)
    // and 44.0 ms on rank 1. The earlier-arriving rank waits inside the kernel, so the rank that
    // is usually last has the smaller total.
    const clock = checkNcclClock(out);
    assert.equal(clock.pairs, in0.events.filter(isNccl).length);
  });
});

test('ranks with different baseTimeNanoseconds are moved onto the smallest one (common clock kept)', async () => {
  const [orig0, in1] = tp2();
  await withTempDir('clock', async (dir) => {
    // Rank 0 re-expressed against a base 2 s + 537 ns later: same absolute times, other text.
    const D = 2_000_000_537n;
    const p0 = path.join(dir, '1763900000-TP-0.trace.json.gz');
    assert.equal(reclock(TP2_0, p0, D), orig0.events.filter((e) => e.raw['ts'] !== undefined).length);
    copyAs(TP2_1, dir, '1763900000-TP-1.trace.json.gz');
    const in0 = loadTrace(p0);
    assert.equal(baseNsOf(in0), baseNsOf(orig0)! + D);
    const { results } = await mergeTraces({ inputs: [dir] });
    const out = loadTrace(results[0]!.output);
    // the output's base is the smaller one (rank 1's), not the first rank's
    assert.equal(out.topRaw['baseTimeNanoseconds'], in1.topRaw['baseTimeNanoseconds']);
    // rank 0's ts are moved by +D (checked per event), which gives back the original times exactly
    const [rep0] = checkMergedSegments(out, [{ input: in0, label: 'TP00' }, { input: in1, label: 'TP01' }], { fix: true });
    let n = 0;
    rep0!.pairs.forEach(([a, o]) => {
      if (a.raw['ts'] === undefined) return;
      n++;
      assert.equal(usScaled(o.raw['ts']), usScaled(orig0.events[a.index]!.raw['ts']), `#${a.index}`);
    });
    assert.ok(n > 10000);
    checkNcclClock(out);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Options and filters

test('merge tp2 --no-fix: tids unchanged, no lanes added, crossings left as they were', async () => {
  const [in0, in1] = tp2();
  await withTempDir('nofix', async (dir) => {
    copyTp2(dir);
    const { results } = await mergeTraces({ inputs: [dir], fix: false });
    const r = results[0]!;
    const out = loadTrace(r.output);
    const reps = checkMergedSegments(out, [{ input: in0, label: 'TP00' }, { input: in1, label: 'TP01' }], { fix: false });
    for (const rep of reps) {
      assert.equal(rep.moved, 0);
      for (const [a, o] of rep.pairs) assert.equal(o.raw['tid'], a.raw['tid']);
      assert.deepEqual(rep.added.filter((e) => e.name === 'thread_name'), [], 'no lane names without the fix');
    }
    assert.equal(r.slicesMoved, 0);
    assert.equal(r.lanesAdded, 0);
    assert.equal(nonNestingCount(out), nonNestingCount(in0) + nonNestingCount(in1));
  });
});

test("merge tp2 tracks 'gpu': only events of GPU processes (and their metadata) are kept", async () => {
  const [in0, in1] = tp2();
  const g0 = rankFacts(in0).gpuPids;
  const g1 = rankFacts(in1).gpuPids;
  assert.ok(g0.has('0') && g1.has('1') && !g0.has('632') && !g1.has('633'));
  await withTempDir('gpu', async (dir) => {
    copyTp2(dir);
    const { results } = await mergeTraces({ inputs: [dir], tracks: 'gpu' });
    const out = loadTrace(results[0]!.output);
    const keep = (g: Set<string>) => (e: Ev): boolean => e.pid === undefined || g.has(e.pid);
    const reps = checkMergedSegments(out, [
      { input: in0, label: 'TP00', keep: keep(g0) },
      { input: in1, label: 'TP01', keep: keep(g1) },
    ], { fix: true });
    reps.forEach((rep, k) => {
      const input = k === 0 ? in0 : in1;
      const g = k === 0 ? g0 : g1;
      const keptX = rep.pairs.filter(([a]) => a.ph === 'X').length;
      const gpuX = input.events.filter((e) => e.ph === 'X' && e.pid !== undefined && g.has(e.pid)).length;
      const cpuX = input.events.filter((e) => e.ph === 'X' && e.pid !== undefined && !g.has(e.pid)).length;
      assert.ok(gpuX > 0 && cpuX > 0);
      assert.equal(keptX, gpuX);
      // every output pid of this rank is a GPU process, added metadata included
      const gpuOut = new Set([...rep.pidMap].filter(([p]) => g.has(p)).map(([, np]) => np));
      assert.equal(gpuOut.size, rep.pidMap.size);
      for (const e of rep.added) assert.ok(gpuOut.has(Number(e.pid)), `added metadata for a non-GPU pid: ${JSON.stringify(e.v)}`);
      checkLabels(out, rep, input);
      const names = processNames(out);
      for (const np of gpuOut) assert.match(names.get(np)![0]!, new RegExp(`^\\[TP0${k}\\] GPU \\d+$`));
    });
    assert.equal(results[0]!.filtered, in0.events.length + in1.events.length - reps[0]!.pairs.length - reps[1]!.pairs.length);
  });
});

/**
 * The name filter's documented rule, computed here: metadata kept; slices (and other named
 * events) by their name; a flow event with the slice it binds to (kept when it binds to none).
 */
function nameKeep(t: Trace, match: (name: string | undefined) => boolean): { keep: (e: Ev) => boolean; ambiguous: number; flowsKept: number; flowsDropped: number } {
  const verdict = new Map<Ev, boolean>();
  let ambiguous = 0;
  for (const [f, cands] of flowBindings(t)) {
    if (cands.length === 0) { verdict.set(f, true); continue; }
    const v = cands.map((c) => match(c.name));
    if (v.some((x) => x !== v[0])) ambiguous++;
    verdict.set(f, v[0]!);
  }
  // An arrow is kept whole: a flow id (cat, id) is dropped when any of its ends binds to a
  // dropped slice, so no half arrow is left behind.
  const key = (e: Ev): string => `${String(e.raw['cat'])}\u0001${JSON.stringify(e.raw['id'])}`;
  const droppedIds = new Set<string>();
  for (const [f, v] of verdict) if (!v) droppedIds.add(key(f));
  for (const f of verdict.keys()) verdict.set(f, !droppedIds.has(key(f)));
  const flowsKept = [...verdict.values()].filter((v) => v).length;
  return {
    keep: (e) => (e.ph === 'M' ? true : verdict.get(e) ?? (e.name === undefined ? true : match(e.name))),
    ambiguous, flowsKept, flowsDropped: verdict.size - flowsKept,
  };
}

const INCLUDE = '^(aten::|nccl|cuLaunchKernel)'; // NCCL launch arrows (cuLaunchKernelEx -> ncclDevKernel) survive whole
const EXCLUDE = '^aten::(empty|view)';
const nameMatch = (name: string | undefined): boolean => new RegExp(INCLUDE).test(name ?? '') && !new RegExp(EXCLUDE).test(name ?? '');

async function checkNameFilter(fix: boolean): Promise<void> {
  const [in0, in1] = tp2();
  const r0 = nameKeep(in0, nameMatch);
  const r1 = nameKeep(in1, nameMatch);
  assert.equal(r0.ambiguous + r1.ambiguous, 0, 'no flow binds to two equally deep slices of different verdicts');
  assert.ok(r0.flowsKept > 0 && r0.flowsDropped > 0 && r1.flowsKept > 0 && r1.flowsDropped > 0);
  await withTempDir('names', async (dir) => {
    copyTp2(dir);
    const { results } = await mergeTraces({ inputs: [dir], name: INCLUDE, exclude: EXCLUDE, fix });
    const out = loadTrace(results[0]!.output);
    for (const e of out.events) if (e.ph === 'X') assert.ok(nameMatch(e.name), `kept slice ${e.name}`);
    const reps = checkMergedSegments(out, [
      { input: in0, label: 'TP00', keep: r0.keep },
      { input: in1, label: 'TP01', keep: r1.keep },
    ], { fix });
    for (const [k, input] of [in0, in1].entries()) {
      const want = input.events.filter((e) => e.ph === 'X' && nameMatch(e.name)).length;
      const dropped = input.events.filter((e) => e.ph === 'X' && !nameMatch(e.name)).length;
      assert.ok(want > 0 && dropped > 0);
      assert.equal(reps[k]!.pairs.filter(([a]) => a.ph === 'X').length, want);
      assert.equal(reps[k]!.pairs.filter(([a]) => a.ph === 'M').length, input.events.filter((e) => e.ph === 'M').length);
    }
  });
}

test('merge tp2 name/exclude: slices by their name, arrows whole with the slices they bind to, metadata kept', async () => {
  await checkNameFilter(true);
});

test('merge tp2 name/exclude with --no-fix: flows still go with the slice they bind to', async () => {
  await checkNameFilter(false);
});

for (const reclocked of [false, true]) {
  test(`merge tp2 window (ms from the earliest event of all ranks${reclocked ? ', rank 1 on another base' : ''}): exactly the events overlapping it`, async () => {
    await withTempDir('window', async (dir) => {
      copyAs(TP2_0, dir, '1763900000-TP-0.trace.json.gz');
      const p1 = path.join(dir, '1763900000-TP-1.trace.json.gz');
      // rank 1 against a base 1.5 s EARLIER: other ts text, same absolute times
      if (reclocked) reclock(TP2_1, p1, -1_500_000_321n);
      else copyAs(TP2_1, dir, path.basename(p1));
      const ins = [loadTrace(TP2_0, true), loadTrace(p1)];
      const earliest = ins.map((t) => rankFacts(t).earliest!).reduce((x, y) => (y < x ? y : x));
      // Bounds with sub-ns digits: no event boundary can sit exactly on them.
      const wsMs = 300.123456789;
      const weMs = 310.987654321;
      const ws = 300123456789n * 1000n; // in usScaled units (1e-9 µs)
      const we = 310987654321n * 1000n;
      /** Time from the earliest event of all ranks: baseTimeNanoseconds + ts, exactly. */
      const rel = (t: Trace, e: Ev): bigint | undefined => {
        const ts = usScaled(e.raw['ts']);
        return ts === undefined ? undefined : (baseNsOf(t) ?? 0n) * NS + ts - earliest;
      };
      const keepFor = (t: Trace) => (e: Ev): boolean => {
        if (e.ph === 'M') return true;
        const s = rel(t, e);
        if (s === undefined) return true;
        const d = e.ph === 'X' ? usScaled(e.raw['dur']) ?? 0n : 0n;
        return s <= we && s + (d > 0n ? d : 0n) >= ws;
      };
      const { results } = await mergeTraces({ inputs: [dir], window: { start: wsMs, end: weMs, absolute: false } });
      const r = results[0]!;
      assert.deepEqual(r.windowMs, [wsMs, weMs]);
      const out = loadTrace(r.output);
      const reps = checkMergedSegments(out, ins.map((t, k) => ({ input: t, label: `TP0${k}`, keep: keepFor(t) })), { fix: true });
      for (const [k, t] of ins.entries()) {
        const xs = t.events.filter((e) => e.ph === 'X');
        const inside = xs.filter(keepFor(t)).length;
        assert.ok(inside > 100 && inside < xs.length / 2, `rank ${k}: ${inside} of ${xs.length} slices in the window`);
        assert.equal(reps[k]!.pairs.filter(([x]) => x.ph === 'X').length, inside);
      }
      // And on the output's own clock: every kept slice overlaps the window.
      const outBase = baseNsOf(out)!;
      let kept = 0;
      for (const e of out.events) {
        if (e.ph !== 'X') continue;
        kept++;
        const s = outBase * NS + usScaled(e.raw['ts'])! - earliest;
        const end = s + usScaled(e.raw['dur'])!;
        assert.ok(s <= we && end >= ws, `${e.name} at ${Number(s) / 1e12} ms`);
      }
      assert.equal(kept, reps[0]!.pairs.filter(([x]) => x.ph === 'X').length + reps[1]!.pairs.filter(([x]) => x.ph === 'X').length);
    });
  });
}

test('absolute window (µs in the output ts units) on epoch-µs traces: slices touching either bound are kept', async () => {
  const [h0, h1] = hta();
  // No baseTimeNanoseconds here: ts are epoch µs (~1.68e15), so ns do not fit a double exactly.
  assert.equal(baseNsOf(h0), undefined);
  // A: a slice in the middle of rank 0 with an integer end; the window starts exactly at its end
  // and ends exactly where B, a later slice of rank 0, starts.
  const xs = h0.events.filter((e) => e.ph === 'X');
  const A = xs.slice(xs.length / 2).find((e) => (usScaled(e.raw['ts'])! + usScaled(e.raw['dur'])!) % US === 0n)!;
  const ws = usScaled(A.raw['ts'])! + usScaled(A.raw['dur'])!;
  const B = xs.find((e) => usScaled(e.raw['ts'])! > ws + 2000n * US && usScaled(e.raw['ts'])! % US === 0n)!;
  assert.ok(A !== undefined && B !== undefined);
  const we = usScaled(B.raw['ts'])!;
  const keep = (e: Ev): boolean => {
    if (e.ph === 'M') return true;
    const t = usScaled(e.raw['ts']);
    if (t === undefined) return true;
    const d = e.ph === 'X' ? usScaled(e.raw['dur']) ?? 0n : 0n;
    return t <= we && t + (d > 0n ? d : 0n) >= ws;
  };
  await withTempDir('window-abs', async (dir) => {
    copyAs(HTA_0, dir, 'sampled_rank-0.json.gz');
    copyAs(HTA_1, dir, 'sampled_rank-1.json.gz');
    const { results } = await mergeTraces({ inputs: [dir], fix: false, window: { start: Number(ws / US), end: Number(we / US), absolute: true } });
    const out = loadTrace(results[0]!.output);
    const reps = checkMergedSegments(out, [{ input: h0, label: 'RANK00', keep }, { input: h1, label: 'RANK01', keep }], { fix: false });
    const kept = new Set(reps[0]!.pairs.map(([a]) => a));
    assert.ok(kept.has(A), `slice ending exactly at the window start (${A.name} ${A.raw['ts']}+${A.raw['dur']}) was dropped`);
    assert.ok(kept.has(B), `slice starting exactly at the window end (${B.name} ${B.raw['ts']}) was dropped`);
    for (const rep of reps) assert.ok(rep.pairs.filter(([a]) => a.ph === 'X').length > 10);
    // the window reported back, in ms from the earliest event, exactly
    const earliest = [h0, h1].map((t) => rankFacts(t).earliest!).reduce((x, y) => (y < x ? y : x));
    assert.deepEqual(results[0]!.windowMs, [Number(ws - earliest) / 1e12, Number(we - earliest) / 1e12]);
  });
});

test('merge tp2 ranks [1]: only rank 1, still labelled TP01', async () => {
  const [, in1] = tp2();
  await withTempDir('ranks', async (dir) => {
    copyTp2(dir);
    const { results } = await mergeTraces({ inputs: [dir], ranks: [1] });
    const r = results[0]!;
    assert.deepEqual(r.ranks.map((x) => [x.label, x.rank]), [['TP01', 1]]);
    const out = loadTrace(r.output);
    const [rep] = checkMergedSegments(out, [{ input: in1, label: 'TP01' }], { fix: true });
    assert.equal(rep!.pairs.length, in1.events.length);
    checkLabels(out, rep!, in1);
    for (const names of processNames(out).values()) assert.ok(names.every((n) => n.startsWith('[TP01] ')), JSON.stringify(names));
  });
});

// ---------------------------------------------------------------------------------------------
// 3. File names: stages, prefixes, DP/PP/EP, earlier outputs, several profiles, bad files

test('stage-split names: one merged file per stage, each holding its own stage files', async () => {
  const [t0, t1] = tp2();
  const [h0, h1] = hta();
  await withTempDir('stages', async (dir) => {
    copyAs(TP2_0, dir, '1763900000-TP-0-EXTEND.trace.json.gz');
    copyAs(TP2_1, dir, '1763900000-TP-1-EXTEND.trace.json.gz');
    // the DECODE files get other content, so that a mix-up between stages would show
    copyAs(HTA_0, dir, '1763900000-TP-0-DECODE.trace.json.gz');
    copyAs(HTA_1, dir, '1763900000-TP-1-DECODE.trace.json.gz');
    const { results } = await mergeTraces({ inputs: [dir] });
    assert.deepEqual(results.map((r) => path.basename(r.output)), ['merged-1763900000-EXTEND.trace.json.gz', 'merged-1763900000-DECODE.trace.json.gz']);
    const written = readdirSync(dir).filter((n) => n.startsWith('merged-')).sort();
    assert.deepEqual(written, ['merged-1763900000-DECODE.trace.json.gz', 'merged-1763900000-EXTEND.trace.json.gz']);
    const ext = loadTrace(path.join(dir, 'merged-1763900000-EXTEND.trace.json.gz'));
    const dec = loadTrace(path.join(dir, 'merged-1763900000-DECODE.trace.json.gz'));
    const re = checkMergedSegments(ext, [{ input: t0, label: 'TP00' }, { input: t1, label: 'TP01' }], { fix: true });
    const rd = checkMergedSegments(dec, [{ input: h0, label: 'TP00' }, { input: h1, label: 'TP01' }], { fix: true });
    checkLabels(ext, re[1]!, t1);
    checkLabels(dec, rd[1]!, h1);
  });
});

test('several stage groups: -o must be a directory (E_USAGE for a file name), and a directory takes them all', async () => {
  const [h0, h1] = hta();
  await withTempDir('stages-o', async (dir) => {
    copyAs(HTA_0, dir, '1763900000-TP-0-prefill.trace.json.gz');
    copyAs(HTA_1, dir, '1763900000-TP-1-prefill.trace.json.gz');
    copyAs(HTA_1, dir, '1763900000-TP-0-decode.trace.json.gz');
    copyAs(HTA_0, dir, '1763900000-TP-1-decode.trace.json.gz');
    await assert.rejects(mergeTraces({ inputs: [dir], output: path.join(dir, 'one.json.gz') }), tfError('E_USAGE', (m) => {
      assert.ok(m.includes('merged-1763900000-prefill.trace.json.gz') && m.includes('merged-1763900000-decode.trace.json.gz'), m);
    }));
    const outDir = path.join(dir, 'out');
    mkdirSync(outDir);
    const { results } = await mergeTraces({ inputs: [dir], output: outDir });
    assert.deepEqual(results.map((r) => r.output), [path.join(outDir, 'merged-1763900000-prefill.trace.json.gz'), path.join(outDir, 'merged-1763900000-decode.trace.json.gz')]);
    assert.deepEqual(readdirSync(outDir).sort(), ['merged-1763900000-decode.trace.json.gz', 'merged-1763900000-prefill.trace.json.gz']);
    checkMergedSegments(loadTrace(results[0]!.output), [{ input: h0, label: 'TP00' }, { input: h1, label: 'TP01' }], { fix: true });
    checkMergedSegments(loadTrace(results[1]!.output), [{ input: h1, label: 'TP00' }, { input: h0, label: 'TP01' }], { fix: true });
  });
});

test('cpuFirst lists a rank\'s CPU processes before its GPUs (default: GPUs first); string pids last', async () => {
  const [h0, h1] = hta();
  const gpu = rankFacts(h0).gpuPids;
  await withTempDir('cpufirst', async (dir) => {
    copyAs(HTA_0, dir, '1763900000-TP-0.trace.json.gz');
    copyAs(HTA_1, dir, '1763900000-TP-1.trace.json.gz');
    const outDir = path.join(dir, 'out'); // a subdirectory is not read as input
    mkdirSync(outDir);
    for (const cpuFirst of [false, true]) {
      const { results } = await mergeTraces({ inputs: [dir], cpuFirst, output: path.join(outDir, `cpu-first-${cpuFirst}.json`) });
      const out = loadTrace(results[0]!.output);
      const [rep] = checkMergedSegments(out, [{ input: h0, label: 'TP00' }, { input: h1, label: 'TP01' }], { fix: true });
      const g = [...rep!.pidMap].filter(([p]) => gpu.has(p)).map(([, n]) => n);
      const cpu = [...rep!.pidMap].filter(([p]) => !gpu.has(p) && /^\d+$/.test(p)).map(([, n]) => n);
      const str = [...rep!.pidMap].filter(([p]) => p.startsWith('"')).map(([, n]) => n);
      assert.ok(g.length > 0 && cpu.length > 0 && str.length > 0);
      if (cpuFirst) assert.ok(Math.max(...cpu) < Math.min(...g), `cpu ${cpu} gpu ${g}`);
      else assert.ok(Math.max(...g) < Math.min(...cpu), `gpu ${g} cpu ${cpu}`);
      assert.ok(Math.min(...str) > Math.max(...g, ...cpu));
      // the process order in the UI follows: process_sort_index = the new pid
      for (const e of out.events) {
        if (e.ph === 'M' && e.name === 'process_sort_index') assert.equal((e.v['args'] as Record<string, unknown>)['sort_index'], Number(e.pid));
      }
    }
  });
});

test('a prefix before the profile id is kept in the output name', async () => {
  const [h0, h1] = hta();
  await withTempDir('prefix', async (dir) => {
    copyAs(HTA_0, dir, 'myrun-1763900000-TP-0.trace.json.gz');
    copyAs(HTA_1, dir, 'myrun-1763900000-TP-1.trace.json.gz');
    const { results } = await mergeTraces({ inputs: [dir] });
    assert.equal(results.length, 1);
    assert.equal(results[0]!.output, path.join(dir, 'merged-myrun-1763900000.trace.json.gz'));
    assert.ok(existsSync(results[0]!.output));
    const out = loadTrace(results[0]!.output);
    const reps = checkMergedSegments(out, [{ input: h0, label: 'TP00' }, { input: h1, label: 'TP01' }], { fix: true });
    checkLabels(out, reps[0]!, h0);
    checkLabels(out, reps[1]!, h1);
  });
});

test('DP parts: ranks ordered by DP, then TP, and labelled TPxx-DPyy', async () => {
  const [h0, h1] = hta();
  await withTempDir('dp', async (dir) => {
    // sorted by name these would be s0, s1, s0, s1; by (DP, TP) they are s0, s0, s1, s1
    copyAs(HTA_0, dir, '1763900000-TP-0-DP-0.trace.json.gz');
    copyAs(HTA_1, dir, '1763900000-TP-0-DP-1.trace.json.gz');
    copyAs(HTA_0, dir, '1763900000-TP-1-DP-0.trace.json.gz');
    copyAs(HTA_1, dir, '1763900000-TP-1-DP-1.trace.json.gz');
    const { results } = await mergeTraces({ inputs: [dir] });
    const r = results[0]!;
    assert.equal(path.basename(r.output), 'merged-1763900000.trace.json.gz');
    const labels = ['TP00-DP00', 'TP01-DP00', 'TP00-DP01', 'TP01-DP01'];
    assert.deepEqual(r.ranks.map((x) => [x.label, path.basename(x.file)]), [
      ['TP00-DP00', '1763900000-TP-0-DP-0.trace.json.gz'],
      ['TP01-DP00', '1763900000-TP-1-DP-0.trace.json.gz'],
      ['TP00-DP01', '1763900000-TP-0-DP-1.trace.json.gz'],
      ['TP01-DP01', '1763900000-TP-1-DP-1.trace.json.gz'],
    ]);
    const out = loadTrace(r.output);
    const sources = [h0, h0, h1, h1];
    const reps = checkMergedSegments(out, sources.map((t, k) => ({ input: t, label: labels[k]! })), { fix: true });
    reps.forEach((rep, k) => checkLabels(out, rep, sources[k]!));
    const header = out.top['traceforgeMerge'] as { ranks: { label: string }[] };
    assert.deepEqual(header.ranks.map((x) => x.label), labels);
  });
});

test('PP and EP parts: ordered by PP then EP, labelled TPxx-PPyy-EPzz', async () => {
  const [h0, h1] = hta();
  await withTempDir('ppep', async (dir) => {
    copyAs(HTA_1, dir, '1763900000-TP-0-PP-1-EP-0.trace.json.gz');
    copyAs(HTA_0, dir, '1763900000-TP-0-PP-0-EP-1.trace.json.gz');
    const { results } = await mergeTraces({ inputs: [dir] });
    const r = results[0]!;
    assert.deepEqual(r.ranks.map((x) => x.label), ['TP00-PP00-EP01', 'TP00-PP01-EP00']);
    const out = loadTrace(r.output);
    const reps = checkMergedSegments(out, [{ input: h0, label: 'TP00-PP00-EP01' }, { input: h1, label: 'TP00-PP01-EP00' }], { fix: true });
    checkLabels(out, reps[0]!, h0);
    checkLabels(out, reps[1]!, h1);
  });
});

test('merged-* files in the directory are never merged again', async () => {
  const [h0, h1] = hta();
  await withTempDir('remerge', async (dir) => {
    copyAs(HTA_0, dir, '1763900000-TP-0.trace.json.gz');
    copyAs(HTA_1, dir, '1763900000-TP-1.trace.json.gz');
    const first = await mergeTraces({ inputs: [dir] });
    const firstOut = first.results[0]!.output;
    const n1 = loadTrace(firstOut).events.length;
    // an earlier output, and another merged-* file that would parse as a rank file
    copyAs(HTA_0, dir, 'merged-1763900000-TP-2.trace.json.gz');
    const again = await mergeTraces({ inputs: [dir] });
    assert.equal(again.results.length, 1);
    const r = again.results[0]!;
    assert.equal(r.output, firstOut);
    assert.deepEqual(r.ranks.map((x) => path.basename(x.file)), ['1763900000-TP-0.trace.json.gz', '1763900000-TP-1.trace.json.gz']);
    const out = loadTrace(r.output);
    assert.equal(out.events.length, n1);
    checkMergedSegments(out, [{ input: h0, label: 'TP00' }, { input: h1, label: 'TP01' }], { fix: true });
    assert.deepEqual(readdirSync(dir).sort(), ['1763900000-TP-0.trace.json.gz', '1763900000-TP-1.trace.json.gz', 'merged-1763900000-TP-2.trace.json.gz', 'merged-1763900000.trace.json.gz']);
  });
});

test('two profile ids (9.9 and 10.5): the newest, 10.5, is merged and a note says so', async () => {
  const [h0, h1] = hta();
  await withTempDir('profiles', async (dir) => {
    // 9.9 sorts after 10.5 as text; as numbers 10.5 is newer. Its ranks are swapped copies, so
    // merging the wrong id would show in the content.
    copyAs(HTA_1, dir, '9.9-TP-0.trace.json.gz');
    copyAs(HTA_0, dir, '9.9-TP-1.trace.json.gz');
    copyAs(HTA_0, dir, '10.5-TP-0.trace.json.gz');
    copyAs(HTA_1, dir, '10.5-TP-1.trace.json.gz');
    const { results, notes } = await mergeTraces({ inputs: [dir] });
    assert.equal(results.length, 1);
    assert.equal(results[0]!.output, path.join(dir, 'merged-10.5.trace.json.gz'));
    assert.ok(!existsSync(path.join(dir, 'merged-9.9.trace.json.gz')));
    assert.deepEqual(results[0]!.ranks.map((x) => path.basename(x.file)), ['10.5-TP-0.trace.json.gz', '10.5-TP-1.trace.json.gz']);
    const note = notes.find((n) => n.includes('10.5'));
    assert.ok(note !== undefined, JSON.stringify(notes));
    assert.match(note, /newest/);
    assert.match(note, /9\.9/);
    checkMergedSegments(loadTrace(results[0]!.output), [{ input: h0, label: 'TP00' }, { input: h1, label: 'TP01' }], { fix: true });
  });
});

test('a corrupt rank file stops the merge (naming it, writing nothing); skipBad merges the rest', async () => {
  const [h0] = hta();
  await withTempDir('corrupt', async (dir) => {
    copyAs(HTA_0, dir, '1763900000-TP-0.trace.json.gz');
    const bad = path.join(dir, '1763900000-TP-1.trace.json.gz');
    const gz = readFileSync(HTA_1);
    writeFileSync(bad, gz.subarray(0, Math.floor(gz.length * 0.6)));
    const before = readdirSync(dir).sort();
    await assert.rejects(mergeTraces({ inputs: [dir] }), (e: unknown) => {
      assert.ok(e instanceof TraceforgeError, String(e));
      assert.ok(e.message.includes(bad), e.message);
      assert.ok(!e.message.includes('TP-0.trace'), `only the bad file is named: ${e.message}`);
      return true;
    });
    assert.deepEqual(readdirSync(dir).sort(), before, 'no output (and no temp file) was left behind');

    const { results } = await mergeTraces({ inputs: [dir], skipBad: true });
    const r = results[0]!;
    assert.deepEqual(r.skipped.map((s) => s.file), [bad]);
    assert.ok(r.skipped[0]!.error.includes('1763900000-TP-1'), r.skipped[0]!.error);
    assert.deepEqual(r.ranks.map((x) => x.label), ['TP00']);
    const out = loadTrace(r.output);
    const [rep] = checkMergedSegments(out, [{ input: h0, label: 'TP00' }], { fix: true });
    checkLabels(out, rep!, h0);
  });
});

test('two files claiming the same rank: E_RANKS naming both, nothing written', async () => {
  await withTempDir('dupes', async (dir) => {
    // SGLang names: the same TP rank, gzipped and not
    const a = copyAs(HTA_0, dir, '1763900000-TP-0.trace.json.gz');
    const b = path.join(dir, '1763900000-TP-0.trace.json');
    writeFileSync(b, readDecompressed(HTA_1));
    copyAs(HTA_1, dir, '1763900000-TP-1.trace.json.gz');
    await assert.rejects(mergeTraces({ inputs: [dir] }), tfError('E_RANKS', (m) => {
      assert.ok(m.includes(a) && m.includes(b), m);
    }));
    assert.equal(readdirSync(dir).filter((n) => n.startsWith('merged-') || n.startsWith('.')).length, 0);
  });
  await withTempDir('dupes-loose', async (dir) => {
    // no rank in the names: both files say distributedInfo.rank 0 inside
    const a = copyAs(HTA_0, dir, 'worker_a.json.gz');
    const b = copyAs(HTA_0, dir, 'worker_b.json.gz');
    await assert.rejects(mergeTraces({ inputs: [dir] }), tfError('E_RANKS', (m) => {
      assert.ok(m.includes(a) && m.includes(b), m);
    }));
    assert.equal(readdirSync(dir).filter((n) => n.startsWith('merged-') || n.startsWith('.')).length, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Ranks from the content (no SGLang names)

test('hta sampled_rank-{0,1}: ranks from distributedInfo.rank, labels RANK00 / RANK01', async () => {
  const [h0, h1] = hta();
  const rankOf = (t: Trace): unknown => (t.top['distributedInfo'] as Record<string, unknown> | undefined)?.['rank'];
  assert.equal(rankOf(h0), 0);
  assert.equal(rankOf(h1), 1);
  await withTempDir('hta', async (dir) => {
    copyAs(HTA_0, dir, 'sampled_rank-0.json.gz');
    copyAs(HTA_1, dir, 'sampled_rank-1.json.gz');
    const { results, notes } = await mergeTraces({ inputs: [dir] });
    assert.equal(results.length, 1);
    const r = results[0]!;
    assert.ok(notes.some((n) => /distributedInfo\.rank/.test(n)), JSON.stringify(notes));
    assert.deepEqual(r.ranks.map((x) => [x.label, x.rank, path.basename(x.file)]), [
      ['RANK00', 0, 'sampled_rank-0.json.gz'],
      ['RANK01', 1, 'sampled_rank-1.json.gz'],
    ]);
    const out = loadTrace(r.output);
    const reps = checkMergedSegments(out, [{ input: h0, label: 'RANK00' }, { input: h1, label: 'RANK01' }], { fix: true });
    checkLabels(out, reps[0]!, h0);
    checkLabels(out, reps[1]!, h1);
    // world_size 128 in both files, 2 present
    assert.ok(r.warnings.some((w) => w.includes('128') && w.includes('2-127')), JSON.stringify(r.warnings));
  });
});

test('rank inside the file wins over a misleading rank-N in its name', async () => {
  const [h0, h1] = hta();
  await withTempDir('hta-swapped', async (dir) => {
    copyAs(HTA_0, dir, 'x_rank-1.json.gz'); // holds rank 0
    copyAs(HTA_1, dir, 'x_rank-0.json.gz'); // holds rank 1
    const { results } = await mergeTraces({ inputs: [dir] });
    const r = results[0]!;
    assert.deepEqual(r.ranks.map((x) => [x.label, path.basename(x.file)]), [['RANK00', 'x_rank-1.json.gz'], ['RANK01', 'x_rank-0.json.gz']]);
    const out = loadTrace(r.output);
    const reps = checkMergedSegments(out, [{ input: h0, label: 'RANK00' }, { input: h1, label: 'RANK01' }], { fix: true });
    checkLabels(out, reps[0]!, h0);
    checkLabels(out, reps[1]!, h1);
  });
});

