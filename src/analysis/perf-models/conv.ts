/**
 * Convolution, as TraceLens's `CONV.flops_func` / `bytes_func` (TraceLens/PerfModel/perf_model.py,
 * `aten_conv`): FLOPs = 2·out_elements·(C_in/groups)·prod(kernel) (+ out_elements with a bias);
 * bytes = (input + weight + bias (C_out) + output) elements × the input's element size. The
 * output size comes from stride, padding, dilation (and output_padding when transposed) in
 * `Concrete Inputs`. Differences: the bias is present when argument 2 is a tensor (TraceLens tests
 * `len(Input Dims) == 3`, never true for `aten::convolution`'s 9 arguments); for a transposed
 * convolution FLOPs = 2·input_elements·(C_out/groups)·prod(kernel), as TraceLens.
 */
import { bytesPerElement, dimsText, elements, precisionOf, tensorDims } from './dtypes.js';
import type { PerfModel } from './types.js';

/** Output size of one spatial dim. */
export function convOut(inp: number, k: number, stride: number, pad: number, dil: number, transposed: boolean, outPad: number): number {
  return transposed ? (inp - 1) * stride - 2 * pad + dil * (k - 1) + outPad + 1 : Math.floor((inp + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
}

const list = (t: string | undefined, n: number, dflt: number): number[] | null => {
  if (t === undefined || t === '') return Array(n).fill(dflt) as number[];
  const m = /^\[?([\d,\s]+)\]?$/.exec(t.trim());
  if (!m) return null;
  const v = m[1]!.split(',').map((s) => Number(s.trim()));
  return v.length === 1 ? Array(n).fill(v[0]) as number[] : v.length === n ? v : null;
};

/** `aten::convolution(input, weight, bias?, stride, padding, dilation, transposed, output_padding, groups)`. */
export const convolution: PerfModel = (x) => {
  const inp = tensorDims(x.dims[0]), w = tensorDims(x.dims[1]);
  if (!inp || !w || inp.length < 3 || w.length !== inp.length) return { error: 'input and weight are not N-D conv tensors' };
  const c = x.concrete;
  if (!c) return { error: 'stride / padding are not in the trace (Concrete Inputs)' };
  const n = inp.length - 2;
  const stride = list(c[3], n, 1), pad = list(c[4], n, 0), dil = list(c[5], n, 1), outPad = list(c[7], n, 0);
  const transposed = c[6] === 'True';
  const groups = c[8] !== undefined && /^\d+$/.test(c[8]) ? Number(c[8]) : 1;
  if (!stride || !pad || !dil || !outPad) return { error: 'stride / padding / dilation not readable' };
  const cout = transposed ? w[1]! * groups : w[0]!;
  const spatial = inp.slice(2).map((d, i) => convOut(d, w[2 + i]!, stride[i]!, pad[i]!, dil[i]!, transposed, outPad[i]!));
  const out = [inp[0]!, cout, ...spatial];
  const bias = tensorDims(x.dims[2]) !== null;
  const perElement = 2n * elements(w.slice(1));
  const flops = (transposed ? elements(inp) : elements(out)) * perElement + (bias ? elements(out) : 0n);
  const bpe = bytesPerElement(x.types[0]);
  const bytes = bpe === null ? null : (elements(inp) + elements(w) + (bias ? BigInt(cout) : 0n) + elements(out)) * BigInt(bpe);
  return {
    family: 'conv', flops, bytes, precision: precisionOf(x.types[0]),
    params: `in ${dimsText(inp)} w ${dimsText(w)} out ${dimsText(out)}${groups > 1 ? ` groups=${groups}` : ''}${bias ? ' +bias' : ''}`,
    ...(bytes === null ? { missing: 'bytes: unknown element size' } : {}),
  };
};

export const CONV_MODELS: Record<string, PerfModel> = {
  'aten::convolution': convolution,
  'aten::_convolution': convolution,
};
