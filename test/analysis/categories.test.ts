import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Categorizer, CATEGORY_RULES, KIND_KERNEL, KIND_MEMCPY, KIND_MEMSET, parseCategoryOverride } from '../../src/analysis/categories.js';
import { shortKernelName, uniqueShortNames, withoutParams } from '../../src/analysis/names.js';
import { TraceforgeError } from '../../src/errors.js';

/** Real kernel names from the traces in test/fixtures/real, and the category each belongs to. */
const CASES: [string, string][] = [
  ['ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)', 'communication'],
  ['ncclKernel_SendRecv_RING_SIMPLE_Sum_int8_t(ncclDevComm*, unsigned long, ncclWork*)', 'communication'],
  ['void (anonymous namespace)::multimem_all_reduce_kernel<c10::BFloat16, 16>(c10::BFloat16*, unsigned long)', 'communication'],
  ['nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_NNT', 'GEMM'],
  ['void cublasLt::splitKreduce_kernel<32, 16, int, float, __nv_bfloat16, float, __nv_bfloat16, false, float, __nv_bfloat16, __nv_bfloat16, true, false, false, false>(cublasLt::cublasSplitKParams<float>, float const*)', 'GEMM'],
  ['gemm_splitk_pdl_kernel(float*, float const*, int, int)', 'GEMM'],
  ['Cijk_Alik_Bljk_BBS_BH_Bias_HA_S_SAV_UserArgs_MT128x256x32_MI16x16x1_SN_LDSB1', 'GEMM'],
  ['sm80_xmma_fprop_implicit_gemm_tf32f32_tf32f32_f32_nhwckrsc_nhwc_tilesize64x128x32_stage5', 'GEMM'],
  ['cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_7_64x128x128_4x1x1_cga1x1x1_kernel0_0', 'attention'],
  ['kernel_unified_attention_2d', 'attention'],
  ['fused_add_rmsnorm_pdl_kernel(float*, float const*, int, int)', 'normalization'],
  ['void at::native::(anonymous namespace)::vectorized_layer_norm_kernel<c10::BFloat16, float, true>(int, float, c10::BFloat16 const*)', 'normalization'],
  ['void (anonymous namespace)::softmax_warp_forward<float, float, float, 10, false, false>(float*, float const*, int, int, int)', 'reduction/softmax'],
  ['void at::native::reduce_kernel<128, 4, at::native::ReduceOp<float, at::native::MeanOps<float, float, float, float>, unsigned int, float, 4> >(at::native::ReduceOp<float, at::native::MeanOps<float, float, float, float>, unsigned int, float, 4>)', 'reduction/softmax'],
  ['silu_and_mul_pdl_kernel(float*, int, int)', 'activation/elementwise'],
  ['void at::native::vectorized_elementwise_kernel<8, at::native::CUDAFunctor_add<c10::BFloat16>, std::array<char*, 3ul> >(int, at::native::CUDAFunctor_add<c10::BFloat16>, std::array<char*, 3ul>)', 'activation/elementwise'],
  // "normal" is not "norm"; FBGEMM's namespace is not a GEMM
  ['void at::native::(anonymous namespace)::distribution_elementwise_grid_stride_kernel<float, 4, at::native::templates::cuda::normal_and_transform<c10::BFloat16, float>(at::TensorIteratorBase&)>(int)', 'activation/elementwise'],
  ['void fbgemm_gpu::permute_2D_lengths_kernel<int>(int, int, int const*, int const*, int*)', 'other'],
  // parameter types are not looked at
  ['void scal_kernel<float, float, 1, false, 6, 5, 5, 3>(cublasTransposeParams<float>, float const*, float*, float const*)', 'other'],
];

test('built-in rules put real kernel names in the expected category', () => {
  const c = new Categorizer();
  for (const [name, cat] of CASES) assert.equal(c.names[c.categoryOf(name, KIND_KERNEL)], cat, name);
});

test('memcpy / memset come from the trace category; names decide only for old traces', () => {
  const c = new Categorizer();
  assert.equal(c.names[c.categoryOf('Memcpy HtoD (Pinned -> Device)', KIND_MEMCPY)], 'memcpy');
  assert.equal(c.names[c.categoryOf('Memset (Device)', KIND_MEMSET)], 'memset');
  // a copy activity with a name that a kernel rule would match stays a copy
  assert.equal(c.names[c.categoryOf('Memcpy DtoD (Device -> Device) gemm', KIND_MEMCPY)], 'memcpy');
  assert.equal(c.names[c.categoryOf('Memcpy DtoH (Device -> Host)', KIND_KERNEL)], 'memcpy');
});

test('--category overrides come first and may name new categories', () => {
  const c = new Categorizer([parseCategoryOverride('moe=moe|expert'), parseCategoryOverride('communication=cross_device')]);
  assert.equal(c.names[c.categoryOf('void moe::dev::finalize::finalizeKernelVecLoad<float>(int)', KIND_KERNEL)], 'moe');
  assert.equal(c.names[c.categoryOf('nvjet_sm90_tst_64x8_64x16_1x2_h_bz_TNT', KIND_KERNEL)], 'GEMM');
  assert.equal(c.categoryOf('cross_device_reduce_1stage', KIND_KERNEL), c.communication);
  assert.ok(c.names.indexOf('moe') > c.names.indexOf('other'), 'new categories are listed after the built-in ones');
  assert.throws(() => parseCategoryOverride('justaname'), (e) => e instanceof TraceforgeError && e.code === 'E_USAGE');
  assert.throws(() => parseCategoryOverride('x=('), (e) => e instanceof TraceforgeError && e.code === 'E_USAGE');
});

test('the rule table is one ordered list with communication before reduction', () => {
  const order = CATEGORY_RULES.map((r) => r.category);
  assert.ok(order.indexOf('communication') < order.indexOf('reduction/softmax'));
  assert.ok(order.indexOf('attention') < order.indexOf('GEMM'));
  assert.ok(order.indexOf('GEMM') < order.indexOf('reduction/softmax'));
});

test('readable kernel names: void, namespaces, template arguments and parameters go; a hint stays', () => {
  assert.equal(shortKernelName('fused_add_rmsnorm_pdl_kernel(float*, float const*, int, int)'), 'fused_add_rmsnorm_pdl_kernel');
  assert.equal(shortKernelName('nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_NNT'), 'nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_NNT');
  assert.equal(shortKernelName('Memcpy HtoD (Host -> Device)'), 'Memcpy HtoD (Host -> Device)');
  assert.equal(shortKernelName('ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)'), 'ncclDevKernel_AllReduce_Sum_bf16_RING_LL');
  assert.equal(
    shortKernelName('void at::native::(anonymous namespace)::vectorized_layer_norm_kernel<c10::BFloat16, float, true>(int, float, c10::BFloat16 const*)'),
    'vectorized_layer_norm_kernel<…>',
  );
  assert.equal(
    shortKernelName('void at::native::elementwise_kernel<128, 4, at::native::gpu_kernel_impl_nocast<at::native::(anonymous namespace)::silu_kernel(at::TensorIteratorBase&)::{lambda()#1}::operator()() const::{lambda()#6}::operator()() const::{lambda(c10::BFloat16)#1}>(at::TensorIteratorBase&, at::native::(anonymous namespace)::silu_kernel(at::TensorIteratorBase&)::{lambda()#1}::operator()() const::{lambda()#6}::operator()() const::{lambda(c10::BFloat16)#1} const&)::{lambda(int)#1}>(int, at::native::gpu_kernel_impl_nocast<at::native::(anonymous namespace)::silu_kernel(at::TensorIteratorBase&)::{lambda()#1}::operator()() const::{lambda()#6}::operator()() const::{lambda(c10::BFloat16)#1}>(at::TensorIteratorBase&, at::native::(anonymous namespace)::silu_kernel(at::TensorIteratorBase&)::{lambda()#1}::operator()() const::{lambda()#6}::operator()() const::{lambda(c10::BFloat16)#1} const&)::{lambda(int)#1})'),
    'elementwise_kernel<…silu_kernel…>',
  );
  assert.equal(
    shortKernelName('void at::native::elementwise_kernel<128, 4, at::native::gpu_kernel_impl_nocast<at::native::BinaryFunctor<c10::BFloat16, c10::BFloat16, c10::BFloat16, at::native::binary_internal::MulFunctor<float> > >(at::TensorIteratorBase&, at::native::BinaryFunctor<c10::BFloat16, c10::BFloat16, c10::BFloat16, at::native::binary_internal::MulFunctor<float> > const&)::{lambda(int)#1}>(int, at::native::BinaryFunctor<c10::BFloat16, c10::BFloat16, c10::BFloat16, at::native::binary_internal::MulFunctor<float> >)'),
    'elementwise_kernel<…MulFunctor…>',
  );
  // a return type in front of the name
  assert.equal(
    shortKernelName('std::enable_if<(((8)>(0)))&&vllm::_typeConvert<c10::BFloat16>::exists, void>::type vllm::fused_add_rms_norm_kernel<c10::BFloat16, 8>(c10::BFloat16*, c10::BFloat16*, c10::BFloat16 const*, float, int, int)'),
    'fused_add_rms_norm_kernel<…>',
  );
  assert.equal(withoutParams('void foo<int, bar(baz)>(float*, int)'), 'void foo<int, bar(baz)>');
  assert.equal(withoutParams('Memset (Device)'), 'Memset (Device)');
});

test('short names are made unique', () => {
  const names = uniqueShortNames([
    'void at::native::vectorized_layer_norm_kernel<c10::BFloat16, float, true>(int)',
    'void at::native::vectorized_layer_norm_kernel<float, float, false>(int)',
    'nvjet_x',
  ]);
  assert.deepEqual(names, ['vectorized_layer_norm_kernel<…>', 'vectorized_layer_norm_kernel<…> [2]', 'nvjet_x']);
});
