import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { StatsCollector } from '../../src/analysis/collect.js';
import { apiKindOf, isLaunchCall, linkLaunches } from '../../src/analysis/launch-link.js';
import { scanBuffer } from '../../src/io/read.js';

const REAL = fileURLToPath(new URL('../../../test/fixtures/real/', import.meta.url));

test('launch APIs by name: CUDA runtime and driver, HIP, graphs, copies, syncs', () => {
  for (const n of ['cudaLaunchKernel', 'cudaLaunchKernelExC', 'cuLaunchKernel', 'cuLaunchKernelEx', 'cudaLaunchCooperativeKernel',
    'hipLaunchKernel', 'hipExtLaunchKernel', 'hipModuleLaunchKernel', 'hipExtModuleLaunchKernel', 'hipHccModuleLaunchKernel', 'cudaLaunch']) {
    assert.equal(apiKindOf(n), 'kernel', n);
    assert.ok(isLaunchCall(n), n);
  }
  for (const n of ['cudaGraphLaunch', 'hipGraphLaunch', 'cuGraphLaunch']) assert.equal(apiKindOf(n), 'graph', n);
  for (const n of ['cudaStreamSynchronize', 'cudaDeviceSynchronize', 'cudaEventSynchronize', 'hipStreamSynchronize', 'cudaMemcpy', 'hipMemcpy', 'hipMemcpyWithStream', 'cuCtxSynchronize']) {
    assert.equal(apiKindOf(n), 'sync', n);
  }
  for (const n of ['cudaMemcpyAsync', 'hipMemcpyAsync', 'cuMemcpyHtoDAsync_v2']) assert.equal(apiKindOf(n), 'memcpy', n);
  for (const n of ['cudaMemsetAsync', 'hipMemsetAsync']) assert.equal(apiKindOf(n), 'memset', n);
  assert.equal(apiKindOf('cudaStreamWaitEvent'), 'wait');
  for (const n of ['cudaEventRecord', 'cudaStreamIsCapturing', 'cudaGetFuncBySymbol', 'INVALID', 'hipPointerGetAttribute']) {
    assert.equal(apiKindOf(n), 'other', n);
    assert.ok(!isLaunchCall(n), n);
  }
});

type Ev = { ph: string; cat?: string; name: string; ts?: number; args?: Record<string, unknown> };

/** Independent reading: device activities whose correlation some runtime / driver call carries. */
function oracle(file: string): { device: number; matched: number; byApi: Map<string, number> } {
  const t = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { traceEvents: Ev[] } | Ev[];
  const events = Array.isArray(t) ? t : t.traceEvents;
  const calls = new Map<unknown, string>();
  for (const e of events) {
    if (e.ph === 'X' && e.ts !== undefined && (e.cat === 'cuda_runtime' || e.cat === 'cuda_driver' || e.cat === 'Runtime') && e.args?.['correlation'] !== undefined && !calls.has(e.args['correlation'])) {
      calls.set(e.args['correlation'], e.name);
    }
  }
  const dev = events.filter((e) => e.ph === 'X' && e.ts !== undefined && ['kernel', 'Kernel', 'gpu_memcpy', 'gpu_memset', 'Memcpy', 'Memset'].includes(e.cat ?? ''));
  const byApi = new Map<string, number>();
  let matched = 0;
  for (const e of dev) {
    const name = calls.get(e.args?.['correlation']);
    if (name === undefined) continue;
    matched++;
    byApi.set(name, (byApi.get(name) ?? 0) + 1);
  }
  return { device: dev.length, matched, byApi };
}

const TRACES = [
  'h200/tp2/1763900000-TP-0.trace.json.gz', 'h200/tp2/1763900000-TP-1.trace.json.gz', 'h200/pdl-eager.trace.json.gz',
  'h200/pdl-cudagraph.trace.json.gz', 'h200/tiny/tiny-eager.trace.json.gz', 'h200/tiny/tiny-graph.trace.json.gz',
  'public/tracelens/sglang_Qwen3-8B_decode.json.gz', 'public/tracelens/b200_eager_trace.json.gz',
  'public/tracelens/vllm_decode_graph_execution.json.gz', 'public/hta/amd_mi250_rocm6_2.json.gz', 'public/hta/nccl_data.json.gz',
];

test('every device activity of the real traces is matched to its launch call, as an independent reading finds', () => {
  for (const rel of TRACES) {
    const file = path.join(REAL, rel);
    const c = new StatsCollector({ categorize: () => 0, communication: 1, launches: true, file: rel });
    scanBuffer(gunzipSync(readFileSync(file)), c, rel, 1 << 20);
    const r = c.result();
    const links = linkLaunches(r);
    const want = oracle(file);
    assert.equal(r.device.count, want.device, rel);
    assert.equal(links.matched, want.matched, rel);
    // the corpus has no device activity without its launch (HTA misses cuLaunchKernelEx and all HIP names)
    assert.equal(links.unmatched, 0, `${rel}: ${links.unmatched} unmatched`);
    const byApi = new Map<string, number>();
    links.launchOf.forEach((k) => { const n = r.apiNames[r.launches!.name[k]!]!; byApi.set(n, (byApi.get(n) ?? 0) + 1); });
    assert.deepEqual(byApi, want.byApi, rel);
    // every launching call is of a known launch kind
    for (const n of byApi.keys()) assert.notEqual(apiKindOf(n), 'other', `${rel}: ${n}`);
  }
});

test('a graph replay: every kernel of a replay matches its one cudaGraphLaunch', () => {
  const rel = 'h200/tiny/tiny-graph.trace.json.gz';
  const c = new StatsCollector({ categorize: () => 0, communication: 1, launches: true, file: rel });
  scanBuffer(gunzipSync(readFileSync(path.join(REAL, rel))), c, rel, 1 << 20);
  const r = c.result();
  const links = linkLaunches(r);
  const perLaunch = new Map<number, number>();
  links.launchOf.forEach((k) => { if (r.apiNames[r.launches!.name[k]!] === 'cudaGraphLaunch') perLaunch.set(k, (perLaunch.get(k) ?? 0) + 1); });
  assert.deepEqual([...perLaunch.values()], [69, 69, 69, 69]);
});
