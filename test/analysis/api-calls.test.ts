/**
 * Runtime / driver API calls (`cuda_runtime`, `cuda_driver`, old `Runtime`), summed per name in
 * the statistics pass. Oracle: the traces read with JSON.parse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

import { Categorizer } from '../../src/analysis/categories.js';
import { StatsCollector, type TraceRecords } from '../../src/analysis/collect.js';
import { scanBuffer } from '../../src/io/read.js';
import { statsOf } from '../../src/pipeline/stats.js';
import { realFixture } from '../helpers.js';

function collect(data: Buffer, apiCalls: boolean, chunk = data.length): TraceRecords {
  const cats = new Categorizer();
  const c = new StatsCollector({ categorize: (n, k) => cats.categoryOf(n, k), communication: cats.communication, apiCalls });
  scanBuffer(data, c, 'inline', chunk);
  return c.result();
}

interface RawEvent { ph?: string; cat?: string; name?: string; dur?: number }

/** Oracle: calls and summed dur per name of runtime / driver events, by JSON.parse. */
function apiOracle(file: string): Map<string, { calls: number; us: number }> {
  const j = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { traceEvents: RawEvent[] };
  const out = new Map<string, { calls: number; us: number }>();
  for (const e of j.traceEvents) {
    if (e.ph !== 'X' || !['cuda_runtime', 'cuda_driver', 'Runtime'].includes(e.cat ?? '')) continue;
    const x = out.get(e.name ?? '') ?? { calls: 0, us: 0 };
    x.calls++;
    x.us += e.dur ?? 0;
    out.set(e.name ?? '', x);
  }
  return out;
}

test('API calls: cuda_runtime / cuda_driver / old Runtime events per name, in the statistics pass, only when asked', async () => {
  const files = [realFixture('h200', 'tp2', '1763900000-TP-0.trace.json.gz'), realFixture('public', 'hta', 'old_format_inference_rank_1.json.gz')];
  for (const f of files) {
    const want = apiOracle(f);
    assert.ok(want.size > 0, f);
    const s = await statsOf([f], { views: ['summary'], apiCalls: true });
    const got = new Map(s.apiCalls!.map((a) => [a.name, a]));
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [name, w] of want) {
      assert.equal(got.get(name)!.calls, w.calls, name);
      assert.ok(Math.abs(got.get(name)!.totalUs - w.us) <= 0.001 + 1e-9 * w.calls, `${name}: ${got.get(name)!.totalUs} vs ${w.us}`);
    }
    assert.equal((await statsOf([f], { views: ['summary'] })).apiCalls, undefined);
  }
  // several files: summed per name over the files
  const two = await statsOf([realFixture('h200', 'tp2')], { views: ['summary'], apiCalls: true });
  const both = [0, 1].map((k) => apiOracle(realFixture('h200', 'tp2', `1763900000-TP-${k}.trace.json.gz`)));
  const launch = two.apiCalls!.find((a) => a.name === 'cudaLaunchKernel')!;
  assert.equal(launch.calls, both[0]!.get('cudaLaunchKernel')!.calls + both[1]!.get('cudaLaunchKernel')!.calls);
  // chunk boundaries do not change them; without the option there are none
  const data = gunzipSync(readFileSync(files[0]!));
  const whole = collect(data, true).apiCalls;
  assert.deepEqual(collect(data, true, 4093).apiCalls, whole);
  assert.equal(collect(data, false).apiCalls, undefined);
});
