/**
 * `traceforge merge` as a child process: exit codes, what is printed, where the output goes,
 * and that the flags reach the merge. Outputs are read back independently (test/merge-helpers.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import {
  CLI, HTA_0, HTA_1, REPO_ROOT, TP2_0, TP2_1,
  checkLabels, checkMergedSegments, copyAs, loadTrace, rankFacts, withTempDir,
  type Ev,
} from '../merge-helpers.js';

interface Run { status: number | null; stdout: string; stderr: string }

function runCli(args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '');

test('merge <dir>: exit 0, the output beside the inputs, a summary on stderr naming it', async () => {
  const in0 = loadTrace(TP2_0, true);
  const in1 = loadTrace(TP2_1, true);
  await withTempDir('cli-ok', async (dir) => {
    copyAs(TP2_0, dir, '1763900000-TP-0.trace.json.gz');
    copyAs(TP2_1, dir, '1763900000-TP-1.trace.json.gz');
    const r = runCli(['merge', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    const output = path.join(dir, 'merged-1763900000.trace.json.gz');
    assert.ok(existsSync(output));
    const out = loadTrace(output);
    const reps = checkMergedSegments(out, [{ input: in0, label: 'TP00' }, { input: in1, label: 'TP01' }], { fix: true });
    checkLabels(out, reps[0]!, in0);
    checkLabels(out, reps[1]!, in1);
    const err = lines(r.stderr);
    assert.ok(err.includes('merged 2 rank(s): TP00, TP01'), r.stderr);
    const inCount = (in0.events.length + in1.events.length).toLocaleString('en-US');
    const outCount = out.events.length.toLocaleString('en-US');
    assert.ok(err.some((l) => l.includes(`events: ${inCount} in, ${outCount} out`)), r.stderr);
    assert.ok(err.some((l) => l.startsWith(`wrote ${output} (`)), r.stderr);
  });
});

test('merge -o FILE --ranks 1 --tracks gpu --no-fix: the flags reach the merge', async () => {
  const h1 = loadTrace(HTA_1, true);
  const gpu = rankFacts(h1).gpuPids;
  assert.ok(gpu.size > 0);
  await withTempDir('cli-flags', async (dir) => {
    copyAs(HTA_0, dir, '1763900000-TP-0.trace.json.gz');
    copyAs(HTA_1, dir, '1763900000-TP-1.trace.json.gz');
    const output = path.join(dir, 'only-rank1.json');
    const r = runCli(['merge', dir, '-o', output, '--ranks', '1', '--tracks', 'gpu', '--no-fix']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(lines(r.stderr).includes('merged 1 rank(s): TP01'), r.stderr);
    assert.ok(lines(r.stderr).some((l) => l.startsWith(`wrote ${output} (`)), r.stderr);
    // -o without .gz: plain JSON
    assert.equal(readFileSync(output)[0], '{'.charCodeAt(0));
    assert.ok(!existsSync(path.join(dir, 'merged-1763900000.trace.json.gz')));
    const out = loadTrace(output);
    const keep = (e: Ev): boolean => e.pid === undefined || gpu.has(e.pid);
    const [rep] = checkMergedSegments(out, [{ input: h1, label: 'TP01', keep }], { fix: false });
    assert.equal(rep!.moved, 0);
    assert.equal(rep!.pairs.filter(([a]) => a.ph === 'X').length, h1.events.filter((e) => e.ph === 'X' && keep(e)).length);
    assert.ok(rep!.pairs.length < h1.events.length);
    checkLabels(out, rep!, h1);
  });
});

test('merge of a directory with no traces: exit 2, one line naming the directory', async () => {
  await withTempDir('cli-empty', async (dir) => {
    writeFileSync(path.join(dir, 'notes.txt'), 'not a trace\n');
    const r = runCli(['merge', dir]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    const err = lines(r.stderr);
    assert.equal(err.length, 1, r.stderr);
    assert.ok(err[0]!.includes(path.resolve(dir)), err[0]);
    assert.ok(err[0]!.includes('notes.txt'), err[0]);
    assert.deepEqual(readdirSync(dir), ['notes.txt']);
  });
});

test('merge with a corrupt rank file: exit 2, one line naming the file, nothing written', async () => {
  await withTempDir('cli-corrupt', async (dir) => {
    copyAs(HTA_0, dir, '1763900000-TP-0.trace.json.gz');
    const bad = path.join(dir, '1763900000-TP-1.trace.json.gz');
    const gz = readFileSync(HTA_1);
    writeFileSync(bad, gz.subarray(0, Math.floor(gz.length / 2)));
    const r = runCli(['merge', dir]);
    assert.equal(r.status, 2, r.stderr);
    const err = lines(r.stderr);
    assert.equal(err.length, 1, r.stderr);
    assert.ok(err[0]!.includes(bad), err[0]);
    assert.ok(!err[0]!.includes('internal error'), err[0]);
    assert.deepEqual(readdirSync(dir).sort(), ['1763900000-TP-0.trace.json.gz', '1763900000-TP-1.trace.json.gz']);

    // --skip-bad: merged, exit 0, the skipped file listed
    const s = runCli(['merge', dir, '--skip-bad']);
    assert.equal(s.status, 0, s.stderr);
    assert.ok(lines(s.stderr).some((l) => l.includes('skipped') && l.includes(bad)), s.stderr);
    assert.ok(existsSync(path.join(dir, 'merged-1763900000.trace.json.gz')));
  });
});

test('merge with a bad option value: exit 2, one line, nothing written', async () => {
  await withTempDir('cli-usage', async (dir) => {
    copyAs(HTA_0, dir, '1763900000-TP-0.trace.json.gz');
    for (const args of [['--window', '5:1'], ['--tracks', 'npu'], ['--ranks', '3-1'], ['--name', '(']]) {
      const r = runCli(['merge', dir, ...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      const err = lines(r.stderr);
      assert.equal(err.length, 1, r.stderr);
      assert.ok(err[0]!.includes(args[0]!), err[0]);
    }
    assert.deepEqual(readdirSync(dir), ['1763900000-TP-0.trace.json.gz']);
  });
});
