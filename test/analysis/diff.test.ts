/**
 * Kernel-name matching (kernel-match.ts) against the real kernel names of the corpus, and the
 * pure comparison (diffStats, gateOf) against hand-computed numbers. Kernel names are read by
 * the tests' own JSON.parse of the fixtures, not by traceforge's scanner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { KERNEL_NAME_RULES, familyKey, matchKernelNames, spellingKey } from '../../src/analysis/kernel-match.js';
import { diffStats, gateOf, isLaunchCall, type DiffSide } from '../../src/analysis/diff.js';
import type { StatsResult } from '../../src/analysis/result.js';
import type { RankSummary } from '../../src/analysis/summary.js';
import type { KernelStat } from '../../src/analysis/kernels.js';
import type { StepStat } from '../../src/analysis/steps.js';
import { TraceforgeError } from '../../src/errors.js';
import { readDecompressed, realKinetoTraces, realFixture } from '../helpers.js';

/** Distinct device-kernel names of a trace (cat kernel / Kernel), by JSON.parse. */
function kernelNames(file: string): string[] {
  const j = JSON.parse(readDecompressed(file).toString('utf8')) as unknown;
  const events = (Array.isArray(j) ? j : (j as { traceEvents?: unknown[] }).traceEvents ?? []) as { ph?: string; cat?: string; name?: string }[];
  const names = new Set<string>();
  for (const e of events) if (e.ph === 'X' && (e.cat === 'kernel' || e.cat === 'Kernel') && typeof e.name === 'string') names.add(e.name);
  return [...names];
}

const CORPUS = new Map(realKinetoTraces().map((f) => [path.basename(f), kernelNames(f)]));
const ALL_NAMES = new Set([...CORPUS.values()].flat());
const TP0 = CORPUS.get('1763900000-TP-0.trace.json.gz')!;

test('the corpus has the kernels these tests rely on', () => {
  assert.ok(ALL_NAMES.size > 300, `only ${ALL_NAMES.size} kernel names`);
  assert.equal(TP0.length, 17);
});

test('every rule example is a real kernel name of the corpus, rewritten by its rule as the table says', () => {
  for (const r of KERNEL_NAME_RULES) {
    assert.ok(ALL_NAMES.has(r.example[0]), `${r.id}: example is not a kernel name in test/fixtures/real: ${r.example[0]}`);
    assert.equal(r.apply(r.example[0]), r.example[1], r.id);
    assert.notEqual(r.example[0], r.example[1], `${r.id}: the example shows no rewrite`);
  }
  // the spelling rules come first (keys are built in table order)
  const levels = KERNEL_NAME_RULES.map((r) => r.level);
  assert.deepEqual(levels, [...levels].sort((a, b) => (a === b ? 0 : a === 'spelling' ? -1 : 1)));
});

test('spelling keys never merge two different kernels: distinct names of every real trace keep distinct keys', () => {
  let traces = 0;
  for (const [file, names] of CORPUS) {
    if (names.length === 0) continue;
    traces++;
    const byKey = new Map<string, string[]>();
    for (const n of names) byKey.set(spellingKey(n), [...(byKey.get(spellingKey(n)) ?? []), n]);
    const merged = [...byKey.values()].filter((g) => g.length > 1);
    assert.deepEqual(merged, [], `${file}: spelling rules merge kernels of one build`);
  }
  assert.ok(traces >= 12, `only ${traces} traces with kernels`);
});

test('the same kernel spelled by two PyTorch builds (at::detail::Array vs std::array<..., 2ul>) pairs by spelling', () => {
  const old = 'void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctorOnSelf_add<long>, at::detail::Array<char*, 2> >(int, at::native::CUDAFunctorOnSelf_add<long>, at::detail::Array<char*, 2>)';
  const neu = 'void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctorOnSelf_add<long>, std::array<char*, 2ul> >(int, at::native::CUDAFunctorOnSelf_add<long>, std::array<char*, 2ul>)';
  assert.ok(CORPUS.get('sampled_rank-0.json.gz')!.includes(old));
  assert.ok(CORPUS.get('sglang_Qwen3-8B_prefilldecode.json.gz')!.includes(neu));
  const base = CORPUS.get('sampled_rank-0.json.gz')!;
  const cand = CORPUS.get('sglang_Qwen3-8B_prefilldecode.json.gz')!;
  const m = matchKernelNames(base, cand);
  const pair = m.pairs.find((p) => p.baseline.includes(old));
  assert.ok(pair, 'not paired');
  assert.deepEqual(pair, { baseline: [old], candidate: [neu], level: 'spelling' });
  // --exact: removed + added
  const e = matchKernelNames(base, cand, { exact: true });
  assert.ok(e.removed.some((g) => g.includes(old)) && e.added.some((g) => g.includes(neu)));
  assert.ok(e.pairs.every((p) => p.level === 'exact' && p.baseline.length === 1 && p.baseline[0] === p.candidate[0]));
});

test('a trace against itself: every kernel paired exactly, nothing added or removed', () => {
  for (const [file, names] of CORPUS) {
    const m = matchKernelNames(names, names);
    assert.equal(m.pairs.length, names.length, file);
    assert.ok(m.pairs.every((p) => p.level === 'exact' && p.baseline.length === 1 && p.baseline[0] === p.candidate[0]), file);
    assert.deepEqual([m.removed, m.added, m.ambiguous], [[], [], []], file);
  }
});

test('family pairs only one-to-one: a re-tiled GEMM pairs when its family is unique, stays removed + added when not', () => {
  const tnn = 'nvjet_sm90_tst_192x192_64x4_2x1_v_bz_coopB_TNN';
  const tnt = 'nvjet_sm90_tst_64x8_64x16_1x2_h_bz_TNT';
  assert.ok(TP0.includes(tnn) && TP0.includes(tnt));
  // another cuBLAS picks another tile for the only TNN GEMM: paired
  const retiledTnn = 'nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_TNN';
  const m = matchKernelNames(TP0, TP0.map((n) => (n === tnn ? retiledTnn : n)));
  assert.deepEqual(m.pairs.find((p) => p.baseline[0] === tnn), { baseline: [tnn], candidate: [retiledTnn], level: 'family' });
  assert.deepEqual([m.removed, m.added, m.ambiguous], [[], [], []]);
  // five TNT GEMMs share a family: a re-tiled one cannot be told apart, so it is not paired
  const retiledTnt = 'nvjet_sm90_tst_128x8_64x16_1x2_v_bz_TNT';
  const a = matchKernelNames(TP0, TP0.map((n) => (n === tnt ? retiledTnt : n)));
  assert.deepEqual(a.removed, [[tnt]]);
  assert.deepEqual(a.added, [[retiledTnt]]);
  assert.equal(a.ambiguous.length, 1);
  assert.equal(a.ambiguous[0]!.baseline.length, 5);
  assert.ok(a.ambiguous[0]!.baseline.includes(tnt) && a.ambiguous[0]!.candidate.includes(retiledTnt));
  // lambda renumbering and integer template arguments, one-to-one
  const copy = TP0.find((n) => n.includes('direct_copy_kernel_cuda'))!;
  const renumbered = copy.replace('{lambda()#3}', '{lambda()#2}');
  assert.notEqual(renumbered, copy);
  const l = matchKernelNames([copy], [renumbered]);
  assert.deepEqual(l.pairs, [{ baseline: [copy], candidate: [renumbered], level: 'family' }]);
  const reduce = 'void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::ArgMaxOps<float>, unsigned int, long, 4, 4> >(at::native::ReduceOp<float, at::native::ArgMaxOps<float>, unsigned int, long, 4, 4>)';
  const r = matchKernelNames([reduce], [reduce.replace('<512, 1,', '<256, 2,')]);
  assert.equal(r.pairs[0]?.level, 'family');
});

test('different kernels never pair, even one-to-one (real names: other types, modes, layouts, element sizes, ops)', () => {
  const pairs: [string, string][] = [
    // type template arguments
    ['void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, at::detail::Array<char*, 1> >(int, at::native::FillFunctor<float>, at::detail::Array<char*, 1>)',
      'void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<long>, at::detail::Array<char*, 1> >(int, at::native::FillFunctor<long>, at::detail::Array<char*, 1>)'],
    // boolean template arguments (log-softmax or not)
    ['void (anonymous namespace)::softmax_warp_forward<float, float, float, 10, true, false>(float*, float const*, int, int, int, bool const*, int, bool)',
      'void (anonymous namespace)::softmax_warp_forward<float, float, float, 1, false, false>(float*, float const*, int, int, int, bool const*, int, bool)'],
    // forward and backward
    ['void (anonymous namespace)::softmax_warp_forward<float, float, float, 10, true, false>(float*, float const*, int, int, int, bool const*, int, bool)',
      'void (anonymous namespace)::softmax_warp_backward<float, float, float, 10, true, false>(float*, float const*, float const*, int, int, int, bool const*)'],
    // GEMM layouts
    ['nvjet_sm90_tst_192x192_64x4_2x1_v_bz_coopB_TNN', 'nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_TNT'],
    ['nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_NNT', 'nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_TNT'],
    // an epilogue (bias) is another computation
    ['nvjet_tst_64x64_64x16_2x1_2cta_v_bz_bias_TNT', 'nvjet_sm90_tst_64x8_64x16_1x2_h_bz_TNT'],
    // cuDNN attention for sm80 and sm90 are different code
    ['cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_7_64x128x128_4x1x1_cga1x1x1_kernel0_0',
      'cudnn_generated_fort_native_sdpa_sm80_flash_fprop_wmma_f16_knob_35_16x128x128_1x4x1_cga1x1x1_kernel0_0'],
    // element size of a copy (nested integer template argument)
    [...CORPUS.get('ns_resolution_rank-0.pt.trace.json.gz')!.filter((n) => n.includes('CatArrayBatchedCopy_aligned16_contig<at::native::(anonymous namespace)::OpaqueType<')).slice(0, 2)] as [string, string],
    // two ops in the same elementwise template
    [TP0.find((n) => n.includes('silu_kernel'))!, TP0.find((n) => n.includes('MulFunctor'))!],
    // Triton kernels of different fusions
    ['triton_poi_fused__to_copy_1', 'triton_poi_fused_0'],
  ];
  for (const [a, b] of pairs) {
    assert.ok(a && b && a !== b, `bad test pair ${a} / ${b}`);
    assert.ok(ALL_NAMES.has(a), `not a real name: ${a}`);
    assert.ok(ALL_NAMES.has(b), `not a real name: ${b}`);
    const m = matchKernelNames([a], [b]);
    assert.deepEqual(m.pairs, [], `paired: ${a} / ${b}`);
    assert.notEqual(familyKey(a), familyKey(b));
  }
});

// ---------------------------------------------------------------------------------------------
// diffStats and gateOf on hand-made statistics

function summary(label: string, busyUs: number, spanUs: number, extra: Partial<RankSummary> = {}): RankSummary {
  return {
    label, file: `${label}.json`, rank: null, devices: 1, kernels: 10, spanUs, deviceSpanUs: spanUs, busyUs, idleUs: spanUs - busyUs,
    utilization: busyUs / spanUs, categories: [], communicationUs: 0, computeUs: busyUs, overlapUs: 0, overlapShare: null,
    exposedCommunicationUs: 0, ...extra,
  };
}

function kernel(name: string, calls: number, totalUs: number, category = 'GEMM'): KernelStat {
  return { name, category, calls, totalUs, meanUs: totalUs / calls, medianUs: totalUs / calls, minUs: 0, maxUs: 0, share: 0 };
}

function steps(label: string, n: number): StepStat[] {
  return Array.from({ length: n }, (_, index) => ({ label, name: `ProfilerStep#${index}`, index, startUs: index, wallUs: 100, gpuUs: null, busyUs: 50, communicationUs: 0, kernels: 3 }));
}

function side(kernels: KernelStat[], sums: RankSummary[], stepList: StepStat[] = [], apiCalls?: DiffSide['apiCalls']): DiffSide {
  const stats: StatsResult = {
    views: ['summary', 'kernel', 'category', 'step'],
    inputs: sums.map((s) => ({ label: s.label, file: s.file, rank: s.rank, events: 0, bytes: 0 })),
    summary: sums, kernels,
    categories: [...new Set(kernels.map((k) => k.category))].map((category) => {
      const ks = kernels.filter((k) => k.category === category);
      return { category, calls: ks.reduce((a, k) => a + k.calls, 0), kernels: ks.length, totalUs: ks.reduce((a, k) => a + k.totalUs, 0), share: 0 };
    }),
    steps: stepList, notes: [], diagnostics: [],
  };
  return apiCalls ? { stats, apiCalls } : { stats };
}

test('per step when both sides have steps: totals and calls divided by each side\'s steps, means per call', () => {
  const b = side([kernel('gemm_a', 40, 400), kernel('norm', 10, 50, 'normalization')], [summary('r0', 600, 10_000)], steps('r0', 4));
  const c = side([kernel('gemm_a', 80, 1000), kernel('attn', 8, 16, 'attention')], [summary('r0', 900, 30_000)], steps('r0', 8));
  const r = diffStats(b, c, { views: ['kernel', 'category', 'step'] });
  assert.equal(r.normalization.per, 'step');
  assert.deepEqual([r.normalization.baselineUnits, r.normalization.candidateUnits], [4, 8]);
  const byName = new Map(r.kernels!.map((k) => [k.name, k]));
  const g = byName.get('gemm_a')!;
  // 400 µs / 4 steps = 100; 1000 / 8 = 125
  assert.deepEqual([g.baseline, g.candidate], [{ calls: 10, totalUs: 100, meanUs: 10 }, { calls: 10, totalUs: 125, meanUs: 12.5 }]);
  assert.equal(g.deltaUs, 25);
  assert.equal(g.change, 0.25);
  assert.equal(g.status, 'both');
  assert.deepEqual([byName.get('norm')!.status, byName.get('norm')!.change, byName.get('norm')!.deltaUs], ['removed', -1, -12.5]);
  assert.deepEqual([byName.get('attn')!.status, byName.get('attn')!.change, byName.get('attn')!.deltaUs], ['added', null, 2]);
  // sorted by |Δ|: gemm 25, norm 12.5, attn 2
  assert.deepEqual(r.kernels!.map((k) => k.name), ['gemm_a', 'norm', 'attn']);
  // headline: busy per step 600/4 = 150 -> 900/8 = 112.5
  assert.deepEqual([r.totals[0]!.metric, r.totals[0]!.baseline, r.totals[0]!.candidate, r.totals[0]!.change], ['busy', 150, 112.5, -0.25]);
  assert.deepEqual(r.categories!.map((x) => [x.name, x.deltaUs]), [['GEMM', 25], ['normalization', -12.5], ['attention', 2]]);
  assert.equal(r.steps!.length, 8);
  assert.deepEqual(r.steps!.slice(3, 5).map((s) => s.status), ['both', 'added']);
});

test('totals when only one side has steps, and the note says so; per second or per profile when asked', () => {
  const b = side([kernel('k', 10, 100)], [summary('r0', 100, 2_000_000)], steps('r0', 3));
  const c = side([kernel('k', 10, 100)], [summary('r0', 100, 4_000_000)]);
  const auto = diffStats(b, c, {});
  assert.deepEqual([auto.normalization.per, auto.kernels![0]!.deltaUs], ['profile', 0]);
  assert.match(auto.normalization.reason, /steps on the baseline only/);
  const r = diffStats(b, c, { normalize: 'second' });
  assert.equal(r.normalization.per, 'second');
  assert.match(r.normalization.reason, /as asked/);
  assert.deepEqual([r.normalization.baselineUnits, r.normalization.candidateUnits], [2, 4]);
  // 100 µs in 2 s = 50 per s; in 4 s = 25 per s
  assert.deepEqual([r.kernels![0]!.baseline!.totalUs, r.kernels![0]!.candidate!.totalUs, r.kernels![0]!.change], [50, 25, -0.5]);
  const raw = diffStats(b, c, { normalize: 'none' });
  assert.equal(raw.normalization.per, 'profile');
  assert.deepEqual([raw.kernels![0]!.deltaUs, raw.kernels![0]!.change], [0, 0]);
  assert.throws(() => diffStats(b, c, { normalize: 'step' }), (e: unknown) => e instanceof TraceforgeError && e.code === 'E_USAGE' && /candidate has none/.test(e.message));
});

test('two ranks per side: per-step units are steps per rank; totals sum over ranks', () => {
  const b = side([kernel('k', 20, 200)], [summary('TP00', 100, 1e6), summary('TP01', 300, 1e6)], [...steps('TP00', 5), ...steps('TP01', 5)]);
  const c = side([kernel('k', 20, 300)], [summary('TP00', 200, 1e6), summary('TP01', 200, 1e6)], [...steps('TP00', 5), ...steps('TP01', 5)]);
  const r = diffStats(b, c, { views: ['rank'] });
  assert.deepEqual([r.normalization.per, r.normalization.baselineUnits], ['step', 5]);
  assert.deepEqual([r.totals[0]!.baseline, r.totals[0]!.candidate], [80, 80]);
  assert.deepEqual(r.ranks!.map((x) => [x.label, x.baseline!.busyUs, x.candidate!.busyUs, x.changeBusy]), [['TP00', 20, 40, 1], ['TP01', 60, 40, -1 / 3]]);
});

test('launch calls: totals count only kernel / graph launches', () => {
  assert.ok(['cudaLaunchKernel', 'cudaLaunchKernelExC', 'cuLaunchKernelEx', 'cudaGraphLaunch', 'hipLaunchKernel', 'hipModuleLaunchKernel', 'hipExtModuleLaunchKernel'].every(isLaunchCall));
  assert.ok(!['cudaDeviceSynchronize', 'cudaStreamIsCapturing', 'cudaEventRecord', 'cudaMemsetAsync', 'cudaGetFuncBySymbol'].some(isLaunchCall));
  const b = side([kernel('k', 10, 100)], [summary('r0', 100, 1e6)], [], [{ name: 'cudaLaunchKernel', calls: 10, totalUs: 50 }, { name: 'cudaDeviceSynchronize', calls: 1, totalUs: 900 }]);
  const c = side([kernel('k', 10, 100)], [summary('r0', 100, 1e6)], [], [{ name: 'cudaGraphLaunch', calls: 1, totalUs: 20 }, { name: 'cudaDeviceSynchronize', calls: 1, totalUs: 900 }]);
  const r = diffStats(b, c);
  const t = new Map(r.totals.map((x) => [x.metric, x]));
  assert.deepEqual([t.get('launchCalls')!.baseline, t.get('launchCalls')!.candidate, t.get('launchTime')!.baseline, t.get('launchTime')!.candidate], [10, 1, 50, 20]);
  assert.deepEqual(r.apiCalls!.map((a) => [a.name, a.status, a.launch]), [['cudaLaunchKernel', 'removed', true], ['cudaGraphLaunch', 'added', true], ['cudaDeviceSynchronize', 'both', false]]);
});

test('gateOf: totals, categories, kernels by full or partial name, runtime calls; errors for unknown or ambiguous names', () => {
  const b = side([kernel('gemm_splitk_pdl_kernel(float*)', 10, 100), kernel('gemm_other', 10, 100), kernel('silu', 10, 100, 'activation/elementwise')], [summary('r0', 300, 1e6)], [], [{ name: 'cudaLaunchKernel', calls: 30, totalUs: 60 }]);
  const c = side([kernel('gemm_splitk_pdl_kernel(float*)', 10, 150), kernel('gemm_other', 10, 100), kernel('silu', 10, 100, 'activation/elementwise'), kernel('newk', 1, 1)], [summary('r0', 351, 1e6)], [], [{ name: 'cudaLaunchKernel', calls: 31, totalUs: 62 }]);
  const r = diffStats(b, c);
  const busy = gateOf(r, 15);
  assert.deepEqual([busy.metric, busy.change, busy.regressed], ['GPU busy', 0.17, true]);
  assert.equal(gateOf(r, 17).regressed, false);
  assert.equal(gateOf(r, 17, 'total').change, 0.17);
  const k = gateOf(r, 49.9, 'splitk');
  assert.deepEqual([k.metric, k.change, k.regressed], ['kernel gemm_splitk_pdl_kernel(float*)', 0.5, true]);
  assert.equal(gateOf(r, 50.1, 'gemm_splitk_pdl_kernel(float*)').regressed, false);
  assert.equal(gateOf(r, 0, 'activation/elementwise').change, 0);
  assert.equal(gateOf(r, 1000, 'newk').change, Infinity);
  assert.equal(gateOf(r, 1000, 'newk').regressed, true);
  assert.ok(Math.abs(gateOf(r, 1, 'cudaLaunchKernel').change - 1 / 30) < 1e-12);
  assert.throws(() => gateOf(r, 1, 'gemm_'), (e: unknown) => e instanceof TraceforgeError && e.code === 'E_USAGE' && /2 kernels match/.test(e.message));
  // a category name wins over parts of kernel names (case-insensitive)
  assert.equal(gateOf(r, 1, 'gemm').metric, 'category GEMM');
  assert.throws(() => gateOf(r, 1, 'no_such_kernel'), (e: unknown) => e instanceof TraceforgeError && e.code === 'E_NOT_FOUND');
  // without API calls the launch totals are not there
  const noApi = diffStats(side(b.stats.kernels!, b.stats.summary!), side(c.stats.kernels!, c.stats.summary!));
  assert.throws(() => gateOf(noApi, 1, 'launch'), (e: unknown) => e instanceof TraceforgeError && e.code === 'E_USAGE');
});

test('realFixture paths used by the other diff suites exist', () => {
  for (const p of [realFixture('h200', 'pdl-eager.trace.json.gz'), realFixture('h200', 'pdl-cudagraph.trace.json.gz')]) assert.ok(CORPUS.has(path.basename(p)));
});
