/**
 * torch_npu device slices in the collector (no `cat`; their process says what they are).
 * Oracle: small inline traces with the expected records written out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ascendProcessKind, ascendTaskKind, isCollectiveStepName } from '../../src/analysis/ascend-tasks.js';
import { Categorizer } from '../../src/analysis/categories.js';
import { StatsCollector, type TraceRecords } from '../../src/analysis/collect.js';
import { scanBuffer } from '../../src/io/read.js';

function collect(text: string, opts: { chunk?: number } = {}): { r: TraceRecords; cats: Categorizer } {
  const cats = new Categorizer();
  const c = new StatsCollector({ categorize: (n, k) => cats.categoryOf(n, k), communication: cats.communication });
  const data = Buffer.from(text);
  scanBuffer(data, c, 'inline', opts.chunk ?? data.length);
  return { r: c.result(), cats };
}

/** Device records as [name, category, pid text, start ns, dur ns], in record order. */
function device(r: TraceRecords, cats: Categorizer): [string, string, string, number, number][] {
  const d = r.device;
  return Array.from({ length: d.count }, (_, i) => [r.names[d.name[i]!]!, cats.names[d.category[i]!]!, r.pids[d.pid[i]!]!.raw, d.start[i]!, d.dur[i]!]);
}

test('task kinds: computing tasks, copies, stream synchronisation, collective steps', () => {
  for (const [type, name, kind] of [
    ['AI_CORE', 'aclnnMm_MatMulCommon_MatMulV2', 'compute'],
    ['MIX_AIV', 'ReduceSum7', 'compute'],
    ['DSA_SQE', 'aclnnDropoutGenMaskV2_DSAGenBitMask_DSAGenBitMask', 'compute'],
    ['', 'SomeKernel', 'compute'],
    ['PCIE_DMA_SQE', 'MEMCPY_ASYNC', 'memcpy'],
    ['SDMA_SQE', 'MEMCPY_ASYNC', 'memcpy'],
    ['EVENT_RECORD_SQE', 'EVENT_RECORD', 'sync'],
    ['EVENT_WAIT_SQE', 'EVENT_WAIT', 'sync'],
    ['PLACE_HOLDER_SQE', 'PROFILING_ENABLE', 'sync'],
    ['Notify Wait', 'Notify Wait', 'collective-step'],
    ['Write Value', 'Write Value', 'collective-step'],
    ['SDMA', 'SDMA', 'collective-step'],
  ] as const) assert.equal(ascendTaskKind(type, name), kind, `${type} ${name}`);
  assert.equal(ascendProcessKind('Ascend Hardware'), 'hardware');
  assert.equal(ascendProcessKind('[RANK03] Ascend Hardware'), 'hardware');
  assert.equal(ascendProcessKind('HCCL'), 'communication');
  assert.equal(ascendProcessKind('[RANK00] Communication'), 'communication');
  assert.equal(ascendProcessKind('CANN'), undefined);
  assert.equal(ascendProcessKind('Overlap Analysis'), undefined);
  for (const n of ['Notify_Wait', 'Notify_Record', 'Memcpy', 'Reduce_Inline']) assert.ok(isCollectiveStepName(n), n);
  assert.ok(!isCollectiveStepName('hcom_allReduce__586_0_1'));
});

/**
 * A trace_view.json in miniature: bare array, string ts (epoch µs), process names after the
 * slices, a collective with steps nested on planes (one ending 0.4 ns after the collective, as
 * the vendor's rounding does), and processes that are not devices.
 */
const NPU = (label = ''): string => `[
  {"name":"k1","pid":2080,"tid":2,"ts":"1736408883700000.000","dur":10.5,"args":{"Task Type":"AI_CORE"},"ph":"X"},
  {"name":"MEMCPY_ASYNC","pid":2080,"tid":2,"ts":"1736408883700020.000","dur":2,"args":{"Task Type":"PCIE_DMA_SQE"},"ph":"X"},
  {"name":"EVENT_WAIT","pid":2080,"tid":2,"ts":"1736408883700030.000","dur":50,"args":{"Task Type":"EVENT_WAIT_SQE"},"ph":"X"},
  {"name":"Notify Wait","pid":2080,"tid":4,"ts":"1736408883700101.000","dur":5,"args":{"Task Type":"Notify Wait"},"ph":"X"},
  {"name":"hcom_allReduce__1_0_1","pid":2144,"tid":0,"ts":"1736408883700100.000","dur":20,"args":{},"ph":"X"},
  {"name":"Notify_Wait","pid":2144,"tid":1,"ts":"1736408883700101.000","dur":5,"args":{},"ph":"X"},
  {"name":"Reduce_Inline","pid":2144,"tid":1,"ts":"1736408883700119.600","dur":0.4004,"args":{},"ph":"X"},
  {"name":"aclnnMm","pid":1888,"tid":5,"ts":"1736408883700000.000","dur":3,"args":{},"ph":"X"},
  {"name":"Computing","pid":2208,"tid":0,"ts":"1736408883700000.000","dur":10.5,"ph":"X"},
  {"ph":"M","name":"process_name","pid":2080,"tid":0,"args":{"name":"${label}Ascend Hardware"}},
  {"ph":"M","name":"process_name","pid":2144,"tid":0,"args":{"name":"${label}HCCL"}},
  {"ph":"M","name":"process_name","pid":1888,"tid":0,"args":{"name":"${label}CANN"}},
  {"ph":"M","name":"process_name","pid":2208,"tid":0,"args":{"name":"${label}Overlap Analysis"}}
]`;

test('torch_npu device slices: computing tasks and copies of Ascend Hardware, collectives of HCCL on the same device; the rest left out', () => {
  for (const label of ['', '[RANK00] ']) {
    for (const chunk of [undefined, 97]) {
      const { r, cats } = collect(NPU(label), chunk !== undefined ? { chunk } : {});
      assert.deepEqual(device(r, cats), [
        ['k1', 'other', '2080', 0, 10500],
        ['MEMCPY_ASYNC', 'memcpy', '2080', 20000, 2000],
        ['hcom_allReduce__1_0_1', 'communication', '2080', 100000, 20000],
      ], `${label} chunk ${chunk}`);
      assert.equal(r.ascendTasks, 3);
      // 2080 = (2 << 10) | (1 << 5) | 0: device 0
      assert.equal(r.pids.find((p) => p.raw === '2080')!.labels, label === '' ? 'NPU 0' : undefined);
    }
  }
  // without the HCCL process, the collective's steps on the device's streams are the communication
  const noHccl = NPU().split('\n').filter((l) => !l.includes('"pid":2144')).join('\n');
  const { r, cats } = collect(noHccl);
  assert.deepEqual(device(r, cats).map((x) => [x[0], x[1]]), [['k1', 'other'], ['MEMCPY_ASYNC', 'memcpy'], ['Notify Wait', 'communication']]);
});

test('Kineto traces: no torch_npu slices, and slices without cat stay out', () => {
  const { r } = collect('{"traceEvents":[{"ph":"X","name":"x","pid":1,"tid":1,"ts":1,"dur":2},{"ph":"X","cat":"kernel","name":"k","pid":0,"tid":7,"ts":1,"dur":2}]}');
  assert.equal(r.device.count, 1);
  assert.equal(r.ascendTasks, 0);
});
