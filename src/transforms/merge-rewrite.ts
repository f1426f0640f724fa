/**
 * Pass 2 of `merge` for one rank: decides whether each event is kept (filters) and which byte
 * patches give it its merged identity (pid, lane tid, shifted ts, per-rank ids, labels).
 */
import { F, type ScannedEvent } from '../io/scanner.js';
import { fieldEquals, objectMemberSpan, objectMemberSpans, phaseOf, rawField, stringField } from '../io/fields.js';
import type { Patch } from '../io/trace-writer.js';
import { TimeBase, durationNs } from '../model/time.js';
import { Normalizer } from './normalize.js';
import { KIND_FLOW, KIND_META, KIND_SLICE, eventKind } from '../formats/trace-index.js';
import { renderMeta } from './fix-plan.js';
import type { ProcessPlan, RankPlan } from './merge-plan.js';
import { ByteInterner } from '../model/interner.js';

export type TrackFilter = 'all' | 'gpu' | 'cpu';

export interface EventFilters {
  tracks: TrackFilter;
  /** Window in ns from the earliest event of all ranks: [start, end]. */
  window?: [number, number];
  match?: (name: string | undefined) => boolean;
}

/** `/^-?\d+$/` without a regex (merge's splice asks it of every id). */
function isDecimalInteger(s: string): boolean {
  const n = s.length;
  let i = n > 0 && s.charCodeAt(0) === 0x2d ? 1 : 0;
  if (i === n) return false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Adds an integer offset to an integer id's JSON text, exactly; strings get a rank prefix. */
export function offsetId(raw: string, offset: bigint, k: number): string {
  if (offset === 0n) return raw;
  if (isDecimalInteger(raw)) {
    // exact in doubles while both stay below 2^53 (ids of up to 15 digits, offsets k * 10^10)
    const n = Number(raw);
    const o = Number(offset);
    if (raw.length <= 15 && Number.isSafeInteger(n + o) && Number.isSafeInteger(o)) return String(n + o);
    return (BigInt(raw) + offset).toString();
  }
  if (raw.startsWith('"')) return JSON.stringify(`r${k}:${JSON.parse(raw) as string}`);
  return raw;
}

const ID_ARGS = ['correlation', 'External id', 'external id'].map((k) => Buffer.from(k));

export class MergeRewriter {
  private readonly time = new TimeBase();
  private slice = 0;
  private flow = 0;
  kept = 0;
  dropped = 0;

  private readonly norm: Normalizer;
  private readonly idSpans = new Int32Array(2 * ID_ARGS.length);

  constructor(private readonly plan: RankPlan, private readonly filters: EventFilters) {
    this.norm = new Normalizer({
      shiftNs: plan.tsShiftNs,
      unquote: plan.scan.stringTs,
      renumberFlows: plan.scan.unsafeFlowIds,
      idBase: Number(plan.idOffset),
    });
  }

  /** The process plan of the event's pid, found by its bytes (no string per event). */
  private processOf(ev: ScannedEvent): (ProcessPlan & { raw: string }) | undefined {
    const s = ev.f[2 * F.pid]!;
    if (s < 0) return undefined;
    const id = this.pidKeys.intern(ev.buf, s, ev.f[2 * F.pid + 1]!);
    if (id === this.pidPlans.length) {
      const raw = ev.buf.toString('utf8', s, ev.f[2 * F.pid + 1]!);
      const p = this.plan.pids.get(raw);
      this.pidPlans.push(p ? { ...p, raw } : undefined);
    }
    return this.pidPlans[id];
  }
  private readonly pidKeys = new ByteInterner();
  private readonly pidPlans: ((ProcessPlan & { raw: string }) | undefined)[] = [];

  /**
   * Fills `out` with the event's patches; returns false when the event is filtered out.
   * Must see every event of the rank, in order.
   */
  rewrite(ev: ScannedEvent, out: Patch[]): boolean {
    const kind = eventKind(ev, this.time);
    const scan = this.plan.scan;
    const f = ev.f;
    const b = ev.buf;
    const proc = this.processOf(ev);
    const pidRaw = proc?.raw;
    let newTid: string | undefined;
    let keep = true;
    if (kind === KIND_SLICE) {
      const i = this.slice++;
      newTid = scan.movedSlices.get(i);
      if (scan.sliceKeep && scan.sliceKeep[i] === 0) keep = false;
    } else if (kind === KIND_FLOW) {
      const i = this.flow++;
      newTid = scan.movedFlows.get(i);
      if (scan.flowKeep && scan.flowKeep[i] === 0) keep = false;
    } else if (kind !== KIND_META && this.filters.match && f[2 * F.name]! >= 0) {
      keep = this.filters.match(stringField(ev, F.name));
    }
    if (keep && this.filters.tracks !== 'all' && proc) keep = proc.gpu === (this.filters.tracks === 'gpu');
    if (keep && kind !== KIND_META && this.filters.window && f[2 * F.ts]! >= 0) {
      const t = this.time.ns(b, f[2 * F.ts]!, f[2 * F.ts + 1]!) + this.plan.originNs;
      const d = phaseOf(ev) === 0x58 && f[2 * F.dur]! >= 0 ? Math.max(0, durationNs(b, f[2 * F.dur]!, f[2 * F.dur + 1]!) || 0) : 0;
      const [ws, we] = this.filters.window;
      keep = t <= we && t + d >= ws;
    }
    if (!keep) { this.dropped++; return false; }
    this.kept++;
    const span = (fid: number, text: string): void => {
      const s = f[2 * fid]!;
      if (s >= 0) out.push({ start: s, end: f[2 * fid + 1]!, text });
    };
    if (proc) span(F.pid, String(proc.newPid));
    if (newTid !== undefined) span(F.tid, newTid);
    if (this.norm.active) this.norm.patches(ev, kind === KIND_FLOW, out);
    if (kind === KIND_META) {
      this.metadata(ev, proc?.label, pidRaw, out);
    } else if (this.plan.idOffset !== 0n) {
      if (kind === KIND_FLOW && f[2 * F.id]! >= 0 && !this.plan.scan.unsafeFlowIds) span(F.id, offsetId(rawField(ev, F.id)!, this.plan.idOffset, this.plan.k));
      const as = f[2 * F.args]!;
      if (as >= 0) {
        const spans = this.idSpans;
        // `External id` and old traces' `external id` are never both there: two keys suffice
        objectMemberSpans(b, as, f[2 * F.args + 1]!, ID_ARGS, spans, 2);
        for (let k = 0; k < ID_ARGS.length; k++) {
          const vs = spans[2 * k]!;
          if (vs >= 0) out.push({ start: vs, end: spans[2 * k + 1]!, text: offsetId(b.toString('latin1', vs, spans[2 * k + 1]!), this.plan.idOffset, this.plan.k) });
        }
      }
    }
    if (out.length > 1) out.sort((x, y) => x.start - y.start);
    return true;
  }

  private metadata(ev: ScannedEvent, label: string | undefined, pidRaw: string | undefined, out: Patch[]): void {
    const as = ev.f[2 * F.args]!;
    if (as < 0) return;
    const ae = ev.f[2 * F.args + 1]!;
    const member = (key: string, text: string): void => {
      const m = objectMemberSpan(ev.buf, as, ae, key);
      if (m) out.push({ start: m[0], end: m[1], text });
    };
    if (label !== undefined && fieldEquals(ev, F.name, 'process_name')) member('name', JSON.stringify(label));
    else if (pidRaw !== undefined && fieldEquals(ev, F.name, 'process_sort_index')) {
      const p = this.plan.pids.get(pidRaw);
      if (p) member('sort_index', String(p.newPid));
    } else if (pidRaw !== undefined && fieldEquals(ev, F.name, 'thread_sort_index')) {
      const v = this.plan.scan.threadSortRewrite.get(pidRaw + '\u0001' + (rawField(ev, F.tid) ?? ''));
      if (v !== undefined) member('sort_index', String(v));
    }
  }

  /**
   * Metadata to add after the rank's events: a name and sort index for every process (so even
   * processes the profiler never named are labelled), and the names of new lanes.
   */
  extraEvents(): string[] {
    const out: string[] = [];
    const scan = this.plan.scan;
    for (const [raw, p] of this.plan.pids) {
      if (this.filters.tracks !== 'all' && p.gpu !== (this.filters.tracks === 'gpu')) continue;
      if (!scan.processNames.has(raw)) out.push(renderMeta({ name: 'process_name', pidRaw: raw, tidRaw: '0', args: { name: p.label } }, String(p.newPid)));
      if (!scan.processSort.has(raw)) out.push(renderMeta({ name: 'process_sort_index', pidRaw: raw, tidRaw: '0', args: { sort_index: p.newPid } }, String(p.newPid)));
    }
    for (const m of scan.extraMetadata) {
      const p = this.plan.pids.get(m.pidRaw);
      if (p && (this.filters.tracks === 'all' || p.gpu === (this.filters.tracks === 'gpu'))) out.push(renderMeta(m, String(p.newPid)));
    }
    return out;
  }
}
