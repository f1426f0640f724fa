/**
 * Attention: S = Q·Kᵀ, P = softmax(S), O = P·V. FLOPs = 2·B·Hq·Nq·Nkv·d_qk + 2·B·Hq·Nq·Nkv·d_v
 * (softmax left out: it is d times smaller), halved for a causal mask when Nq = Nkv; bytes =
 * Q, K, V read once and O written once, K and V with the KV heads (GQA: Hkv < Hq). As TraceLens's
 * `SDPA.flops_func` / `bytes_func` (TraceLens/PerfModel/perf_model.py; its FLOP formula is the one
 * of flash-attention's benchmarks), except that bytes use the tensors' element size (TraceLens
 * uses 2), and a causal mask with Nq ≠ Nkv gives missing FLOPs (TraceLens raises an error: the
 * mask's alignment differs between SDPA (top-left) and flash-attn (bottom-right)).
 *
 * Decode (Nq = 1) and prefill (Nq = Nkv) are the same formula; `params` names the phase.
 * flash-attn varlen packs sequences of unknown lengths into one token axis: its FLOPs are known
 * only when the lengths are (one sequence, or all at the max length); otherwise they are missing
 * (TraceLens estimates them from max_seqlen; we do not guess).
 */
import { bytesPerElement, dimsText, precisionOf, tensorDims } from './dtypes.js';
import type { OpInputs, PerfEstimate, PerfModel } from './types.js';

export interface AttentionShape {
  B: bigint;
  Hq: bigint;
  Hkv: bigint;
  Nq: bigint;
  Nkv: bigint;
  dqk: bigint;
  dv: bigint;
}

/** 2·B·Hq·Nq·Nkv·(d_qk + d_v), halved when causal (Nq = Nkv); null for causal with Nq ≠ Nkv. */
export function attentionFlops(s: AttentionShape, causal: boolean): bigint | null {
  const f = 2n * s.B * s.Hq * s.Nq * s.Nkv * (s.dqk + s.dv);
  if (!causal) return f;
  return s.Nq === s.Nkv ? f / 2n : null;
}

/** (Q + K + V + O) elements × element size. */
export function attentionBytes(s: AttentionShape, bpe: number): bigint {
  const q = s.B * s.Nq * s.Hq * s.dqk;
  const k = s.B * s.Nkv * s.Hkv * s.dqk;
  const v = s.B * s.Nkv * s.Hkv * s.dv;
  const o = s.B * s.Nq * s.Hq * s.dv;
  return (q + k + v + o) * BigInt(bpe);
}

const truthy = (t: string | undefined): boolean | null => (t === 'True' || t === 'true' || t === '1' ? true : t === 'False' || t === 'false' || t === '0' ? false : null);

function result(s: AttentionShape, causal: boolean | null, type: string | undefined, extra = ''): PerfEstimate {
  const bpe = bytesPerElement(type);
  const flops = causal === null ? null : attentionFlops(s, causal);
  const phase = s.Nq === 1n ? 'decode' : s.Nq === s.Nkv ? 'prefill' : 'chunk';
  const missing = causal === null ? 'flops: the causal flag is not in the trace (Concrete Inputs)'
    : flops === null ? `flops: causal mask with Nq=${s.Nq} ≠ Nkv=${s.Nkv} (mask alignment unknown)` : undefined;
  return {
    family: 'attention', flops, bytes: bpe === null ? null : attentionBytes(s, bpe), precision: precisionOf(type),
    params: `B=${s.B} Hq=${s.Hq} Hkv=${s.Hkv} Nq=${s.Nq} Nkv=${s.Nkv} d=${s.dqk}${s.dv !== s.dqk ? `/${s.dv}` : ''}${causal ? ' causal' : ''} ${phase}${extra}`,
    ...(missing ? { missing } : {}),
  };
}

/** q, k, v of 4-D [B, H, N, d] (`bhnd`, SDPA) or [B, N, H, d] (`bnhd`, flash-attn). */
function qkv(x: OpInputs, layout: 'bhnd' | 'bnhd'): AttentionShape | { error: string } {
  const q = tensorDims(x.dims[0]), k = tensorDims(x.dims[1]), v = tensorDims(x.dims[2]);
  if (!q || !k || !v || q.length !== 4 || k.length !== 4 || v.length !== 4) return { error: 'q, k, v are not 4-D tensors' };
  const [h, n] = layout === 'bhnd' ? [1, 2] : [2, 1];
  const s: AttentionShape = {
    B: BigInt(q[0]!), Hq: BigInt(q[h]!), Hkv: BigInt(k[h]!), Nq: BigInt(q[n]!), Nkv: BigInt(k[n]!), dqk: BigInt(q[3]!), dv: BigInt(v[3]!),
  };
  if (k[0] !== q[0] || v[n] !== k[n] || k[3] !== q[3] || s.Hkv === 0n || s.Hq % s.Hkv !== 0n) return { error: `q ${dimsText(q)}, k ${dimsText(k)}, v ${dimsText(v)} do not fit attention` };
  return s;
}

/** SDPA-style op with `is_causal` at Concrete Inputs[causalAt]. */
function sdpa(layout: 'bhnd' | 'bnhd', causalAt: number): PerfModel {
  return (x) => {
    const s = qkv(x, layout);
    if ('error' in s) return s;
    return result(s, x.concrete ? truthy(x.concrete[causalAt]) : null, x.types[0]);
  };
}

/**
 * `flash_attn::_flash_attn_varlen_forward(q[Tq,H,d], k[Tk,Hkv,d], v, cu_seqlens_q[b+1], cu_seqlens_k, max_seqlen_q, max_seqlen_k, dropout, scale, causal, ...)`.
 */
export const flashVarlen: PerfModel = (x) => {
  const q = tensorDims(x.dims[0]), k = tensorDims(x.dims[1]), v = tensorDims(x.dims[2]);
  const cq = tensorDims(x.dims[3]);
  if (!q || !k || !v || q.length !== 3 || k.length !== 3 || v.length !== 3 || !cq) return { error: 'q, k, v are not [tokens, heads, dim]' };
  const b = BigInt(cq[0]! - 1);
  const c = x.concrete;
  const maxQ = c?.[5] !== undefined && /^\d+$/.test(c[5]) ? BigInt(c[5]) : null;
  const maxK = c?.[6] !== undefined && /^\d+$/.test(c[6]) ? BigInt(c[6]) : null;
  const Tq = BigInt(q[0]!), Tk = BigInt(k[0]!);
  const s: AttentionShape = { B: 1n, Hq: BigInt(q[1]!), Hkv: BigInt(k[1]!), Nq: Tq, Nkv: Tk, dqk: BigInt(q[2]!), dv: BigInt(v[2]!) };
  const causal = c ? truthy(c[9]) : null;
  const uniform = b >= 1n && maxQ !== null && maxK !== null && maxQ * b === Tq && maxK * b === Tk;
  if (b === 1n || uniform) {
    // every sequence has the same length: b sequences of (Tq/b, Tk/b)
    const r = result({ ...s, B: b, Nq: Tq / b, Nkv: Tk / b }, causal, x.types[0], ` varlen ${b} seq`);
    return r;
  }
  const r = result(s, false, x.types[0], ` varlen ${b} seq`);
  return { ...r, flops: null, params: `Tq=${Tq} Tk=${Tk} Hq=${s.Hq} Hkv=${s.Hkv} d=${s.dqk} varlen ${b} seq`, missing: 'flops: varlen sequence lengths are not in the trace (only their sum and max)' };
};

export const ATTENTION_MODELS: Record<string, PerfModel> = {
  // aten::scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa)
  'aten::scaled_dot_product_attention': sdpa('bhnd', 5),
  // _scaled_dot_product_flash_attention(q, k, v, dropout_p, is_causal, return_debug_mask, scale)
  'aten::_scaled_dot_product_flash_attention': sdpa('bhnd', 4),
  // _scaled_dot_product_efficient_attention(q, k, v, attn_bias, compute_log_sumexp, dropout_p, is_causal, scale)
  'aten::_scaled_dot_product_efficient_attention': sdpa('bhnd', 6),
  // _scaled_dot_product_cudnn_attention(q, k, v, attn_bias, compute_log_sumexp, dropout_p, is_causal, return_debug_mask, scale)
  'aten::_scaled_dot_product_cudnn_attention': sdpa('bhnd', 6),
  'aten::_scaled_dot_product_flash_attention_for_cpu': sdpa('bhnd', 4),
  // flash_attn::_flash_attn_forward(q, k, v, dropout_p, softmax_scale, causal, ...) in [B, N, H, d]
  'flash_attn::_flash_attn_forward': sdpa('bnhd', 5),
  'flash_attn::_flash_attn_varlen_forward': flashVarlen,
};
