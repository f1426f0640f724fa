/**
 * Test helpers: paths, temp dirs, the CLI as a child process, and an INDEPENDENT reading of
 * Chrome-trace JSON used as the oracle for traceforge's own scanner / fix / check.
 *
 * Nothing here imports from src/: the raw splitter, the exact µs-decimal arithmetic, the
 * nesting sweep, the lane lower bound and the flow binding are written again, differently,
 * so that a bug in src/ cannot hide behind the same bug in the oracle.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

// ---------------------------------------------------------------------------------------------
// Paths

/** Repository root (this file compiles to <root>/dist/test/helpers.js). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');
export const REAL = path.join(FIXTURES, 'real');
export const EDGE = path.join(FIXTURES, 'edge');
export const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export const realFixture = (...p: string[]): string => path.join(REAL, ...p);
export const edgeFixture = (name: string): string => path.join(EDGE, name);
export const PDL_EAGER = realFixture('h200', 'pdl-eager.trace.json.gz');

/** Every Kineto `.json.gz` under test/fixtures/real (Ascend directories are skipped), sorted. */
export function realKinetoTraces(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) {
        if (name !== 'ascend') walk(p);
      } else if (name.endsWith('.json.gz')) {
        out.push(p);
      }
    }
  };
  walk(REAL);
  return out;
}

export const relToRepo = (p: string): string => path.relative(REPO_ROOT, p);

/** A deterministic pseudo-random generator (xorshift) so failures reproduce. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

// ---------------------------------------------------------------------------------------------
// Temp dirs, files, CLI

export async function makeTempDir(tag: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `traceforge-test-${tag}-`));
}

export async function withTempDir<T>(tag: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await makeTempDir(tag);
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Bytes of a file, gunzipped when it starts with the gzip magic bytes. */
export function readDecompressed(p: string): Buffer {
  const raw = readFileSync(p);
  return raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
}

export interface CliRun { status: number | null; stdout: string; stderr: string }

/** Runs `node dist/src/cli/main.js ...args` and waits for it. */
export function runCli(args: string[], opts: { cwd?: string; input?: Buffer } = {}): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// ---------------------------------------------------------------------------------------------
// An independent raw splitter over bytes (structural characters are ASCII, and UTF-8 multi-byte
// sequences never contain ASCII bytes, so walking bytes is exact).

const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

export function skipWs(b: Buffer, i: number): number {
  while (i < b.length && isWs(b[i])) i++;
  return i;
}

function fail(b: Buffer, i: number, what: string): never {
  throw new Error(`oracle: ${what} at byte ${i}: ${JSON.stringify(b.toString('utf8', i, i + 40))}`);
}

/** Index just past the string whose opening quote is at i. */
export function stringEnd(b: Buffer, i: number): number {
  let j = i + 1;
  for (;;) {
    const c = b[j];
    if (c === undefined) fail(b, i, 'unterminated string');
    if (c === 0x5c) { j += 2; continue; }
    if (c === 0x22) return j + 1;
    j++;
  }
}

/** Index just past the JSON value starting at i (after white space). */
export function valueEnd(b: Buffer, i: number): number {
  const c = b[i];
  if (c === 0x22) return stringEnd(b, i);
  if (c === 0x7b || c === 0x5b) {
    const close = c === 0x7b ? 0x7d : 0x5d;
    let j = skipWs(b, i + 1);
    if (b[j] === close) return j + 1;
    for (;;) {
      if (c === 0x7b) {
        if (b[j] !== 0x22) fail(b, j, 'expected a key');
        j = skipWs(b, stringEnd(b, j));
        if (b[j] !== 0x3a) fail(b, j, "expected ':'");
        j = skipWs(b, j + 1);
      }
      j = skipWs(b, valueEnd(b, j));
      if (b[j] === 0x2c) { j = skipWs(b, j + 1); continue; }
      if (b[j] === close) return j + 1;
      fail(b, j, 'expected , or close');
    }
  }
  let j = i;
  while (j < b.length) {
    const d = b[j]!;
    if ((d >= 0x30 && d <= 0x39) || (d >= 0x61 && d <= 0x7a) || d === 0x2d || d === 0x2b || d === 0x2e || d === 0x45) j++;
    else break;
  }
  if (j === i) fail(b, i, 'expected a value');
  return j;
}

export interface Member {
  key: string;
  /** Value bytes are b[vs, ve). */
  vs: number;
  ve: number;
}

/** The members of the object whose '{' is at i, in order, and the index after its '}'. */
export function objectMembers(b: Buffer, i: number): { members: Member[]; end: number } {
  if (b[i] !== 0x7b) fail(b, i, 'expected an object');
  const members: Member[] = [];
  let j = skipWs(b, i + 1);
  if (b[j] === 0x7d) return { members, end: j + 1 };
  for (;;) {
    const ke = stringEnd(b, j);
    const key = JSON.parse(b.toString('utf8', j, ke)) as string;
    j = skipWs(b, ke);
    if (b[j] !== 0x3a) fail(b, j, "expected ':'");
    const vs = skipWs(b, j + 1);
    const ve = valueEnd(b, vs);
    members.push({ key, vs, ve });
    j = skipWs(b, ve);
    if (b[j] === 0x2c) { j = skipWs(b, j + 1); continue; }
    if (b[j] === 0x7d) return { members, end: j + 1 };
    fail(b, j, 'expected , or }');
  }
}

export interface TopEntry { key: string; raw: string; afterEvents: boolean }

export interface RawTrace {
  shape: 'object' | 'array';
  top: TopEntry[];
  /** Byte spans of the events, in order. */
  spans: { start: number; end: number }[];
}

/** Splits a whole trace into top-level entries and event spans. */
export function splitTrace(b: Buffer): RawTrace {
  let i = skipWs(b, 0);
  if (b[i] === 0xef && b[i + 1] === 0xbb && b[i + 2] === 0xbf) i = skipWs(b, i + 3);
  const spans: { start: number; end: number }[] = [];
  const top: TopEntry[] = [];
  const readArray = (at: number): number => {
    let j = skipWs(b, at + 1);
    if (b[j] === 0x5d) return j + 1;
    for (;;) {
      const e = valueEnd(b, j);
      spans.push({ start: j, end: e });
      j = skipWs(b, e);
      if (b[j] === 0x2c) { j = skipWs(b, j + 1); continue; }
      if (b[j] === 0x5d) return j + 1;
      fail(b, j, 'expected , or ] in events');
    }
  };
  if (b[i] === 0x5b) {
    readArray(i);
    return { shape: 'array', top, spans };
  }
  if (b[i] !== 0x7b) fail(b, i, 'not a trace');
  let seen = false;
  let j = skipWs(b, i + 1);
  if (b[j] === 0x7d) return { shape: 'object', top, spans };
  for (;;) {
    const ke = stringEnd(b, j);
    const key = JSON.parse(b.toString('utf8', j, ke)) as string;
    j = skipWs(b, ke);
    if (b[j] !== 0x3a) fail(b, j, "expected ':'");
    const vs = skipWs(b, j + 1);
    let ve: number;
    if (key === 'traceEvents' && !seen) {
      ve = readArray(vs);
      seen = true;
    } else {
      ve = valueEnd(b, vs);
      top.push({ key, raw: b.toString('utf8', vs, ve), afterEvents: seen });
    }
    j = skipWs(b, ve);
    if (b[j] === 0x2c) { j = skipWs(b, j + 1); continue; }
    if (b[j] === 0x7d) return { shape: 'object', top, spans };
    fail(b, j, 'expected , or } at top level');
  }
}

// ---------------------------------------------------------------------------------------------
// Exact time: µs decimal text -> BigInt femtoseconds (1e-9 µs). JSON.parse would round
// `1712195495519689.047` to the nearest double (~0.25 µs apart at that magnitude).

export const FS_PER_US = 1_000_000_000n;

/** Exact value of a µs decimal (optionally quoted) in fs; undefined when not a plain number. */
export function usTextToFs(raw: string | undefined): bigint | undefined {
  if (raw === undefined) return undefined;
  let t = raw;
  if (t.startsWith('"') && t.endsWith('"') && t.length >= 2) t = t.slice(1, -1);
  const m = /^(-?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(t);
  if (!m) return undefined;
  const digits = m[2]! + (m[3] ?? '');
  let exp = -(m[3] ?? '').length + Number(m[4] ?? '0') + 9; // value = digits * 10^exp fs
  let v = BigInt(digits);
  if (exp >= 0) v *= 10n ** BigInt(exp);
  else { v /= 10n ** BigInt(-exp); exp = 0; }
  return m[1] === '-' ? -v : v;
}

// ---------------------------------------------------------------------------------------------
// Events

export interface Ev {
  index: number;
  start: number;
  end: number;
  members: Member[];
  ph: string | undefined;
  pidRaw: string | undefined;
  tidRaw: string | undefined;
  /** Normalised track key: JSON of pid and tid values (so `7` and `"7"` differ, spacing does not). */
  track: string;
  tsRaw: string | undefined;
  durRaw: string | undefined;
  name: string | undefined;
  cat: string | undefined;
  bp: string | undefined;
  idRaw: string | undefined;
  /** ts in fs, or undefined. */
  ts: bigint | undefined;
}

export interface LoadedTrace {
  buf: Buffer;
  raw: RawTrace;
  events: Ev[];
}

const norm = (raw: string | undefined): string => (raw === undefined ? 'undefined' : JSON.stringify(JSON.parse(raw)));

export function trackKey(pidRaw: string | undefined, tidRaw: string | undefined): string {
  return `${norm(pidRaw)}\u0001${norm(tidRaw)}`;
}

function memberText(b: Buffer, ms: Member[], key: string): string | undefined {
  for (const m of ms) if (m.key === key) return b.toString('utf8', m.vs, m.ve);
  return undefined;
}

function stringValue(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const v: unknown = JSON.parse(raw);
  return typeof v === 'string' ? v : undefined;
}

export function loadTrace(buf: Buffer): LoadedTrace {
  const raw = splitTrace(buf);
  const events: Ev[] = raw.spans.map(({ start, end }, index) => {
    const { members } = objectMembers(buf, start);
    const pidRaw = memberText(buf, members, 'pid');
    const tidRaw = memberText(buf, members, 'tid');
    const tsRaw = memberText(buf, members, 'ts');
    return {
      index, start, end, members,
      ph: stringValue(memberText(buf, members, 'ph')),
      pidRaw, tidRaw,
      track: trackKey(pidRaw, tidRaw),
      tsRaw,
      durRaw: memberText(buf, members, 'dur'),
      name: stringValue(memberText(buf, members, 'name')),
      cat: stringValue(memberText(buf, members, 'cat')),
      bp: stringValue(memberText(buf, members, 'bp')),
      idRaw: memberText(buf, members, 'id'),
      ts: usTextToFs(tsRaw),
    };
  });
  return { buf, raw, events };
}

export function loadTraceFile(p: string): LoadedTrace {
  return loadTrace(readDecompressed(p));
}

/** The parsed `args` of an event (or undefined). */
export function argsOf(t: LoadedTrace, ev: Ev): Record<string, unknown> | undefined {
  const m = ev.members.find((x) => x.key === 'args');
  if (!m) return undefined;
  const v: unknown = JSON.parse(t.buf.toString('utf8', m.vs, m.ve));
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function memberSpan(ev: Ev, key: string): Member | undefined {
  return ev.members.find((m) => m.key === key);
}

// ---------------------------------------------------------------------------------------------
// Slices, the Perfetto nesting rule, and the lane lower bound

export interface Slice {
  ev: Ev;
  track: string;
  ts: bigint;
  /** ts + max(0, dur); dur missing or not a number counts as 0. */
  end: bigint;
}

export function slicesOf(t: LoadedTrace): Slice[] {
  const out: Slice[] = [];
  for (const ev of t.events) {
    if (ev.ph !== 'X' || ev.ts === undefined) continue;
    const d = usTextToFs(ev.durRaw);
    out.push({ ev, track: ev.track, ts: ev.ts, end: ev.ts + (d !== undefined && d > 0n ? d : 0n) });
  }
  return out;
}

export function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(x);
  }
  return m;
}

const cmpBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/** Perfetto's order: ts ascending, longer first, then file order. */
export function perfettoOrder(a: Slice, b: Slice): number {
  return cmpBig(a.ts, b.ts) || cmpBig(b.end - b.ts, a.end - a.ts) || a.ev.index - b.ev.index;
}

/**
 * The non-nesting slices of one track: sweep in Perfetto's order with one stack; close the
 * slices that end at or before the new start; a slice that ends after the innermost open one
 * crosses it (and, like in Perfetto, is not pushed).
 */
export function crossingSlices(track: readonly Slice[]): Slice[] {
  const sorted = [...track].sort(perfettoOrder);
  const stack: Slice[] = [];
  const bad: Slice[] = [];
  for (const s of sorted) {
    while (stack.length > 0 && stack[stack.length - 1]!.end <= s.ts) stack.pop();
    const top = stack[stack.length - 1];
    if (top !== undefined && top.end < s.end) { bad.push(s); continue; }
    stack.push(s);
  }
  return bad;
}

/** Non-nesting slices per track key. */
export function crossingsByTrack(slices: readonly Slice[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, l] of groupBy(slices, (s) => s.track)) out.set(k, crossingSlices(l).length);
  return out;
}

export const sum = (xs: Iterable<number>): number => { let n = 0; for (const x of xs) n += x; return n; };

/**
 * A lower bound on the lanes a track needs: the largest set of slices that pairwise cross.
 * Pairwise-crossing intervals share a common point (Helly), which can be taken to be the
 * latest start among them; so for each start point p, among the slices with start <= p < end,
 * the longest chain with strictly increasing start and strictly increasing end.
 * (Sorting by start asc, end desc, a strictly increasing subsequence of ends is such a chain.)
 */
export function laneLowerBound(track: readonly Slice[]): number {
  if (track.length === 0) return 0;
  const sorted = [...track].filter((s) => s.end > s.ts).sort((a, b) => cmpBig(a.ts, b.ts) || cmpBig(b.end, a.end));
  let best = 1;
  let active: Slice[] = [];
  let i = 0;
  while (i < sorted.length) {
    const p = sorted[i]!.ts;
    active = active.filter((s) => s.end > p);
    while (i < sorted.length && sorted[i]!.ts === p) active.push(sorted[i++]!);
    // longest strictly increasing subsequence of ends (patience sorting)
    const tails: bigint[] = [];
    for (const s of active) {
      let lo = 0;
      let hi = tails.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (tails[mid]! < s.end) lo = mid + 1; else hi = mid;
      }
      tails[lo] = s.end;
    }
    if (tails.length > best) best = tails.length;
  }
  return best;
}

/**
 * Which slice (if any) a flow event binds to, by the documented rules: `s`, `t`, and `f` with
 * `bp: "e"` bind to the deepest slice of their track enclosing their ts (start <= ts <= end;
 * deepest = latest start, then shortest); `f` without `bp: "e"` binds to the next slice
 * starting at or after ts (earliest start, then longest, then file order). `candidates`
 * returns all the equally good slices (more than one only on exact ties of ts and dur).
 */
export class FlowBinder {
  private readonly byTrack = new Map<string, { sorted: Slice[]; maxDur: bigint }>();

  constructor(slices: readonly Slice[]) {
    for (const [k, l] of groupBy(slices, (s) => s.track)) {
      const sorted = [...l].sort(perfettoOrder);
      let maxDur = 0n;
      for (const s of sorted) if (s.end - s.ts > maxDur) maxDur = s.end - s.ts;
      this.byTrack.set(k, { sorted, maxDur });
    }
  }

  candidates(flow: Ev): Slice[] {
    const at = flow.ts;
    const t = this.byTrack.get(flow.track);
    if (at === undefined || !t) return [];
    const { sorted, maxDur } = t;
    // first index with ts > at
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.ts <= at) lo = mid + 1; else hi = mid;
    }
    if (flow.ph === 'f' && flow.bp !== 'e') {
      // first with ts >= at: step back over slices starting exactly at `at`
      let i = lo;
      while (i > 0 && sorted[i - 1]!.ts === at) i--;
      const s = sorted[i];
      return s ? [s] : []; // Perfetto order already puts the longest, then the first in file, first
    }
    let best: Slice[] = [];
    for (let i = lo - 1; i >= 0; i--) {
      const s = sorted[i]!;
      if (s.ts + maxDur < at) break;
      const b = best[0];
      if (b && s.ts < b.ts) break; // earlier starts are never deeper
      if (s.end < at) continue;
      if (!b || s.end - s.ts < b.end - b.ts) best = [s];
      else if (s.end - s.ts === b.end - b.ts) best.push(s);
    }
    return best;
  }
}

export const FLOW_PHASES = new Set(['s', 't', 'f']);

// ---------------------------------------------------------------------------------------------
// Comparing a fix output with its input

export interface FixAnalysis {
  input: LoadedTrace;
  output: LoadedTrace;
  /** Input events whose tid changed, by index. */
  moved: Set<number>;
  /** Original track key -> the new tids (raw text normalised) of its extra lanes. */
  laneTids: Map<string, Set<string>>;
  /** Lanes per original track with slices (1 + extra lanes). */
  lanes: Map<string, number>;
  /** Output events appended after the input's events. */
  added: Ev[];
}

/**
 * Checks that `output` is `input` with only tids of moved events (and args.sort_index of
 * thread_sort_index metadata) changed byte for byte, plus appended thread_name /
 * thread_sort_index metadata; returns what moved. Throws (via the caller's assert) on any other
 * difference. Pure byte comparisons: the digits of every ts survive or this fails.
 */
export function analyseFix(input: LoadedTrace, output: LoadedTrace, assertOk: (cond: boolean, msg: string) => void): FixAnalysis {
  const ib = input.buf;
  const ob = output.buf;
  assertOk(output.raw.shape === input.raw.shape, `shape ${output.raw.shape} != ${input.raw.shape}`);
  assertOk(JSON.stringify(output.raw.top) === JSON.stringify(input.raw.top), 'top-level entries differ (keys, raw values, order or position)');
  const n = input.events.length;
  assertOk(output.events.length >= n, `output has fewer events (${output.events.length}) than input (${n})`);
  const moved = new Set<number>();
  const laneOf = new Map<string, string>(); // new track key -> original track key
  const laneTids = new Map<string, Set<string>>();
  for (let i = 0; i < n; i++) {
    const a = input.events[i]!;
    const b = output.events[i]!;
    const aBytes = ib.subarray(a.start, a.end);
    if (a.tidRaw === b.tidRaw) {
      if (aBytes.equals(ob.subarray(b.start, b.end))) continue;
      // only thread_sort_index metadata may differ, and only in args.sort_index
      assertOk(a.ph === 'M' && a.name === 'thread_sort_index', `event #${i} (${a.ph} ${a.name}) changed but is not thread_sort_index metadata:\n in: ${aBytes.toString()}\nout: ${ob.toString('utf8', b.start, b.end)}`);
      const am = memberSpan(a, 'args')!;
      const bm = memberSpan(b, 'args')!;
      const aArgs = objectMembers(ib, am.vs).members.find((m) => m.key === 'sort_index');
      const bArgs = objectMembers(ob, bm.vs).members.find((m) => m.key === 'sort_index');
      assertOk(aArgs !== undefined && bArgs !== undefined, `event #${i}: sort_index missing`);
      const patched = Buffer.concat([ob.subarray(b.start, bArgs!.vs), ib.subarray(aArgs!.vs, aArgs!.ve), ob.subarray(bArgs!.ve, b.end)]);
      assertOk(patched.equals(aBytes), `event #${i}: thread_sort_index differs outside args.sort_index`);
      const v: unknown = JSON.parse(ob.toString('utf8', bArgs!.vs, bArgs!.ve));
      assertOk(Number.isInteger(v), `event #${i}: new sort_index ${String(v)} is not an integer`);
      continue;
    }
    // moved: only slices and flow events may move, and only their tid may differ
    assertOk(a.ph === 'X' || FLOW_PHASES.has(a.ph ?? ''), `event #${i} with ph ${a.ph} changed tid`);
    const at = memberSpan(a, 'tid')!;
    const bt = memberSpan(b, 'tid')!;
    const patched = Buffer.concat([ob.subarray(b.start, bt.vs), ib.subarray(at.vs, at.ve), ob.subarray(bt.ve, b.end)]);
    assertOk(patched.equals(aBytes), `event #${i}: differs outside the tid:\n in: ${aBytes.toString()}\nout: ${ob.toString('utf8', b.start, b.end)}`);
    assertOk(a.pidRaw === b.pidRaw, `event #${i}: pid changed`);
    moved.add(i);
    const prev = laneOf.get(b.track);
    assertOk(prev === undefined || prev === a.track, `new track ${b.track} holds events of two original tracks`);
    laneOf.set(b.track, a.track);
    let s = laneTids.get(a.track);
    if (!s) laneTids.set(a.track, (s = new Set()));
    s.add(b.track);
  }
  // new tracks are new: no input event used them
  const inputTracks = new Set(input.events.map((e) => e.track));
  for (const k of laneOf.keys()) assertOk(!inputTracks.has(k), `lane track ${k} already existed in the input`);
  // every event past the input's are thread_name / thread_sort_index metadata
  const added = output.events.slice(n);
  for (const e of added) {
    assertOk(e.ph === 'M' && (e.name === 'thread_name' || e.name === 'thread_sort_index'), `added event is not thread metadata: ${ob.toString('utf8', e.start, e.end)}`);
    assertOk(laneOf.has(e.track) || inputTracks.has(e.track), `added metadata for unknown track ${e.track}`);
  }
  // each new lane track gets exactly one thread_name and one thread_sort_index
  for (const k of laneOf.keys()) {
    assertOk(added.filter((e) => e.track === k && e.name === 'thread_name').length === 1, `lane ${k}: not exactly one thread_name`);
    assertOk(added.filter((e) => e.track === k && e.name === 'thread_sort_index').length === 1, `lane ${k}: not exactly one thread_sort_index`);
  }
  // added metadata for existing tracks: only thread_sort_index, and only where the input had none
  const hadSort = new Set(input.events.filter((e) => e.ph === 'M' && e.name === 'thread_sort_index').map((e) => e.track));
  for (const e of added) {
    if (laneOf.has(e.track)) continue;
    assertOk(e.name === 'thread_sort_index' && !hadSort.has(e.track), `added ${e.name} for existing track ${e.track}`);
  }
  const lanes = new Map<string, number>();
  for (const s of slicesOf(input)) lanes.set(s.track, 1 + (laneTids.get(s.track)?.size ?? 0));
  return { input, output, moved, laneTids, lanes, added };
}

/** The thread name Perfetto shows for a track of `t`: the last thread_name, trimmed; else the tid. */
export function threadNames(t: LoadedTrace): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of t.events) {
    if (e.ph !== 'M' || e.name !== 'thread_name') continue;
    const a = argsOf(t, e);
    if (typeof a?.['name'] === 'string') m.set(e.track, a['name']);
  }
  return m;
}

/** Effective sort index per track: the last thread_sort_index, else the integer tid. */
export function sortIndices(t: LoadedTrace): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of t.events) {
    if (e.tidRaw === undefined) continue;
    if (!m.has(e.track)) {
      const v: unknown = JSON.parse(e.tidRaw);
      if (typeof v === 'number' && Number.isInteger(v)) m.set(e.track, v);
    }
  }
  for (const e of t.events) {
    if (e.ph !== 'M' || e.name !== 'thread_sort_index') continue;
    const a = argsOf(t, e);
    if (typeof a?.['sort_index'] === 'number') m.set(e.track, a['sort_index']);
  }
  return m;
}

export function pidOfTrack(track: string): string {
  return track.slice(0, track.indexOf('\u0001'));
}

export function tidOfTrack(track: string): unknown {
  return JSON.parse(track.slice(track.indexOf('\u0001') + 1));
}

/**
 * Whether the slices of one track can be split over two lanes so that each lane nests: true
 * when the "crosses" graph is bipartite (slices on one lane must pairwise not cross, and a
 * pairwise non-crossing set nests). Used to tell a loose lower bound from a suboptimal plan.
 */
export function twoLanesSuffice(track: readonly Slice[]): boolean {
  const s = [...track].sort((a, b) => cmpBig(a.ts, b.ts));
  const adj: number[][] = s.map(() => []);
  for (let i = 0; i < s.length; i++) {
    const a = s[i]!;
    for (let j = i + 1; j < s.length && s[j]!.ts < a.end; j++) {
      const b = s[j]!;
      if (a.ts < b.ts && a.end < b.end) { adj[i]!.push(j); adj[j]!.push(i); }
    }
  }
  const colour = new Int8Array(s.length).fill(-1);
  for (let r = 0; r < s.length; r++) {
    if (colour[r] !== -1) continue;
    colour[r] = 0;
    const queue = [r];
    while (queue.length > 0) {
      const u = queue.pop()!;
      for (const v of adj[u]!) {
        if (colour[v] === -1) { colour[v] = 1 - colour[u]!; queue.push(v); } else if (colour[v] === colour[u]) return false;
      }
    }
  }
  return true;
}

/** A TCP port free on 127.0.0.1 right now (for `open` on a port of its own). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
