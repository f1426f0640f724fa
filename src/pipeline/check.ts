/**
 * `check`: what a viewer will get wrong in a trace — complete events that do not nest on their
 * track (Perfetto drops or spills them), device slices whose duration cannot be real, flows with
 * a missing end, unsorted tracks, events missing required fields. One streaming pass (plus a short one to name the examples).
 */
import { scanFile } from '../io/read.js';
import { F } from '../io/scanner.js';
import { rawField, stringField } from '../io/fields.js';
import { TraceIndex } from '../formats/trace-index.js';
import { findCrossings, orderByTrack } from '../transforms/lanes.js';
import { suspectSlices, trackDisplayName } from '../transforms/fix-plan.js';
import type { Diagnostics } from '../model/diagnostics.js';
import { rereadable } from './spool.js';
import { isPerfettoName } from './output-format.js';
import { perfettoAsJson } from '../formats/perfetto-read.js';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TrackCheck {
  pid: string;
  tid: string;
  name: string;
  slices: number;
  /** Slices that do not nest (Perfetto drops or spills them). */
  nonNesting: number;
  unsorted: boolean;
}

export interface CheckResult {
  file: string;
  events: number;
  slices: number;
  flows: number;
  /** Total non-nesting slices over all tracks. */
  nonNesting: number;
  /** Device slices whose duration cannot be real (`suspect_device_duration`). */
  suspectDurations: number;
  /** Tracks with a problem (non-nesting or unsorted). */
  tracks: TrackCheck[];
  diagnostics: Diagnostics;
  /** True when nothing of severity warning or error was found. */
  clean: boolean;
}

const display = (raw: string): string => (raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);

interface EventLabel { name: string | undefined; ts: string | undefined }

/** Names and ts of the events at the given indices (a second, short pass). */
async function labelEvents(path: string, wanted: Set<number>): Promise<Map<number, EventLabel>> {
  const out = new Map<number, EventLabel>();
  if (wanted.size === 0) return out;
  await scanFile(path, {
    event(ev) {
      if (wanted.has(ev.index)) out.set(ev.index, { name: stringField(ev, F.name), ts: rawField(ev, F.ts) });
    },
  });
  return out;
}

/**
 * A Perfetto TrackEvent trace (`.pftrace`, `.perfetto-trace`, optionally gzip): decoded, its
 * slices paired as trace processor pairs them and written as Chrome-trace JSON to a temp file,
 * then checked like any JSON trace, plus what only the native format can get wrong (an END
 * without a BEGIN, interned ids never defined, tracks without a descriptor).
 */
async function checkPerfetto(input: string): Promise<CheckResult> {
  const dir = await mkdtemp(join(tmpdir(), 'traceforge-check-'));
  try {
    const json = join(dir, 'decoded.json');
    const ws = createWriteStream(json);
    const stats = await perfettoAsJson(input, (t) => { ws.write(t); });
    await new Promise<void>((res, rej) => { ws.end(() => res()); ws.once('error', rej); });
    const r = await checkJson(json, input);
    const add = (n: number, name: 'perfetto_end_without_begin' | 'perfetto_begin_without_end' | 'perfetto_unknown_iid' | 'perfetto_undescribed_track'): void => {
      if (n > 0) r.diagnostics.add(name, { file: input, index: -1, detail: `${n} in ${stats.trackEvents} track events` }, n);
    };
    add(stats.endWithoutBegin, 'perfetto_end_without_begin');
    add(stats.beginWithoutEnd, 'perfetto_begin_without_end');
    add(stats.unknownIids, 'perfetto_unknown_iid');
    add(stats.undescribedTracks, 'perfetto_undescribed_track');
    r.clean = r.diagnostics.list().every((d) => d.severity === 'info');
    r.events = stats.trackEvents;
    return r;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function checkTrace(input: string): Promise<CheckResult> {
  if (input !== '-' && isPerfettoName(input)) return checkPerfetto(input);
  return checkJson(input, input === '-' ? '<stdin>' : input);
}

async function checkJson(input: string, name: string): Promise<CheckResult> {
  const src = await rereadable(input);
  try {
    const index = new TraceIndex(name, { pairFlows: true, keep: { eventIndex: true } });
    const r = await scanFile(src.path, index);
    index.reportDanglingFlows();
    const slices = index.slices();
    const n = index.tracks.length;
    const ord = orderByTrack(slices, n);
    const { perTrack, examples } = findCrossings(slices, n, ord);
    const wanted = new Set<number>();
    for (const ex of examples) for (const c of ex) { wanted.add(slices.eventIndex[c.slice]!); wanted.add(slices.eventIndex[c.other]!); }
    const labels = await labelEvents(src.path, wanted);
    const tracks: TrackCheck[] = [];
    let nonNesting = 0;
    for (let t = 0; t < n; t++) {
      const info = index.tracks[t]!;
      const count = ord.start[t + 1]! - ord.start[t]!;
      const bad = perTrack[t]!;
      const where = `pid ${display(info.pidRaw)} tid ${display(info.tidRaw)} (${trackDisplayName(info)})`;
      if (bad > 0) {
        nonNesting += bad;
        const ex = examples[t]!;
        for (const c of ex) {
          const i = slices.eventIndex[c.slice]!;
          const j = slices.eventIndex[c.other]!;
          const l = labels.get(i);
          const o = labels.get(j);
          index.diagnostics.add('slice_overlapping_complete_event', {
            file: name, index: i, name: l?.name, ts: l?.ts,
            detail: `on ${where}, crosses event #${j}${o?.name !== undefined ? ` ${JSON.stringify(o.name.length > 40 ? o.name.slice(0, 37) + '...' : o.name)}` : ''}`,
          }, 0);
        }
        index.diagnostics.add('slice_overlapping_complete_event', undefined, bad);
      }
      if (ord.unsorted[t]) index.diagnostics.add('track_unsorted', { file: name, index: -1, detail: where });
      if (bad > 0 || ord.unsorted[t]) {
        tracks.push({ pid: display(info.pidRaw), tid: display(info.tidRaw), name: trackDisplayName(info), slices: count, nonNesting: bad, unsorted: ord.unsorted[t] === 1 });
      }
    }
    const suspectDurations = suspectSlices(index).length;
    const clean = index.diagnostics.list().every((d) => d.severity === 'info');
    return { file: name, events: r.events, slices: slices.count, flows: index.flows().count, nonNesting, suspectDurations, tracks, diagnostics: index.diagnostics, clean };
  } finally {
    await src.cleanup();
  }
}
