/**
 * Device activities whose duration cannot be real (analysis/suspect.ts has the rule), found in
 * the statistics records of one rank, and the records without them (`stats --drop-suspect`).
 * A stream is the device (pid) with `args.stream` where the trace has it, else its (pid, tid)
 * track: a trace that `fix` wrote keeps one stream's overlap lanes together.
 */
import { findSuspectDurations, type SuspectSlice } from './suspect.js';
import { dropDeviceRows } from './records/split.js';
import type { TraceRecords } from './records/trace-records.js';

/** The suspect device activities of one rank's records (index = row of records.device). */
export function deviceSuspects(r: TraceRecords): SuspectSlice[] {
  const d = r.device;
  if (d.count === 0) return [];
  const ids = new Map<string, number>();
  const stream = new Int32Array(d.count);
  for (let i = 0; i < d.count; i++) {
    const s = d.stream[i]!;
    const key = s === s ? `${d.pid[i]}\u0001${s}` : `t${d.thread[i]}`;
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    stream[i] = id;
  }
  return findSuspectDurations({ count: d.count, start: d.start, dur: d.dur, name: d.name, stream, names: r.names });
}

/** The records without the given device activities. */
export function withoutSuspects(r: TraceRecords, suspects: readonly SuspectSlice[]): TraceRecords {
  if (suspects.length === 0) return r;
  const drop = new Uint8Array(r.device.count);
  for (const s of suspects) drop[s.index] = 1;
  return dropDeviceRows(r, drop);
}
