/**
 * `--split steps:N | time:MS` for fix and merge, `open --part`, and the Perfetto UI load
 * estimate — on bundled real traces, checked with the tests' own raw reader (test/helpers.ts:
 * its own JSON splitter, exact µs decimals as BigInt fs) against the unsplit output:
 * - the parts hold every event of the unsplit output exactly once, byte for byte (multisets of
 *   event texts), every metadata event and every top-level key in every part;
 * - each event sits in the window its exact ts falls in (steps: the earliest start of every N-th
 *   step; time: MS windows from the earliest event), flows whole in the part of their earliest event;
 * - each part passes `check`: nothing that does not nest, and no flow missing an end that the
 *   unsplit output did not already miss.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

import { fixTrace } from '../../src/pipeline/fix.js';
import { mergeTraces } from '../../src/pipeline/merge.js';
import { checkTrace } from '../../src/pipeline/check.js';
import { parseSplit, partPath, MAX_PARTS } from '../../src/pipeline/split.js';
import { estimateUiLoad, JSON_MEMORY_FACTOR, PERFETTO_UI_MEMORY_BYTES } from '../../src/pipeline/ui-load.js';
import { uiLine } from '../../src/cli/output-options.js';
import { CLI, FS_PER_US, freePort, loadTrace, loadTraceFile, usTextToFs, makeTempDir, readDecompressed, realFixture, runCli, type Ev, type LoadedTrace } from '../helpers.js';

const TINY = realFixture('h200', 'tiny', 'tiny-eager.trace.json.gz');
const TP2 = realFixture('h200', 'tp2');
const SAMPLED = realFixture('public', 'hta', 'sampled_rank-0.json.gz');

let tmp: string;
before(async () => { tmp = await makeTempDir('split'); });
after(async () => { await rm(tmp, { recursive: true, force: true }); });

const text = (t: LoadedTrace, e: Ev): string => t.buf.toString('utf8', e.start, e.end);
const isFlow = (e: Ev): boolean => e.ph === 's' || e.ph === 't' || e.ph === 'f';
const flowKey = (e: Ev): string => `${e.cat ?? ''}\u0001${e.idRaw ?? ''}`;

function multiset(xs: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** The window of an exact ts: the number of boundaries at or before it. */
const windowOf = (bounds: readonly bigint[], ts: bigint): number => bounds.filter((b) => b <= ts).length;

/**
 * Everything a split must keep, checked against the unsplit output with the raw reader:
 * returns the loaded parts.
 */
function assertPartsOf(unsplit: LoadedTrace, partFiles: readonly string[], bounds: readonly bigint[]): LoadedTrace[] {
  const parts = partFiles.map((p) => loadTraceFile(p));
  assert.equal(parts.length, bounds.length + 1, 'one part per window');
  const meta = unsplit.events.filter((e) => e.ph === 'M').map((e) => text(unsplit, e));
  const top = unsplit.raw.top;
  parts.forEach((p, k) => {
    // every metadata event and top-level key, in order, byte for byte
    assert.deepEqual(p.events.filter((e) => e.ph === 'M').map((e) => text(p, e)), meta, `part ${k}: all the metadata events`);
    assert.deepEqual(p.raw.top, top, `part ${k}: the same top-level keys before and after the events`);
    assert.equal(p.raw.shape, unsplit.raw.shape);
  });
  // every other event exactly once over all parts, its bytes unchanged
  const want = multiset(unsplit.events.filter((e) => e.ph !== 'M').map((e) => text(unsplit, e)));
  const got = multiset(parts.flatMap((p) => p.events.filter((e) => e.ph !== 'M').map((e) => text(p, e))));
  assert.equal(got.size, want.size, 'the same distinct events');
  for (const [t, c] of want) assert.equal(got.get(t), c, `event ${t.slice(0, 120)} appears ${c} time(s) over the parts`);
  // flows: every event of one (cat, id) in one part, the part of its earliest event
  const flowEvents = new Map<string, { min: bigint | undefined; parts: Set<number> }>();
  parts.forEach((p, k) => {
    for (const e of p.events) {
      if (!isFlow(e)) continue;
      const key = flowKey(e);
      let f = flowEvents.get(key);
      if (!f) flowEvents.set(key, (f = { min: undefined, parts: new Set() }));
      f.parts.add(k);
      if (e.ts !== undefined && (f.min === undefined || e.ts < f.min)) f.min = e.ts;
    }
  });
  for (const [key, f] of flowEvents) {
    assert.equal(f.parts.size, 1, `flow ${key} is whole in one part`);
    assert.equal([...f.parts][0], f.min === undefined ? 0 : windowOf(bounds, f.min), `flow ${key} is in the part of its earliest event`);
  }
  // every other event in the window of its start ts (none without a ts here)
  parts.forEach((p, k) => {
    for (const e of p.events) {
      if (e.ph === 'M' || isFlow(e)) continue;
      assert.ok(e.ts !== undefined, 'events have a ts');
      assert.equal(windowOf(bounds, e.ts), k, `${e.name} at ${e.tsRaw} is in part ${k}`);
    }
  });
  return parts;
}

/** `check` on every part: nothing new compared with the unsplit output. */
async function assertChecks(unsplit: string, partFiles: readonly string[]): Promise<void> {
  const whole = await checkTrace(unsplit);
  const count = (d: Awaited<ReturnType<typeof checkTrace>>, name: 'flow_missing_end' | 'flow_missing_start'): number => d.diagnostics.count(name);
  let ends = 0;
  let starts = 0;
  for (const p of partFiles) {
    const c = await checkTrace(p);
    assert.equal(c.nonNesting, 0, `${p}: every slice nests`);
    assert.equal(c.diagnostics.count('event_missing_ts') + c.diagnostics.count('event_missing_ph'), 0);
    ends += count(c, 'flow_missing_end');
    starts += count(c, 'flow_missing_start');
  }
  // the profiler's own dangling flows stay as they were; the split adds none
  assert.equal(ends, count(whole, 'flow_missing_end'), 'flows missing an end: as many as in the unsplit output');
  assert.equal(starts, count(whole, 'flow_missing_start'), 'flows missing a start: as many as in the unsplit output');
}

const cpuSteps = (t: LoadedTrace, re: RegExp): Ev[] => t.events.filter((e) => e.ph === 'X' && e.cat === 'user_annotation' && re.test(e.name ?? '')).sort((a, b) => (a.ts! < b.ts! ? -1 : a.ts! > b.ts! ? 1 : 0));

describe('fix --split', () => {
  it('steps:1 on tiny-eager: 4 parts, one decode_step each, every event once, windows at the step starts', async () => {
    const whole = path.join(tmp, 'tiny-whole.json.gz');
    await fixTrace(TINY, { output: whole });
    const unsplit = loadTraceFile(whole);
    const out = path.join(tmp, 'tiny.fixed.json.gz');
    const r = await fixTrace(TINY, { output: out, split: { by: 'steps', steps: 1 } });
    const steps = cpuSteps(unsplit, /^decode_step_\d+$/);
    assert.deepEqual(steps.map((s) => s.name), ['decode_step_0', 'decode_step_1', 'decode_step_2', 'decode_step_3'], 'the fixture has 4 steps');
    const files = [0, 1, 2, 3].map((k) => path.join(tmp, `tiny.fixed-part-0${k}.json.gz`));
    assert.deepEqual(r.split!.parts.map((p) => p.path), files, 'named <stem>-part-NN<ext>');
    assert.ok(!existsSync(out), 'no unsplit output is written');
    const parts = assertPartsOf(unsplit, files, steps.slice(1).map((s) => s.ts!));
    parts.forEach((p, k) => {
      assert.deepEqual(cpuSteps(p, /^decode_step_\d+$/).map((s) => s.name), [`decode_step_${k}`], `part ${k} holds decode_step_${k}`);
    });
    assert.equal(r.split!.steps!.count, 4);
    assert.deepEqual(r.split!.parts.map((p) => p.steps!.first), ['decode_step_0', 'decode_step_1', 'decode_step_2', 'decode_step_3']);
    // events before the first step are in part 00, those after the last in the last part
    const first = steps[0]!.ts!;
    assert.ok(parts[0]!.events.some((e) => e.ph !== 'M' && e.ts !== undefined && e.ts < first), 'part 00 has what comes before decode_step_0');
    const lastEnd = steps[3]!.ts! + usTextToFs(steps[3]!.durRaw)!;
    assert.ok(parts[3]!.events.some((e) => e.ph !== 'M' && e.ts !== undefined && e.ts > lastEnd), 'the last part has what comes after decode_step_3');
    await assertChecks(whole, files);
  });

  it('steps:3 on tiny-eager: 2 parts (steps 0-2, step 3); --step picks other annotations', async () => {
    const whole = path.join(tmp, 'tiny-whole3.json.gz');
    await fixTrace(TINY, { output: whole });
    const unsplit = loadTraceFile(whole);
    const steps = cpuSteps(unsplit, /^decode_step_\d+$/);
    const r = await fixTrace(TINY, { output: path.join(tmp, 'three.json.gz'), split: { by: 'steps', steps: 3 } });
    assert.deepEqual(r.split!.parts.map((p) => [p.steps!.first, p.steps!.last, p.steps!.count]), [['decode_step_0', 'decode_step_2', 3], ['decode_step_3', 'decode_step_3', 1]]);
    assertPartsOf(unsplit, r.split!.parts.map((p) => p.path), [steps[3]!.ts!]);
    // --step: only decode_step_0 and decode_step_2 are steps: one boundary, at decode_step_2
    const o = await fixTrace(TINY, { output: path.join(tmp, 'two.json.gz'), split: { by: 'steps', steps: 1 }, step: /^decode_step_[02]$/ });
    assert.equal(o.split!.steps!.detection.how, 'flag');
    assertPartsOf(unsplit, o.split!.parts.map((p) => p.path), [steps[2]!.ts!]);
  });

  it('steps:1 on a ProfilerStep#N trace (absolute epoch µs): one ProfilerStep per part', async () => {
    const whole = path.join(tmp, 'sampled-whole.json.gz');
    await fixTrace(SAMPLED, { output: whole });
    const unsplit = loadTraceFile(whole);
    const steps = unsplit.events.filter((e) => e.ph === 'X' && /^ProfilerStep#\d+$/.test(e.name ?? '')).sort((a, b) => (a.ts! < b.ts! ? -1 : 1));
    assert.deepEqual(steps.map((s) => s.name), ['ProfilerStep#551', 'ProfilerStep#552']);
    const r = await fixTrace(SAMPLED, { output: path.join(tmp, 'sampled.json.gz'), split: { by: 'steps', steps: 1 } });
    const files = r.split!.parts.map((p) => p.path);
    const parts = assertPartsOf(unsplit, files, [steps[1]!.ts!]);
    parts.forEach((p, k) => assert.deepEqual(p.events.filter((e) => /^ProfilerStep#\d+$/.test(e.name ?? '') && e.ph === 'X').map((e) => e.name), [steps[k]!.name]));
    await assertChecks(whole, files);
  });

  it('time:10 on tiny-eager: windows of 10 ms from the earliest event', async () => {
    const whole = path.join(tmp, 'tiny-whole-t.json.gz');
    await fixTrace(TINY, { output: whole });
    const unsplit = loadTraceFile(whole);
    const ts = unsplit.events.filter((e) => e.ph !== 'M' && e.ts !== undefined).map((e) => e.ts!);
    const t0 = ts.reduce((a, b) => (b < a ? b : a));
    const t1 = ts.reduce((a, b) => (b > a ? b : a));
    const w = 10n * 1000n * FS_PER_US; // 10 ms in fs
    const count = Number((t1 - t0) / w) + 1;
    const bounds = Array.from({ length: count - 1 }, (_, i) => t0 + BigInt(i + 1) * w);
    const r = await fixTrace(TINY, { output: path.join(tmp, 'tiny-t.json.gz'), split: { by: 'time', ms: 10 } });
    const files = r.split!.parts.map((p) => p.path);
    assert.equal(files.length, 4, '35.6 ms in 10 ms windows');
    assertPartsOf(unsplit, files, bounds);
    await assertChecks(whole, files);
  });

  it('--format perfetto: each part is a TrackEvent trace; together they hold every slice once', async () => {
    const r = await fixTrace(TINY, { output: path.join(tmp, 'tiny.pftrace'), split: { by: 'steps', steps: 1 } });
    const files = r.split!.parts.map((p) => p.path);
    assert.deepEqual(files.map((f) => path.basename(f)), ['tiny-part-00.pftrace', 'tiny-part-01.pftrace', 'tiny-part-02.pftrace', 'tiny-part-03.pftrace']);
    const input = loadTraceFile(TINY);
    let slices = 0;
    for (const f of files) {
      const c = await checkTrace(f);
      assert.equal(c.nonNesting, 0, `${f}: slices nest`);
      assert.equal(c.diagnostics.count('perfetto_end_without_begin') + c.diagnostics.count('perfetto_begin_without_end'), 0);
      slices += c.slices;
    }
    assert.equal(slices, input.events.filter((e) => e.ph === 'X').length, 'every complete event of the input is a slice of one part');
  });
});

describe('merge --split', () => {
  let unsplitPath: string;
  let unsplit: LoadedTrace;
  before(async () => {
    unsplitPath = path.join(tmp, 'merged-whole.trace.json.gz');
    await mergeTraces({ inputs: [TP2], output: unsplitPath });
    unsplit = loadTraceFile(unsplitPath);
  });

  it('time:100 on the 2-rank tp2: 6 windows of 100 ms, every event once, rank labels in every part', async () => {
    const out = path.join(tmp, 'merged.trace.json.gz');
    const m = await mergeTraces({ inputs: [TP2], output: out, split: { by: 'time', ms: 100 } });
    const r = m.results[0]!;
    const ts = unsplit.events.filter((e) => e.ph !== 'M' && e.ts !== undefined).map((e) => e.ts!);
    const t0 = ts.reduce((a, b) => (b < a ? b : a));
    const t1 = ts.reduce((a, b) => (b > a ? b : a));
    const w = 100n * 1000n * FS_PER_US;
    const count = Number((t1 - t0) / w) + 1;
    assert.equal(count, 6, 'the merged tp2 spans 540.8 ms');
    const files = r.split!.parts.map((p) => p.path);
    assert.deepEqual(files.map((f) => path.basename(f)), [0, 1, 2, 3, 4, 5].map((k) => `merged-part-0${k}.trace.json.gz`));
    const parts = assertPartsOf(unsplit, files, Array.from({ length: count - 1 }, (_, i) => t0 + BigInt(i + 1) * w));
    for (const p of parts) {
      const labels = p.events.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => text(p, e));
      assert.ok(labels.some((l) => l.includes('[TP00]')) && labels.some((l) => l.includes('[TP01]')), 'both ranks are labelled');
      assert.ok(p.raw.top.some((x) => x.key === 'traceforgeMerge') && p.raw.top.some((x) => x.key === 'deviceProperties'));
    }
    await assertChecks(unsplitPath, files);
  });

  it('steps:2 on tp2: 3 parts starting at the earliest start of decode_step_2 and _4 over both ranks', async () => {
    const m = await mergeTraces({ inputs: [TP2], output: path.join(tmp, 'steps.trace.json.gz'), split: { by: 'steps', steps: 2 } });
    const r = m.results[0]!;
    const starts = (name: string): bigint => cpuSteps(unsplit, new RegExp(`^${name}$`)).map((e) => e.ts!).reduce((a, b) => (b < a ? b : a));
    assert.equal(cpuSteps(unsplit, /^decode_step_2$/).length, 2, 'each rank has its decode_step_2');
    const files = r.split!.parts.map((p) => p.path);
    assertPartsOf(unsplit, files, [starts('decode_step_2'), starts('decode_step_4')]);
    assert.deepEqual(r.split!.parts.map((p) => [p.steps!.first, p.steps!.last]), [['decode_step_0', 'decode_step_1'], ['decode_step_2', 'decode_step_3'], ['decode_step_4', 'decode_step_5']]);
    await assertChecks(unsplitPath, files);
  });

  it('--format perfetto --split: .pftrace parts named after the output', async () => {
    const out = path.join(tmp, 'mp.pftrace');
    const m = await mergeTraces({ inputs: [TP2], output: out, split: { by: 'steps', steps: 3 } });
    const files = m.results[0]!.split!.parts.map((p) => p.path);
    assert.deepEqual(files.map((f) => path.basename(f)), ['mp-part-00.pftrace', 'mp-part-01.pftrace']);
    let slices = 0;
    for (const f of files) {
      const c = await checkTrace(f);
      assert.equal(c.nonNesting, 0);
      slices += c.slices;
    }
    assert.equal(slices, (await checkTrace(unsplitPath)).slices, 'every slice of the merge is in one part');
  });
});

describe('--split: names, bad values, inputs', () => {
  it('parses steps:N and time:MS, refuses the rest', () => {
    assert.deepEqual(parseSplit('steps:10'), { by: 'steps', steps: 10 });
    assert.deepEqual(parseSplit('time:2.5'), { by: 'time', ms: 2.5 });
    for (const bad of ['steps:0', 'steps:-1', 'steps:1.5', 'steps:', 'time:0', 'time:-3', 'time:abc', 'time:1e3', 'bytes:10', '10', '']) {
      assert.throws(() => parseSplit(bad), (e: Error & { code?: string }) => e.code === 'E_USAGE', bad);
    }
  });

  it('part names keep the extension, zero-padded to 2 digits or more', () => {
    assert.equal(partPath('/o/merged.trace.json.gz', 0), '/o/merged-part-00.trace.json.gz');
    assert.equal(partPath('/o/x.fixed.json.gz', 7), '/o/x.fixed-part-07.json.gz');
    assert.equal(partPath('/o/x.json', 3), '/o/x-part-03.json');
    assert.equal(partPath('/o/m.pftrace', 12, 3), '/o/m-part-012.pftrace');
    assert.ok(MAX_PARTS >= 100);
  });

  it('bad --split values and impossible splits exit 2 with one line, writing nothing', async () => {
    const dir = path.join(tmp, 'bad');
    await mkdir(dir);
    const cases: string[][] = [
      ['fix', TINY, '-o', path.join(dir, 'a.json.gz'), '--split', 'steps:0'],
      ['fix', TINY, '-o', path.join(dir, 'a.json.gz'), '--split', 'time:soon'],
      ['fix', TINY, '-o', path.join(dir, 'a.json.gz'), '--split', 'lines:5'],
      ['fix', TINY, '-o', path.join(dir, 'a.json.gz'), '--split', 'time:5', '--step', 'decode'],
      ['fix', TINY, '-o', path.join(dir, 'a.json.gz'), '--step', 'decode'],
      ['fix', TINY, '-o', '-', '--split', 'steps:1'],
      ['merge', TP2, '-o', path.join(dir, 'm.json.gz'), '--split', 'steps:x'],
      // no steps in pdl-eager; more windows than allowed
      ['fix', realFixture('h200', 'pdl-eager.trace.json.gz'), '-o', path.join(dir, 'p.json.gz'), '--split', 'steps:1'],
      ['fix', TINY, '-o', path.join(dir, 'a.json.gz'), '--split', 'time:0.001'],
    ];
    for (const args of cases) {
      const r = runCli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: exit 2 (${r.stderr})`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.match(lines[0]!, /^traceforge: /);
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing written, no temp files left');
  });

  it('never overwrites an input: a part that would be the input stops the split, and no part is left', async () => {
    const dir = path.join(tmp, 'clash');
    await mkdir(dir);
    const input = path.join(dir, 'x-part-01.json.gz');
    await copyFile(TINY, input);
    const before = readFileSync(input);
    await assert.rejects(fixTrace(input, { output: path.join(dir, 'x.json.gz'), split: { by: 'steps', steps: 1 } }), (e: Error & { code?: string }) => e.code === 'E_OUTPUT');
    assert.ok(readFileSync(input).equals(before), 'the input is untouched');
    assert.deepEqual(readdirSync(dir), ['x-part-01.json.gz'], 'no part and no temp file left');
  });

  it('the CLI lists the parts and writes them', async () => {
    const dir = path.join(tmp, 'cli');
    await mkdir(dir);
    const out = path.join(dir, 'tiny.json.gz');
    const r = runCli(['fix', TINY, '-o', out, '--split', 'steps:2']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /split by 2 step\(s\): 2 part\(s\)/);
    assert.match(r.stderr, /tiny-part-00\.json\.gz .*decode_step_0 \.\. decode_step_1/);
    assert.match(r.stderr, /tiny-part-01\.json\.gz .*decode_step_2 \.\. decode_step_3/);
    assert.deepEqual(readdirSync(dir).sort(), ['tiny-part-00.json.gz', 'tiny-part-01.json.gz']);
  });
});

describe('Perfetto UI load estimate', () => {
  it('the limit and the factor: 2 GiB, 3x the JSON bytes', () => {
    assert.equal(PERFETTO_UI_MEMORY_BYTES, 2 * 1024 ** 3);
    assert.equal(estimateUiLoad(500e6).fits, true, '500 MB of JSON loads (it did for Go)');
    assert.equal(estimateUiLoad(1000e6).fits, false, '1 GB of JSON does not (it did not for Go)');
    assert.equal(estimateUiLoad(100, 299).fits, false);
    assert.equal(estimateUiLoad(100, 300).fits, true);
  });

  it('fix and merge warn (perfetto_ui_memory) when the estimate is over the limit, not otherwise', async () => {
    const out = path.join(tmp, 'ui.json.gz');
    const plain = await fixTrace(TINY, { output: out });
    assert.equal(plain.diagnostics.count('perfetto_ui_memory'), 0);
    const json = readDecompressed(out).length;
    assert.equal(plain.ui!.jsonBytes, json, 'the estimate reads the uncompressed size');
    assert.equal(plain.ui!.estimatedBytes, json * JSON_MEMORY_FACTOR);
    const small = await fixTrace(TINY, { output: out, uiMemoryBytes: json * JSON_MEMORY_FACTOR - 1 });
    assert.equal(small.diagnostics.count('perfetto_ui_memory'), 1, 'a warning, with the numbers');
    assert.equal(small.diagnostics.list().find((d) => d.name === 'perfetto_ui_memory')!.severity, 'warning');
    const fits = await fixTrace(TINY, { output: out, uiMemoryBytes: json * JSON_MEMORY_FACTOR });
    assert.equal(fits.diagnostics.count('perfetto_ui_memory'), 0, 'at the limit: no warning');
    const m = await mergeTraces({ inputs: [TP2], output: path.join(tmp, 'ui-m.trace.json.gz'), uiMemoryBytes: 1 << 20 });
    assert.equal(m.results[0]!.diagnostics.count('perfetto_ui_memory'), 1);
  });

  it('fix and merge warn before writing (after pass 1) when the inputs hold too much JSON for the UI', async () => {
    const out = path.join(tmp, 'ui-early.json.gz');
    const json = readDecompressed(TINY).length;
    const seen: { fromInputs?: true; jsonBytes: number; outputExists: boolean }[] = [];
    const r = await fixTrace(TINY, {
      output: out, uiMemoryBytes: json * JSON_MEMORY_FACTOR - 1,
      onUiEstimate: (e) => seen.push({ ...e, outputExists: existsSync(out) }),
    });
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0], { jsonBytes: json, estimatedBytes: json * JSON_MEMORY_FACTOR, limitBytes: json * JSON_MEMORY_FACTOR - 1, fits: false, fromInputs: true, outputExists: false });
    assert.equal(r.diagnostics.count('perfetto_ui_memory'), 1, 'and after writing, on the exact bytes');
    let called = 0;
    await fixTrace(TINY, { output: out, uiMemoryBytes: json * JSON_MEMORY_FACTOR, onUiEstimate: () => called++ });
    assert.equal(called, 0, 'within the limit: not called');
    // merge: the sum of the ranks' decompressed sizes, before the output exists
    const ranks = readdirSync(TP2).map((x) => path.join(TP2, x));
    const total = ranks.reduce((n, f) => n + readDecompressed(f).length, 0);
    const mout = path.join(tmp, 'ui-early-m.trace.json.gz');
    const got: [number, string, boolean][] = [];
    await mergeTraces({ inputs: [TP2], output: mout, uiMemoryBytes: 1 << 20, onUiEstimate: (e, o) => got.push([e.jsonBytes, o, existsSync(o)]) });
    assert.deepEqual(got, [[total, mout, false]]);
    // a filter makes the output smaller than its inputs: no estimate before writing
    got.length = 0;
    await mergeTraces({ inputs: [TP2], output: mout, uiMemoryBytes: 1 << 20, tracks: 'gpu', onUiEstimate: (e, o) => got.push([e.jsonBytes, o, false]) });
    assert.equal(got.length, 0);
  });

  it('the CLI prints the warning before writing, naming the output', async () => {
    // 3x the tiny trace is far below 2 GiB: the line is checked through uiLine itself
    const line = uiLine({ jsonBytes: 800e6, estimatedBytes: 2400e6, limitBytes: PERFETTO_UI_MEMORY_BYTES, fits: false, fromInputs: true }, 'out.json.gz');
    assert.match(line!, /^ {2}warning \(perfetto_ui_memory\): before writing out\.json\.gz: the input\(s\) hold .* of JSON, .*Ctrl-C now to stop.*--split/);
    assert.equal(uiLine({ jsonBytes: 1, estimatedBytes: 3, limitBytes: 3, fits: true, fromInputs: true }), undefined);
  });

  it('with --split, each part is estimated on its own', async () => {
    const out = path.join(tmp, 'uip.json.gz');
    const first = await fixTrace(TINY, { output: out, split: { by: 'steps', steps: 1 } });
    const sizes = first.split!.parts.map((p) => readDecompressed(p.path).length);
    assert.deepEqual(first.split!.parts.map((p) => p.jsonBytes), sizes);
    const limit = (Math.max(...sizes) - 1) * JSON_MEMORY_FACTOR; // only the largest part(s) are over
    const r = await fixTrace(TINY, { output: out, split: { by: 'steps', steps: 1 }, uiMemoryBytes: limit });
    assert.equal(r.diagnostics.count('perfetto_ui_memory'), sizes.filter((s) => s * JSON_MEMORY_FACTOR > limit).length);
    assert.ok(r.diagnostics.count('perfetto_ui_memory') >= 1 && r.diagnostics.count('perfetto_ui_memory') < sizes.length);
  });
});

// ---------------------------------------------------------------------------------------------
// open --part


/** Runs `open ... --no-browser`, fetches what it serves, waits for it to exit. */
async function openAndFetch(args: string[]): Promise<{ url: string; body: Buffer; stderr: string; code: number | null }> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'open', ...args, '--no-browser', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  process.once('exit', () => child.kill());
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /serving .+ at (http:\/\/127\.0\.0\.1:\d+\/\S+)/.exec(err);
        if (m && err.includes('waiting for the Perfetto UI')) resolve(m[1]!);
      });
      child.once('exit', () => reject(new Error(`open exited early: ${err}`)));
    });
    const res = await fetch(url, { headers: { Origin: 'https://ui.perfetto.dev' } });
    const body = Buffer.from(await res.arrayBuffer());
    return { url, body, stderr: err, code: await exit };
  } finally {
    child.kill();
  }
}

describe('open --part', () => {
  it('serves a part written by merge --split, byte for byte', async () => {
    const out = path.join(tmp, 'open', 'merged.trace.json.gz');
    await mkdir(path.dirname(out), { recursive: true });
    const m = await mergeTraces({ inputs: [TP2], output: out, split: { by: 'steps', steps: 2 } });
    const part1 = m.results[0]!.split!.parts[1]!.path;
    const o = await openAndFetch([out, '--part', '01']);
    assert.match(o.url, /\/merged-part-01\.trace\.json\.gz$/);
    assert.ok(o.body.equals(readFileSync(part1)), 'the served bytes are the part file');
    assert.equal(o.code, 0);
    const missing = runCli(['open', out, '--part', '7', '--no-browser']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no part 7/);
  });

  it('--split on the fly: serves the part asked for (decode_step_2 of tiny-eager)', async () => {
    const before = readFileSync(TINY);
    const o = await openAndFetch([TINY, '--split', 'steps:1', '--part', '2']);
    assert.match(o.url, /-part-02\.json\.gz$/);
    const served = loadTrace(gunzipSync(o.body));
    assert.deepEqual(cpuSteps(served, /^decode_step_\d+$/).map((e) => e.name), ['decode_step_2']);
    assert.match(o.stderr, /4 part\(s\); serving part 02/);
    assert.ok(readFileSync(TINY).equals(before), 'the input is untouched');
    assert.ok(statSync(TINY).size > 0);
  });
});
