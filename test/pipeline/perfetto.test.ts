/**
 * Round trip of `--format perfetto` on real traces: the output is decoded with protobufjs
 * loading Perfetto's own proto/perfetto/perfetto_trace.proto (not traceforge's decoder), paired
 * into slices the way trace processor does (packets sorted by timestamp, then file position; an
 * END closes the innermost open slice of its track), and compared with the input read by the
 * independent JSON reader of test/helpers.ts (exact decimal times, own flow binding):
 * every input slice once with its exact ns start and duration, name, category and args; every
 * flow pair; every track under the right parent with the right name; slices nest on every track.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

import { fixTrace } from '../../src/pipeline/fix.js';
import { mergeTraces } from '../../src/pipeline/merge.js';
import { checkTrace } from '../../src/pipeline/check.js';
import {
  FlowBinder, PDL_EAGER, REPO_ROOT, argsOf, loadTraceFile, makeTempDir, realFixture, realKinetoTraces, relToRepo, slicesOf, threadNames, usTextToFs,
  type Ev, type LoadedTrace, type Slice,
} from '../helpers.js';

const root = protobuf.loadSync(path.join(REPO_ROOT, 'proto', 'perfetto', 'perfetto_trace.proto'));
const TraceMsg = root.lookupType('perfetto.protos.Trace');

interface Obj { [k: string]: unknown }
interface Track { uuid: string; name: string; parent: string | undefined; description: string | undefined; counter: boolean; rank: number }
interface OutSlice { track: string; ts: bigint; dur: bigint; name: string | undefined; cat: string | undefined; args: string; flows: string[]; terms: string[] }
interface Decoded {
  tracks: Map<string, Track>;
  slices: OutSlice[];
  instants: number;
  counters: { track: string; value: number }[];
  /** Problems found while pairing (END without BEGIN, BEGIN never ended). */
  problems: string[];
}

const FS_PER_NS = 1_000_000n;

/** A DebugAnnotation (protobufjs object, defaults off) back to a JSON value. */
function annotationValue(a: Obj): unknown {
  if ('dictEntries' in a && (a['dictEntries'] as Obj[]).length > 0) {
    const o: Record<string, unknown> = {};
    for (const e of a['dictEntries'] as Obj[]) o[e['name'] as string] = annotationValue(e);
    return o;
  }
  if ('arrayValues' in a && (a['arrayValues'] as Obj[]).length > 0) return (a['arrayValues'] as Obj[]).map(annotationValue);
  if ('boolValue' in a) return a['boolValue'];
  if ('intValue' in a) return Number(a['intValue']);
  if ('uintValue' in a) return Number(a['uintValue']);
  if ('doubleValue' in a) return a['doubleValue'];
  if ('stringValue' in a) return a['stringValue'];
  if ('legacyJsonValue' in a) return JSON.parse(a['legacyJsonValue'] as string);
  return undefined;
}

function decode(file: string): Decoded {
  let bytes = readFileSync(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const trace = TraceMsg.toObject(TraceMsg.decode(bytes), { longs: String, defaults: false, arrays: true }) as { packet: Obj[] };
  const tracks = new Map<string, Track>();
  const names = new Map<string, string>();
  const cats = new Map<string, string>();
  const argNames = new Map<string, string>();
  let valid = false;
  const events: { ts: bigint; order: number; te: Obj; name: string | undefined; cat: string | undefined; args: Record<string, unknown> }[] = [];
  trace.packet.forEach((p, order) => {
    const flags = Number(p['sequenceFlags'] ?? 0);
    if (flags & 1) { names.clear(); cats.clear(); argNames.clear(); valid = true; }
    const idata = p['internedData'] as Obj | undefined;
    if (idata) {
      for (const e of (idata['eventNames'] as Obj[] | undefined) ?? []) names.set(e['iid'] as string, e['name'] as string);
      for (const e of (idata['eventCategories'] as Obj[] | undefined) ?? []) cats.set(e['iid'] as string, e['name'] as string);
      for (const e of (idata['debugAnnotationNames'] as Obj[] | undefined) ?? []) argNames.set(e['iid'] as string, e['name'] as string);
    }
    const td = p['trackDescriptor'] as Obj | undefined;
    if (td) {
      const uuid = td['uuid'] as string;
      assert.ok(!tracks.has(uuid), `track ${uuid} described twice`);
      tracks.set(uuid, {
        uuid, name: td['name'] as string, parent: td['parentUuid'] as string | undefined, description: td['description'] as string | undefined,
        counter: 'counter' in td, rank: Number(td['siblingOrderRank'] ?? 0),
      });
    }
    const te = p['trackEvent'] as Obj | undefined;
    if (!te) return;
    if (flags & 2) assert.ok(valid, 'an event that needs incremental state before any packet cleared it');
    const args: Record<string, unknown> = {};
    for (const a of (te['debugAnnotations'] as Obj[] | undefined) ?? []) {
      const n = argNames.get(a['nameIid'] as string);
      assert.ok(n !== undefined, `debug annotation name iid ${String(a['nameIid'])} not interned`);
      args[n] = annotationValue(a);
    }
    const nameIid = te['nameIid'] as string | undefined;
    const catIids = (te['categoryIids'] as string[] | undefined) ?? [];
    if (nameIid !== undefined) assert.ok(names.has(nameIid), `name iid ${nameIid} not interned`);
    for (const c of catIids) assert.ok(cats.has(c), `category iid ${c} not interned`);
    events.push({ ts: BigInt(p['timestamp'] as string), order, te, name: nameIid === undefined ? undefined : names.get(nameIid), cat: catIids.length > 0 ? catIids.map((c) => cats.get(c)).join(',') : undefined, args });
  });
  // trace processor's order: timestamp, then position in the file
  events.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.order - b.order));
  const stacks = new Map<string, { e: typeof events[0] }[]>();
  const slices: OutSlice[] = [];
  const counters: { track: string; value: number }[] = [];
  const problems: string[] = [];
  let instants = 0;
  for (const e of events) {
    const track = e.te['trackUuid'] as string;
    assert.ok(tracks.has(track), `event on undescribed track ${track}`);
    const type = e.te['type'] as number;
    if (type === 1) {
      let st = stacks.get(track);
      if (!st) stacks.set(track, (st = []));
      st.push({ e });
    } else if (type === 2) {
      const open = stacks.get(track)?.pop();
      if (!open) { problems.push(`END without BEGIN on ${track} at ${e.ts}`); continue; }
      const b = open.e;
      slices.push({
        track, ts: b.ts, dur: e.ts - b.ts, name: b.name, cat: b.cat, args: JSON.stringify(b.args),
        flows: ((b.te['flowIds'] as string[] | undefined) ?? []), terms: ((b.te['terminatingFlowIds'] as string[] | undefined) ?? []),
      });
    } else if (type === 3) instants++;
    else if (type === 4) counters.push({ track, value: Number(e.te['counterValue'] ?? e.te['doubleCounterValue']) });
  }
  for (const [t, st] of stacks) if (st.length > 0) problems.push(`${st.length} slice(s) never ended on ${t}`);
  return { tracks, slices, instants, counters, problems };
}

const disp = (raw: string | undefined): string => (raw === undefined ? '' : String(JSON.parse(raw)));
const LANE = / \((overlap \d+|suspect duration(, overlap \d+)?)\)$/;

/** The thread/stream track of an output track (itself, or the parent of a lane). */
function baseTrack(d: Decoded, uuid: string): Track {
  const t = d.tracks.get(uuid)!;
  if (!LANE.test(t.name)) return t;
  const parent = d.tracks.get(t.parent ?? '')!;
  assert.ok(parent, `lane ${t.name} has no parent`);
  assert.equal(t.name.replace(LANE, ''), parent.name, `lane "${t.name}" is not under its stream (parent "${parent.name}")`);
  return parent;
}

function outKey(d: Decoded, s: OutSlice): string {
  const base = baseTrack(d, s.track);
  return [base.description, s.ts, s.dur, s.name, s.cat, s.args].join('|');
}

function inKey(t: LoadedTrace, baseNs: bigint, s: Slice): string {
  const ev = s.ev;
  const ts = baseNs + s.ts / FS_PER_NS;
  const durFs = usTextToFs(ev.durRaw);
  const dur = durFs !== undefined && durFs > 0n ? durFs / FS_PER_NS : 0n;
  return [`pid ${disp(ev.pidRaw)} tid ${disp(ev.tidRaw)}`, ts, dur, ev.name, ev.cat, JSON.stringify(argsOf(t, ev) ?? {})].join('|');
}

function baseNsOf(t: LoadedTrace): bigint {
  const e = t.raw.top.find((x) => x.key === 'baseTimeNanoseconds');
  return e ? BigInt(e.raw.replace(/"/g, '')) : 0n;
}

interface RoundTrip { slices: number; flowPairs: number; tracks: number; lanes: number }

/** The whole comparison of one JSON input with its Perfetto output. */
function checkRoundTrip(input: LoadedTrace, out: Decoded, opts: { ranks?: string[] } = {}): RoundTrip {
  assert.deepEqual(out.problems, []);
  const baseNs = baseNsOf(input);
  const inSlices = slicesOf(input);

  // 1. every input slice once: exact ns start and duration, name, category, args, thread
  const want = new Map<string, number>();
  for (const s of inSlices) { const k = inKey(input, baseNs, s); want.set(k, (want.get(k) ?? 0) + 1); }
  const got = new Map<string, OutSlice[]>();
  for (const s of out.slices) {
    const k = outKey(out, s);
    let l = got.get(k);
    if (!l) got.set(k, (l = []));
    l.push(s);
  }
  assert.equal(out.slices.length, inSlices.length, 'slice count');
  for (const [k, n] of want) assert.equal(got.get(k)?.length ?? 0, n, `input slice ${k.slice(0, 300)}`);

  // 2. slices nest on every track (ts asc, longer first: each inside the open one or after it)
  const byTrack = new Map<string, OutSlice[]>();
  for (const s of out.slices) { let l = byTrack.get(s.track); if (!l) byTrack.set(s.track, (l = [])); l.push(s); }
  for (const [t, l] of byTrack) {
    l.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.dur > b.dur ? -1 : a.dur < b.dur ? 1 : 0));
    const st: bigint[] = [];
    for (const s of l) {
      while (st.length > 0 && st[st.length - 1]! <= s.ts) st.pop();
      const top = st[st.length - 1];
      assert.ok(top === undefined || s.ts + s.dur <= top, `track ${out.tracks.get(t)!.name}: slice at ${s.ts} does not nest`);
      st.push(s.ts + s.dur);
    }
  }

  // 3. tracks: thread/stream names, process parents (and rank grandparents), lanes under streams
  const tnames = threadNames(input);
  const pnames = new Map<string, string>();
  for (const e of input.events) {
    if (e.ph !== 'M' || e.name !== 'process_name') continue;
    const a = argsOf(input, e);
    if (typeof a?.['name'] === 'string') pnames.set(disp(e.pidRaw), a['name']);
  }
  const seen = new Set<string>();
  let lanes = 0;
  for (const s of out.slices) {
    const t = out.tracks.get(s.track)!;
    if (t !== baseTrack(out, s.track)) lanes += seen.has(t.uuid) ? 0 : 1;
    seen.add(t.uuid);
  }
  const inTracks = new Map<string, Ev>();
  for (const s of inSlices) if (!inTracks.has(s.track)) inTracks.set(s.track, s.ev);
  const byDesc = new Map([...out.tracks.values()].map((t) => [t.description, t]));
  for (const [key, ev] of inTracks) {
    const t = byDesc.get(`pid ${disp(ev.pidRaw)} tid ${disp(ev.tidRaw)}`);
    assert.ok(t, `no track for ${key}`);
    assert.equal(t.name, tnames.get(key)?.trimEnd() || disp(ev.tidRaw), `name of ${key}`);
    const proc = out.tracks.get(t.parent ?? '');
    assert.ok(proc, `thread ${t.name} has no process parent`);
    assert.equal(proc.description, `pid ${disp(ev.pidRaw)}`);
    const pname = pnames.get(disp(ev.pidRaw));
    if (pname !== undefined) assert.ok(proc.name.startsWith(pname), `process "${proc.name}" is not named after "${pname}"`);
    if (opts.ranks) {
      const rank = out.tracks.get(proc.parent ?? '');
      assert.ok(rank && opts.ranks.includes(rank.name) && rank.parent === undefined, `process ${proc.name} is not under a rank track`);
      assert.ok(proc.name.startsWith(`[${rank.name}]`), `process ${proc.name} under rank ${rank.name}`);
    } else assert.equal(proc.parent, undefined);
  }

  // 4. flows: each input flow pair (bound by the helpers' own binding rules) joins the right
  // two slices: one flow id on the start's slice (flow_ids) and the finish's (terminating)
  const binder = new FlowBinder(inSlices);
  const keyOfSlice = new Map<Slice, string>(inSlices.map((s) => [s, inKey(input, baseNs, s)]));
  const flowEnds = new Map<string, { s?: string; f?: string }>();
  for (const e of input.events) {
    if ((e.ph !== 's' && e.ph !== 'f') || e.ts === undefined) continue;
    const c = binder.candidates(e);
    if (c.length !== 1) continue;
    const k = `${e.cat}\u0001${disp(e.idRaw)}`;
    let p = flowEnds.get(k);
    if (!p) flowEnds.set(k, (p = {}));
    p[e.ph] = keyOfSlice.get(c[0]!)!;
  }
  let flowPairs = 0;
  for (const [k, p] of flowEnds) {
    if (p.s === undefined || p.f === undefined) continue;
    const starts = new Set((got.get(p.s) ?? []).flatMap((s) => s.flows));
    const ends = (got.get(p.f) ?? []).flatMap((s) => s.terms);
    assert.ok(ends.some((id) => starts.has(id)), `flow ${k.replace('\u0001', ' ')}: no common flow id on its two slices`);
    flowPairs++;
  }
  // no flow id starts twice, and each terminating id has a start
  const startIds = out.slices.flatMap((s) => s.flows);
  const termIds = out.slices.flatMap((s) => s.terms);
  const startSet = new Set(startIds);
  assert.equal(termIds.filter((id) => startSet.has(id)).length >= flowPairs, true);
  return { slices: out.slices.length, flowPairs, tracks: out.tracks.size, lanes };
}

let tmp: string;
before(async () => { tmp = await makeTempDir('perfetto'); });
after(async () => { await rm(tmp, { recursive: true, force: true }); });

describe('fix --format perfetto: round trip through the official .proto', () => {
  it('pdl-eager (PDL kernels overlapping on stream 7): every slice, flow pair and track; lanes under the stream', async () => {
    const out = path.join(tmp, 'pdl.pftrace');
    const r = await fixTrace(PDL_EAGER, { format: 'perfetto', output: out });
    assert.ok(r.perfetto);
    assert.ok(r.summary.slicesMoved > 0);
    const d = decode(out);
    const input = loadTraceFile(PDL_EAGER);
    const rt = checkRoundTrip(input, d);
    assert.equal(rt.slices, 634);
    assert.ok(rt.lanes >= 1, 'the overlap lane has slices');
    const lane = [...d.tracks.values()].find((t) => t.name === 'stream 7 (overlap 1)');
    assert.ok(lane);
    assert.equal(d.tracks.get(lane.parent!)!.name, 'stream 7');
    assert.ok(rt.flowPairs > 200, `${rt.flowPairs} flow pairs`);
    assert.equal(d.instants, input.events.filter((e) => e.ph === 'i' || e.ph === 'I').length);
    // ac2g arrows join a launch and its kernel: the same correlation on both ends
    const starts = new Map<string, OutSlice>();
    for (const s of d.slices) for (const id of s.flows) starts.set(id, s);
    let ac2g = 0;
    for (const s of d.slices) {
      for (const id of s.terms) {
        const from = starts.get(id);
        if (!from || s.cat !== 'kernel') continue;
        assert.equal((JSON.parse(from.args) as Obj)['correlation'], (JSON.parse(s.args) as Obj)['correlation']);
        ac2g++;
      }
    }
    assert.ok(ac2g > 200);
  });

  it('a gzip name (.pftrace.gz) is compressed and decodes the same', async () => {
    const out = path.join(tmp, 'pdl.pftrace.gz');
    await fixTrace(PDL_EAGER, { output: out });
    assert.equal(readFileSync(out)[0], 0x1f);
    assert.equal(checkRoundTrip(loadTraceFile(PDL_EAGER), decode(out)).slices, 634);
  });

  it('torch_npu trace_view.json (string epoch-µs ts, flow ids above 2^53, counters): exact times, every flow pair, every counter value', async () => {
    const trace = realFixture('ascend', 'level1', 'rank0_ascend_pt', 'ASCEND_PROFILER_OUTPUT', 'trace_view.json');
    const out = path.join(tmp, 'npu.pftrace');
    const r = await fixTrace(trace, { format: 'perfetto', output: out });
    const d = decode(out);
    const input = loadTraceFile(trace);
    const rt = checkRoundTrip(input, d);
    assert.ok(rt.flowPairs > 300, `${rt.flowPairs} flow pairs`);
    // counters: one value per numeric arg of each C event, on a counter track named `name key`
    const want: string[] = [];
    for (const e of input.events) {
      if (e.ph !== 'C') continue;
      for (const [k, v] of Object.entries(argsOf(input, e) ?? {})) if (typeof v === 'number') want.push(`${e.name} ${k}=${v}`);
    }
    const gotC = d.counters.map((c) => { const t = d.tracks.get(c.track)!; assert.ok(t.counter); return `${t.name}=${c.value}`; });
    assert.deepEqual(gotC.sort(), want.sort());
    assert.equal(r.perfetto!.counterValues, want.length);
  });
});

describe('fix --format perfetto: every bundled real Kineto trace round-trips', () => {
  for (const file of realKinetoTraces()) {
    it(relToRepo(file), async () => {
      const out = path.join(tmp, `${path.basename(file)}.pftrace`);
      await fixTrace(file, { format: 'perfetto', output: out });
      const input = loadTraceFile(file);
      const rt = checkRoundTrip(input, decode(out));
      // every complete event with a duration came back as one slice (checkRoundTrip matched each)
      assert.ok(rt.slices > 0);
    });
  }
});

describe('merge --format perfetto', () => {
  it('tp2: every slice and flow of the merged timeline, processes under their rank track', async () => {
    const dir = path.join(tmp, 'tp2');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    for (const k of [0, 1]) copyFileSync(realFixture('h200', 'tp2', `1763900000-TP-${k}.trace.json.gz`), path.join(dir, `1763900000-TP-${k}.trace.json.gz`));
    const { results } = await mergeTraces({ inputs: [dir], format: 'perfetto' });
    assert.equal(results.length, 1);
    const r = results[0]!;
    assert.equal(r.output, path.join(dir, 'merged-1763900000.pftrace'));
    assert.ok(r.slicesMoved > 0);
    // the same merge as JSON without the fix is what the conversion started from
    const jsonDir = path.join(tmp, 'tp2-json');
    mkdirSync(jsonDir);
    const j = await mergeTraces({ inputs: [dir], fix: false, output: jsonDir });
    const d = decode(r.output);
    const rt = checkRoundTrip(loadTraceFile(j.results[0]!.output), d, { ranks: ['TP00', 'TP01'] });
    assert.ok(rt.flowPairs > 1500, `${rt.flowPairs} flow pairs`);
    assert.ok(rt.lanes >= 4, `${rt.lanes} lanes with slices`);
    // ranks in order, and the GPU process first in each (as the JSON merge orders them)
    const roots = [...d.tracks.values()].filter((t) => t.parent === undefined).sort((a, b) => a.rank - b.rank);
    assert.deepEqual(roots.map((t) => t.name), ['TP00', 'TP01']);
    const first = [...d.tracks.values()].find((t) => t.parent === roots[0]!.uuid && t.rank === 0)!;
    assert.match(first.name, /^\[TP00\] GPU 0/);
  });

  it('--no-fix with --format perfetto is refused (begin/end pairs must nest)', async () => {
    await assert.rejects(mergeTraces({ inputs: [realFixture('h200', 'tp2')], format: 'perfetto', fix: false, output: path.join(tmp, 'x.pftrace') }), /--no-fix/);
  });
});

describe('check on a Perfetto trace', () => {
  it('decodes it and runs the same diagnostics: the fixed pdl-eager nests, the same dangling flows as the input', async () => {
    const out = path.join(tmp, 'check.pftrace');
    await fixTrace(PDL_EAGER, { format: 'perfetto', output: out });
    const before = await checkTrace(PDL_EAGER);
    const c = await checkTrace(out);
    assert.ok(before.nonNesting > 0);
    assert.equal(c.nonNesting, 0);
    assert.equal(c.slices, before.slices);
    assert.equal(c.diagnostics.count('flow_missing_end'), before.diagnostics.count('flow_missing_end'));
    assert.equal(c.diagnostics.count('flow_missing_start'), before.diagnostics.count('flow_missing_start'));
    assert.equal(c.diagnostics.count('track_unsorted'), 0);
    for (const d of ['perfetto_end_without_begin', 'perfetto_begin_without_end', 'perfetto_unknown_iid', 'perfetto_undescribed_track'] as const) assert.equal(c.diagnostics.count(d), 0, d);
  });

  it('finds a BEGIN that no END closes and a truncated file', async () => {
    const out = path.join(tmp, 'cut.pftrace');
    await fixTrace(PDL_EAGER, { format: 'perfetto', output: out });
    const bytes = readFileSync(out);
    // drop the last END packet (found with protobufjs), then cut the file inside a packet
    const Packet = root.lookupType('perfetto.protos.TracePacket');
    let at = 0;
    let drop: [number, number] | undefined;
    while (at < bytes.length) {
      let n = 0, shift = 0, i = at + 1;
      for (;;) { const b = bytes[i++]!; n += (b & 0x7f) * 2 ** shift; shift += 7; if (!(b & 0x80)) break; }
      const p = Packet.toObject(Packet.decode(bytes.subarray(i, i + n))) as { trackEvent?: { type?: number } };
      if (p.trackEvent?.type === 2) drop = [at, i + n];
      at = i + n;
    }
    assert.ok(drop);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(out, Buffer.concat([bytes.subarray(0, drop[0]), bytes.subarray(drop[1])]));
    const c = await checkTrace(out);
    assert.equal(c.diagnostics.count('perfetto_begin_without_end'), 1);
    assert.equal(c.clean, false);
    writeFileSync(out, bytes.subarray(0, drop[0] + 3));
    await assert.rejects(checkTrace(out), /truncated Perfetto trace/);
  });
});
