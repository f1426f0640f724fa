/**
 * What the device slices of a torch_npu `trace_view.json` are (FORMATS.md §2). They carry no
 * `cat`; their process says what they are:
 * - "Ascend Hardware" (threads "Stream N"): every task the device ran. `args["Task Type"]`
 *   tells computing tasks (AI_CORE, AI_VECTOR_CORE, MIX_AIV, DSA_SQE, ...: the rows of
 *   kernel_details.csv) from copies (MEMCPY_ASYNC), stream synchronisation (EVENT_RECORD /
 *   EVENT_WAIT / PLACE_HOLDER: the stream waits, the device does no work) and the tasks HCCL
 *   puts on its stream for a collective (Notify Wait, Write Value, SDMA, ...);
 * - "HCCL" (older) or "Communication" (newer): the collectives (`hcom_allReduce__586_0_1` on
 *   the group's thread) with their steps nested inside on "Plane N" threads.
 * Checked on the level0/level1 fixtures: the union of the computing tasks equals the vendor's
 * own "Computing" time in step_trace_time.csv, the union of the HCCL slices its "Communication".
 * In a merged trace the process names carry a `[LABEL] ` prefix.
 */

export type AscendProcessKind = 'hardware' | 'communication';

/** The kind of a process by its name (with or without a merge's `[LABEL] ` prefix). */
export function ascendProcessKind(processName: string | undefined): AscendProcessKind | undefined {
  if (processName === undefined) return undefined;
  const bare = processName.replace(/^\[[^\]]*\] /, '');
  if (bare === 'Ascend Hardware') return 'hardware';
  if (bare === 'HCCL' || bare === 'Communication') return 'communication';
  return undefined;
}

/** The `[LABEL]` of a merged trace's process name ('' without one). */
export function processLabel(processName: string | undefined): string {
  return /^\[([^\]]*)\] /.exec(processName ?? '')?.[1] ?? '';
}

/**
 * - `compute`: a kernel (categorised by name like any kernel);
 * - `memcpy`: a copy;
 * - `sync`: stream bookkeeping (event record / wait, placeholders): not device work, left out;
 * - `collective-step`: a task HCCL put on the stream for a collective; the collective itself
 *   is a slice of the HCCL / Communication process, so these count only when that is absent.
 */
export type AscendTaskKind = 'compute' | 'memcpy' | 'sync' | 'collective-step';

// the Db export's TASK.taskType drops the _SQE suffix and names the placeholders PROFILING_ENABLE / _DISABLE
const SYNC = /^(EVENT_RECORD|EVENT_WAIT|PLACE_HOLDER|NOTIFY_RECORD|NOTIFY_WAIT|BARRIER)_SQE$|^(EVENT_RECORD|EVENT_WAIT|PROFILING_ENABLE|PROFILING_DISABLE)$/i;
const COLLECTIVE_STEP = /^(notify[ _]?(wait|record)|write[ _]?value|sdma|rdma([ _]?send)?|reduce[ _]?(inline|tbe)|local[ _]?copy)$/i;

/**
 * True for the steps of a collective on the HCCL / Communication process's "Plane N" threads
 * (Notify_Wait, Memcpy, Reduce_Inline, ...), as opposed to the collective (`hcom_allReduce_...`).
 */
export function isCollectiveStepName(name: string): boolean {
  return COLLECTIVE_STEP.test(name) || /^memcpy$/i.test(name);
}

/** The kind of an "Ascend Hardware" task from its `Task Type` ('' when absent) and name. */
export function ascendTaskKind(taskType: string, name: string): AscendTaskKind {
  if (SYNC.test(taskType)) return 'sync';
  if (/^MEMCPY/i.test(name) || /^PCIE_DMA_SQE$/i.test(taskType)) return 'memcpy';
  if (COLLECTIVE_STEP.test(taskType)) return 'collective-step';
  return 'compute';
}
