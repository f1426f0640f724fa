/**
 * `merge`: per-rank traces into one timeline. The headers are read first (rank, clock); pass 1
 * indexes the ranks in parallel on worker threads, and a rank's pass 2 starts as soon as its pass 1
 * is done and the output's clock is known, on a core that pass 1 leaves free; the merge plan is
 * computed; the segments are written into one output in rank order, rewriting only what the merge
 * must change. Memory does not grow with trace size beyond a few bytes per
 * slice, and no rank is ever held in memory.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { statSync } from 'node:fs';
import { OutputFile, isGzipName } from '../io/writer.js';
import { TraceWriter } from '../io/trace-writer.js';
import { TraceforgeError } from '../errors.js';
import { discoverInputs, notTracesNote } from '../formats/discover.js';
import { rankFromLooseName } from '../formats/filenames.js';
import { ascendProfileOf } from '../formats/ascend.js';
import { Diagnostics } from '../model/diagnostics.js';
import type { PerfettoSummary } from '../formats/perfetto-write.js';
import { outputBase, planMerge, planRank, type MergePlan, type RankPlan } from '../transforms/merge-plan.js';
import type { TrackFilter } from '../transforms/merge-rewrite.js';
import { indexConcurrency, indexOne, type IndexFile, type IndexOutcome } from './parallel-index.js';
import { readRankHeader, type RankScan } from './rank-index.js';
import { spliceRankSegment, writeRankSegment, type SegmentRequest, type SegmentResult } from './merge-segment.js';
import { runInWorker } from './workers.js';
import { traceStem } from './names.js';
import { outputFormat, perfettoName, type OutputFormat } from './output-format.js';
// the Perfetto writer and the splitter are loaded only by the merges that use them (import())
import type { SplitResult } from './split.js';
import type { SplitSpec } from './split-spec.js';
import { fileSize, totalFileSize } from '../io/source.js';
import { estimateUiLoadBeforeWriting, noteUiLoad, PERFETTO_UI_MEMORY_BYTES, type UiLoadEstimate } from './ui-load.js';

export interface MergeWindow {
  start: number;
  end: number;
  /** false: ms from the earliest event of all ranks; true: µs in the output's ts units. */
  absolute: boolean;
}

export interface MergeRequest {
  /** Directories, files or globs. */
  inputs: string[];
  /** Output file (one group) or directory (any number of groups). */
  output?: string;
  profileId?: string;
  /** Apply the overlap fix in the same pass (default true). */
  fix?: boolean;
  window?: MergeWindow;
  tracks?: TrackFilter;
  name?: string;
  exclude?: string;
  /**
   * Keep only these ranks (rank numbers: distributedInfo.rank, else position among the files).
   * Applied before pass 1 to files whose header holds distributedInfo: the others are not read.
   */
  ranks?: number[];
  skipBad?: boolean;
  gzipLevel?: number;
  cpuFirst?: boolean;
  /**
   * Start a rank's pass 2 as soon as its pass 1 is done and the output's clock is known, while
   * other ranks are still in pass 1 (default true). false: every pass 1 first. The output is the
   * same bytes either way.
   */
  pipeline?: boolean;
  /**
   * `perfetto`: Perfetto's native TrackEvent protobuf (`merged-<id>[-STAGE].pftrace`), the
   * overlap fix as child tracks. Default: by the output's name, else JSON.
   */
  format?: OutputFormat;
  /**
   * Write one file per window instead of one file (`<stem>-part-NN<ext>`, see pipeline/split.ts):
   * `steps:N` steps per part, or `time:MS` ms per part. Each group's output is split.
   */
  split?: SplitSpec;
  /** With `split` by steps: the step annotations (`--step REGEX`); default: found as `stats` finds them. */
  step?: RegExp;
  /** Memory the Perfetto UI is assumed to have, for the load estimate of a JSON output (see pipeline/ui-load.ts). */
  uiMemoryBytes?: number;
  /**
   * Called after pass 1 of a group, before its output is written, when the JSON output (no filter:
   * every input event, about the inputs' decompressed sizes) will probably not fit the Perfetto UI.
   */
  onUiEstimate?: (estimate: UiLoadEstimate, output: string) => void;
  /** Progress: bytes of compressed input processed so far, and the total (both passes). */
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface MergedRank {
  label: string;
  file: string;
  rank: number | null;
  events: number;
  kept: number;
}

export interface MergeResult {
  output: string;
  outputBytes: number;
  ranks: MergedRank[];
  eventsIn: number;
  eventsOut: number;
  filtered: number;
  /** Window actually applied, in ms from the earliest event. */
  windowMs?: [number, number];
  skipped: { file: string; error: string }[];
  warnings: string[];
  slicesMoved: number;
  lanesAdded: number;
  /** Device slices with a duration that cannot be real, moved to "(suspect duration)" tracks by the fix. */
  suspectSlices: number;
  diagnostics: Diagnostics;
  /** For Perfetto output: what was written. */
  perfetto?: PerfettoSummary;
  /**
   * Ranks whose pass 2 started while other ranks were still in pass 1 (see MergeRequest.pipeline),
   * and how many of those segments the final plan could use as they were.
   */
  earlySegments: { started: number; used: number };
  /** With `split`: the parts (`output` is then the name they were derived from, never written). */
  split?: SplitResult;
  /** JSON output (not split): the estimate of the Perfetto UI's memory for it. */
  ui?: UiLoadEstimate;
}

export interface MergeOutcome {
  results: MergeResult[];
  /** Notes for the user (which profile id was chosen, how ranks were found). */
  notes: string[];
}

interface Job {
  files: { path: string; label?: string; nameRank?: number | null }[];
  outputName: string;
  dir: string;
  loose: boolean;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export async function mergeTraces(req: MergeRequest): Promise<MergeOutcome> {
  let format: OutputFormat;
  try { format = outputFormat(req.format, req.output); } catch (e) { throw new TraceforgeError('E_USAGE', (e as Error).message); }
  if (format === 'perfetto') return mergeToPerfetto(req);
  const found = await discoverInputs(req.inputs, req.profileId !== undefined ? { profileId: req.profileId } : {});
  const notes: string[] = [];
  if (found.profileChoice) notes.push(found.profileChoice.message.replace('Ask for another by its profile id.', 'Pick another with --profile-id.'));
  const skipped = notTracesNote(found);
  if (skipped) notes.push(skipped);
  const jobs: Job[] = found.groups.map((g) => ({
    files: g.files.map((f) => ({ path: f.path, label: f.label })),
    outputName: g.outputName,
    dir: dirname(g.files[0]!.path),
    loose: false,
  }));
  const loose = found.loose.map((l) => {
    if (l.kind !== 'ascend-dir') return l;
    const p = ascendProfileOf(l.path);
    if (!p) throw new TraceforgeError('E_INPUT', `${l.path}: no ASCEND_PROFILER_OUTPUT/trace_view.json in this torch_npu profile directory`, l.path);
    return { path: p.trace, kind: 'file' as const, rank: p.rank };
  });
  if (loose.length > 0) {
    const first = found.loose[0]!.kind === 'ascend-dir' ? join(dirname(found.loose[0]!.path), 'ascend') : loose[0]!.path;
    jobs.push({
      files: loose.map((l) => ({ path: l.path, nameRank: l.rank })),
      outputName: `merged-${traceStem(first).replace(/\.trace$|\.pt\.trace$/, '')}.trace.json.gz`,
      dir: dirname(first),
      loose: true,
    });
    const npu = found.loose.filter((l) => l.kind === 'ascend-dir').length;
    if (npu > 0) notes.push(`${npu} torch_npu profile(s): rank taken from rank_id in each profiler_info*.json (else its _N suffix), else the profile's position`);
    if (loose.length > npu) notes.push(`${loose.length - npu} file(s) without SGLang rank names: rank taken from distributedInfo.rank inside each file, else from rank-N in the name, else the file's position`);
  }
  let outDir: string | undefined;
  if (req.output !== undefined && req.output !== '-') {
    let isDir = false;
    try { isDir = statSync(req.output).isDirectory(); } catch { /* a file name */ }
    if (isDir) outDir = req.output;
    else if (jobs.length > 1) {
      throw new TraceforgeError('E_USAGE', `${jobs.length} groups of rank files were found (${jobs.map((j) => j.outputName).join(', ')}); -o must then be a directory`);
    }
  }
  const allInputs = jobs.flatMap((j) => j.files.map((f) => f.path));
  const totalBytes = (req.split ? 4 : 2) * totalFileSize(allInputs);
  let doneBytes = 0;
  const results: MergeResult[] = [];
  for (const job of jobs) {
    const output = outDir !== undefined ? join(outDir, job.outputName) : req.output ?? join(job.dir, job.outputName);
    results.push(await mergeJob(job, output, req, allInputs, (b, label) => {
      doneBytes += b;
      req.onProgress?.(doneBytes, totalBytes, label);
    }));
  }
  return { results, notes };
}

/**
 * `merge --format perfetto`: the JSON merge without the fix into scratch files next to the output
 * (ranks labelled, pids and ids made unique, one clock), then each is converted with the fix
 * applied as lanes (child tracks of their stream). The scratch JSON is uncompressed-speed gzip
 * (level 0) and removed at the end.
 */
async function mergeToPerfetto(req: MergeRequest): Promise<MergeOutcome> {
  if (req.fix === false) {
    throw new TraceforgeError('E_USAGE', '--no-fix cannot be combined with --format perfetto: slices on one TrackEvent track are begin/end pairs and must nest, so overlapping ones always go to lanes');
  }
  let outDir: string | undefined;
  let outFile: string | undefined;
  if (req.output !== undefined) {
    if (req.output === '-') throw new TraceforgeError('E_USAGE', '--format perfetto needs an output file or directory, not stdout');
    let isDir = false;
    try { isDir = statSync(req.output).isDirectory(); } catch { /* a file name */ }
    if (isDir) outDir = req.output; else outFile = req.output;
  }
  const scratch = await mkdtemp(join(outDir ?? (outFile !== undefined ? dirname(resolve(outFile)) : tmpdir()), '.traceforge-pf-'));
  try {
    const { format: _f, output: _o, onProgress, uiMemoryBytes: _u, ...rest } = req;
    const inner = await mergeTraces({ ...rest, format: 'json', fix: false, output: scratch, gzipLevel: 0, uiMemoryBytes: Infinity, ...(onProgress ? { onProgress } : {}) });
    if (outFile !== undefined && inner.results.length > 1) {
      throw new TraceforgeError('E_USAGE', `${inner.results.length} groups of rank files were found; -o must then be a directory`);
    }
    const inputs = inner.results.flatMap((r) => r.ranks.map((k) => k.file));
    const { convertParts, writePerfettoFile } = await import('./perfetto.js');
    const results: MergeResult[] = [];
    const gzipLevel = req.gzipLevel;
    for (const r of inner.results) {
      const name = perfettoName(basename(r.output));
      const output = outFile ?? join(outDir ?? dirname(r.ranks[0]!.file), name);
      let p: { outputBytes: number; perfetto: PerfettoSummary; diagnostics: Diagnostics };
      let split: SplitResult | undefined;
      if (r.split) {
        // each JSON part converted on its own, named after the Perfetto output
        const pf = await convertParts(r.split, output, { gzipLevel, inputs });
        p = pf;
        split = pf.split;
      } else {
        p = await writePerfettoFile(r.output, output, { ...(gzipLevel !== undefined ? { gzipLevel } : {}), inputs });
        await rm(r.output, { force: true });
      }
      // the per-rank notes came with the JSON merge; the conversion adds what the fix finds
      for (const d of p.diagnostics.list()) {
        if (d.name !== 'suspect_device_duration' && d.name !== 'flow_unbound') continue;
        for (const ex of d.examples) r.diagnostics.add(d.name, ex, 0);
        r.diagnostics.add(d.name, undefined, d.count);
      }
      const { ui: _ui, ...kept } = r;
      results.push({
        ...kept, output, outputBytes: p.outputBytes,
        slicesMoved: p.perfetto.fix.slicesMoved, lanesAdded: p.perfetto.fix.lanesAdded, suspectSlices: p.perfetto.fix.suspect.slices,
        perfetto: p.perfetto, ...(split ? { split } : {}),
      });
    }
    return { results, notes: inner.notes };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function mergeJob(job: Job, output: string, req: MergeRequest, allInputs: string[], progress: (bytes: number, label: string) => void): Promise<MergeResult> {
  // Scratch space next to the output (same file system): pass 1's patch logs, pass 2's segments.
  if (req.split && output === '-') throw new TraceforgeError('E_USAGE', '--split writes one file per part: give an output file or directory (-o), not stdout');
  const segDir = await mkdtemp(join(output === '-' ? tmpdir() : dirname(resolve(output)), '.traceforge-merge-'));
  try {
    if (!req.split) return await mergeJobIn(segDir, job, output, req, allInputs, progress);
    // --split: the merge into plain JSON beside the output (read twice, compressed once as
    // parts), then cut into parts whose events are the bytes the unsplit output has
    const whole = join(segDir, 'whole.json');
    const r = await mergeJobIn(segDir, job, whole, { ...req, uiMemoryBytes: Infinity }, allInputs, progress);
    const jobBytes = totalFileSize(job.files.map((f) => f.path));
    const sent = [0, 0];
    const { splitTrace } = await import('./split.js');
    const s = await splitTrace(whole, output, req.split, {
      inputs: allInputs, ...(req.gzipLevel !== undefined ? { gzipLevel: req.gzipLevel } : {}),
      ...(req.step ? { step: req.step } : {}), ...(req.uiMemoryBytes !== undefined ? { uiMemoryBytes: req.uiMemoryBytes } : {}),
      onProgress: (pass, done, total) => {
        const at = total > 0 ? Math.round((done / total) * jobBytes) : 0;
        if (at > sent[pass - 1]!) { progress(at - sent[pass - 1]!, 'merge: split'); sent[pass - 1] = at; }
      },
    });
    r.diagnostics.merge(s.diagnostics);
    const { ui: _ui, ...rest } = r;
    return { ...rest, output, outputBytes: s.parts.reduce((n, p) => n + p.bytes, 0), split: s };
  } finally {
    await rm(segDir, { recursive: true, force: true });
  }
}

/** A rank number as merge reads it from distributedInfo. */
function rankOf(di: Record<string, unknown> | undefined): number | null {
  const v = di?.['rank'];
  return typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null;
}

/** What makes two segment requests write the same bytes (the rank's pass 1 aside). */
function requestKey(r: SegmentRequest): string {
  const p = r.plan;
  return JSON.stringify([
    p.label, p.k, p.idOffset.toString(), p.tsShiftNs.toString(), r.window ? p.originNs : 0,
    [...p.pids].map(([raw, pp]) => [raw, pp.newPid, pp.label, pp.gpu]),
    r.splice ?? false, r.tracks, r.window ?? null, r.names ?? null, r.gzipLevel ?? null,
  ]);
}

async function mergeJobIn(segDir: string, job: Job, output: string, req: MergeRequest, allInputs: string[], progress: (bytes: number, label: string) => void): Promise<MergeResult> {
  const fix = req.fix ?? true;
  const names = req.name !== undefined || req.exclude !== undefined ? { ...(req.name !== undefined ? { include: req.name } : {}), ...(req.exclude !== undefined ? { exclude: req.exclude } : {}) } : undefined;
  // Without filters, pass 2 can splice each rank with the spans pass 1 recorded (no second parse).
  const filtered = names !== undefined || req.window !== undefined || (req.tracks ?? 'all') !== 'all';

  // The headers first (the first few KB of each file): the rank (distributedInfo) and the clock
  // (baseTimeNanoseconds) are there in Kineto traces, before any event.
  const heads = await Promise.all(job.files.map((f) => readRankHeader(f.path)));
  const headRank = heads.map((h) => rankOf(h?.distributedInfo));
  // --ranks before pass 1: a file whose header names a rank not asked for is never read further.
  // A file without a rank in its header is read, and kept or not after pass 1 (as before).
  const want = req.ranks ? new Set(req.ranks) : undefined;
  const selected: number[] = [];
  const dropped: number[] = [];
  job.files.forEach((_, i) => (want && headRank[i] !== null && !want.has(headRank[i]!) ? dropped : selected).push(i));
  const droppedRanks = dropped.map((i) => headRank[i]!);
  const noneMatch = (): TraceforgeError => new TraceforgeError('E_NOT_FOUND', `--ranks ${compactRanks(req.ranks ?? [])} matches none of the ${job.files.length} ranks found (${compactRanks(headRank.filter((r): r is number => r !== null))})`);
  if (selected.length === 0) throw noneMatch();
  for (const i of dropped) progress(2 * fileSize(job.files[i]!.path), 'merge: index');

  const n = selected.length;
  // The first file of an SGLang group is first in the output (files come in rank order): its ids
  // stay as they are, so pass 1 need not find them. Loose files are ordered only after pass 1.
  const files: IndexFile[] = selected.map((i, j) => ({
    path: job.files[i]!.path, name: job.files[i]!.path,
    ...(filtered ? {} : { patchLog: join(segDir, `rank${j}.patches`), recordIds: job.loose || j > 0 }),
  }));
  const indexOpts = { fix, ...(names ? { names } : {}) };
  const inProcess = n === 1;
  const cores = Math.max(1, availableParallelism());
  const gz = output !== '-' && isGzipName(output);
  const segRequest = (rp: RankPlan, splice: boolean, path: string): SegmentRequest => ({
    plan: rp, tracks: req.tracks ?? 'all', path, splice,
    ...(windowNs ? { window: windowNs } : {}), ...(names ? { names } : {}), ...(req.gzipLevel !== undefined ? { gzipLevel: req.gzipLevel } : {}),
  });
  let windowNs: [number, number] | undefined;
  const sent = new Array<number>(n).fill(0); // compressed input bytes reported by file j's pass 2
  const runSegment = (j: number, request: SegmentRequest): Promise<SegmentResult> => {
    const onProgress = (c: number): void => { if (c > sent[j]!) { progress(c - sent[j]!, 'merge: write'); sent[j] = c; } };
    const p = inProcess
      ? (request.splice ? spliceRankSegment(request, onProgress) : writeRankSegment(request, onProgress))
      : runInWorker<SegmentResult>(new URL('./merge-worker.js', import.meta.url), request, onProgress).then((r) => {
        if ('error' in r) throw r.error;
        return r.ok;
      });
    p.catch(() => undefined); // awaited where it is used; a discarded one must not go unhandled
    return p;
  };

  // Pass 1, and pass 2 of a rank started as soon as its pass 1 is done and the output's clock is
  // known — while later ranks are still in pass 1 — on at most `cores` worker threads in all.
  // Such a segment is a guess about the final plan (its position, the splice decision); when the
  // final plan differs (a rank failed or was filtered, a rank needs its clock moved), the segment
  // is dropped and written again, so the output never depends on the guess.
  const outcomes = new Array<IndexOutcome>(n);
  const specs = new Map<number, { key: string; result: Promise<SegmentResult> }>();
  let specOrder = (req.pipeline ?? true) && !inProcess && req.window === undefined ? speculativeOrder() : undefined;
  function speculativeOrder(): { j: number; label: string }[] | undefined {
    if (!job.loose) return selected.map((i, j) => ({ j, label: job.files[i]!.label ?? '' }));
    // loose files: ordered by rank, so every rank must be in its header
    const rs = selected.map((i) => headRank[i]!);
    if (rs.some((r) => r === null)) return undefined;
    const width = Math.max(2, String(Math.max(...rs, ...droppedRanks)).length);
    return rs.map((r, j) => ({ j, r })).sort((x, y) => x.r - y.r).map(({ j, r }) => ({ j, label: `RANK${pad(r, width)}` }));
  }
  let specNext = 0;
  let earlyStarted = 0;
  let earlyUsed = 0;
  let indexing = true;
  const speculate = (): Promise<SegmentResult> | undefined => {
    if (!indexing || !specOrder || specNext >= specOrder.length || specs.size >= cores) return undefined;
    if (outcomes.some((o) => o !== undefined && 'error' in o)) return undefined;
    const { j, label } = specOrder[specNext]!;
    const o = outcomes[j];
    if (o === undefined || !('ok' in o)) return undefined;
    // the output's clock: every rank's base, from its pass 1 or else from its header
    const clocks: { baseTimeNs: string | undefined; stringTs: boolean; baseUs: number }[] = [];
    for (let x = 0; x < n; x++) {
      const ox = outcomes[x];
      if (ox !== undefined && 'ok' in ox) { clocks.push(ox.ok); continue; }
      const h = heads[selected[x]!];
      if (h?.baseTimeNs === undefined) return undefined; // known only after that rank's pass 1
      clocks.push({ baseTimeNs: h.baseTimeNs, stringTs: false, baseUs: 0 });
    }
    const baseOut = outputBase(clocks);
    const rp = planRank(o.ok, label, specNext, baseOut, 0n, { cpuFirst: req.cpuFirst ?? false });
    const splice = !filtered && clocks.every((c) => !c.stringTs && (baseOut === undefined || BigInt(c.baseTimeNs ?? '0') === baseOut))
      && o.ok.splice !== undefined && (specNext === 0 || o.ok.splicedIds === true);
    const result = runSegment(j, segRequest(rp, splice, join(segDir, `early${j}.json${gz ? '.gz' : ''}`)));
    specs.set(j, { key: requestKey(segRequest(rp, splice, '')), result });
    specNext++;
    earlyStarted++;
    return result;
  };
  const limit1 = indexConcurrency(files.map((f) => f.path));
  // Memory: a pass-2 worker holds less than a pass-1 one (no per-slice arrays), so it may take a
  // core only where the budget let a pass 1 run; when it kept pass 1 below the cores, no early start.
  if (limit1 < cores) specOrder = undefined;
  await new Promise<void>((resolve, reject) => {
    let next1 = 0;
    let running1 = 0;
    let running2 = 0;
    const pump = (): void => {
      while (running1 + running2 < cores) {
        if (next1 < n && running1 < limit1) {
          const j = next1++;
          running1++;
          indexOne(files[j]!, indexOpts, inProcess).then((r) => {
            outcomes[j] = r;
            running1--;
            progress(fileSize(files[j]!.path), 'merge: index');
            pump();
          }, reject);
          continue;
        }
        const seg = speculate();
        if (!seg) break;
        running2++;
        const done = (): void => { running2--; pump(); };
        seg.then(done, done);
      }
      if (next1 >= n && running1 === 0) { indexing = false; resolve(); }
    };
    pump();
  });
  const segments = new Map<number, Promise<SegmentResult>>();
  const discard = (p: Promise<SegmentResult>): Promise<unknown> => p.then((r) => rm(r.segment.path, { force: true }), () => undefined);
  const discarded: Promise<unknown>[] = [];
  try {
    return await finishJob();
  } finally {
    // no worker may still write into the scratch directory when it is removed
    for (const p of [...segments.values(), ...[...specs.values()].map((x) => x.result)]) discarded.push(discard(p));
    await Promise.all(discarded);
  }

  async function finishJob(): Promise<MergeResult> {
    const skipped: { file: string; error: string }[] = [];
    const warnings: string[] = [];
    let ranks: { scan: RankScan; label: string; rank: number | null; j: number; file: number }[] = [];
    outcomes.forEach((o, j) => {
      const i = selected[j]!;
      const f = job.files[i]!;
      if ('error' in o) {
        if (!req.skipBad) throw new TraceforgeError(o.error.code, `${o.error.message} — the merge was stopped, nothing was written (use --skip-bad to merge the other ranks)`, o.error.file, o.error.offset);
        skipped.push({ file: f.path, error: o.error.message });
        return;
      }
      const rank = rankOf(o.ok.distributedInfo);
      // rank inside the file first, then the one from the torch_npu profile directory or the name
      ranks.push({ scan: o.ok, label: f.label ?? '', rank: rank ?? (job.loose ? f.nameRank ?? rankFromLooseName(basename(f.path)) : null), j, file: i });
    });
    if (ranks.length === 0) throw new TraceforgeError('E_INPUT', `no readable rank file: ${skipped.map((s) => s.error).join('; ')}`);
    if (job.loose) {
      ranks.forEach((r) => { if (r.rank === null) { r.rank = r.file; warnings.push(`${r.scan.name}: no rank in the file or its name; using its position, ${r.file}`); } });
      ranks.sort((a, b) => a.rank! - b.rank!);
      for (let i = 1; i < ranks.length; i++) {
        if (ranks[i]!.rank === ranks[i - 1]!.rank) {
          throw new TraceforgeError('E_RANKS', `two files claim rank ${ranks[i]!.rank}: ${ranks[i - 1]!.scan.name} and ${ranks[i]!.scan.name}`, ranks[i]!.scan.name);
        }
      }
      const width = Math.max(2, String(Math.max(ranks[ranks.length - 1]!.rank!, ...droppedRanks)).length);
      for (const r of ranks) r.label = `RANK${pad(r.rank!, width)}`;
    }
    // world_size: which ranks are missing?
    const ws = [...ranks.map((r) => r.scan.distributedInfo), ...dropped.map((i) => heads[i]?.distributedInfo)]
      .map((d) => d?.['world_size']).find((w): w is number => typeof w === 'number');
    if (ws !== undefined && skipped.length === 0) {
      const have = new Set([...ranks.map((r) => r.rank), ...droppedRanks]);
      const missing = Array.from({ length: ws }, (_, i) => i).filter((i) => !have.has(i));
      if (missing.length > 0 && missing.length < ws) warnings.push(`world_size is ${ws} but ranks ${compactRanks(missing)} are missing`);
    }
    // files without a rank in their header: kept by their rank after pass 1, else their position
    if (want) ranks = ranks.filter((r) => want.has(r.rank ?? r.file));
    if (ranks.length === 0) throw noneMatch();
    const plan = planMerge(ranks, { cpuFirst: req.cpuFirst ?? false });
    windowNs = windowInNs(req.window, plan);
    if (!filtered) {
      const before = estimateUiLoadBeforeWriting(ranks.reduce((n, r) => n + r.scan.bytes, 0), req.uiMemoryBytes ?? PERFETTO_UI_MEMORY_BYTES);
      if (!before.fits) req.onUiEstimate?.(before, output === '-' ? '<stdout>' : output);
    }
    const out = await OutputFile.open(output, { gzipLevel: req.gzipLevel, inputs: allInputs });
    const diagnostics = new Diagnostics();
    const merged: MergedRank[] = [];
    // Ranks are rewritten (and compressed) in parallel on worker threads, each into a segment
    // file next to the output; the segments are spliced into the output in rank order.
    // Splicing needs every rank on the output's clock already (no ts to shift or unquote).
    const splice = !filtered && plan.ranks.every((r) => r.scan.splice !== undefined && r.tsShiftNs === 0n && !r.scan.stringTs && (r.idOffset === 0n || r.scan.splicedIds === true));
    try {
      const w = new TraceWriter(out, 'object');
      w.begin(plan.header);
      const start = (k: number): Promise<SegmentResult> => {
        const rp = plan.ranks[k]!;
        const j = ranks[k]!.j;
        const request = segRequest(rp, splice, join(segDir, `rank${k}.json${gz ? '.gz' : ''}`));
        const early = specs.get(j);
        if (early) {
          specs.delete(j);
          if (early.key === requestKey({ ...request, path: '' })) { earlyUsed++; return early.result; }
          discarded.push(discard(early.result));
        }
        return runSegment(j, request);
      };
      // segments not needed by the final plan (a rank skipped or filtered out) are dropped now
      const used = new Set(ranks.map((r) => r.j));
      for (const [j, early] of specs) if (!used.has(j)) { specs.delete(j); discarded.push(discard(early.result)); }
      // at most `cores` segments in flight, started in rank order and consumed in rank order
      let next = 0;
      const launch = (): void => { while (next < plan.ranks.length && next - merged.length < cores) { segments.set(next, start(next)); next++; } };
      launch();
      let anyEvents = false;
      for (const rp of plan.ranks) {
        const seg = await segments.get(rp.k)!;
        segments.delete(rp.k);
        if (seg.written > 0) {
          if (anyEvents) out.write(',');
          await out.appendSegment(seg.segment);
          await rm(seg.segment.path, { force: true });
          anyEvents = true;
        }
        w.events += seg.written;
        merged.push({ label: rp.label, file: rp.scan.name, rank: ranks[rp.k]!.rank, events: rp.scan.events, kept: seg.kept });
        launch();
        for (const d of rp.scan.diagnostics) {
          for (const ex of d.examples) diagnostics.add(d.name, ex, 0);
          diagnostics.add(d.name, undefined, d.count);
        }
      }
      w.end(plan.trailer);
      const jsonBytes = out.bytesWritten;
      const outputBytes = await out.commit();
      const ui = noteUiLoad(output === '-' ? '<stdout>' : output, jsonBytes, diagnostics, req.uiMemoryBytes ?? PERFETTO_UI_MEMORY_BYTES);
      const eventsIn = merged.reduce((n, r) => n + r.events, 0);
      const kept = merged.reduce((n, r) => n + r.kept, 0);
      return {
        output, outputBytes, ranks: merged, eventsIn, eventsOut: w.events, filtered: eventsIn - kept,
        ...(windowNs ? { windowMs: [windowNs[0] / 1e6, windowNs[1] / 1e6] as [number, number] } : {}),
        skipped, warnings,
        slicesMoved: ranks.reduce((n, r) => n + (r.scan.summary?.slicesMoved ?? 0), 0),
        lanesAdded: ranks.reduce((n, r) => n + (r.scan.summary?.lanesAdded ?? 0), 0),
        suspectSlices: ranks.reduce((n, r) => n + (r.scan.summary?.suspect.slices ?? 0), 0),
        diagnostics, ui,
        earlySegments: { started: earlyStarted, used: earlyUsed },
      };
    } catch (e) {
      await out.abort();
      throw e;
    }
  }
}

function windowInNs(w: MergeWindow | undefined, plan: MergePlan): [number, number] | undefined {
  if (!w) return undefined;
  if (!w.absolute) return [w.start * 1e6, w.end * 1e6];
  const base = plan.baseTimeNs ?? 0n;
  // Whole µs in BigInt: epoch-µs values (~1.7e15) times 1000 do not fit a double exactly.
  const toRel = (us: number): number => {
    const whole = Math.trunc(us);
    return Number(base - plan.earliestNs + BigInt(whole) * 1000n) + Math.round((us - whole) * 1000);
  };
  return [toRel(w.start), toRel(w.end)];
}

/** `[0,1,2,5]` -> `0-2,5`. */
export function compactRanks(list: readonly number[]): string {
  const s = [...new Set(list)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; i++) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    parts.push(j > i ? `${s[i]}-${s[j]}` : `${s[i]}`);
    i = j;
  }
  return parts.join(',');
}

/** `0,2-3` -> [0, 2, 3]. */
export function parseRankList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new TraceforgeError('E_USAGE', `--ranks: cannot read "${part}" (expected e.g. 0,2-3)`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (b < a) throw new TraceforgeError('E_USAGE', `--ranks: "${part}" is an empty range`);
    for (let r = a; r <= b; r++) out.push(r);
  }
  return out;
}
