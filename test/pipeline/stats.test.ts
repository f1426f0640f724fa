/**
 * `statsOf` and `traceforge stats` end to end: rank discovery (directory, files, merged traces
 * split back into ranks), labels, the CLI's formats and errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { statsOf, type StatsResult } from '../../src/pipeline/stats.js';
import { mergeTraces } from '../../src/pipeline/merge.js';
import { TraceforgeError } from '../../src/errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const REAL = path.join(ROOT, 'test', 'fixtures', 'real');
const TP2 = path.join(REAL, 'h200', 'tp2');
const TP2_0 = path.join(TP2, '1763900000-TP-0.trace.json.gz');
const TP2_1 = path.join(TP2, '1763900000-TP-1.trace.json.gz');
const PDL_EAGER = path.join(REAL, 'h200', 'pdl-eager.trace.json.gz');
const HTA_0 = path.join(REAL, 'public', 'hta', 'sampled_rank-0.json.gz');
const HTA_1 = path.join(REAL, 'public', 'hta', 'sampled_rank-1.json.gz');

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'traceforge-stats-'));
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'stats', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ALL = ['summary', 'kernel', 'category', 'op', 'rank', 'step'] as const;

/** What must not change when the same ranks are read another way. */
function facts(r: StatsResult): unknown {
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    labels: r.inputs.map((i) => i.label),
    summary: r.summary!.map((s) => [s.label, s.devices, s.kernels, round(s.busyUs), round(s.spanUs), round(s.communicationUs), round(s.overlapUs)]),
    kernels: r.kernels!.map((k) => [k.name, k.calls, round(k.totalUs), round(k.medianUs)]),
    ops: r.ops!.map((o) => [o.name, JSON.stringify(o.inputDims), o.calls, round(o.cpuTotalUs), round(o.cpuSelfUs), round(o.deviceSelfUs), round(o.deviceTotalUs)]),
    totals: r.ranks!.kernels.map((k) => [k.name, k.totalsUs.map(round)]),
    collectives: r.ranks!.collectives.perRank.map((p) => [p.label, p.collectives, p.lastArrivals, round(p.waitUs)]),
    steps: r.steps!.map((s) => [s.label, s.name, round(s.busyUs), round(s.communicationUs), s.kernels]),
  };
}

test('a directory, its files, and a glob give the same ranks TP00 and TP01', async () => {
  const opts = { views: [...ALL], step: 'decode_step_\\d+' };
  const dir = await statsOf([TP2], opts);
  assert.deepEqual(dir.inputs.map((i) => [i.label, i.rank]), [['TP00', 0], ['TP01', 1]]);
  const files = await statsOf([TP2_1, TP2_0], opts);
  assert.deepEqual(facts(files), facts(dir));
  const glob = await statsOf([path.join(TP2, '1763900000-TP-*.trace.json.gz')], opts);
  assert.deepEqual(facts(glob), facts(dir));
});

test('a merged trace is split back into its ranks: by traceforgeMerge, else by [LABEL] process names', async () => {
  const dir = tempDir();
  try {
    const out = path.join(dir, 'merged-1763900000.trace.json.gz');
    await mergeTraces({ inputs: [TP2], output: out });
    const opts = { views: [...ALL], step: 'decode_step_\\d+' };
    const expected = facts(await statsOf([TP2], opts));
    const merged = await statsOf([out], opts);
    assert.deepEqual(merged.inputs.map((i) => [i.label, i.rank]), [['TP00', 0], ['TP01', 1]]);
    assert.ok(merged.notes.some((n) => /split into 2 rank\(s\) \(TP00, TP01\) by its traceforgeMerge key/.test(n)), merged.notes.join('\n'));
    assert.deepEqual(facts(merged), expected);
    // the same without the key: process names `[TP00] ...`
    const j = JSON.parse(gunzipSync(readFileSync(out)).toString('utf8')) as Record<string, unknown>;
    delete j['traceforgeMerge'];
    const bare = path.join(dir, 'no-key.json');
    writeFileSync(bare, JSON.stringify(j));
    const byNames = await statsOf([bare], opts);
    assert.ok(byNames.notes.some((n) => /by the \[LABEL\] prefixes of its process names/.test(n)), byNames.notes.join('\n'));
    const f = facts(byNames) as { labels: string[] };
    assert.deepEqual(f.labels, ['TP00', 'TP01']);
    assert.deepEqual({ ...f, labels: [] }, { ...(expected as object), labels: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('labels of files without SGLang names: RANKnn from distributedInfo.rank, else the file stem', async () => {
  const hta = await statsOf([HTA_1, HTA_0], { views: ['summary'] });
  assert.deepEqual(hta.inputs.map((i) => [i.label, i.rank]), [['RANK00', 0], ['RANK01', 1]]);
  const one = await statsOf([PDL_EAGER], { views: ['summary'] });
  assert.deepEqual(one.inputs.map((i) => [i.label, i.rank]), [['pdl-eager', null]]);
  const dir = tempDir();
  try {
    // two copies of one rank: the second gets #2
    copyFileSync(HTA_0, path.join(dir, 'a.json.gz'));
    copyFileSync(HTA_0, path.join(dir, 'b.json.gz'));
    const twice = await statsOf([dir], { views: ['summary'] });
    assert.deepEqual(twice.inputs.map((i) => i.label), ['RANK00', 'RANK00#2']);
    assert.ok(twice.notes.some((n) => n.includes('RANK00#2')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('statsOf: default views, bad options and missing inputs are user errors', async () => {
  const r = await statsOf([PDL_EAGER]);
  assert.deepEqual(r.views, ['summary', 'kernel']);
  assert.equal(r.ops, undefined);
  await assert.rejects(statsOf([PDL_EAGER], { step: '(' }), (e) => e instanceof TraceforgeError && e.code === 'E_USAGE');
  await assert.rejects(statsOf([PDL_EAGER], { categories: ['nope'] }), (e) => e instanceof TraceforgeError && e.code === 'E_USAGE');
  await assert.rejects(statsOf([path.join(REAL, 'does-not-exist.json')]), (e) => e instanceof TraceforgeError && e.code === 'E_INPUT');
  const noSteps = await statsOf([PDL_EAGER], { views: ['step'] });
  assert.deepEqual(noSteps.steps, []);
  assert.ok(noSteps.notes.some((n) => n.includes('--step')));
});

test('CLI: --by op on pdl-eager lists aten::mm [[2048, 2048], [2048, 2048]] c10::BFloat16 with the cuBLAS kernel under it', () => {
  const r = cli(PDL_EAGER, '--by', 'op');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith('aten::mm'));
  assert.ok(at >= 0, r.stdout);
  assert.match(lines[at]!, /\[\[2048, 2048\], \[2048, 2048\]\]/);
  assert.match(lines[at]!, /c10::BFloat16/);
  assert.match(lines[at + 1]!, /^\s+↳ nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_NNT\s+48\s/);
  for (const l of lines) assert.ok([...l].length <= 100, `wider than 100 columns when not a terminal: ${l}`);
  const md = cli(PDL_EAGER, '--by', 'op', '--format', 'md');
  assert.match(md.stdout, /\| aten::mm \| \[\[2048, 2048\], \[2048, 2048\]\] \| c10::BFloat16 ×2 \| 48 \|/);
  assert.match(md.stdout, /\| ↳ nvjet\\_sm90\\_tst\\_256x128\\_64x4\\_1x2\\_h\\_bz\\_coopA\\_NNT \|/);
  const j = JSON.parse(cli(PDL_EAGER, '--by', 'op', '--format', 'json').stdout) as { ops: { name: string; inputDims: unknown; inputTypes: unknown; kernels: { name: string }[] }[] };
  const mm = j.ops.find((o) => o.name === 'aten::mm')!;
  assert.deepEqual(mm.inputDims, [[2048, 2048], [2048, 2048]]);
  assert.deepEqual(mm.inputTypes, ['c10::BFloat16', 'c10::BFloat16']);
  assert.equal(mm.kernels[0]!.name, 'nvjet_sm90_tst_256x128_64x4_1x2_h_bz_coopA_NNT');
});

test('CLI: JSON has a key per view; --by accepts lists and all; CSV has full names', () => {
  const d = cli(TP2, '--format', 'json');
  assert.equal(d.status, 0, d.stderr);
  const dj = JSON.parse(d.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(dj), ['inputs', 'summary', 'kernels']);
  const all = cli(TP2, '--by', 'all', '--format', 'json', '--step', 'decode_step_\\d+');
  assert.equal(all.status, 0, all.stderr);
  const aj = JSON.parse(all.stdout) as Record<string, unknown>;
  for (const k of ['summary', 'kernels', 'categories', 'ops', 'ranks', 'steps']) assert.ok(k in aj, k);
  const listed = JSON.parse(cli(TP2, '--by', 'kernel,category', '--by', 'rank', '--format', 'json').stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(listed), ['inputs', 'kernels', 'categories', 'ranks']);
  const csv = cli(TP2, '--by', 'kernel', '--format', 'csv', '--top', '3');
  const rows = csv.stdout.trimEnd().split('\r\n');
  assert.equal(rows[0], 'name,category,calls,totalUs,meanUs,medianUs,minUs,maxUs,share');
  assert.equal(rows.length, 4);
  assert.match(rows[1]!, /^ncclDevKernel_AllReduce_Sum_bf16_RING_LL\(ncclDevKernelArgsStorage<4096ul>\),communication,224,/);
});

test('CLI: the rank view names the straggler and the waiting rank', () => {
  const r = cli(TP2, '--by', 'rank', '--width', '120');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /straggler: TP01 starts last in \d+ of 112 collectives/);
  assert.match(r.stdout, /TP00 waits most in collectives/);
});

test('CLI: usage errors exit 2 with one line', () => {
  for (const args of [
    [PDL_EAGER, '--by', 'nonsense'],
    [PDL_EAGER, '--format', 'xml'],
    [PDL_EAGER, '--top', '0'],
    [PDL_EAGER, '--category', 'no-equals-sign'],
    [PDL_EAGER, '--width', '10'],
    [path.join(REAL, 'missing.json.gz')],
  ]) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^traceforge: /);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
