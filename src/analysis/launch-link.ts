/**
 * Where launches are matched: each device activity to the CPU runtime / driver call that put it
 * on the device, by their shared `correlation` (the id Kineto writes on both; the `ac2g` flow
 * arrows carry the same id). Every launch API of CUDA (runtime and driver), HIP and old Kineto is
 * known by name (`LAUNCH_APIS` below); a device activity whose correlation matches no call is
 * counted as unmatched, never dropped silently.
 *
 * A CUDA-graph replay is one call (`cudaGraphLaunch` / `hipGraphLaunch`) for all the kernels of
 * the replay: they all carry its correlation and all match it.
 *
 * torch_npu: a device task's `connection_id` is its correlation (the CANN API call with the same
 * id launched it); tasks it leaves unmatched are linked by the trace's HostToDevice and
 * torch_to_npu flows (npu-launch-link.ts), which also give each task the CPU thread of the op
 * that issued it.
 */
import type { TraceRecords } from './records/trace-records.js';
import { IdIndex } from '../model/id-index.js';
import { linkByFlows } from './npu-launch-link.js';

/** What a runtime / driver call does. */
export type ApiKind = 'kernel' | 'graph' | 'memcpy' | 'memset' | 'sync' | 'wait' | 'queue' | 'other';

/**
 * Launch APIs by name, with real examples: cudaLaunchKernel, cudaLaunchKernelExC,
 * cudaLaunchCooperativeKernel, cuLaunchKernel, cuLaunchKernelEx, hipLaunchKernel,
 * hipExtLaunchKernel, hipModuleLaunchKernel, hipExtModuleLaunchKernel, hipHccModuleLaunchKernel,
 * old Kineto's cudaLaunch; cudaGraphLaunch, cuGraphLaunch, hipGraphLaunch.
 */
const KERNEL_LAUNCH = /^(?:cuda|cu|hip)\w*Launch\w*Kernel|^cudaLaunch(?:_v\d+)?$/;
const GRAPH_LAUNCH = /^(?:cuda|cu|hip)GraphLaunch/;
/** Copies and sets, asynchronous or not: cudaMemcpyAsync, cuMemcpyHtoDAsync, hipMemcpyWithStream, cudaMemset2DAsync, ... */
const MEMCPY = /^(?:cuda|cu|hip)Memcpy/;
const MEMSET = /^(?:cuda|cu|hip)Memset/;
/**
 * Calls that block the CPU until the device caught up: stream / device / event / context
 * synchronize, and the copies that are synchronous by definition (cudaMemcpy, cudaMemcpy2D,
 * hipMemcpy, hipMemcpyWithStream; `.item()` is a cudaMemcpyAsync followed by a
 * cudaStreamSynchronize).
 */
const SYNC = /^(?:cuda|cu|hip)(?:Stream|Device|Event|Ctx|Thread)Synchronize|^(?:cuda|hip)Memcpy(?:2D|3D|Peer|FromSymbol|ToSymbol)?$|^hipMemcpyWithStream$|^cuMemcpy(?:HtoD|DtoH|DtoD)?(?:_v2)?$/;
/** A stream waiting on an event of another stream (no CPU block; a device-side dependency). */
const WAIT = /^(?:cuda|cu|hip)StreamWaitEvent/;

/**
 * torch_npu's host calls (the CANN process of trace_view.json, `level@name`): `Node@launch` (an
 * operator's tasks), `Hccl@HcclAllreduce` / `Hccl@Launch_Ffts` (a collective), and the AscendCL
 * operator calls that put tasks on a stream themselves (`AscendCL@aclnnInplaceCopy`,
 * `AscendCL@aclopCompileAndExecute`, not their `...GetWorkspaceSize` halves) launch kernels;
 * `AscendCL@aclrtMemcpyAsync` copies, `AscendCL@aclrtMemsetAsync` sets; the stream / device /
 * event synchronize calls (`AscendCL@aclrtSynchronizeStreamWithTimeout`,
 * `AscendCL@aclrtSynchronizeDevice`) and the blocking `AscendCL@aclrtMemcpy` (behind `.item()`)
 * synchronise; `AscendCL@aclrtStreamWaitEvent` waits. `Dequeue` is torch_npu's task queue
 * handing an op to the thread that launches it.
 */
const NPU_KERNEL = /^Node@launch$|^Hccl@|^AscendCL@(?:aclnn(?!\w*GetWorkspaceSize$)\w+|aclopCompileAndExecute\w*|aclopExecute\w*)$/;
const NPU_SYNC = /^AscendCL@aclrt(?:Synchronize(?:Stream|Device|Event)\w*|Memcpy(?:2d)?)$/;
const NPU_MEMCPY = /^AscendCL@aclrtMemcpy\w*Async$/;
const NPU_MEMSET = /^AscendCL@aclrtMemset\w*$/;
const NPU_WAIT = /^AscendCL@aclrtStreamWaitEvent\w*$/;

/** The kind of a runtime / driver call, from its name. */
export function apiKindOf(name: string): ApiKind {
  if (name.includes('@') || name === 'Dequeue') return npuKindOf(name);
  if (GRAPH_LAUNCH.test(name)) return 'graph';
  if (KERNEL_LAUNCH.test(name)) return 'kernel';
  if (SYNC.test(name)) return 'sync';
  if (MEMCPY.test(name)) return 'memcpy';
  if (MEMSET.test(name)) return 'memset';
  if (WAIT.test(name)) return 'wait';
  return 'other';
}

function npuKindOf(name: string): ApiKind {
  if (name === 'Dequeue') return 'queue';
  if (NPU_KERNEL.test(name)) return 'kernel';
  if (NPU_SYNC.test(name)) return 'sync';
  if (NPU_MEMCPY.test(name)) return 'memcpy';
  if (NPU_MEMSET.test(name)) return 'memset';
  if (NPU_WAIT.test(name)) return 'wait';
  return 'other';
}

/** True for runtime / driver calls that launch kernels or graphs. */
export function isLaunchCall(name: string): boolean {
  const k = apiKindOf(name);
  return k === 'kernel' || k === 'graph';
}

export interface LaunchLinks {
  /** Per device activity: index into records.launches of its launch call, or -1. */
  launchOf: Int32Array;
  /** Per runtime / driver name (index into records.apiNames): its kind. */
  kinds: ApiKind[];
  /** Device activities matched to a call, and the ones with no matching call. */
  matched: number;
  unmatched: number;
  /** Unmatched ones without any correlation in the trace (old or foreign traces). */
  withoutCorrelation: number;
  /** First few unmatched device activities (index into device records). */
  unmatchedExamples: number[];
  /**
   * torch_npu: per device activity, the CPU thread (index into records.threads) of the op that
   * issued it (the torch_to_npu flow's start), or -1; absent for other traces, where the
   * launching thread is the issuing one.
   */
  issuer?: Int32Array;
  /** torch_npu: activities matched by correlation (`connection_id`), by a HostToDevice flow, by torch_to_npu + the task queue. */
  via?: { correlation: number; hostToDevice: number; taskQueue: number };
}

/**
 * Links device activities to launch calls by correlation. Needs records collected with
 * `launches: true`; without them every activity is unmatched.
 */
export function linkLaunches(r: TraceRecords, examples = 5): LaunchLinks {
  const memo = linksMemo.get(r);
  if (memo && memo.examples >= examples) return memo.links;
  const d = r.device;
  const l = r.launches;
  const kinds = r.apiNames.map(apiKindOf);
  // the first call with the id wins (a correlation is unique per process and run)
  const byCorr = new IdIndex(l ? l.corr : new Float64Array(0), true);
  const launchOf = new Int32Array(d.count).fill(-1);
  let matched = 0;
  let withoutCorrelation = 0;
  const unmatchedExamples: number[] = [];
  for (let i = 0; i < d.count; i++) {
    const c = d.corr[i]!;
    const k = byCorr.get(c);
    if (k >= 0) { launchOf[i] = k; matched++; continue; }
    if (c !== c) withoutCorrelation++;
    if (unmatchedExamples.length < examples) unmatchedExamples.push(i);
  }
  let links: LaunchLinks = { launchOf, kinds, matched, unmatched: d.count - matched, withoutCorrelation, unmatchedExamples };
  if (r.flows && r.flows.count > 0) links = withFlows(r, links, examples);
  linksMemo.set(r, { examples, links });
  return links;
}

/** The links of a torch_npu trace completed by its flows (npu-launch-link.ts). */
function withFlows(r: TraceRecords, byCorr: LaunchLinks, examples: number): LaunchLinks {
  const d = r.device;
  const issuer = new Int32Array(d.count).fill(-1);
  const launchOf = byCorr.launchOf;
  const f = linkByFlows(r, launchOf, issuer);
  let matched = 0;
  let withoutCorrelation = 0;
  const unmatchedExamples: number[] = [];
  for (let i = 0; i < d.count; i++) {
    if (launchOf[i]! >= 0) { matched++; continue; }
    if (d.corr[i] !== d.corr[i]) withoutCorrelation++;
    if (unmatchedExamples.length < examples) unmatchedExamples.push(i);
  }
  return {
    launchOf, kinds: byCorr.kinds, matched, unmatched: d.count - matched, withoutCorrelation, unmatchedExamples, issuer,
    via: { correlation: byCorr.matched, hostToDevice: f.hostToDevice, taskQueue: f.taskQueue },
  };
}

/** Links computed once per records (the idle, launch and attribution views all ask). */
const linksMemo = new WeakMap<TraceRecords, { examples: number; links: LaunchLinks }>();
