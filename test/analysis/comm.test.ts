/**
 * The comm view against independent computations: the test reads the raw JSON itself (exact
 * decimal times from the text, its own pairing loop, its own byte sizes and bus factors) and
 * imports nothing from the code under test but the entry points.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { statsOf } from '../../src/pipeline/stats.js';
import { mergeTraces } from '../../src/pipeline/merge.js';
import { argsOf, edgeFixture, loadTraceFile, realFixture, usTextToFs, withTempDir, type LoadedTrace } from '../helpers.js';

const TP2 = realFixture('h200', 'tp2');
const TP2_FILES = ['1763900000-TP-0.trace.json.gz', '1763900000-TP-1.trace.json.gz'].map((f) => path.join(TP2, f));
const NCCL_DATA = realFixture('public', 'hta', 'nccl_data.json.gz');
const SEQ_CASE = edgeFixture('collective-seq-order-differs-across-ranks');
const LEVEL1 = realFixture('ascend', 'level1');

const FS_PER_NS = 1_000_000n;
const usOf = (ns: number): number => Math.round(ns) / 1000;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const near = (a: number | null | undefined, b: number, tol: number, what: string): void => {
  assert.ok(a !== null && a !== undefined && Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
};

interface Kern { startNs: bigint; durNs: bigint; args: Record<string, unknown> }

/** Communication kernels of a trace (NCCL by name), absolute ns from the text: base + ts. */
function ncclKernels(t: LoadedTrace): Kern[] {
  const top = JSON.parse(t.raw.top.find((e) => e.key === 'baseTimeNanoseconds')?.raw ?? '0') as number | string;
  const base = BigInt(String(top));
  return t.events
    .filter((e) => e.cat === 'kernel' && /^nccl/i.test(e.name ?? ''))
    .map((e) => ({ startNs: base + e.ts! / FS_PER_NS, durNs: usTextToFs(e.durRaw)! / FS_PER_NS, args: argsOf(t, e) ?? {} }))
    .sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
}

const SIZE: Record<string, number> = { BFloat16: 2, Float: 4, Long: 8 };

test('comm view on tp2: all-reduce bytes from Out msg nelems × dtype size, latency = min duration, busbw with 2(n−1)/n, skew', async () => {
  const ranks = TP2_FILES.map((f) => ncclKernels(loadTraceFile(f)));
  assert.equal(ranks[0]!.length, ranks[1]!.length);
  // pair the j-th kernel of the (one) process group on each rank
  const rows = new Map<number, { lat: number[]; skew: number[]; n: number }>();
  for (let j = 0; j < ranks[0]!.length; j++) {
    const a = ranks[0]![j]!;
    const b = ranks[1]![j]!;
    assert.equal(a.args['Process Group Name'], b.args['Process Group Name']);
    const bytes = Number(a.args['Out msg nelems']) * SIZE[String(a.args['dtype'])]!;
    const n = Number(a.args['Group size']);
    const r = rows.get(bytes) ?? { lat: [], skew: [], n };
    r.lat.push(Number(a.durNs < b.durNs ? a.durNs : b.durNs));
    r.skew.push(Number(a.startNs > b.startNs ? a.startNs - b.startNs : b.startNs - a.startNs));
    rows.set(bytes, r);
  }
  const res = await statsOf([TP2], { views: ['comm'] });
  const cl = res.comm!.collectives!;
  assert.deepEqual(cl.ranks, ['TP00', 'TP01']);
  assert.equal(cl.rows.length, rows.size);
  for (const [bytes, r] of rows) {
    const row = cl.rows.find((x) => x.bytes === bytes);
    assert.ok(row, `a row for ${bytes} bytes`);
    assert.equal(row.collective, 'all_reduce');
    assert.equal(row.calls, r.lat.length);
    assert.equal(row.complete, r.lat.length);
    const lat = median(r.lat);
    assert.equal(row.latencyUs, usOf(lat));
    const algbw = bytes / lat; // bytes per ns = GB/s
    near(row.algbwGBs, algbw, 0.0005, 'algbw');
    near(row.busbwGBs, algbw * (2 * (r.n - 1)) / r.n, 0.0005, 'busbw');
    assert.equal(row.startSkewMedianUs, usOf(median(r.skew)));
    assert.equal(row.startSkewMaxUs, usOf(Math.max(...r.skew)));
  }
  assert.equal(cl.groups.length, 1);
  assert.equal(cl.groups[0]!.pairedBy, 'order');
  // the rank view keeps its outputs on the same pairing
  assert.equal(cl.straggler, 'TP01');
});

test('comm view on nccl_data (rank 0 of 2): calls and bytes per collective and size; latency and bandwidth missing, said so', async () => {
  const ks = ncclKernels(loadTraceFile(NCCL_DATA));
  const expected = new Map<string, { calls: number; durs: number[] }>();
  for (const k of ks) {
    const coll = String(k.args['Collective name']);
    const type = coll === 'allreduce' ? 'all_reduce' : coll === 'broadcast' ? 'broadcast' : coll;
    const n = Number(type === 'all_gather' ? k.args['Out msg nelems'] : k.args['In msg nelems']);
    const key = `${type} ${String(k.args['dtype'])} ${n * SIZE[String(k.args['dtype'])]!}`;
    const e = expected.get(key) ?? { calls: 0, durs: [] };
    e.calls++;
    e.durs.push(Number(k.durNs));
    expected.set(key, e);
  }
  const res = await statsOf([NCCL_DATA], { views: ['comm'] });
  const cl = res.comm!.collectives!;
  assert.equal(cl.rows.length, expected.size);
  for (const row of cl.rows) {
    const e = expected.get(`${row.collective} ${row.dtype} ${row.bytes}`);
    assert.ok(e, `row ${row.collective} ${row.bytes}`);
    assert.equal(row.calls, e.calls);
    assert.equal(row.complete, 0);
    assert.deepEqual(row.durationUs, [usOf(median(e.durs))]);
    assert.equal(row.latencyUs, null);
    assert.equal(row.algbwGBs, null);
    assert.equal(row.busbwGBs, null);
    assert.equal(row.startSkewMedianUs, null);
  }
  const d = res.diagnostics.find((x) => x.name === 'collective_unpaired');
  assert.equal(d?.count, ks.length);
  assert.equal(cl.groups[0]!.size, 2);
  assert.deepEqual(cl.groups[0]!.members, ['RANK00']);
});

test('pairing by Seq (collective-seq-order-differs-across-ranks): Seq from record_param_comms, groups kept apart, the global kernel order ignored', async () => {
  // independent: per rank, External id -> Seq of record_param_comms; kernels keyed by (group, Seq)
  const files = readdirSync(SEQ_CASE).filter((f) => f.endsWith('.json')).sort();
  const byKey = new Map<string, { rank: number; start: number; dur: number; bytes: number }[]>();
  files.forEach((f, rank) => {
    const j = JSON.parse(readFileSync(path.join(SEQ_CASE, f), 'utf8')) as { traceEvents: { cat?: string; name?: string; ts: number; dur: number; args?: Record<string, unknown> }[] };
    const seq = new Map<unknown, unknown>();
    for (const e of j.traceEvents) if (e.name === 'record_param_comms') seq.set(e.args!['External id'], e.args!['Seq']);
    for (const e of j.traceEvents) {
      if (e.cat !== 'kernel') continue;
      const a = e.args!;
      const key = `${String(a['Process Group Name'])}/${String(seq.get(a['External id']))}`;
      const l = byKey.get(key) ?? [];
      const n = Number(String(a['Collective name']).includes('allgather') ? a['Out msg nelems'] : a['In msg nelems']);
      l.push({ rank, start: Math.round(e.ts * 1000), dur: Math.round(e.dur * 1000), bytes: n * 4 });
      byKey.set(key, l);
    }
  });
  // the global n-th kernel differs across ranks (so pairing by it would be wrong)
  const res = await statsOf([SEQ_CASE], { views: ['comm', 'rank'] });
  const cl = res.comm!.collectives!;
  assert.deepEqual(cl.groups.map((g) => [g.name, g.pairedBy, g.instances, g.complete]), [['1', 'seq', 3, 2], ['2', 'seq', 1, 1]]);
  const complete = [...byKey.entries()].filter(([, l]) => l.length === 2);
  for (const [key, l] of complete) {
    const group = key.split('/')[0]!;
    const row = cl.rows.find((r) => r.group.startsWith(`${group} `))!;
    const lats = complete.filter(([k]) => k.startsWith(`${group}/`)).map(([, x]) => Math.min(x[0]!.dur, x[1]!.dur));
    assert.equal(row.latencyUs, usOf(median(lats)));
    assert.equal(row.bytes, l[0]!.bytes);
    const skews = complete.filter(([k]) => k.startsWith(`${group}/`)).map(([, x]) => Math.abs(x[0]!.start - x[1]!.start));
    assert.equal(row.startSkewMaxUs, usOf(Math.max(...skews)));
    assert.equal(row.startSkewMedianUs, usOf(median(skews)));
  }
  // lateness heatmap rows: one per complete instance, the earliest rank at 0
  assert.equal(cl.instances.length, complete.length);
  for (const i of cl.instances) assert.ok(i.lateUs.includes(0));
  assert.equal(res.diagnostics.find((d) => d.name === 'collective_unpaired')?.count, 1);
  // the rank view pairs the same way
  assert.equal(res.ranks!.collectives.paired, complete.length);
});

test('comm view of a merged tp2 trace equals the comm view of its rank files', async () => {
  await withTempDir('comm-merged', async (dir) => {
    const m = await mergeTraces({ inputs: [TP2], output: dir });
    const merged = m.results[0]!.output;
    const a = (await statsOf([TP2], { views: ['comm'] })).comm!.collectives!;
    const b = (await statsOf([merged], { views: ['comm'] })).comm!.collectives!;
    assert.deepEqual(b.rows, a.rows);
    assert.deepEqual(b.perRank, a.perRank);
  });
});

interface VendorOp { name: string; t: Record<string, number> }

function vendorOps(rank: number): VendorOp[] {
  const dir = readdirSync(LEVEL1).find((d) => d.startsWith(`rank${rank}`))!;
  const j = JSON.parse(readFileSync(path.join(LEVEL1, dir, 'ASCEND_PROFILER_OUTPUT', 'communication.json'), 'utf8')) as Record<string, Record<string, Record<string, { 'Communication Time Info': Record<string, number> }>>>;
  const out: VendorOp[] = [];
  for (const step of Object.values(j)) for (const kind of Object.values(step)) for (const [k, v] of Object.entries(kind)) out.push({ name: k, t: v['Communication Time Info'] });
  return out;
}

test('torch_npu level1: per-rank communication totals are the sums of communication.json; verdicts by msprof\'s rules', async () => {
  const res = await statsOf([LEVEL1], { views: ['comm'] });
  const a = res.comm!.ascend!;
  assert.equal(a.perRank.length, 2);
  const ratios: { label: string; op: string; wait: number; sync: number; transit: number }[] = [];
  for (const [k, rank] of [0, 1].entries()) {
    const ops = vendorOps(rank).filter((o) => o.name !== 'Total Op Info');
    const total = vendorOps(rank).find((o) => o.name === 'Total Op Info')!;
    const p = a.perRank[k]!;
    assert.equal(p.rank, rank);
    assert.equal(p.ops, ops.length);
    const fields: [keyof typeof p, string][] = [['elapseUs', 'Elapse Time(ms)'], ['transitUs', 'Transit Time(ms)'], ['waitUs', 'Wait Time(ms)'], ['syncUs', 'Synchronization Time(ms)'], ['idleUs', 'Idle Time(ms)']];
    for (const [ours, theirs] of fields) {
      const sum = ops.reduce((s, o) => s + o.t[theirs]!, 0) * 1000; // µs
      // each op is kept in whole ns: at most half a ns per op, plus the µs rounding
      near(p[ours] as number, sum, (ops.length * 0.5 + 1) / 1000, `${p.label} ${ours}`);
      near(p[ours] as number, total.t[theirs]! * 1000, (ops.length * 0.5 + 1) / 1000 + 1e-6, `${p.label} ${ours} vs Total Op Info`);
    }
    for (const o of ops) ratios.push({ label: p.label, op: o.name, wait: o.t['Wait Time(ms)']!, sync: o.t['Synchronization Time(ms)']!, transit: o.t['Transit Time(ms)']! });
  }
  // msprof slow_rank_calculator, re-done here: per op the rank with the largest wait ratio; > 0.2 and its sync ratio > 0.2 -> the rank with the smallest wait ratio is slow
  const slow = new Map<string, number>();
  for (const op of new Set(ratios.map((r) => r.op))) {
    const l = ratios.filter((r) => r.op === op).map((r) => ({ ...r, wr: r.wait / (r.wait + r.transit), sr: r.sync / (r.sync + r.transit) }));
    const max = l.reduce((x, y) => (y.wr > x.wr ? y : x));
    const min = l.reduce((x, y) => (y.wr < x.wr ? y : x));
    if (max.wr > 0.2 && max.sr > 0.2) slow.set(min.label, (slow.get(min.label) ?? 0) + 1);
  }
  const expectSlow = [...slow].sort((x, y) => y[1] - x[1])[0]?.[0] ?? null;
  const v = a.verdicts.find((x) => x.rule === 'slow rank')!;
  assert.equal(v.subject, expectSlow);
  assert.equal(v.supported, true);
  // slowest link of each transport type vs 0.8 × the average, over the matrix totals of both ranks
  const links: { type: string; bw: number; link: string }[] = [];
  for (const rank of [0, 1]) {
    const dir = readdirSync(LEVEL1).find((d) => d.startsWith(`rank${rank}`))!;
    const m = JSON.parse(readFileSync(path.join(LEVEL1, dir, 'ASCEND_PROFILER_OUTPUT', 'communication_matrix.json'), 'utf8')) as Record<string, Record<string, Record<string, Record<string, Record<string, unknown>>>>>;
    for (const step of Object.values(m)) for (const kind of Object.values(step)) for (const [k, ls] of Object.entries(kind)) {
      if (!/-total@/.test(k)) continue;
      for (const [link, x] of Object.entries(ls)) {
        const t = x['Transit Time(ms)'] as number;
        if (x['Transport Type'] === 'LOCAL' || !(t > 0)) continue;
        links.push({ type: String(x['Transport Type']), bw: (x['Transit Size(MB)'] as number) / t, link });
      }
    }
  }
  const hccs = links.filter((l) => l.type === 'HCCS');
  const avg = hccs.reduce((s, l) => s + l.bw, 0) / hccs.length;
  const slowest = hccs.reduce((x, y) => (y.bw < x.bw ? y : x));
  const lv = a.verdicts.find((x) => x.rule === 'slow link')!;
  assert.equal(lv.subject !== null, slowest.bw <= 0.8 * avg);
  assert.ok(lv.verdict.includes(`link ${slowest.link}`), lv.verdict);
  // HCCL ops pair by (group, index) from their names; the group has (largest local rank in the matrix + 1) ranks
  const largest = Math.max(...links.map((l) => Math.max(...l.link.split('-').map(Number))));
  const cl = res.comm!.collectives!;
  assert.deepEqual(cl.groups.map((g) => [g.pairedBy, g.size, g.members.length]), [['seq', largest + 1, 2]]);
  assert.ok(cl.rows.every((r) => r.latencyUs === null), 'a group with ranks missing has no latency');
  // message sizes: count × FP32 size of the HCCL op slices in trace_view.json
  const dir0 = readdirSync(LEVEL1).find((d) => d.startsWith('rank0'))!;
  const tv = JSON.parse(readFileSync(path.join(LEVEL1, dir0, 'ASCEND_PROFILER_OUTPUT', 'trace_view.json'), 'utf8')) as { name?: string; ph?: string; args?: Record<string, unknown> }[];
  const sizes = tv.filter((e) => e.ph === 'X' && /^hcom_/.test(e.name ?? '')).map((e) => {
    assert.equal(e.args!['data_type'], 'FP32');
    return Number(e.args!['count']) * 4;
  });
  assert.deepEqual(cl.rows.map((r) => r.bytes).sort((x, y) => x! - y!), sizes.sort((x, y) => x - y));
});

test('report: the communication section draws one lateness cell per rank and complete instance, in the en-US format', async () => {
  const { reportDataOf, chartAssets } = await import('../../src/pipeline/report.js');
  const { renderReportHtml } = await import('../../src/report/html.js');
  const data = await reportDataOf([TP2]);
  const html = renderReportHtml(data, await chartAssets());
  const at = html.indexOf('<section id="comm">');
  assert.ok(at > 0, 'a communication section');
  const section = html.slice(at, html.indexOf('</section>', at));
  const ranks = TP2_FILES.map((f) => ncclKernels(loadTraceFile(f)));
  const cells = section.match(/<td class="tf-heat"/g) ?? [];
  assert.equal(cells.length, 2 * ranks[0]!.length);
  // the instance with the largest lateness is the darkest, and its value is in its title
  const late = ranks[0]!.map((a, j) => Number(a.startNs - ranks[1]![j]!.startNs));
  const worst = late.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  assert.ok(section.includes('rgba(242,142,43,1.000)'));
  assert.ok(section.includes(`darkest: ${(Math.round(worst) / 1e6).toFixed(2)}\u00a0ms`), 'the largest lateness, in ms with en-US digits');
  assert.ok(section.includes('busbw GB/s'));
});

test('diff --by comm: rows paired by group, collective and size; a profile against itself changes nothing', async () => {
  const { diffOf } = await import('../../src/pipeline/diff.js');
  const d = await diffOf(TP2, TP2, { views: ['comm'] });
  const s = (await statsOf([TP2], { views: ['comm'] })).comm!.collectives!;
  assert.equal(d.comm!.length, s.rows.length);
  for (const row of d.comm!) {
    const x = s.rows.find((r) => r.bytes === row.bytes)!;
    assert.equal(row.baseline!.latencyUs, x.latencyUs);
    assert.equal(row.candidate!.busbwGBs, x.busbwGBs);
    assert.equal(row.latencyChange, 0);
    assert.equal(row.busbwChange, 0);
  }
  // one rank against two: the single rank has no latency, so no change can be computed
  const one = await diffOf(TP2_FILES[0]!, TP2, { views: ['comm'] });
  assert.ok(one.comm!.every((r) => r.baseline!.latencyUs === null && r.latencyChange === null));
});

test('all-to-all (all-to-all-uneven-splits): rank-pair bytes from In split size rows × row size × dtype size; busbw with (n−1)/n', async () => {
  const dir = edgeFixture('all-to-all-uneven-splits');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const m = [[0, 0], [0, 0]];
  const durs = new Map<number, number[]>();
  const bytesOf = new Map<number, number>();
  files.forEach((f, src) => {
    const j = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { traceEvents: { cat?: string; dur: number; args?: Record<string, unknown> }[] };
    for (const e of j.traceEvents) {
      if (e.cat !== 'kernel') continue;
      const split = JSON.parse(String(e.args!['In split size'])) as number[];
      const nelems = Number(e.args!['In msg nelems']);
      const rowElems = nelems / split.reduce((a, b) => a + b, 0);
      split.forEach((rows, dst) => { m[src]![dst]! += rows * rowElems * 2; });
      const ext = Number(e.args!['External id']);
      durs.set(ext, [...(durs.get(ext) ?? []), Math.round(e.dur * 1000)]);
      bytesOf.set(ext, bytesOf.has(ext) && bytesOf.get(ext) !== nelems * 2 ? -1 : nelems * 2);
    }
  });
  const res = await statsOf([dir], { views: ['comm'] });
  const cl = res.comm!.collectives!;
  assert.equal(cl.pairBytes.length, 1);
  assert.deepEqual(cl.pairBytes[0]!.bytes, m);
  assert.deepEqual(cl.pairBytes[0]!.labels, ['RANK00', 'RANK01']);
  // instance 2: the ranks send different amounts (all-to-allv): no message size, no bandwidth
  assert.equal(cl.rows.length, 2);
  for (const row of cl.rows) {
    assert.equal(row.collective, 'all_to_all');
    const ext = [...bytesOf].find(([, b]) => b === (row.bytes ?? -1))![0];
    const lat = Math.min(...durs.get(ext)!);
    assert.equal(row.latencyUs, usOf(lat));
    if (row.bytes === null) assert.equal(row.busbwGBs, null);
    else near(row.busbwGBs, (row.bytes / lat) * (1 / 2), 0.0005, 'busbw (n−1)/n');
  }
  assert.equal(res.diagnostics.find((d) => d.name === 'collective_size_mismatch'), undefined);
});
