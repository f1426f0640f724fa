/**
 * `checkTrace` / `traceforge check`: the non-nesting count is Perfetto's rule on exact time,
 * compared with the independent sweep of test/helpers.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import { checkTrace, type CheckResult } from '../../src/pipeline/check.js';
import { fixTrace } from '../../src/pipeline/fix.js';
import {
  FIXTURES, FLOW_PHASES, PDL_EAGER, crossingsByTrack, edgeFixture, loadTraceFile, makeTempDir, realKinetoTraces, relToRepo, runCli,
  slicesOf, sum, trackKey,
} from '../helpers.js';

let tmp: string;
before(async () => { tmp = await makeTempDir('check'); });
after(async () => { await rm(tmp, { recursive: true, force: true }); });

/** Track key of a TrackCheck (pid/tid are display strings: numbers unless they do not look like one). */
const keyOf = (pid: string, tid: string, raw: (x: string) => string): string => trackKey(raw(pid), raw(tid));

function oracleCounts(file: string): { events: number; slices: number; flows: number; perTrack: Map<string, number> } {
  const t = loadTraceFile(file);
  const slices = slicesOf(t);
  return {
    events: t.events.length,
    slices: slices.length,
    flows: t.events.filter((e) => FLOW_PHASES.has(e.ph ?? '') && e.ts !== undefined).length,
    perTrack: crossingsByTrack(slices),
  };
}

/** Per-track non-nesting of a check result, keyed like the oracle (raw pid/tid from the file). */
function perTrackOf(r: CheckResult, rawOf: Map<string, string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of r.tracks) {
    if (t.nonNesting === 0) continue;
    m.set(keyOf(t.pid, t.tid, (x) => rawOf.get(x) ?? JSON.stringify(x)), t.nonNesting);
  }
  return m;
}

/** Display value -> raw JSON text, for the pids/tids of a trace. */
function rawNames(file: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of loadTraceFile(file).events) {
    for (const r of [e.pidRaw, e.tidRaw]) {
      if (r === undefined) continue;
      const v: unknown = JSON.parse(r);
      m.set(String(v), JSON.stringify(v));
    }
  }
  return m;
}

describe('check: non-nesting count == the independent sweep', () => {
  it('pdl-eager: nonNesting equals the sweep (per track too); the fixed trace has none', async () => {
    const o = oracleCounts(PDL_EAGER);
    const expected = sum(o.perTrack.values());
    assert.ok(expected > 0);
    const r = await checkTrace(PDL_EAGER);
    assert.equal(r.nonNesting, expected);
    assert.equal(r.events, o.events);
    assert.equal(r.slices, o.slices);
    assert.equal(r.flows, o.flows);
    assert.equal(r.clean, false);
    assert.equal(r.diagnostics.count('slice_overlapping_complete_event'), expected);
    const nonZero = new Map([...o.perTrack].filter(([, n]) => n > 0));
    assert.deepEqual(perTrackOf(r, rawNames(PDL_EAGER)), nonZero);

    const fixed = path.join(tmp, 'pdl-eager.fixed.json.gz');
    await fixTrace(PDL_EAGER, { output: fixed });
    const r2 = await checkTrace(fixed);
    assert.equal(r2.nonNesting, 0);
    assert.equal(sum(oracleCounts(fixed).perTrack.values()), 0);
    assert.equal(r2.diagnostics.count('slice_overlapping_complete_event'), 0);
    assert.equal(r2.slices, o.slices);
  });

  for (const file of realKinetoTraces()) {
    it(`${relToRepo(file)}: nonNesting, slices and flows match the oracle`, async () => {
      const o = oracleCounts(file);
      const r = await checkTrace(file);
      assert.equal(r.nonNesting, sum(o.perTrack.values()));
      assert.equal(r.slices, o.slices);
      assert.equal(r.flows, o.flows);
      assert.equal(r.events, o.events);
    });
  }
});

describe('check: edge fixtures', () => {
  it('missing-dur: two complete_event_missing_dur, not clean, nothing crosses', async () => {
    const r = await checkTrace(edgeFixture('missing-dur.json'));
    assert.equal(r.diagnostics.count('complete_event_missing_dur'), 2);
    assert.equal(r.nonNesting, 0);
    assert.equal(r.clean, false); // a warning
  });

  it('flow-end-before-start-in-file: flows are paired although f precedes s', async () => {
    const r = await checkTrace(edgeFixture('flow-end-before-start-in-file.json'));
    assert.equal(r.diagnostics.count('flow_missing_end'), 0);
    assert.equal(r.diagnostics.count('flow_missing_start'), 0);
    assert.equal(r.flows, 4);
    assert.equal(r.nonNesting, 1); // K2 crosses K1
  });

  it('unsorted-input: one crossing, and the track is reported unsorted', async () => {
    const r = await checkTrace(edgeFixture('unsorted-input.json'));
    assert.equal(r.nonNesting, 1);
    assert.equal(r.tracks.length, 1);
    assert.equal(r.tracks[0]!.unsorted, true);
    assert.equal(r.diagnostics.count('track_unsorted'), 1);
  });

  it('depth-3-overlap: B and C each cross the innermost open slice', async () => {
    // Perfetto's sweep: A open; B crosses A (dropped); C crosses A (dropped, B was never
    // pushed); E nests in A; D after A. -> 2.
    const r = await checkTrace(edgeFixture('depth-3-overlap.json'));
    assert.equal(r.nonNesting, 2);
  });

  it('touching-end-start: clean', async () => {
    const r = await checkTrace(edgeFixture('touching-end-start.json'));
    assert.equal(r.nonNesting, 0);
    assert.equal(r.clean, true);
  });
});

describe('traceforge check (CLI)', () => {
  it('--json on pdl-eager: parses, same numbers as the oracle, exit 1', () => {
    const o = oracleCounts(PDL_EAGER);
    const run = runCli(['check', '--json', PDL_EAGER]);
    assert.equal(run.status, 1, run.stderr);
    const out = JSON.parse(run.stdout) as { file: string; events: number; slices: number; flows: number; nonNesting: number; clean: boolean; tracks: { nonNesting: number }[]; diagnostics: { name: string; count: number }[] }[];
    assert.equal(out.length, 1);
    const r = out[0]!;
    assert.equal(r.nonNesting, sum(o.perTrack.values()));
    assert.equal(r.slices, o.slices);
    assert.equal(r.flows, o.flows);
    assert.equal(r.events, o.events);
    assert.equal(r.clean, false);
    assert.equal(sum(r.tracks.map((t) => t.nonNesting)), r.nonNesting);
    assert.equal(r.diagnostics.find((d) => d.name === 'slice_overlapping_complete_event')?.count, r.nonNesting);
  });

  it('a clean edge fixture exits 0; several files give one result each', () => {
    const clean = runCli(['check', edgeFixture('touching-end-start.json')]);
    assert.equal(clean.status, 0, clean.stdout + clean.stderr);
    const two = runCli(['check', '--json', edgeFixture('touching-end-start.json'), edgeFixture('depth-3-overlap.json')]);
    assert.equal(two.status, 1);
    const out = JSON.parse(two.stdout) as { nonNesting: number; clean: boolean }[];
    assert.deepEqual(out.map((r) => [r.nonNesting, r.clean]), [[0, true], [2, false]]);
  });

  it('a directory of ranks is checked file by file; JSON that is not a trace is skipped with a note', async () => {
    const dir = path.join(tmp, 'ranks');
    await mkdir(dir);
    const tiny = path.join(FIXTURES, 'real', 'h200', 'tiny');
    for (const f of ['tiny-eager.trace.json.gz', 'tiny-graph.trace.json.gz', 'tiny-truth.json']) await copyFile(path.join(tiny, f), path.join(dir, f));
    const run = runCli(['check', '--json', dir]);
    assert.equal(run.status, 1, run.stderr);
    const out = JSON.parse(run.stdout) as { file: string; events: number }[];
    assert.deepEqual(out.map((r) => path.basename(r.file)).sort(), ['tiny-eager.trace.json.gz', 'tiny-graph.trace.json.gz']);
    for (const r of out) assert.equal(r.events, oracleCounts(r.file).events);
    assert.match(run.stderr, /note: skipped 1 JSON file\(s\) that are not traces \(no "traceEvents" array, not an array of events\): tiny-truth\.json/);
    // fix takes one trace: a directory is a one-line error, exit 2, nothing written
    const fix = runCli(['fix', dir, '-o', path.join(tmp, 'dir-fixed.json.gz')]);
    assert.equal(fix.status, 2);
    assert.match(fix.stderr, /^traceforge: .*ranks: is a directory; fix takes trace files and torch_npu \*_ascend_pt directories, not a directory of ranks \(that is for merge, stats, report\)\n$/);
  });

  it('the fixed pdl-eager has no non-nesting slices in --json', async () => {
    const fixed = path.join(tmp, 'cli-fixed.json.gz');
    await fixTrace(PDL_EAGER, { output: fixed });
    const run = runCli(['check', '--json', fixed]);
    const out = JSON.parse(run.stdout) as { nonNesting: number; diagnostics: { name: string; severity: string }[] }[];
    assert.equal(out[0]!.nonNesting, 0);
    assert.equal(out[0]!.diagnostics.filter((d) => d.name === 'slice_overlapping_complete_event').length, 0);
    // exit 0 unless something else (a warning) was found
    const warnings = out[0]!.diagnostics.filter((d) => d.severity !== 'info');
    assert.equal(run.status, warnings.length === 0 ? 0 : 1);
  });
});
