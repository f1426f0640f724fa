/**
 * `diffOf` end to end on the real traces, every number checked against the tests' own reading
 * of the JSON (JSON.parse, plain loops): per-kernel and per-call sums, the profiled span, the
 * GPU busy union. Inputs made in the tests are edits of the JSON text of real traces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { diffOf, type DiffResult } from '../../src/pipeline/diff.js';
import { mergeTraces } from '../../src/pipeline/merge.js';
import { loadTrace, readDecompressed, realFixture, usTextToFs, withTempDir } from '../helpers.js';

const EAGER = realFixture('h200', 'pdl-eager.trace.json.gz');
const GRAPH = realFixture('h200', 'pdl-cudagraph.trace.json.gz');
const TP2 = realFixture('h200', 'tp2');
const TP0 = realFixture('h200', 'tp2', '1763900000-TP-0.trace.json.gz');

// ---------------------------------------------------------------------------------------------
// Oracle: the trace split by the tests' own JSON walker (helpers.ts), times as exact BigInt
// femtoseconds from the decimal text, sums by plain loops

interface Sums { calls: number; us: number }

interface Oracle {
  kernels: Map<string, Sums>;
  api: Map<string, Sums>;
  /** First start to last end over all complete events, µs. */
  spanUs: number;
  /** Union of device-activity intervals per device (pid), summed, µs. */
  busyUs: number;
}

const DEVICE_CATS = new Set(['kernel', 'Kernel', 'gpu_memcpy', 'gpu_memset', 'Memcpy', 'Memset']);
const API_CATS = new Set(['cuda_runtime', 'cuda_driver', 'Runtime']);
const fsToUs = (fs: bigint): number => Number(fs) / 1e9;

function oracleOf(buf: Buffer): Oracle {
  const kernels = new Map<string, { calls: number; fs: bigint }>();
  const api = new Map<string, { calls: number; fs: bigint }>();
  const add = (m: Map<string, { calls: number; fs: bigint }>, name: string, fs: bigint): void => {
    const x = m.get(name) ?? { calls: 0, fs: 0n };
    x.calls++;
    x.fs += fs;
    m.set(name, x);
  };
  let lo: bigint | undefined;
  let hi: bigint | undefined;
  const intervals = new Map<string, [bigint, bigint][]>();
  for (const e of loadTrace(buf).events) {
    if (e.ph !== 'X' || e.ts === undefined) continue;
    const dur = usTextToFs(e.durRaw) ?? 0n;
    if (lo === undefined || e.ts < lo) lo = e.ts;
    if (hi === undefined || e.ts + dur > hi) hi = e.ts + dur;
    if (DEVICE_CATS.has(e.cat ?? '')) {
      add(kernels, e.name!, dur);
      const k = e.pidRaw ?? '';
      intervals.set(k, [...(intervals.get(k) ?? []), [e.ts, e.ts + dur]]);
    } else if (API_CATS.has(e.cat ?? '')) add(api, e.name!, dur);
  }
  let busy = 0n;
  for (const list of intervals.values()) {
    list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let [s, t] = list[0]!;
    for (const [a, b] of list.slice(1)) {
      if (a > t) { busy += t - s; s = a; t = b; } else if (b > t) t = b;
    }
    busy += t - s;
  }
  const us = (m: Map<string, { calls: number; fs: bigint }>): Map<string, Sums> => new Map([...m].map(([k, x]) => [k, { calls: x.calls, us: fsToUs(x.fs) }]));
  return { kernels: us(kernels), api: us(api), spanUs: fsToUs(hi! - lo!), busyUs: fsToUs(busy) };
}

const oracleOfFile = (p: string): Oracle => oracleOf(readDecompressed(p));

/** |a − b| within `absUs` (traceforge rounds sums to 1 ns = 1e-3 µs) plus a relative 1e-9. */
function near(actual: number | null | undefined, expected: number, what: string, absUs = 1e-3): void {
  assert.ok(actual !== null && actual !== undefined, `${what}: missing`);
  assert.ok(Math.abs(actual - expected) <= absUs + 1e-9 * Math.abs(expected), `${what}: ${actual} != ${expected}`);
}

/** Every compared number of a diff is zero, nothing added or removed. */
function assertNoChange(r: DiffResult): void {
  for (const t of r.totals) assert.equal(t.delta, 0, `total ${t.metric}`);
  for (const rows of [r.kernels, r.apiCalls, r.categories, r.ops]) {
    for (const x of rows ?? []) {
      assert.equal(x.status, 'both', x.name);
      assert.equal(x.deltaUs, 0, x.name);
      assert.equal(x.change, 0, x.name);
      assert.deepEqual(x.baseline, x.candidate, x.name);
    }
  }
  for (const k of r.kernels ?? []) assert.equal(k.match, 'exact', k.name);
  for (const x of r.ranks ?? []) assert.deepEqual([x.status, x.deltaBusyUs, x.baseline], ['both', 0, x.candidate]);
  for (const x of r.steps ?? []) assert.deepEqual([x.status, x.deltaBusyUs, x.deltaWallUs], ['both', 0, 0]);
  assert.deepEqual(r.ambiguous, []);
}

// ---------------------------------------------------------------------------------------------

test('a trace diffed with itself: every delta 0, nothing added or removed, numbers per second as the oracle says', async () => {
  const r = await diffOf(EAGER, EAGER, { views: ['kernel', 'category', 'op', 'rank', 'step'], normalize: 'second' });
  assertNoChange(r);
  const o = oracleOfFile(EAGER);
  assert.equal(r.normalization.per, 'second');
  near(r.normalization.baselineUnits * 1e6, o.spanUs, 'span');
  const sec = o.spanUs / 1e6;
  assert.equal(r.kernels!.length, o.kernels.size);
  for (const k of r.kernels!) {
    const x = o.kernels.get(k.name)!;
    near(k.baseline!.totalUs, x.us / sec, k.name, 1e-3 / sec);
    near(k.baseline!.calls, x.calls / sec, `${k.name} calls`, 1e-9);
  }
  near(r.totals[0]!.baseline, o.busyUs / sec, 'busy', 1e-3 / sec);
  assert.equal(r.apiCalls!.length, o.api.size);
});

test('a directory of ranks diffed with itself and with its merged trace: no change (per step, --step)', async () => {
  const opts = { views: ['kernel', 'category', 'op', 'rank', 'step'] as const, step: 'decode_step_\\d+' };
  const self = await diffOf(TP2, TP2, { ...opts, views: [...opts.views] });
  assertNoChange(self);
  assert.equal(self.normalization.per, 'step');
  assert.deepEqual([self.normalization.baselineSteps, self.normalization.candidateSteps], [6, 6]);
  assert.equal(self.ranks!.length, 2);
  assert.equal(self.steps!.length, 6);
  await withTempDir('diff-merged', async (dir) => {
    const merged = path.join(dir, 'merged-1763900000.trace.json.gz');
    await mergeTraces({ inputs: [TP2], output: merged });
    const r = await diffOf(TP2, merged, { ...opts, views: ['kernel', 'category', 'rank'] });
    assert.equal(r.candidate.inputs.length, 2);
    assertNoChange(r);
  });
});

test('pdl-eager vs pdl-cudagraph: the same four kernels, per-kernel launches replaced by graph launches; numbers equal the oracle', async () => {
  const auto = await diffOf(EAGER, GRAPH, { views: ['kernel'] });
  // no steps on either side (pdl-eager's decode_step carries no number), the same 240 kernels: totals, said so
  assert.deepEqual([auto.normalization.per, auto.normalization.baselineUnits, auto.normalization.candidateUnits], ['profile', 1, 1]);
  assert.match(auto.normalization.reason, /no steps on either side; the workloads look alike: 240 vs 240 device activities/);
  const r = await diffOf(EAGER, GRAPH, { views: ['kernel', 'op'], normalize: 'second' });
  const ob = oracleOfFile(EAGER);
  const oc = oracleOfFile(GRAPH);
  // per second of profile, as asked
  assert.equal(r.normalization.per, 'second');
  assert.match(r.normalization.reason, /as asked/);
  const sb = ob.spanUs / 1e6;
  const sc = oc.spanUs / 1e6;
  near(r.normalization.baselineUnits, sb, 'baseline span', 1e-9);
  near(r.normalization.candidateUnits, sc, 'candidate span', 1e-9);

  // kernels: the same names on both sides, all paired exactly; each number from the oracle
  assert.deepEqual([...ob.kernels.keys()].sort(), [...oc.kernels.keys()].sort());
  assert.equal(r.kernels!.length, ob.kernels.size);
  for (const k of r.kernels!) {
    const b = ob.kernels.get(k.name)!;
    const c = oc.kernels.get(k.name)!;
    assert.deepEqual([k.status, k.match, k.baselineNames, k.candidateNames], ['both', 'exact', [k.name], [k.name]]);
    near(k.baseline!.calls, b.calls / sb, `${k.name} baseline calls`, 1e-9);
    near(k.candidate!.calls, c.calls / sc, `${k.name} candidate calls`, 1e-9);
    near(k.baseline!.totalUs, b.us / sb, `${k.name} baseline total`, 1e-3 / sb);
    near(k.candidate!.totalUs, c.us / sc, `${k.name} candidate total`, 1e-3 / sc);
    near(k.baseline!.meanUs, b.us / b.calls, `${k.name} baseline mean`);
    near(k.deltaUs, c.us / sc - b.us / sb, `${k.name} delta`, 2e-3 / sc);
    near(k.change, (c.us / sc) / (b.us / sb) - 1, `${k.name} change`, 1e-6);
  }
  const deltas = r.kernels!.map((k) => Math.abs(k.deltaUs));
  assert.deepEqual(deltas, [...deltas].sort((a, b) => b - a));

  // launches: eager launches each kernel (cudaLaunchKernelExC, cuLaunchKernelEx for nvjet), the graph replays with cudaGraphLaunch
  const api = new Map(r.apiCalls!.map((a) => [a.name, a]));
  assert.equal(api.get('cudaGraphLaunch')!.status, 'added');
  assert.equal(api.get('cudaLaunchKernelExC')!.status, 'removed');
  assert.equal(api.get('cuLaunchKernelEx')!.status, 'removed');
  assert.equal(api.get('cudaDeviceSynchronize')!.status, 'both');
  assert.equal(ob.api.has('cudaGraphLaunch'), false);
  assert.equal(oc.api.has('cudaLaunchKernelExC') || oc.api.has('cuLaunchKernelEx'), false);
  assert.equal(r.apiCalls!.length, new Set([...ob.api.keys(), ...oc.api.keys()]).size);
  for (const a of r.apiCalls!) {
    const b = ob.api.get(a.name);
    const c = oc.api.get(a.name);
    assert.equal(a.status, b && c ? 'both' : b ? 'removed' : 'added', a.name);
    if (b) near(a.baseline!.totalUs, b.us / sb, `${a.name} baseline`, 1e-3 / sb);
    if (c) near(a.candidate!.totalUs, c.us / sc, `${a.name} candidate`, 1e-3 / sc);
    if (b) near(a.baseline!.calls, b.calls / sb, `${a.name} baseline calls`, 1e-9);
    if (c) near(a.candidate!.calls, c.calls / sc, `${a.name} candidate calls`, 1e-9);
  }
  // one launch per kernel in eager (192 + 48 = 240 kernels), one per replay in the graph (6)
  const kernelsB = [...ob.kernels.values()].reduce((a, x) => a + x.calls, 0);
  const launchB = ob.api.get('cudaLaunchKernelExC')!.calls + ob.api.get('cuLaunchKernelEx')!.calls;
  assert.equal(launchB, kernelsB);
  const t = new Map(r.totals.map((x) => [x.metric, x]));
  near(t.get('launchCalls')!.baseline, launchB / sb, 'launch calls baseline', 1e-9);
  near(t.get('launchCalls')!.candidate, oc.api.get('cudaGraphLaunch')!.calls / sc, 'launch calls candidate', 1e-9);
  near(t.get('launchTime')!.baseline, (ob.api.get('cudaLaunchKernelExC')!.us + ob.api.get('cuLaunchKernelEx')!.us) / sb, 'launch time baseline', 2e-3 / sb);
  near(t.get('launchTime')!.candidate, oc.api.get('cudaGraphLaunch')!.us / sc, 'launch time candidate', 1e-3 / sc);
  assert.ok(t.get('launchTime')!.change! < -0.5, 'launch overhead did not drop');
  // headline: GPU busy per second
  near(t.get('busy')!.baseline, ob.busyUs / sb, 'busy baseline', 1e-3 / sb);
  near(t.get('busy')!.candidate, oc.busyUs / sc, 'busy candidate', 1e-3 / sc);
  // ops: the graph replay launches no aten ops
  assert.ok(r.ops!.length > 0 && r.ops!.every((o) => o.status === 'removed'));
  assert.ok(r.ops!.some((o) => o.name === 'aten::mm'));
});

test('per step with different step counts: the same kernels in half the steps are +100% per step', async () => {
  await withTempDir('diff-steps', async (dir) => {
    let n = 0;
    const text = readDecompressed(EAGER).toString('utf8').replace(/"name": "decode_step"/g, (m) => (n++ < 3 ? '"name": "warmup_step"' : m));
    assert.equal(n, 6);
    const cand = path.join(dir, 'half-steps.json.gz');
    writeFileSync(cand, gzipSync(text));
    const r = await diffOf(EAGER, cand, { step: '^decode_step$', views: ['kernel', 'step'] });
    assert.equal(r.normalization.per, 'step');
    assert.deepEqual([r.normalization.baselineUnits, r.normalization.candidateUnits], [6, 3]);
    assert.match(r.normalization.reason, /baseline 6, candidate 3/);
    const o = oracleOfFile(EAGER);
    for (const k of r.kernels!) {
      near(k.baseline!.totalUs, o.kernels.get(k.name)!.us / 6, k.name);
      near(k.change, 1, k.name, 1e-12);
    }
    assert.deepEqual(r.steps!.map((s) => s.status), ['both', 'both', 'both', 'removed', 'removed', 'removed']);
  });
});

test('renamed kernels: another spelling and a re-tiled unique GEMM stay paired; a re-tiled GEMM of a crowded family does not; --exact pairs none', async () => {
  await withTempDir('diff-names', async (dir) => {
    const add = 'void at::native::vectorized_elementwise_kernel<8, at::native::CUDAFunctor_add<c10::BFloat16>, std::array<char*, 3ul> >(int, at::native::CUDAFunctor_add<c10::BFloat16>, std::array<char*, 3ul>)';
    const addOld = add.replace(/std::array<char\*, 3ul>/g, 'at::detail::Array<char*, 3>');
    const tnn = 'nvjet_sm90_tst_192x192_64x4_2x1_v_bz_coopB_TNN';
    const tnnNew = 'nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_TNN';
    const tnt = 'nvjet_sm90_tst_64x8_64x16_1x2_h_bz_TNT';
    const tntNew = 'nvjet_sm90_tst_128x8_64x16_1x2_v_bz_TNT';
    const raw = readDecompressed(TP0).toString('utf8');
    const text = raw.split(`"${add}"`).join(`"${addOld}"`).split(`"${tnn}"`).join(`"${tnnNew}"`).split(`"${tnt}"`).join(`"${tntNew}"`);
    assert.notEqual(text, raw);
    const cand = path.join(dir, 'renamed.json.gz');
    writeFileSync(cand, gzipSync(text));
    const o = oracleOfFile(TP0);
    const r = await diffOf(TP0, cand, { normalize: 'second' });
    const row = (name: string) => r.kernels!.find((k) => k.baselineNames.includes(name) || k.candidateNames.includes(name))!;
    assert.deepEqual([row(add).match, row(add).candidateNames, row(add).change], ['spelling', [addOld], 0]);
    assert.deepEqual([row(tnn).match, row(tnn).candidateNames, row(tnn).change], ['family', [tnnNew], 0]);
    assert.deepEqual([row(tnt).status, row(tntNew).status], ['removed', 'added']);
    const sec = o.spanUs / 1e6;
    near(row(tnt).baseline!.totalUs, o.kernels.get(tnt)!.us / sec, 'removed total', 1e-3 / sec);
    near(row(tntNew).candidate!.totalUs, o.kernels.get(tnt)!.us / sec, 'added total', 1e-3 / sec);
    assert.equal(r.ambiguous.length, 1);
    assert.ok(r.ambiguous[0]!.baseline.includes(tnt));
    // everything else: unchanged
    for (const k of r.kernels!) if (![add, tnn, tnt, tntNew].some((n) => k.baselineNames.includes(n) || k.candidateNames.includes(n))) assert.equal(k.deltaUs, 0);
    const exact = await diffOf(TP0, cand, { exact: true });
    assert.deepEqual(exact.kernels!.filter((k) => k.status !== 'both').map((k) => k.name).sort(), [add, addOld, tnn, tnnNew, tnt, tntNew].sort());
    assert.ok(exact.kernels!.every((k) => k.match === null || k.match === 'exact'));
  });
});
