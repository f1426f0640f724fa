/**
 * Bytes-bound families: elementwise ops and normalizations. As TraceLens
 * (TraceLens/PerfModel/perf_model.py `UnaryElementwise`, `BinaryElementwise`, `RMSNorm`,
 * `Normalization`; op lists in `torch_op_mapping.py`):
 * - unary: FLOPs = elements; bytes = elements × (input size + output size);
 * - binary: FLOPs = elements of the broadcast output; bytes = in1 + in2 + out, where a Python
 *   scalar operand (dims []) counts as one element of its type, as TraceLens does, and the output
 *   size is the larger of two tensor inputs' (the input's when the other is a scalar);
 * - RMS norm over C channels of E elements: FLOPs = (E/C)·(2C + 2) + E·(2 with a weight, else 1);
 *   bytes = E read + E written (+ C weight). Fused residual-add variants (vLLM `fused_add_rms_norm`,
 *   aiter `add_rmsnorm`, sgl_kernel `fused_add_rmsnorm`) add E FLOPs for the add and read the
 *   residual and write it back (2E more elements), by their signatures;
 * - layer norm (inference): FLOPs = 6C + 2E (TraceLens `Normalization.flops_func`, not training),
 *   bytes = 2E + (2 + weight + bias)·C (mean and variance are counted as TraceLens does).
 */
import { bytesPerElement, dimsText, elements, precisionOf, tensorDims } from './dtypes.js';
import type { OpInputs, PerfEstimate, PerfModel } from './types.js';

function est(family: 'elementwise' | 'norm', flops: bigint, bytes: bigint | null, type: string | undefined, params: string): PerfEstimate {
  return { family, flops, bytes, precision: precisionOf(type), params, ...(bytes === null ? { missing: 'bytes: unknown element size' } : {}) };
}

/** Unary: elements of argument 0, output of argument 1's type when an `out` tensor is there (copy_). */
export const unary: PerfModel = (x) => {
  const d = tensorDims(x.dims[0]);
  if (!d) return { error: 'argument 0 is not a tensor' };
  const E = elements(d);
  const bin = bytesPerElement(x.types[0]);
  const second = tensorDims(x.dims[1]);
  const bout = second ? bytesPerElement(x.types[1]) : bin;
  return est('elementwise', E, bin === null || bout === null ? null : E * BigInt(bin + bout), x.types[0], `E=${E} ${dimsText(d)}`);
};

function broadcast(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(Math.max(x, y));
  }
  return out;
}

/** Binary: arguments 0 and 1 (a scalar is dims []), broadcast. */
export const binary: PerfModel = (x) => {
  const a = tensorDims(x.dims[0]);
  if (!a) return { error: 'argument 0 is not a tensor' };
  const bDims = Array.isArray(x.dims[1]) ? (x.dims[1] as number[]) : null;
  if (bDims === null) return { error: 'argument 1 is missing' };
  const b = tensorDims(bDims) ?? [];
  const out = broadcast(a, b);
  if (!out) return { error: `${dimsText(a)} and ${dimsText(b)} do not broadcast` };
  const E1 = elements(a), E2 = elements(b), Eo = elements(out);
  const b1 = bytesPerElement(x.types[0]), b2 = bytesPerElement(x.types[1]);
  const bo = b1 === null || b2 === null ? null : b.length > 0 ? Math.max(b1, b2) : b1;
  const bytes = b1 === null || b2 === null || bo === null ? null : E1 * BigInt(b1) + E2 * BigInt(b2) + Eo * BigInt(bo);
  return est('elementwise', Eo, bytes, x.types[0], `E=${Eo} ${dimsText(a)}·${dimsText(b)}`);
};

/** RMS norm FLOPs: (E/C)·(2C + 2) + E·(weight ? 2 : 1). */
export function rmsNormFlops(E: bigint, C: bigint, weight: boolean): bigint {
  return (E / C) * (2n * C + 2n) + E * (weight ? 2n : 1n);
}

/**
 * An RMS norm whose activation is argument `act`, weight argument `w` (null: none); `rw`
 * activation-sized tensors are read and written in all (2 plain, 4 with a fused residual add).
 */
function rms(act: number, w: number | null, rw: number, fusedAdd: boolean, channels?: (x: OpInputs) => bigint | null): PerfModel {
  return (x) => {
    const d = tensorDims(x.dims[act]);
    if (!d) return { error: `argument ${act} is not a tensor` };
    const wd = w !== null ? tensorDims(x.dims[w]) : null;
    const C = channels ? channels(x) : wd ? elements(wd) : null;
    if (C === null || C === 0n) return { error: 'normalized size unknown' };
    const E = elements(d);
    if (E % C !== 0n) return { error: `${dimsText(d)} does not split into rows of ${C}` };
    const bpe = bytesPerElement(x.types[act]);
    const bw = wd ? bytesPerElement(x.types[w!]) ?? bpe : 0;
    const flops = rmsNormFlops(E, C, wd !== null) + (fusedAdd ? E : 0n);
    const bytes = bpe === null || bw === null ? null : BigInt(rw) * E * BigInt(bpe) + (wd ? C * BigInt(bw) : 0n);
    return est('norm', flops, bytes, x.types[act], `E=${E} C=${C}${fusedAdd ? ' +residual' : ''}`);
  };
}

/** `normalized_shape` from Concrete Inputs[i] (`[4096]`). */
const normalizedShape = (i: number) => (x: OpInputs): bigint | null => {
  const t = x.concrete?.[i];
  if (t === undefined) return null;
  const m = /^\[([\d,\s]+)\]$/.exec(t.trim());
  return m ? m[1]!.split(',').reduce((p, s) => p * BigInt(s.trim()), 1n) : null;
};

/** `aten::layer_norm(input, normalized_shape, weight?, bias?, eps, cudnn_enable)`, inference. */
export const layerNorm: PerfModel = (x) => {
  const d = tensorDims(x.dims[0]);
  if (!d) return { error: 'argument 0 is not a tensor' };
  const C = normalizedShape(1)(x) ?? (tensorDims(x.dims[2]) ? elements(tensorDims(x.dims[2])!) : null);
  if (C === null) return { error: 'normalized size unknown' };
  const E = elements(d);
  const hasW = tensorDims(x.dims[2]) !== null, hasB = tensorDims(x.dims[3]) !== null;
  const bpe = bytesPerElement(x.types[0]);
  // TraceLens Normalization (training=False): param 3C + 3C, apply 2E; weights: mean, var (+ γ, β)
  const flops = 6n * C + 2n * E;
  const bytes = bpe === null ? null : 2n * E * BigInt(bpe) + BigInt(2 + (hasW ? 1 : 0) + (hasW && hasB ? 1 : 0)) * C * BigInt(bpe);
  return est('norm', flops, bytes, x.types[0], `E=${E} C=${C}`);
};

export const ELEMENTWISE_MODELS: Record<string, PerfModel> = {};
for (const n of ['copy', 'copy_', 'clamp_min', 'clamp_min_', 'clamp_max', 'clamp_max_', 'sigmoid', 'rsqrt', 'silu', 'neg', 'pow', 'exp', 'gelu', 'relu', 'tanh', 'abs', 'sqrt']) ELEMENTWISE_MODELS[`aten::${n}`] = unary;
for (const n of ['div', 'div_', 'mul', 'mul_', 'add', 'add_', 'sub', 'sub_', 'sigmoid_backward', 'threshold_backward']) ELEMENTWISE_MODELS[`aten::${n}`] = binary;

export const NORM_MODELS: Record<string, PerfModel> = {
  // aten::rms_norm(input, normalized_shape, weight?, eps); _fused_rms_norm(input, normalized_shape, weight?, eps)
  'aten::rms_norm': rms(0, 2, 2, false, normalizedShape(1)),
  'aten::_fused_rms_norm': rms(0, 2, 2, false, normalizedShape(1)),
  'aten::layer_norm': layerNorm,
  'aten::native_layer_norm': layerNorm,
  // vLLM _C::rms_norm(out, input, weight, eps); _C::fused_add_rms_norm(input, residual, weight, eps) in place
  '_C::rms_norm': rms(1, 2, 2, false),
  '_C::fused_add_rms_norm': rms(0, 2, 4, true),
  // aiter::rmsnorm(out, input, weight, eps); aiter::add_rmsnorm(out, input, residual_in, residual_out, weight, eps)
  'aiter::rmsnorm': rms(1, 2, 2, false),
  'aiter::add_rmsnorm': rms(1, 4, 4, true),
  // sgl_kernel::rmsnorm(output, input, weight, eps, pdl); fused_add_rmsnorm(input, residual, weight, eps, pdl) in place
  'sgl_kernel::rmsnorm': rms(1, 2, 2, false),
  'sgl_kernel::fused_add_rmsnorm': rms(0, 2, 4, true),
};
