/**
 * The idle and launch views on torch_npu ranks against an independent sweep of the real
 * trace_view.json files: our own load (ts and flow ids kept as text: the ids are above 2^53),
 * flows paired by id, bound to slices by containment on their track, our own union of device
 * activity and our own gap split at the launch call. Imports nothing from the code under test
 * but the entry point.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { statsOf } from '../../src/pipeline/stats.js';
import { IDLE_CAUSES } from '../../src/analysis/idle.js';
import { argsOf, edgeFixture, loadTraceFile, realFixture, usTextToFs, withTempDir, type Ev, type LoadedTrace } from '../helpers.js';

const TV = (level: string, rank: number): string => realFixture('ascend', level, `rank${rank}_ascend_pt`, 'ASCEND_PROFILER_OUTPUT', 'trace_view.json');

interface Slice { ev: Ev; s: bigint; e: bigint; pid: string; tid: string; name: string; conn: string | undefined; taskType: string | undefined }

const ns = (us: number): number => Math.round(us * 1000);
/** Exact fs → ns, rounded like the views' µs output (half up). */
const fsToNs = (fs: bigint): number => Number((fs + 500_000n) / 1_000_000n);
const near = (got: number, want: number, what: string, tol = 1): void => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} vs ${want}`);

interface Oracle {
  tasks: Slice[];
  /** Per task (by index in tasks): the launching slice, and how it was found. */
  launch: (Slice | undefined)[];
  how: ('h2d' | 'conn' | 'queue' | 'none')[];
  /** Per task: a HostToDevice flow ends at it. */
  hasH2d: boolean[];
  /** The OS tid of the op that issued the task (torch_to_npu start), if any. */
  issuerTid: (string | undefined)[];
  cann: Slice[];
  idleFs: bigint;
  beforeLaunchFs: bigint;
  syncFs: bigint;
  unmatchedGapFs: bigint;
}

const SYNC_TT = /^(EVENT_RECORD|EVENT_WAIT|PLACE_HOLDER|NOTIFY_RECORD|NOTIFY_WAIT|BARRIER)_SQE$/;
const HCCL_STEP_TT = /^(Notify Wait|Write Value|SDMA)$/;
const SYNC_API = /^AscendCL@aclrt(Synchronize(Stream|Device|Event)\w*|Memcpy)$/;

/**
 * Innermost slice of the list (file order) holding t (start <= t < end, or starting at t); of
 * slices with the same extent the later one in the file, as Perfetto nests them (CANN writes
 * `AscendCL@hcom_allReduce_` and its `Node@launch` with the same ts and dur).
 */
function holder(list: readonly Slice[] | undefined, t: bigint): Slice | undefined {
  let best: Slice | undefined;
  for (const x of list ?? []) {
    if (!(x.s === t || (x.s <= t && t < x.e))) continue;
    if (!best || x.s > best.s || (x.s === best.s && x.e <= best.e)) best = x;
  }
  return best;
}

function oracle(file: string): Oracle {
  const t: LoadedTrace = loadTraceFile(file);
  const proc = new Map<string, string>();
  for (const e of t.events) if (e.ph === 'M' && e.name === 'process_name') proc.set(String(e.pidRaw), String(argsOf(t, e)?.['name']));
  const slices: Slice[] = [];
  for (const e of t.events) {
    if (e.ph !== 'X' || e.ts === undefined) continue;
    const a = argsOf(t, e);
    const dur = usTextToFs(e.durRaw) ?? 0n;
    const c = a?.['connection_id'];
    slices.push({ ev: e, s: e.ts, e: e.ts + (dur > 0n ? dur : 0n), pid: String(JSON.parse(e.pidRaw!)), tid: String(JSON.parse(e.tidRaw!)), name: e.name ?? '',
      conn: c === undefined ? undefined : String(c), taskType: typeof a?.['Task Type'] === 'string' ? a['Task Type'] : undefined });
  }
  const procOf = (x: { pid: string }): string | undefined => proc.get(x.pid);
  const byTrack = new Map<string, Slice[]>();
  for (const x of slices) {
    const k = `${x.pid}/${x.tid}`;
    const l = byTrack.get(k);
    if (l) l.push(x); else byTrack.set(k, [x]);
  }
  const tasks = slices.filter((x) => (procOf(x) === 'Ascend Hardware' && !SYNC_TT.test(x.taskType ?? '') && !HCCL_STEP_TT.test(x.taskType ?? ''))
    || (procOf(x) === 'HCCL' && x.tid === '0'));
  const cann = slices.filter((x) => procOf(x) === 'CANN');
  const cannByConn = new Map(cann.filter((x) => x.conn !== undefined).map((x) => [x.conn!, x]));
  // flows paired by (cat, id text); one start can have several finishes (a CANN call that put two copies on the stream)
  const flows = new Map<string, { s?: Ev; f: Ev[] }>();
  for (const e of t.events) {
    if ((e.ph !== 's' && e.ph !== 'f') || e.idRaw === undefined) continue;
    const k = `${e.cat}\u0000${JSON.parse(e.idRaw.startsWith('"') ? e.idRaw : JSON.stringify(e.idRaw))}`;
    const p = flows.get(k) ?? { f: [] };
    if (e.ph === 's') p.s ??= e; else p.f.push(e);
    flows.set(k, p);
  }
  const flowAt = (cat: string, task: Slice): Ev | undefined => {
    for (const [k, p] of flows) {
      if (!k.startsWith(`${cat}\u0000`) || !p.s) continue;
      if (p.f.some((f) => f.ts === task.s && String(JSON.parse(f.pidRaw!)) === task.pid && String(JSON.parse(f.tidRaw!)) === task.tid)) return p.s;
    }
    return undefined;
  };
  const trackOf = (e: Ev): Slice[] | undefined => byTrack.get(`${String(JSON.parse(e.pidRaw!))}/${String(JSON.parse(e.tidRaw!))}`);
  const launch: (Slice | undefined)[] = [];
  const how: Oracle['how'] = [];
  const issuerTid: (string | undefined)[] = [];
  const hasH2d: boolean[] = [];
  for (const task of tasks) {
    const t2n = flowAt('async_npu', task);
    issuerTid.push(t2n ? String(JSON.parse(t2n.tidRaw!)) : undefined);
    // the CANN call with the task's connection_id; the HostToDevice flow must start at that same call
    const h = flowAt('HostToDevice', task);
    hasH2d.push(h !== undefined);
    const byFlow = h ? holder(trackOf(h)?.filter((x) => procOf(x) === 'CANN'), h.ts!) : undefined;
    const byConn = task.conn !== undefined ? cannByConn.get(task.conn) : undefined;
    if (byFlow && byConn) assert.equal(byFlow, byConn, `${file}: HostToDevice flow and connection_id name the same call for ${task.name} at ${task.ev.tsRaw}`);
    if (byConn ?? byFlow) { launch.push(byConn ?? byFlow); how.push(byConn ? 'conn' : 'h2d'); continue; }
    // Level 0: the op the torch_to_npu flow starts at → its Enqueue → the Dequeue that flow leads to
    let deq: Slice | undefined;
    if (t2n) {
      const track = trackOf(t2n) ?? [];
      const op = holder(track.filter((x) => x.ev.cat === 'cpu_op'), t2n.ts!);
      const enq = op && track.find((x) => x.ev.cat === 'enqueue' && x.s >= op.s && x.s < op.e);
      const q = enq && [...flows.values()].find((p) => p.s?.cat === 'async_task_queue' && p.s.ts === enq.s && p.s.tidRaw === enq.ev.tidRaw);
      const f = q?.f[0];
      deq = f && trackOf(f)?.find((x) => x.ev.cat === 'dequeue' && x.s === f.ts);
    }
    launch.push(deq);
    how.push(deq ? 'queue' : 'none');
  }
  // union of device activity, gaps, the split at the launch of the task that ends each gap
  const ivs = tasks.map((x) => [x.s, x.e] as const).filter(([s, e]) => e > s).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const u: [bigint, bigint][] = [];
  for (const [s, e] of ivs) { const l = u[u.length - 1]; if (l && s <= l[1]) { if (e > l[1]) l[1] = e; } else u.push([s, e]); }
  let busy = 0n;
  for (const [s, e] of u) busy += e - s;
  const idleFs = u.length > 0 ? u[u.length - 1]![1] - u[0]![0] - busy : 0n;
  let beforeLaunchFs = 0n;
  let syncFs = 0n;
  let unmatchedGapFs = 0n;
  for (let g = 0; g + 1 < u.length; g++) {
    const g0 = u[g]![1];
    const g1 = u[g + 1]![0];
    let best = -1;
    tasks.forEach((x, k) => {
      if (x.s !== g1) return;
      if (best < 0) { best = k; return; }
      const a = launch[k]?.s;
      const b = launch[best]?.s;
      if (a !== undefined && (b === undefined || a < b)) best = k;
    });
    const L = launch[best];
    if (!L) { unmatchedGapFs += g1 - g0; continue; }
    const h = L.s < g0 ? g0 : L.s > g1 ? g1 : L.s;
    beforeLaunchFs += h - g0;
    // synchronising CANN calls on the issuing op's OS thread (the launching one when unknown), inside [g0, h)
    const tid = issuerTid[best] ?? L.tid;
    const syncs = cann.filter((x) => x.tid === tid && SYNC_API.test(x.name)).sort((a, b) => (a.s < b.s ? -1 : 1));
    let cur = g0;
    for (const x of syncs) {
      const a = x.s > cur ? x.s : cur;
      const b = x.e < h ? x.e : h;
      if (b > a) { syncFs += b - a; cur = b; }
    }
  }
  return { tasks, launch, how, hasH2d, issuerTid, cann, idleFs, beforeLaunchFs, syncFs, unmatchedGapFs };
}

const causeSum = (c: Record<string, number>): number => IDLE_CAUSES.reduce((a, k) => a + ns(c[k]!), 0);
/**
 * The causes partition idle exactly in ns; torch_npu durations carry fractions of a ns
 * ("840.07675" µs), so each figure rounded to whole ns for output may be off by half a ns.
 */
const addsUp = (c: Record<string, number>, idleUs: number, what: string): void => near(causeSum(c), ns(idleUs), `${what}: causes add up to idle`, (IDLE_CAUSES.length + 1) / 2);

test('torch_npu Level 1: every device task matched to its CANN call (connection_id = HostToDevice flow); idle split checked against our own sweep', async () => {
  for (const rank of [0, 1]) {
    const file = TV('level1', rank);
    const o = oracle(file);
    assert.equal(o.tasks.length, 215, `${file}: device tasks`);
    assert.equal(o.how.filter((h) => h === 'none').length, 0, `${file}: every task has a launch`);
    const r = await statsOf([file], { views: ['idle', 'launch'] });
    const [d, ...more] = r.idle!.devices;
    assert.ok(d && more.length === 0, file);
    assert.ok(d.available, file);
    assert.equal(d.unmatched, 0, file);
    near(ns(d.idleUs), fsToNs(o.idleFs), `${file}: idle`);
    addsUp(d.causes!, d.idleUs, file);
    for (const k of IDLE_CAUSES) assert.ok(d.causes![k] >= 0, `${file}: ${k}`);
    // host-bound + sync = the time before the launch call; sync = inside the issuing thread's sync calls
    near(ns(d.causes!.hostBound) + ns(d.causes!.sync), fsToNs(o.beforeLaunchFs), `${file}: before launch`);
    near(ns(d.causes!.sync), fsToNs(o.syncFs), `${file}: sync`);
    assert.ok(d.causes!.sync > 0, `${file}: the main thread's aclrtSynchronizeStreamWithTimeout / aclrtMemcpy show`);
    assert.equal(d.causes!.other, 0, file);
    // launch view: activities per launching API, as our sweep finds them
    const want = new Map<string, number>();
    for (const L of o.launch) want.set(L!.name, (want.get(L!.name) ?? 0) + 1);
    assert.deepEqual(new Map(r.launch!.apis.map((a) => [a.name, a.activities])), want, `${file}: activities per launch API`);
    assert.equal(r.launch!.apis.find((a) => a.name === 'Node@launch')?.kind, 'kernel');
    assert.equal(r.launch!.calls, new Set(o.launch).size, `${file}: distinct launch calls`);
    assert.deepEqual(r.launch!.unavailable, []);
    assert.ok(!r.notes.some((n) => /not available|not read yet/.test(n)), `${file}: no n/a note`);
    assert.ok(!r.diagnostics.some((x) => x.name === 'npu_task_unmatched_launch'), file);
    // tasks that start before their own CANN call (the two clocks disagree): named, counted exactly
    const early = o.tasks.filter((t, k) => t.s < o.launch[k]!.s).length;
    assert.ok(early > 20, `${file}: ${early} tasks before their launch`);
    assert.equal(r.diagnostics.find((x) => x.name === 'activity_before_launch')?.count, early, file);
  }
});

test('torch_npu Level 0 (no CANN calls recorded): launches via torch_to_npu + the task queue; the 5 tasks with neither are named and counted', async () => {
  for (const rank of [0, 1]) {
    const file = TV('level0', rank);
    const o = oracle(file);
    assert.equal(o.cann.length, 0, `${file}: Level 0 has no CANN slices`);
    const none = o.tasks.filter((_, k) => o.how[k] === 'none');
    // ReduceSum's aclopCompileAndExecute copies: only a HostToDevice flow, whose CANN call Level 0 does not record
    assert.equal(none.length, 5, file);
    for (const x of none) { assert.equal(x.name, 'MEMCPY_ASYNC', file); assert.equal(o.issuerTid[o.tasks.indexOf(x)], undefined, file); }
    const r = await statsOf([file], { views: ['idle', 'launch'] });
    const d = r.idle!.devices[0]!;
    assert.ok(d.available, file);
    assert.equal(d.unmatched, 5, file);
    near(ns(d.idleUs), fsToNs(o.idleFs), `${file}: idle`);
    addsUp(d.causes!, d.idleUs, file);
    for (const k of IDLE_CAUSES) assert.ok(d.causes![k] >= 0, `${file}: ${k}`);
    near(ns(d.causes!.hostBound) + ns(d.causes!.sync), fsToNs(o.beforeLaunchFs), `${file}: before the dequeue`);
    near(ns(d.causes!.other), fsToNs(o.unmatchedGapFs), `${file}: other = gaps ended by unmatched tasks`);
    assert.equal(d.causes!.sync, 0, `${file}: no CANN calls, no sync calls`);
    const diag = r.diagnostics.find((x) => x.name === 'npu_task_unmatched_launch');
    assert.equal(diag?.count, 5, file);
    assert.deepEqual(r.launch!.apis.map((a) => [a.name, a.kind, a.activities]), [['Dequeue', 'queue', 210]], file);
    assert.equal(r.launch!.rows.reduce((a, x) => a + x.unmatched, 0), 5, file);
  }
});

test('torch_npu without connection_id: the HostToDevice flows alone give the same CANN call for every task', async () => {
  const file = TV('level1', 0);
  const o = oracle(file);
  // one flow start, two finishes: ReduceSum's aclopCompileAndExecute puts two copies on the stream
  assert.equal(o.hasH2d.filter((x) => x).length, 215);
  await withTempDir('npu-h2d', async (dir) => {
    const stripped = path.join(dir, 'level1-rank0-no-connection-id.json');
    const text = readFileSync(file, 'utf8');
    const out = text.replace(/,\s*"connection_id":\s*"?\d+"?/g, '').replace(/"connection_id":\s*"?\d+"?,\s*/g, '');
    assert.ok(out.length < text.length && !out.includes('connection_id'));
    writeFileSync(stripped, out);
    const [r, full] = [await statsOf([stripped], { views: ['idle', 'launch'] }), await statsOf([file], { views: ['idle', 'launch'] })];
    const note = r.notes.find((n) => n.includes('torch_npu device tasks linked'));
    assert.match(note ?? '', /0 by connection_id, 215 by HostToDevice flow, 0 by torch_to_npu flow \+ task queue, 0 unmatched/);
    const want = new Map<string, number>();
    for (const L of o.launch) want.set(L!.name, (want.get(L!.name) ?? 0) + 1);
    assert.deepEqual(new Map(r.launch!.apis.map((a) => [a.name, a.activities])), want);
    // the same launches, so the same idle split to the ns
    assert.deepEqual(r.idle!.devices[0]!.causes, full.idle!.devices[0]!.causes);
    assert.deepEqual(r.launch!.rows, full.launch!.rows);
  });
});

test('a torch_npu trace with no CANN calls and no flows: the idle and launch views say n/a for it, and why', async () => {
  const r = await statsOf([edgeFixture('npu-tasks-without-launch-links.json')], { views: ['idle', 'launch'] });
  const d = r.idle!.devices[0]!;
  assert.equal(r.device, 'NPU');
  assert.equal(d.available, false);
  assert.equal(d.causes, null);
  assert.ok(d.idleUs > 0);
  assert.equal(r.launch!.unavailable.length, 1);
  assert.ok(r.notes.some((n) => /not available for torch_npu rank\(s\) .*no CANN calls and no torch_to_npu \/ HostToDevice flows/.test(n)), r.notes.join('\n'));
});

test('torch_npu Level 1: what the CPU was doing while the NPU waited includes its CPU ops (self time, no more than the host-bound time)', async () => {
  const file = TV('level1', 0);
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { ph?: string; cat?: string; name?: string }[];
  const opNames = new Set(raw.filter((e) => e.ph === 'X' && e.cat === 'cpu_op').map((e) => e.name));
  const r = await statsOf([file], { views: ['idle'] });
  const ops = r.idle!.cpu.filter((c) => c.kind === 'op');
  assert.ok(ops.length > 10, `${ops.length} op rows`);
  for (const o of ops) assert.ok(opNames.has(o.name), `${o.name} is a cpu_op of the trace`);
  // innermost self time: the op rows never cover more than the host-bound time together
  const total = ops.reduce((a, o) => a + ns(o.us), 0);
  assert.ok(total > 0 && total <= ns(r.idle!.hostBoundUs), `${total} ns of ops within ${r.idle!.hostBoundUs} µs host-bound`);
});
