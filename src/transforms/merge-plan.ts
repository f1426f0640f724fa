/**
 * How ranks become one timeline (pure: no I/O). Every (rank, pid) gets a new small pid whose
 * process name carries the rank label (`[TP03] GPU 3`); ids get a per-rank offset so arrows and
 * correlations never cross ranks; every rank's clock is moved onto one `baseTimeNanoseconds`.
 */
import type { RankScan, RawEntry } from '../pipeline/rank-index.js';

/** Flow ids, correlation and External ids of output rank k are shifted by k * ID_STRIDE. */
export const ID_STRIDE = 10_000_000_000n;
/** New pids are (k + 1) * PID_STRIDE + j for the j-th process of output rank k. */
export const PID_STRIDE = 1000;

export interface ProcessPlan {
  newPid: number;
  label: string;
  gpu: boolean;
}

export interface RankPlan {
  scan: RankScan;
  label: string;
  /** Position in the output (0-based). */
  k: number;
  pids: Map<string, ProcessPlan>;
  idOffset: bigint;
  /** ns to add to every ts of this rank to express it against the output base. */
  tsShiftNs: bigint;
  /** ns from the earliest event of all ranks to this rank's time origin (for windows). */
  originNs: number;
}

export interface MergeOptions {
  /** List CPU processes before GPU ones within a rank (default: GPU first). */
  cpuFirst?: boolean;
}

export interface MergePlan {
  ranks: RankPlan[];
  /** baseTimeNanoseconds of the output (min over ranks), or undefined when no rank had one. */
  baseTimeNs: bigint | undefined;
  /** Absolute ns (BigInt) of the earliest event over all ranks. */
  earliestNs: bigint;
  /** Header and trailer entries of the output (JSON text: `"key": value`). */
  header: string[];
  trailer: string[];
}

const display = (raw: string): string => (raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);

/** Is this pid a device (GPU/NPU) process? Kineto labels them `GPU n`; devices use small pids. */
export function isDevicePid(scan: RankScan, pidRaw: string): boolean {
  const labels = scan.processLabels.get(pidRaw);
  if (labels !== undefined) return /^(GPU|NPU|XPU|MTIA)\b/i.test(labels);
  // torch_npu names its device processes
  const name = scan.processNames.get(pidRaw);
  if (name !== undefined && /^(Ascend Hardware|HCCL|Communication|Overlap Analysis|AI Core|NPU)/i.test(name)) return true;
  if (scan.stringTs) return false;
  const n = Number(pidRaw);
  return Number.isInteger(n) && n >= 0 && n < 1000;
}

function processLabel(scan: RankScan, rankLabel: string, pidRaw: string): string {
  const labels = scan.processLabels.get(pidRaw);
  const name = scan.processNames.get(pidRaw);
  // `GPU 3`; but torch_npu labels every device process just `NPU`: then its name says more
  // (`Ascend Hardware`, `HCCL`, `Overlap Analysis`)
  if (labels !== undefined && /^(GPU|NPU|XPU|MTIA)\b/i.test(labels) && (/\d/.test(labels) || name === undefined)) return `[${rankLabel}] ${labels}`;
  if (labels !== undefined && name !== undefined && /^(GPU|NPU|XPU|MTIA)\b/i.test(labels)) return `[${rankLabel}] ${name}`;
  if (pidRaw.startsWith('"')) return `[${rankLabel}] ${display(pidRaw) || '(no pid)'}`;
  return `[${rankLabel}] ${name ?? 'process'} (pid ${pidRaw})`;
}

function rawText(b: Uint8Array): string {
  return Buffer.from(b).toString('utf8');
}

function absOrigin(scan: RankScan): bigint {
  return (scan.baseTimeNs !== undefined ? BigInt(scan.baseTimeNs) : 0n) + BigInt(Math.trunc(scan.baseUs)) * 1000n;
}

/**
 * Output base: the smallest baseTimeNanoseconds; ranks with epoch-µs string timestamps
 * (torch_npu) and no base contribute their first timestamp, so their ts become relative.
 */
export function outputBase(scans: readonly Pick<RankScan, 'baseTimeNs' | 'stringTs' | 'baseUs'>[]): bigint | undefined {
  const bases = scans.flatMap((s) => s.baseTimeNs !== undefined ? [BigInt(s.baseTimeNs)]
    : s.stringTs ? [BigInt(Math.trunc(s.baseUs)) * 1000n] : []);
  return bases.length > 0 ? bases.reduce((a, b) => (b < a ? b : a)) : undefined;
}

/**
 * The plan of one rank at output position k: needs of the other ranks only the output base (and,
 * for windows, the earliest event), so it can be made as soon as those are known.
 */
export function planRank(scan: RankScan, label: string, k: number, baseOut: bigint | undefined, earliestNs: bigint, opts: MergeOptions = {}): RankPlan {
  const order = [...scan.pids].sort((a, b) => {
    const ga = isDevicePid(scan, a) ? 0 : a.startsWith('"') ? 2 : 1;
    const gb = isDevicePid(scan, b) ? 0 : b.startsWith('"') ? 2 : 1;
    const fa = opts.cpuFirst && ga < 2 ? 1 - ga : ga;
    const fb = opts.cpuFirst && gb < 2 ? 1 - gb : gb;
    if (fa !== fb) return fa - fb;
    const na = Number(a);
    const nb = Number(b);
    if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const pids = new Map<string, ProcessPlan>();
  order.forEach((p, j) => pids.set(p, { newPid: (k + 1) * PID_STRIDE + j, label: processLabel(scan, label, p), gpu: isDevicePid(scan, p) }));
  const rankBase = scan.baseTimeNs !== undefined ? BigInt(scan.baseTimeNs) : 0n;
  return {
    scan, label, k, pids,
    idOffset: BigInt(k) * ID_STRIDE,
    tsShiftNs: baseOut !== undefined ? rankBase - baseOut : 0n,
    originNs: Number(absOrigin(scan) - earliestNs),
  };
}

export function planMerge(ranks: { scan: RankScan; label: string; rank?: number | null }[], opts: MergeOptions = {}): MergePlan {
  const baseOut = outputBase(ranks.map((r) => r.scan));
  let earliest: bigint | undefined;
  for (const r of ranks) {
    if (!Number.isFinite(r.scan.minTs)) continue;
    const t = absOrigin(r.scan) + BigInt(Math.floor(r.scan.minTs));
    if (earliest === undefined || t < earliest) earliest = t;
  }
  const earliestNs = earliest ?? 0n;
  const plans: RankPlan[] = ranks.map((r, k) => planRank(r.scan, r.label, k, baseOut, earliestNs, opts));
  return { ranks: plans, baseTimeNs: baseOut, earliestNs, ...topLevel(plans, baseOut, ranks.map((r) => r.rank ?? null)) };
}

function topLevel(plans: RankPlan[], baseOut: bigint | undefined, rankNumbers: (number | null)[]): { header: string[]; trailer: string[] } {
  const first = plans[0]?.scan;
  if (!first) return { header: [], trailer: [] };
  const devices: unknown[] = [];
  for (const p of plans) {
    const e = p.scan.header.find((h) => h.key === 'deviceProperties');
    if (!e) continue;
    try {
      const list = JSON.parse(rawText(e.rawValue)) as unknown;
      if (Array.isArray(list)) for (const d of list) devices.push(d && typeof d === 'object' ? { ...d, rank: p.label } : d);
    } catch { /* kept as the first rank has it */ }
  }
  const ranksInfo = plans.map((p) => ({
    label: p.label,
    file: p.scan.name,
    rank: rankNumbers[p.k] ?? (typeof p.scan.distributedInfo?.['rank'] === 'number' ? p.scan.distributedInfo['rank'] : null),
    baseTimeNanoseconds: p.scan.baseTimeNs ?? null,
    pids: Object.fromEntries([...p.pids].map(([raw, pp]) => [pp.newPid, { label: pp.label, originalPid: display(raw) }])),
    distributedInfo: p.scan.distributedInfo ?? null,
  }));
  const line = (e: RawEntry): string => `${rawText(e.rawKey)}: ${rawText(e.rawValue)}`;
  const header: string[] = [];
  if (baseOut !== undefined && !first.header.some((e) => e.key === 'baseTimeNanoseconds')) header.push(`"baseTimeNanoseconds": ${baseOut.toString()}`);
  for (const e of first.header) {
    if (e.key === 'deviceProperties' && devices.length > 0) header.push(`"deviceProperties": ${JSON.stringify(devices)}`);
    else if (e.key === 'baseTimeNanoseconds' && baseOut !== undefined) header.push(`"baseTimeNanoseconds": ${baseOut.toString()}`);
    else header.push(line(e));
  }
  header.push(`"traceforgeMerge": ${JSON.stringify({ ranks: ranksInfo })}`);
  return { header, trailer: first.trailer.map(line) };
}
