/**
 * The comm view (`stats --by comm`): collectives paired across ranks with bandwidth and skew
 * (collectives.ts), communication hidden under compute and exposed, per step (comm-overlap.ts),
 * compute kernels slowed by communication beside them, and for torch_npu ranks the vendor's
 * communication files with msprof's verdicts (ascend-comm.ts).
 */
import type { AscendCommView } from './ascend-comm.js';
import type { Categorizer } from './categories.js';
import { commCollectives, pairCollectives, type CommCollectives } from './collectives.js';
import { commPhases, kernelInflation, type CommPhase, type KernelInflation } from './comm-overlap.js';
import type { RankData, RankTimeline } from './timeline.js';

export interface CommView {
  /** Absent when no rank has communication kernels. */
  collectives?: CommCollectives;
  phases: CommPhase[];
  inflation: KernelInflation[];
  /** torch_npu ranks with communication.json / communication_matrix.json. */
  ascend?: AscendCommView;
}

/**
 * `hcomGroupSizes`: torch_npu group sizes by the last 3 digits of the group hash (what HCCL op
 * names carry), from the communication matrices (ascend-comm.ts `hcomGroupSizes`).
 */
export function commView(ranks: readonly RankData[], timelines: readonly RankTimeline[], cats: Categorizer, steps: RegExp, hcomGroupSizes?: ReadonlyMap<string, number>): { view: CommView; diagnostics: ReturnType<typeof pairCollectives>['diagnostics'] } {
  const p = pairCollectives(ranks, cats, hcomGroupSizes ? { hcomGroupSizes } : {});
  const phases = ranks.flatMap((r, k) => commPhases(r, timelines[k]!, steps));
  const view: CommView = {
    // no communication at all: nothing to split
    phases: phases.some((x) => x.communicationUs > 0) ? phases : [],
    inflation: kernelInflation(ranks, timelines, cats),
  };
  if (p.instances.length > 0) view.collectives = commCollectives(ranks, p);
  return { view, diagnostics: p.diagnostics };
}
