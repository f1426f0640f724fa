/**
 * `--split steps:N | time:MS`: one finished trace (the output `fix` or `merge` would write) cut
 * into parts the Perfetto UI can load, `<stem>-part-NN<ext>`, in two streaming passes.
 *
 * Pass 1 reads the trace once: its first and last timestamps, the step annotations (found as
 * `stats` finds them, analysis/step-detect.ts), and each flow's (cat, id) group with its earliest
 * and latest ts (an ordinal per flow event, a few bytes each). The windows follow: `steps:N`
 * starts a part at the start of every N-th step (the earliest start of that step over all ranks),
 * so events before the first step are in part 00 and events after the last step in the last
 * part; `time:MS` starts one every MS ms from the earliest event. Pass 2 copies each event's bytes,
 * unchanged, into the part of its window:
 * - metadata (`ph: "M"`: process / thread names, labels, sort indices) goes into every part, and
 *   so do the top-level keys before and after the events (deviceProperties, distributedInfo,
 *   baseTimeNanoseconds, ...): every part labels its tracks and keeps its clock;
 * - an event with a timestamp goes to exactly one part, the one its start `ts` falls in;
 * - a flow (ph s / t / f with one cat and id: a launch arrow, a torch_npu `async_npu` pair) is
 *   kept whole: all its events go to the part of its earliest event, so no part has an arrow
 *   end without its start. An arrow from the last launch of one part to a kernel that starts in
 *   the next has both ends in the first part, where the kernel is not: Perfetto leaves that one
 *   arrow out (it binds to no slice) — the count is reported;
 * - an event with no numeric ts (other than metadata) goes to part 00.
 * Every part is written to a temp file and renamed at the end, all or none.
 */
import { promises as fsp, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { scanFile } from '../io/read.js';
import { fileSize } from '../io/source.js';
import { F, type ScanHandler, type ScannedEvent, type TopLevelEntry, type TraceShape } from '../io/scanner.js';
import { argsOf, fieldEquals, phaseOf, rawField, stringField } from '../io/fields.js';
import { OutputFile } from '../io/writer.js';
import { TraceWriter } from '../io/trace-writer.js';
import { GrowableF64, GrowableU32 } from '../model/growable.js';
import { ByteInterner } from '../model/interner.js';
import { TimeBase, durationNs } from '../model/time.js';
import { TraceforgeError } from '../errors.js';
import { Diagnostics } from '../model/diagnostics.js';
import { detectSteps, type StepDetection } from '../analysis/step-detect.js';
import type { Annotation } from '../analysis/records/annotations.js';
import { noteUiLoad, PERFETTO_UI_MEMORY_BYTES } from './ui-load.js';
import { describeSplit, type SplitSpec } from './split-spec.js';

// the spec is parsed in split-spec.ts (light: the CLI parses --split before loading this module)
export { parseSplit, describeSplit, type SplitSpec } from './split-spec.js';

/** At most this many parts: every part is an open output while pass 2 runs. */
export const MAX_PARTS = 1000;

/** Staged bytes of all open parts together (each part gets its share, 64 KiB to 1 MiB). */
const STAGE_BUDGET = 64 << 20;

const PH_M = 0x4d, PH_X = 0x58, PH_S = 0x73, PH_T = 0x74, PH_F = 0x66;

/** The extension a part keeps: `.trace.json.gz`, `.json.gz`, `.json`, `.pftrace[.gz]`, ... */
function splitName(path: string): { dir: string; stem: string; ext: string } {
  const name = basename(path);
  const m = /((\.trace)?\.(json|pftrace|perfetto-trace)(\.gz)?|\.gz)$/i.exec(name);
  const ext = m && m.index > 0 ? m[0] : '';
  return { dir: dirname(path), stem: name.slice(0, name.length - ext.length), ext };
}

/** `dir/merged.trace.json.gz`, 3, 2 -> `dir/merged-part-03.trace.json.gz`. */
export function partPath(output: string, k: number, width = 2): string {
  const { dir, stem, ext } = splitName(output);
  return join(dir, `${stem}-part-${String(k).padStart(width, '0')}${ext}`);
}

/** Digits of the part numbers for `count` parts (at least 2). */
export const partWidth = (count: number): number => Math.max(2, String(Math.max(0, count - 1)).length);

/**
 * The part files of `output` that exist (written by an earlier `--split`), by number.
 * `exclude`: paths not to list (the ones just written).
 */
export function existingParts(output: string, exclude: ReadonlySet<string> = new Set()): { k: number; path: string }[] {
  const { dir, stem, ext } = splitName(output);
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^${esc(stem)}-part-(\\d{2,})${esc(ext)}$`);
  const out: { k: number; path: string }[] = [];
  for (const n of names) {
    const m = re.exec(n);
    const p = join(dir, n);
    if (m && !exclude.has(p)) out.push({ k: Number(m[1]), path: p });
  }
  return out.sort((a, b) => a.k - b.k || a.path.localeCompare(b.path));
}

export interface SplitOptions {
  gzipLevel?: number;
  /** Files a part may not overwrite. */
  inputs?: readonly string[];
  /** Step annotations (`--step REGEX`); default: found as `stats` finds them. */
  step?: RegExp;
  /** Memory the Perfetto UI is assumed to have (the estimate's limit; tests set it small). */
  uiMemoryBytes?: number;
  /** Accept a trace cut off inside its events array: split its complete events. */
  salvage?: boolean;
  /** Progress: pass (1, 2), bytes of the trace file read in that pass, its size. */
  onProgress?: (pass: number, done: number, total: number) => void;
}

export interface PartInfo {
  path: string;
  /** Bytes on disk. */
  bytes: number;
  /** Uncompressed JSON bytes. */
  jsonBytes: number;
  /** Events routed to this part (the metadata every part carries not counted). */
  events: number;
  /** The part's window in ms from the earliest event: [start, end). The last part runs to the last event. */
  startMs: number;
  endMs: number;
  /** steps:N: the names of the first and last step of the part, and how many. */
  steps?: { first: string; last: string; count: number };
}

export interface SplitResult {
  spec: SplitSpec;
  parts: PartInfo[];
  /** Metadata events, copied into every part. */
  metadata: number;
  /** Events with a timestamp (or none), each in one part. */
  events: number;
  /** Flows (cat, id groups) whose events start in different windows: kept in the part of the earliest. */
  flowsAcross: number;
  /** steps:N: how the steps were found, and how many. */
  steps?: { detection: StepDetection; count: number };
  /** Part files of an earlier split with numbers this one did not write (left as they are). */
  stale: string[];
  /** `perfetto_ui_memory` for parts that still look too big for the UI. */
  diagnostics: Diagnostics;
}

/** Pass 1: clock, step annotations, flow groups. */
class SplitIndex implements ScanHandler {
  readonly header: TopLevelEntry[] = [];
  readonly trailer: TopLevelEntry[] = [];
  readonly time = new TimeBase();
  minTs = Infinity;
  maxTs = -Infinity;
  metadata = 0;
  events = 0;
  /** (cat, id) bytes -> flow group (no string per flow event). */
  private readonly groups = new ByteInterner();
  /** Flow group of each flow event, in file order. */
  readonly flowGroup = new GrowableU32(1024);
  readonly groupMin = new GrowableF64(256);
  readonly groupMax = new GrowableF64(256);
  /** Candidate step annotations: name, start, dur and the raw pid / tid. */
  readonly anns: { name: string; start: number; dur: number; pid: string; tid: string }[] = [];
  /** thread_name per raw `pid\u0001tid`. */
  readonly threadNames = new Map<string, string>();

  constructor(private readonly step: RegExp | undefined, private readonly wantSteps: boolean) {}

  topLevel(entry: TopLevelEntry, afterEvents: boolean): void {
    (afterEvents ? this.trailer : this.header).push(entry);
  }

  event(ev: ScannedEvent): void {
    const ph = phaseOf(ev);
    if (ph === PH_M) {
      this.metadata++;
      if (this.wantSteps && fieldEquals(ev, F.name, 'thread_name')) {
        try {
          const n = argsOf(ev)?.['name'];
          if (typeof n === 'string') this.threadNames.set(`${rawField(ev, F.pid) ?? ''}\u0001${rawField(ev, F.tid) ?? ''}`, n);
        } catch { /* a broken name labels nothing */ }
      }
      return;
    }
    this.events++;
    const f = ev.f;
    const s = f[2 * F.ts]!;
    const t = s >= 0 ? this.time.ns(ev.buf, s, f[2 * F.ts + 1]!) : NaN;
    if (t === t) {
      if (t < this.minTs) this.minTs = t;
      if (t > this.maxTs) this.maxTs = t;
    }
    if (ph === PH_S || ph === PH_T || ph === PH_F) {
      // the key `check` pairs flows by: (cat, id) as written
      const cs = f[2 * F.cat]!;
      const is = f[2 * F.id]!;
      const g = this.groups.intern(ev.buf, cs < 0 ? 0 : cs, cs < 0 ? 0 : f[2 * F.cat + 1]!, is < 0 ? 0 : is, is < 0 ? 0 : f[2 * F.id + 1]!);
      if (g === this.groupMin.length) {
        this.groupMin.push(Infinity);
        this.groupMax.push(-Infinity);
      }
      this.flowGroup.push(g);
      if (t === t) {
        if (t < this.groupMin.data[g]!) this.groupMin.data[g] = t;
        if (t > this.groupMax.data[g]!) this.groupMax.data[g] = t;
      }
      return;
    }
    if (ph !== PH_X || !this.wantSteps || t !== t) return;
    if (fieldEquals(ev, F.cat, 'gpu_user_annotation')) return;
    // CPU annotations (steps, layers), cpu_ops named ProfilerStep#N (torch_npu), and with --step
    // any CPU slice whose name matches it
    let keep = fieldEquals(ev, F.cat, 'user_annotation') || startsWith(ev, F.name, '"ProfilerStep#');
    let name: string | undefined;
    if (!keep && this.step) {
      name = stringField(ev, F.name);
      keep = name !== undefined && this.step.test(name);
    }
    if (!keep) return;
    name ??= stringField(ev, F.name);
    if (name === undefined) return;
    const ds = f[2 * F.dur]!;
    const d = ds >= 0 ? durationNs(ev.buf, ds, f[2 * F.dur + 1]!) : 0;
    this.anns.push({ name, start: t, dur: d === d && d > 0 ? d : 0, pid: rawField(ev, F.pid) ?? '', tid: rawField(ev, F.tid) ?? '' });
  }

  get flowGroups(): number { return this.groupMin.length; }
}

function startsWith(ev: ScannedEvent, fid: number, prefix: string): boolean {
  const s = ev.f[2 * fid]!;
  if (s < 0 || ev.f[2 * fid + 1]! - s < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (ev.buf[s + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

const LANE_SUFFIX = / \((overlap \d+|suspect duration(, overlap \d+)?)\)$/;
const displayRaw = (raw: string): string => (raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);

interface Step { name: string; start: number }

/**
 * The steps of the trace, earliest first: detection per process (a merged trace's ranks are
 * processes of their own), the overlap lanes of `fix` counted as their thread; one step is one
 * name over all processes (`decode_step_3` of every rank), starting at its earliest start.
 */
function findSteps(idx: SplitIndex, explicit: RegExp | undefined): { detection: StepDetection; steps: Step[] } {
  const byPid = new Map<string, number>();
  const threads = new Map<string, number>();
  const ranks: Annotation[][] = [];
  for (const a of idx.anns) {
    let k = byPid.get(a.pid);
    if (k === undefined) { k = ranks.length; byPid.set(a.pid, k); ranks.push([]); }
    const tname = idx.threadNames.get(`${a.pid}\u0001${a.tid}`);
    const base = tname !== undefined ? tname.trimEnd().replace(LANE_SUFFIX, '') : undefined;
    const tkey = `${a.pid}\u0001${base || displayRaw(a.tid)}`;
    let th = threads.get(tkey);
    if (th === undefined) { th = threads.size; threads.set(tkey, th); }
    ranks[k]!.push({ name: a.name, start: a.start, dur: a.dur, pid: k, thread: th, ext: NaN, gpu: false });
  }
  const detection = detectSteps(ranks, explicit);
  if (!detection.pattern) return { detection, steps: [] };
  const re = detection.pattern;
  const steps = new Map<string, Step>();
  for (const anns of ranks) {
    const mine = anns.filter((a) => re.test(a.name)).sort((a, b) => a.start - b.start);
    // a step is known by its name when names differ within a process, else by its position
    const unique = new Set(mine.map((a) => a.name)).size === mine.length;
    mine.forEach((a, i) => {
      const id = unique ? `n:${a.name}` : `#${i}`;
      const s = steps.get(id);
      if (!s) steps.set(id, { name: a.name, start: a.start });
      else if (a.start < s.start) s.start = a.start;
    });
  }
  return { detection, steps: [...steps.values()].sort((a, b) => a.start - b.start) };
}

/** Number of boundaries <= t: the part of an event starting at t. */
function partOf(bounds: Float64Array, t: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (bounds[m]! <= t) lo = m + 1; else hi = m;
  }
  return lo;
}

/**
 * Splits the Chrome-trace JSON `input` into parts named after `output` (see partPath). `input` is
 * read twice; it is not changed.
 */
export async function splitTrace(input: string, output: string, spec: SplitSpec, opts: SplitOptions = {}): Promise<SplitResult> {
  if (output === '-') throw new TraceforgeError('E_USAGE', '--split writes one file per part: give an output file name (-o), not stdout');
  const total = fileSize(input);
  const idx = new SplitIndex(opts.step, spec.by === 'steps');
  const p1 = await scanFile(input, idx, { salvage: opts.salvage ?? false, afterChunk: (_b, c) => opts.onProgress?.(1, c, total) });
  const t0 = Number.isFinite(idx.minTs) ? idx.minTs : 0;
  const tEnd = Number.isFinite(idx.maxTs) ? idx.maxTs : t0;

  // the windows: boundaries (ns on pass 1's clock) where parts 1.. start
  let bounds: number[] = [];
  let stepInfo: { detection: StepDetection; count: number } | undefined;
  let stepParts: PartInfo['steps'][] | undefined;
  if (spec.by === 'steps') {
    const { detection, steps } = findSteps(idx, opts.step);
    if (steps.length === 0) {
      throw new TraceforgeError('E_NOT_FOUND', `--split ${describeSplit(spec)}: ${input === '-' ? 'the trace' : basename(input)} has no steps to split at (${detection.description}); name them with --step REGEX, or split by time:MS`);
    }
    stepInfo = { detection, count: steps.length };
    const parts = Math.ceil(steps.length / spec.steps);
    if (parts > MAX_PARTS) throw tooMany(spec, parts);
    stepParts = [];
    for (let k = 0; k < parts; k++) {
      if (k > 0) bounds.push(steps[k * spec.steps]!.start);
      const last = Math.min(steps.length, (k + 1) * spec.steps) - 1;
      stepParts.push({ first: steps[k * spec.steps]!.name, last: steps[last]!.name, count: last - k * spec.steps + 1 });
    }
  } else {
    const w = spec.ms * 1e6;
    const parts = Math.floor((tEnd - t0) / w) + 1;
    if (!(parts <= MAX_PARTS)) throw tooMany(spec, parts);
    for (let k = 1; k < parts; k++) bounds.push(t0 + k * w);
    bounds = bounds.filter((b) => b <= tEnd); // float rounding at the very end
  }
  const B = Float64Array.from(bounds);
  const count = B.length + 1;
  const width = partWidth(count);
  const groupPart = new Uint32Array(idx.flowGroups);
  let flowsAcross = 0;
  for (let g = 0; g < idx.flowGroups; g++) {
    const lo = idx.groupMin.data[g]!;
    if (!Number.isFinite(lo)) continue; // no ts at all: part 00, with the other events without one
    groupPart[g] = partOf(B, lo);
    if (partOf(B, idx.groupMax.data[g]!) !== groupPart[g]) flowsAcross++;
  }
  const flowGroup = idx.flowGroup.view();

  // pass 2: route every event; metadata into every part
  const paths = Array.from({ length: count }, (_, k) => partPath(output, k, width));
  const stageBytes = Math.max(64 << 10, Math.min(1 << 20, Math.floor(STAGE_BUDGET / count)));
  const outs: OutputFile[] = [];
  const committed: string[] = [];
  try {
    for (const p of paths) outs.push(await OutputFile.open(p, { gzipLevel: opts.gzipLevel, inputs: [...(opts.inputs ?? []), input], stageBytes }));
    const shape: TraceShape = p1.shape;
    const writers = outs.map((o) => new TraceWriter(o, shape));
    for (const w of writers) w.begin(idx.header);
    const routed = new Float64Array(count);
    const time = new TimeBase();
    time.baseUs = idx.time.baseUs; // the same clock as pass 1, whatever event comes first
    let fi = 0;
    await scanFile(input, {
      event(ev) {
        const ph = phaseOf(ev);
        if (ph === PH_M) {
          for (const w of writers) w.event(ev.buf, ev.start, ev.end);
          return;
        }
        let k = 0;
        if (ph === PH_S || ph === PH_T || ph === PH_F) k = groupPart[flowGroup[fi++]!]!;
        else {
          const s = ev.f[2 * F.ts]!;
          const t = s >= 0 ? time.ns(ev.buf, s, ev.f[2 * F.ts + 1]!) : NaN;
          if (t === t) k = partOf(B, t);
        }
        writers[k]!.event(ev.buf, ev.start, ev.end);
        routed[k]!++;
      },
    }, {
      salvage: opts.salvage ?? false,
      afterChunk: async (_b, c) => {
        opts.onProgress?.(2, c, total);
        for (const o of outs) await o.ready();
      },
    });
    for (const w of writers) w.end(idx.trailer);
    const diagnostics = new Diagnostics();
    const parts: PartInfo[] = [];
    for (let k = 0; k < count; k++) {
      const o = outs[k]!;
      const jsonBytes = o.bytesWritten;
      const bytes = await o.commit();
      committed.push(paths[k]!);
      noteUiLoad(paths[k]!, jsonBytes, diagnostics, opts.uiMemoryBytes ?? PERFETTO_UI_MEMORY_BYTES);
      const ms = (t: number): number => Math.round(t - t0) / 1e6;
      parts.push({
        path: paths[k]!, bytes, jsonBytes, events: routed[k]!,
        startMs: k === 0 ? 0 : ms(B[k - 1]!), endMs: k === count - 1 ? ms(tEnd) : ms(B[k]!),
        ...(stepParts ? { steps: stepParts[k]! } : {}),
      });
    }
    const written = new Set(paths);
    return {
      spec, parts, metadata: idx.metadata, events: idx.events, flowsAcross,
      ...(stepInfo ? { steps: stepInfo } : {}),
      stale: existingParts(output, written).map((x) => x.path),
      diagnostics,
    };
  } catch (e) {
    // all or none: drop the temp files, and the parts already renamed into place
    await Promise.all(outs.map((o) => o.abort()));
    await Promise.all(committed.map((p) => fsp.rm(p, { force: true })));
    throw e;
  }
}

function tooMany(spec: SplitSpec, parts: number): TraceforgeError {
  return new TraceforgeError('E_USAGE', `--split ${describeSplit(spec)} would make ${parts.toLocaleString('en-US')} parts (at most ${MAX_PARTS.toLocaleString('en-US')}): ${spec.by === 'steps' ? 'put more steps in a part' : 'use longer windows'}`);
}
