/** The result of `stats`: one key per view that was asked for (JSON keys as the CLI writes them). */
import type { DiagnosticEntry } from '../model/diagnostics.js';
import type { CategoryStat, KernelStat } from './kernels.js';
import type { OpStat } from './ops.js';
import type { RankComparison } from './ranks.js';
import type { StepStat } from './steps.js';
import type { RankSummary } from './summary.js';
import type { Utilization } from './utilization.js';

export type StatsView = 'summary' | 'kernel' | 'category' | 'op' | 'rank' | 'step';

/** Every view, in the order reports show them. */
export const STATS_VIEWS: readonly StatsView[] = ['summary', 'kernel', 'category', 'op', 'rank', 'step'];
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
}

/** CPU-side runtime / driver API calls (all ranks), e.g. `cudaLaunchKernel`. */
export interface ApiCallStat {
  name: string;
  calls: number;
  totalUs: number;
}

export interface StatsResult {
  views: StatsView[];
  inputs: StatsInput[];
  summary?: RankSummary[];
  kernels?: KernelStat[];
  categories?: CategoryStat[];
  ops?: OpStat[];
  opLinks?: OpLinks;
  ranks?: RankComparison;
  steps?: StepStat[];
  /** Runtime / driver calls of all inputs (each file counted once), when asked for. */
  apiCalls?: ApiCallStat[];
  /** Device utilization over time, when asked for. */
  utilization?: Utilization | null;
  /** Messages for the user (how ranks were found, views with nothing to show). */
  notes: string[];
  /** Data problems met in the events the statistics use. */
  diagnostics: DiagnosticEntry[];
}
