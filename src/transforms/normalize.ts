/**
 * Making a trace's clock and flow ids safe for viewers: `ts` as plain JSON numbers relative to a
 * base carried in the output (torch_npu writes epoch µs as strings, which lose precision as
 * doubles), and flow ids above 2^53 renumbered to small integers (JSON parsers round them, and
 * the start and end of an arrow no longer match). Every start/end pair keeps one shared id.
 */
import { F, type ScannedEvent } from '../io/scanner.js';
import type { Patch } from '../io/trace-writer.js';
import { shiftedMicrosNumber } from '../model/time.js';

export interface NormalizeOptions {
  /** ns added to every ts (negative to make absolute times relative). */
  shiftNs: bigint;
  /** Rewrite ts even without a shift when it is a string (unquote). */
  unquote: boolean;
  /** Renumber flow ids (all of them, consistently). */
  renumberFlows: boolean;
  /** Offset added to renumbered ids (per-rank uniqueness in merge). */
  idBase?: number;
}

export class Normalizer {
  private readonly ids = new Map<string, number>();
  constructor(private readonly opts: NormalizeOptions) {}

  get active(): boolean {
    return this.opts.shiftNs !== 0n || this.opts.unquote || this.opts.renumberFlows;
  }

  /** Adds patches for ts (and id of flow events, when `isFlow`). */
  patches(ev: ScannedEvent, isFlow: boolean, out: Patch[]): void {
    const f = ev.f;
    const s = f[2 * F.ts]!;
    if (s >= 0 && (this.opts.shiftNs !== 0n || (this.opts.unquote && ev.buf[s] === 0x22))) {
      out.push({ start: s, end: f[2 * F.ts + 1]!, text: shiftedMicrosNumber(ev.buf.toString('latin1', s, f[2 * F.ts + 1]!), this.opts.shiftNs) });
    }
    const is = f[2 * F.id]!;
    if (isFlow && this.opts.renumberFlows && is >= 0) {
      const raw = ev.buf.toString('latin1', is, f[2 * F.id + 1]!);
      let id = this.ids.get(raw);
      if (id === undefined) {
        id = (this.opts.idBase ?? 0) + this.ids.size + 1;
        this.ids.set(raw, id);
      }
      out.push({ start: is, end: f[2 * F.id + 1]!, text: String(id) });
    }
  }
}
