/**
 * `stats`: where the time goes. Finds the rank files (as `merge` does), reads each once as a
 * stream collecting small typed records (analysis/collect.ts), splits a merged trace back into
 * its ranks, and runs the analyses the views need. No printing here: see report/ and the CLI.
 *
 * torch_npu (Ascend) profiles: each `*_ascend_pt` directory is a rank (its rank from
 * profiler_info). The device timeline (summary, category, rank and step views) comes from
 * trace_view.json's device processes; the kernel view, the op view (input shapes, Level 1 and
 * above) and the op-type view (torch_npu's op_statistic.csv) from kernel_details.csv, whose
 * durations are matched to the trace's full-precision ones in the same single pass.
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { basename, resolve } from 'node:path';
import { scanFile } from '../io/read.js';
import type { ScanHandler } from '../io/scanner.js';
import { TraceforgeError, type ErrorCode } from '../errors.js';
import { ascendProfileOf, partialMessage, type AscendProfile } from '../formats/ascend.js';
import { readKernelDetails, type KernelDetails } from '../formats/ascend-csv.js';
import { readDbKernelDetails } from '../formats/ascend-db.js';
import { vendorOpStatistic } from '../formats/ascend-partial.js';
import { discoverInputs, notTracesNote, type DiscoveryResult } from '../formats/discover.js';
import { rankFromLooseName } from '../formats/filenames.js';
import { Diagnostics, type DiagnosticEntry } from '../model/diagnostics.js';
import { TraceDurationMatcher, kernelDurations, npuOpStats } from '../analysis/ascend-kernels.js';
import { Categorizer, KIND_KERNEL, COMMUNICATION, parseCategoryOverride, type CategoryOverride } from '../analysis/categories.js';
import { StatsCollector, rankSplitOf, restrictToPids, type FileTopLevel, type TraceRecords } from '../analysis/collect.js';
import { categoryStats, durationsByName, kernelStatsOf, type KernelDurations, type KernelStat } from '../analysis/kernels.js';
import { opStatisticOf, shapesNotRecordedMessage } from '../analysis/op-statistic.js';
import { opStats } from '../analysis/ops.js';
import { efficiencyOf } from '../analysis/efficiency.js';
import { parsePeakOverride, type DevicePeak } from '../analysis/device-peaks.js';
import { npuPipesOf } from '../analysis/npu-pipes.js';
import { compareRanks } from '../analysis/ranks.js';
import { commView } from '../analysis/comm-view.js';
import { ascendCommView, hcomGroupSizes, type AscendCommInput } from '../analysis/ascend-comm.js';
import { readAscendComm } from '../formats/ascend-comm.js';
import { DEFAULT_STEP_PATTERN, stepStats } from '../analysis/steps.js';
import { detectSteps } from '../analysis/step-detect.js';
import { deviceSuspects, withoutSuspects } from '../analysis/device-suspects.js';
import { idleView, launchView, linkRanks, type StepWindow } from '../analysis/idle-view.js';
import { launchDiagnostics } from '../analysis/launch-diagnostics.js';
import { rankSummary, type RankSummary } from '../analysis/summary.js';
import { timelineOf, type RankData, type RankTimeline } from '../analysis/timeline.js';
import { utilizationOf } from '../analysis/utilization.js';
import { DEFAULT_VIEWS, STATS_VIEWS, type ApiCallStat, type StatsInput, type StatsResult, type StatsView } from '../analysis/result.js';
import { traceStem } from './names.js';
import { attributionSummary, kernelOrigins, sourceStats } from '../analysis/source-view.js';
import { Route, type DeviceAttribution } from '../analysis/attribution.js';
import { attributeRanks, attributionNotes, discoverCaptures, expandGraphPaths, graphFiles, libraryPattern } from './graph-sources.js';

export type { StatsResult, StatsView } from '../analysis/result.js';
export { STATS_VIEWS, DEFAULT_VIEWS } from '../analysis/result.js';

export interface StatsOptions {
  /** Views to compute (default: summary and kernel; none when only `collectFor` is given). */
  views?: readonly StatsView[];
  /**
   * Views whose records to collect without computing the views (for `onRanks`: export builds
   * its tables from the records, and the kernel, source and rank views would be thrown away).
   */
  collectFor?: readonly StatsView[];
  /** Extra category rules, tried before the built-in ones: `NAME=REGEX` or parsed. */
  categories?: readonly (string | CategoryOverride)[];
  /** Step annotations for the step view (default `^ProfilerStep#\d+$`). A string is a regex. */
  step?: string | RegExp;
  /** Use this SGLang profile id when a directory holds several. */
  profileId?: string;
  /** Kernels listed per op in the op view (default 3). */
  kernelsPerOp?: number;
  /**
   * Also sum the CPU-side runtime / driver API calls (`cat` cuda_runtime, cuda_driver, old
   * Runtime) per name, in the same pass: `StatsResult.apiCalls`.
   */
  apiCalls?: boolean;
  /** Also compute device utilization over time in about `buckets` buckets: `StatsResult.utilization`. */
  utilization?: { buckets: number };
  /**
   * Leave device activities whose duration cannot be real (`suspect_device_duration`, see
   * analysis/suspect.ts) out of every view. By default they are counted and reported.
   */
  dropSuspect?: boolean;
  /** Efficiency view: device peak for every rank instead of the table's (`tflops=N,tbps=N` or parsed). */
  peak?: string | DevicePeak;
  /** Capture traces of the CUDA graphs replayed (files or directories); default: found next to the traces. */
  capture?: readonly string[];
  /** Graph-off runs of the same workload, to attribute graph replays by kernel sequence. */
  mapping?: readonly string[];
  /** Look for capture traces next to the inputs (default true) when the op, source or module view is asked for. */
  discoverCaptures?: boolean;
  /** Python frames that count as library (never the source), on top of the built-in ones. */
  library?: string | RegExp;
  /** Progress: compressed bytes read so far, and the total. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called once, after every view was computed, with the ranks' records and what the views
   * computed from them (export reads its tables from these: analysis/export-rows.ts).
   */
  onRanks?: (ranks: StatsRanks) => void;
}

/** What statsOf read and computed per rank, for callers that need more than the views (export). */
export interface StatsRanks {
  ranks: readonly RankData[];
  /** Per rank: a torch_npu rank. */
  npu: readonly boolean[];
  /** Per rank: the top-level keys of its file (deviceProperties, distributedInfo, baseTimeNs). */
  tops: readonly (FileTopLevel | undefined)[];
  /** Per rank: its device timeline (undefined for CSV-only torch_npu ranks). */
  timelines: readonly (RankTimeline | undefined)[];
  /** Per rank: the attribution of every device activity, when source / module was asked for. */
  atts: readonly DeviceAttribution[] | undefined;
  cats: Categorizer;
  /** The step annotations (--step, ProfilerStep#N, else the detected family). */
  steps: RegExp;
}

interface FileJob {
  path: string;
  /** Label from the SGLang file name; undefined for loose files. */
  label?: string;
  /** Rank from the file name (loose files). */
  nameRank: number | null;
  /** The torch_npu profile whose trace_view.json `path` is. */
  ascend?: AscendProfile;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** The files to read, with their labels when the names say them. */
async function findFiles(inputs: readonly string[], profileId: string | undefined, notes: string[]): Promise<FileJob[]> {
  if (inputs.includes('-')) {
    if (inputs.length > 1) throw new TraceforgeError('E_USAGE', 'read stdin (-) alone, not together with files');
    return [{ path: '-', nameRank: null }];
  }
  let found: DiscoveryResult | undefined;
  let failure: unknown;
  try {
    found = await discoverInputs(inputs, profileId !== undefined ? { profileId } : {});
  } catch (e) {
    failure = e;
  }
  // Files named on the command line are read even when discovery skips them by name
  // (`merged-*`, `perfetto-compatible-*`: outputs of earlier runs, which stats reads fine).
  const named: FileJob[] = [];
  for (const arg of inputs) {
    const base = basename(arg);
    if (!/^(merged-|perfetto-compatible-)/.test(base) || !/\.json(\.gz)?$/i.test(base)) continue;
    const info = await stat(arg).catch(() => undefined);
    if (info?.isFile()) named.push({ path: arg, nameRank: null });
  }
  if (!found) {
    if (named.length > 0 && failure instanceof TraceforgeError && failure.code === 'E_NOT_FOUND') return named;
    throw failure;
  }
  if (found.profileChoice) notes.push(found.profileChoice.message.replace('Ask for another by its profile id.', 'Pick another with --profile-id.'));
  const skipped = notTracesNote(found);
  if (skipped) notes.push(skipped);
  const jobs: FileJob[] = [];
  const several = found.groups.length > 1;
  for (const g of found.groups) {
    const prefix = several ? `${g.stage ?? g.profileId}:` : '';
    for (const f of g.files) jobs.push({ path: f.path, label: prefix + f.label, nameRank: null });
  }
  const ascend: AscendProfile[] = [];
  const unparsed: TraceforgeError[] = [];
  for (const l of found.loose) {
    if (l.kind === 'file') { jobs.push({ path: l.path, nameRank: l.rank }); continue; }
    try {
      const p = ascendProfileOf(l.path);
      if (p) ascend.push(p);
      else unparsed.push(new TraceforgeError('E_INPUT', `${l.path}: no ASCEND_PROFILER_OUTPUT/trace_view.json in this torch_npu profile directory`, l.path));
    } catch (e) {
      if (!(e instanceof TraceforgeError)) throw e;
      unparsed.push(e);
    }
  }
  jobs.push(...ascendJobs(ascend));
  const have = new Set(jobs.map((j) => j.path));
  for (const n of named) if (!have.has(n.path)) jobs.push(n);
  if (jobs.length === 0 && unparsed[0]) throw unparsed[0];
  for (const e of unparsed) notes.push(`${e.message}; skipped`);
  return jobs;
}

/** torch_npu profiles as jobs: each once, by rank (unknown ranks last), then directory. */
function ascendJobs(profiles: readonly AscendProfile[]): FileJob[] {
  const seen = new Set<string>();
  return profiles
    .filter((p) => { const k = resolve(p.partial ? p.output : p.trace); if (seen.has(k)) return false; seen.add(k); return true; })
    .sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity) || (a.root < b.root ? -1 : a.root > b.root ? 1 : 0))
    .map((p) => ({ path: p.partial ? p.output : p.trace, nameRank: null, ascend: p }));
}

/**
 * The files to read: torch_npu profiles named directly (an `*_ascend_pt` directory, its
 * ASCEND_PROFILER_OUTPUT or trace_view.json), and whatever discovery finds in the others
 * (trace files, SGLang rank files, `*_ascend_pt` directories inside a directory).
 */
async function findJobs(inputs: readonly string[], profileId: string | undefined, notes: string[]): Promise<FileJob[]> {
  if (inputs.includes('-')) return findFiles(inputs, profileId, notes);
  const direct: AscendProfile[] = [];
  const rest: string[] = [];
  for (const arg of inputs) {
    const p = ascendProfileOf(arg);
    if (p) direct.push(p); else rest.push(arg);
  }
  if (direct.length === 0) return findFiles(inputs, profileId, notes);
  const others = rest.length > 0 ? await findFiles(rest, profileId, notes) : [];
  const fromDirs = others.filter((j) => j.ascend !== undefined).map((j) => j.ascend!);
  return [...others.filter((j) => j.ascend === undefined), ...ascendJobs([...direct, ...fromDirs])];
}

function stepPattern(step: string | RegExp | undefined): RegExp {
  if (step === undefined) return DEFAULT_STEP_PATTERN;
  if (step instanceof RegExp) return step;
  try {
    return new RegExp(step);
  } catch (e) {
    throw new TraceforgeError('E_USAGE', `--step: not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Statistics of one or more traces (files, directories of rank files, globs, or a merged
 * trace, which is split back into its ranks). Reads every file once, as a stream.
 */
export async function statsOf(inputs: readonly string[], opts: StatsOptions = {}): Promise<StatsResult> {
  const collectFor = opts.collectFor ?? [];
  const views = opts.views && opts.views.length > 0 ? STATS_VIEWS.filter((v) => opts.views!.includes(v)) : collectFor.length > 0 ? [] : [...DEFAULT_VIEWS];
  /** A view to compute. */
  const want = (v: StatsView): boolean => views.includes(v);
  /** A view whose records are collected (computed or not). */
  const need = (v: StatsView): boolean => want(v) || collectFor.includes(v);
  const overrides = (opts.categories ?? []).map((c) => (typeof c === 'string' ? parseCategoryOverride(c) : c));
  const cats = new Categorizer(overrides);
  const explicitStep = opts.step === undefined ? undefined : stepPattern(opts.step);
  const notes: string[] = [];
  const jobs = await findJobs(inputs, opts.profileId, notes);
  // attribution (source / module views, graph replays): capture and mapping traces are read in the same batch
  const captures = expandGraphPaths(opts.capture ?? [], '--capture');
  if (captures.length === 0 && opts.discoverCaptures !== false && (need('op') || need('source') || need('module') || need('efficiency'))) {
    captures.push(...discoverCaptures(jobs.filter((j) => !j.ascend).map((j) => j.path)));
    if (captures.length > 0) notes.push(`capture traces found next to the trace: ${captures.join(', ')}`);
  }
  const gfiles = graphFiles(captures, expandGraphPaths(opts.mapping ?? [], '--mapping'));
  const attribute = need('source') || need('module') || gfiles.length > 0;
  const library = opts.library === undefined ? undefined : libraryPattern(opts.library);

  const sizes = await Promise.all(jobs.map((j) => (j.ascend?.partial ? Promise.resolve(0) : stat(j.path).then((st) => st.size, () => 0))));
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const done = jobs.map(() => 0);
  const progress = opts.onProgress
    ? (k: number, compressed: number): void => { done[k] = compressed; opts.onProgress!(done.reduce((a, b) => a + b, 0), totalBytes); }
    : undefined;
  const request: CollectRequest = {
    path: '',
    categories: overrides.map((c) => ({ category: c.category, source: c.pattern.source, flags: c.pattern.flags })),
    ops: need('op') || need('idle') || need('efficiency'),
    opArgs: need('efficiency'),
    groups: need('rank'),
    collectives: need('rank') || need('comm'),
    ...(need('step') || need('idle') || need('comm') ? { annotations: { source: (explicitStep ?? DEFAULT_STEP_PATTERN).source, flags: (explicitStep ?? DEFAULT_STEP_PATTERN).flags } } : {}),
    apiCalls: opts.apiCalls === true,
    launches: need('idle') || need('launch'),
    python: need('idle'),
    // attribution (source, module, kernel origins, graph replays) needs the whole chain, Python
    // frames included: else its note would count replayed kernels (sourced from the capture
    // trace's frames) against eager ones that were never given a chance to have a source
    ...(attribute ? { ops: true, launches: true, python: true } : {}),
  };
  // the efficiency view's models read the captured ops' `Concrete Inputs` and `flops` too
  const graphRequest: CollectRequest = { path: '', categories: request.categories, ops: true, opArgs: need('efficiency'), groups: false, collectives: false, apiCalls: false, launches: true, python: true };
  const ascendRequest = (p: AscendProfile): CollectRequest['ascend'] => ({
    output: p.output,
    ...(p.db !== undefined ? { db: p.db } : {}),
    ...(p.partial ? { partial: true } : {}),
    details: need('kernel') || need('op') || need('op-type'),
    durations: need('op') || need('op-type'),
  });
  const all = await collectAll([...jobs.map((j) => (j.ascend
    // the op view of a torch_npu profile comes from kernel_details.csv, not from its cpu_ops;
    // the idle view reads them (what the CPU was doing while the NPU waited)
    ? { ...request, path: j.path, ops: need('idle'), ascend: ascendRequest(j.ascend) }
    : { ...request, path: j.path })), ...gfiles.map((g) => ({ ...graphRequest, path: g.path }))], progress);
  const outcomes = all.slice(0, jobs.length);
  gfiles.forEach((g, k) => {
    if (all[jobs.length + k]!.events === 0) throw new TraceforgeError('E_PARSE', `${g.path}: not a trace (no trace events); --${g.route === Route.Capture ? 'capture' : 'mapping'} takes profiler traces`, g.path);
  });

  const diagnostics = new Diagnostics();
  const ranks: RankData[] = [];
  /** Per rank: kernel_details.csv of a torch_npu rank (undefined for other ranks, or when missing). */
  const details: (KernelDetails | undefined)[] = [];
  const npu: boolean[] = [];
  const inputsOut: StatsInput[] = [];
  const loose: LooseRank[] = [];
  const missing: { k: number; message: string }[] = [];
  /** torch_npu ranks without a device timeline (CSV-only directories). */
  const partial: { k: number; profile: AscendProfile }[] = [];
  const tops: (FileTopLevel | undefined)[] = [];
  const ascendOutputs: { data: RankData; output: string }[] = [];
  jobs.forEach((job, k) => {
    const out = outcomes[k]!;
    for (const d of out.diagnostics) {
      for (const ex of d.examples) diagnostics.add(d.name, ex, 0);
      diagnostics.add(d.name, undefined, d.count);
    }
    const records = out.records;
    if (job.ascend) {
      const file = job.ascend.db ?? job.path;
      const input: StatsInput = { label: '', file, rank: job.ascend.rank, events: out.events, bytes: out.bytes };
      const data: RankData = { label: '', file, rank: job.ascend.rank, records };
      if (job.ascend.partial) partial.push({ k: ranks.length, profile: job.ascend });
      if (out.detailsMissing !== undefined) missing.push({ k: ranks.length, message: out.detailsMissing });
      ranks.push(data);
      ascendOutputs.push({ data, output: job.ascend.output });
      tops.push(undefined);
      details.push(out.details);
      npu.push(true);
      inputsOut.push(input);
      loose.push({ data, input, distRank: job.ascend.rank, nameRank: null, stem: basename(job.ascend.root) });
      return;
    }
    const di = out.top.distributedInfo?.['rank'];
    const distRank = typeof di === 'number' ? di : typeof di === 'string' && /^\d+$/.test(di) ? Number(di) : null;
    const split = rankSplitOf(records, out.top);
    if (split && split.ranks.length > 0) {
      const how = out.top.merge ? 'its traceforgeMerge key' : 'the [LABEL] prefixes of its process names';
      notes.push(`${job.path}: a merged trace; split into ${split.ranks.length} rank(s) (${split.ranks.map((r) => r.label).join(', ')}) by ${how}`);
      if (split.unassigned.length > 0) {
        notes.push(`${job.path}: events of pid(s) ${split.unassigned.slice(0, 5).join(', ')}${split.unassigned.length > 5 ? ', ...' : ''} belong to no rank and were left out`);
      }
      for (const sp of split.ranks) {
        const part = restrictToPids(records, sp.keep);
        ranks.push({ label: sp.label, file: job.path, rank: sp.rank, records: part });
        tops.push(undefined);
        details.push(undefined);
        npu.push(part.ascendTasks > 0);
        inputsOut.push({ label: sp.label, file: job.path, rank: sp.rank, events: out.events, bytes: out.bytes });
      }
      return;
    }
    const input: StatsInput = { label: job.label ?? '', file: job.path, rank: distRank, events: out.events, bytes: out.bytes };
    const data: RankData = { label: input.label, file: job.path, rank: distRank, records };
    ranks.push(data);
    tops.push(out.top);
    details.push(undefined);
    npu.push(records.ascendTasks > 0);
    inputsOut.push(input);
    if (job.label === undefined) loose.push({ data, input, distRank, nameRank: job.nameRank ?? rankFromLooseName(basename(job.path)) });
  });
  labelLoose(loose, notes);
  for (const m of missing) {
    const what = [want('kernel') ? 'the kernel view counts the device tasks of trace_view.json instead' : '',
      want('op') || want('op-type') ? 'no op or op-type table for it' : ''].filter((x) => x !== '').join('; ');
    notes.push(`${ranks[m.k]!.label}: ${m.message}${what ? `; ${what}` : ''}`);
  }

  suspectDurations(ranks, npu, diagnostics, notes, opts.dropSuspect === true);

  // CSV-only torch_npu ranks have no device timeline: the views that need it leave them out, and say so once
  const isTimed = (k: number): boolean => !partial.some((p) => p.k === k);
  const timed = partial.length === 0 ? ranks : ranks.filter((_, k) => isTimed(k));
  /** npu[] of the timed ranks: every view that reads `timelines` takes `timed` (same indices). */
  const timedNpu = partial.length === 0 ? npu : npu.filter((_, k) => isTimed(k));
  if (partial.length > 0) {
    const needs = views.filter((v) => v === 'summary' || v === 'category' || v === 'rank' || v === 'step' || v === 'kernel' || v === 'idle' || v === 'launch' || v === 'comm');
    if (needs.length > 0 || opts.utilization) {
      for (const p of partial) notes.push(`${ranks[p.k]!.label}: ${partialMessage(p.profile, `the ${[...needs.map((v) => (v === 'kernel' ? '% busy of the kernel' : v)), ...(opts.utilization ? ['utilization'] : [])].join(', ')} view(s)`)}; left out of them`);
    }
  }
  const timelines: RankTimeline[] = timed.map((r) => timelineOf(r, cats));
  const busyNs = timelines.reduce((a, t) => a + t.busyNs, 0);
  const att = attribute ? attributeRanks(ranks, gfiles, all.slice(jobs.length).map((o) => o.records), diagnostics, library) : undefined;
  const nNpu = npu.filter((x) => x).length;
  const device = nNpu === 0 ? 'GPU' : nNpu === npu.length ? 'NPU' : 'device';
  const result: StatsResult = { views, device, inputs: inputsOut, notes, diagnostics: diagnostics.list() };
  let summaries: RankSummary[] | undefined;
  if (want('summary') || want('rank')) summaries = timed.map((r, k) => rankSummary(r, timelines[k]!, cats));
  if (want('summary') && timed.length > 0) result.summary = summaries;
  if (want('kernel')) result.kernels = kernelView(ranks, details, cats, busyNs);
  if (att) {
    notes.push(...att.notes);
    const s = (result.attribution = attributionSummary(ranks, att.atts, att.replays, captures, gfiles.filter((g) => g.route === Route.Mapping).map((g) => g.path)));
    notes.push(...attributionNotes(s));
    if (want('source')) result.sources = sourceStats(ranks, att.atts, 'source', busyNs);
    if (want('module')) result.modules = sourceStats(ranks, att.atts, 'module', busyNs);
    if (result.kernels) {
      const origins = kernelOrigins(ranks, att.atts);
      for (const k of result.kernels) { const o = origins.get(k.name); if (o) Object.assign(k, o); }
    }
  }
  // no device timeline at all: no busy time to take shares of (missing, not 0)
  if (result.kernels && timed.length === 0) for (const k of result.kernels) k.share = NaN;
  if (want('category') && timed.length > 0) result.categories = categoryStats(timed, cats, busyNs);
  const npuRanks = ranks.map((_, k) => k).filter((k) => npu[k]);
  const detailsOf = npuRanks.filter((k) => details[k] !== undefined).map((k) => ({ k, label: ranks[k]!.label, rank: ranks[k]!.rank, details: details[k]! }));
  if (want('op')) {
    const kineto = ranks.filter((_, k) => !npu[k]);
    if (kineto.length > 0 || npuRanks.length === 0) {
      const o = opStats(kineto, opts.kernelsPerOp ?? 3, att && ranks.map((_, k) => att.atts[k]).filter((_, k) => !npu[k]));
      result.ops = o.ops;
      result.opLinks = { linkedKernels: o.linkedKernels, unlinkedKernels: o.unlinkedKernels, unlinkedUs: o.unlinkedUs, notNested: o.notNested,
        ...(o.replayedKernels > 0 ? { replayedKernels: o.replayedKernels, replayedUs: o.replayedUs } : {}) };
      if (o.ops.length === 0) notes.push('op view: no cpu_op events in the trace (profile with record_shapes=True for input shapes)');
      if (o.notNested > 0) notes.push(`op view: ${o.notNested} cpu_op event(s) start inside another op of their thread and end after it; they were counted as its children`);
    }
    if (npuRanks.length > 0) {
      for (const d of detailsOf) if (!d.details.hasShapes) notes.push(`op view: ${d.label}: ${shapesNotRecordedMessage(d.details.file)}`);
      // torch_npu ranks found in a merged trace: no profile directory, so no kernel_details.csv
      const merged = npuRanks.filter((k) => details[k] === undefined && !missing.some((m) => m.k === k)).map((k) => ranks[k]!.label);
      if (merged.length > 0) notes.push(`op view: ${merged.join(', ')}: torch_npu ranks of a merged trace; operators by input shape come from kernel_details.csv: run stats on the *_ascend_pt directories`);
      const n = npuOpStats(detailsOf.map((d) => d.details), opts.kernelsPerOp ?? 3);
      result.npuOps = n.ok ? n.ops : [];
    }
  }
  if (want('op-type')) {
    result.opTypes = [];
    if (npuRanks.length === 0) notes.push('op-type view: op_statistic is a torch_npu (Ascend) table; these inputs are not torch_npu profiles (see --by op)');
    for (const d of detailsOf) {
      const t = opStatisticOf(d.details);
      const p = t.ok ? partial.find((x) => x.k === d.k) : undefined;
      const vendor = p && t.ok ? vendorOpStatistic(p.profile.output, t.rows) : undefined;
      if (vendor?.note) notes.push(`op-type view: ${d.label}: ${vendor.note}`);
      if (t.ok) result.opTypes.push({ label: d.label, rank: d.rank, rows: vendor?.rows ?? t.rows });
      else notes.push(`op-type view: ${d.label}: ${t.message}`);
    }
  }
  if (want('rank')) {
    result.ranks = compareRanks(timed, summaries!, cats);
    if (timed.length < 2) notes.push('rank view: only one rank; pass a directory, several files or a merged trace to compare ranks');
  }
  // steps: --step, else ProfilerStep#N, else a family of numbered annotations (step-detect.ts)
  const detected = detectSteps(ranks.map((r) => r.records.annotations), explicitStep);
  const steps = detected.pattern ?? DEFAULT_STEP_PATTERN;
  if (need('step') || need('idle')) {
    result.stepDetection = { pattern: detected.pattern?.source ?? null, how: detected.how, description: detected.description };
    if (detected.how === 'family') notes.push(detected.description);
  }
  if (want('step')) {
    // start times on one clock: from the earliest event of all ranks
    const starts = timed.map((r, k) => (Number.isFinite(timelines[k]!.spanStart) ? r.records.originNs + BigInt(Math.floor(timelines[k]!.spanStart)) : undefined));
    const earliest = starts.reduce<bigint | undefined>((a, b) => (b === undefined ? a : a === undefined || b < a ? b : a), undefined) ?? 0n;
    result.steps = timed.flatMap((r, k) => stepStats(r, timelines[k]!, steps, Number(earliest - r.records.originNs)));
    if (result.steps.length === 0) {
      notes.push(`step view: no annotation matches ${steps.source}${opts.step === undefined ? '; name your step annotations with --step REGEX (e.g. --step "decode_step_\\d+")' : ''}`);
    }
  }
  if (want('idle') || want('launch')) {
    const linked = linkRanks(timed, timelines, timedNpu);
    const ld = launchDiagnostics(linked);
    diagnostics.merge(ld.diagnostics);
    if (ld.any) result.diagnostics = diagnostics.list();
    notes.push(...ld.notes);
    if (want('idle')) {
      const windows = (rank: RankData): StepWindow[] => {
        if (!detected.pattern) return [];
        const p = detected.pattern;
        const anns = rank.records.annotations.filter((a) => p.test(a.name));
        const cpu = anns.filter((a) => !a.gpu);
        return (cpu.length > 0 ? cpu : anns).sort((a, b) => a.start - b.start).map((a) => ({ name: a.name, lo: a.start, hi: a.start + a.dur }));
      };
      result.idle = idleView(linked, windows);
    }
    if (want('launch')) result.launch = launchView(linked, opts.utilization?.buckets ?? 200);
  }
  if (want('efficiency')) efficiencyView(result, ranks, npu, att?.atts, ascendOutputs.map((a) => ({ label: a.data.label, output: a.output })), opts.peak);
  if (want('comm')) {
    const npuComm: AscendCommInput[] = [];
    jobs.forEach((j) => {
      const files = j.ascend ? readAscendComm(j.ascend.output) : undefined;
      const data = ranks.find((r) => r.file === j.path);
      if (files && data) npuComm.push({ label: data.label, rank: data.rank, files });
      else if (j.ascend) notes.push(`comm view: ${data?.label ?? j.path}: no communication.json or communication_matrix.json (written at profiler Level 1 and above, multi-rank runs)`);
    });
    const c = commView(timed, timelines, cats, steps, npuComm.length > 0 ? hcomGroupSizes(npuComm) : undefined);
    result.comm = c.view;
    for (const d of c.diagnostics) { for (const ex of d.examples) diagnostics.add(d.name, ex, 0); diagnostics.add(d.name, undefined, d.count); }
    result.diagnostics = diagnostics.list();
    if (npuComm.length > 0) result.comm.ascend = ascendCommView(npuComm);
    if (!c.view.collectives && npuComm.length === 0) notes.push('comm view: no communication kernels in the trace');
  }
  if (opts.apiCalls) result.apiCalls = apiCallsOf(jobs, outcomes);
  if (opts.utilization) result.utilization = utilizationOf(timed, timelines, opts.utilization.buckets);
  if (opts.onRanks) {
    const byRank = new Map(timed.map((r, k) => [r, timelines[k]!] as const));
    opts.onRanks({ ranks, npu, tops, timelines: ranks.map((r) => byRank.get(r)), atts: att?.atts, cats, steps });
  }
  return result;
}

/** The efficiency view (Kineto ranks) and NPU pipe bounds (torch_npu ranks). */
function efficiencyView(result: StatsResult, ranks: readonly RankData[], npu: readonly boolean[], atts: readonly DeviceAttribution[] | undefined,
  ascend: { label: string; output: string }[], peakOpt: string | DevicePeak | undefined): void {
  let peak: DevicePeak | undefined;
  if (typeof peakOpt === 'string') {
    try { peak = parsePeakOverride(peakOpt); } catch (e) { throw new TraceforgeError('E_USAGE', e instanceof Error ? e.message : String(e)); }
  } else peak = peakOpt;
  const kineto = ranks.filter((_, k) => !npu[k]);
  if (kineto.length > 0) {
    result.efficiency = efficiencyOf(kineto, peak ? { peak } : {}, atts?.filter((_, k) => !npu[k]));
    result.notes.push(...result.efficiency.notes);
  }
  if (ascend.length > 0) {
    result.npuPipes = npuPipesOf(ascend);
    result.notes.push(...result.npuPipes.notes);
  }
}

/**
 * Device activities whose duration cannot be real, per rank (GPU ranks: torch_npu's device tasks
 * are not checked): a diagnostic with examples and a note; with `drop`, the ranks' records
 * without them.
 */
function suspectDurations(ranks: RankData[], npu: readonly boolean[], diagnostics: Diagnostics, notes: string[], drop: boolean): void {
  let count = 0;
  let ns = 0;
  ranks.forEach((rank, k) => {
    if (npu[k]) return;
    const r = rank.records;
    const found = deviceSuspects(r);
    for (const x of found) {
      const i = x.index;
      ns += r.device.dur[i]!;
      diagnostics.add('suspect_device_duration', {
        file: rank.file, index: -1, name: r.names[r.device.name[i]!],
        detail: `${rank.label ? `${rank.label}, ` : ''}${r.threads[r.device.thread[i]!]?.tid ?? ''}: ${x.reason}`,
      });
    }
    count += found.length;
    if (drop && found.length > 0) rank.records = withoutSuspects(r, found);
  });
  if (count === 0) return;
  const what = `${count} device activit${count === 1 ? 'y' : 'ies'} (${Math.round(ns) / 1000} µs) with a duration that cannot be real (suspect_device_duration)`;
  notes.push(drop ? `${what}: left out of every view (--drop-suspect)` : `${what}: counted as recorded; --drop-suspect leaves them out`);
}

/**
 * The kernel view: torch_npu ranks with kernel_details.csv count its rows (with their OP type);
 * every other rank its device activities from the trace.
 */
function kernelView(ranks: readonly RankData[], details: readonly (KernelDetails | undefined)[], cats: Categorizer, busyNs: number): KernelStat[] {
  const parts = new Map<string, { category: string; type: string | undefined; list: Float64Array[] }>();
  const add = (name: string, category: string, type: string | undefined, durations: Float64Array): void => {
    const p = parts.get(name);
    if (!p) parts.set(name, { category, type, list: [durations] });
    else { p.list.push(durations); p.type ??= type; }
  };
  for (const [name, g] of durationsByName(ranks.filter((_, k) => details[k] === undefined))) add(name, cats.names[g.category] ?? 'other', undefined, g.durations);
  details.forEach((d) => {
    if (!d) return;
    for (const [name, g] of kernelDurations(d.rows)) add(name, g.communication ? COMMUNICATION : cats.names[cats.categoryOf(name, KIND_KERNEL)] ?? 'other', g.type, g.durations);
  });
  const groups: [string, KernelDurations][] = [];
  for (const [name, p] of parts) {
    let all = p.list[0]!;
    if (p.list.length > 1) {
      all = new Float64Array(p.list.reduce((a, l) => a + l.length, 0));
      let o = 0;
      for (const l of p.list) { all.set(l, o); o += l.length; }
    }
    groups.push([name, { category: p.category, type: p.type, durations: all }]);
  }
  return kernelStatsOf(groups, busyNs);
}

/** Runtime / driver calls summed over the files read (each file once), names in first-seen order. */
function apiCallsOf(jobs: readonly FileJob[], outcomes: readonly CollectOutcome[]): ApiCallStat[] {
  const total = new Map<string, { calls: number; ns: number }>();
  const seen = new Set<string>();
  jobs.forEach((job, k) => {
    if (seen.has(job.path)) return;
    seen.add(job.path);
    for (const x of outcomes[k]!.records.apiCalls ?? []) {
      const t = total.get(x.name);
      if (t) { t.calls += x.calls; t.ns += x.ns; } else total.set(x.name, { calls: x.calls, ns: x.ns });
    }
  });
  return [...total].map(([name, x]) => ({ name, calls: x.calls, totalUs: Math.round(x.ns) / 1000 }));
}

interface LooseRank {
  data: RankData;
  input: StatsInput;
  distRank: number | null;
  nameRank: number | null;
  /** Label when no rank is known (default: the file's stem). */
  stem?: string;
}

/**
 * Labels of inputs whose names carry no SGLang rank: `RANKnn` from distributedInfo.rank (or a
 * torch_npu profile's profiler_info), else from `rank-N` in the name; else the file's stem (a
 * torch_npu profile: its directory's name). Duplicates get `#2`, `#3`.
 */
function labelLoose(loose: LooseRank[], notes: string[]): void {
  const seen = new Map<string, number>();
  for (const l of loose) {
    const rank = l.distRank ?? l.nameRank;
    let label = rank !== null ? `RANK${pad(rank)}` : l.stem ?? (l.input.file === '-' ? 'stdin' : traceStem(l.input.file).replace(/\.(pt\.)?trace$/, ''));
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    if (n > 1) {
      notes.push(`${l.input.file}: rank label ${label} is taken by another input; using ${label}#${n}`);
      label = `${label}#${n}`;
    }
    l.data.label = label;
    l.input.label = label;
    if (l.data.rank === null && l.nameRank !== null) { l.data.rank = l.nameRank; l.input.rank = l.nameRank; }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading files: inline for one file, on worker threads for several

/** What one file's pass needs (plain data: it crosses to a worker thread). */
interface CollectRequest {
  path: string;
  categories: { category: string; source: string; flags: string }[];
  ops: boolean;
  opArgs?: boolean;
  groups: boolean;
  collectives: boolean;
  annotations?: { source: string; flags: string };
  apiCalls: boolean;
  /** Keep every runtime / driver call and device correlations (idle, launch views, attribution). */
  launches?: boolean;
  /** Keep Python frames (idle view, attribution). */
  python?: boolean;
  /**
   * A torch_npu trace_view.json: its ASCEND_PROFILER_OUTPUT, whether to read kernel_details.csv
   * there, and whether to match its rows' durations in the trace. `db`: the Db export (rows read
   * from it, exact ns); `partial`: no trace to read (CSV-only directory).
   */
  ascend?: { output: string; db?: string; partial?: boolean; details: boolean; durations: boolean } | undefined;
}

interface CollectOutcome {
  records: TraceRecords;
  top: FileTopLevel;
  events: number;
  bytes: number;
  diagnostics: DiagnosticEntry[];
  details?: KernelDetails;
  /** Why kernel_details.csv could not be read (missing, malformed). */
  detailsMissing?: string;
}

/** Both handlers, in turn, on every event. */
function both(a: ScanHandler, b: ScanHandler): ScanHandler {
  return {
    argMembers: a.argMembers === true || b.argMembers === true,
    topLevel: (entry, after) => { a.topLevel?.(entry, after); b.topLevel?.(entry, after); },
    event: (ev) => { a.event(ev); b.event(ev); },
  };
}

/** One file, one streaming pass. `onProgress` gets the compressed bytes read so far. */
async function collectFile(req: CollectRequest, onProgress?: (compressed: number) => void): Promise<CollectOutcome> {
  const cats = new Categorizer(req.categories.map((c) => ({ category: c.category, pattern: new RegExp(c.source, c.flags) })));
  const collector = new StatsCollector({
    categorize: (name, kind) => cats.categoryOf(name, kind),
    communication: cats.communication,
    ops: req.ops,
    opArgs: req.opArgs === true,
    groups: req.groups,
    collectives: req.collectives,
    // torch_npu writes ProfilerStep#N as a cpu_op: kept with the annotations
    ...(req.annotations && req.ascend ? { stepOps: new RegExp(req.annotations.source, req.annotations.flags) } : {}),
    apiCalls: req.apiCalls,
    launches: req.launches === true,
    python: req.python === true,
    file: req.path,
  });
  let details: KernelDetails | undefined;
  let detailsMissing: string | undefined;
  if (req.ascend?.details) {
    try {
      details = req.ascend.db !== undefined ? readDbKernelDetails(req.ascend.db) : readKernelDetails(req.ascend.output);
    } catch (e) {
      if (!(e instanceof TraceforgeError)) throw e;
      detailsMissing = e.message;
    }
  }
  const matcher = details && req.ascend?.durations && req.ascend.db === undefined ? new TraceDurationMatcher(details) : undefined;
  const scan = req.ascend?.partial ? { events: 0, bytes: 0 } : await scanFile(req.path, matcher ? both(collector, matcher) : collector, onProgress ? { afterChunk: (_b, c) => onProgress(c) } : {});
  matcher?.finish();
  return {
    records: collector.result(), top: collector.top, events: scan.events, bytes: scan.bytes, diagnostics: collector.diagnostics.list(),
    ...(details ? { details } : {}), ...(detailsMissing !== undefined ? { detailsMissing } : {}),
  };
}

const WORKER_KIND = 'traceforge-stats-collect';

type WorkerMessage =
  | { progress: number }
  | { ok: CollectOutcome }
  | { error: { code: string; message: string; file?: string; offset?: number } };

/**
 * One worker thread that reads files one after the other (collectAll gives each lane one): a
 * fresh worker per file would load the modules again and run its scan unoptimised again, which
 * for many small files costs more than the scan (64 ranks of 22 MB: see the commit message).
 */
class CollectWorker {
  private readonly w = new Worker(new URL(import.meta.url), { workerData: { kind: WORKER_KIND } });
  private pending: { resolve: (o: CollectOutcome) => void; reject: (e: unknown) => void; onProgress: ((compressed: number) => void) | undefined } | undefined;

  constructor() {
    this.w.on('message', (m: WorkerMessage) => {
      const p = this.pending;
      if (!p) return;
      if ('progress' in m) { p.onProgress?.(m.progress); return; }
      this.pending = undefined;
      if ('ok' in m) p.resolve(m.ok);
      else if (m.error.code !== 'BUG') p.reject(new TraceforgeError(m.error.code as ErrorCode, m.error.message, m.error.file, m.error.offset));
      else p.reject(new Error(m.error.message));
    });
    this.w.on('error', (e) => { const p = this.pending; this.pending = undefined; p?.reject(e); });
    this.w.on('exit', (code) => { const p = this.pending; this.pending = undefined; p?.reject(new Error(`stats worker exited (code ${code})`)); });
  }

  run(req: CollectRequest, onProgress?: (compressed: number) => void): Promise<CollectOutcome> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, onProgress };
      this.w.postMessage(req);
    });
  }

  close(): void { void this.w.terminate(); }
}

/** Every file, in input order; several files run on up to availableParallelism() worker threads. */
async function collectAll(reqs: CollectRequest[], onProgress?: (k: number, compressed: number) => void): Promise<CollectOutcome[]> {
  if (reqs.length === 1) return [await collectFile(reqs[0]!, onProgress && ((c) => onProgress(0, c)))];
  const out: CollectOutcome[] = new Array(reqs.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    const w = new CollectWorker();
    try {
      while (next < reqs.length) {
        const k = next++;
        out[k] = await w.run(reqs[k]!, onProgress && ((c) => onProgress(k, c)));
      }
    } catch (e) {
      next = reqs.length; // the other lanes stop after their current file
      throw e;
    } finally {
      w.close();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(reqs.length, availableParallelism())) }, lane));
  return out;
}

// Worker-thread entry: this module, loaded by CollectWorker, reads the files it is sent one at a time and posts their records.
if (!isMainThread && (workerData as { kind?: string } | null)?.kind === WORKER_KIND) {
  const port = parentPort!;
  port.on('message', (req: CollectRequest) => {
    let last = 0;
    collectFile(req, (c) => { if (c - last >= 1 << 20) { last = c; port.postMessage({ progress: c }); } }).then(
      (ok) => port.postMessage({ ok }),
      (e: unknown) => port.postMessage({
        error: e instanceof TraceforgeError
          ? { code: e.code, message: e.message, file: e.file, offset: e.offset }
          : { code: 'BUG', message: e instanceof Error ? e.stack ?? e.message : String(e) },
      }),
    );
  });
}
