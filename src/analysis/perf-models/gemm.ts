/**
 * GEMM family. FLOPs = 2·M·N·K per matrix product (+ M·N when a bias / C term is added), times
 * the batch; bytes = A + B (+ bias) read once, C written once, each at its own element size.
 * As TraceLens's `GEMM.flops_func` / `bytes_func` (TraceLens/PerfModel/perf_model.py, classes
 * `aten_mm`, `aten_addmm`, `aten_bmm`, `aten_baddbmm`, `aten_scaled_mm`), with two differences
 * (README, "Efficiency"): the bias is counted with its real number of elements (TraceLens assumes
 * N), and every operand with its own dtype size (TraceLens uses A's for all, and 2 bytes for the
 * output of an FP8 `_scaled_mm`; we take `out_dtype` from `Concrete Inputs` when present, and
 * fall back to that same 2-byte rule). Scale tensors of FP8 / block-scaled GEMMs are not counted
 * (TraceLens does not count them either).
 */
import { bytesPerElement, dimsText, elements, precisionOf, tensorDims } from './dtypes.js';
import type { OpInputs, PerfEstimate, PerfModel } from './types.js';

export interface GemmShape {
  batch: bigint;
  M: bigint;
  N: bigint;
  K: bigint;
  /** Elements of the added bias / C tensor (0 without one). */
  biasElements: bigint;
}

/** 2·M·N·K (+ M·N with a bias), times the batch. */
export function gemmFlops(s: GemmShape): bigint {
  return s.batch * (2n * s.M * s.N * s.K + (s.biasElements > 0n ? s.M * s.N : 0n));
}

/** A (batch·M·K), B (batch·K·N or K·N when shared), bias, output (batch·M·N), each at its element size. */
export function gemmBytes(s: GemmShape, bpeA: number, bpeB: number, bpeOut: number, bpeBias: number, bShared = false): bigint {
  const a = s.batch * s.M * s.K * BigInt(bpeA);
  const b = (bShared ? 1n : s.batch) * s.K * s.N * BigInt(bpeB);
  const c = s.batch * s.M * s.N * BigInt(bpeOut);
  return a + b + c + s.biasElements * BigInt(bpeBias);
}

interface Operands {
  a: number[];
  b: number[];
  /** B is stored [N, K] (a weight, as in `linear`) instead of [K, N]. */
  bNK: boolean;
  typeA: string | undefined;
  typeB: string | undefined;
  bias: number[] | null;
  typeBias: string | undefined;
  /** Output element type when the op says it (`out_dtype`, an `out` tensor). */
  typeOut?: string | undefined;
  /** Leading dims of A fold into M (`linear`, `matmul` with a 2-D B): B is shared. */
  foldA?: boolean;
  batched?: boolean;
}

function estimate(o: Operands, note = ''): PerfEstimate | { error: string } {
  const { a, b } = o;
  let batch = 1n, M: bigint, K: bigint, N: bigint, bShared = true;
  if (o.batched) {
    if (a.length !== 3 || b.length !== 3) return { error: 'batched GEMM needs 3-D A and B' };
    batch = BigInt(a[0]!); M = BigInt(a[1]!); K = BigInt(a[2]!); N = BigInt(b[2]!); bShared = false;
    if (BigInt(b[1]!) !== K || b[0] !== a[0]) return { error: `A ${dimsText(a)} and B ${dimsText(b)} do not multiply` };
  } else {
    if (b.length !== 2 || a.length < 2 || (!o.foldA && a.length !== 2)) return { error: `A ${dimsText(a)} and B ${dimsText(b)} are not the matrices this op takes` };
    M = elements(a.slice(0, -1)); K = BigInt(a[a.length - 1]!);
    const [kb, nb] = o.bNK ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
    N = BigInt(nb);
    if (BigInt(kb) !== K) return { error: `A ${dimsText(a)} and B ${dimsText(b)} do not multiply` };
  }
  const biasElements = o.bias ? elements(o.bias) : 0n;
  const s: GemmShape = { batch, M, N, K, biasElements };
  const bpeA = bytesPerElement(o.typeA), bpeB = bytesPerElement(o.typeB);
  const pa = precisionOf(o.typeA);
  // output: as told, else A's type; an FP8 product is written in 16 bits (TraceLens's assumption)
  let bpeOut = o.typeOut !== undefined ? bytesPerElement(o.typeOut) : bpeA;
  if (o.typeOut === undefined && bpeA === 1) bpeOut = 2;
  const bpeBias = o.bias ? bytesPerElement(o.typeBias) ?? bpeOut : 0;
  const ok = bpeA !== null && bpeB !== null && bpeOut !== null && bpeBias !== null;
  const params = `${batch > 1n ? `batch=${batch} ` : ''}M=${M} N=${N} K=${K}${biasElements > 0n ? ' +bias' : ''}${note}`;
  return {
    family: 'gemm', flops: gemmFlops(s), bytes: ok ? gemmBytes(s, bpeA!, bpeB!, bpeOut!, bpeBias!, bShared) : null,
    precision: pa, params, ...(ok ? {} : { missing: `bytes: unknown element size of ${[o.typeA, o.typeB, o.typeOut].filter((t) => t !== undefined).join(', ')}` }),
  };
}

const T = (x: OpInputs, i: number): number[] | null => tensorDims(x.dims[i]);

/** PyTorch dtype codes of `Concrete Inputs` `out_dtype` (c10::ScalarType) that GEMMs produce. */
const SCALAR_TYPE: Record<string, string> = { '5': 'c10::Half', '6': 'float', '15': 'c10::BFloat16', '23': 'c10::Float8_e4m3fn', '24': 'c10::Float8_e5m2' };

function need(x: OpInputs, ...idx: number[]): number[][] | { error: string } {
  const out: number[][] = [];
  for (const i of idx) {
    const t = T(x, i);
    if (!t) return { error: `argument ${i} is not a tensor` };
    out.push(t);
  }
  return out;
}

/** `aten::mm(A[M,K], B[K,N])`. */
export const mm: PerfModel = (x) => {
  const t = need(x, 0, 1); if ('error' in t) return t;
  return estimate({ a: t[0]!, b: t[1]!, bNK: false, typeA: x.types[0], typeB: x.types[1], bias: null, typeBias: undefined });
};

/** `aten::addmm(C, A[M,K], B[K,N])`: C is added (bias). */
export const addmm: PerfModel = (x) => {
  const t = need(x, 0, 1, 2); if ('error' in t) return t;
  return estimate({ a: t[1]!, b: t[2]!, bNK: false, typeA: x.types[1], typeB: x.types[2], bias: t[0]!, typeBias: x.types[0] });
};

/** `aten::bmm(A[b,M,K], B[b,K,N])`. */
export const bmm: PerfModel = (x) => {
  const t = need(x, 0, 1); if ('error' in t) return t;
  return estimate({ a: t[0]!, b: t[1]!, bNK: false, typeA: x.types[0], typeB: x.types[1], bias: null, typeBias: undefined, batched: true });
};

/** `aten::baddbmm(C, A[b,M,K], B[b,K,N])`. The bias FLOPs are b·M·N, its bytes its real size. */
export const baddbmm: PerfModel = (x) => {
  const t = need(x, 0, 1, 2); if ('error' in t) return t;
  const r = estimate({ a: t[1]!, b: t[2]!, bNK: false, typeA: x.types[1], typeB: x.types[2], bias: t[0]!, typeBias: x.types[0], batched: true });
  return r;
};

/** `aten::linear(X[..., K], W[N, K], bias[N]?)`: leading dims of X fold into M. */
export const linear: PerfModel = (x) => {
  const t = need(x, 0, 1); if ('error' in t) return t;
  const bias = T(x, 2);
  return estimate({ a: t[0]!, b: t[1]!, bNK: true, typeA: x.types[0], typeB: x.types[1], bias, typeBias: x.types[2], foldA: true });
};

/**
 * `aten::matmul(A, B)`: 2-D B → leading dims of A fold into M; otherwise batched with equal
 * batch dims (broadcasting other than that is reported as not modelled).
 */
export const matmul: PerfModel = (x) => {
  const t = need(x, 0, 1); if ('error' in t) return t;
  const [a, b] = [t[0]!, t[1]!];
  if (b.length === 2 && a.length >= 2) return estimate({ a, b, bNK: false, typeA: x.types[0], typeB: x.types[1], bias: null, typeBias: undefined, foldA: true });
  if (a.length >= 3 && a.length === b.length && a.slice(0, -2).every((d, i) => d === b[i])) {
    const lead = a.slice(0, -2).reduce((p, d) => p * d, 1);
    return estimate({ a: [lead, a[a.length - 2]!, a[a.length - 1]!], b: [lead, b[b.length - 2]!, b[b.length - 1]!], bNK: false, typeA: x.types[0], typeB: x.types[1], bias: null, typeBias: undefined, batched: true });
  }
  return { error: `matmul of ${dimsText(a)} and ${dimsText(b)}: broadcast shapes are not modelled` };
};

/**
 * `aten::_scaled_mm(A[M,K], B[K,N], scale_a, scale_b, bias?, scale_result?, out_dtype?, use_fast_accum)`
 * (also `trtllm::cublas_scaled_mm`, as TraceLens maps it).
 */
export const scaledMm: PerfModel = (x) => {
  const t = need(x, 0, 1); if ('error' in t) return t;
  const od = x.concrete?.[6];
  const typeOut = od !== undefined && od !== '' ? SCALAR_TYPE[od] : undefined;
  return estimate({ a: t[0]!, b: t[1]!, bNK: false, typeA: x.types[0], typeB: x.types[1], bias: T(x, 4), typeBias: x.types[4], typeOut });
};

/**
 * Serving-stack GEMMs registered as custom ops, by where A, B (and an `out` tensor) sit and
 * whether B is stored [N, K] (weights) or [K, N]:
 * - aiter (ROCm, `aiter/ops/gemm_op_a16w16.py`, `gemm_op_a8w8.py`): `gemm_a16w16(A[M,K], B[N,K], bias?, ...)`,
 *   `gemm_a8w8*(XQ[M,K], WQ[N,K], x_scale, w_scale, Out?, bias?)`;
 * - sgl_kernel: `fp8_scaled_mm` / `fp8_blockwise_scaled_mm` / `int8_scaled_mm(mat_a[M,K], mat_b[K,N], scales_a, scales_b, out_dtype, bias?)`;
 * - vLLM: `_C::cutlass_scaled_mm(out[M,N], a[M,K], b[K,N], a_scales, b_scales, bias?)`,
 *   `vllm::rocm_unquantized_gemm(x[M,K], weight[N,K], bias?)`.
 */
function custom(a: number, b: number, bNK: boolean, bias: number | null, out: number | null): PerfModel {
  return (x) => {
    const t = need(x, a, b); if ('error' in t) return t;
    const outDims = out !== null ? T(x, out) : null;
    return estimate({
      a: t[0]!, b: t[1]!, bNK, typeA: x.types[a], typeB: x.types[b],
      bias: bias !== null ? T(x, bias) : null, typeBias: bias !== null ? x.types[bias] : undefined,
      typeOut: outDims ? x.types[out!] : undefined,
    });
  };
}

export const GEMM_MODELS: Record<string, PerfModel> = {
  'aten::mm': mm,
  'aten::addmm': addmm,
  'aten::bmm': bmm,
  'aten::baddbmm': baddbmm,
  'aten::linear': linear,
  'aten::matmul': matmul,
  'aten::_scaled_mm': scaledMm,
  'trtllm::cublas_scaled_mm': scaledMm,
  'aiter::gemm_a16w16': custom(0, 1, true, 2, null),
  'aiter::gemm_a8w8': custom(0, 1, true, 5, 4),
  'aiter::gemm_a8w8_CK': custom(0, 1, true, 5, 4),
  'aiter::gemm_a8w8_bpreshuffle': custom(0, 1, true, 5, 4),
  'aiter::gemm_a8w8_blockscale': custom(0, 1, true, null, 4),
  'sgl_kernel::fp8_scaled_mm': custom(0, 1, false, 5, null),
  'sgl_kernel::fp8_blockwise_scaled_mm': custom(0, 1, false, null, null),
  'sgl_kernel::int8_scaled_mm': custom(0, 1, false, 5, null),
  '_C::cutlass_scaled_mm': custom(1, 2, false, 5, 0),
  'vllm::rocm_unquantized_gemm': custom(0, 1, true, 2, null),
  'vllm::rocm_unquantized_gemm_impl': custom(0, 1, true, 2, null),
};
