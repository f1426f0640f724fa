/**
 * Every performance model against FLOPs and bytes computed by hand here (plain integer
 * arithmetic, written out per case), and the device-peak table's lookups.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { estimateOp, hasModel, type PerfEstimate } from '../../src/analysis/perf-models/index.js';
import { computeRoof, parsePeakOverride, peakOf } from '../../src/analysis/device-peaks.js';
import { pipeBound } from '../../src/analysis/npu-pipes.js';

const BF = 'c10::BFloat16';
function est(name: string, dims: unknown[], types: string[], concrete: string[] | null = null): PerfEstimate {
  const r = estimateOp(name, { dims, types, concrete });
  assert.ok(r !== undefined, `${name} has a model`);
  assert.ok(!('error' in r), `${name}: ${'error' in r ? r.error : ''}`);
  return r;
}

test('aten::mm [32,4096] x [4096,6144] BF16', () => {
  const r = est('aten::mm', [[32, 4096], [4096, 6144]], [BF, BF]);
  assert.equal(r.family, 'gemm');
  assert.equal(r.flops, BigInt(2 * 32 * 4096 * 6144));
  assert.equal(r.bytes, BigInt((32 * 4096 + 4096 * 6144 + 32 * 6144) * 2));
  assert.equal(r.precision, 'bf16');
});

test('aten::mm [2048,2048]^2 BF16 and FP32', () => {
  assert.equal(est('aten::mm', [[2048, 2048], [2048, 2048]], [BF, BF]).flops, 17179869184n); // 2·2048³
  const f = est('aten::mm', [[2048, 2048], [2048, 2048]], ['float', 'float']);
  assert.equal(f.bytes, BigInt(3 * 2048 * 2048 * 4));
  assert.equal(f.precision, 'fp32');
});

test('aten::addmm: bias adds M·N FLOPs and its own elements in bytes', () => {
  const r = est('aten::addmm', [[6144], [32, 4096], [4096, 6144], [], []], [BF, BF, BF, 'Scalar', 'Scalar']);
  assert.equal(r.flops, BigInt(2 * 32 * 4096 * 6144 + 32 * 6144));
  assert.equal(r.bytes, BigInt((32 * 4096 + 4096 * 6144 + 32 * 6144 + 6144) * 2));
});

test('aten::bmm and aten::baddbmm multiply by the batch', () => {
  const r = est('aten::bmm', [[4, 64, 128], [4, 128, 32]], [BF, BF]);
  assert.equal(r.flops, BigInt(4 * 2 * 64 * 32 * 128));
  assert.equal(r.bytes, BigInt(4 * (64 * 128 + 128 * 32 + 64 * 32) * 2));
  const b = est('aten::baddbmm', [[4, 64, 32], [4, 64, 128], [4, 128, 32], [], []], ['float', 'float', 'float', 'Scalar', 'Scalar']);
  assert.equal(b.flops, BigInt(4 * (2 * 64 * 32 * 128 + 64 * 32)));
  assert.equal(b.bytes, BigInt((4 * (64 * 128 + 128 * 32 + 64 * 32) + 4 * 64 * 32) * 4));
  const bad = estimateOp('aten::bmm', { dims: [[4, 64, 128], [4, 64, 32]], types: [BF, BF], concrete: null });
  assert.ok(bad && 'error' in bad);
});

test('aten::linear folds the leading dims of X into M; weight is [N, K]', () => {
  const r = est('aten::linear', [[8, 1, 2048], [3072, 2048], []], [BF, BF, '']);
  assert.equal(r.flops, BigInt(2 * 8 * 3072 * 2048));
  assert.equal(r.bytes, BigInt((8 * 2048 + 3072 * 2048 + 8 * 3072) * 2));
  const b = est('aten::linear', [[8, 2048], [3072, 2048], [3072]], [BF, BF, BF]);
  assert.equal(b.flops, BigInt(2 * 8 * 3072 * 2048 + 8 * 3072));
  assert.equal(b.bytes, BigInt((8 * 2048 + 3072 * 2048 + 8 * 3072 + 3072) * 2));
});

test('aten::matmul: 2-D weight folds, equal batch dims are batched, broadcast is not modelled', () => {
  assert.equal(est('aten::matmul', [[8, 1, 2048], [2048, 3072]], [BF, BF]).flops, BigInt(2 * 8 * 3072 * 2048));
  const b = est('aten::matmul', [[2, 3, 16, 32], [2, 3, 32, 8]], [BF, BF]);
  assert.equal(b.flops, BigInt(6 * 2 * 16 * 8 * 32));
  assert.equal(b.bytes, BigInt(6 * (16 * 32 + 32 * 8 + 16 * 8) * 2));
  const x = estimateOp('aten::matmul', { dims: [[2, 3, 16, 32], [3, 32, 8]], types: [BF, BF], concrete: null });
  assert.ok(x && 'error' in x);
});

test('aten::_scaled_mm FP8: output in out_dtype (bf16 code 15), else 2 bytes; scales not counted', () => {
  const F8 = 'c10::Float8_e4m3fn';
  const dims = [[128, 256], [256, 512], [], [], [], [], [], []];
  const types = [F8, F8, 'float', 'float', '', '', 'Scalar', 'Scalar'];
  const r = est('aten::_scaled_mm', dims, types, ['', '', '', '', '', '', '15', 'False']);
  assert.equal(r.flops, BigInt(2 * 128 * 512 * 256));
  assert.equal(r.bytes, BigInt(128 * 256 + 256 * 512 + 128 * 512 * 2));
  assert.equal(r.precision, 'fp8');
  const f32 = est('aten::_scaled_mm', dims, types, ['', '', '', '', '', '', '6', 'False']);
  assert.equal(f32.bytes, BigInt(128 * 256 + 256 * 512 + 128 * 512 * 4));
  assert.equal(est('aten::_scaled_mm', dims, types).bytes, r.bytes);
});

test('serving-stack GEMMs: aiter gemm_a16w16 (B is [N,K]), sgl_kernel fp8 (B is [K,N]), vLLM cutlass (out first)', () => {
  const a = est('aiter::gemm_a16w16', [[32, 4096], [6144, 4096], [], [], [], [], []], [BF, BF, '', 'Scalar', '', '', '']);
  assert.equal(a.flops, BigInt(2 * 32 * 6144 * 4096));
  assert.equal(a.bytes, BigInt((32 * 4096 + 6144 * 4096 + 32 * 6144) * 2));
  const F8 = 'c10::Float8_e4m3fn';
  const s = est('sgl_kernel::fp8_blockwise_scaled_mm', [[16, 7168], [7168, 2112], [16, 56], [56, 17], []], [F8, F8, 'float', 'float', 'Scalar']);
  assert.equal(s.flops, BigInt(2 * 16 * 2112 * 7168));
  assert.equal(s.bytes, BigInt(16 * 7168 + 7168 * 2112 + 16 * 2112 * 2));
  const v = est('_C::cutlass_scaled_mm', [[64, 1024], [64, 512], [512, 1024], [64, 1], [1, 1024], []], [BF, F8, F8, 'float', 'float', '']);
  assert.equal(v.flops, BigInt(2 * 64 * 1024 * 512));
  assert.equal(v.bytes, BigInt(64 * 512 + 512 * 1024 + 64 * 1024 * 2));
});

test('SDPA decode with GQA (tiny: B=8, Hq=16, Hkv=4, Nq=1, Nkv=1024, d=128)', () => {
  const dims = [[8, 16, 1, 128], [8, 4, 1024, 128], [8, 4, 1024, 128], [], [], [], [], [], []];
  const types = [BF, BF, BF, '', 'Scalar', 'Scalar', 'Scalar', 'Scalar', ''];
  const r = est('aten::_scaled_dot_product_cudnn_attention', dims, types, ['', '', '', '', 'False', '0.', 'False', 'False', '']);
  assert.equal(r.flops, BigInt(4 * 8 * 16 * 1 * 1024 * 128)); // 67,108,864 = tiny-truth flops_each
  assert.equal(r.flops, 67108864n);
  assert.equal(r.bytes, BigInt((8 * 1 * 16 * 128 + 2 * 8 * 1024 * 4 * 128 + 8 * 1 * 16 * 128) * 2));
  assert.match(r.params, /decode/);
  // without Concrete Inputs the causal flag is unknown: FLOPs missing, bytes known
  const u = est('aten::_scaled_dot_product_cudnn_attention', dims, types, null);
  assert.equal(u.flops, null);
  assert.equal(u.bytes, r.bytes);
});

test('SDPA prefill: causal halves FLOPs when Nq = Nkv; causal with Nq ≠ Nkv is missing', () => {
  const d = [[2, 8, 512, 64], [2, 8, 512, 64], [2, 8, 512, 64], [], [], [], [], []];
  const t = [BF, BF, BF, '', 'Scalar', 'Scalar', '', 'Scalar'];
  const full = est('aten::scaled_dot_product_attention', d, t, ['', '', '', '', '0.', 'False', '', 'False']);
  assert.equal(full.flops, BigInt(4 * 2 * 8 * 512 * 512 * 64));
  const causal = est('aten::scaled_dot_product_attention', d, t, ['', '', '', '', '0.', 'True', '', 'False']);
  assert.equal(causal.flops, BigInt(2 * 2 * 8 * 512 * 512 * 64));
  const chunk = est('aten::scaled_dot_product_attention', [[2, 8, 128, 64], [2, 8, 512, 64], [2, 8, 512, 64], [], [], [], [], []], t, ['', '', '', '', '0.', 'True', '', 'False']);
  assert.equal(chunk.flops, null);
  assert.ok(chunk.missing);
  // flash-attn: [B, N, H, d], causal at Concrete Inputs[5]
  const fa = est('flash_attn::_flash_attn_forward', [[2, 512, 8, 64], [2, 512, 2, 64], [2, 512, 2, 64], [], [], []], [BF, BF, BF, 'Scalar', 'Scalar', 'Scalar'], ['', '', '', '0.0', '0.125', 'True']);
  assert.equal(fa.flops, BigInt(2 * 2 * 8 * 512 * 512 * 64));
  assert.equal(fa.bytes, BigInt((2 * 512 * 8 * 64 * 2 + 2 * 2 * 512 * 2 * 64) * 2));
});

test('flash-attn varlen: FLOPs only when the sequence lengths are known', () => {
  const types = [BF, BF, BF, 'int', 'int', 'Scalar', 'Scalar', 'Scalar', 'Scalar', 'Scalar'];
  const uniform = est('flash_attn::_flash_attn_varlen_forward', [[1024, 8, 128], [1024, 8, 128], [1024, 8, 128], [5], [5], [], [], [], [], []], types,
    ['', '', '', '', '', '256', '256', '0.0', '0.088', 'True']);
  assert.equal(uniform.flops, BigInt((4 * 4 * 8 * 256 * 256 * 128) / 2));
  const mixed = est('flash_attn::_flash_attn_varlen_forward', [[1000, 8, 128], [1000, 8, 128], [1000, 8, 128], [5], [5], [], [], [], [], []], types,
    ['', '', '', '', '', '400', '400', '0.0', '0.088', 'True']);
  assert.equal(mixed.flops, null);
  assert.equal(mixed.bytes, BigInt(4 * 1000 * 8 * 128 * 2));
});

test('elementwise: unary, binary with broadcast, binary with a Python scalar (TraceLens counts it as one element)', () => {
  const u = est('aten::silu', [[8, 1, 5632]], [BF]);
  assert.equal(u.flops, 45056n);
  assert.equal(u.bytes, BigInt(45056 * 2 * 2));
  const c = est('aten::copy_', [[8, 1, 2048], [8, 1, 2048], []], ['float', BF, 'Scalar']);
  assert.equal(c.bytes, BigInt(16384 * 4 + 16384 * 2));
  const b = est('aten::mul', [[8, 1, 2048], [8, 1, 1]], ['float', 'float']);
  assert.equal(b.flops, 16384n);
  assert.equal(b.bytes, BigInt(16384 * 4 + 8 * 4 + 16384 * 4));
  const s = est('aten::add', [[8, 1, 1], [], []], ['float', 'double', 'Scalar']);
  assert.equal(s.flops, 8n);
  assert.equal(s.bytes, BigInt(8 * 4 + 1 * 8 + 8 * 4));
  assert.equal(s.family, 'elementwise');
});

test('RMS norm (plain and fused residual add) and layer norm', () => {
  // vLLM _C::rms_norm(out, input, weight, eps): E = 888·2880, C = 2880
  const E = 888 * 2880, C = 2880;
  const r = est('_C::rms_norm', [[888, 2880], [888, 2880], [2880], []], [BF, BF, BF, 'Scalar']);
  assert.equal(r.family, 'norm');
  assert.equal(r.flops, BigInt((E / C) * (2 * C + 2) + 2 * E));
  assert.equal(r.bytes, BigInt(2 * E * 2 + C * 2));
  const f = est('_C::fused_add_rms_norm', [[888, 2880], [888, 2880], [2880], []], [BF, BF, BF, 'Scalar']);
  assert.equal(f.flops, BigInt((E / C) * (2 * C + 2) + 2 * E + E));
  assert.equal(f.bytes, BigInt(4 * E * 2 + C * 2));
  // aiter::add_rmsnorm(out, input, residual_in, residual_out, weight, eps)
  const a = est('aiter::add_rmsnorm', [[32, 4096], [32, 4096], [32, 4096], [32, 4096], [4096], []], [BF, BF, BF, BF, BF, 'Scalar']);
  assert.equal(a.bytes, BigInt(4 * 32 * 4096 * 2 + 4096 * 2));
  // aten::layer_norm(input, [C], weight, bias, eps, cudnn): 6C + 2E FLOPs, 2E + 4C elements
  const l = est('aten::layer_norm', [[4, 1024], [], [1024], [1024], [], []], ['float', 'ScalarList', 'float', 'float', 'Scalar', 'Scalar'], ['', '[1024]', '', '', '1e-05', 'True']);
  assert.equal(l.flops, BigInt(6 * 1024 + 2 * 4096));
  assert.equal(l.bytes, BigInt((2 * 4096 + 4 * 1024) * 4));
});

test('aten::convolution: output size from stride/padding/dilation; bias when argument 2 is a tensor', () => {
  // input [32,3,224,224], weight [64,3,11,11], stride 4, padding 2 → out 55×55
  const dims = [[32, 3, 224, 224], [64, 3, 11, 11], [64], [], [], [], [], [], []];
  const types = ['float', 'float', 'float', 'ScalarList', 'ScalarList', 'ScalarList', 'Scalar', 'ScalarList', 'Scalar'];
  const r = est('aten::convolution', dims, types, ['', '', '', '[4, 4]', '[2, 2]', '[1, 1]', 'False', '[0, 0]', '1']);
  const out = 32 * 64 * 55 * 55;
  assert.equal(r.flops, BigInt(out * 2 * 3 * 11 * 11 + out));
  assert.equal(r.bytes, BigInt((32 * 3 * 224 * 224 + 64 * 3 * 11 * 11 + 64 + out) * 4));
  assert.ok('error' in estimateOp('aten::convolution', { dims, types, concrete: null })!);
});

test('ops without a model have none', () => {
  assert.equal(hasModel('aten::mean'), false);
  assert.equal(estimateOp('sglang_profiler::attention_paged_attention_ragged_100', { dims: [], types: [], concrete: null }), undefined);
});

test('device peaks: names from deviceProperties, H100 SXM vs PCIe by SM count, override', () => {
  assert.equal(peakOf('NVIDIA H200')?.matrix.bf16, 989.5);
  assert.equal(peakOf('NVIDIA H200')?.tbps, 4.8);
  assert.equal(peakOf('NVIDIA H100 80GB HBM3', 132)?.device, 'H100 SXM');
  assert.equal(peakOf('NVIDIA H100 80GB HBM3', 114)?.device, 'H100 PCIe');
  assert.equal(peakOf('NVIDIA H100 PCIe')?.device, 'H100 PCIe');
  assert.equal(peakOf('NVIDIA A100-SXM4-40GB')?.tbps, 1.555);
  assert.equal(peakOf('NVIDIA A100-SXM4-80GB')?.tbps, 2.039);
  assert.equal(peakOf('AMD Instinct MI300X')?.matrix.bf16, 1307.4);
  assert.equal(peakOf('AMD Instinct MI325X')?.tbps, 6.0);
  assert.equal(peakOf('NVIDIA B200')?.matrix.fp8, 4500);
  for (const n of ['NVIDIA H20', 'NVIDIA L40S', 'AMD Instinct MI250X', 'Ascend910B3']) assert.ok(peakOf(n), n);
  assert.equal(peakOf('Some Future GPU'), null);
  const o = parsePeakOverride('tflops=500,tbps=2');
  assert.equal(computeRoof(o, true, 'bf16'), 500);
  assert.equal(o.tbps, 2);
  assert.throws(() => parsePeakOverride('tflops=500'));
  // A100 has no FP8 figure: no roof rather than a wrong one
  assert.equal(computeRoof(peakOf('NVIDIA A100-SXM4-80GB')!, true, 'fp8'), null);
  assert.equal(computeRoof(peakOf('NVIDIA H200')!, false, 'bf16'), 67);
});

test('NPU pipe rules at their thresholds (msprof-analyze advisor)', () => {
  assert.equal(pipeBound('AI_CORE', { aic_mac_ratio: 0.8, aic_mte2_ratio: 0.5 }), 'mac');
  assert.equal(pipeBound('AI_CORE', { aic_mac_ratio: 0.79, aic_mte2_ratio: 0.95 }), 'mte2');
  assert.equal(pipeBound('AI_CORE', { aic_mac_ratio: 0.85, aic_mte2_ratio: 0.96 }), 'mac+mte2');
  assert.equal(pipeBound('AI_CORE', { aic_mac_ratio: 0.5, aic_mte2_ratio: 0.9 }), 'mte2>0.8');
  assert.equal(pipeBound('AI_CORE', { aic_mac_ratio: 0.5, aic_mte2_ratio: 0.8 }), 'none');
  assert.equal(pipeBound('AI_VECTOR_CORE', { aiv_vec_ratio: 0.3, aiv_mte2_ratio: 0.3, aiv_mte3_ratio: 0.3 }), 'vec+mte2+mte3');
  assert.equal(pipeBound('AI_VECTOR_CORE', { aiv_vec_ratio: 0.1, aiv_mte2_ratio: 0.7, aiv_mte3_ratio: 0.05 }), 'mte2'); // sum 0.85
  assert.equal(pipeBound('AI_VECTOR_CORE', { aiv_vec_ratio: 0.05, aiv_mte2_ratio: 0.1, aiv_mte3_ratio: 0.72 }), 'mte3'); // sum 0.87
  assert.equal(pipeBound('AI_VECTOR_CORE', { aiv_vec_ratio: 0.71, aiv_mte2_ratio: 0.1, aiv_mte3_ratio: 0.05 }), 'vec'); // sum 0.86
  assert.equal(pipeBound('MIX_AIV', { aiv_vec_ratio: 0.2, aiv_mte2_ratio: 0.3, aiv_mte3_ratio: 0.1, aiv_scalar_ratio: 0.85 }), 'scalar>0.8');
  assert.equal(pipeBound('AI_VECTOR_CORE', { aiv_vec_ratio: 0.2, aiv_mte2_ratio: 0.3, aiv_mte3_ratio: 0.1 }), 'none');
  assert.equal(pipeBound('AI_CPU', {}), 'no data');
});
