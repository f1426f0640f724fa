/**
 * Device activities (kernels, copies, sets) of one trace: what every device-side view reads.
 * Times in ns on the trace's clock (see model/time.ts).
 */
import { GrowableF64, GrowableI32, GrowableU16 } from '../../model/growable.js';

export interface DeviceRecords {
  count: number;
  start: Float64Array;
  dur: Float64Array;
  /** Index into `names`. */
  name: Int32Array;
  /** Index into the categorizer's names. */
  category: Uint16Array;
  /** Index into `pids` (the device). */
  pid: Int32Array;
  /** Index into `threads`: the (device, stream) track. */
  thread: Int32Array;
  /** `External id` (NaN when absent or not collected). */
  ext: Float64Array;
  /** `correlation`: the id shared with the launch call (NaN when absent or not collected). */
  corr: Float64Array;
  /** Index into `groups` for communication kernels with a `Process Group Name`, else -1. */
  group: Int32Array;
  /** `args.stream` (NaN when absent or not collected): the stream even when `fix` moved the event to an overlap track. */
  stream: Float64Array;
  /** Index into `collectives` for communication kernels with collective args (comm view), else -1. */
  coll: Int32Array;
}

export class DeviceBuilder {
  private readonly start = new GrowableF64(4096);
  private readonly dur = new GrowableF64(4096);
  private readonly name = new GrowableI32(4096);
  private readonly category = new GrowableU16(4096);
  private readonly pid = new GrowableI32(4096);
  private readonly thread = new GrowableI32(4096);
  private readonly ext = new GrowableF64(4096);
  private readonly corr = new GrowableF64(4096);
  private readonly group = new GrowableI32(4096);
  private readonly stream = new GrowableF64(4096);
  private readonly coll = new GrowableI32(4096);

  add(start: number, dur: number, name: number, category: number, pid: number, thread: number, ext: number, corr: number, group: number, stream: number, coll: number): void {
    this.start.push(start);
    this.dur.push(dur);
    this.name.push(name);
    this.category.push(category);
    this.pid.push(pid);
    this.thread.push(thread);
    this.ext.push(ext);
    this.corr.push(corr);
    this.group.push(group);
    this.stream.push(stream);
    this.coll.push(coll);
  }

  build(): DeviceRecords {
    return {
      count: this.start.length, start: this.start.view(), dur: this.dur.view(), name: this.name.view(),
      category: this.category.view(), pid: this.pid.view(), thread: this.thread.view(), ext: this.ext.view(),
      corr: this.corr.view(), group: this.group.view(), stream: this.stream.view(), coll: this.coll.view(),
    };
  }
}
