/**
 * Bytes per element and math precision of PyTorch's `Input type` names. Follows TraceLens's
 * `name2bpe` (TraceLens/PerfModel/utils.py): double/long 8; float/int/Scalar 4; half/bfloat16 2;
 * float8 variants, (un)signed char, bool 1. Unknown names give null (the bytes are then missing).
 */
import type { Precision } from './types.js';

const BPE: Record<string, number> = {
  'double': 8, 'long int': 8, 'long': 8, 'c10::complex<float>': 8, 'unsigned long': 8,
  'float': 4, 'int': 4, 'unsigned int': 4, 'Scalar': 4,
  'c10::Half': 2, 'c10::BFloat16': 2, 'short int': 2, 'short': 2, 'half': 2, 'bfloat16': 2,
  'c10::Float8_e4m3fn': 1, 'c10::Float8_e4m3fnuz': 1, 'c10::Float8_e5m2': 1, 'c10::Float8_e5m2fnuz': 1,
  'c10::Float8_e8m0fnu': 1, 'unsigned char': 1, 'signed char': 1, 'bool': 1, 'c10::Float4_e2m1fn_x2': 1,
};

/** Bytes per element of a type name (case-insensitive), or null. */
export function bytesPerElement(type: string | undefined): number | null {
  if (type === undefined || type === '') return null;
  const v = BPE[type];
  if (v !== undefined) return v;
  const l = type.toLowerCase();
  for (const [k, n] of Object.entries(BPE)) if (k.toLowerCase() === l) return n;
  if (l.includes('float8') || l === 'fp8') return 1;
  return null;
}

/** Precision of the math done on an input of this type. */
export function precisionOf(type: string | undefined): Precision | null {
  if (type === undefined) return null;
  const l = type.toLowerCase();
  if (l.includes('bfloat16')) return 'bf16';
  if (l.includes('half') || l === 'float16') return 'fp16';
  if (l.includes('float8')) return 'fp8';
  if (l.includes('float4')) return 'fp4';
  if (l === 'float') return 'fp32';
  if (l === 'double') return 'fp64';
  if (l === 'signed char' || l === 'char') return 'int8';
  return null;
}

/** A tensor argument's sizes, or null when the argument is not a tensor (scalar, None, list). */
export function tensorDims(d: unknown): number[] | null {
  if (!Array.isArray(d) || d.length === 0) return null;
  return d.every((x) => Number.isInteger(x) && (x as number) >= 0) ? (d as number[]) : null;
}

/** Number of elements of a shape, exact. */
export function elements(dims: readonly number[]): bigint {
  let n = 1n;
  for (const d of dims) n *= BigInt(d);
  return n;
}

/** Text of a shape for `params`: `[8,1,2048]`. */
export const dimsText = (d: readonly number[]): string => `[${d.join(',')}]`;
