/**
 * Python frames (`cat: python_function`, written with `with_stack=True`): `path.py(412): forward`,
 * `nn.Module: LlamaAttention_0`, `<built-in method ...>`. They nest per thread by time; the
 * source attribution and the "what the CPU was doing" view read them.
 */
import { F, type ScannedEvent } from '../../io/scanner.js';
import { decodeName } from '../../io/arg-spans.js';
import { GrowableF64, GrowableI32 } from '../../model/growable.js';
import { NameTable } from '../../model/span-interner.js';

export interface PythonRecords {
  count: number;
  start: Float64Array;
  dur: Float64Array;
  /** Index into `frameNames`. */
  name: Int32Array;
  /** Index into `threads`. */
  thread: Int32Array;
}

export class PythonBuilder {
  private readonly table = new NameTable();
  private readonly start = new GrowableF64(4096);
  private readonly dur = new GrowableF64(4096);
  private readonly name = new GrowableI32(4096);
  private readonly thread = new GrowableI32(4096);

  get names(): string[] { return this.table.names; }

  add(ev: ScannedEvent, start: number, dur: number, thread: number): void {
    const f = ev.f;
    this.start.push(start);
    this.dur.push(dur);
    this.name.push(this.table.id(ev.buf, f[2 * F.name]!, f[2 * F.name + 1]!, decodeName));
    this.thread.push(thread);
  }

  build(): PythonRecords {
    return { count: this.start.length, start: this.start.view(), dur: this.dur.view(), name: this.name.view(), thread: this.thread.view() };
  }
}
