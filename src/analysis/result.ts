/** The result of `stats`: one key per view that was asked for (JSON keys as the CLI writes them). */
import type { DiagnosticEntry } from '../model/diagnostics.js';
import type { EfficiencySummary } from './efficiency.js';
import type { NpuPipeSummary } from './npu-pipes.js';
import type { IdleView, LaunchView } from './idle-view.js';
import type { CommView } from './comm-view.js';
import type { NpuOpStat } from './ascend-kernels.js';
import type { CategoryStat, KernelStat } from './kernels.js';
import type { OpStatisticRow } from './op-statistic.js';
import type { OpStat } from './ops.js';
import type { RankComparison } from './ranks.js';
import type { StepStat } from './steps.js';
import type { RankSummary } from './summary.js';
import type { Utilization } from './utilization.js';
import type { AttributionSummary, SourceStat } from './source-view.js';

/**
 * `op-type`: torch_npu's op_statistic table (per OP Type and Core Type, per rank), computed from
 * kernel_details.csv; Ascend profiles only.
 */
export type StatsView = 'summary' | 'kernel' | 'category' | 'op' | 'op-type' | 'rank' | 'step' | 'idle' | 'launch' | 'efficiency' | 'source' | 'module' | 'comm';

/** Every view, in the order reports show them. */
export const STATS_VIEWS: readonly StatsView[] = ['summary', 'kernel', 'category', 'op', 'op-type', 'rank', 'step', 'idle', 'launch', 'efficiency', 'source', 'module', 'comm'];
export const DEFAULT_VIEWS: readonly StatsView[] = ['summary', 'kernel'];

/** One rank that was analysed. */
export interface StatsInput {
  label: string;
  file: string;
  rank: number | null;
  /** Events in the file (the whole file when it was split into ranks). */
  events: number;
  /** Decompressed bytes of the file. */
  bytes: number;
}

export interface OpLinks {
  /** Device activities linked to a cpu_op by `External id`, and the others. */
  linkedKernels: number;
  unlinkedKernels: number;
  unlinkedUs: number;
  /** CPU ops that start inside another op on their thread and end after it. */
  notNested: number;
  /** Graph replay kernels given their op by a capture or mapping trace (included in linkedKernels). */
  replayedKernels?: number;
  replayedUs?: number;
}

/** CPU-side runtime / driver API calls (all ranks), e.g. `cudaLaunchKernel`. */
export interface ApiCallStat {
  name: string;
  calls: number;
  totalUs: number;
}

/** op_statistic.csv of one rank, as torch_npu computes it. */
export interface OpTypeTable {
  label: string;
  rank: number | null;
  rows: OpStatisticRow[];
}

export interface StatsResult {
  views: StatsView[];
  /** What the devices are called in tables and the report: `NPU` when every rank is torch_npu, `device` when mixed. */
  device?: 'GPU' | 'NPU' | 'device';
  inputs: StatsInput[];
  summary?: RankSummary[];
  kernels?: KernelStat[];
  categories?: CategoryStat[];
  /** Op view of Kineto traces (cpu_op events); absent when every input is an Ascend profile. */
  ops?: OpStat[];
  opLinks?: OpLinks;
  /** Op view of Ascend profiles (kernel_details.csv, all ranks); absent without Ascend inputs. */
  npuOps?: NpuOpStat[];
  /** The op-type view: one table per Ascend rank that recorded OP types. */
  opTypes?: OpTypeTable[];
  ranks?: RankComparison;
  steps?: StepStat[];
  /** Achieved FLOP/s and bytes/s per op + shapes against the device's peak (Kineto traces). */
  efficiency?: EfficiencySummary;
  /** Pipe utilization and bound verdicts of torch_npu kernels (kernel_details.csv, PipeUtilization). */
  npuPipes?: NpuPipeSummary;
  /** How steps were found (ProfilerStep#N, a numbered annotation family, --step, none): step, idle and diff use it. */
  stepDetection?: { pattern: string | null; how: string; description: string };
  /** Idle time per device split into causes (idle-view.ts). */
  idle?: IdleView;
  /** The launch path per device activity name, launch APIs, queue depth per stream. */
  launch?: LaunchView;
  /** Device time by Python source location / by nn.Module chain (analysis/source-view.ts). */
  sources?: SourceStat[];
  modules?: SourceStat[];
  /** How much device time was attributed to ops and sources, by which route (when attributing). */
  attribution?: AttributionSummary;
  /** Collectives: bandwidth, skew, exposed communication; torch_npu communication files. */
  comm?: CommView;
  /** Runtime / driver calls of all inputs (each file counted once), when asked for. */
  apiCalls?: ApiCallStat[];
  /** Device utilization over time, when asked for. */
  utilization?: Utilization | null;
  /** Messages for the user (how ranks were found, views with nothing to show). */
  notes: string[];
  /** Data problems met in the events the statistics use. */
  diagnostics: DiagnosticEntry[];
}
