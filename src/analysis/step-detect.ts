/**
 * Steps found without flags: `ProfilerStep#N` when the trace has them; else the largest family
 * of CPU annotations that differ only by one number (`decode_step_0`, `decode_step_1`, ...;
 * SGLang's and vLLM's per-step ranges), whose members do not overlap on their thread and are
 * not parts of repeated larger annotations (layers of a step); else none. `--step REGEX`
 * overrides.
 */
import type { Annotation } from './records/trace-records.js';
import { DEFAULT_STEP_PATTERN } from './steps.js';

export interface StepDetection {
  /** The step annotations' pattern; undefined when no steps were found. */
  pattern: RegExp | undefined;
  /** How it was chosen. */
  how: 'flag' | 'ProfilerStep' | 'family' | 'none';
  /** One sentence for notes and `info`. */
  description: string;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The pattern of a family: the name with its last number replaced by `\d+`. */
function familyKey(name: string): { key: string; n: number } | undefined {
  const m = /^(.*\D|)(\d+)(\D*)$/s.exec(name);
  if (!m) return undefined;
  return { key: `^${escape(m[1]!)}\\d+${escape(m[3]!)}$`, n: Number(m[2]) };
}

/**
 * True when every member lies inside another CPU annotation of its thread whose name repeats
 * (`layer_0` .. `layer_7` inside each of several `decode_step`s): parts of steps, not steps.
 */
function insideRepeated(ranks: readonly (readonly Annotation[])[], key: string, byRank: Map<number, Annotation[]>): boolean {
  const re = new RegExp(key);
  for (const [k, members] of byRank) {
    const others = ranks[k]!.filter((a) => !a.gpu && !re.test(a.name));
    const times = new Map<string, number>();
    for (const a of others) times.set(a.name, (times.get(a.name) ?? 0) + 1);
    for (const m of members) {
      const inside = others.some((a) => a.thread === m.thread && a.start <= m.start && a.start + a.dur >= m.start + m.dur && (times.get(a.name) ?? 0) >= 2);
      if (!inside) return false;
    }
  }
  return true;
}

/**
 * Detects the step annotations over the annotations of all ranks (each list one rank's).
 * A family needs at least 2 members with distinct numbers, on one thread per rank, not
 * overlapping in time; the one covering the most wall time wins (steps contain their layers).
 */
export function detectSteps(ranks: readonly (readonly Annotation[])[], explicit?: RegExp): StepDetection {
  if (explicit) return { pattern: explicit, how: 'flag', description: `steps: annotations matching ${explicit.source} (--step)` };
  if (ranks.some((a) => a.some((x) => DEFAULT_STEP_PATTERN.test(x.name)))) {
    return { pattern: DEFAULT_STEP_PATTERN, how: 'ProfilerStep', description: 'steps: ProfilerStep#N annotations' };
  }
  const families = new Map<string, { nums: Set<number>; wall: number; ok: boolean; byRank: Map<number, Annotation[]> }>();
  ranks.forEach((anns, k) => {
    for (const a of anns) {
      if (a.gpu) continue;
      const f = familyKey(a.name);
      if (!f) continue;
      let fam = families.get(f.key);
      if (!fam) families.set(f.key, (fam = { nums: new Set(), wall: 0, ok: true, byRank: new Map() }));
      fam.nums.add(f.n);
      fam.wall += a.dur;
      let l = fam.byRank.get(k);
      if (!l) fam.byRank.set(k, (l = []));
      l.push(a);
    }
  });
  let best: string | undefined;
  let bestWall = -1;
  for (const [key, fam] of families) {
    if (fam.nums.size < 2) continue;
    for (const l of fam.byRank.values()) {
      if (new Set(l.map((a) => a.thread)).size > 1) { fam.ok = false; break; }
      l.sort((a, b) => a.start - b.start);
      for (let i = 1; i < l.length; i++) if (l[i]!.start < l[i - 1]!.start + l[i - 1]!.dur) { fam.ok = false; break; }
      if (!fam.ok) break;
    }
    if (fam.ok && insideRepeated(ranks, key, fam.byRank)) fam.ok = false;
    if (fam.ok && fam.wall > bestWall) { best = key; bestWall = fam.wall; }
  }
  if (best === undefined) return { pattern: undefined, how: 'none', description: 'steps: none found (no ProfilerStep#N, no family of numbered annotations); name them with --step REGEX' };
  const sample = [...families.get(best)!.byRank.values()][0]![0]!.name;
  return { pattern: new RegExp(best), how: 'family', description: `steps: the numbered annotations ${best} (e.g. ${sample}), found without --step` };
}
