/**
 * Per-rank trace file names: SGLang's naming scheme, loose `rank-N` names, which files in a
 * profile folder are not traces, and the name of a merged output (FORMATS.md §3).
 *
 * Pure string functions: no I/O. Every function takes a *basename* (no directory part).
 */

/** A rank's position in the parallel layout. Absent parts of a name are 0. */
export interface RankCoords {
  tp: number;
  dp: number;
  pp: number;
  ep: number;
}

/** Size of each parallel dimension in one group of rank files (1 when the dimension is unused). */
export type RankSizes = RankCoords;

/**
 * Profiling stage, normalised: SGLang's `profile_by_stage` writes `-EXTEND`/`-DECODE`;
 * a newer code path writes `-prefill`/`-decode`. `prefill` stays `PREFILL` (the word users
 * see in their file names), `decode` and `DECODE` are both `DECODE`.
 */
export type Stage = 'EXTEND' | 'PREFILL' | 'DECODE';

/** What an SGLang per-rank file name says. */
export interface RankFileName extends RankCoords {
  /** The user's profile prefix, when there is one (may contain dashes and digits). */
  prefix?: string;
  /** The profile id exactly as written (`1769071195.6634595`, `1763900000`). */
  profileId: string;
  /** Normalised stage, when the file is one stage of a `profile_by_stage` run. */
  stage?: Stage;
  /** The stage as spelled in the file name (`EXTEND`, `prefill`, ...), for output names. */
  stageSuffix?: string;
}

const STAGES: Readonly<Record<string, Stage>> = {
  EXTEND: 'EXTEND',
  DECODE: 'DECODE',
  prefill: 'PREFILL',
  decode: 'DECODE',
};

/**
 * `[{prefix}-]{profile_id}-TP-{tp}[-DP-{dp}][-PP-{pp}][-EP-{ep}][-{stage}].trace.json[.gz]`.
 * The prefix is greedy, so the profile id is always the last dash-separated part before `-TP-`.
 */
const SGLANG_NAME =
  /^(?:(.+)-)?(\d+(?:\.\d+)?)-TP-(\d+)(?:-DP-(\d+))?(?:-PP-(\d+))?(?:-EP-(\d+))?(?:-(EXTEND|DECODE|prefill|decode))?\.trace\.json(?:\.gz)?$/;

/** Parses an SGLang per-rank file name; null when the name does not follow the scheme. */
export function parseRankFileName(basename: string): RankFileName | null {
  const m = SGLANG_NAME.exec(basename);
  if (!m) return null;
  const [, prefix, profileId, tp, dp, pp, ep, stageSuffix] = m;
  if (profileId === undefined || tp === undefined) return null; // unreachable: both are required groups
  // `1763900000-DP-0-TP-0`: parts out of order would otherwise read as prefix `1763900000-DP`, id `0`
  if (prefix !== undefined && /(?:^|-)(?:TP|DP|PP|EP)$/.test(prefix)) return null;
  const parsed: RankFileName = {
    profileId,
    tp: Number(tp),
    dp: dp === undefined ? 0 : Number(dp),
    pp: pp === undefined ? 0 : Number(pp),
    ep: ep === undefined ? 0 : Number(ep),
  };
  if (prefix !== undefined) parsed.prefix = prefix;
  if (stageSuffix !== undefined) {
    const stage = STAGES[stageSuffix];
    if (stage !== undefined) {
      parsed.stage = stage;
      parsed.stageSuffix = stageSuffix;
    }
  }
  return parsed;
}

/**
 * `rank-N`, `rank_N` or `rankN` anywhere in a name (case-insensitive, not inside a longer word
 * such as `frank3`) → N; null when the name carries no rank (`worker_0.pt.trace.json.gz`,
 * `rank_not_found.json.gz`). The first match wins.
 */
export function rankFromLooseName(basename: string): number | null {
  const m = /(?:^|[^a-z])rank[-_]?(\d+)/i.exec(basename);
  return m?.[1] === undefined ? null : Number(m[1]);
}

/** Name of a torch_npu profiler output directory (`{worker}_{timestamp}_ascend_pt`). */
export function isAscendProfileDirName(basename: string): boolean {
  return /_ascend_pt$/.test(basename.replace(/[\\/]+$/, ''));
}

/**
 * True for a file in a profile folder that is not a trace to read:
 * - hidden files (`.foo.json`, macOS `._x.json`);
 * - outputs of earlier runs: `merged-*` (merge scripts, traceforge) and `perfetto-compatible-*`
 *   (the PDL fix script) — they copy the rank traces and would count every rank twice;
 * - anything whose name does not end in `.json` or `.json.gz` (case-insensitive). That keeps
 *   `*.trace.json.gz`, `*.pt.trace.json[.gz]` and torchrun's `rank-N.json.gz`, and drops SGLang's
 *   `*-memory*.pickle` snapshots, logs, CSVs, and bare `.gz` files (which could be any
 *   archive: `.tar.gz`, `.csv.gz`).
 * Directories are not judged here (see {@link isAscendProfileDirName}).
 */
export function isIgnoredFile(basename: string): boolean {
  if (basename.startsWith('.')) return true;
  if (basename.startsWith('merged-') || basename.startsWith('perfetto-compatible-')) return true;
  if (/-memory.*\.pickle$/i.test(basename)) return true;
  return !/\.json(?:\.gz)?$/i.test(basename);
}

/**
 * The merged output's name: `merged-[{prefix}-]{profile_id}[-{stageSuffix}].trace.json.gz`,
 * the stage spelled as in the inputs (`-EXTEND`, `-prefill`, ...).
 */
export function mergedFileName(group: { prefix?: string; profileId: string; stageSuffix?: string }): string {
  const prefix = group.prefix === undefined ? '' : `${group.prefix}-`;
  const stage = group.stageSuffix === undefined ? '' : `-${group.stageSuffix}`;
  return `merged-${prefix}${group.profileId}${stage}.trace.json.gz`;
}

const DECIMAL = /^(\d+)(?:\.(\d*))?$/;

/**
 * Orders profile ids as decimal numbers without converting them to floats, so ids longer than
 * a double's 17 significant digits still compare exactly: `9.9` < `10.5`,
 * `1769071195.66` < `1769071195.7`, `1.50` equals `1.5`. Returns -1, 0 or 1.
 * Ids that are not plain decimals sort after all decimal ones, among themselves as text.
 */
export function compareProfileIds(a: string, b: string): number {
  const ma = DECIMAL.exec(a);
  const mb = DECIMAL.exec(b);
  if (!ma || !mb) {
    if (ma) return -1;
    if (mb) return 1;
    return compareText(a, b);
  }
  const intA = (ma[1] ?? '').replace(/^0+(?=\d)/, '');
  const intB = (mb[1] ?? '').replace(/^0+(?=\d)/, '');
  if (intA.length !== intB.length) return intA.length < intB.length ? -1 : 1;
  if (intA !== intB) return compareText(intA, intB);
  const fracA = ma[2] ?? '';
  const fracB = mb[2] ?? '';
  const width = Math.max(fracA.length, fracB.length);
  return compareText(fracA.padEnd(width, '0'), fracB.padEnd(width, '0'));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sizes of a group: for each dimension, the largest index seen + 1 (1 for an empty list). */
export function groupSizes(ranks: readonly RankCoords[]): RankSizes {
  const sizes: RankSizes = { tp: 1, dp: 1, pp: 1, ep: 1 };
  for (const r of ranks) {
    sizes.tp = Math.max(sizes.tp, r.tp + 1);
    sizes.dp = Math.max(sizes.dp, r.dp + 1);
    sizes.pp = Math.max(sizes.pp, r.pp + 1);
    sizes.ep = Math.max(sizes.ep, r.ep + 1);
  }
  return sizes;
}

/**
 * A short rank label for track names: `TP03`, `TP03-DP01`, `TP00-DP01-PP02-EP05`.
 * TP is always shown; DP, PP and EP only when their size is above 1. Numbers are zero-padded
 * to two digits, or to the width of the largest index in the group (`TP007` when TP size is
 * 128) so labels of one group also sort as text.
 */
export function rankLabel(rank: RankCoords, sizes: RankSizes): string {
  const part = (name: string, index: number, size: number): string =>
    name + String(index).padStart(Math.max(2, String(Math.max(size - 1, 0)).length), '0');
  const parts = [part('TP', rank.tp, sizes.tp)];
  if (sizes.dp > 1) parts.push(part('DP', rank.dp, sizes.dp));
  if (sizes.pp > 1) parts.push(part('PP', rank.pp, sizes.pp));
  if (sizes.ep > 1) parts.push(part('EP', rank.ep, sizes.ep));
  return parts.join('-');
}

/**
 * A number that orders ranks by DP, then PP, then EP, then TP (each index must be below 1000,
 * far above any real layout). Usable as a sort key or a process sort index; for an exact
 * comparison without that limit use {@link compareRanks}.
 */
export function rankOrderKey(rank: RankCoords): number {
  return ((rank.dp * 1000 + rank.pp) * 1000 + rank.ep) * 1000 + rank.tp;
}

/** Compares ranks by DP, PP, EP, TP (for `Array.prototype.sort`). */
export function compareRanks(a: RankCoords, b: RankCoords): number {
  return a.dp - b.dp || a.pp - b.pp || a.ep - b.ep || a.tp - b.tp;
}
