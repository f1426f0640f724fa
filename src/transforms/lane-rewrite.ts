/**
 * Lane patches for the full-rewrite path (events seen one by one, in file order): the new tid of
 * moved slices and flows, the new sort_index of reordered thread_sort_index metadata.
 */
import { F, type ScannedEvent } from '../io/scanner.js';
import { fieldEquals, objectMemberSpan, rawField } from '../io/fields.js';
import type { Patch } from '../io/trace-writer.js';
import { KIND_FLOW, KIND_META, KIND_SLICE, type TraceIndex } from '../formats/trace-index.js';
import { movedTid, type LanePlan } from './fix-plan.js';

export class LaneRewriter {
  private slice = 0;
  private flow = 0;

  constructor(private readonly index: TraceIndex, private readonly plan: LanePlan) {}

  /** `kind` from eventKind(); must be called for every event, in order. */
  patches(ev: ScannedEvent, kind: number, out: Patch[]): void {
    let lane = 0;
    let track = -1;
    if (kind === KIND_SLICE) {
      const i = this.slice++;
      lane = this.plan.lanes.sliceLane[i]!;
      track = this.plan.sliceTrack[i]!;
    } else if (kind === KIND_FLOW) {
      const i = this.flow++;
      lane = this.plan.lanes.flowLane[i]!;
      track = this.plan.flowTrack[i]!;
    } else if (kind === KIND_META && this.plan.sortRewrite.size > 0 && fieldEquals(ev, F.name, 'thread_sort_index')) {
      const t = this.index.findTrack(rawField(ev, F.pid) ?? '', rawField(ev, F.tid) ?? '');
      const v = t === undefined ? undefined : this.plan.sortRewrite.get(t);
      const as = ev.f[2 * F.args]!;
      if (v !== undefined && as >= 0) {
        const span = objectMemberSpan(ev.buf, as, ev.f[2 * F.args + 1]!, 'sort_index');
        if (span) out.push({ start: span[0], end: span[1], text: String(v) });
      }
      return;
    }
    if (track < 0) return;
    const tid = movedTid(this.plan, track, lane);
    const s = ev.f[2 * F.tid]!;
    if (tid !== undefined && s >= 0) out.push({ start: s, end: ev.f[2 * F.tid + 1]!, text: tid });
  }
}
