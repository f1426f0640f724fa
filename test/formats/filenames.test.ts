import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  compareProfileIds,
  compareRanks,
  groupSizes,
  isAscendProfileDirName,
  isIgnoredFile,
  mergedFileName,
  parseRankFileName,
  rankFromLooseName,
  rankLabel,
  rankOrderKey,
} from '../../src/formats/filenames.js';

test('parseRankFileName: plain TP name (h200/tp2 corpus file)', () => {
  assert.deepEqual(parseRankFileName('1763900000-TP-0.trace.json.gz'), {
    profileId: '1763900000',
    tp: 0,
    dp: 0,
    pp: 0,
    ep: 0,
  });
});

test('parseRankFileName: float id with DP, EP and DECODE stage', () => {
  assert.deepEqual(parseRankFileName('1769071195.6634595-TP-3-DP-1-EP-3-DECODE.trace.json.gz'), {
    profileId: '1769071195.6634595',
    tp: 3,
    dp: 1,
    pp: 0,
    ep: 3,
    stage: 'DECODE',
    stageSuffix: 'DECODE',
  });
});

test('parseRankFileName: all four parts, uncompressed', () => {
  assert.deepEqual(parseRankFileName('1769071195.66-TP-7-DP-2-PP-1-EP-5-EXTEND.trace.json'), {
    profileId: '1769071195.66',
    tp: 7,
    dp: 2,
    pp: 1,
    ep: 5,
    stage: 'EXTEND',
    stageSuffix: 'EXTEND',
  });
});

test('parseRankFileName: prefix containing dashes and digits', () => {
  const parsed = parseRankFileName('llama-70b-run2-1769071195.66-TP-0-PP-1.trace.json.gz');
  assert.equal(parsed?.prefix, 'llama-70b-run2');
  assert.equal(parsed?.profileId, '1769071195.66');
  assert.equal(parsed?.tp, 0);
  assert.equal(parsed?.pp, 1);
  // a prefix that ends in a number: the id is still the last part before -TP-
  const numeric = parseRankFileName('exp-2-1763900000-TP-1.trace.json.gz');
  assert.equal(numeric?.prefix, 'exp-2');
  assert.equal(numeric?.profileId, '1763900000');
});

test('parseRankFileName: lower-case -prefill / -decode', () => {
  const prefill = parseRankFileName('1769071195.66-TP-1-prefill.trace.json.gz');
  assert.equal(prefill?.stage, 'PREFILL');
  assert.equal(prefill?.stageSuffix, 'prefill');
  const decode = parseRankFileName('1769071195.66-TP-1-decode.trace.json.gz');
  assert.equal(decode?.stage, 'DECODE');
  assert.equal(decode?.stageSuffix, 'decode');
});

test('parseRankFileName: names outside the scheme', () => {
  for (const name of [
    'sampled_rank-0.json.gz',
    'worker_0.pt.trace.json.gz',
    '1763900000-TP-0.json.gz', // no .trace
    '1763900000-DP-0-TP-0.trace.json.gz', // parts out of order
    '1763900000-TP-0-EP-1-DP-1.trace.json.gz',
    '1763900000-TP-0-Decode.trace.json.gz', // stage spelling SGLang never writes
    '-1763900000-TP-0.trace.json.gz', // empty prefix
    '1763900000-TP-0.trace.json.gz.tmp',
    'abc-TP-0.trace.json.gz', // no numeric profile id
  ]) {
    assert.equal(parseRankFileName(name), null, name);
  }
});

test('rankFromLooseName: rank-N, rank_N, rankN, any case', () => {
  assert.equal(rankFromLooseName('sampled_rank-0.json.gz'), 0);
  assert.equal(rankFromLooseName('sampled_rank-1.json.gz'), 1);
  assert.equal(rankFromLooseName('rank3.json'), 3);
  assert.equal(rankFromLooseName('ns_resolution_rank-0.pt.trace.json.gz'), 0);
  assert.equal(rankFromLooseName('old_format_inference_rank_1.json.gz'), 1);
  assert.equal(rankFromLooseName('RANK12.trace.json'), 12);
  assert.equal(rankFromLooseName('host-Rank_7.json.gz'), 7);
});

test('rankFromLooseName: no rank in the name', () => {
  assert.equal(rankFromLooseName('worker_0.pt.trace.json.gz'), null);
  assert.equal(rankFromLooseName('rank_not_found.json.gz'), null);
  assert.equal(rankFromLooseName('frank3.json'), null);
  assert.equal(rankFromLooseName('trace.json'), null);
});

test('isIgnoredFile', () => {
  // traces
  for (const name of [
    '1763900000-TP-0.trace.json.gz',
    '1763900000-TP-0.trace.json',
    'worker_0.pt.trace.json.gz',
    'rank3.json',
    'TRACE.JSON.GZ',
  ]) {
    assert.equal(isIgnoredFile(name), false, name);
  }
  // not traces
  for (const name of [
    'merged-1769071195.6634595.trace.json.gz',
    'merged-llama-1763900000-EXTEND.trace.json.gz',
    'perfetto-compatible-1763900000-TP-0.trace.json.gz',
    '1769071195.6634595-TP-0-memory.pickle',
    '1769071195.6634595-TP-0-memory-snapshot.pickle',
    '.hidden.trace.json',
    'server.log',
    'kernels.csv.gz',
    'traces.tar.gz',
  ]) {
    assert.equal(isIgnoredFile(name), true, name);
  }
});

test('isAscendProfileDirName', () => {
  assert.equal(isAscendProfileDirName('rank0_ascend_pt'), true);
  assert.equal(isAscendProfileDirName('localhost_12345_20250101120000000_ascend_pt/'), true);
  assert.equal(isAscendProfileDirName('ascend_pt_old'), false);
});

test('mergedFileName keeps prefix and stage spelling', () => {
  assert.equal(mergedFileName({ profileId: '1769071195.6634595' }), 'merged-1769071195.6634595.trace.json.gz');
  assert.equal(
    mergedFileName({ prefix: 'llama-70b', profileId: '1763900000', stageSuffix: 'prefill' }),
    'merged-llama-70b-1763900000-prefill.trace.json.gz',
  );
  const parsed = parseRankFileName('run-1769071195.66-TP-3-DP-1-EP-3-DECODE.trace.json.gz');
  assert.ok(parsed);
  assert.equal(mergedFileName(parsed), 'merged-run-1769071195.66-DECODE.trace.json.gz');
});

test('compareProfileIds: decimal order, exact for long ids', () => {
  assert.equal(compareProfileIds('10.5', '9.9'), 1);
  assert.equal(compareProfileIds('9.9', '10.5'), -1);
  assert.equal(compareProfileIds('1769071195.66', '1769071195.7'), -1);
  assert.equal(compareProfileIds('1769071195.7', '1769071195.66'), 1);
  assert.equal(compareProfileIds('1763900000', '1769071195.6634595'), -1);
  assert.equal(compareProfileIds('1769071195', '1769071195.0001'), -1);
  assert.equal(compareProfileIds('1.50', '1.5'), 0);
  assert.equal(compareProfileIds('007', '7'), 0);
  // these two are the same double; as text they differ in the 19th digit
  const a = '1769071195.663459501';
  const b = '1769071195.663459502';
  assert.equal(Number(a), Number(b));
  assert.equal(compareProfileIds(a, b), -1);
  // not a decimal: after all decimals
  assert.equal(compareProfileIds('abc', '1'), 1);
  assert.equal(compareProfileIds('1', 'abc'), -1);
});

test('rankLabel: TP always, other parts only when their size is above 1', () => {
  const one = { tp: 1, dp: 1, pp: 1, ep: 1 };
  assert.equal(rankLabel({ tp: 3, dp: 0, pp: 0, ep: 0 }, { ...one, tp: 4 }), 'TP03');
  assert.equal(rankLabel({ tp: 3, dp: 1, pp: 0, ep: 0 }, { ...one, tp: 4, dp: 2 }), 'TP03-DP01');
  assert.equal(rankLabel({ tp: 0, dp: 0, pp: 0, ep: 0 }, one), 'TP00');
  assert.equal(
    rankLabel({ tp: 3, dp: 1, pp: 2, ep: 5 }, { tp: 8, dp: 2, pp: 4, ep: 8 }),
    'TP03-DP01-PP02-EP05',
  );
  assert.equal(rankLabel({ tp: 3, dp: 1, pp: 0, ep: 3 }, { tp: 4, dp: 2, pp: 1, ep: 4 }), 'TP03-DP01-EP03');
});

test('rankLabel: wider padding when a group has 100+ ranks', () => {
  const sizes = { tp: 128, dp: 1, pp: 1, ep: 1 };
  assert.equal(rankLabel({ tp: 7, dp: 0, pp: 0, ep: 0 }, sizes), 'TP007');
  assert.equal(rankLabel({ tp: 127, dp: 0, pp: 0, ep: 0 }, sizes), 'TP127');
});

test('groupSizes: largest index + 1', () => {
  assert.deepEqual(groupSizes([]), { tp: 1, dp: 1, pp: 1, ep: 1 });
  assert.deepEqual(
    groupSizes([
      { tp: 0, dp: 0, pp: 0, ep: 0 },
      { tp: 3, dp: 1, pp: 0, ep: 3 },
    ]),
    { tp: 4, dp: 2, pp: 1, ep: 4 },
  );
});

test('rankOrderKey and compareRanks order by DP, PP, EP, TP', () => {
  const ranks = [
    { tp: 0, dp: 1, pp: 0, ep: 0 },
    { tp: 5, dp: 0, pp: 1, ep: 0 },
    { tp: 9, dp: 0, pp: 0, ep: 1 },
    { tp: 2, dp: 0, pp: 0, ep: 0 },
    { tp: 1, dp: 0, pp: 0, ep: 0 },
  ];
  const expected = ['0/0/0/1', '0/0/0/2', '0/0/1/9', '0/1/0/5', '1/0/0/0'];
  const show = (r: { tp: number; dp: number; pp: number; ep: number }): string => `${r.dp}/${r.pp}/${r.ep}/${r.tp}`;
  assert.deepEqual([...ranks].sort((a, b) => rankOrderKey(a) - rankOrderKey(b)).map(show), expected);
  assert.deepEqual([...ranks].sort(compareRanks).map(show), expected);
});
