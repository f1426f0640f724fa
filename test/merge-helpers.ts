/**
 * Helpers for the merge tests: paths, temp dirs, and an INDEPENDENT reading of traces.
 *
 * Nothing here imports from src/. Events are split out of the raw JSON bytes by a small byte
 * walker (so the exact text of `ts`, `pid`, `id`... can be compared), and each event is also
 * JSON.parse'd. Times are compared as exact decimals (BigInt), never as doubles.
 *
 * {@link checkMergedSegments} is the oracle for a merge output: given which input events each
 * output rank should keep, it walks the output position by position and checks every event
 * against its input event (pid renumbering, rank-local ts shift, per-rank id offsets, lane tids).
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

// ---------------------------------------------------------------------------------------------
// Paths, temp dirs

/** Repository root (this file compiles to <root>/dist/test/merge-helpers.js). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const REAL = path.join(REPO_ROOT, 'test', 'fixtures', 'real');
export const TP2_0 = path.join(REAL, 'h200', 'tp2', '1763900000-TP-0.trace.json.gz');
export const TP2_1 = path.join(REAL, 'h200', 'tp2', '1763900000-TP-1.trace.json.gz');
export const HTA_0 = path.join(REAL, 'public', 'hta', 'sampled_rank-0.json.gz');
export const HTA_1 = path.join(REAL, 'public', 'hta', 'sampled_rank-1.json.gz');
export const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export async function withTempDir<T>(tag: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `traceforge-merge-test-${tag}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Copies `src` to `dir/name`; returns the new path. */
export function copyAs(src: string, dir: string, name: string): string {
  const p = path.join(dir, name);
  copyFileSync(src, p);
  return p;
}

/** Bytes of a file, gunzipped when it starts with the gzip magic bytes. */
export function readDecompressed(p: string): Buffer {
  const raw = readFileSync(p);
  return raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
}

// ---------------------------------------------------------------------------------------------
// A raw JSON walker over bytes (structural characters are ASCII; UTF-8 continuation bytes are
// never ASCII, so walking bytes is exact).

const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipWs(b: Buffer, i: number): number {
  while (i < b.length && isWs(b[i])) i++;
  return i;
}

function skipString(b: Buffer, i: number): number {
  i++;
  while (i < b.length) {
    const c = b[i];
    if (c === 0x5c) i += 2;
    else if (c === 0x22) return i + 1;
    else i++;
  }
  throw new Error('unterminated string');
}

function skipValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === 0x22) return skipString(b, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (i < b.length) {
      const d = b[i];
      if (d === 0x22) { i = skipString(b, i); continue; }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    throw new Error('unterminated container');
  }
  while (i < b.length) {
    const d = b[i];
    if (d === 0x2c || d === 0x7d || d === 0x5d || isWs(d)) break;
    i++;
  }
  return i;
}

interface Member { key: string; vs: number; ve: number }

/** Members of the object starting at b[i] === '{' (keys decoded, value spans raw). */
function objectMembers(b: Buffer, i: number): { members: Member[]; end: number } {
  assert.equal(b[i], 0x7b, `expected { at ${i}`);
  i = skipWs(b, i + 1);
  const members: Member[] = [];
  if (b[i] === 0x7d) return { members, end: i + 1 };
  for (;;) {
    const ks = i;
    const ke = skipString(b, i);
    const key = JSON.parse(b.toString('utf8', ks, ke)) as string;
    i = skipWs(b, ke);
    assert.equal(b[i], 0x3a, `expected : at ${i}`);
    const vs = skipWs(b, i + 1);
    const ve = skipValue(b, vs);
    members.push({ key, vs, ve });
    i = skipWs(b, ve);
    if (b[i] === 0x2c) { i = skipWs(b, i + 1); continue; }
    assert.equal(b[i], 0x7d, `expected , or } at ${i}`);
    return { members, end: i + 1 };
  }
}

/** One event: its raw member texts and its parsed value. */
export interface Ev {
  index: number;
  /** Raw JSON text of each top-level member (first occurrence). */
  raw: Record<string, string>;
  /** Member keys in file order. */
  keys: string[];
  v: Record<string, unknown>;
  ph: string | undefined;
  name: string | undefined;
  /** Raw pid text (e.g. `632`, `"Spans"`), or undefined. */
  pid: string | undefined;
}

export interface Trace {
  /** Top-level members other than traceEvents, parsed (big integers lose digits: see topRaw). */
  top: Record<string, unknown>;
  /** Raw JSON text of the top-level members other than traceEvents. */
  topRaw: Record<string, string>;
  events: Ev[];
}

/** Splits a Chrome-trace JSON (object with traceEvents, or a bare array) into events. */
export function parseTrace(b: Buffer): Trace {
  let i = skipWs(b, b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0);
  const top: Record<string, unknown> = {};
  const topRaw: Record<string, string> = {};
  let arr = -1;
  if (b[i] === 0x5b) arr = i;
  else {
    for (const m of objectMembers(b, i).members) {
      if (m.key === 'traceEvents') arr = m.vs;
      else {
        topRaw[m.key] = b.toString('utf8', m.vs, m.ve);
        top[m.key] = JSON.parse(topRaw[m.key]!);
      }
    }
  }
  const events: Ev[] = [];
  if (arr < 0) return { top, topRaw, events };
  i = skipWs(b, arr + 1);
  while (i < b.length && b[i] !== 0x5d) {
    const start = i;
    const { members, end } = objectMembers(b, i);
    const raw: Record<string, string> = {};
    const keys: string[] = [];
    for (const m of members) {
      keys.push(m.key);
      if (!(m.key in raw)) raw[m.key] = b.toString('utf8', m.vs, m.ve);
    }
    const v = JSON.parse(b.toString('utf8', start, end)) as Record<string, unknown>;
    events.push({
      index: events.length, raw, keys, v,
      ph: typeof v['ph'] === 'string' ? v['ph'] : undefined,
      name: typeof v['name'] === 'string' ? v['name'] : undefined,
      pid: raw['pid'],
    });
    i = skipWs(b, end);
    if (b[i] === 0x2c) i = skipWs(b, i + 1);
  }
  return { top, topRaw, events };
}

const cache = new Map<string, Trace>();

/** Reads (and caches, by path) a trace file. Only cache files that do not change. */
export function loadTrace(p: string, useCache = false): Trace {
  const hit = useCache ? cache.get(p) : undefined;
  if (hit) return hit;
  const t = parseTrace(readDecompressed(p));
  if (useCache) cache.set(p, t);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Exact decimals

/** A µs decimal text (optionally quoted) as an integer count of 1e-9 µs; undefined if not one. */
export function usScaled(text: string | undefined): bigint | undefined {
  if (text === undefined) return undefined;
  const t = text.startsWith('"') ? text.slice(1, -1) : text;
  const m = /^(-?)(\d+)(?:\.(\d{0,9}))?$/.exec(t);
  if (!m) return undefined;
  const v = BigInt(m[2]!) * 1_000_000_000n + BigInt((m[3] ?? '').padEnd(9, '0'));
  return m[1] === '-' ? -v : v;
}

/** ns → the units of {@link usScaled}. */
export const NS = 1_000_000n;

// ---------------------------------------------------------------------------------------------
// Facts about one input rank, computed from its own text

export interface RankFacts {
  /** baseTimeNanoseconds (0 when absent). */
  baseNs: bigint;
  /** Raw pid → process_labels / process_name (from metadata). */
  labels: Map<string, string>;
  names: Map<string, string>;
  /** Raw pids whose process_labels is `GPU n`. */
  gpuPids: Set<string>;
  /** Earliest absolute time (usScaled units) of a non-metadata event with a decimal ts. */
  earliest: bigint | undefined;
}

/** baseTimeNanoseconds from its exact text (a JSON number above 2^53 loses digits in a double). */
export function baseNsOf(t: Trace): bigint | undefined {
  const raw = t.topRaw['baseTimeNanoseconds'];
  if (raw === undefined) return undefined;
  const m = /^"?(\d+)"?$/.exec(raw.trim());
  return m ? BigInt(m[1]!) : undefined;
}

export function rankFacts(t: Trace): RankFacts {
  const baseNs = baseNsOf(t) ?? 0n;
  const labels = new Map<string, string>();
  const names = new Map<string, string>();
  let earliest: bigint | undefined;
  for (const e of t.events) {
    if (e.ph === 'M') {
      const a = e.v['args'] as Record<string, unknown> | undefined;
      if (e.pid !== undefined && e.name === 'process_labels' && typeof a?.['labels'] === 'string') labels.set(e.pid, a['labels']);
      if (e.pid !== undefined && e.name === 'process_name' && typeof a?.['name'] === 'string') names.set(e.pid, a['name']);
      continue;
    }
    if (e.ph === undefined) continue;
    const ts = usScaled(e.raw['ts']);
    if (ts === undefined) continue;
    const abs = baseNs * NS + ts;
    if (earliest === undefined || abs < earliest) earliest = abs;
  }
  const gpuPids = new Set([...labels].filter(([, l]) => /^GPU \d+$/.test(l)).map(([p]) => p));
  return { baseNs, labels, names, gpuPids, earliest };
}

// ---------------------------------------------------------------------------------------------
// The oracle for merge outputs

export interface Segment {
  /** The input trace of this output rank. */
  input: Trace;
  /** The rank label, e.g. `TP01`. */
  label: string;
  /** Which input events the output keeps (default: all). */
  keep?: (e: Ev) => boolean;
}

export interface SegmentReport {
  label: string;
  /** Input raw pid → output pid. */
  pidMap: Map<string, number>;
  /** Input events kept, in order, paired with their output events. */
  pairs: [Ev, Ev][];
  /** Metadata events added after the rank's events. */
  added: Ev[];
  /** Kept events whose tid changed (lanes of the overlap fix). */
  moved: number;
}

const ID_ARGS = new Set(['correlation', 'External id', 'external id']);
const FLOW = new Set(['s', 't', 'f']);

function fail(msg: string): never {
  assert.fail(msg);
}

/**
 * Checks that `out` is, position by position: segment 0's kept input events, then metadata added
 * for segment 0, then segment 1's kept events, and so on — each output event being its input event
 * with only what a merge must change:
 * - pid: a new integer in [(k+1)*1000, (k+2)*1000), one per input pid (injective, consistent);
 * - ts: the input's exact decimal + (base_k - min base) ns, where base_k is the rank's
 *   baseTimeNanoseconds (and min over all the output's segments, absent counting as no shift);
 * - flow `id` and args.correlation / args."External id": + k * 10^10 when integers;
 * - tid: unchanged, except for slices / flow events when `fix` (moved to a lane);
 * - metadata: process_name args.name, process_sort_index / thread_sort_index args.sort_index;
 * - every other member: the same raw text, same key order.
 */
export function checkMergedSegments(out: Trace, segments: Segment[], opts: { fix: boolean }): SegmentReport[] {
  const bases = segments.map((s) => baseNsOf(s.input)).filter((b): b is bigint => b !== undefined);
  const minBase = bases.length > 0 ? bases.reduce((a, b) => (b < a ? b : a)) : undefined;
  const reports: SegmentReport[] = [];
  let pos = 0;
  segments.forEach((seg, k) => {
    const lo = (k + 1) * 1000;
    const hi = lo + 1000;
    const shift = minBase !== undefined ? ((baseNsOf(seg.input) ?? 0n) - minBase) * NS : 0n;
    const idOff = BigInt(k) * 10_000_000_000n;
    const pidMap = new Map<string, number>();
    const pidBack = new Map<number, string>();
    const pairs: [Ev, Ev][] = [];
    let moved = 0;
    for (const a of seg.input.events) {
      if (seg.keep && !seg.keep(a)) continue;
      const o = out.events[pos];
      if (o === undefined) fail(`output ended at #${pos}; expected ${seg.label} input event #${a.index}: ${JSON.stringify(a.v)}`);
      const where = (): string => `${seg.label} input #${a.index} vs output #${pos}:\n in: ${JSON.stringify(a.v)}\nout: ${JSON.stringify(o.v)}`;
      if (a.keys.join('\u0001') !== o.keys.join('\u0001')) fail(`keys differ: ${where()}`);
      for (const key of a.keys) {
        const ra = a.raw[key]!;
        const ro = o.raw[key]!;
        if (key === 'pid') {
          const np = Number(ro);
          if (!Number.isInteger(np) || np < lo || np >= hi) fail(`pid ${ro} not in [${lo}, ${hi}): ${where()}`);
          const prev = pidMap.get(ra);
          if (prev !== undefined && prev !== np) fail(`input pid ${ra} mapped to ${prev} and ${np}: ${where()}`);
          const back = pidBack.get(np);
          if (back !== undefined && back !== ra) fail(`output pid ${np} holds input pids ${back} and ${ra}`);
          pidMap.set(ra, np);
          pidBack.set(np, ra);
        } else if (key === 'tid') {
          if (ra !== ro) {
            if (!opts.fix || !(a.ph === 'X' || FLOW.has(a.ph ?? ''))) fail(`tid changed: ${where()}`);
            moved++;
          }
        } else if (key === 'ts') {
          const ta = usScaled(ra);
          const to = usScaled(ro);
          if (ta === undefined || shift === 0n) { if (ra !== ro) fail(`ts text changed: ${where()}`); } else if (to !== ta + shift) fail(`ts ${ro} != ${ra} shifted by ${shift / NS} ns: ${where()}`);
        } else if (key === 'id' && FLOW.has(a.ph ?? '') && /^-?\d+$/.test(ra)) {
          if (BigInt(ro) !== BigInt(ra) + idOff) fail(`flow id ${ro} != ${ra} + ${idOff}: ${where()}`);
        } else if (key === 'args') {
          checkArgs(a, o, idOff, opts.fix, where);
        } else if (ra !== ro) {
          fail(`member ${key} changed (${ra} -> ${ro}): ${where()}`);
        }
      }
      pairs.push([a, o]);
      pos++;
    }
    const added: Ev[] = [];
    for (;;) {
      const o = out.events[pos];
      if (o === undefined || o.ph !== 'M') break;
      const np = Number(o.pid);
      if (!(np >= lo && np < hi)) break;
      added.push(o);
      pos++;
    }
    for (const o of added) {
      if (!['process_name', 'process_sort_index', 'thread_name', 'thread_sort_index'].includes(o.name ?? '')) fail(`added metadata of unexpected kind: ${JSON.stringify(o.v)}`);
    }
    reports.push({ label: seg.label, pidMap, pairs, added, moved });
  });
  if (pos !== out.events.length) fail(`output has ${out.events.length - pos} unexpected event(s) from #${pos}: ${JSON.stringify(out.events[pos]?.v)}`);
  return reports;
}

function checkArgs(a: Ev, o: Ev, idOff: bigint, fix: boolean, where: () => string): void {
  const aa = a.v['args'];
  const oa = o.v['args'];
  if (aa === null || typeof aa !== 'object' || Array.isArray(aa) || oa === null || typeof oa !== 'object' || Array.isArray(oa)) {
    if (a.raw['args'] !== o.raw['args']) fail(`args changed: ${where()}`);
    return;
  }
  const ka = Object.keys(aa);
  const ko = Object.keys(oa);
  if (ka.join('\u0001') !== ko.join('\u0001')) fail(`args keys differ: ${where()}`);
  const A = aa as Record<string, unknown>;
  const O = oa as Record<string, unknown>;
  for (const key of ka) {
    if (a.ph === 'M') {
      if (a.name === 'process_name' && key === 'name') continue; // checked by the caller (labels)
      if (a.name === 'process_sort_index' && key === 'sort_index') {
        if (O[key] !== Number(o.pid)) fail(`process_sort_index ${String(O[key])} is not the new pid ${o.pid}: ${where()}`);
        continue;
      }
      if (a.name === 'thread_sort_index' && key === 'sort_index' && fix) {
        if (!Number.isInteger(O[key])) fail(`thread_sort_index not an integer: ${where()}`);
        continue;
      }
    } else if (ID_ARGS.has(key) && Number.isInteger(A[key])) {
      if (BigInt(O[key] as number) !== BigInt(A[key] as number) + idOff) fail(`args.${key} ${String(O[key])} != ${String(A[key])} + ${idOff}: ${where()}`);
      continue;
    }
    try {
      assert.deepStrictEqual(O[key], A[key]);
    } catch {
      fail(`args.${key} changed: ${where()}`);
    }
  }
}

/** process_name per output pid (all of them, in file order). */
export function processNames(t: Trace): Map<number, string[]> {
  const m = new Map<number, string[]>();
  for (const e of t.events) {
    if (e.ph !== 'M' || e.name !== 'process_name') continue;
    const a = e.v['args'] as Record<string, unknown> | undefined;
    const pid = Number(e.pid);
    const list = m.get(pid) ?? [];
    list.push(typeof a?.['name'] === 'string' ? a['name'] : '<no name>');
    m.set(pid, list);
  }
  return m;
}

/**
 * Checks the process names of one output rank: every output pid of the segment has exactly one
 * process_name; it starts with `[label] `; GPU processes are `[label] GPU n` (their
 * process_labels), named CPU processes with an integer pid `[label] name (pid P)`.
 */
export function checkLabels(out: Trace, rep: SegmentReport, input: Trace): void {
  const names = processNames(out);
  const facts = rankFacts(input);
  for (const [rawPid, np] of rep.pidMap) {
    const list = names.get(np);
    assert.ok(list !== undefined && list.length === 1, `${rep.label}: output pid ${np} (input ${rawPid}) has ${list?.length ?? 0} process_name events: ${JSON.stringify(list)}`);
    const name = list[0]!;
    assert.ok(name.startsWith(`[${rep.label}] `), `${rep.label}: pid ${np} named ${JSON.stringify(name)}`);
    const lab = facts.labels.get(rawPid);
    if (lab !== undefined && /^GPU \d+$/.test(lab)) assert.equal(name, `[${rep.label}] ${lab}`);
    else if (/^\d+$/.test(rawPid) && facts.names.has(rawPid)) assert.equal(name, `[${rep.label}] ${facts.names.get(rawPid)!} (pid ${rawPid})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Flow binding (for the name filter): Perfetto's rule, written again here

interface Sl { ts: bigint; end: bigint; ev: Ev }

/**
 * For each flow event (s/t/f with a decimal ts) of `t`: the slices it binds to on its own
 * (pid, tid) track. `s`, `t`, and `f` with `bp: "e"`: the deepest enclosing slice (latest start,
 * then shortest), `f` otherwise: the next slice starting at or after ts (earliest, then longest).
 * Returns all equally good candidates (more than one only on exact ties), [] when unbound.
 */
export function flowBindings(t: Trace): Map<Ev, Ev[]> {
  const tracks = new Map<string, Sl[]>();
  for (const e of t.events) {
    if (e.ph !== 'X') continue;
    const ts = usScaled(e.raw['ts']);
    if (ts === undefined) continue;
    const d = usScaled(e.raw['dur']);
    const key = `${e.pid}\u0001${e.raw['tid']}`;
    const l = tracks.get(key) ?? [];
    l.push({ ts, end: ts + (d !== undefined && d > 0n ? d : 0n), ev: e });
    tracks.set(key, l);
  }
  const maxDur = new Map<string, bigint>();
  for (const [k, l] of tracks) {
    l.sort((x, y) => (x.ts < y.ts ? -1 : x.ts > y.ts ? 1 : 0));
    let m = 0n;
    for (const s of l) if (s.end - s.ts > m) m = s.end - s.ts;
    maxDur.set(k, m);
  }
  const out = new Map<Ev, Ev[]>();
  for (const e of t.events) {
    if (!FLOW.has(e.ph ?? '')) continue;
    const at = usScaled(e.raw['ts']);
    if (at === undefined) continue;
    const key = `${e.pid}\u0001${e.raw['tid']}`;
    const l = tracks.get(key) ?? [];
    const md = maxDur.get(key) ?? 0n;
    // first index with ts > at
    let lo = 0;
    let hi = l.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (l[mid]!.ts <= at) lo = mid + 1; else hi = mid;
    }
    let best: Sl[] = [];
    if (e.ph === 'f' && e.v['bp'] !== 'e') {
      let i = lo;
      while (i > 0 && l[i - 1]!.ts === at) i--;
      for (let j = i; j < l.length && l[j]!.ts === l[i]!.ts; j++) {
        const s = l[j]!;
        const b0 = best[0];
        if (!b0 || s.end - s.ts > b0.end - b0.ts) best = [s];
        else if (s.end - s.ts === b0.end - b0.ts) best.push(s);
      }
    } else {
      for (let i = lo - 1; i >= 0; i--) {
        const s = l[i]!;
        const b0 = best[0];
        if ((b0 && s.ts < b0.ts) || s.ts + md < at) break;
        if (s.end < at) continue;
        if (!b0 || s.end - s.ts < b0.end - b0.ts) best = [s];
        else if (s.end - s.ts === b0.end - b0.ts) best.push(s);
      }
    }
    out.set(e, best.map((s) => s.ev));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Nesting (Perfetto's rule), written again here

/**
 * Complete events that do not nest on their (pid, tid) track: sweep each track in (ts asc,
 * longer first, file order) with one stack; pop slices ending at or before the new start; a
 * slice ending after the innermost open slice crosses it (and is not pushed).
 */
export function nonNestingCount(t: Trace): number {
  const tracks = new Map<string, { ts: bigint; end: bigint; i: number }[]>();
  for (const e of t.events) {
    if (e.ph !== 'X') continue;
    const ts = usScaled(e.raw['ts']);
    if (ts === undefined) continue;
    const d = usScaled(e.raw['dur']);
    const key = `${e.pid}\u0001${e.raw['tid']}`;
    const l = tracks.get(key) ?? [];
    l.push({ ts, end: ts + (d !== undefined && d > 0n ? d : 0n), i: e.index });
    tracks.set(key, l);
  }
  let bad = 0;
  for (const l of tracks.values()) {
    l.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0) || (b.end - b.ts > a.end - a.ts ? 1 : b.end - b.ts < a.end - a.ts ? -1 : 0) || a.i - b.i);
    const stack: { end: bigint }[] = [];
    for (const s of l) {
      while (stack.length > 0 && stack[stack.length - 1]!.end <= s.ts) stack.pop();
      const top = stack[stack.length - 1];
      if (top !== undefined && top.end < s.end) { bad++; continue; }
      stack.push(s);
    }
  }
  return bad;
}

// ---------------------------------------------------------------------------------------------
// Re-clocking a rank file (to test the common clock with ranks of different bases)

/** usScaled units → shortest µs decimal text. */
export function scaledToUsText(v: bigint): string {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const ip = (a / 1_000_000_000n).toString();
  const fp = (a % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${ip}${fp ? `.${fp}` : ''}`;
}

/**
 * Writes `dest` (gzip): `src` with baseTimeNanoseconds raised by `deltaNs` and every `"ts"`
 * lowered by the same amount, so every event keeps its absolute time. Returns how many ts were
 * rewritten.
 */
export function reclock(src: string, dest: string, deltaNs: bigint): number {
  let text = readDecompressed(src).toString('utf8');
  let n = 0;
  let bases = 0;
  text = text.replace(/("baseTimeNanoseconds"\s*:\s*)"?(\d+)"?/, (_m, k: string, v: string) => { bases++; return `${k}${(BigInt(v) + deltaNs).toString()}`; });
  assert.equal(bases, 1, `${src}: no baseTimeNanoseconds`);
  text = text.replace(/("ts"\s*:\s*)(-?\d+(?:\.\d+)?)(?=\s*[,}])/g, (_m, k: string, v: string) => {
    n++;
    return `${k}${scaledToUsText(usScaled(v)! - deltaNs * NS)}`;
  });
  writeFileSync(dest, gzipSync(Buffer.from(text, 'utf8'), { level: 1 }));
  return n;
}
