/**
 * Finds the per-rank traces a command should read: expands directories and simple globs
 * ({@link discoverInputs}), then sorts the names into SGLang rank groups, loose files whose
 * rank must be read from their content, and ignored files ({@link groupRankFiles}).
 */
import { readdir, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import path from 'node:path';

import { TraceforgeError } from '../errors.js';
import { isTraceJson } from '../io/sniff.js';
import {
  compareProfileIds,
  compareRanks,
  groupSizes,
  isAscendProfileDirName,
  isIgnoredFile,
  mergedFileName,
  parseRankFileName,
  rankFromLooseName,
  rankLabel,
  type RankFileName,
  type RankSizes,
  type Stage,
} from './filenames.js';

/** One SGLang rank file of a group. */
export interface RankFile {
  path: string;
  name: RankFileName;
  /** `TP01-DP00`-style label, computed against the group's sizes. */
  label: string;
}

/** The rank files of one profile run (and one stage, for `profile_by_stage` runs). */
export interface RankGroup {
  prefix?: string;
  profileId: string;
  stage?: Stage;
  /** The stage as spelled in the group's file names (from its first file). */
  stageSuffix?: string;
  /** Largest index + 1 per dimension. */
  sizes: RankSizes;
  /** Ordered by DP, PP, EP, TP. */
  files: RankFile[];
  /** `merged-...trace.json.gz` (a basename; the caller picks the directory). */
  outputName: string;
}

/**
 * An input whose name does not follow SGLang's scheme. The caller reads the rank from its
 * content (`distributedInfo.rank`, or `profiler_info*.json` for an Ascend directory).
 */
export interface LooseInput {
  path: string;
  /** `file`: a trace file; `ascend-dir`: a torch_npu `*_ascend_pt` directory. */
  kind: 'file' | 'ascend-dir';
  /** The rank from a `rank-N`/`rank_N`/`rankN` file name; always null for Ascend directories. */
  rank: number | null;
}

/** Which profile id was used when the inputs held several. */
export interface ProfileChoice {
  chosen: string;
  /** The other ids found, newest first. */
  passedOver: string[];
  /** One line for the user, e.g. "3 profile ids found; using the newest, ...". */
  message: string;
}

/** What {@link groupRankFiles} found. */
export interface DiscoveryResult {
  /** Sorted by prefix, profile id, stage (none, EXTEND, PREFILL, DECODE). */
  groups: RankGroup[];
  /** Sorted by rank (named ranks first), then path. */
  loose: LooseInput[];
  /** Paths skipped by {@link isIgnoredFile}, in input order. */
  ignored: string[];
  /**
   * JSON files found in a directory or by a glob that are not traces (an object without
   * `traceEvents`: a config, a truth file), skipped; also listed in `ignored`.
   */
  notTraces?: string[];
  /** Present when several profile ids were found, or one was asked for. */
  profileChoice?: ProfileChoice;
}

export interface DiscoverOptions {
  /**
   * Use this profile id (exact text, or `{prefix}-{id}`) instead of the newest.
   * Throws E_NOT_FOUND when no file has it.
   */
  profileId?: string;
}

const STAGE_ORDER: Readonly<Record<Stage, number>> = { EXTEND: 1, PREFILL: 2, DECODE: 3 };

/**
 * Sorts paths (by their basenames only; no I/O) into SGLang rank groups, loose inputs and
 * ignored files. Files are grouped by (prefix, profile id, stage). With several profile ids
 * and no `opts.profileId`, only the newest id's groups are kept and `profileChoice` says so.
 * Throws E_RANKS when two files of a kept group claim the same rank.
 */
export function groupRankFiles(paths: readonly string[], opts: DiscoverOptions = {}): DiscoveryResult {
  const ignored: string[] = [];
  const loose: LooseInput[] = [];
  const byKey = new Map<string, { path: string; name: RankFileName }[]>();
  const seen = new Set<string>();

  for (const p of paths) {
    if (seen.has(p)) continue;
    seen.add(p);
    const base = path.basename(p);
    if (isAscendProfileDirName(base)) {
      loose.push({ path: p, kind: 'ascend-dir', rank: null });
      continue;
    }
    if (isIgnoredFile(base)) {
      ignored.push(p);
      continue;
    }
    const name = parseRankFileName(base);
    if (name === null) {
      loose.push({ path: p, kind: 'file', rank: rankFromLooseName(base) });
      continue;
    }
    const key = JSON.stringify([name.prefix ?? null, name.profileId, name.stage ?? null]);
    const list = byKey.get(key);
    if (list) list.push({ path: p, name });
    else byKey.set(key, [{ path: p, name }]);
  }

  let entries = [...byKey.values()];
  const result: DiscoveryResult = { groups: [], loose: sortLoose(loose), ignored };

  const ids = distinctIds(entries);
  if (opts.profileId !== undefined) {
    const wanted = opts.profileId;
    const matches = (n: RankFileName): boolean =>
      n.profileId === wanted || (n.prefix !== undefined && `${n.prefix}-${n.profileId}` === wanted);
    entries = entries.filter((files) => files[0] !== undefined && matches(files[0].name));
    if (entries.length === 0) {
      const found = ids.length === 0 ? 'no SGLang rank files were found' : `found: ${ids.join(', ')}`;
      throw new TraceforgeError('E_NOT_FOUND', `profile id ${wanted} not found (${found})`);
    }
    if (ids.length > 1) {
      const chosen = entries[0]?.[0]?.name.profileId ?? wanted;
      const passedOver = ids.filter((id) => id !== chosen);
      result.profileChoice = {
        chosen,
        passedOver,
        message: `using profile ${chosen} as asked; also present: ${passedOver.join(', ')}`,
      };
    }
  } else if (ids.length > 1) {
    const [chosen, ...passedOver] = ids;
    if (chosen !== undefined) {
      const counts = new Map<string, number>();
      for (const files of entries) {
        const id = files[0]?.name.profileId;
        if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + files.length);
      }
      const describe = (id: string): string => `${id} (${counts.get(id) ?? 0} files)`;
      entries = entries.filter((files) => files[0]?.name.profileId === chosen);
      result.profileChoice = {
        chosen,
        passedOver,
        message:
          `${ids.length} profile ids found; using the newest, ${describe(chosen)}; ` +
          `passed over: ${passedOver.map(describe).join(', ')}. Ask for another by its profile id.`,
      };
    }
  }

  result.groups = entries.map(makeGroup).sort(compareGroups);
  return result;
}

/** Distinct profile ids of the grouped files, newest first. */
function distinctIds(entries: readonly { name: RankFileName }[][]): string[] {
  const ids = new Set<string>();
  for (const files of entries) for (const f of files) ids.add(f.name.profileId);
  return [...ids].sort((a, b) => compareProfileIds(b, a) || (a < b ? -1 : a > b ? 1 : 0));
}

function makeGroup(entries: { path: string; name: RankFileName }[]): RankGroup {
  const sorted = [...entries].sort((a, b) => compareRanks(a.name, b.name) || compareStrings(a.path, b.path));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (prev && cur && compareRanks(prev.name, cur.name) === 0) {
      const { tp, dp, pp, ep } = cur.name;
      throw new TraceforgeError(
        'E_RANKS',
        `two files claim the same rank (TP ${tp}, DP ${dp}, PP ${pp}, EP ${ep}) of profile ` +
          `${cur.name.profileId}: ${prev.path} and ${cur.path}`,
        cur.path,
      );
    }
  }
  const first = sorted[0];
  if (!first) throw new Error('makeGroup: empty group'); // groups are created with one file
  const sizes = groupSizes(sorted.map((f) => f.name));
  const group: RankGroup = {
    profileId: first.name.profileId,
    sizes,
    files: sorted.map((f) => ({ path: f.path, name: f.name, label: rankLabel(f.name, sizes) })),
    outputName: mergedFileName(first.name),
  };
  if (first.name.prefix !== undefined) group.prefix = first.name.prefix;
  if (first.name.stage !== undefined) group.stage = first.name.stage;
  if (first.name.stageSuffix !== undefined) group.stageSuffix = first.name.stageSuffix;
  return group;
}

function compareGroups(a: RankGroup, b: RankGroup): number {
  return (
    compareStrings(a.prefix ?? '', b.prefix ?? '') ||
    compareProfileIds(a.profileId, b.profileId) ||
    compareStrings(a.profileId, b.profileId) ||
    (a.stage ? STAGE_ORDER[a.stage] : 0) - (b.stage ? STAGE_ORDER[b.stage] : 0)
  );
}

function sortLoose(loose: LooseInput[]): LooseInput[] {
  return loose.sort((a, b) => {
    if (a.rank !== b.rank) {
      if (a.rank === null) return 1;
      if (b.rank === null) return -1;
      return a.rank - b.rank;
    }
    return compareStrings(a.path, b.path);
  });
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Expanding command-line arguments (I/O)
// ---------------------------------------------------------------------------------------------

const LOOKED_FOR = '*.json, *.json.gz and *_ascend_pt/ (skipping merged-*, *-memory*.pickle, hidden files)';

/**
 * Expands command-line inputs, then groups them with {@link groupRankFiles}. Each argument is:
 * - a directory: its entries (not recursive; hidden entries skipped), including any
 *   `*_ascend_pt` subdirectories, which come back as loose `ascend-dir` inputs;
 *   a `*_ascend_pt` directory itself is returned as one such input;
 * - a glob with `*`/`?` in its last path component only (`traces/1769*-TP-*.gz`); `*` does not
 *   match a leading dot;
 * - a file, taken as named (still subject to {@link isIgnoredFile}).
 * Throws E_INPUT for a named path that does not exist, E_USAGE for a glob in a directory part,
 * and E_NOT_FOUND (saying where and what was looked for) when nothing usable is found.
 */
export async function discoverInputs(args: readonly string[], opts: DiscoverOptions = {}): Promise<DiscoveryResult> {
  const found: string[] = [];
  const searched: string[] = [];
  /** Files found in a directory or by a glob (not named): sniffed for being traces. */
  const listed = new Set<string>();
  /** Subdirectories of a directory argument (not searched; named when nothing is found). */
  const subdirs: string[] = [];

  for (const arg of args) {
    const dir = path.dirname(arg);
    const last = path.basename(arg);
    if (hasGlob(dir)) {
      throw new TraceforgeError('E_USAGE', `${arg}: wildcards are only supported in the last part of a path`);
    }
    if (hasGlob(last)) {
      const matcher = globToRegExp(last);
      const entries = await listDir(dir, arg);
      searched.push(`${path.resolve(dir)} for ${last}`);
      for (const entry of entries) {
        if (!matcher.test(entry.name)) continue;
        const p = path.join(dir, entry.name);
        const kind = await entryKind(p, entry);
        if (kind === 'file' || (kind === 'dir' && isAscendProfileDirName(entry.name))) { found.push(p); listed.add(p); }
      }
      continue;
    }
    const info = await stat(arg).catch((e: unknown) => {
      throw new TraceforgeError('E_INPUT', `${arg}: ${errnoText(e)}`, arg);
    });
    if (info.isDirectory() && !isAscendProfileDirName(last)) {
      searched.push(`${path.resolve(arg)} for ${LOOKED_FOR}`);
      for (const entry of await listDir(arg, arg)) {
        if (entry.name.startsWith('.')) continue;
        const p = path.join(arg, entry.name);
        const kind = await entryKind(p, entry);
        if (kind === 'file' || (kind === 'dir' && isAscendProfileDirName(entry.name))) { found.push(p); listed.add(p); }
        else if (kind === 'dir') subdirs.push(p);
      }
    } else {
      found.push(arg);
    }
  }

  const notTraces: string[] = [];
  for (const p of listed) {
    if (!isIgnoredFile(path.basename(p)) && /\.json(\.gz)?$/i.test(p) && !(await isTraceJson(p))) notTraces.push(p);
  }
  const result = groupRankFiles(dedupe(found.filter((p) => !notTraces.includes(p))), opts);
  if (notTraces.length > 0) {
    result.notTraces = notTraces;
    result.ignored.push(...notTraces);
  }
  if (result.groups.length === 0 && result.loose.length === 0) {
    const where = searched.length > 0 ? `looked in ${searched.join('; ')}` : `looked at ${args.join(', ')}`;
    const skipped =
      result.ignored.length === 0
        ? ''
        : `; skipped ${result.ignored.length} non-trace file(s): ${result.ignored
            .slice(0, 5)
            .map((p) => path.basename(p))
            .join(', ')}${result.ignored.length > 5 ? ', ...' : ''}`;
    const deeper = subdirs.length === 0 ? '' : `; subdirectories are not searched: pass one of ${subdirs.slice(0, 5).join(', ')}${subdirs.length > 5 ? ', ...' : ''}`;
    throw new TraceforgeError('E_NOT_FOUND', `no trace files found: ${where}${skipped}${deeper}`);
  }
  return result;
}

/** The note for JSON files skipped because they are not traces, if any. */
export function notTracesNote(found: DiscoveryResult): string | undefined {
  const n = found.notTraces ?? [];
  if (n.length === 0) return undefined;
  const names = n.slice(0, 5).map((p) => path.basename(p)).join(', ');
  return `skipped ${n.length} JSON file(s) that are not traces (no "traceEvents" array, not an array of events): ${names}${n.length > 5 ? ', ...' : ''}`;
}

function hasGlob(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

/** `*` → any run of characters, `?` → one character; neither matches a leading dot. */
function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const hiddenGuard = pattern.startsWith('.') ? '' : '(?!\\.)';
  return new RegExp(`^${hiddenGuard}${source}$`, 's');
}

async function listDir(dir: string, arg: string): Promise<Dirent[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.sort((a, b) => compareStrings(a.name, b.name));
  } catch (e) {
    throw new TraceforgeError('E_NOT_FOUND', `${arg}: cannot list ${path.resolve(dir)}: ${errnoText(e)}`, dir);
  }
}

/** File or directory, following symbolic links; null for anything else or a dangling link. */
async function entryKind(p: string, entry: Dirent): Promise<'file' | 'dir' | null> {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  if (!entry.isSymbolicLink()) return null;
  try {
    const info = await stat(p);
    return info.isFile() ? 'file' : info.isDirectory() ? 'dir' : null;
  } catch {
    return null;
  }
}

/** Drops repeats of one file reached twice (`dir` and `dir/*`), keeping the first spelling. */
function dedupe(paths: readonly string[]): string[] {
  const seen = new Set<string>();
  return paths.filter((p) => {
    const key = path.resolve(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function errnoText(e: unknown): string {
  if (e instanceof Error && 'code' in e) {
    if (e.code === 'ENOENT') return 'no such file or directory';
    if (e.code === 'EACCES') return 'permission denied';
    if (e.code === 'ENOTDIR') return 'not a directory';
  }
  return e instanceof Error ? e.message : String(e);
}
