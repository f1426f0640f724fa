/**
 * The efficiency view on real traces, checked against computations written here from the raw
 * JSON (whole file through JSON.parse with `dur` kept as text → exact integer ns; kernels found
 * by `External id`), tiny-truth.json's known GEMM and attention FLOPs, and the NPU pipe rules
 * applied here to kernel_details.csv by a CSV reader of the test's own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

import { statsOf } from '../../src/pipeline/stats.js';
import { edgeFixture, realFixture, PDL_EAGER, runCli, withTempDir } from '../helpers.js';

interface Ev { ph?: string; cat?: string; name?: string; dur?: string; args?: Record<string, unknown> }

/** Events with `dur` as its text (numbers quoted before JSON.parse). */
function events(p: string): Ev[] {
  const raw = readFileSync(p);
  const text = (raw[0] === 0x1f ? gunzipSync(raw) : raw).toString('utf8').replace(/"dur"(\s*):(\s*)(\d+(?:\.\d+)?)/g, '"dur"$1:$2"$3"');
  const j = JSON.parse(text) as { traceEvents: Ev[] } | Ev[];
  return Array.isArray(j) ? j : j.traceEvents;
}
/** µs text → integer ns, exactly. */
function ns(t: string): bigint {
  const [i, f = ''] = t.split('.');
  return BigInt(i!) * 1000n + BigInt((f + '000').slice(0, 3));
}
const close = (a: number | null, b: number, what: string): void => {
  assert.ok(a !== null, `${what} is missing`);
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.abs(b), `${what}: ${a} vs ${b}`);
};

test('pdl-eager: aten::mm [[2048,2048],[2048,2048]] BF16 gets 2·2048³ FLOP per call and the TFLOP/s of its kernels', async () => {
  const ev = events(PDL_EAGER);
  const ext = new Set<unknown>();
  for (const e of ev) {
    if (e.ph === 'X' && e.cat === 'cpu_op' && e.name === 'aten::mm' && JSON.stringify(e.args?.['Input Dims']) === '[[2048,2048],[2048,2048]]') ext.add(e.args?.['External id']);
  }
  const perCall = new Map<unknown, bigint>();
  for (const e of ev) {
    if (e.ph === 'X' && e.cat === 'kernel' && ext.has(e.args?.['External id'])) {
      const x = e.args?.['External id'];
      perCall.set(x, (perCall.get(x) ?? 0n) + ns(e.dur!));
    }
  }
  const totalNs = [...perCall.values()].reduce((a, b) => a + b, 0n);
  const flops = 2n * 2048n ** 3n;
  assert.equal(flops, 17179869184n);
  const r = await statsOf([PDL_EAGER], { views: ['efficiency'] });
  const row = r.efficiency!.rows.find((x) => x.name === 'aten::mm' && JSON.stringify(x.inputDims) === '[[2048,2048],[2048,2048]]');
  assert.ok(row);
  assert.equal(row.calls, ext.size);
  assert.equal(row.calls, 48);
  assert.equal(row.flops, Number(flops));
  assert.equal(row.totalFlops, Number(flops) * 48);
  assert.equal(row.bytes, 3 * 2048 * 2048 * 2);
  assert.equal(row.totalUs, Number(totalNs) / 1000);
  // TFLOP/s = FLOPs / s / 10^12 = FLOPs / ns / 1000
  close(row.tflops, Number(flops * 48n) / Number(totalNs) / 1000, 'time-weighted TFLOP/s');
  const calls = [...perCall.values()].map((t) => Number(flops) / Number(t) / 1000).sort((a, b) => a - b);
  close(row.tflopsMedian, (calls[23]! + calls[24]!) / 2, 'median TFLOP/s');
  close(row.tflopsMean, calls.reduce((a, b) => a + b, 0) / calls.length, 'mean TFLOP/s');
  // H200: 989.5 dense BF16 TFLOP/s, 4.8 TB/s (data sheet); intensity 2048/3 FLOP/B is above the ridge (≈206)
  assert.equal(r.efficiency!.devices[0]!.name, 'NVIDIA H200');
  close(row.computeShare, row.tflops! / 989.5, '% of peak');
  close(row.intensity, Number(flops) / (3 * 2048 * 2048 * 2), 'intensity');
  assert.equal(row.bound, 'compute');
  assert.ok(row.tflops! > 400 && row.tflops! < 989.5, `plausible H200 BF16 GEMM rate: ${row.tflops}`);
});

interface Truth {
  gemms_per_step: { name: string; M: number; N: number; K: number; count: number; flops: number }[];
  attention_per_step: { calls: number; flops_each: number };
  traces: { 'tiny-eager': { steps: number } };
}
const truth = JSON.parse(readFileSync(realFixture('h200', 'tiny', 'tiny-truth.json'), 'utf8')) as Truth;

test('tiny-eager: every GEMM\'s FLOPs equal tiny-truth.json, and the attention\'s', async () => {
  const r = await statsOf([realFixture('h200', 'tiny', 'tiny-eager.trace.json.gz')], { views: ['efficiency'] });
  const rows = r.efficiency!.rows;
  const steps = truth.traces['tiny-eager'].steps;
  // qkv, o, gate_up, down, lm_head: (M, N, K) with distinct shapes, except o and... (all distinct here)
  for (const g of truth.gemms_per_step) {
    assert.equal(g.flops, 2 * g.M * g.N * g.K);
    const row = rows.find((x) => x.name === 'aten::mm' && JSON.stringify(x.inputDims) === JSON.stringify([[g.M, g.K], [g.K, g.N]]));
    assert.ok(row, `aten::mm for ${g.name}`);
    assert.equal(row.flops, g.flops, g.name);
    assert.equal(row.calls, g.count * steps, g.name);
    assert.equal(row.totalFlops, g.flops * g.count * steps, g.name);
  }
  const gemmRows = rows.filter((x) => x.family === 'gemm');
  assert.equal(gemmRows.length, truth.gemms_per_step.length);
  assert.equal(gemmRows.reduce((a, x) => a + x.totalFlops!, 0), truth.gemms_per_step.reduce((a, g) => a + g.flops * g.count, 0) * steps);
  const att = rows.filter((x) => x.family === 'attention');
  assert.equal(att.length, 1);
  assert.equal(att[0]!.flops, truth.attention_per_step.flops_each);
  assert.equal(att[0]!.calls, truth.attention_per_step.calls * steps);
  // the attention owns the kernels of _cudnn_attention_forward below it (fprop + lean reduction)
  assert.equal(att[0]!.name, 'aten::_scaled_dot_product_cudnn_attention');
  assert.equal(att[0]!.kernels.length, 2);
  // a kernel gets achieved figures only from calls it ran alone: none for split-K + reduce or fprop + reduction
  assert.ok(att[0]!.kernels.every((k) => k.tflops === null));
  const down = rows.find((x) => x.name === 'aten::mm' && JSON.stringify(x.inputDims) === '[[8,5632],[5632,2048]]')!;
  assert.equal(down.kernels.length, 2);
  assert.ok(down.kernels.every((k) => k.tflops === null && k.tbps === null));
  const single = rows.find((x) => x.name === 'aten::mm' && JSON.stringify(x.inputDims) === '[[8,2048],[2048,16000]]')!;
  assert.equal(single.kernels.length, 1);
  close(single.kernels[0]!.tflops, single.tflops!, 'sole kernel TFLOP/s');
  // no GEMM time is lost: the mm rows' time equals the kernels launched by those aten::mm ops
  const ev = events(realFixture('h200', 'tiny', 'tiny-eager.trace.json.gz'));
  const mmExt = new Set(ev.filter((e) => e.ph === 'X' && e.cat === 'cpu_op' && e.name === 'aten::mm').map((e) => e.args?.['External id']));
  const mmNs = ev.filter((e) => e.ph === 'X' && e.cat === 'kernel' && mmExt.has(e.args?.['External id'])).reduce((a, e) => a + ns(e.dur!), 0n);
  close(gemmRows.reduce((a, x) => a + x.totalUs, 0), Number(mmNs) / 1000, 'GEMM time');
});

test('tiny-flops: our FLOPs next to PyTorch\'s flops arg; this trace carries none, so that column is missing', async () => {
  const p = realFixture('h200', 'tiny', 'tiny-flops.trace.json.gz');
  const ev = events(p);
  const withArg = ev.filter((e) => e.args !== undefined && 'flops' in e.args);
  assert.equal(withArg.length, 0, 'torch 2.11 wrote with_flops: 1 but no flops arg');
  const r = await statsOf([p], { views: ['efficiency'] });
  for (const g of truth.gemms_per_step) {
    const row = r.efficiency!.rows.find((x) => x.name === 'aten::mm' && JSON.stringify(x.inputDims) === JSON.stringify([[g.M, g.K], [g.K, g.N]]));
    assert.ok(row, g.name);
    assert.equal(row.flops, g.flops);
    assert.equal(row.calls, g.count);
    assert.equal(row.pytorchFlops, null);
  }
});

test('a flops arg is shown beside ours (equal for mm); an unknown device gets no percentages; --peak supplies them', async () => {
  const p = edgeFixture('efficiency-flops-arg.json');
  const r = await statsOf([p], { views: ['efficiency'] });
  const e = r.efficiency!;
  const mm = e.rows.find((x) => x.name === 'aten::mm')!;
  assert.equal(mm.flops, 2 * 64 * 256 * 512);
  assert.equal(mm.pytorchFlops, 16777216);
  assert.equal(mm.pytorchFlops, mm.flops);
  assert.equal(mm.calls, 2);
  assert.equal(mm.totalUs, 4);
  close(mm.tflops, (2 * 16777216) / 4000 / 1000, 'TFLOP/s');
  close(mm.tflopsMedian, (16777216 / 2500 / 1000 + 16777216 / 1500 / 1000) / 2, 'median');
  // aten::linear above it owns nothing (the innermost modelled op, aten::mm, does)
  assert.equal(e.rows.find((x) => x.name === 'aten::linear'), undefined);
  const custom = e.rows.find((x) => x.name === 'my::custom_op')!;
  assert.equal(custom.family, null);
  assert.equal(custom.missing, 'no model');
  assert.equal(custom.totalUs, 4);
  assert.equal(custom.flops, null);
  assert.equal(mm.computeShare, null);
  assert.equal(mm.bound, null);
  assert.ok(r.notes.some((n) => n.includes('no peak figures for Example Accelerator X1')));
  const o = await statsOf([p], { views: ['efficiency'], peak: 'tflops=100,tbps=2' });
  const m2 = o.efficiency!.rows.find((x) => x.name === 'aten::mm')!;
  close(m2.computeShare, m2.tflops! / 100, '% of --peak');
  close(m2.bandwidthShare, m2.tbps! / 2, '% BW of --peak');
  // intensity 2·64·256·512 / ((64·512 + 512·256 + 64·256)·2) ≈ 46.5 < ridge 50 → memory
  assert.equal(m2.bound, 'memory');
});

/** kernel_details.csv by a reader written here: quoted fields may hold commas and doubled quotes. */
function csv(p: string): Record<string, string>[] {
  const text = readFileSync(p, 'utf8').replace(/^\uFEFF/, '');
  const rows: string[][] = [];
  let row: string[] = [], f = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (q) {
      if (c === '"' && text[i + 1] === '"') { f += '"'; i++; } else if (c === '"') q = false; else f += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(f); f = ''; }
    else if (c === '\n' || c === '\r') { if (c === '\r' && text[i + 1] === '\n') i++; row.push(f); f = ''; if (row.length > 1) rows.push(row); row = []; }
    else f += c;
  }
  if (f !== '' || row.length > 0) { row.push(f); rows.push(row); }
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head!.map((h, i) => [h.trim(), (r[i] ?? '').trim()])));
}

test('ascend level1: bound verdicts per OP type match the rules applied here to kernel_details.csv', async () => {
  for (const rank of ['rank0_ascend_pt', 'rank1_ascend_pt']) {
    const dir = realFixture('ascend', 'level1', rank);
    const rows = csv(path.join(dir, 'ASCEND_PROFILER_OUTPUT', 'kernel_details.csv'));
    const cols = ['aic_mac_ratio', 'aic_scalar_ratio', 'aic_mte1_ratio', 'aic_mte2_ratio', 'aic_fixpipe_ratio', 'aiv_vec_ratio', 'aiv_scalar_ratio', 'aiv_mte2_ratio', 'aiv_mte3_ratio'];
    const groups = new Map<string, { core: string; w: number[]; t: number[] }>();
    for (const r of rows) {
      if (r['Accelerator Core'] === 'HCCL') continue; // communication: no pipes
      const d = Number(r['Duration(us)']);
      const k = `${r['Type']}|${r['Accelerator Core']}`;
      let g = groups.get(k);
      if (!g) { g = { core: r['Accelerator Core']!, w: cols.map(() => 0), t: cols.map(() => 0) }; groups.set(k, g); }
      cols.forEach((c, i) => { const v = Number(r[c]); if (r[c] !== 'N/A' && r[c] !== '' && Number.isFinite(v)) { g!.w[i]! += v * d; g!.t[i]! += d; } });
    }
    const expected = new Map<string, string>();
    for (const [k, g] of groups) {
      const v = (c: string): number => { const i = cols.indexOf(c); return g.t[i]! > 0 ? g.w[i]! / g.t[i]! : 0; };
      const all = cols.map(v);
      let verdict: string;
      if (all.every((x) => x === 0)) verdict = 'no data';
      else if ((g.core === 'AI_CORE' || g.core === 'MIX_AIC') && v('aic_mac_ratio') >= 0.8 && v('aic_mte2_ratio') >= 0.95) verdict = 'mac+mte2';
      else if ((g.core === 'AI_CORE' || g.core === 'MIX_AIC') && v('aic_mac_ratio') >= 0.8) verdict = 'mac';
      else if ((g.core === 'AI_CORE' || g.core === 'MIX_AIC') && v('aic_mte2_ratio') >= 0.95) verdict = 'mte2';
      else if ((g.core === 'AI_VECTOR_CORE' || g.core === 'MIX_AIV') && v('aiv_vec_ratio') + v('aiv_mte2_ratio') + v('aiv_mte3_ratio') >= 0.9) verdict = 'vec+mte2+mte3';
      else if ((g.core === 'AI_VECTOR_CORE' || g.core === 'MIX_AIV') && v('aiv_mte2_ratio') >= 0.7) verdict = 'mte2';
      else if ((g.core === 'AI_VECTOR_CORE' || g.core === 'MIX_AIV') && v('aiv_mte3_ratio') >= 0.7) verdict = 'mte3';
      else if ((g.core === 'AI_VECTOR_CORE' || g.core === 'MIX_AIV') && v('aiv_vec_ratio') >= 0.7) verdict = 'vec';
      else if (all.every((x) => x <= 0.8)) verdict = 'none';
      else verdict = `${cols[all.indexOf(Math.max(...all))]!.replace(/^ai[cv]_/, '').replace(/_ratio$/, '')}>0.8`;
      expected.set(k, verdict);
    }
    const r = await statsOf([dir], { views: ['efficiency'] });
    const got = r.npuPipes!.ranks[0]!.byType;
    assert.equal(got.length, expected.size, rank);
    for (const x of got) assert.equal(x.bound, expected.get(`${x.name}|${x.core}`), `${rank} ${x.name} ${x.core}`);
    // the level-1 sample has cube ops with mte2 between the rules (MatMulV2), vector ops bound by the sum, and unsaturated ops
    const verdicts = new Set(got.map((x) => x.bound));
    assert.ok(verdicts.has('vec+mte2+mte3') && verdicts.has('none'), [...verdicts].join(','));
  }
});

test('CLI: stats --by efficiency prints the view; --format json carries it; a bad --peak is a usage error', () => {
  const t = runCli(['stats', '--by', 'efficiency', '--width', '160', PDL_EAGER]);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /Efficiency: achieved FLOP\/s/);
  assert.match(t.stdout, /aten::mm/);
  const j = runCli(['stats', '--by', 'efficiency', '--format', 'json', '--peak', 'tflops=1000,tbps=5', PDL_EAGER]);
  assert.equal(j.status, 0, j.stderr);
  const out = JSON.parse(j.stdout) as { efficiency: { rows: { name: string; computeShare: number; tflops: number }[] } };
  const mm = out.efficiency.rows.find((x) => x.name === 'aten::mm')!;
  close(mm.computeShare, mm.tflops / 1000, '% of --peak in JSON');
  const bad = runCli(['stats', '--by', 'efficiency', '--peak', 'fast', PDL_EAGER]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--peak/);
});

test('diff --by efficiency: achieved TFLOP/s per op + shapes on both sides and their difference', async () => {
  const a = realFixture('h200', 'tiny', 'tiny-eager.trace.json.gz');
  const b = realFixture('h200', 'tiny', 'tiny-flops.trace.json.gz');
  const j = runCli(['diff', '--by', 'efficiency', '--format', 'json', a, b]);
  assert.equal(j.status, 0, j.stderr);
  const rows = (JSON.parse(j.stdout) as { efficiency: { name: string; inputDims: unknown; status: string; deltaTflops: number | null; baseline: { tflops: number } | null; candidate: { tflops: number } | null }[] }).efficiency;
  const [sa, sb] = [await statsOf([a], { views: ['efficiency'] }), await statsOf([b], { views: ['efficiency'] })];
  for (const g of truth.gemms_per_step) {
    const dims = JSON.stringify([[g.M, g.K], [g.K, g.N]]);
    const row = rows.find((x) => x.name === 'aten::mm' && JSON.stringify(x.inputDims) === dims)!;
    const ta = sa.efficiency!.rows.find((x) => x.name === 'aten::mm' && JSON.stringify(x.inputDims) === dims)!.tflops!;
    const tb = sb.efficiency!.rows.find((x) => x.name === 'aten::mm' && JSON.stringify(x.inputDims) === dims)!.tflops!;
    assert.equal(row.status, 'both');
    close(row.baseline!.tflops, ta, 'baseline');
    close(row.candidate!.tflops, tb, 'candidate');
    close(row.deltaTflops, tb - ta, 'delta');
  }
});

test('two ranks on the same device share its peak (tp2: H200 ×2)', async () => {
  const r = await statsOf([realFixture('h200', 'tp2')], { views: ['efficiency'] });
  const e = r.efficiency!;
  assert.deepEqual(e.devices.map((d) => d.peak?.device), ['H200 SXM', 'H200 SXM']);
  const mm = e.rows.filter((x) => x.name === 'aten::mm');
  assert.ok(mm.length > 0);
  for (const x of mm) {
    close(x.computeShare, x.tflops! / 989.5, `% peak of ${JSON.stringify(x.inputDims)}`);
    // 2·M·N·K from the row's own dims
    const [[m, k], [, n]] = x.inputDims as [[number, number], [number, number]];
    assert.equal(x.flops, 2 * m * n * k);
  }
});

test('report: a roofline section whose embedded data holds the efficiency rows and the device roofs', async () => {
  await withTempDir('eff-report', async (dir) => {
    const out = path.join(dir, 'r.html');
    const run = runCli(['report', PDL_EAGER, '-o', out]);
    assert.equal(run.status, 0, run.stderr);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /id="chart-roofline"/);
    assert.match(html, /id="table-efficiency"/);
    const json = /<script type="application\/json" id="tf-data">([^]*?)<\/script>/.exec(html)![1]!;
    const data = JSON.parse(json) as { stats: { efficiency: { rows: { name: string; intensity: number; tflops: number; peakTflops: number; peakTbps: number }[] } } };
    const mm = data.stats.efficiency.rows.find((x) => x.name === 'aten::mm')!;
    assert.equal(mm.peakTflops, 989.5);
    assert.equal(mm.peakTbps, 4.8);
    close(mm.intensity, (2 * 2048 ** 3) / (3 * 2048 * 2048 * 2), 'intensity');
  });
});

test('efficiency rows are listed for every op that owns device time, and only modelled ops have FLOPs', async () => {
  const r = await statsOf([realFixture('h200', 'tiny', 'tiny-eager.trace.json.gz')], { views: ['efficiency', 'op'] });
  const e = r.efficiency!;
  // all device time linked to ops is owned by exactly one row: the rows' time adds up to the op view's linked time
  const linkedUs = r.ops!.reduce((a, o) => a + o.deviceSelfUs, 0);
  close(e.rows.reduce((a, x) => a + x.totalUs, 0), linkedUs, 'owned = linked device time');
  for (const x of e.rows) {
    if (x.family === null) { assert.equal(x.flops, null); assert.equal(x.tflops, null); }
    else assert.ok(x.flops !== null && x.flops > 0, x.name);
  }
});
