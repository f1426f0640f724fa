/**
 * Collective arguments of communication kernels: what PyTorch's `record_param_comms` writes on
 * the cpu_op and copies onto the NCCL / RCCL kernel (`Collective name`, `Process Group Name`,
 * `Process Group Ranks`, `Group size`, `In msg nelems`, `Out msg nelems`, `dtype`, `Seq`,
 * `In split size` / `Out split size`). Read only when the comm or rank view is asked for, and
 * only on communication kernels and on cpu_ops named `record_param_comms` (a byte compare of
 * the name): everything else costs nothing.
 *
 * A kernel that lacks a field (older PyTorch writes none on kernels, `Seq` is written on the
 * cpu_op only) takes it from the `record_param_comms` op with the same `External id`.
 */
import { F, type ScannedEvent } from '../../io/scanner.js';
import { eqAt, externalIdOf, numberAt, stringValue } from '../../io/arg-spans.js';
import { objectMemberSpans } from '../../io/fields.js';

export interface CollectiveArgs {
  /** `Collective name` as written (`allreduce`, `_allgather_base`, ...); '' when absent. */
  collective: string;
  /** `Process Group Name` ('' when absent) and its description. */
  group: string;
  groupDesc: string;
  /** `Process Group Ranks`: the global ranks of the group, in group-local order. */
  groupRanks: number[] | null;
  groupSize: number | null;
  inNelems: number | null;
  outNelems: number | null;
  dtype: string | null;
  /** `Seq`: the collective's sequence number in its process group. */
  seq: number | null;
  /** All-to-all: elements sent to / received from each group member (group-local order). */
  inSplit: number[] | null;
  outSplit: number[] | null;
}

const K_RPC = Buffer.from('"record_param_comms"');

const num = (v: unknown): number | null => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v);
  return null;
};

/** A list of integers written as a JSON array or as the text of one (`"[0, 1]"`); null when empty or absent. */
function intList(v: unknown): number[] | null {
  let a = v;
  if (typeof a === 'string') {
    try { a = JSON.parse(a); } catch { return null; }
  }
  if (!Array.isArray(a) || a.length === 0) return null;
  const out: number[] = [];
  for (const x of a) { const n = num(x); if (n === null) return null; out.push(n); }
  return out;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);

/** The collective fields of an args object; undefined when it has none of them. */
export function collectiveArgsOf(args: Record<string, unknown>): CollectiveArgs | undefined {
  const a: CollectiveArgs = {
    collective: str(args['Collective name']) ?? '',
    group: str(args['Process Group Name']) ?? '',
    groupDesc: str(args['Process Group Description']) ?? str(args['Process Group Desc']) ?? str(args['Description']) ?? '',
    groupRanks: intList(args['Process Group Ranks']),
    groupSize: num(args['Group size']),
    inNelems: num(args['In msg nelems']),
    outNelems: num(args['Out msg nelems']),
    dtype: str(args['dtype']),
    seq: num(args['Seq']),
    inSplit: intList(args['In split size']),
    outSplit: intList(args['Out split size']),
  };
  if (a.collective === '' && a.group === '' && a.inNelems === null && a.outNelems === null && a.seq === null) return undefined;
  return a;
}

function argsObject(ev: ScannedEvent): Record<string, unknown> | undefined {
  const f = ev.f;
  const s = f[2 * F.args]!;
  if (s < 0) return undefined;
  try {
    const v: unknown = JSON.parse(ev.buf.toString('utf8', s, f[2 * F.args + 1]!));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch { return undefined; }
}

/** Fills the missing fields of `k` from `op`. */
function fill(k: CollectiveArgs, op: CollectiveArgs): void {
  if (k.collective === '') k.collective = op.collective;
  if (k.group === '') k.group = op.group;
  if (k.groupDesc === '') k.groupDesc = op.groupDesc;
  k.groupRanks ??= op.groupRanks;
  k.groupSize ??= op.groupSize;
  k.inNelems ??= op.inNelems;
  k.outNelems ??= op.outNelems;
  k.dtype ??= op.dtype;
  k.seq ??= op.seq;
  k.inSplit ??= op.inSplit;
  k.outSplit ??= op.outSplit;
}

export class CollectiveBuilder {
  /** One entry per communication kernel that carries (or inherits) collective args. */
  readonly list: CollectiveArgs[] = [];
  private readonly kernelExt: number[] = [];
  private readonly ops = new Map<number, CollectiveArgs>();

  /** A communication kernel: returns its index in `list` (the device record's `coll`), or -1. */
  kernel(ev: ScannedEvent, ext: number): number {
    const args = argsObject(ev);
    const a = (args && collectiveArgsOf(args)) ?? (Number.isFinite(ext) ? emptyArgs() : undefined);
    return a ? this.add(a, ext) : -1;
  }

  /** Keeps `a` (with the kernel's `External id`, NaN for none); its index in `list`. */
  add(a: CollectiveArgs, ext: number): number {
    this.list.push(a);
    this.kernelExt.push(ext);
    return this.list.length - 1;
  }

  /** A cpu_op: kept when it is `record_param_comms` (byte compare of the name). */
  cpuOp(ev: ScannedEvent): void {
    const f = ev.f;
    const ns = f[2 * F.name]!;
    if (ns < 0 || f[2 * F.name + 1]! - ns !== K_RPC.length || !eqAt(ev.buf, ns, K_RPC)) return;
    const as = f[2 * F.args]!;
    if (as < 0) return;
    const ext = externalIdOf(ev.buf, as, f[2 * F.args + 1]!);
    const args = argsObject(ev);
    const a = args && collectiveArgsOf(args);
    if (a && Number.isFinite(ext)) this.ops.set(ext, a);
  }

  /** The args, each kernel completed from its `record_param_comms` op. Call once, after the scan. */
  build(): CollectiveArgs[] {
    this.list.forEach((k, i) => {
      const op = this.ops.get(this.kernelExt[i]!);
      if (op) fill(k, op);
    });
    return this.list;
  }
}

/** HCCL data types (trace_view `data_type`) as PyTorch's dtype names. */
const HCCL_DTYPES: Readonly<Record<string, string>> = {
  FP32: 'Float', FP16: 'Half', BFP16: 'BFloat16', BF16: 'BFloat16', FP64: 'Double', INT8: 'Char', UINT8: 'Byte',
  INT16: 'Short', INT32: 'Int', INT64: 'Long', UINT16: 'UInt16', UINT32: 'UInt32', UINT64: 'UInt64',
};
const K_HCOM = Buffer.from('"hcom_');
const HCOM_KEYS = [Buffer.from('count'), Buffer.from('data_type')];
const hcomSpans = new Int32Array(4);

/**
 * A torch_npu HCCL op slice (`hcom_allReduce__586_0_1`, args `count`, `data_type`): its element
 * count and dtype as collective args (group and index come from the name, see
 * analysis/collectives.ts). Returns the index in `list`, or -1 for other slices.
 */
export function hcomArgs(b: CollectiveBuilder, ev: ScannedEvent): number {
  const a = hcomArgsOf(ev);
  return a ? b.add(a, NaN) : -1;
}

function hcomArgsOf(ev: ScannedEvent): CollectiveArgs | undefined {
  const f = ev.f;
  const ns = f[2 * F.name]!;
  const as = f[2 * F.args]!;
  if (ns < 0 || as < 0 || !eqAt(ev.buf, ns, K_HCOM)) return undefined;
  objectMemberSpans(ev.buf, as, f[2 * F.args + 1]!, HCOM_KEYS, hcomSpans);
  const count = hcomSpans[0]! >= 0 ? numberAt(ev.buf, hcomSpans[0]!, hcomSpans[1]!) : NaN;
  const dt = hcomSpans[2]! >= 0 ? stringValue(ev.buf, [hcomSpans[2]!, hcomSpans[3]!]) : '';
  const a = emptyArgs();
  if (Number.isFinite(count)) { a.inNelems = count; a.outNelems = count; }
  a.dtype = HCCL_DTYPES[dt.toUpperCase()] ?? (dt === '' ? null : dt);
  return a;
}

function emptyArgs(): CollectiveArgs {
  return { collective: '', group: '', groupDesc: '', groupRanks: null, groupSize: null, inNelems: null, outNelems: null, dtype: null, seq: null, inSplit: null, outSplit: null };
}
