/**
 * `traceforge diff` as a child process: a real trace against a copy with one kernel's
 * durations scaled by 1.5 (an edit of the JSON text), the CI gate's exit status, the output
 * formats, and user errors (exit 2). Expected numbers come from the tests' own reading of the
 * JSON (helpers.ts: own splitter, exact decimal time), not from traceforge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { loadTrace, makeTempDir, readDecompressed, realFixture, runCli, usTextToFs } from '../helpers.js';

const EAGER = realFixture('h200', 'pdl-eager.trace.json.gz');
const GRAPH = realFixture('h200', 'pdl-cudagraph.trace.json.gz');
/**
 * The kernel made slower: the largest one. PDL kernels start before their predecessor ends and
 * overlap it, so a slower kernel adds less GPU busy time (the interval union) than duration:
 * here +1.3% busy for +50% of this kernel (+0.24% for gemm_splitk_pdl_kernel).
 */
const KERNEL = 'silu_and_mul_pdl_kernel(float*, int, int)';

/** `d` × 1.5 exactly, as decimal text (`14.945` -> `22.4175`). */
function timesOneAndAHalf(d: string): string {
  const [int, frac = ''] = d.split('.');
  const digits = (BigInt(int! + frac) * 15n).toString().padStart(frac.length + 2, '0');
  const k = frac.length + 1;
  return `${digits.slice(0, -k)}.${digits.slice(-k)}`;
}

/** Sum of `dur` (µs, exact) of the kernel, GPU busy (union per device, µs) and span of a trace's text. */
function oracle(buf: Buffer): { kernelUs: number; busyUs: number; spanUs: number } {
  let kernel = 0n;
  let lo: bigint | undefined;
  let hi: bigint | undefined;
  const iv = new Map<string, [bigint, bigint][]>();
  for (const e of loadTrace(buf).events) {
    if (e.ph !== 'X' || e.ts === undefined) continue;
    const d = usTextToFs(e.durRaw) ?? 0n;
    if (lo === undefined || e.ts < lo) lo = e.ts;
    if (hi === undefined || e.ts + d > hi) hi = e.ts + d;
    if (e.cat === 'kernel' || e.cat === 'gpu_memcpy' || e.cat === 'gpu_memset') {
      if (e.name === KERNEL) kernel += d;
      iv.set(e.pidRaw ?? '', [...(iv.get(e.pidRaw ?? '') ?? []), [e.ts, e.ts + d]]);
    }
  }
  let busy = 0n;
  for (const list of iv.values()) {
    list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let [s, t] = list[0]!;
    for (const [a, b] of list.slice(1)) { if (a > t) { busy += t - s; s = a; t = b; } else if (b > t) t = b; }
    busy += t - s;
  }
  const us = (fs: bigint): number => Number(fs) / 1e9;
  return { kernelUs: us(kernel), busyUs: us(busy), spanUs: us(hi! - lo!) };
}

interface JsonKernel { name: string; status: string; change: number | null; deltaUs: number; baseline: { totalUs: number } | null; candidate: { totalUs: number } | null }
interface JsonDiff { headline: string; normalization: { per: string; baselineUnits: number; candidateUnits: number }; totals: { metric: string; change: number }[]; kernels: JsonKernel[] }

let scaled: { dir: string; file: string } | undefined;

/** The candidate: pdl-eager with every duration of KERNEL × 1.5 (48 events), written once. */
async function scaledCandidate(): Promise<string> {
  if (scaled) return scaled.file;
  const dir = await makeTempDir('diff-cli');
  const text = readDecompressed(EAGER).toString('utf8');
  let n = 0;
  const re = /("name": "silu_and_mul_pdl_kernel\(float\*, int, int\)"[^{}]*?"dur": )(\d+(?:\.\d+)?)/g;
  const out = text.replace(re, (_m, head: string, d: string) => { n++; return head + timesOneAndAHalf(d); });
  assert.equal(n, 48);
  const file = path.join(dir, 'eager-silu-x1.5.trace.json.gz');
  writeFileSync(file, gzipSync(out));
  scaled = { dir, file };
  return file;
}

test('decimal ×1.5 helper is exact', () => {
  assert.equal(timesOneAndAHalf('14.945'), '22.4175');
  assert.equal(timesOneAndAHalf('2'), '3.0');
  assert.equal(timesOneAndAHalf('0.001'), '0.0015');
});

test('one kernel 1.5× slower: it tops the diff at +50%, every other kernel is unchanged; Δ equals the oracle', async () => {
  const cand = await scaledCandidate();
  const r = runCli(['diff', EAGER, cand, '--format', 'json', '--normalize', 'second']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as JsonDiff;
  const ob = oracle(readDecompressed(EAGER));
  const oc = oracle(readDecompressed(cand));
  assert.equal(oc.spanUs, ob.spanUs, 'the edit must not change the profiled span');
  assert.equal(j.normalization.per, 'second');
  const top = j.kernels[0]!;
  assert.equal(top.name, KERNEL);
  assert.ok(Math.abs(top.change! - 0.5) < 1e-6, `change ${top.change}`);
  const sec = ob.spanUs / 1e6;
  assert.ok(Math.abs(top.deltaUs - (oc.kernelUs - ob.kernelUs) / sec) < 2e-3 / sec, `delta ${top.deltaUs}`);
  assert.ok(Math.abs(oc.kernelUs / ob.kernelUs - 1.5) < 1e-12);
  for (const k of j.kernels.slice(1)) assert.deepEqual([k.status, k.deltaUs, k.change], ['both', 0, 0], k.name);
  // the headline is GPU busy, whose change the oracle's interval union gives
  const busy = j.totals.find((t) => t.metric === 'busy')!;
  assert.ok(Math.abs(busy.change - (oc.busyUs / ob.busyUs - 1)) < 1e-6, `busy change ${busy.change} vs ${oc.busyUs / ob.busyUs - 1}`);
  assert.match(j.headline, /^GPU busy per second of profile: /);
});

test('--fail-above: 1% trips (exit 1); a PCT above the total regression does not (exit 0); --metric names one kernel', async () => {
  const cand = await scaledCandidate();
  const ob = oracle(readDecompressed(EAGER));
  const oc = oracle(readDecompressed(cand));
  const regression = (oc.busyUs / ob.busyUs - 1) * 100;
  assert.ok(regression > 1, `the edit should regress GPU busy by more than 1%, not ${regression}%`);
  const trip = runCli(['diff', EAGER, cand, '--fail-above', '1', '-q', '--normalize', 'second']);
  assert.equal(trip.status, 1, trip.stderr);
  assert.match(trip.stderr, /fail-above: GPU busy per second \+\d+\.\d%: regressed by more than 1% \(exit 1\)/);
  assert.match(trip.stdout, /GPU busy per second of profile/);
  const pass = runCli(['diff', EAGER, cand, '--fail-above', `${(regression + 0.5).toFixed(2)}%`, '-q']);
  assert.equal(pass.status, 0, pass.stderr);
  assert.match(pass.stderr, /within/);
  const k49 = runCli(['diff', EAGER, cand, '--fail-above', '49', '--metric', 'silu_and_mul', '-q', '--format', 'csv']);
  assert.equal(k49.status, 1, k49.stderr);
  assert.match(k49.stderr, /kernel silu_and_mul_pdl_kernel/);
  const k51 = runCli(['diff', EAGER, cand, '--fail-above', '51', '--metric', 'silu_and_mul', '-q', '--format', 'csv']);
  assert.equal(k51.status, 0, k51.stderr);
  // another kernel did not change at all
  assert.equal(runCli(['diff', EAGER, cand, '--fail-above', '0', '--metric', 'gemm_splitk', '-q']).status, 0);
  // a trace against itself never trips, even at 0%
  assert.equal(runCli(['diff', EAGER, EAGER, '--fail-above', '0', '-q']).status, 0);
});

test('formats: table headline and top row, CSV blocks with raw values, Markdown tables', async () => {
  const cand = await scaledCandidate();
  const table = runCli(['diff', EAGER, cand, '--width', '160', '--normalize', 'second']);
  assert.equal(table.status, 0, table.stderr);
  const lines = table.stdout.split('\n');
  assert.ok(lines.some((l) => /^GPU busy per second of profile: .* → .* \(\+.*, \+\d+\.\d%\)$/.test(l)), table.stdout);
  const header = lines.findIndex((l) => /^kernel +category/.test(l));
  assert.match(lines[header + 2]!, /^silu_and_mul_pdl_kernel .* \+50\.0%$/);
  assert.ok(lines.some((l) => l.startsWith('CUDA / HIP runtime and driver calls')));
  const csv = runCli(['diff', EAGER, cand, '--format', 'csv']);
  assert.equal(csv.status, 0, csv.stderr);
  const blocks = csv.stdout.split('\r\n\r\n');
  assert.deepEqual(blocks.map((b) => b.split('\r\n')[0]), ['# totals', '# kernels', '# apiCalls']);
  const rows = blocks[1]!.split('\r\n').slice(1);
  const headerKeys = blocks[1]!.split('\r\n')[1]!.split(',');
  assert.deepEqual(headerKeys.slice(0, 5), ['name', 'baselineNames', 'candidateNames', 'category', 'match']);
  const changeAt = headerKeys.indexOf('change');
  const first = rows[1]!;
  assert.ok(first.startsWith('"silu_and_mul_pdl_kernel(float*, int, int)"'), first);
  assert.equal(first.split(',').at(changeAt - headerKeys.length), '0.5');
  const md = runCli(['diff', EAGER, GRAPH, '--format', 'md', '--by', 'kernel,op', '--normalize', 'second']);
  assert.equal(md.status, 0, md.stderr);
  assert.match(md.stdout, /^### GPU busy per second of profile/m);
  assert.match(md.stdout, /^\| cudaGraphLaunch \| launch \|.*\| new \|$/m);
  assert.match(md.stdout, /^\| cudaLaunchKernelExC \| launch \|.*\| removed \|$/m);
});

test('user errors exit 2 with one line', async () => {
  const cases: [string[], RegExp][] = [
    [['diff', EAGER, path.join(path.dirname(EAGER), 'no-such.trace.json.gz')], /no-such/],
    [['diff', EAGER, GRAPH, '--normalize', 'hourly'], /--normalize takes auto, step, second, none/],
    [['diff', EAGER, GRAPH, '--normalize', 'step'], /no step annotations matching .* on both sides \(neither side has any\)/],
    [['diff', EAGER, GRAPH, '--metric', 'busy'], /give --fail-above PCT too/],
    [['diff', EAGER, GRAPH, '--fail-above', 'lots'], /--fail-above takes a percentage/],
    [['diff', EAGER, GRAPH, '--fail-above', '5', '--metric', 'no_such_kernel'], /no such total .* category, kernel or runtime call/],
    [['diff', EAGER, GRAPH, '--fail-above', '5', '--metric', 'pdl_kernel'], /3 kernels match/],
    [['diff', EAGER, GRAPH, '--by', 'bogus'], /--by takes kernel, category, op, rank, step, idle, efficiency, source, module, comm or all/],
    [['diff', '-', GRAPH], /stdin \(-\) is not supported/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.ok(!/internal error/.test(r.stderr), r.stderr);
  }
});

test('torch_npu: the CANN calls are the NPU\'s API calls, per name as trace_view.json counts them; Level 0 records none: left out with a note', () => {
  const level1 = realFixture('ascend', 'level1');
  // independent count: complete events of each rank's CANN process, by name, over both ranks
  const want = new Map<string, number>();
  for (const rank of ['rank0_ascend_pt', 'rank1_ascend_pt']) {
    const events = (JSON.parse(readFileSync(path.join(level1, rank, 'ASCEND_PROFILER_OUTPUT', 'trace_view.json'), 'utf8')) as { ph?: string; name?: string; pid?: unknown; args?: { name?: string } }[]);
    const cann = new Set(events.filter((e) => e.ph === 'M' && e.name === 'process_name' && e.args?.name === 'CANN').map((e) => e.pid));
    for (const e of events) if (e.ph === 'X' && cann.has(e.pid)) want.set(e.name!, (want.get(e.name!) ?? 0) + 1);
  }
  assert.ok(want.size > 10 && (want.get('Node@launch') ?? 0) > 300);
  const same = runCli(['diff', level1, level1, '--format', 'json']);
  assert.equal(same.status, 0, same.stderr);
  const r = JSON.parse(same.stdout) as { apiCalls: { name: string; baseline: { calls: number } | null }[]; totals: { metric: string; baseline: number }[] };
  assert.deepEqual(new Map(r.apiCalls.map((a) => [a.name, a.baseline?.calls ?? 0])), want);
  assert.ok((r.totals.find((t) => t.metric === 'launchCalls')?.baseline ?? 0) > 0);
  // Level 0 text export: device tasks but no CANN process — missing, not zero
  const mixed = runCli(['diff', realFixture('ascend', 'level0'), level1, '--format', 'json']);
  assert.equal(mixed.status, 0, mixed.stderr);
  const m = JSON.parse(mixed.stdout) as { apiCalls?: unknown[]; totals: { metric: string }[]; notes: string[] };
  assert.equal(m.totals.find((t) => t.metric === 'launchCalls'), undefined);
  assert.equal(m.apiCalls, undefined);
  assert.ok(m.notes.some((n) => n.startsWith('launch calls and runtime API calls: left out — the baseline does not record them')), m.notes.join('\n'));
});

test('cleanup', async () => {
  if (scaled) {
    const { rm } = await import('node:fs/promises');
    await rm(scaled.dir, { recursive: true, force: true });
  }
});
