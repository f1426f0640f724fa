/** Report sections of the idle and launch views (see analysis/idle-view.ts). */
import { uniqueShortNames } from '../analysis/names.js';
import { IDLE_CAUSES, IDLE_CAUSE_TITLES } from '../analysis/idle.js';
import type { CauseUs } from '../analysis/idle-view.js';
import type { StatsResult } from '../analysis/result.js';
import { count, duration } from './format.js';
import { col, dur, limit, num, pct, txt } from './cells.js';
import type { Cell, Column, Section, SectionOptions } from './sections.js';


const causeCols = (): Column[] => IDLE_CAUSES.map((c, k) => col(IDLE_CAUSE_TITLES[c], `${c}Us`, 'right', { drop: k < 3 ? 0 : 10 + k }));
const causeCells = (c: CauseUs | null): Cell[] => IDLE_CAUSES.map((k) => (c ? dur(c[k]) : txt('n/a', null)));

export const IDLE_DEFINITIONS = 'host-bound: the launch of the work that ends the gap had not been issued yet; synchronization: meanwhile the launching thread sat in a sync call; '
  + 'launch latency: issued, not started; cross-stream: issued after a stream wait on work of another stream; in-graph: between kernels of one graph replay; other: no launch call in the trace';

export function idleSections(r: StatsResult, opts: SectionOptions): Section[] {
  const v = r.idle;
  if (!v) return [];
  const devices: Section = {
    view: 'idle', name: 'idle', title: 'Idle time per device, by cause',
    columns: [col('rank', 'label', 'left'), col('device', 'device', 'left', { drop: 5 }), col('window', 'windowUs', 'right', { drop: 4 }), col('idle', 'idleUs'),
      col('gaps', 'gaps', 'right', { drop: 3 }), ...causeCols(), col('unmatched', 'unmatched', 'right', { drop: 20 })],
    rows: v.devices.map((d) => [txt(d.label), txt(d.device), dur(d.windowUs), dur(d.idleUs), num(d.gaps), ...causeCells(d.causes), d.available ? num(d.unmatched) : txt('n/a', null)]),
    notes: [`idle: gaps in the union of device activity between its first start and last end; ${IDLE_DEFINITIONS}`,
      ...(v.devices.some((d) => !d.available) ? ['n/a: not available for torch_npu ranks whose trace links no launch (no CANN calls, no torch_to_npu / HostToDevice flows)'] : [])],
  };
  const out: Section[] = [devices];
  if (v.steps.length > 0) {
    out.push({
      view: 'idle', name: 'idleSteps', title: `Idle time per step, by cause${r.stepDetection ? ` (${r.stepDetection.description})` : ''}`,
      columns: [col('rank', 'label', 'left'), col('step', 'name', 'left', { shrink: true, min: 12 }), col('idle', 'idleUs'), ...causeCols()],
      rows: v.steps.map((s) => [txt(s.label), txt(s.name), dur(s.idleUs), ...causeCells(s.causes)]),
      notes: ['the idle pieces inside the step\'s CPU annotation (its GPU one when there is no CPU one)'],
    });
  }
  out.push({
    view: 'idle', name: 'idleGaps', title: 'Gaps by size',
    columns: [col('rank', 'label', 'left'), col('gap size', 'bin', 'left'), col('gaps', 'gaps'), col('idle', 'idleUs')],
    rows: v.bins.map((b) => [txt(b.label), txt(b.bin), num(b.gaps), dur(b.idleUs)]),
    notes: [],
  });
  const notes: string[] = [];
  const list = limit(v.cpu, opts.top, 'rows', notes);
  out.push({
    view: 'idle', name: 'idleCpu', title: `What the CPU was doing while the device waited for it (host-bound: ${duration(v.hostBoundUs)})`,
    columns: [col('kind', 'kind', 'left'), col('name', 'name', 'left', { shrink: true, min: 30 }), col('in stalls', 'stallUs'), col('idle covered', 'us', 'right', { drop: 3 }), col('% host-bound', 'share')],
    rows: list.map((c) => [txt(c.kind), txt(c.name), dur(c.stallUs), dur(c.us), pct(c.share)]),
    notes: [...notes, 'self time of the innermost Python function (built-in calls folded into their caller), CPU op and annotation on the launching thread; in stalls: inside gaps of 100 µs or more; Python functions first, then CPU ops, then annotations (three layers of the same time), each ranked by time in stalls, then idle covered'],
  });
  return out;
}

export function launchSections(r: StatsResult, opts: SectionOptions): Section[] {
  const v = r.launch;
  if (!v) return [];
  const notes: string[] = [];
  const list = limit(v.rows, opts.top, 'rows', notes);
  const short = opts.fullNames ? list.map((x) => x.name) : uniqueShortNames(list.map((x) => x.name));
  const rows: Section = {
    view: 'launch', name: 'launch', title: `Launch path per kernel (${count(v.calls)} launch calls)`,
    columns: [col('kernel', 'name', 'left', { shrink: true, min: 30 }), col('launches', 'calls'), col('call CPU', 'callUs'), col('delay med', 'delayMedianUs'),
      col('p90', 'delayP90Us', 'right', { drop: 3 }), col('max', 'delayMaxUs', 'right', { drop: 2 }), col('GPU', 'gpuUs'),
      col('in graph', 'inGraph', 'right', { drop: 4 }), col('flags', 'flags', 'left', { drop: 5 })],
    rows: list.map((x, i) => [txt(short[i]!, x.name), num(x.calls), dur(x.callUs), dur(x.delayMedianUs), dur(x.delayP90Us), dur(x.delayMaxUs), dur(x.gpuUs), num(x.inGraph), txt(x.flags.join(', '))]),
    notes: [...notes, 'delay: launch call start → activity start; launch-bound: most of its activities are shorter than their own launch call; delay outliers: delays over 100 µs; a graph replay is one launch for all its kernels (row "graph replay")',
      ...(v.unavailable.length > 0 ? [`not available for torch_npu rank(s) ${v.unavailable.join(', ')} (the trace links no launch)`] : [])],
  };
  const apis: Section = {
    view: 'launch', name: 'launchApis', title: 'Launch APIs',
    columns: [col('API', 'name', 'left'), col('kind', 'kind', 'left'), col('calls', 'calls'), col('call CPU', 'callUs'), col('activities', 'activities')],
    rows: v.apis.map((a) => [txt(a.name), txt(a.kind), num(a.calls), dur(a.callUs), num(a.activities)]),
    notes: [],
  };
  const queues: Section = {
    view: 'launch', name: 'launchQueues', title: 'Launch queue depth per stream (launched, not finished)',
    columns: [col('rank', 'label', 'left'), col('stream', 'stream', 'left'), col('median', 'median'), col('max', 'max')],
    rows: v.queues.map((q) => [txt(q.label), txt(q.stream), num(q.median), num(q.max)]),
    notes: ['median over time (time-weighted) from the first launch to the last end on the stream'],
  };
  return [rows, apis, queues];
}
