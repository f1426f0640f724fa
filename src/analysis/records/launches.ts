/**
 * Runtime and driver API calls on the CPU (`cat` cuda_runtime / cuda_driver, old `Runtime`):
 * `cudaLaunchKernel`, `cuLaunchKernelEx`, `hipExtModuleLaunchKernel`, `cudaGraphLaunch`,
 * `cudaMemcpyAsync`, `cudaStreamSynchronize`, ... Totals per name are always kept (cheap);
 * with `records`, every call is kept too, with the `correlation` that links it to the device
 * activities it launched (see analysis/launch-link.ts for the matching).
 *
 * torch_npu traces add their host calls through {@link LaunchBuilder.addCall}: the CANN API
 * slices (`Node@launch`, `AscendCL@aclnnMuls`, `AscendCL@aclrtSynchronizeStreamWithTimeout`, ...,
 * with their `connection_id` as the correlation) and the task queue's `Dequeue` slices.
 */
import { F, type ScannedEvent } from '../../io/scanner.js';
import { decodeName, numberAt } from '../../io/arg-spans.js';
import { argSpans } from '../../io/fields.js';
import { durationNs } from '../../model/time.js';
import { GrowableF64, GrowableI32 } from '../../model/growable.js';
import { NameTable } from '../../model/span-interner.js';

/** Calls and summed duration (ns) of one runtime / driver API (`cudaLaunchKernel`, ...). */
export interface ApiCallRecord {
  name: string;
  calls: number;
  ns: number;
}

/** Every runtime / driver call, when collected. */
export interface LaunchRecords {
  count: number;
  start: Float64Array;
  dur: Float64Array;
  /** Index into `apiNames`. */
  name: Int32Array;
  /** Index into `threads`. */
  thread: Int32Array;
  /** `correlation` (NaN when absent). */
  corr: Float64Array;
  /** `External id` (NaN when absent): the cpu_op the call was made in. */
  ext: Float64Array;
  /** HIP launches name their kernel (`args.kernel`): index into `launchKernelNames`, else -1. */
  kernel: Int32Array;
}

const KEYS = [Buffer.from('correlation'), Buffer.from('External id'), Buffer.from('external id'), Buffer.from('kernel')];

export class LaunchBuilder {
  private readonly table = new NameTable();
  private readonly calls: number[] = [];
  private readonly ns: number[] = [];
  private readonly start = new GrowableF64(4096);
  private readonly dur = new GrowableF64(4096);
  private readonly name = new GrowableI32(4096);
  private readonly thread = new GrowableI32(4096);
  private readonly corr = new GrowableF64(4096);
  private readonly ext = new GrowableF64(4096);
  private readonly kernel = new GrowableI32(4096);
  private readonly kernelTable = new NameTable();
  private readonly out = new Int32Array(2 * KEYS.length);

  get names(): string[] { return this.table.names; }
  get kernelNames(): string[] { return this.kernelTable.names; }

  /** Counts a call (even one without a ts); returns its name id. */
  count(b: Buffer, f: Int32Array): number {
    const id = this.table.id(b, f[2 * F.name]!, f[2 * F.name + 1]!, decodeName);
    if (id === this.calls.length) { this.calls.push(0); this.ns.push(0); }
    const ds = f[2 * F.dur]!;
    const d = ds >= 0 ? durationNs(b, ds, f[2 * F.dur + 1]!) : 0;
    this.calls[id]!++;
    this.ns[id]! += d >= 0 ? d : 0;
    return id;
  }

  /** Keeps one timed call. */
  add(ev: ScannedEvent, name: number, start: number, dur: number, thread: number): void {
    const b = ev.buf;
    let corr = NaN;
    let ext = NaN;
    let kernel = -1;
    if (ev.f[2 * F.args]! >= 0) {
      const o = this.out;
      // HIP writes External id, kernel, cid, correlation: stop after three members found
      argSpans(ev, KEYS, o, 3);
      corr = numberAt(b, o[0]!, o[1]!);
      ext = o[2]! >= 0 ? numberAt(b, o[2]!, o[3]!) : numberAt(b, o[4]!, o[5]!);
      if (o[6]! >= 0 && b[o[6]!] === 0x22) kernel = this.kernelTable.id(b, o[6]!, o[7]!, decodeName);
    }
    this.start.push(start);
    this.dur.push(dur);
    this.name.push(name);
    this.thread.push(thread);
    this.corr.push(corr);
    this.ext.push(ext);
    this.kernel.push(kernel);
  }

  /**
   * Keeps one call known by its name rather than its bytes (torch_npu's CANN slices, resolved
   * after the pass; the task queue's dequeues). `counted`: also in the totals of `apiCalls`
   * (the CANN calls are the NPU's runtime API; a dequeue is not an API call).
   */
  addCall(name: string, start: number, dur: number, thread: number, corr: number, counted = false): void {
    let id = this.byName.get(name);
    if (id === undefined) {
      id = this.table.names.length;
      this.table.names.push(name);
      this.calls.push(0);
      this.ns.push(0);
      this.byName.set(name, id);
    }
    if (counted) { this.calls[id]!++; this.ns[id]! += dur; }
    this.start.push(start);
    this.dur.push(dur);
    this.name.push(id);
    this.thread.push(thread);
    this.corr.push(corr);
    this.ext.push(NaN);
    this.kernel.push(-1);
  }

  /** Names added by addCall (kept apart from the byte-interned ones: never the same APIs). */
  private readonly byName = new Map<string, number>();

  totals(): ApiCallRecord[] {
    return this.table.names.map((name, k) => ({ name, calls: this.calls[k]!, ns: this.ns[k]! })).filter((x) => x.calls > 0);
  }

  build(): LaunchRecords {
    return {
      count: this.start.length, start: this.start.view(), dur: this.dur.view(), name: this.name.view(),
      thread: this.thread.view(), corr: this.corr.view(), ext: this.ext.view(), kernel: this.kernel.view(),
    };
  }
}
