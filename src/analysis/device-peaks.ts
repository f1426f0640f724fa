/**
 * Peak throughput of the devices traceforge knows: dense (no 2:4 sparsity) tensor / matrix
 * TFLOP/s per precision, vector FP32 TFLOP/s, and memory bandwidth in TB/s (10^12 bytes/s), from
 * the vendors' data sheets (cited per row). A device not listed gets achieved figures without
 * percentages; `--peak tflops=…,tbps=…` supplies the numbers for any device.
 *
 * Data sheets quote tensor throughput "with sparsity" for NVIDIA Hopper/Ada/Blackwell; the dense
 * figure is half of that, which is what is listed here.
 */
import type { Precision } from './perf-models/types.js';

export interface DevicePeak {
  /** Our name of the device (a row of the table, or `custom`). */
  device: string;
  /** Dense matrix (tensor core) TFLOP/s per precision; absent = not supported / not published. */
  matrix: Partial<Record<Precision, number>>;
  /** Vector (non-tensor) FP32 TFLOP/s: the roof of norms and elementwise ops. */
  vectorFp32: number;
  /** Memory (HBM / GDDR) bandwidth, TB/s. */
  tbps: number;
  source: string;
}

interface Row extends DevicePeak {
  /** Matches `deviceProperties[].name` (and SM count where names are shared). */
  match: RegExp;
  sms?: number;
}

const TABLE: Row[] = [
  // NVIDIA H200 SXM data sheet (nvidia.com/en-us/data-center/h200, 2024): FP8 3,958 TF, BF16/FP16 1,979 TF,
  // TF32 989 TF (all with sparsity), FP32 67 TF, HBM3e 4.8 TB/s. H200 NVL: FP8 3,341, BF16 1,671, TF32 835, FP32 60, 4.8 TB/s.
  { device: 'H200 NVL', match: /H200 NVL/i, matrix: { fp8: 1670.5, bf16: 835.5, fp16: 835.5, tf32: 417.5 }, vectorFp32: 60, tbps: 4.8, source: 'NVIDIA H200 data sheet (NVL column), dense = sparse / 2' },
  { device: 'H200 SXM', match: /H200/i, matrix: { fp8: 1979, bf16: 989.5, fp16: 989.5, tf32: 494.5 }, vectorFp32: 67, tbps: 4.8, source: 'NVIDIA H200 data sheet (SXM column), dense = sparse / 2' },
  // NVIDIA H100 data sheet (nvidia.com/en-us/data-center/h100, 2023): SXM FP8 3,958 / BF16 1,979 / TF32 989 (sparse),
  // FP32 67 TF, HBM3 3.35 TB/s; PCIe FP8 3,026 / BF16 1,513 / TF32 756 (sparse), FP32 51 TF, HBM2e 2.0 TB/s;
  // NVL FP8 3,341 / BF16 1,671 / TF32 835, FP32 60, 3.9 TB/s. SXM and PCIe share the name prefix: 132 vs 114 SMs.
  { device: 'H100 NVL', match: /H100 NVL/i, matrix: { fp8: 1670.5, bf16: 835.5, fp16: 835.5, tf32: 417.5 }, vectorFp32: 60, tbps: 3.9, source: 'NVIDIA H100 data sheet (NVL column), dense = sparse / 2' },
  { device: 'H100 PCIe', match: /H100.*PCIe/i, matrix: { fp8: 1513, bf16: 756.5, fp16: 756.5, tf32: 378 }, vectorFp32: 51, tbps: 2.0, source: 'NVIDIA H100 data sheet (PCIe column), dense = sparse / 2' },
  { device: 'H100 PCIe', match: /H100/i, sms: 114, matrix: { fp8: 1513, bf16: 756.5, fp16: 756.5, tf32: 378 }, vectorFp32: 51, tbps: 2.0, source: 'NVIDIA H100 data sheet (PCIe column), dense = sparse / 2' },
  { device: 'H100 SXM', match: /H100/i, matrix: { fp8: 1979, bf16: 989.5, fp16: 989.5, tf32: 494.5 }, vectorFp32: 67, tbps: 3.35, source: 'NVIDIA H100 data sheet (SXM column), dense = sparse / 2' },
  // NVIDIA H20 (HGX H20 product brief, 2024): FP8 296 TF, BF16/FP16 148 TF, TF32 74 TF (dense), FP32 44 TF, HBM3 4.0 TB/s.
  { device: 'H20', match: /\bH20\b/i, matrix: { fp8: 296, bf16: 148, fp16: 148, tf32: 74 }, vectorFp32: 44, tbps: 4.0, source: 'NVIDIA HGX H20 product brief (dense figures)' },
  // NVIDIA HGX B200 data sheet (nvidia.com/en-us/data-center/hgx, 8 GPUs): FP8 72 PF, FP16/BF16 36 PF, TF32 18 PF
  // (all sparse), FP32 600 TF, HBM3e 8 TB/s per GPU → per GPU dense FP8 4,500, BF16 2,250, TF32 1,125, FP32 75.
  { device: 'B200', match: /B200/i, matrix: { fp8: 4500, bf16: 2250, fp16: 2250, tf32: 1125 }, vectorFp32: 75, tbps: 8.0, source: 'NVIDIA HGX B200 data sheet, per GPU = /8, dense = sparse / 2' },
  // NVIDIA A100 data sheet (2021): BF16/FP16 312 TF, TF32 156 TF (dense), FP32 19.5 TF; 40GB HBM2 1,555 GB/s,
  // 80GB SXM HBM2e 2,039 GB/s, 80GB PCIe 1,935 GB/s. No FP8.
  { device: 'A100 80GB PCIe', match: /A100.*80GB.*PCIe|A100.*PCIe.*80GB/i, matrix: { bf16: 312, fp16: 312, tf32: 156 }, vectorFp32: 19.5, tbps: 1.935, source: 'NVIDIA A100 data sheet (80GB PCIe)' },
  { device: 'A100 80GB', match: /A100.*80GB/i, matrix: { bf16: 312, fp16: 312, tf32: 156 }, vectorFp32: 19.5, tbps: 2.039, source: 'NVIDIA A100 data sheet (80GB SXM)' },
  { device: 'A100 40GB', match: /A100/i, matrix: { bf16: 312, fp16: 312, tf32: 156 }, vectorFp32: 19.5, tbps: 1.555, source: 'NVIDIA A100 data sheet (40GB)' },
  // NVIDIA L40S data sheet (2023): FP8 1,466 TF, BF16/FP16 733 TF, TF32 366 TF (sparse), FP32 91.6 TF, GDDR6 864 GB/s.
  { device: 'L40S', match: /L40S/i, matrix: { fp8: 733, bf16: 362, fp16: 362, tf32: 183 }, vectorFp32: 91.6, tbps: 0.864, source: 'NVIDIA L40S data sheet, dense = sparse / 2 (BF16 dense 362.05)' },
  // AMD Instinct MI300X data sheet (amd.com, 2023): FP8 2,614.9 TF, BF16/FP16 1,307.4 TF, TF32 653.7 TF (dense),
  // FP32 vector 163.4 TF, HBM3 5.3 TB/s. MI325X data sheet (2024): same compute, HBM3E 6.0 TB/s.
  { device: 'MI325X', match: /MI325X/i, matrix: { fp8: 2614.9, bf16: 1307.4, fp16: 1307.4, tf32: 653.7, fp32: 163.4 }, vectorFp32: 163.4, tbps: 6.0, source: 'AMD Instinct MI325X data sheet' },
  { device: 'MI300X', match: /MI300X/i, matrix: { fp8: 2614.9, bf16: 1307.4, fp16: 1307.4, tf32: 653.7, fp32: 163.4 }, vectorFp32: 163.4, tbps: 5.3, source: 'AMD Instinct MI300X data sheet' },
  // AMD Instinct MI250X data sheet (2021): FP16/BF16 383 TF, FP32 matrix 95.7 TF, FP32 vector 47.9 TF, HBM2e 3.2768 TB/s.
  // No FP8 / TF32.
  { device: 'MI250X', match: /MI250X?/i, matrix: { bf16: 383, fp16: 383, fp32: 95.7 }, vectorFp32: 47.9, tbps: 3.2768, source: 'AMD Instinct MI250X data sheet' },
  // Huawei Ascend 910B: no per-chip data sheet is public. Atlas 800T A2 (8 × 910B) brochure: ~2.5 PFLOPS FP16 →
  // ~313 TF per NPU; HBM2e 1.6 TB/s per NPU as reported for the 910B (64 GB) — vendor figures vary by bin (B1–B4).
  { device: 'Ascend 910B', match: /910B/i, matrix: { fp16: 313, bf16: 313 }, vectorFp32: 0, tbps: 1.6, source: 'Huawei Atlas 800T A2 brochure (÷8); bandwidth as reported for 910B — approximate, override with --peak' },
];

/** The table, for the README and tests. */
export const DEVICE_PEAKS: readonly DevicePeak[] = TABLE.map(({ match: _m, sms: _s, ...p }) => p);

/** The peak row of a device name (`deviceProperties[].name`, e.g. `NVIDIA H200`), or null. */
export function peakOf(name: string, sms?: number): DevicePeak | null {
  for (const r of TABLE) {
    if (!r.match.test(name)) continue;
    if (r.sms !== undefined && r.sms !== sms) continue;
    const { match: _m, sms: _s, ...p } = r;
    return p;
  }
  return null;
}

/** `--peak tflops=…,tbps=…`: one compute roof (for every precision) and one bandwidth. */
export function parsePeakOverride(text: string): DevicePeak {
  let tflops: number | undefined;
  let tbps: number | undefined;
  for (const part of text.split(',')) {
    const m = /^\s*(tflops|tbps)\s*=\s*([\d.]+(?:e[+-]?\d+)?)\s*$/i.exec(part);
    if (!m) throw new Error(`--peak takes tflops=N,tbps=N, not "${text}"`);
    const v = Number(m[2]);
    if (!(v > 0)) throw new Error(`--peak: ${m[1]} must be a positive number`);
    if (m[1]!.toLowerCase() === 'tflops') tflops = v; else tbps = v;
  }
  if (tflops === undefined || tbps === undefined) throw new Error(`--peak needs both tflops=N and tbps=N, not "${text}"`);
  const all: Partial<Record<Precision, number>> = { fp64: tflops, fp32: tflops, tf32: tflops, bf16: tflops, fp16: tflops, fp8: tflops, int8: tflops, fp4: tflops };
  return { device: 'custom', matrix: all, vectorFp32: tflops, tbps, source: '--peak' };
}

/**
 * The compute roof of an op, TFLOP/s: matrix ops at their precision (FP32 matmuls at the FP32
 * matrix rate where there is one, else TF32 is not assumed: the FP32 vector rate), vector ops at
 * the FP32 vector rate. Null when the device has no figure for it.
 */
export function computeRoof(p: DevicePeak, matrixOp: boolean, precision: Precision | null): number | null {
  if (!matrixOp) return p.vectorFp32 > 0 ? p.vectorFp32 : null;
  if (precision === null) return null;
  const m = p.matrix[precision];
  if (m !== undefined) return m;
  if (precision === 'fp32') return p.vectorFp32 > 0 ? p.vectorFp32 : null;
  return null;
}
