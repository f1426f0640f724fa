/**
 * What the launch links of the idle and launch views leave unexplained, named rather than
 * hidden: device activities whose correlation id no launch call carries
 * (`device_activity_unmatched_launch`), activities that start before their own launch call —
 * clocks that disagree (`activity_before_launch`), torch_npu tasks not linked to a launch
 * (`npu_task_unmatched_launch`), and notes for what cannot be linked at all. Reads the linked
 * ranks (analysis/idle-view.ts `linkRanks`); returns a fresh Diagnostics and the notes.
 */
import { Diagnostics } from '../model/diagnostics.js';
import type { LinkedRank } from './idle-view.js';

export interface LaunchDiagnostics {
  diagnostics: Diagnostics;
  /** Whether any diagnostic was added. */
  any: boolean;
  notes: string[];
}

/** Examples of activities before their launch kept (the count covers all). */
const EXAMPLES = 3;

export function launchDiagnostics(linked: readonly LinkedRank[]): LaunchDiagnostics {
  const diagnostics = new Diagnostics();
  const notes: string[] = [];
  let unmatched = 0;
  let noCorrelation = 0;
  let npuUnmatched = 0;
  let early = 0;
  const npuLinked: string[] = [];
  for (const x of linked) {
    const r = x.rank.records;
    const where = x.rank.label ? `${x.rank.label}, ` : '';
    const example = (i: number, detail: string): { file: string; index: number; name: string | undefined; detail: string } =>
      ({ file: x.rank.file, index: -1, name: r.names[r.device.name[i]!], detail: where + detail });
    if (x.links && r.launches) {
      const d = r.device;
      const l = r.launches;
      const of = x.links.launchOf;
      for (let i = 0; i < of.length; i++) {
        const k = of[i]!;
        if (k < 0 || !(d.start[i]! < l.start[k]!)) continue;
        if (early++ < EXAMPLES) diagnostics.add('activity_before_launch', example(i, `starts ${((l.start[k]! - d.start[i]!) / 1000).toFixed(3)} µs before ${r.apiNames[l.name[k]!]}`), 0);
      }
    }
    if (x.npu && x.links) {
      // torch_npu: every unmatched task is named, with or without a connection_id
      const v = x.links.via;
      if (v) npuLinked.push(`${x.rank.label}: ${v.correlation} by connection_id, ${v.hostToDevice} by HostToDevice flow, ${v.taskQueue} by torch_to_npu flow + task queue, ${x.links.unmatched} unmatched`);
      npuUnmatched += x.links.unmatched;
      const corr = r.device.corr;
      for (const i of x.links.unmatchedExamples) {
        diagnostics.add('npu_task_unmatched_launch', example(i, corr[i] === corr[i] ? `connection_id ${corr[i]}` : 'no connection_id'), 0);
      }
      continue;
    }
    if (!x.links || x.links.unmatched === 0) continue;
    // a correlation id that no call carries is a data problem; no id at all means the trace does not link launches
    unmatched += x.links.unmatched - x.links.withoutCorrelation;
    noCorrelation += x.links.withoutCorrelation;
    const corr = r.device.corr;
    for (const i of x.links.unmatchedExamples) {
      if (corr[i] !== corr[i]) continue;
      diagnostics.add('device_activity_unmatched_launch', example(i, `correlation ${corr[i]}`), 0);
    }
  }
  if (unmatched > 0) diagnostics.add('device_activity_unmatched_launch', undefined, unmatched);
  if (npuUnmatched > 0) diagnostics.add('npu_task_unmatched_launch', undefined, npuUnmatched);
  if (early > 0) diagnostics.add('activity_before_launch', undefined, early);
  if (noCorrelation > 0) notes.push(`idle and launch views: ${noCorrelation} device activities carry no correlation id, so their launch calls are unknown (their gaps count as other)`);
  if (npuLinked.length > 0) notes.push(`idle and launch views: torch_npu device tasks linked to their launch (${npuLinked.join('; ')})`);
  const npuLabels = linked.filter((x) => !x.links).map((x) => x.rank.label);
  if (npuLabels.length > 0) notes.push(`idle and launch views: not available for torch_npu rank(s) ${npuLabels.join(', ')} (the trace has no CANN calls and no torch_to_npu / HostToDevice flows to link its device tasks to launches)`);
  return { diagnostics, any: unmatched > 0 || npuUnmatched > 0 || early > 0, notes };
}
