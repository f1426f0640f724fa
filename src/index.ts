/**
 * traceforge as a library: the same operations as the CLI, without printing or exiting.
 * Every function takes paths and options and returns plain result objects; data problems come
 * back as named diagnostics, bad input as a TraceforgeError with a stable `code`.
 */
export { TraceforgeError, isTraceforgeError, type ErrorCode } from './errors.js';
export { Diagnostics, DIAGNOSTICS, formatDiagnostics, type DiagnosticEntry, type DiagnosticName, type Severity } from './model/diagnostics.js';

// whole operations
export { fixTrace, defaultFixOutput, type FixOptions, type FixResult } from './pipeline/fix.js';
export { checkTrace, type CheckResult, type TrackCheck } from './pipeline/check.js';
export { mergeTraces, parseRankList, type MergeRequest, type MergeResult, type MergeOutcome, type MergeWindow } from './pipeline/merge.js';
export { serveTrace, perfettoLink, type ServeHandle } from './pipeline/serve.js';
export { splitTrace, parseSplit, partPath, MAX_PARTS, type SplitSpec, type SplitOptions, type SplitResult, type PartInfo } from './pipeline/split.js';
export { estimateUiLoad, PERFETTO_UI_MEMORY_BYTES, JSON_MEMORY_FACTOR, type UiLoadEstimate } from './pipeline/ui-load.js';
export { statsOf, STATS_VIEWS, DEFAULT_VIEWS, type StatsOptions, type StatsResult, type StatsView } from './pipeline/stats.js';
export type { StatsInput, ApiCallStat, OpTypeTable } from './analysis/result.js';
export type { KernelStat, CategoryStat } from './analysis/kernels.js';
export type { OpStat } from './analysis/ops.js';
export type { NpuOpStat } from './analysis/ascend-kernels.js';
export type { Utilization } from './analysis/utilization.js';
export type { EfficiencySummary, EfficiencyRow, EfficiencyCategory } from './analysis/efficiency.js';
export { estimateOp, MODELLED_OPS, type PerfEstimate, type OpInputs } from './analysis/perf-models/index.js';
export { DEVICE_PEAKS, peakOf, type DevicePeak } from './analysis/device-peaks.js';
export { pipeBound, type NpuPipeSummary, type NpuPipeRow } from './analysis/npu-pipes.js';
export { diffOf, DIFF_VIEWS, DEFAULT_DIFF_VIEWS, NORMALIZE_MODES, gateOf, type DiffRequest, type DiffResult, type DiffView, type Normalize, type Gate } from './pipeline/diff.js';
export { writeReport, reportDataOf, defaultReportOutput, type ReportOptions, type ReportOutcome, type ReportData } from './pipeline/report.js';
export { infoOf, type InfoResult, type TraceInfo, type AscendInfo, type Vendor } from './pipeline/info.js';

// pure analyses
export { diffStats, type DiffSide, type DiffOptions } from './analysis/diff.js';
export { KERNEL_NAME_RULES, matchKernelNames, type NameRule, type MatchLevel } from './analysis/kernel-match.js';
export {
  opStatistic, opStatisticOf, formatOpStatisticCsv, shapeStatistic, roundLikePython, pythonFloatText, shapesNotRecordedMessage, SHAPES_ADVICE,
  COMMUNICATION_CORE_TYPES, type KernelTiming, type OpStatisticRow, type OpStatisticResult, type ShapeStatRow, type ShapeStatistic,
} from './analysis/op-statistic.js';
export { bucketBusy, bucketWidthNs, utilizationOf, type BusyTimeline } from './analysis/utilization.js';

// renderers (stats results as text)
export { sectionsOf, type Section } from './report/sections.js';
export { renderTables } from './report/table.js';
export { renderCsv } from './report/csv.js';
export { renderMarkdown } from './report/markdown.js';
export { renderJson, jsonOf } from './report/json.js';

// building blocks: streaming reader and writer
export { TraceScanner, F as EventField, type ScannedEvent, type ScanHandler, type TopLevelEntry, type TraceShape } from './io/scanner.js';
export { scanFile, scanBuffer, type ScanResult, type ScanOptions } from './io/read.js';
export { readTraceBytes } from './io/source.js';
export { OutputFile, type OutputOptions } from './io/writer.js';
export { TraceWriter, type Patch } from './io/trace-writer.js';
export { phaseOf, stringField, rawField, argsOf } from './io/fields.js';

// pure transforms
export { assignLanes, findCrossings, orderByTrack, type SliceArrays, type FlowArrays, type LaneAssignment } from './transforms/lanes.js';
export { planLanes, suspectSlices, type LanePlan, type FixSummary, type IndexSuspect } from './transforms/fix-plan.js';

// pure analysis: device slices whose duration cannot be real
export { findSuspectDurations, suspectMask, SUSPECT_RULES, type DeviceSlices, type SuspectSlice, type SuspectRules } from './analysis/suspect.js';

// formats
export { discoverInputs, groupRankFiles, type DiscoveryResult, type RankGroup } from './formats/discover.js';
export { parseRankFileName, mergedFileName, compareProfileIds, rankLabel } from './formats/filenames.js';
export { ascendProfileOf, resolveTracePath, type AscendProfile } from './formats/ascend.js';
export {
  readKernelDetails, readOpStatistic, readStepTraceTime, attachTraceDurations, readCsv, parseCsv, streamCsv, CsvReader, parseShapes, csvNumber,
  OP_STATISTIC_COLUMNS, type KernelDetails, type KernelRow, type OpStatisticFileRow, type StepTraceRow, type CsvTable, type CsvRowHandler,
} from './formats/ascend-csv.js';
