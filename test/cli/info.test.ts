/**
 * `traceforge info` / infoOf on the real Ascend profiles (level0, level1) and the H200 tp2
 * pair, against expectations computed here from the files: profiler_info, the raw trace
 * bytes (test/helpers.ts byte splitter, exact decimal time), step_trace_time.csv, directory
 * listings, and deviceProperties.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { infoOf, type TraceInfo } from '../../src/pipeline/info.js';
import { argsOf, loadTrace, readDecompressed, realFixture, runCli, usTextToFs, type LoadedTrace } from '../helpers.js';

const ASCEND = realFixture('ascend');
const TP2 = realFixture('h200', 'tp2');
const rankDir = (level: string, r: number): string => path.join(ASCEND, level, `rank${r}_ascend_pt`);

interface Expected {
  total: number;
  byPhase: Record<string, number>;
  byCategory: Record<string, number>;
  minFs: bigint;
  minText: string;
  maxFs: bigint;
  steps: number[];
  procNames: Map<string, string>;
  procLabels: Map<string, string>;
  pidsWithEvents: Set<string>;
}

/** Counts, span and names from the raw trace (no src/ code). */
function expectedOf(t: LoadedTrace): Expected {
  const byPhase: Record<string, number> = {};
  const byCategory: Record<string, number> = {};
  let minFs: bigint | undefined;
  let minText = '';
  let maxFs: bigint | undefined;
  const steps = new Set<number>();
  const procNames = new Map<string, string>();
  const procLabels = new Map<string, string>();
  const pidsWithEvents = new Set<string>();
  for (const e of t.events) {
    const ph = e.ph ?? '(none)';
    byPhase[ph] = (byPhase[ph] ?? 0) + 1;
    if (e.cat !== undefined) byCategory[e.cat] = (byCategory[e.cat] ?? 0) + 1;
    const pid = e.pidRaw === undefined ? '(none)' : String(JSON.parse(e.pidRaw));
    if (e.ph === 'M') {
      const a = argsOf(t, e);
      if (e.name === 'process_name' && typeof a?.['name'] === 'string') procNames.set(pid, a['name']);
      if (e.name === 'process_labels' && typeof a?.['labels'] === 'string') procLabels.set(pid, a['labels']);
      continue;
    }
    pidsWithEvents.add(pid);
    const m = /^ProfilerStep#(\d+)$/.exec(e.name ?? '');
    if (m && e.ph === 'X') steps.add(Number(m[1]));
    if (e.ts === undefined) continue;
    if (minFs === undefined || e.ts < minFs) { minFs = e.ts; minText = e.tsRaw!.replace(/^"|"$/g, ''); }
    const d = e.ph === 'X' ? usTextToFs(e.durRaw) : undefined;
    const end = e.ts + (d !== undefined && d > 0n ? d : 0n);
    if (maxFs === undefined || end > maxFs) maxFs = end;
  }
  return { total: t.events.length, byPhase, byCategory, minFs: minFs!, minText, maxFs: maxFs!, steps: [...steps].sort((a, b) => a - b), procNames, procLabels, pidsWithEvents };
}

function checkCommon(got: TraceInfo, want: Expected): void {
  assert.equal(got.events.total, want.total);
  assert.deepEqual({ ...got.events.byPhase }, want.byPhase);
  assert.deepEqual({ ...got.events.byCategory }, want.byCategory);
  assert.ok(got.time);
  assert.equal(got.time.firstTs, want.minText);
  assert.equal(usTextToFs(got.time.lastEnd), want.maxFs, `lastEnd ${got.time.lastEnd}`);
  assert.ok(Math.abs(got.time.spanUs - Number(want.maxFs - want.minFs) / 1e9) < 1e-6);
  const names = new Map(got.processes.filter((p) => p.name !== null).map((p) => [p.pid, p.name!]));
  assert.deepEqual(names, want.procNames);
}

describe('info on torch_npu profiles', () => {
  for (const level of ['level0', 'level1']) {
    it(`${level}: the directory of ranks — Ascend, devices, level, ranks, steps, span, counts, files`, async () => {
      const info = await infoOf(path.join(ASCEND, level));
      assert.equal(info.kind, 'ranks');
      assert.equal(info.vendor, 'Ascend');
      assert.equal(info.traces.length, 2);
      for (const r of [0, 1]) {
        const t = info.traces[r]!;
        const dir = rankDir(level, r);
        const pinfo = JSON.parse(readFileSync(path.join(dir, `profiler_info_${r}.json`), 'utf8')) as { rank_id: number; config: { experimental_config: { _profiler_level: string } } };
        const trace = path.join(dir, 'ASCEND_PROFILER_OUTPUT', 'trace_view.json');
        assert.equal(path.resolve(t.file), path.resolve(trace));
        assert.equal(t.rank, pinfo.rank_id);
        assert.equal(t.label, `RANK0${pinfo.rank_id}`);
        assert.equal(t.vendor, 'Ascend');
        assert.equal(t.format, 'torch_npu');
        assert.equal(t.shape, 'array');
        assert.equal(t.profilerLevel, pinfo.config.experimental_config._profiler_level);
        assert.equal(t.profilerLevel, level === 'level0' ? 'Level0' : 'Level1');

        const raw = loadTrace(readFileSync(trace));
        const want = expectedOf(raw);
        checkCommon(t, want);
        // torch_npu writes epoch µs: the start is the first ts itself
        assert.equal(t.time!.startEpochNs, (want.minFs / 1_000_000n).toString());
        // devices: the Ascend Hardware process pid ends in the device id (low 5 bits)
        const hw = [...want.procNames].filter(([, n]) => n === 'Ascend Hardware').map(([p]) => `NPU ${Number(p) % 32}`);
        assert.deepEqual(t.devices, hw);
        assert.deepEqual(t.devices, [`NPU ${r}`]);
        // steps from step_trace_time.csv (first column after the header)
        const stepCsv = readFileSync(path.join(dir, 'ASCEND_PROFILER_OUTPUT', 'step_trace_time.csv'), 'utf8').split(/\r?\n/).slice(1).filter((l) => l !== '').map((l) => Number(l.split(',')[0]));
        assert.deepEqual(t.steps, { source: 'step_trace_time.csv', ids: stepCsv });
        assert.deepEqual(want.steps, stepCsv, 'ProfilerStep#N in the trace agrees with the CSV');
        // files with sizes
        const out = path.join(dir, 'ASCEND_PROFILER_OUTPUT');
        assert.ok(t.ascend);
        assert.deepEqual(t.ascend.files, readdirSync(out).sort().map((name) => ({ name, bytes: statSync(path.join(out, name)).size, dir: false })));
        assert.deepEqual(t.ascend.rootEntries.map((e) => e.name), readdirSync(dir).sort());
        const kd = readFileSync(path.join(out, 'kernel_details.csv'), 'utf8').split('\r\n').filter((l) => l !== '');
        assert.equal(t.ascend.hasShapes, kd[0]!.split(',').includes('Input Shapes'));
        assert.equal(t.ascend.hasShapes, level === 'level1');
        assert.equal(t.ascend.kernels, kd.length - 1);
        assert.equal(t.ascend.analyseDone, false);
        assert.equal(t.bytes, statSync(trace).size);
      }
    });
  }

  it('a rank directory, its ASCEND_PROFILER_OUTPUT and its trace_view.json give the same trace info', async () => {
    const dir = rankDir('level1', 1);
    const a = await infoOf(dir);
    assert.equal(a.kind, 'ascend-profile');
    assert.equal(a.traces.length, 1);
    for (const p of [path.join(dir, 'ASCEND_PROFILER_OUTPUT'), path.join(dir, 'ASCEND_PROFILER_OUTPUT', 'trace_view.json')]) {
      const b = await infoOf(p);
      assert.equal(b.kind, 'ascend-profile');
      assert.deepEqual(b.traces, a.traces);
    }
    assert.equal(a.traces[0]!.label, 'RANK01');
  });
});

describe('info on Kineto traces', () => {
  it('h200/tp2: NVIDIA, the GPU each rank ran on, TP00/TP01 from the names, ranks from distributedInfo, steps from decode_step_N, span, counts', async () => {
    const info = await infoOf(TP2);
    assert.equal(info.kind, 'ranks');
    assert.equal(info.vendor, 'NVIDIA');
    assert.deepEqual(info.traces.map((t) => t.label), ['TP00', 'TP01']);
    for (const [k, t] of info.traces.entries()) {
      const file = path.join(TP2, `1763900000-TP-${k}.trace.json.gz`);
      assert.equal(t.file, file);
      const buf = readDecompressed(file);
      const raw = loadTrace(buf);
      const want = expectedOf(raw);
      checkCommon(t, want);
      const top = new Map(raw.raw.top.map((e) => [e.key, e.raw]));
      const dist = JSON.parse(top.get('distributedInfo')!) as { rank: number };
      assert.equal(t.rank, dist.rank);
      assert.equal(t.vendor, 'NVIDIA');
      assert.equal(t.format, 'kineto');
      assert.equal(t.profilerLevel, null);
      assert.equal(t.ascend, undefined);
      assert.equal(t.bytes, buf.length);
      // devices: GPU processes (labels "GPU n") that have events, named from deviceProperties
      const props = JSON.parse(top.get('deviceProperties')!) as { id: number; name: string }[];
      const gpus = [...want.procLabels].filter(([p, l]) => /^GPU \d+$/.test(l) && want.pidsWithEvents.has(p)).map(([, l]) => Number(l.slice(4)));
      assert.deepEqual(t.devices, gpus.sort((a, b) => a - b).map((g) => `GPU ${g}: ${props.find((d) => d.id === g)!.name}`));
      assert.deepEqual(t.devices, [`GPU ${k}: NVIDIA H200`]);
      // no ProfilerStep#N: the numbered user annotations decode_step_N are the steps
      assert.deepEqual(want.steps, []);
      const decode = [...new Set(raw.events.filter((e) => e.ph === 'X' && e.cat === 'user_annotation').map((e) => /^decode_step_(\d+)$/.exec(e.name ?? '')?.[1]).filter((x) => x !== undefined).map(Number))].sort((a, b) => a - b);
      assert.ok(decode.length >= 2);
      assert.deepEqual(t.steps, { source: 'annotations', ids: decode, pattern: '^decode_step_\\d+$' });
      // absolute start: baseTimeNanoseconds + first ts
      const base = BigInt(top.get('baseTimeNanoseconds')!.replace(/"/g, ''));
      assert.equal(t.time!.startEpochNs, (base + want.minFs / 1_000_000n).toString());
      assert.deepEqual(t.topLevelKeys, raw.raw.top.map((e) => e.key));
    }
  });

  it('an AMD trace: vendor from deviceProperties, steps from ProfilerStep#N', async () => {
    const file = realFixture('public', 'hta', 'amd_mi250_rocm6_2.json.gz');
    const info = await infoOf(file);
    assert.equal(info.kind, 'trace');
    assert.equal(info.vendor, 'AMD');
    const want = expectedOf(loadTrace(readDecompressed(file)));
    checkCommon(info.traces[0]!, want);
    assert.deepEqual(info.traces[0]!.steps, { source: 'ProfilerStep', ids: want.steps });
    assert.ok(want.steps.length >= 2);
  });
});

describe('traceforge info (CLI)', () => {
  it('--json is the infoOf object', async () => {
    const r = runCli(['info', '--json', path.join(ASCEND, 'level1')]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(JSON.stringify(await infoOf(path.join(ASCEND, 'level1')))));
  });

  it('human output names the vendor, level, ranks, devices, steps and files', () => {
    const r = runCli(['info', path.join(ASCEND, 'level1')]);
    assert.equal(r.status, 0, r.stderr);
    for (const s of ['2 rank(s), Ascend, profiler level Level1', 'RANK00 (rank 0)', 'RANK01 (rank 1)', 'NPU 0', 'NPU 1', '1 (50) from step_trace_time.csv', 'op_statistic.csv', 'HCCL', 'shapes      recorded']) {
      assert.ok(r.stdout.includes(s), `missing ${JSON.stringify(s)} in:\n${r.stdout}`);
    }
    const l0 = runCli(['info', rankDir('level0', 0)]);
    assert.equal(l0.status, 0, l0.stderr);
    assert.match(l0.stdout, /not recorded \(Level0\)/);
    const tp2 = runCli(['info', TP2]);
    assert.equal(tp2.status, 0, tp2.stderr);
    assert.match(tp2.stdout, /2 rank\(s\), NVIDIA/);
    assert.match(tp2.stdout, /GPU 1: NVIDIA H200/);
  });

  it('a missing path: one line on stderr, exit 2', () => {
    const r = runCli(['info', path.join(ASCEND, 'no-such-dir')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^traceforge: .*no-such-dir: no such file or directory\n$/);
  });
});
