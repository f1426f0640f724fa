/**
 * Performance models: FLOPs and bytes moved of one operator call, from its `Input Dims`,
 * `Input type` and (where a flag matters) `Concrete Inputs`. One file per op family, each a
 * set of small pure functions; `index.ts` maps op names to them (the shape of TraceLens's
 * `TraceLens/PerfModel/perf_model.py` + `torch_op_mapping.py`, AMD-AGI/TraceLens, MIT).
 *
 * Counts are exact integers computed with BigInt (a model never rounds); a count that cannot be
 * known from the trace is null, with the reason in `missing` — never an estimate.
 */

/** Math precision of an op: picks the device peak it is compared with. */
export type Precision = 'fp64' | 'fp32' | 'tf32' | 'bf16' | 'fp16' | 'fp8' | 'int8' | 'fp4';

/** Matrix ops run on tensor / matrix cores; vector ops (norms, elementwise) on the SIMD units. */
export type Family = 'gemm' | 'attention' | 'conv' | 'norm' | 'elementwise';

export interface OpInputs {
  /** `Input Dims`: one entry per argument, a list of sizes for tensors ([] for scalars / None). */
  dims: readonly unknown[];
  /** `Input type`: one name per argument (`c10::BFloat16`, `float`, `Scalar`, `` for None). */
  types: readonly string[];
  /** `Concrete Inputs` (values of scalar arguments as text), when the trace has them. */
  concrete: readonly string[] | null;
}

export interface PerfEstimate {
  family: Family;
  /** FLOPs of one call (multiply-add = 2), null when not computable. */
  flops: bigint | null;
  /** Bytes one call must read and write at least (each tensor once), null when not computable. */
  bytes: bigint | null;
  precision: Precision | null;
  /** The model's parameters as read from the shapes, e.g. `M=32 N=6144 K=4096`. */
  params: string;
  /** Why flops or bytes are null. */
  missing?: string;
}

/** A model: the estimate, or a reason the shapes do not fit it. */
export type PerfModel = (x: OpInputs) => PerfEstimate | { error: string };
