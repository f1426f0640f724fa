/**
 * The flow endpoints (`ph` "s" / "f") with which torch_npu's trace_view.json links host and
 * device, kept when the launch and idle views ask (see analysis/npu-launch-link.ts for the
 * matching):
 *
 * | flow (`cat`)                      | start ("s")                              | finish ("f", `bp` "e")            |
 * |-----------------------------------|------------------------------------------|-----------------------------------|
 * | `torch_to_npu` (`async_npu`)      | the CPU op's start, on its Python thread | the device task's start, its stream |
 * | `HostToDevice`                    | the CANN API call's start, CANN thread   | the device task's start, its stream |
 * | `enqueue_to_dequeue` (`async_task_queue`) | the Enqueue's start, Python thread | the Dequeue's start, worker thread |
 *
 * Flow ids are kept as text: torch_to_npu's and HostToDevice's are integers above 2^53.
 * Times are ns on the trace's clock (model/time.ts), exact from the decimal text.
 */
import { F } from '../../io/scanner.js';
import { eqAt } from '../../io/arg-spans.js';
import { GrowableF64, GrowableI32 } from '../../model/growable.js';

/** Which link a flow draws. */
export const enum FlowKind { TorchToNpu = 0, HostToDevice = 1, TaskQueue = 2 }

export interface FlowRecords {
  count: number;
  /** FlowKind. */
  kind: Uint8Array;
  /** 0: start ("s"), 1: finish ("f"). */
  phase: Uint8Array;
  /** Index into the flow ids (per kind, the same id = the same flow). */
  id: Int32Array;
  /** Index into `threads`: the endpoint's track. */
  thread: Int32Array;
  ts: Float64Array;
}

const q = (s: string): Buffer => Buffer.from(s, 'latin1');
const C_ASYNC_NPU = q('async_npu'), C_H2D = q('HostToDevice'), C_QUEUE = q('async_task_queue');
const PH_S = 0x73, PH_F = 0x66;

/** The FlowKind of a raw `cat` value b[s,e) (with quotes), or -1 for other flows. */
export function flowKindOf(b: Buffer, s: number, e: number): number {
  if (s < 0 || b[s] !== 0x22) return -1;
  const s1 = s + 1;
  switch (e - s - 2) {
    case 9: return eqAt(b, s1, C_ASYNC_NPU) ? FlowKind.TorchToNpu : -1;
    case 12: return eqAt(b, s1, C_H2D) ? FlowKind.HostToDevice : -1;
    case 16: return eqAt(b, s1, C_QUEUE) ? FlowKind.TaskQueue : -1;
    default: return -1;
  }
}

/** True for the phase bytes of a flow start or finish. */
export const isFlowPhase = (ph: number | undefined): boolean => ph === PH_S || ph === PH_F;

export class FlowBuilder {
  private readonly kind: number[] = [];
  private readonly phase: number[] = [];
  private readonly id = new GrowableI32(1024);
  private readonly thread = new GrowableI32(1024);
  private readonly ts = new GrowableF64(1024);
  private readonly ids = new Map<string, number>();

  /** Keeps one endpoint of kind `kind` (flowKindOf); `ph` is the phase byte. Without an id it is skipped. */
  add(b: Buffer, f: Int32Array, kind: number, ph: number, ts: number, thread: number): void {
    const s = f[2 * F.id]!;
    if (s < 0) return;
    let e = f[2 * F.id + 1]!;
    let s0 = s;
    if (b[s0] === 0x22) { s0++; e--; }
    const text = b.toString('latin1', s0, e);
    let id = this.ids.get(text);
    if (id === undefined) { id = this.ids.size; this.ids.set(text, id); }
    this.kind.push(kind);
    this.phase.push(ph === PH_S ? 0 : 1);
    this.id.push(id);
    this.thread.push(thread);
    this.ts.push(ts);
  }

  /** The endpoints; `canon` maps each thread to the one that stands for its OS thread (threads.ts). */
  build(canon?: Int32Array): FlowRecords {
    const thread = this.thread.view();
    if (canon) for (let i = 0; i < thread.length; i++) thread[i] = canon[thread[i]!] ?? thread[i]!;
    return {
      count: this.kind.length, kind: Uint8Array.from(this.kind), phase: Uint8Array.from(this.phase),
      id: this.id.view(), thread, ts: this.ts.view(),
    };
  }
}
