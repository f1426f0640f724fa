/**
 * Which kind of work a device activity is (GEMM, attention, communication, ...), decided by its
 * name from ONE ordered rule table: the first rule whose pattern matches wins. Memory copies and
 * sets are recognised by their trace category first (`gpu_memcpy`, `gpu_memset`), by name only
 * in old traces. Rules see the name without its parameter list (parameter types such as
 * `cublasGemvParams` or `TensorIteratorBase&` say nothing about the kernel). Users put their own rules in front with `--category NAME=REGEX`.
 */
import { TraceforgeError } from '../errors.js';
import { withoutParams } from './names.js';

export const COMMUNICATION = 'communication';
export const MEMCPY = 'memcpy';
export const MEMSET = 'memset';
export const OTHER = 'other';

/** The built-in categories, in the order reports list them. */
export const BUILTIN_CATEGORIES = [
  'GEMM', 'attention', COMMUNICATION, 'normalization', 'activation/elementwise', 'reduction/softmax', MEMCPY, MEMSET, OTHER,
] as const;

export interface CategoryRule {
  category: string;
  pattern: RegExp;
}

/**
 * The rule table. Order matters: a name is tested from the top, so specific families come
 * before the generic words they contain (`ncclDevKernel_AllReduce` is communication, not a
 * reduction; `cublasLt::splitKreduce_kernel` is GEMM; `fused_add_rmsnorm` is normalization;
 * cuDNN's `..._sdpa_..._flash_fprop_wmma_...` is attention, not GEMM).
 */
export const CATEGORY_RULES: readonly CategoryRule[] = [
  // names of copy / set activities in traces without gpu_memcpy / gpu_memset categories
  { category: MEMCPY, pattern: /^Memcpy\b|^memcpy/ },
  { category: MEMSET, pattern: /^Memset\b|^memset/ },
  // collectives: NCCL / RCCL / HCCL / MSCCL++, custom all-reduce kernels of SGLang / vLLM / TRT-LLM, DeepEP
  { category: COMMUNICATION, pattern: /nccl|rccl|hccl|mscclpp|all_?reduce|all_?gather|reduce_?scatter|all_?to_?all|sendrecv|cross_device_reduce|lamport|deep_?ep|nvshmem/i },
  // attention: FlashAttention, FlashInfer, FlashMLA, xFormers / cutlass FMHA, cuDNN SDPA, paged attention, Triton attention
  { category: 'attention', pattern: /flash|fmha|attention|attn|sdpa|flashinfer|flashmla|mha_|paged_?kv|unified_attention/i },
  // GEMM: cuBLAS / cuBLASLt (incl. split-K reduction), nvJet, CUTLASS, xmma, DeepGEMM, rocBLAS / hipBLASLt (Tensile `Cijk_`),
  // Triton matmul; convolutions (cuDNN implicit GEMM, Winograd) count here too. Not FBGEMM's namespace `fbgemm_gpu::`.
  { category: 'GEMM', pattern: /(?<!fb)gemm|gemv|cutlass|cublas|nvjet|xmma|wgmma|hmma|tensorop|matmul|Cijk_|hipblaslt|rocblas|bmm|splitkreduce|scudnn|winograd|conv2d|convolution/i },
  { category: 'normalization', pattern: /norm(?!al)|bn_fw|bn_bw/i },
  { category: 'reduction/softmax', pattern: /softmax|reduce|reduction|argmax|argmin|topk|top_k|sort|cumsum|scan|triton_(red|per)_/i },
  { category: 'activation/elementwise', pattern: /elementwise|triton_poi_|silu|gelu|relu|swiglu|geglu|sigmoid|tanh|act_and_mul|activation|mul|add|copy|fill|cast|convert|rotary|rope|index|gather|scatter|cat_|catarray|embedding/i },
];

export interface CategoryOverride {
  category: string;
  pattern: RegExp;
}

/** Parses `NAME=REGEX` (case-insensitive regex). Throws E_USAGE when malformed. */
export function parseCategoryOverride(text: string): CategoryOverride {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) {
    throw new TraceforgeError('E_USAGE', `--category takes NAME=REGEX (e.g. moe=fused_moe|expert), not "${text}"`);
  }
  const category = text.slice(0, eq).trim();
  const source = text.slice(eq + 1);
  try {
    return { category, pattern: new RegExp(source, 'i') };
  } catch (e) {
    throw new TraceforgeError('E_USAGE', `--category ${category}: not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Kind of a device activity as the trace's category says. */
export const KIND_KERNEL = 0, KIND_MEMCPY = 1, KIND_MEMSET = 2;

/**
 * Assigns small category ids. Ids index `names`; the built-in categories come first, in
 * BUILTIN_CATEGORIES order, then categories only user rules mention.
 */
export class Categorizer {
  readonly names: string[] = [...BUILTIN_CATEGORIES];
  private readonly rules: { id: number; pattern: RegExp }[] = [];
  readonly communication: number;
  readonly memcpy: number;
  readonly memset: number;
  readonly other: number;

  constructor(overrides: readonly CategoryOverride[] = []) {
    for (const o of overrides) this.rules.push({ id: this.idOf(o.category), pattern: o.pattern });
    for (const r of CATEGORY_RULES) this.rules.push({ id: this.idOf(r.category), pattern: r.pattern });
    this.communication = this.idOf(COMMUNICATION);
    this.memcpy = this.idOf(MEMCPY);
    this.memset = this.idOf(MEMSET);
    this.other = this.idOf(OTHER);
  }

  private idOf(name: string): number {
    let i = this.names.indexOf(name);
    if (i < 0) { i = this.names.length; this.names.push(name); }
    return i;
  }

  /** Category id of a device activity of the given kind and name. User rules win over the kind. */
  categoryOf(name: string, kind: number): number {
    const text = withoutParams(name);
    for (const r of this.rules) {
      if (r.pattern.test(text)) {
        // a built-in name rule never turns a copy into something else; a user rule may
        if (kind !== KIND_KERNEL && !this.isUserRule(r)) break;
        return r.id;
      }
    }
    if (kind === KIND_MEMCPY) return this.memcpy;
    if (kind === KIND_MEMSET) return this.memset;
    return this.other;
  }

  private isUserRule(r: { pattern: RegExp }): boolean {
    return !CATEGORY_RULES.some((b) => b.pattern === r.pattern);
  }

  /** True for categories counted as compute when measuring communication overlap. */
  isCompute(id: number): boolean {
    return id !== this.communication && id !== this.memcpy && id !== this.memset;
  }
}
