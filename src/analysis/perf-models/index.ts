/**
 * Op name → performance model. An op not in the table has no model: the efficiency view lists
 * it as such with its time, never with invented numbers. Adding an op is one line here (or in its
 * family's table).
 */
import { ATTENTION_MODELS } from './attention.js';
import { CONV_MODELS } from './conv.js';
import { ELEMENTWISE_MODELS, NORM_MODELS } from './elementwise.js';
import { GEMM_MODELS } from './gemm.js';
import type { OpInputs, PerfEstimate, PerfModel } from './types.js';

export type { Family, OpInputs, PerfEstimate, PerfModel, Precision } from './types.js';

const MODELS: Record<string, PerfModel> = { ...GEMM_MODELS, ...ATTENTION_MODELS, ...CONV_MODELS, ...NORM_MODELS, ...ELEMENTWISE_MODELS };

/** Whether an op name has a model. */
export function hasModel(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(MODELS, name);
}

/** The estimate for one op + shapes; undefined when the op has no model. */
export function estimateOp(name: string, x: OpInputs): PerfEstimate | { error: string } | undefined {
  const m = hasModel(name) ? MODELS[name] : undefined;
  if (!m) return undefined;
  try { return m(x); } catch (e) { return { error: e instanceof Error ? e.message : String(e) }; }
}

/** The op names with a model. */
export const MODELLED_OPS: readonly string[] = Object.keys(MODELS);
