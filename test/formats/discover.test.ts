import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';

import { discoverInputs, groupRankFiles } from '../../src/formats/discover.js';
import { TraceforgeError } from '../../src/errors.js';
import { FIXTURES } from '../helpers.js';

/** A predicate for assert.throws/rejects: the error is a TraceforgeError with this code. */
function codeOf(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof TraceforgeError, `expected a TraceforgeError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  };
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'traceforge-discover-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function touch(dir: string, ...names: string[]): Promise<void> {
  for (const name of names) await writeFile(path.join(dir, name), '');
}

test('groupRankFiles: one TP group, ordered, labelled, named', () => {
  const r = groupRankFiles(['t/1763900000-TP-1.trace.json.gz', 't/1763900000-TP-0.trace.json.gz']);
  assert.equal(r.groups.length, 1);
  const g = r.groups[0];
  assert.ok(g);
  assert.equal(g.profileId, '1763900000');
  assert.equal(g.prefix, undefined);
  assert.equal(g.stage, undefined);
  assert.deepEqual(g.sizes, { tp: 2, dp: 1, pp: 1, ep: 1 });
  assert.deepEqual(
    g.files.map((f) => [f.path, f.label]),
    [
      ['t/1763900000-TP-0.trace.json.gz', 'TP00'],
      ['t/1763900000-TP-1.trace.json.gz', 'TP01'],
    ],
  );
  assert.equal(g.outputName, 'merged-1763900000.trace.json.gz');
  assert.deepEqual(r.loose, []);
  assert.deepEqual(r.ignored, []);
  assert.equal(r.profileChoice, undefined);
});

test('groupRankFiles: DP/EP layout ordered by DP, PP, EP, TP', () => {
  const id = '1769071195.6634595';
  const names = [
    `${id}-TP-3-DP-1-EP-3.trace.json.gz`,
    `${id}-TP-0-DP-0-EP-0.trace.json.gz`,
    `${id}-TP-2-DP-1-EP-2.trace.json.gz`,
    `${id}-TP-1-DP-0-EP-1.trace.json.gz`,
  ];
  const g = groupRankFiles(names).groups[0];
  assert.ok(g);
  assert.deepEqual(
    g.files.map((f) => f.label),
    ['TP00-DP00-EP00', 'TP01-DP00-EP01', 'TP02-DP01-EP02', 'TP03-DP01-EP03'],
  );
});

test('groupRankFiles: EXTEND and DECODE stages become two groups', () => {
  const id = '1769071195.6634595';
  const r = groupRankFiles([
    `${id}-TP-0-DECODE.trace.json.gz`,
    `${id}-TP-1-DECODE.trace.json.gz`,
    `${id}-TP-0-EXTEND.trace.json.gz`,
    `${id}-TP-1-EXTEND.trace.json.gz`,
  ]);
  assert.deepEqual(
    r.groups.map((g) => [g.stage, g.files.length, g.outputName]),
    [
      ['EXTEND', 2, `merged-${id}-EXTEND.trace.json.gz`],
      ['DECODE', 2, `merged-${id}-DECODE.trace.json.gz`],
    ],
  );
  // same ranks in different stages are not duplicates
  assert.equal(r.profileChoice, undefined);
});

test('groupRankFiles: lower-case -prefill/-decode and a dashed prefix', () => {
  const r = groupRankFiles([
    'llama-70b-run2-1769071195.66-TP-0-prefill.trace.json.gz',
    'llama-70b-run2-1769071195.66-TP-0-decode.trace.json.gz',
  ]);
  assert.deepEqual(
    r.groups.map((g) => [g.prefix, g.stage, g.stageSuffix, g.outputName]),
    [
      ['llama-70b-run2', 'PREFILL', 'prefill', 'merged-llama-70b-run2-1769071195.66-prefill.trace.json.gz'],
      ['llama-70b-run2', 'DECODE', 'decode', 'merged-llama-70b-run2-1769071195.66-decode.trace.json.gz'],
    ],
  );
});

test('groupRankFiles: merged outputs and memory pickles are ignored', () => {
  const r = groupRankFiles([
    '/p/1769071195.6634595-TP-0.trace.json.gz',
    '/p/merged-1769071195.6634595.trace.json.gz',
    '/p/1769071195.6634595-TP-0-memory.pickle',
  ]);
  assert.equal(r.groups.length, 1);
  assert.equal(r.groups[0]?.files.length, 1);
  assert.deepEqual(r.ignored, ['/p/merged-1769071195.6634595.trace.json.gz', '/p/1769071195.6634595-TP-0-memory.pickle']);
  assert.deepEqual(r.loose, []);
});

test('groupRankFiles: duplicate rank throws E_RANKS naming both files', () => {
  const a = 'a/1763900000-TP-1.trace.json.gz';
  const b = 'b/1763900000-TP-1.trace.json';
  assert.throws(
    () => groupRankFiles([a, 'a/1763900000-TP-0.trace.json.gz', b]),
    (e: unknown) => {
      codeOf('E_RANKS')(e);
      assert.ok(e instanceof Error);
      assert.ok(e.message.includes(a), e.message);
      assert.ok(e.message.includes(b), e.message);
      return true;
    },
  );
  // the same path twice is one file, not a duplicate
  assert.equal(groupRankFiles([a, a]).groups[0]?.files.length, 1);
});

test('groupRankFiles: newest profile id wins, compared as decimals', () => {
  const r = groupRankFiles([
    '9.9-TP-0.trace.json.gz',
    '9.9-TP-1.trace.json.gz',
    '10.5-TP-0.trace.json.gz',
  ]);
  assert.deepEqual(
    r.groups.map((g) => g.profileId),
    ['10.5'],
  );
  assert.equal(r.profileChoice?.chosen, '10.5');
  assert.deepEqual(r.profileChoice?.passedOver, ['9.9']);
  assert.ok(r.profileChoice?.message.includes('10.5 (1 files)'), r.profileChoice?.message);
  assert.ok(r.profileChoice?.message.includes('9.9 (2 files)'), r.profileChoice?.message);

  const r2 = groupRankFiles(['1769071195.7-TP-0.trace.json.gz', '1769071195.66-TP-0.trace.json.gz']);
  assert.equal(r2.profileChoice?.chosen, '1769071195.7');
  assert.deepEqual(r2.profileChoice?.passedOver, ['1769071195.66']);
  assert.equal(r2.groups[0]?.files[0]?.path, '1769071195.7-TP-0.trace.json.gz');
});

test('groupRankFiles: a duplicate in a passed-over profile does not block the newest', () => {
  const r = groupRankFiles(['x/1-TP-0.trace.json.gz', 'y/1-TP-0.trace.json.gz', '2-TP-0.trace.json.gz']);
  assert.equal(r.profileChoice?.chosen, '2');
});

test('groupRankFiles: opts.profileId picks an older id, or fails listing what exists', () => {
  const names = ['9.9-TP-0.trace.json.gz', '10.5-TP-0.trace.json.gz', 'run-8-TP-0.trace.json.gz'];
  const r = groupRankFiles(names, { profileId: '9.9' });
  assert.deepEqual(r.groups.map((g) => g.profileId), ['9.9']);
  assert.equal(r.profileChoice?.chosen, '9.9');
  assert.deepEqual(r.profileChoice?.passedOver, ['10.5', '8']);
  // prefix-id form, as copied from a file name
  assert.deepEqual(groupRankFiles(names, { profileId: 'run-8' }).groups.map((g) => [g.prefix, g.profileId]), [['run', '8']]);
  assert.throws(
    () => groupRankFiles(names, { profileId: '11' }),
    (e: unknown) => {
      codeOf('E_NOT_FOUND')(e);
      assert.ok(e instanceof Error);
      assert.match(e.message, /profile id 11 not found \(found: 10\.5, 9\.9, 8\)/);
      return true;
    },
  );
});

test('groupRankFiles: loose names keep their rank, or null', () => {
  const r = groupRankFiles([
    'h/worker_0.pt.trace.json.gz',
    'h/rank3.json',
    'h/sampled_rank-0.json.gz',
    'h/ns_resolution_rank-0.pt.trace.json.gz',
    'h/npu/rank1_ascend_pt',
  ]);
  assert.deepEqual(r.groups, []);
  assert.deepEqual(r.loose, [
    { path: 'h/ns_resolution_rank-0.pt.trace.json.gz', kind: 'file', rank: 0 },
    { path: 'h/sampled_rank-0.json.gz', kind: 'file', rank: 0 },
    { path: 'h/rank3.json', kind: 'file', rank: 3 },
    { path: 'h/npu/rank1_ascend_pt', kind: 'ascend-dir', rank: null },
    { path: 'h/worker_0.pt.trace.json.gz', kind: 'file', rank: null },
  ]);
});

test('discoverInputs: a directory of SGLang files, pickles and old outputs', async () => {
  await withTempDir(async (dir) => {
    await touch(
      dir,
      '1763900000-TP-0.trace.json.gz',
      '1763900000-TP-1.trace.json.gz',
      '1763900000-TP-0-memory.pickle',
      'merged-1763900000.trace.json.gz',
      '.1763900000-TP-0.trace.json.gz',
    );
    await mkdir(path.join(dir, 'unrelated-subdir'));
    await mkdir(path.join(dir, 'node0_20250101120000000_ascend_pt'));
    const r = await discoverInputs([dir]);
    assert.deepEqual(
      r.groups.map((g) => g.files.map((f) => path.basename(f.path))),
      [['1763900000-TP-0.trace.json.gz', '1763900000-TP-1.trace.json.gz']],
    );
    assert.deepEqual(r.loose, [
      { path: path.join(dir, 'node0_20250101120000000_ascend_pt'), kind: 'ascend-dir', rank: null },
    ]);
    assert.deepEqual(r.ignored.map((p) => path.basename(p)).sort(), [
      '1763900000-TP-0-memory.pickle',
      'merged-1763900000.trace.json.gz',
    ]);
  });
});

test('discoverInputs: globs in the last component, explicit files, no double counting', async () => {
  await withTempDir(async (dir) => {
    await touch(
      dir,
      '1769071195.66-TP-0.trace.json.gz',
      '1769071195.66-TP-1.trace.json.gz',
      '1769071195.7-TP-0.trace.json.gz',
      'rank3.json',
    );
    const glob = await discoverInputs([path.join(dir, '1769071195.66-TP-?.trace.json.gz')]);
    assert.equal(glob.profileChoice, undefined);
    assert.deepEqual(glob.groups[0]?.files.map((f) => f.label), ['TP00', 'TP01']);

    const star = await discoverInputs([path.join(dir, '*.trace.json.gz')]);
    assert.equal(star.profileChoice?.chosen, '1769071195.7');
    assert.deepEqual(star.loose, []);

    // the same file through a directory and by name is counted once
    const both = await discoverInputs([dir, path.join(dir, 'rank3.json')]);
    assert.deepEqual(both.loose, [{ path: path.join(dir, 'rank3.json'), kind: 'file', rank: 3 }]);

    await assert.rejects(discoverInputs([path.join(dir, '*', 'x.json')]), codeOf('E_USAGE'));
  });
});

test('discoverInputs: an *_ascend_pt directory named directly is one loose input', async () => {
  await withTempDir(async (dir) => {
    const npu = path.join(dir, 'rank0_ascend_pt');
    await mkdir(npu);
    await touch(npu, 'profiler_info_0.json');
    const r = await discoverInputs([npu]);
    assert.deepEqual(r.loose, [{ path: npu, kind: 'ascend-dir', rank: null }]);
  });
});

test('discoverInputs: nothing found names the directory and the patterns', async () => {
  await withTempDir(async (dir) => {
    await touch(dir, 'merged-1763900000.trace.json.gz', 'server.log');
    await assert.rejects(discoverInputs([dir]), (e: unknown) => {
      codeOf('E_NOT_FOUND')(e);
      assert.ok(e instanceof Error);
      assert.ok(e.message.includes(dir), e.message);
      assert.ok(e.message.includes('*.json.gz'), e.message);
      assert.ok(e.message.includes('merged-1763900000.trace.json.gz'), e.message);
      return true;
    });
    await assert.rejects(discoverInputs([path.join(dir, '1769*.trace.json.gz')]), (e: unknown) => {
      codeOf('E_NOT_FOUND')(e);
      assert.ok(e instanceof Error);
      assert.ok(e.message.includes(`${dir} for 1769*.trace.json.gz`), e.message);
      return true;
    });
    await assert.rejects(discoverInputs([path.join(dir, 'missing.trace.json.gz')]), codeOf('E_INPUT'));
  });
});

test('discoverInputs: JSON in a directory that is not a trace is skipped and listed, a named one is kept', async () => {
  const tiny = path.join(FIXTURES, 'real', 'h200', 'tiny');
  await withTempDir(async (dir) => {
    // two real traces, the real truth file beside them, a config, a gzipped metadata file, an array-form trace
    await copyFile(path.join(tiny, 'tiny-eager.trace.json.gz'), path.join(dir, 'tiny-eager.trace.json.gz'));
    await copyFile(path.join(tiny, 'tiny-graph.trace.json.gz'), path.join(dir, 'tiny-graph.trace.json.gz'));
    await copyFile(path.join(tiny, 'tiny-truth.json'), path.join(dir, 'tiny-truth.json'));
    await writeFile(path.join(dir, 'config.json'), '{"model": "x", "traceEventsLike": []}');
    await writeFile(path.join(dir, 'meta.json.gz'), gzipSync('{"ENV_VARIABLES": {"A": "1"}}'));
    await writeFile(path.join(dir, 'array.json'), '[{"ph": "X", "name": "k", "pid": 0, "tid": 0, "ts": 1, "dur": 1}]');
    // SGLang's capture_traces/execution_details.json: an array, but of records that are not events
    await writeFile(path.join(dir, 'execution_details.json'), '[\n  {\n    "file": "bs_32_rank0.json.gz",\n    "batch_size": 32,\n    "mode": "FULL"\n  }\n]\n');
    const r = await discoverInputs([dir]);
    assert.deepEqual(r.loose.map((l) => path.basename(l.path)).sort(), ['array.json', 'tiny-eager.trace.json.gz', 'tiny-graph.trace.json.gz']);
    assert.deepEqual((r.notTraces ?? []).map((p) => path.basename(p)).sort(), ['config.json', 'execution_details.json', 'meta.json.gz', 'tiny-truth.json']);
    assert.ok(r.notTraces!.every((p) => r.ignored.includes(p)));
    // named on the command line it is read (and then fails as not a trace, see errors.test.ts)
    const named = await discoverInputs([path.join(dir, 'config.json')]);
    assert.deepEqual(named.loose.map((l) => path.basename(l.path)), ['config.json']);
    assert.equal(named.notTraces, undefined);
  });
});

test('discoverInputs: nothing found in a directory of directories names them', async () => {
  await withTempDir(async (dir) => {
    await mkdir(path.join(dir, 'level0'));
    await mkdir(path.join(dir, 'level1'));
    await touch(dir, 'LICENSE.txt');
    await assert.rejects(discoverInputs([dir]), (e: unknown) => {
      assert.ok(e instanceof TraceforgeError && e.code === 'E_NOT_FOUND');
      assert.match(e.message, /skipped 1 non-trace file\(s\): LICENSE\.txt; subdirectories are not searched: pass one of .*level0, .*level1$/);
      return true;
    });
  });
});
