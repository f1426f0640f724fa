/**
 * CPU operators (`cat: cpu_op`, old `Operator`) with their input shapes: the op view and the
 * attribution of device time to operators read them. The key of an op is its name with the raw
 * text of `Input Dims` and `Input type`, interned from the bytes.
 */
import { F, type ScannedEvent } from '../../io/scanner.js';
import { numberAt } from '../../io/arg-spans.js';
import { argSpans } from '../../io/fields.js';
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

/** Members of a cpu_op's args read in one look-up (the External id has two spellings). */
const OP_KEYS = ['External id', 'external id', 'Input Dims', 'Input type', 'flops', 'Concrete Inputs'].map((k) => Buffer.from(k));
const A_EXT = 0, A_EXT_OLD = 1, A_DIMS = 2, A_TYPES = 3, A_FLOPS = 4, A_CONCRETE = 5;

export class OpBuilder {
  private readonly thread = new GrowableI32(4096);
  private readonly start = new GrowableF64(4096);
  private readonly dur = new GrowableF64(4096);
  private readonly key = new GrowableI32(4096);
  private readonly ext = new GrowableF64(4096);
  private readonly keyIds = new SpanInterner();
  /** For the predictor in add(): the key of the previous op, and the key seen after each key. */
  private prevKey = -1;
  private readonly nextKey: number[] = [];
  private readonly spans: number[] = [0, 0, 0, 0, 0, 0];
  private readonly a = new Int32Array(2 * OP_KEYS.length);
  readonly keys: OpKey[] = [];
  /** Distinct raw `Concrete Inputs` texts (with `args`). */
  readonly concreteTexts: string[] = [];
  private readonly flops: GrowableF64 | undefined;
  private readonly concrete: GrowableI32 | undefined;
  private readonly concreteIds = new Map<string, number>();

  /** `args`: also keep each op's `flops` and `Concrete Inputs` (the efficiency view's models read them). */
  constructor(args = false) {
    if (args) { this.flops = new GrowableF64(4096); this.concrete = new GrowableI32(4096); }
  }

  add(ev: ScannedEvent, start: number, dur: number, thread: number): void {
    const b = ev.buf;
    const f = ev.f;
    const ns = f[2 * F.name]!;
    const ne = f[2 * F.name + 1]!;
    const a = this.a;
    argSpans(ev, OP_KEYS, a);
    const ext = a[2 * A_EXT]! >= 0 ? numberAt(b, a[2 * A_EXT]!, a[2 * A_EXT + 1]!) : numberAt(b, a[2 * A_EXT_OLD]!, a[2 * A_EXT_OLD + 1]!);
    const ds = a[2 * A_DIMS]!, de = a[2 * A_DIMS + 1]!;
    const ts = a[2 * A_TYPES]!, te = a[2 * A_TYPES + 1]!;
    const spans = this.spans;
    spans[0] = ns < 0 ? 0 : ns; spans[1] = ns < 0 ? 0 : ne;
    spans[2] = ds < 0 ? 0 : ds; spans[3] = ds < 0 ? 0 : de;
    spans[4] = ts < 0 ? 0 : ts; spans[5] = ts < 0 ? 0 : te;
    // Ops come in the same order step after step: the key that followed the previous op's key
    // last time is checked first, by a compare of its bytes, before hashing (82% hits on the
    // bench trace, 304 keys for 187k ops; saves ~40 ms of the ~0.2 s that collecting ops costs).
    const guess = this.prevKey >= 0 ? this.nextKey[this.prevKey] ?? -1 : -1;
    const key = guess >= 0 && this.keyIds.matches(guess, b, spans) ? guess : this.keyIds.intern(b, spans);
    if (this.prevKey >= 0) this.nextKey[this.prevKey] = key;
    this.prevKey = key;
    if (key === this.keys.length) {
      let name = '';
      if (ns >= 0) { try { name = String(JSON.parse(b.toString('utf8', ns, ne))); } catch { name = b.toString('utf8', ns, ne); } }
      this.keys.push({ name, dims: ds >= 0 ? b.toString('utf8', ds, de) : '', types: ts >= 0 ? b.toString('utf8', ts, te) : '' });
    }
    this.thread.push(thread);
    this.start.push(start);
    this.dur.push(dur);
    this.key.push(key);
    this.ext.push(ext);
    if (this.flops && this.concrete) {
      this.flops.push(numberAt(b, a[2 * A_FLOPS]!, a[2 * A_FLOPS + 1]!));
      const cs = a[2 * A_CONCRETE]!;
      let id = -1;
      if (cs >= 0) {
        const text = b.toString('utf8', cs, a[2 * A_CONCRETE + 1]!);
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
