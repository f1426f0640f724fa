/**
 * `info`: what a profile is — vendor, devices, profiler level, ranks, steps, time span, event
 * counts by phase and category, and (Ascend) which files the profile directory holds. Every
 * trace is read once as a stream (a few counters per event); nothing is held in memory.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { scanFile } from '../io/read.js';
import { F, type ScannedEvent, type TopLevelEntry } from '../io/scanner.js';
import { argsOf, phaseOf } from '../io/fields.js';
import { TraceforgeError } from '../errors.js';
import { ascendProfileOf, type AscendProfile } from '../formats/ascend.js';
import { readKernelDetails, readStepTraceTime } from '../formats/ascend-csv.js';
import { ProfileDb, readDbKernelDetails } from '../formats/ascend-db.js';
import { discoverInputs } from '../formats/discover.js';
import { rankFromLooseName } from '../formats/filenames.js';
import { detectSteps } from '../analysis/step-detect.js';
import type { Annotation } from '../analysis/records/trace-records.js';
import { GraphCallCounter, type GraphInfo } from './graph-sources.js';

export type Vendor = 'Ascend' | 'NVIDIA' | 'AMD' | 'unknown';

export interface FileEntry { name: string; bytes: number; dir: boolean }

export interface AscendInfo {
  /** The `*_ascend_pt` directory. */
  root: string;
  /** Its ASCEND_PROFILER_OUTPUT directory. */
  output: string;
  /** Files of ASCEND_PROFILER_OUTPUT with their sizes, by name. */
  files: FileEntry[];
  /** Entries of the profile directory itself (profiler_info_N.json, FRAMEWORK/, PROF_*, ...). */
  rootEntries: FileEntry[];
  /** kernel_details.csv has Input Shapes (Level 1 and above); null when the file is missing. */
  hasShapes: boolean | null;
  /** Rows of kernel_details.csv (device tasks); null when the file is missing. */
  kernels: number | null;
  /** Newer torch_npu versions write an empty analyse.done when parsing finished. */
  analyseDone: boolean;
  /** The Db export: its file, META_DATA schema version and tables (the trace read is its conversion). */
  db?: { file: string; schemaVersion: string | null; tables: string[] };
  /** No trace_view.json and no .db: what the directory's files can and cannot answer. */
  partial?: string;
}

export interface StepsInfo {
  /** Where the steps came from. */
  source: 'step_trace_time.csv' | 'ProfilerStep' | 'annotations' | 'none';
  /** Step numbers, ascending. */
  ids: number[];
  /** source 'annotations': the family of numbered annotations found (analysis/step-detect.ts). */
  pattern?: string;
}

export interface TimeInfo {
  /** Earliest ts as written (µs). */
  firstTs: string;
  /** Latest ts + dur (µs), exact decimal. */
  lastEnd: string;
  /** lastEnd - firstTs in µs. */
  spanUs: number;
  /** Absolute start (ns since the epoch) when the trace says it, else null. */
  startEpochNs: string | null;
}

export interface ProcessInfo { pid: string; name: string | null; labels: string | null; events: number }

export interface TraceInfo {
  /** The trace file read. */
  file: string;
  /** Rank label (RANK00, TP01, ...) or the file name. */
  label: string;
  rank: number | null;
  /** `torch_npu` (trace_view.json) or `kineto` (PyTorch profiler). */
  format: 'torch_npu' | 'kineto';
  shape: 'object' | 'array';
  vendor: Vendor;
  /** Devices the trace has events on (`GPU 0: NVIDIA H200`, `NPU 1`), else all it describes. */
  devices: string[];
  /** Ascend profiler level (`Level0`, `Level1`, `Level2`), from profiler_info. */
  profilerLevel: string | null;
  steps: StepsInfo;
  /** Null when no event has a ts. */
  time: TimeInfo | null;
  events: { total: number; byPhase: Record<string, number>; byCategory: Record<string, number> };
  processes: ProcessInfo[];
  /** Decompressed bytes of the trace, and the size on disk. */
  bytes: number;
  fileBytes: number;
  /** Top-level keys of an object-form trace other than traceEvents. */
  topLevelKeys: string[];
  ascend?: AscendInfo;
  /** CUDA/HIP graphs: a replay, a capture or eager, and the capture traces found next to a replay. */
  graphs: GraphInfo;
}

export interface InfoResult {
  input: string;
  /** `trace`: one file; `ascend-profile`: one torch_npu directory; `ranks`: a directory of ranks. */
  kind: 'trace' | 'ascend-profile' | 'ranks';
  /** The traces' vendor, or `mixed`. */
  vendor: Vendor | 'mixed';
  traces: TraceInfo[];
  notes: string[];
}

// ---------------------------------------------------------------------------------------------
// Exact decimal time (fs = 1e-9 µs), for the first and last instants only

const FS_PER_US = 1_000_000_000n;

function decimalFs(text: string): bigint | null {
  const m = /^(-?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return null;
  const frac = m[3] ?? '';
  const exp = Number(m[4] ?? '0') - frac.length + 9;
  let v = BigInt(m[2]! + frac);
  v = exp >= 0 ? v * 10n ** BigInt(exp) : v / 10n ** BigInt(-exp);
  return m[1] === '-' ? -v : v;
}

function fsText(v: bigint): string {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const int = a / FS_PER_US;
  const frac = (a % FS_PER_US).toString().padStart(9, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${int}${frac ? '.' + frac : ''}`;
}

// ---------------------------------------------------------------------------------------------
// One streaming pass

const STEP_PREFIX = Buffer.from('"ProfilerStep#');

function startsWith(b: Buffer, s: number, e: number, p: Buffer): boolean {
  if (e - s < p.length) return false;
  for (let i = 0; i < p.length; i++) if (b[s + i] !== p[i]) return false;
  return true;
}

function unquoted(b: Buffer, s: number, e: number): string {
  return b[s] === 0x22 ? b.toString('utf8', s + 1, e - 1) : b.toString('utf8', s, e);
}

class InfoPass {
  total = 0;
  readonly graphCalls = new GraphCallCounter();
  readonly phases = new Map<string, number>();
  readonly cats = new Map<string, number>();
  readonly procNames = new Map<string, string>();
  readonly procLabels = new Map<string, string>();
  readonly pidEvents = new Map<string, number>();
  readonly steps = new Set<number>();
  /** CPU user annotations (times in µs as doubles: enough to find a step family). */
  readonly annotations: Annotation[] = [];
  private readonly tids = new Map<string, number>();
  readonly top = new Map<string, string>();
  // earliest / latest, as doubles (to pick candidates) and exact (fs)
  private minD = Infinity;
  private maxD = -Infinity;
  minFs: bigint | null = null;
  maxFs: bigint | null = null;
  minText = '';

  private annotation(ev: ScannedEvent, pid: string, ts: number): void {
    const f = ev.f;
    const ds = f[2 * F.dur]!;
    const tsp = f[2 * F.tid]!;
    const track = `${pid}/${tsp >= 0 ? ev.buf.toString('utf8', tsp, f[2 * F.tid + 1]!) : ''}`;
    let thread = this.tids.get(track);
    if (thread === undefined) this.tids.set(track, (thread = this.tids.size));
    let name: string;
    try { name = String(JSON.parse(ev.buf.toString('utf8', f[2 * F.name]!, f[2 * F.name + 1]!))); } catch { return; }
    const dur = ds >= 0 ? Number(unquoted(ev.buf, ds, f[2 * F.dur + 1]!)) : 0;
    this.annotations.push({ name, start: ts, dur: Number.isFinite(dur) ? dur : 0, pid: 0, thread, ext: NaN, gpu: false });
  }

  topLevel(e: TopLevelEntry): void {
    this.top.set(e.key, e.rawValue.toString('utf8'));
  }

  event(ev: ScannedEvent): void {
    this.total++;
    const b = ev.buf;
    const f = ev.f;
    const ph = phaseOf(ev);
    const phKey = ph === 0 ? '(none)' : String.fromCharCode(ph);
    this.phases.set(phKey, (this.phases.get(phKey) ?? 0) + 1);
    const cs = f[2 * F.cat]!;
    if (cs >= 0) {
      const c = unquoted(b, cs, f[2 * F.cat + 1]!);
      this.cats.set(c, (this.cats.get(c) ?? 0) + 1);
      if ((c === 'cuda_runtime' || c === 'cuda_driver') && f[2 * F.name]! >= 0) this.graphCalls.add(b, f[2 * F.name]!, f[2 * F.name + 1]!);
    }
    const ps = f[2 * F.pid]!;
    const pid = ps >= 0 ? b.toString('utf8', ps, f[2 * F.pid + 1]!) : '(none)';
    if (ph === 0x4d) { // 'M'
      const ns = f[2 * F.name]!;
      if (ns < 0) return;
      const name = b.toString('utf8', ns, f[2 * F.name + 1]!);
      if (name === '"process_name"' || name === '"process_labels"') {
        const a = argsOf(ev);
        const v = name === '"process_name"' ? a?.['name'] : a?.['labels'];
        if (typeof v === 'string') (name === '"process_name"' ? this.procNames : this.procLabels).set(pid, v);
      }
      return;
    }
    this.pidEvents.set(pid, (this.pidEvents.get(pid) ?? 0) + 1);
    const ns = f[2 * F.name]!;
    if (ph === 0x58 && ns >= 0 && startsWith(b, ns, f[2 * F.name + 1]!, STEP_PREFIX)) {
      const m = /^ProfilerStep#(\d+)$/.exec(unquoted(b, ns, f[2 * F.name + 1]!));
      if (m) this.steps.add(Number(m[1]));
    }
    const ts = f[2 * F.ts]!;
    if (ts < 0) return;
    const tsText = unquoted(b, ts, f[2 * F.ts + 1]!);
    if (ph === 0x58 && ns >= 0 && cs >= 0 && f[2 * F.cat + 1]! - cs === 17 && unquoted(b, cs, f[2 * F.cat + 1]!) === 'user_annotation') this.annotation(ev, pid, Number(tsText));
    const t = Number(tsText);
    if (!Number.isFinite(t)) return;
    let end = t;
    let durText: string | undefined;
    const ds = f[2 * F.dur]!;
    if (ph === 0x58 && ds >= 0) {
      durText = unquoted(b, ds, f[2 * F.dur + 1]!);
      const d = Number(durText);
      if (Number.isFinite(d) && d > 0) end = t + d;
    }
    // Doubles resolve epoch µs to ~0.25 µs: any value within 1 µs of the best is compared exactly.
    if (t <= this.minD + 1) {
      const x = decimalFs(tsText);
      if (x !== null && (this.minFs === null || x < this.minFs)) { this.minFs = x; this.minText = tsText; }
      if (t < this.minD) this.minD = t;
    }
    if (end >= this.maxD - 1) {
      const x = decimalFs(tsText);
      const d = durText !== undefined ? decimalFs(durText) : 0n;
      if (x !== null) {
        const e = x + (d !== null && d > 0n ? d : 0n);
        if (this.maxFs === null || e > this.maxFs) this.maxFs = e;
      }
      if (end > this.maxD) this.maxD = end;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Vendor and devices

interface DeviceProp { id?: unknown; name?: unknown }

function deviceProps(top: Map<string, string>): DeviceProp[] {
  const raw = top.get('deviceProperties');
  if (raw === undefined) return [];
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v) ? v.filter((d): d is DeviceProp => d !== null && typeof d === 'object') : [];
  } catch { return []; }
}

const ASCEND_PROCESS = /^(Ascend Hardware|CANN|HCCL|Communication|Overlap Analysis|AI Core Freq)$/;

function vendorOf(p: InfoPass, ascend: boolean): Vendor {
  if (ascend || [...p.procNames.values()].some((n) => ASCEND_PROCESS.test(n))) return 'Ascend';
  for (const d of deviceProps(p.top)) {
    const name = typeof d.name === 'string' ? d.name : '';
    if (/\b(AMD|Radeon|Instinct)\b|\bMI\d{3}/i.test(name)) return 'AMD';
    if (/\b(NVIDIA|Tesla|GeForce|Quadro|RTX)\b|\b[ABHL]\d{2,3}\b|\bGB?\d{3}\b/i.test(name)) return 'NVIDIA';
  }
  if (p.top.has('roctracer_version') || p.top.has('hip_runtime_version')) return 'AMD';
  if (p.top.has('cuda_runtime_version') || p.top.has('cupti_version') || p.top.has('cuda_driver_version')) return 'NVIDIA';
  return 'unknown';
}

function devicesOf(p: InfoPass, vendor: Vendor): string[] {
  if (vendor === 'Ascend') {
    // Device pids are (host_pid << 10) | (sort_index << 5) | device_id (FORMATS.md §2).
    const ids = new Set<number>();
    for (const [pid, name] of p.procNames) {
      if (name !== 'Ascend Hardware') continue;
      const n = Number(pid);
      if (Number.isSafeInteger(n) && n >= 0) ids.add(n % 32);
    }
    return [...ids].sort((a, b) => a - b).map((i) => `NPU ${i}`);
  }
  const props = deviceProps(p.top);
  const nameOf = (id: number): string | undefined => {
    const d = props.find((x) => Number(x.id) === id);
    return typeof d?.name === 'string' ? d.name : undefined;
  };
  const used: string[] = [];
  for (const [pid, labels] of p.procLabels) {
    const m = /^GPU (\d+)$/.exec(labels);
    if (!m || !p.pidEvents.has(pid)) continue;
    const id = Number(m[1]);
    const name = nameOf(id);
    used.push(`GPU ${id}${name !== undefined ? `: ${name}` : ''}`);
  }
  if (used.length > 0) return used.sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
  return props.map((d) => `GPU ${String(d.id)}${typeof d.name === 'string' ? `: ${d.name}` : ''}`);
}

// ---------------------------------------------------------------------------------------------
// Ascend directory contents

function entries(dir: string): FileEntry[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  return names.sort().map((name) => {
    try {
      const st = statSync(join(dir, name));
      return { name, bytes: st.isDirectory() ? 0 : st.size, dir: st.isDirectory() };
    } catch {
      return { name, bytes: 0, dir: false };
    }
  });
}

function ascendInfo(p: AscendProfile): AscendInfo {
  let hasShapes: boolean | null = null;
  let kernels: number | null = null;
  try {
    const kd = p.db !== undefined ? readDbKernelDetails(p.db) : readKernelDetails(p.output);
    hasShapes = kd.hasShapes;
    kernels = kd.rows.length;
  } catch (e) {
    if (!(e instanceof TraceforgeError)) throw e;
  }
  const rootEntries = entries(p.root);
  let db: AscendInfo['db'];
  if (p.db !== undefined) {
    const d = new ProfileDb(p.db);
    try { db = { file: p.db, schemaVersion: d.schemaVersion() ?? null, tables: [...d.tables.keys()].sort() }; } finally { d.close(); }
  }
  return {
    ...(db ? { db } : {}),
    ...(p.partial ? { partial: 'no trace_view.json and no .db: no device timeline, processes or steps from a trace; stats --by kernel,op,op-type read kernel_details.csv' } : {}),
    root: p.root, output: p.output, files: entries(p.output), rootEntries, hasShapes, kernels,
    analyseDone: rootEntries.some((e) => e.name === 'analyse.done'),
  };
}

function stepsOf(p: InfoPass, profile: AscendProfile | undefined): StepsInfo {
  if (profile) {
    try {
      const rows = readStepTraceTime(profile.output);
      const ids = [...new Set(rows.map((r) => Number(r.step)).filter((n) => Number.isInteger(n)))].sort((a, b) => a - b);
      if (ids.length > 0) return { source: 'step_trace_time.csv', ids };
    } catch (e) {
      if (!(e instanceof TraceforgeError)) throw e;
    }
  }
  const ids = [...p.steps].sort((a, b) => a - b);
  if (ids.length > 0) return { source: 'ProfilerStep', ids };
  const found = detectSteps([p.annotations]);
  if (found.how !== 'family' || !found.pattern) return { source: 'none', ids: [] };
  const re = new RegExp(found.pattern.source.replace('\\d+', '(\\d+)'));
  const nums = p.annotations.map((a) => re.exec(a.name)?.[1]).filter((x): x is string => x !== undefined).map(Number);
  return { source: 'annotations', ids: [...new Set(nums)].sort((a, b) => a - b), pattern: found.pattern.source };
}

function epochStartNs(p: InfoPass, ascend: boolean): string | null {
  if (p.minFs === null) return null;
  const firstNs = p.minFs / 1_000_000n; // fs -> ns (truncated)
  const baseRaw = p.top.get('baseTimeNanoseconds')?.replace(/^"|"$/g, '');
  if (baseRaw !== undefined && /^\d+$/.test(baseRaw)) return (BigInt(baseRaw) + firstNs).toString();
  // Epoch µs written directly (torch_npu, old Kineto): anything after 2001-09-09 (1e15 µs).
  if (ascend || p.minFs >= 10n ** 15n * FS_PER_US) return firstNs.toString();
  return null;
}

// ---------------------------------------------------------------------------------------------

interface Target { file: string; label?: string; rank: number | null; profile?: AscendProfile }

async function traceInfo(t: Target): Promise<TraceInfo> {
  const pass = new InfoPass();
  const r = t.profile?.partial ? { bytes: 0, shape: 'array' as const } : await scanFile(t.file, { topLevel: (e) => pass.topLevel(e), event: (ev) => pass.event(ev) });
  const ascend = t.profile !== undefined;
  const vendor = vendorOf(pass, ascend);
  const di = pass.top.get('distributedInfo');
  let rank = t.rank;
  if (di !== undefined) {
    try {
      const v = (JSON.parse(di) as { rank?: unknown }).rank;
      if (typeof v === 'number' && Number.isInteger(v)) rank = v;
    } catch { /* not JSON: ignored */ }
  }
  if (rank === null) rank = rankFromLooseName(basename(t.file));
  const label = t.label ?? (rank !== null ? `RANK${String(rank).padStart(2, '0')}` : basename(t.file));
  const processes: ProcessInfo[] = [...new Set([...pass.procNames.keys(), ...pass.pidEvents.keys()])].map((pid) => ({
    pid: pid.startsWith('"') ? (JSON.parse(pid) as string) : pid,
    name: pass.procNames.get(pid) ?? null,
    labels: pass.procLabels.get(pid) ?? null,
    events: pass.pidEvents.get(pid) ?? 0,
  }));
  const time: TimeInfo | null = pass.minFs === null || pass.maxFs === null ? null : {
    firstTs: pass.minText,
    lastEnd: fsText(pass.maxFs),
    spanUs: Number(pass.maxFs - pass.minFs) / 1e9,
    startEpochNs: epochStartNs(pass, ascend),
  };
  let fileBytes = 0;
  try { fileBytes = statSync(t.file).size; } catch { /* stdin */ }
  const sortRec = (m: Map<string, number>): Record<string, number> =>
    Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
  return {
    file: t.profile?.db ?? (t.profile?.partial ? t.profile.output : t.file), label, rank,
    format: ascend || (r.shape === 'array' && vendor === 'Ascend') ? 'torch_npu' : 'kineto',
    shape: r.shape, vendor, devices: devicesOf(pass, vendor),
    profilerLevel: t.profile?.level ?? null,
    steps: stepsOf(pass, t.profile),
    time,
    events: { total: pass.total, byPhase: sortRec(pass.phases), byCategory: sortRec(pass.cats) },
    processes, bytes: r.bytes, fileBytes,
    topLevelKeys: [...pass.top.keys()],
    ...(t.profile ? { ascend: ascendInfo(t.profile) } : {}),
    graphs: pass.graphCalls.info(t.file),
  };
}

/** What `path` holds: a trace file, a torch_npu profile directory, or a directory of ranks. */
export async function infoOf(path: string): Promise<InfoResult> {
  let st;
  try { st = statSync(path); } catch {
    throw new TraceforgeError('E_INPUT', `${path}: no such file or directory`, path);
  }
  const notes: string[] = [];
  const profile = ascendProfileOf(path);
  let kind: InfoResult['kind'];
  const targets: Target[] = [];
  if (profile) {
    kind = 'ascend-profile';
    targets.push({ file: profile.trace, rank: profile.rank, profile });
  } else if (!st.isDirectory()) {
    kind = 'trace';
    targets.push({ file: path, rank: null });
  } else {
    kind = 'ranks';
    const found = await discoverInputs([path]);
    if (found.profileChoice) notes.push(found.profileChoice.message);
    const several = found.groups.length > 1;
    for (const g of found.groups) {
      for (const f of g.files) targets.push({ file: f.path, label: (several ? `${g.stage ?? g.profileId}:` : '') + f.label, rank: null });
    }
    for (const l of found.loose) {
      if (l.kind === 'ascend-dir') {
        const p = ascendProfileOf(l.path);
        if (!p) { notes.push(`${l.path}: no ASCEND_PROFILER_OUTPUT/trace_view.json; skipped`); continue; }
        targets.push({ file: p.trace, rank: p.rank, profile: p });
      } else {
        targets.push({ file: l.path, rank: l.rank });
      }
    }
    if (found.ignored.length > 0) notes.push(`skipped ${found.ignored.length} file(s) that are not traces: ${found.ignored.map((p) => basename(p)).slice(0, 5).join(', ')}${found.ignored.length > 5 ? ', ...' : ''}`);
  }
  const traces: TraceInfo[] = [];
  for (const t of targets) traces.push(await traceInfo(t));
  if (kind === 'ranks' && targets.every((t) => t.label === undefined)) {
    // loose files and torch_npu directories: by rank (known after reading), unknown ranks last
    traces.sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  }
  const vendors = new Set(traces.map((t) => t.vendor));
  return { input: path, kind, vendor: vendors.size === 1 ? [...vendors][0]! : vendors.size === 0 ? 'unknown' : 'mixed', traces, notes };
}
