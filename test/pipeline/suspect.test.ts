/**
 * Suspect device durations end to end: none on any real trace of the corpus (and the measured
 * margin to the thresholds, recomputed by the independent JSON walker of test/helpers.ts), and
 * the hand-made ROCm case (a real MI300X SGLang decode slice with one kernel's dur inflated):
 * `check` names it, `fix` moves it (and its launch arrow) to a "(suspect duration)" track and
 * changes nothing else, `merge` reports it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { checkTrace } from '../../src/pipeline/check.js';
import { fixTrace } from '../../src/pipeline/fix.js';
import { mergeTraces } from '../../src/pipeline/merge.js';
import { SUSPECT_RULES } from '../../src/analysis/suspect.js';
import {
  FLOW_PHASES, analyseFix, crossingsByTrack, edgeFixture, groupBy, loadTrace, loadTraceFile, readDecompressed, realKinetoTraces, relToRepo,
  runCli, slicesOf, sortIndices, threadNames, withTempDir, type Slice,
} from '../helpers.js';

const DEVICE_CATS = new Set(['kernel', 'gpu_memcpy', 'gpu_memset', 'Kernel', 'Memcpy', 'Memset']);
const ROCM = edgeFixture('rocm-inflated-kernel-dur.json');

interface Margin { contained: number; overlapped: number; ratio: number }

/**
 * Per device stream: the most later slices one slice contains entirely / runs past the start of,
 * and among slices that run past a later one, the largest dur / median of the other calls of
 * its name (with at least minOtherCalls of them). Exact: times in fs as BigInt.
 */
function margins(slices: Slice[]): Margin {
  const dev = slices.filter((s) => DEVICE_CATS.has(s.ev.cat ?? ''));
  const byName = groupBy(dev, (s) => s.ev.name ?? '');
  const m: Margin = { contained: 0, overlapped: 0, ratio: 0 };
  for (const track of groupBy(dev, (s) => s.track).values()) {
    for (const a of track) {
      const later = track.filter((b) => b.ts > a.ts && b.ts < a.end);
      const contained = later.filter((b) => b.end <= a.end).length;
      m.contained = Math.max(m.contained, contained);
      m.overlapped = Math.max(m.overlapped, later.length);
      if (later.length === 0) continue;
      const others = byName.get(a.ev.name ?? '')!.filter((b) => b !== a).map((b) => Number(b.end - b.ts)).sort((x, y) => x - y);
      if (others.length < SUSPECT_RULES.minOtherCalls) continue;
      const k = others.length;
      const median = k % 2 === 1 ? others[(k - 1) / 2]! : (others[k / 2 - 1]! + others[k / 2]!) / 2;
      if (median > 0) m.ratio = Math.max(m.ratio, Number(a.end - a.ts) / median);
    }
  }
  return m;
}

test('no real trace of the corpus has a suspect device duration, and each stays far from the thresholds', async () => {
  const files = realKinetoTraces();
  assert.ok(files.length >= 19, `${files.length} real traces`);
  for (const file of files) {
    const r = await checkTrace(file);
    assert.equal(r.suspectDurations, 0, relToRepo(file));
    assert.equal(r.diagnostics.count('suspect_device_duration'), 0, relToRepo(file));
    // the measurements behind the thresholds (docs/FORMATS-NOTES.md): no device slice contains a
    // later one of its stream, none runs past more than one, and slices that run into the next
    // are at most 1.5× the median of their name
    const m = margins(slicesOf(loadTraceFile(file)));
    assert.equal(m.contained, 0, `${relToRepo(file)}: a device slice contains ${m.contained} later ones`);
    assert.ok(m.overlapped <= 1, `${relToRepo(file)}: a device slice runs past ${m.overlapped} later ones`);
    assert.ok(m.ratio < 1.5, `${relToRepo(file)}: an overlapping device slice is ${m.ratio.toFixed(2)}× its median`);
  }
});

/** The fixture's facts, from its text: the inflated kernel, what it runs over, its arrow. */
function rocmFacts(): { victim: number; contained: number; overlapped: number; flows: number[]; track: string } {
  const t = loadTraceFile(ROCM);
  const kernels = slicesOf(t).filter((s) => s.ev.cat === 'kernel');
  const victims = kernels.filter((s) => s.ev.durRaw === '150.000');
  assert.equal(victims.length, 1);
  const v = victims[0]!;
  const later = kernels.filter((s) => s.track === v.track && s.ts > v.ts && s.ts < v.end);
  const flows = t.events.filter((e) => FLOW_PHASES.has(e.ph ?? '') && e.track === v.track && e.ts === v.ts).map((e) => e.index);
  return { victim: v.ev.index, contained: later.filter((s) => s.end <= v.end).length, overlapped: later.length, flows, track: v.track };
}

test('check names the inflated ROCm kernel: suspect_device_duration, one count, the event and what it runs over; exit 1', async () => {
  const f = rocmFacts();
  assert.ok(f.contained >= SUSPECT_RULES.minContained);
  const r = await checkTrace(ROCM);
  assert.equal(r.suspectDurations, 1);
  assert.equal(r.clean, false);
  const d = r.diagnostics.list().find((x) => x.name === 'suspect_device_duration');
  assert.ok(d);
  assert.equal(d.count, 1);
  assert.equal(d.severity, 'warning');
  const ex = d.examples[0]!;
  assert.equal(ex.index, f.victim);
  assert.equal(ex.ts, '4909914680077.25', 'the ts as the file writes it');
  assert.match(ex.name ?? '', /^void at::native::elementwise_kernel_manual_unroll<128, 8,/);
  assert.match(ex.detail ?? '', new RegExp(`on pid 9 tid 3 \\(stream 3\\): lasts 150 µs, past the start of ${f.overlapped} later slices of its stream \\(contains ${f.contained} entirely\\)`));

  const cli = runCli(['check', ROCM]);
  assert.equal(cli.status, 1, cli.stderr);
  assert.match(cli.stdout, /warning suspect_device_duration: 1 — /);
  assert.match(cli.stdout, new RegExp(`event #${f.victim}, "void at::native::elementwise_kernel_manual_unroll`));
  const json = runCli(['check', '--json', ROCM]);
  assert.equal(json.status, 1);
  const parsed = JSON.parse(json.stdout) as { suspectDurations: number; diagnostics: { name: string; count: number }[] }[];
  assert.equal(parsed[0]!.suspectDurations, 1);
  assert.deepEqual(parsed[0]!.diagnostics.filter((x) => x.name === 'suspect_device_duration').map((x) => x.count), [1]);
});

test('fix puts the inflated kernel and its launch arrow on "stream 3 (suspect duration)", not an overlap lane; every other byte as it was', async () => {
  const f = rocmFacts();
  assert.equal(f.flows.length, 1, 'one ac2g arrow end on the kernel');
  await withTempDir('suspect-fix', async (dir) => {
    const out = path.join(dir, 'fixed.json');
    const r = await fixTrace(ROCM, { output: out });
    const input = loadTrace(readFileSync(ROCM));
    const output = loadTrace(readDecompressed(out));
    // byte-identical except the tid of moved events and sort indices, plus thread metadata
    const a = analyseFix(input, output, (cond, msg) => assert.ok(cond, msg));
    assert.deepEqual([...a.moved].sort((x, y) => x - y), [f.flows[0]!, f.victim].sort((x, y) => x - y));
    const newTrack = output.events[f.victim]!.track;
    assert.notEqual(newTrack, f.track);
    assert.equal(output.events[f.flows[0]!]!.track, newTrack, 'the arrow end moved with its kernel');
    const names = threadNames(output);
    assert.equal(names.get(newTrack), 'stream 3 (suspect duration)');
    assert.ok(![...names.values()].some((n) => /overlap/.test(n)), 'no overlap lane');
    const sort = sortIndices(output);
    assert.equal(sort.get(newTrack), sort.get(f.track)! + 1, 'right after its stream');
    // the summary: a suspect move, not an overlap move
    assert.deepEqual(r.summary.suspect, { slices: 1, tracks: 1, flowsMoved: 1 });
    assert.equal(r.summary.slicesMoved, 0);
    assert.equal(r.summary.lanesAdded, 0);
    assert.equal(r.diagnostics.count('suspect_device_duration'), 1);
    // the result nests everywhere, and its stream no longer holds a suspect
    for (const [track, n] of crossingsByTrack(slicesOf(output))) assert.equal(n, 0, track);
    const again = await checkTrace(out);
    assert.equal(again.suspectDurations, 0);
    assert.equal(again.nonNesting, 0);

    const cli = runCli(['fix', ROCM, '-o', path.join(dir, 'cli.json')]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stderr, /1 device slice\(s\) with a duration that cannot be real moved to 1 "\(suspect duration\)" track/);
    assert.ok(readDecompressed(path.join(dir, 'cli.json')).equals(output.buf), 'the CLI writes the same bytes');
  });
});

test('merge reports the suspect kernel of each rank, and its fix moves it to the rank\'s "(suspect duration)" track; --no-fix still reports', async () => {
  await withTempDir('suspect-merge', async (dir) => {
    const ranks = path.join(dir, 'ranks');
    mkdirSync(ranks);
    const gz = gzipSync(readFileSync(ROCM));
    for (const k of [0, 1]) writeFileSync(path.join(ranks, `1775078550-TP-${k}.trace.json.gz`), gz);
    const { results } = await mergeTraces({ inputs: [ranks], output: path.join(dir, 'fixed.json.gz') });
    const r = results[0]!;
    assert.equal(r.suspectSlices, 2);
    assert.equal(r.diagnostics.count('suspect_device_duration'), 2);
    assert.equal(r.slicesMoved, 0);
    const out = loadTrace(readDecompressed(r.output));
    const suspectLanes = [...threadNames(out).entries()].filter(([, n]) => n === 'stream 3 (suspect duration)');
    assert.equal(suspectLanes.length, 2, 'one per rank');
    const onThem = out.events.filter((e) => e.ph === 'X' && suspectLanes.some(([t]) => t === e.track));
    assert.deepEqual(onThem.map((e) => e.durRaw), ['150.000', '150.000']);
    for (const [track, n] of crossingsByTrack(slicesOf(out))) assert.equal(n, 0, track);

    const noFix = await mergeTraces({ inputs: [ranks], output: path.join(dir, 'nofix.json.gz'), fix: false });
    assert.equal(noFix.results[0]!.diagnostics.count('suspect_device_duration'), 2);
  });
});
