/** Everything the statistics pass keeps of one trace file (or, after a split, of one rank). */
import type { Annotation } from './annotations.js';
import type { CollectiveArgs } from './collectives.js';
import type { PidInfo } from './ascend-device.js';
import type { OpKey, OpRecords } from './cpu-ops.js';
import type { DeviceRecords } from './device.js';
import type { FlowRecords } from './flows.js';
import type { ApiCallRecord, LaunchRecords } from './launches.js';
import type { PythonRecords } from './python.js';
import type { ThreadInfo } from './threads.js';

export type { Annotation } from './annotations.js';
export type { CollectiveArgs } from './collectives.js';
export type { PidInfo } from './ascend-device.js';
export type { OpKey, OpRecords } from './cpu-ops.js';
export type { DeviceRecords } from './device.js';
export type { FlowRecords } from './flows.js';
export type { ApiCallRecord, LaunchRecords } from './launches.js';
export type { PythonRecords } from './python.js';
export type { ThreadInfo } from './threads.js';

export interface TraceRecords {
  /** Names of device activities. */
  names: string[];
  device: DeviceRecords;
  pids: PidInfo[];
  /** Tracks (pid, tid) of device activities, CPU ops, launches, Python frames, annotations. */
  threads: ThreadInfo[];
  groups: string[];
  /** Collective args of communication kernels (`device.coll` indexes it), when asked for. */
  collectives: CollectiveArgs[];
  ops: OpRecords | undefined;
  opKeys: OpKey[];
  /** Raw `Concrete Inputs` texts of ops (OpRecords.concrete indexes it), when collected. */
  opConcrete?: string[];
  /** `deviceProperties` of the trace (Kineto), when present. */
  devices?: DeviceProperties[];
  /** Every user annotation (CPU and GPU), and torch_npu's step cpu_ops. */
  annotations: Annotation[];
  /** Absolute ns (epoch) of time 0 of this record's times. */
  originNs: bigint;
  /** Runtime / driver API calls per name (first-seen order), when asked for. */
  apiCalls: ApiCallRecord[] | undefined;
  /** Every runtime / driver call, when asked for; names in `apiNames`. */
  launches: LaunchRecords | undefined;
  apiNames: string[];
  /** torch_npu's host↔device flow endpoints, when launches are collected (records/flows.ts). */
  flows?: FlowRecords | undefined;
  /** Kernel names that launch calls carry (HIP `args.kernel`). */
  launchKernelNames: string[];
  /** Python frames, when asked for; names in `frameNames`. */
  python: PythonRecords | undefined;
  frameNames: string[];
  /** Device activities that came from torch_npu's Ascend Hardware / HCCL processes. */
  ascendTasks: number;
}

/** One entry of Kineto's top-level `deviceProperties` (the fields the efficiency view reads). */
export interface DeviceProperties {
  id: number | null;
  name: string;
  numSms: number | null;
}

export interface FileTopLevel {
  deviceProperties?: DeviceProperties[];
  baseTimeNs: string | undefined;
  distributedInfo: Record<string, unknown> | undefined;
  /** The `traceforgeMerge` key of a trace written by `traceforge merge`. */
  merge: { ranks: { label: string; rank?: number | null; file?: string; pids: Record<string, unknown> }[] } | undefined;
}
