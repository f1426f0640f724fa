/**
 * `merge` starts a rank's pass 2 while later ranks are still in pass 1 (MergeRequest.pipeline),
 * and applies --ranks from the headers before pass 1. The output is compared byte for byte
 * (decompressed) with the merge that runs every pass 1 first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { availableParallelism } from 'node:os';
import path from 'node:path';

import { mergeTraces, type MergeRequest } from '../../src/pipeline/merge.js';
import { TraceforgeError } from '../../src/errors.js';
import { throttled } from '../../src/pipeline/workers.js';
import { TP2_0, TP2_1, copyAs, readDecompressed, withTempDir } from '../merge-helpers.js';

/** Four SGLang-named ranks made of the two tp2 ranks (more ranks than cores on a 2-core machine). */
function fourRanks(dir: string): string[] {
  return [TP2_0, TP2_1, TP2_0, TP2_1].map((src, i) => copyAs(src, dir, `1763900000-TP-${i}.trace.json.gz`));
}

/** Cuts a gzip file to 60% of its bytes: its header is intact, its events are not. */
function truncate(file: string): void {
  const gz = readFileSync(file);
  writeFileSync(file, gz.subarray(0, Math.floor(gz.length * 0.6)));
}

/** The merge of `dir` with and without the pipelining (outputs in a directory of their own). */
async function bothWays(dir: string, req: Omit<MergeRequest, 'inputs' | 'output'>): Promise<{ on: Buffer; off: Buffer; early: { started: number; used: number } }> {
  return withTempDir('pipeline-out', async (out) => {
    const on = await mergeTraces({ ...req, inputs: [dir], output: path.join(out, 'on.trace.json.gz') });
    const off = await mergeTraces({ ...req, inputs: [dir], output: path.join(out, 'off.trace.json.gz'), pipeline: false });
    assert.deepEqual(off.results[0]!.earlySegments, { started: 0, used: 0 });
    return { on: readDecompressed(on.results[0]!.output), off: readDecompressed(off.results[0]!.output), early: on.results[0]!.earlySegments };
  });
}

test('merge with pass 2 started early writes the same bytes as every pass 1 first (4 tp2 ranks)', async () => {
  await withTempDir('pipeline', async (dir) => {
    fourRanks(dir);
    const { on, off, early } = await bothWays(dir, {});
    assert.ok(on.equals(off), 'the decompressed outputs differ');
    // with more ranks than cores, a rank's pass 1 is done while a later one is still running
    if (availableParallelism() < 4) assert.ok(early.started >= 1, JSON.stringify(early));
    assert.equal(early.used, early.started, 'nothing changed the plan: every early segment is used');
  });
});

test('merge pipelined: same bytes with --no-fix, with a filter (rewrite path) and with a rank skipped as corrupt', async () => {
  await withTempDir('pipeline-opts', async (dir) => {
    const files = fourRanks(dir);
    for (const req of [{ fix: false }, { exclude: '^ncclDevKernel' }, { gzipLevel: 0 }]) {
      const { on, off } = await bothWays(dir, req);
      assert.ok(on.equals(off), `the decompressed outputs differ (${JSON.stringify(req)})`);
    }
    // rank 1 corrupt: the ranks after it move up one place (no segment is made early once a
    // rank has failed; one made before would be checked against the final plan)
    truncate(files[1]!);
    const { on, off, early } = await bothWays(dir, { skipBad: true });
    assert.ok(on.equals(off), 'the decompressed outputs differ (skipBad)');
    assert.ok(early.used <= early.started);
  });
});

test('--ranks is applied before pass 1: a corrupt rank file that is not asked for is never read', async () => {
  await withTempDir('ranks-first', async (dir) => {
    copyAs(TP2_0, dir, '1763900000-TP-0.trace.json.gz');
    const bad = copyAs(TP2_1, dir, '1763900000-TP-1.trace.json.gz');
    truncate(bad); // its header (distributedInfo.rank 1) is intact
    const { results } = await mergeTraces({ inputs: [dir], ranks: [0] });
    const r = results[0]!;
    assert.deepEqual(r.ranks.map((x) => [x.label, x.rank]), [['TP00', 0]]);
    assert.deepEqual(r.skipped, []);
    // asked for, it is still an error that names it
    await assert.rejects(mergeTraces({ inputs: [dir], ranks: [1] }), (e: unknown) => {
      assert.ok(e instanceof TraceforgeError && e.message.includes(bad), String(e));
      return true;
    });
    // the same output as merging a directory that holds only rank 0
    await withTempDir('ranks-first-alone', async (alone) => {
      copyAs(TP2_0, alone, '1763900000-TP-0.trace.json.gz');
      const a = await mergeTraces({ inputs: [alone], ranks: [0] });
      const strip = (b: Buffer): string => b.toString('utf8').replace(/"file": ?"[^"]*"/g, '');
      assert.equal(strip(readDecompressed(a.results[0]!.output)), strip(readDecompressed(r.output)));
    });
  });
});

test('merge pipelined: a rank whose ts turn out to be strings (known only after its pass 1) gives the same bytes', async () => {
  // The header's clock says every rank can be spliced; rank 3's string ts (torch_npu style) make
  // the final plan rewrite every rank. A segment spliced early for another rank is then not
  // used but written again — whether that happens depends on which pass 1 ends first.
  await withTempDir('pipeline-string-ts', async (dir) => {
    const files = fourRanks(dir);
    const text = readDecompressed(files[3]!).toString('utf8').replace(/"ts": ([0-9.]+)/g, '"ts": "$1"');
    writeFileSync(files[3]!, gzipSync(text, { level: 1 }));
    const { on, off, early } = await bothWays(dir, {});
    assert.ok(on.equals(off), 'the decompressed outputs differ');
    assert.ok(early.used <= early.started);
  });
});

test('merge progress: never goes back, never past the total, and ends at it (workers send it at most every 50 ms, the last value always)', async () => {
  await withTempDir('progress', async (dir) => {
    fourRanks(dir);
    const seen: { done: number; total: number }[] = [];
    await mergeTraces({ inputs: [dir], output: path.join(dir, 'out.trace.json.gz'), onProgress: (done, total) => seen.push({ done, total }) });
    assert.ok(seen.length > 4, `${seen.length} progress calls`);
    const total = seen[0]!.total;
    for (let i = 1; i < seen.length; i++) {
      assert.equal(seen[i]!.total, total);
      assert.ok(seen[i]!.done >= seen[i - 1]!.done, `progress went back at call ${i}`);
    }
    assert.ok(seen.at(-1)!.done <= total);
    assert.ok(seen.at(-1)!.done >= total * 0.99, `ends at ${seen.at(-1)!.done} of ${total}`);
  });
});

test('worker progress throttle: at most one message per interval, the value kept in between, the last one flushed', () => {
  let now = 0;
  const sent: number[] = [];
  const t = throttled((n) => sent.push(n), 50, () => now);
  for (const [at, n] of [[0, 1], [10, 2], [49, 3], [50, 4], [60, 5], [99, 6]] as const) { now = at; t.progress(n); }
  assert.deepEqual(sent, [1, 4]);
  t.flush();
  assert.deepEqual(sent, [1, 4, 6]);
  t.flush(); // nothing kept: nothing sent twice
  assert.deepEqual(sent, [1, 4, 6]);
  now = 200; t.progress(7);
  assert.deepEqual(sent, [1, 4, 6, 7]);
});
