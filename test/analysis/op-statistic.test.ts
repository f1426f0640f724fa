/**
 * Operator statistics. The oracle for opStatistic is the vendor's own op_statistic.csv of the
 * same run (level1, both ranks). The oracle for the shape table is computed here from the raw
 * kernel_details text with exact decimal sums (BigInt thousandths of a µs).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { attachTraceDurations, readKernelDetails, readOpStatistic } from '../../src/formats/ascend-csv.js';
import {
  formatOpStatisticCsv, opStatistic, opStatisticOf, pythonFloatText, roundLikePython, shapeStatistic, SHAPES_ADVICE, type KernelTiming,
} from '../../src/analysis/op-statistic.js';
import { realFixture } from '../helpers.js';

const profile = (level: string, rank: number): string => realFixture('ascend', level, `rank${rank}_ascend_pt`);
const opStatFile = (rank: number): string => path.join(profile('level1', rank), 'ASCEND_PROFILER_OUTPUT', 'op_statistic.csv');

describe('opStatistic reproduces the vendor op_statistic.csv (level1)', () => {
  for (const rank of [0, 1]) {
    it(`rank ${rank}: with the trace's full-precision durations, byte for byte`, async () => {
      const kd = readKernelDetails(profile('level1', rank));
      const m = await attachTraceDurations(kd);
      // Every computing task is found in trace_view.json (only all-reduces whose CSV start
      // was rounded differently are not, and op_statistic leaves those out anyway).
      for (const r of kd.rows) if (r.traceDurationUs === undefined) assert.equal(r.acceleratorCore, 'HCCL', `${r.name} at ${r.startUsText} not matched`);
      assert.ok(m.matched >= 187);
      const text = readFileSync(opStatFile(rank), 'utf8');
      assert.equal(formatOpStatisticCsv(opStatistic(kd.rows)), text);
      // and as numbers, row by row
      const want = readOpStatistic(profile('level1', rank)).map(({ deviceId: _d, ...r }) => r);
      assert.deepEqual(opStatistic(kd.rows), want);
    });

    it(`rank ${rank}: from kernel_details.csv alone, same rows and counts; min/max exact, totals within 0.0005 µs per task`, () => {
      const kd = readKernelDetails(profile('level1', rank));
      const got = new Map(opStatistic(kd.rows).map((r) => [`${r.opType}/${r.coreType}`, r]));
      const want = readOpStatistic(profile('level1', rank));
      assert.equal(got.size, want.length);
      for (const w of want) {
        const g = got.get(`${w.opType}/${w.coreType}`);
        assert.ok(g, `${w.opType}/${w.coreType} missing`);
        assert.equal(g.count, w.count);
        assert.equal(g.minUs, w.minUs);
        assert.equal(g.maxUs, w.maxUs);
        // kernel_details rounds each duration to 0.001 µs; the vendor summed them unrounded
        const slack = 0.0005 * w.count + 0.0005 + 1e-9;
        assert.ok(Math.abs(g.totalUs - w.totalUs) <= slack, `${w.opType} total ${g.totalUs} vs ${w.totalUs}`);
        assert.ok(Math.abs(g.avgUs - w.avgUs) <= 0.0005 + 0.0005 + 1e-9, `${w.opType} avg ${g.avgUs} vs ${w.avgUs}`);
        assert.ok(Math.abs(g.ratioPct - w.ratioPct) <= 0.002, `${w.opType} ratio ${g.ratioPct} vs ${w.ratioPct}`);
      }
      // the all-reduces (core type HCCL) are not in the table, as in the vendor's
      assert.ok(kd.rows.some((r) => r.acceleratorCore === 'HCCL'));
      assert.ok(![...got.values()].some((r) => r.coreType === 'HCCL'));
    });
  }

  it('opStatisticOf: the table at Level 1; at Level 0 (every Type N/A) a message instead of one N/A row', () => {
    const l1 = opStatisticOf(readKernelDetails(profile('level1', 0)));
    assert.ok(l1.ok);
    assert.equal(l1.rows.length, readOpStatistic(profile('level1', 0)).length);
    const kd = readKernelDetails(profile('level0', 0));
    const l0 = opStatisticOf(kd);
    assert.ok(!l0.ok);
    assert.equal(l0.reason, 'types-not-recorded');
    assert.ok(l0.message.includes(kd.file));
    assert.ok(l0.message.includes('profiler_level=torch_npu.profiler.ProfilerLevel.Level1'));
  });

  it('ratios sum to ~100 and the table is sorted by total, largest first', () => {
    const rows = opStatistic(readKernelDetails(profile('level1', 0)).rows);
    const sum = rows.reduce((a, r) => a + r.ratioPct, 0);
    assert.ok(Math.abs(sum - 100) < 0.001 * rows.length, String(sum));
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1]!.totalUs >= rows[i]!.totalUs);
  });

  it('rows with a Device_id: one table per device, Device_id column first', () => {
    const k = (deviceId: number, type: string, d: number): KernelTiming => ({ name: type, type, acceleratorCore: 'AI_CORE', durationUs: d, deviceId });
    const rows = opStatistic([k(1, 'A', 1), k(0, 'A', 3), k(0, 'B', 1), k(1, 'A', 2)]);
    assert.deepEqual(rows, [
      { deviceId: 0, opType: 'A', coreType: 'AI_CORE', count: 1, totalUs: 3, minUs: 3, avgUs: 3, maxUs: 3, ratioPct: 75 },
      { deviceId: 0, opType: 'B', coreType: 'AI_CORE', count: 1, totalUs: 1, minUs: 1, avgUs: 1, maxUs: 1, ratioPct: 25 },
      { deviceId: 1, opType: 'A', coreType: 'AI_CORE', count: 2, totalUs: 3, minUs: 1, avgUs: 1.5, maxUs: 2, ratioPct: 100 },
    ]);
    assert.equal(formatOpStatisticCsv(rows).split('\n')[0], 'Device_id,OP Type,Core Type,Count,Total Time(us),Min Time(us),Avg Time(us),Max Time(us),Ratio(%)');
    assert.equal(formatOpStatisticCsv(rows).split('\n')[3], '1,A,AI_CORE,2,3.0,1.0,1.5,2.0,100.0');
  });
});

describe('rounding like the vendor (Python round(x, 3) and str(float))', () => {
  it('rounds the exact binary value; exact ties go to even', () => {
    assert.equal(roundLikePython(75.9015), 75.901); // 75.90149999... in binary (vendor: 75.901)
    assert.equal(roundLikePython(25.4605), 25.46); // vendor MemSet max
    assert.equal(roundLikePython(0.0625), 0.062); // an exact tie: even
    assert.equal(roundLikePython(0.1875), 0.188); // an exact tie: even
    assert.equal(roundLikePython(2.5, 0), 2);
    assert.equal(roundLikePython(-1.0625), -1.062);
    assert.equal(roundLikePython(653.0263333333), 653.026);
    assert.equal(roundLikePython(0), 0);
    assert.equal(roundLikePython(1e-7), 0);
    assert.equal(roundLikePython(123456789.0004999), 123456789);
  });
  it('writes floats as Python str() does', () => {
    assert.equal(pythonFloatText(2), '2.0');
    assert.equal(pythonFloatText(0), '0.0');
    assert.equal(pythonFloatText(22.01), '22.01');
    assert.equal(pythonFloatText(1959.079), '1959.079');
  });
});

// ---------------------------------------------------------------------------------------------
// Shapes

/** Oracle: kernel_details rows from the raw text (no quoted newlines in this file), exact sums. */
function oracleShapeTable(file: string): Map<string, { count: number; totalMilli: bigint; minMilli: bigint; maxMilli: bigint }> {
  const lines = readFileSync(file, 'utf8').split('\r\n').filter((l) => l !== '');
  const split = (l: string): string[] => {
    const out: string[] = [];
    const re = /(?:"((?:[^"]|"")*)"|([^,]*))(,|$)/y;
    let pos = 0;
    for (;;) {
      re.lastIndex = pos;
      const m = re.exec(l)!;
      out.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!);
      pos = re.lastIndex;
      if (m[3] === '') return out;
    }
  };
  const head = split(lines[0]!);
  const col = (n: string): number => head.indexOf(n);
  const milli = (t: string): bigint => {
    const [i, f = ''] = t.split('.');
    return BigInt(i!) * 1000n + BigInt((f + '000').slice(0, 3));
  };
  const groups = new Map<string, { count: number; totalMilli: bigint; minMilli: bigint; maxMilli: bigint }>();
  for (const l of lines.slice(1)) {
    const f = split(l);
    const shapes = f[col('Input Shapes')]!.replace(/^"(.*)"$/s, '$1');
    const key = `${f[col('Type')]}|${shapes}|${f[col('Input Data Types')]}`;
    const d = milli(f[col('Duration(us)')]!);
    const g = groups.get(key);
    if (!g) groups.set(key, { count: 1, totalMilli: d, minMilli: d, maxMilli: d });
    else { g.count++; g.totalMilli += d; if (d < g.minMilli) g.minMilli = d; if (d > g.maxMilli) g.maxMilli = d; }
  }
  return groups;
}

describe('operator statistics by input shape', () => {
  for (const rank of [0, 1]) {
    it(`level1 rank ${rank}: per (Type, Input Shapes, Input Data Types) count, total, min, max, avg equal the exact computation`, () => {
      const kd = readKernelDetails(profile('level1', rank));
      const res = shapeStatistic(kd);
      assert.ok(res.ok);
      const want = oracleShapeTable(kd.file);
      assert.equal(res.rows.length, want.size);
      for (const r of res.rows) {
        const w = want.get(`${r.op}|${r.inputShapes}|${r.inputDataTypes}`);
        assert.ok(w, `${r.op} ${r.inputShapes}`);
        assert.equal(r.count, w.count);
        assert.equal(r.totalUs, Number(w.totalMilli) / 1000);
        assert.equal(r.minUs, Number(w.minMilli) / 1000);
        assert.equal(r.maxUs, Number(w.maxMilli) / 1000);
        assert.ok(Math.abs(r.avgUs - Number(w.totalMilli) / 1000 / w.count) <= 0.0005 + 1e-9);
      }
      for (let i = 1; i < res.rows.length; i++) assert.ok(res.rows[i - 1]!.totalUs >= res.rows[i]!.totalUs);
      // an operator with several shapes is several rows: TransData runs on many shapes
      assert.ok(res.rows.filter((r) => r.op === 'TransData').length > 5);
    });
  }

  it('by name groups by kernel name instead of OP type', () => {
    const kd = readKernelDetails(profile('level1', 0));
    const res = shapeStatistic(kd, { by: 'name' });
    assert.ok(res.ok && res.by === 'name');
    assert.equal(res.rows.reduce((a, r) => a + r.count, 0), kd.rows.length);
    assert.ok(res.rows.some((r) => r.op === 'Conv2D1' && r.inputShapes === '32,1,224,224,8;121,4,16,8;64'));
  });

  it('Level 0: a clear message that shapes were not recorded and how to record them', () => {
    for (const rank of [0, 1]) {
      const kd = readKernelDetails(profile('level0', rank));
      const res = shapeStatistic(kd);
      assert.equal(res.ok, false);
      assert.ok(!res.ok);
      assert.equal(res.reason, 'shapes-not-recorded');
      assert.ok(res.message.includes(kd.file));
      assert.match(res.message, /shapes were not recorded/);
      assert.ok(res.message.includes('torch_npu.profiler._ExperimentalConfig(profiler_level=torch_npu.profiler.ProfilerLevel.Level1)'));
      assert.ok(res.message.includes('record_shapes=True'));
      assert.ok(res.message.includes(SHAPES_ADVICE));
    }
  });
});
