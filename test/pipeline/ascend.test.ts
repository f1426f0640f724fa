/**
 * torch_npu (Ascend) traces end to end on the real profiles in test/fixtures/real/ascend:
 * fix (exact time, flow pairs, names), merge of rank directories (ranks from profiler_info,
 * collectives aligned across ranks), and cut-off traces (error, salvage).
 *
 * The oracle is test/helpers.ts's byte splitter (independent of src/): raw member text for
 * every event, exact decimal time in BigInt femtoseconds. JSON.parse is used only on small
 * values that it cannot round (names, args of metadata, pids).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fixTrace } from '../../src/pipeline/fix.js';
import { checkTrace } from '../../src/pipeline/check.js';
import { mergeTraces } from '../../src/pipeline/merge.js';
import { TraceforgeError } from '../../src/errors.js';
import {
  argsOf, FLOW_PHASES, FS_PER_US, loadTrace, readDecompressed, realFixture, splitTrace, threadNames, usTextToFs, withTempDir,
  type Ev, type LoadedTrace,
} from '../helpers.js';

const ASCEND = realFixture('ascend');
const traceOf = (level: string, rank: number): string => path.join(ASCEND, level, `rank${rank}_ascend_pt`, 'ASCEND_PROFILER_OUTPUT', 'trace_view.json');
const TRACES = ['level0', 'level1'].flatMap((l) => [0, 1].map((r) => ({ level: l, rank: r, file: traceOf(l, r) })));
const TWO_53 = 2n ** 53n;
const NS_TO_FS = 1_000_000n;

function topRaw(t: LoadedTrace, key: string): string | undefined {
  return t.raw.top.find((e) => e.key === key)?.raw;
}

/** process_name per pid (raw pid text normalised). */
function processNames(t: LoadedTrace): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of t.events) {
    if (e.ph !== 'M' || e.name !== 'process_name') continue;
    const n = argsOf(t, e)?.['name'];
    if (typeof n === 'string') m.set(String(JSON.parse(e.pidRaw!)), n);
  }
  return m;
}

const isFlow = (e: Ev): boolean => FLOW_PHASES.has(e.ph ?? '');

describe('fix of torch_npu trace_view.json (all four real traces)', () => {
  for (const { level, rank, file } of TRACES) {
    it(`${level} rank ${rank}: nests, exact time against baseTimeNanoseconds, flow pairs kept with safe ids, names kept`, async () => {
      await withTempDir('ascend-fix', async (dir) => {
        const output = path.join(dir, 'fixed.json');
        const res = await fixTrace(file, { output });
        const check = await checkTrace(output);
        assert.equal(check.nonNesting, 0, `${check.nonNesting} non-nesting slices after fix`);

        const input = loadTrace(readFileSync(file));
        const out = loadTrace(readDecompressed(output));
        assert.equal(input.raw.shape, 'array');
        assert.equal(out.raw.shape, 'object');
        const baseRaw = topRaw(out, 'baseTimeNanoseconds');
        assert.ok(baseRaw !== undefined && /^\d+$/.test(baseRaw), `baseTimeNanoseconds ${baseRaw}`);
        const baseFs = BigInt(baseRaw) * NS_TO_FS;
        assert.equal(res.timeBaseNs, baseRaw);

        // Events 0..n-1 of the output are the input's, in order; any extra are lane metadata.
        const n = input.events.length;
        assert.equal(res.events, n);
        assert.ok(out.events.length >= n);
        for (let i = 0; i < n; i++) {
          const a = input.events[i]!;
          const b = out.events[i]!;
          assert.equal(b.ph, a.ph, `#${i} ph`);
          assert.equal(b.name, a.name, `#${i} name`);
          assert.equal(b.pidRaw, a.pidRaw, `#${i} pid`);
          assert.equal(b.durRaw, a.durRaw, `#${i} dur`);
          // time: base + ts * 1000 == the original epoch-µs string, to the last digit
          if (a.tsRaw === undefined) { assert.equal(b.tsRaw, undefined); continue; }
          assert.ok(a.tsRaw.startsWith('"'), `#${i}: input ts ${a.tsRaw} is a string`);
          assert.ok(b.tsRaw !== undefined && /^-?\d+(\.\d+)?$/.test(b.tsRaw), `#${i}: output ts ${b.tsRaw} is not a plain JSON number`);
          assert.equal(baseFs + usTextToFs(b.tsRaw)!, usTextToFs(a.tsRaw)!, `#${i}: ${b.tsRaw} + base ${baseRaw} != ${a.tsRaw}`);
        }
        for (const e of out.events.slice(n)) assert.ok(e.ph === 'M' && (e.name === 'thread_name' || e.name === 'thread_sort_index'), `added ${e.ph} ${e.name}`);

        // Flows: group by (cat, raw id) in the input, by (cat, new id) in the output.
        const groupsIn = new Map<string, number[]>();
        const groupsOut = new Map<string, number[]>();
        let flows = 0;
        let unsafeIn = 0;
        for (let i = 0; i < n; i++) {
          const a = input.events[i]!;
          if (!isFlow(a)) continue;
          flows++;
          const b = out.events[i]!;
          const idText = a.idRaw!.replace(/^"|"$/g, '');
          if (/^\d+$/.test(idText) && !a.idRaw!.startsWith('"') && BigInt(idText) > TWO_53) unsafeIn++;
          assert.ok(b.idRaw !== undefined && /^\d+$/.test(b.idRaw), `#${i}: output flow id ${b.idRaw} is not a JSON integer`);
          assert.ok(BigInt(b.idRaw) <= TWO_53, `#${i}: output flow id ${b.idRaw} beyond 2^53`);
          const kIn = `${a.cat}\u0000${a.idRaw}`;
          const kOut = `${b.cat}\u0000${b.idRaw}`;
          (groupsIn.get(kIn) ?? groupsIn.set(kIn, []).get(kIn)!).push(i);
          (groupsOut.get(kOut) ?? groupsOut.set(kOut, []).get(kOut)!).push(i);
        }
        assert.ok(flows > 1000 && unsafeIn >= 400, `${flows} flows, ${unsafeIn} ids above 2^53 in the input`);
        for (const e of out.events.slice(n)) assert.ok(!isFlow(e));
        // same partition of the flow events: every input group is exactly one output group
        assert.equal(groupsOut.size, groupsIn.size, 'different pairs share an id, or a pair was split');
        const canon = (m: Map<string, number[]>): string[] => [...m.values()].map((l) => l.join(',')).sort();
        assert.deepEqual(canon(groupsOut), canon(groupsIn));
        const pairs = [...groupsIn.values()].filter((l) => l.length === 2).length;
        assert.ok(pairs >= 600, `${pairs} start/finish pairs`);

        // process and thread names kept
        assert.deepEqual(processNames(out), processNames(input));
        const tIn = threadNames(input);
        const tOut = threadNames(out);
        for (const [track, name] of tIn) assert.equal(tOut.get(track), name, `thread name of ${track}`);
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------
// merge

interface Collective { name: string; startFs: bigint; endFs: bigint; durRaw: string }

/** All-reduce slices of the processes named HCCL / Communication, by their ts. */
function allReducesIn(t: LoadedTrace, baseFs: bigint, pids: Set<string>): Collective[] {
  const out: Collective[] = [];
  for (const e of t.events) {
    if (e.ph !== 'X' || !/allreduce/i.test(e.name ?? '') || !pids.has(String(JSON.parse(e.pidRaw!)))) continue;
    const start = baseFs + usTextToFs(e.tsRaw)!;
    out.push({ name: e.name!, startFs: start, endFs: start + usTextToFs(e.durRaw)!, durRaw: e.durRaw! });
  }
  return out.sort((a, b) => (a.startFs < b.startFs ? -1 : a.startFs > b.startFs ? 1 : 0));
}

function hcclPids(t: LoadedTrace): Set<string> {
  return new Set([...processNames(t)].filter(([, n]) => /^(HCCL|Communication)$/.test(n)).map(([p]) => p));
}

function profilerInfoRank(level: string, rank: number): number {
  const j = JSON.parse(readFileSync(path.join(ASCEND, level, `rank${rank}_ascend_pt`, `profiler_info_${rank}.json`), 'utf8')) as { rank_id: unknown };
  return Number(j.rank_id);
}

/**
 * Collectives finish together on every rank (an all-reduce cannot complete anywhere before the
 * last contribution arrives), while they may start far apart (a rank that arrives early waits:
 * the first all-reduce of level1 starts 5.6 ms apart). On these profiles (two NPUs of one
 * host) the ends differ by at most 15 µs (level1: 6.6, 7.1, 14.8, 9.2 µs; level0: 8.6, 5.6,
 * 9.9, 7.4 µs). 50 µs leaves room for clock sync and the last ring step, yet is far below the
 * shortest all-reduce (2.2 ms) and below any error a wrong time base would make (≥ ms).
 */
const END_TOLERANCE_FS = 50n * FS_PER_US;

describe('merge of torch_npu rank directories', () => {
  for (const level of ['level1', 'level0']) {
    it(`${level}: one trace, RANK00/RANK01 from profiler_info, numeric ts, all-reduces exact and aligned across ranks`, async () => {
      await withTempDir('ascend-merge', async (dir) => {
        const output = path.join(dir, 'merged.json');
        const res = await mergeTraces({ inputs: [path.join(ASCEND, level)], output });
        assert.equal(res.results.length, 1);
        const r = res.results[0]!;
        assert.equal(r.output, output);
        assert.deepEqual(r.ranks.map((x) => [x.label, x.rank, path.resolve(x.file)]), [0, 1].map((k) => [`RANK0${k}`, profilerInfoRank(level, k), path.resolve(traceOf(level, k))]));

        const out = loadTrace(readDecompressed(output));
        assert.equal(out.raw.shape, 'object');
        for (const e of out.events) {
          if (e.tsRaw === undefined) { assert.equal(e.ph, 'M'); continue; }
          assert.match(e.tsRaw, /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/, `ts ${e.tsRaw} of ${e.name} is not a JSON number`);
        }
        const baseRaw = topRaw(out, 'baseTimeNanoseconds');
        assert.ok(baseRaw !== undefined && /^\d+$/.test(baseRaw));
        const baseFs = BigInt(baseRaw) * NS_TO_FS;

        // Which output pids hold each rank's HCCL process: the merge records the original pids.
        const meta = JSON.parse(topRaw(out, 'traceforgeMerge')!) as { ranks: { label: string; pids: Record<string, { originalPid: string }> }[] };
        const perRank: Collective[][] = [];
        for (const k of [0, 1]) {
          const input = loadTrace(readFileSync(traceOf(level, k)));
          const inPids = hcclPids(input);
          assert.equal(inPids.size, 1, `rank ${k}: one HCCL process`);
          const want = allReducesIn(input, 0n, inPids);
          assert.equal(want.length, 4, `rank ${k}: 4 all-reduces in the input`);
          const m = meta.ranks[k]!;
          assert.equal(m.label, `RANK0${k}`);
          const newPids = new Set(Object.entries(m.pids).filter(([, v]) => inPids.has(v.originalPid)).map(([p]) => p));
          const got = allReducesIn(out, baseFs, newPids);
          // exact: the merge kept every digit of the epoch time
          assert.deepEqual(got.map((c) => [c.name, c.startFs, c.durRaw]), want.map((c) => [c.name, c.startFs, c.durRaw]));
          perRank.push(got);
        }
        const [a, b] = perRank as [Collective[], Collective[]];
        for (let i = 0; i < a.length; i++) {
          assert.equal(a[i]!.name, b[i]!.name, `all-reduce #${i} pairs up by name`);
          const d = a[i]!.endFs - b[i]!.endFs;
          assert.ok((d < 0n ? -d : d) <= END_TOLERANCE_FS, `all-reduce #${i} ${a[i]!.name}: ends ${Number(d) / 1e9} µs apart`);
        }
      });
    });
  }

  it('process names keep the vendor names (HCCL, Ascend Hardware, ...) next to the rank label', async () => {
    await withTempDir('ascend-merge-names', async (dir) => {
      const output = path.join(dir, 'merged.json');
      await mergeTraces({ inputs: [path.join(ASCEND, 'level1')], output });
      const out = loadTrace(readDecompressed(output));
      const names = [...processNames(out).values()];
      for (const k of [0, 1]) {
        const label = `RANK0${k}`;
        const mine = names.filter((n) => n.startsWith(`[${label}]`));
        for (const vendorName of new Set(processNames(loadTrace(readFileSync(traceOf('level1', k)))).values())) {
          assert.ok(mine.some((n) => n.includes(vendorName)), `no [${label}] process named after "${vendorName}"; names: ${[...new Set(mine)].join(' | ')}`);
        }
      }
    });
  });

  it('ranks come from profiler_info, not from the directory names', async () => {
    await withTempDir('ascend-merge-swap', async (dir) => {
      // rank 1's profile under a name that sorts first, rank 0's under one that sorts last
      const place = (rank: number, name: string): string => {
        const src = path.join(ASCEND, 'level1', `rank${rank}_ascend_pt`);
        const dst = path.join(dir, 'in', name);
        mkdirSync(path.join(dst, 'ASCEND_PROFILER_OUTPUT'), { recursive: true });
        copyFileSync(path.join(src, `profiler_info_${rank}.json`), path.join(dst, `profiler_info_${rank}.json`));
        copyFileSync(path.join(src, 'ASCEND_PROFILER_OUTPUT', 'trace_view.json'), path.join(dst, 'ASCEND_PROFILER_OUTPUT', 'trace_view.json'));
        return path.join(dst, 'ASCEND_PROFILER_OUTPUT', 'trace_view.json');
      };
      const first = place(1, 'aaa_rank0_20250101000000000_ascend_pt');
      const last = place(0, 'zzz_rank1_20250101000000000_ascend_pt');
      const res = await mergeTraces({ inputs: [path.join(dir, 'in')], output: path.join(dir, 'merged.json') });
      const r = res.results[0]!;
      assert.deepEqual(r.ranks.map((x) => [x.label, x.rank, x.file]), [['RANK00', 0, last], ['RANK01', 1, first]]);
    });
  });

  it('the merged header records each rank number (from profiler_info) in traceforgeMerge', async () => {
    await withTempDir('ascend-merge-meta', async (dir) => {
      const output = path.join(dir, 'merged.json');
      await mergeTraces({ inputs: [path.join(ASCEND, 'level1')], output });
      const out = loadTrace(readDecompressed(output));
      const meta = JSON.parse(topRaw(out, 'traceforgeMerge')!) as { ranks: { label: string; rank: unknown }[] };
      assert.deepEqual(meta.ranks.map((x) => [x.label, x.rank]), [['RANK00', 0], ['RANK01', 1]]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// cut-off traces

interface Cut { what: string; at: (spans: { start: number; end: number }[], buf: Buffer) => number }

const CUTS: Cut[] = [
  { what: 'in the middle of an event half-way through the file', at: (s) => { const e = s[Math.floor(s.length / 2)]!; return e.start + Math.floor((e.end - e.start) / 2); } },
  { what: 'inside the ts string of an event a quarter into the file', at: (s, b) => { const e = s[Math.floor(s.length / 4)]!; const i = b.indexOf('"ts": "', e.start); assert.ok(i > 0 && i < e.end); return i + 12; } },
  { what: 'one byte into an event three quarters into the file', at: (s) => s[Math.floor((3 * s.length) / 4)]!.start + 1 },
];

describe('a torch_npu trace cut off in the middle of an event', () => {
  const original = readFileSync(traceOf('level1', 0));
  const spans = splitTrace(original).spans;
  for (const cut of CUTS) {
    it(`cut ${cut.what}: E_PARSE naming the file, truncated, byte offset; --salvage keeps exactly the complete events`, async () => {
      await withTempDir('ascend-cut', async (dir) => {
        const at = cut.at(spans, original);
        const file = path.join(dir, 'trace_view.json');
        writeFileSync(file, original.subarray(0, at));
        // independent count: the events that end at or before the cut
        const complete = spans.filter((s) => s.end <= at);
        const k = complete.length;
        assert.ok(k > 0 && spans[k]!.start < at && spans[k]!.end > at, 'the cut is inside event k');
        const lastEnd = complete[k - 1]!.end;

        const output = path.join(dir, 'fixed.json');
        await assert.rejects(fixTrace(file, { output }), (e: unknown) => {
          assert.ok(e instanceof TraceforgeError, String(e));
          assert.equal(e.code, 'E_PARSE');
          assert.ok(e.message.includes(file), `message does not name the file: ${e.message}`);
          assert.match(e.message, /truncated/i);
          const m = /byte (\d+)/.exec(e.message);
          assert.ok(m, `no byte offset in: ${e.message}`);
          assert.ok([at, lastEnd].includes(Number(m[1])), `offset ${m[1]} is neither the end of the input (${at}) nor of the last complete event (${lastEnd})`);
          assert.equal(e.file, file);
          return true;
        });
        assert.equal(existsSync(output), false, 'nothing written on error');

        const res = await fixTrace(file, { output, salvage: true });
        assert.equal(res.events, k);
        assert.equal(res.droppedBytes, at - lastEnd);
        const input = loadTrace(original);
        const out = loadTrace(readDecompressed(output));
        const baseFs = BigInt(topRaw(out, 'baseTimeNanoseconds')!) * NS_TO_FS;
        const kept = out.events.filter((e, i) => i < k || !(e.ph === 'M' && (e.name === 'thread_name' || e.name === 'thread_sort_index')));
        assert.equal(kept.length, k, 'the output holds exactly the complete events (plus lane metadata)');
        for (let i = 0; i < k; i++) {
          const a = input.events[i]!;
          const b = out.events[i]!;
          assert.equal(b.name, a.name);
          assert.equal(b.ph, a.ph);
          if (a.tsRaw !== undefined) assert.equal(baseFs + usTextToFs(b.tsRaw)!, usTextToFs(a.tsRaw)!);
        }
      });
    });
  }
});
