/**
 * CPU operators (`cat: cpu_op`, old `Operator`) with their input shapes: the op view and the
 * attribution of device time to operators read them. The key of an op is its name with the raw
 * text of `Input Dims` and `Input type`, interned from the bytes.
 */
import { F, type ScannedEvent } from '../../io/scanner.js';
import { ArgFinder, externalIdOf, memberAfter, numberAt } from '../../io/arg-spans.js';
import { GrowableF64, GrowableI32 } from '../../model/growable.js';
import { SpanInterner } from '../../model/span-interner.js';

export interface OpRecords {
  count: number;
  /** Index into `threads`. */
  thread: Int32Array;
  start: Float64Array;
  dur: Float64Array;
  /** Index into `opKeys`. */
  key: Int32Array;
  ext: Float64Array;
  /** With `args` (efficiency view): PyTorch's own `flops` arg (`with_flops=True`; NaN when absent). */
  flops?: Float64Array;
  /** With `args`: index into OpBuilder.concrete of the raw `Concrete Inputs` text (-1 when absent). */
  concrete?: Int32Array;
}

export interface OpKey {
  name: string;
  /** Raw JSON text of `Input Dims` / `Input type` ('' when absent). */
  dims: string;
  types: string;
}

const DIMS_KEY = Buffer.from('"Input Dims"'), STRIDES_KEY = Buffer.from('"Input Strides"');

export class OpBuilder {
  private readonly thread = new GrowableI32(4096);
  private readonly start = new GrowableF64(4096);
  private readonly dur = new GrowableF64(4096);
  private readonly key = new GrowableI32(4096);
  private readonly ext = new GrowableF64(4096);
  private readonly keyIds = new SpanInterner();
  private readonly spans: number[] = [];
  private readonly dimsFinder = new ArgFinder('Input Dims');
  private readonly typesFinder = new ArgFinder('Input type');
  readonly keys: OpKey[] = [];
  /** Distinct raw `Concrete Inputs` texts (with `args`). */
  readonly concreteTexts: string[] = [];
  private readonly flops: GrowableF64 | undefined;
  private readonly concrete: GrowableI32 | undefined;
  private readonly concreteIds = new Map<string, number>();
  private readonly flopsFinder = new ArgFinder('flops');
  private readonly concreteFinder = new ArgFinder('Concrete Inputs');

  /** `args`: also keep each op's `flops` and `Concrete Inputs` (the efficiency view's models read them). */
  constructor(args = false) {
    if (args) { this.flops = new GrowableF64(4096); this.concrete = new GrowableI32(4096); }
  }

  add(ev: ScannedEvent, start: number, dur: number, thread: number): void {
    const b = ev.buf;
    const f = ev.f;
    const as = f[2 * F.args]!;
    const ae = f[2 * F.args + 1]!;
    const ns = f[2 * F.name]!;
    const ne = f[2 * F.name + 1]!;
    let dims: [number, number] | undefined;
    let types: [number, number] | undefined;
    let ext = NaN;
    if (as >= 0) {
      types = this.typesFinder.span(b, as, ae);
      // Kineto writes "Input type", "Input Strides", "Input Dims" in this order: walk there
      dims = types ? memberAfter(b, types[1], ae, DIMS_KEY, STRIDES_KEY) : undefined;
      dims ??= this.dimsFinder.span(b, as, ae);
      ext = externalIdOf(b, as, ae);
    }
    const spans = this.spans;
    spans.length = 6;
    spans[0] = ns < 0 ? 0 : ns; spans[1] = ns < 0 ? 0 : ne;
    spans[2] = dims ? dims[0] : 0; spans[3] = dims ? dims[1] : 0;
    spans[4] = types ? types[0] : 0; spans[5] = types ? types[1] : 0;
    const key = this.keyIds.intern(b, spans);
    if (key === this.keys.length) {
      let name = '';
      if (ns >= 0) { try { name = String(JSON.parse(b.toString('utf8', ns, ne))); } catch { name = b.toString('utf8', ns, ne); } }
      this.keys.push({ name, dims: dims ? b.toString('utf8', dims[0], dims[1]) : '', types: types ? b.toString('utf8', types[0], types[1]) : '' });
    }
    this.thread.push(thread);
    this.start.push(start);
    this.dur.push(dur);
    this.key.push(key);
    this.ext.push(ext);
    if (this.flops && this.concrete) {
      const fl = as >= 0 ? this.flopsFinder.span(b, as, ae) : undefined;
      this.flops.push(fl ? numberAt(b, fl[0], fl[1]) : NaN);
      const ci = as >= 0 ? this.concreteFinder.span(b, as, ae) : undefined;
      let id = -1;
      if (ci) {
        const text = b.toString('utf8', ci[0], ci[1]);
        id = this.concreteIds.get(text) ?? -1;
        if (id < 0) { id = this.concreteTexts.length; this.concreteTexts.push(text); this.concreteIds.set(text, id); }
      }
      this.concrete.push(id);
    }
  }

  build(): OpRecords {
    return {
      count: this.start.length, thread: this.thread.view(), start: this.start.view(), dur: this.dur.view(), key: this.key.view(), ext: this.ext.view(),
      ...(this.flops && this.concrete ? { flops: this.flops.view(), concrete: this.concrete.view() } : {}),
    };
  }
}
