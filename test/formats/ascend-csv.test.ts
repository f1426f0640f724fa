/**
 * The torch_npu CSV reader against the vendor's real files and edge fixtures. The oracle is a
 * separate, regex-based RFC 4180 tokenizer written here (a different algorithm from the
 * resumable state machine in src/), plus values read off the raw file text by hand.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CsvReader, csvNumber, parseCsv, parseShapes, readCsv, readKernelDetails, readOpStatistic, readStepTraceTime, streamCsv, unwrapShape,
} from '../../src/formats/ascend-csv.js';
import { TraceforgeError } from '../../src/errors.js';
import { edgeFixture, realFixture } from '../helpers.js';

const ASCEND = realFixture('ascend');
const out = (level: string, rank: number): string => path.join(ASCEND, level, `rank${rank}_ascend_pt`, 'ASCEND_PROFILER_OUTPUT');
const ALL_OUTPUTS = ['level0', 'level1'].flatMap((l) => [0, 1].map((r) => out(l, r)));

/**
 * Oracle: one sticky regex per field — a quoted field ("" is a quote) or unquoted text — then
 * the delimiter. Unquoted text loses trailing TABs (the vendor's quirk, documented in src/).
 */
function oracleCsv(text: string): string[][] {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const re = /(?:"((?:[^"]|"")*)"|([^,\r\n"]*))(,|\r\n|\n|\r|$)/y;
  const rows: string[][] = [];
  let row: string[] = [];
  let pos = 0;
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) throw new Error(`oracle: cannot tokenize at ${pos}: ${JSON.stringify(t.slice(pos, pos + 30))}`);
    row.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!.replace(/\t+$/, ''));
    pos = re.lastIndex;
    if (m[3] !== ',') {
      if (!(row.length === 1 && row[0] === '')) rows.push(row);
      row = [];
      if (m[3] === '') break;
    }
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

function allRows(table: { header: string[]; rows: string[][] }): string[][] {
  return [table.header, ...table.rows];
}

describe('CSV reader: real torch_npu files', () => {
  it('every CSV of the four profiles reads the same as the oracle tokenizer', () => {
    let files = 0;
    for (const dir of ALL_OUTPUTS) {
      for (const name of ['kernel_details.csv', 'operator_details.csv', 'step_trace_time.csv', 'op_statistic.csv', 'api_statistic.csv', 'operator_memory.csv', 'memory_record.csv', 'l2_cache.csv', 'npu_module_mem.csv']) {
        let text: string;
        try { text = readFileSync(path.join(dir, name), 'utf8'); } catch { continue; }
        const t = readCsv(path.join(dir, name));
        assert.deepEqual(allRows(t), oracleCsv(text), `${dir}/${name}`);
        files++;
      }
    }
    assert.ok(files >= 30, `only ${files} files read`);
  });

  it('operator_details.csv: multi-line quoted Call Stack / Input Shapes fields stay one field; every row has the header width', () => {
    for (const dir of ALL_OUTPUTS) {
      const t = readCsv(path.join(dir, 'operator_details.csv'));
      assert.equal(t.header[2], 'Call Stack');
      for (const r of t.rows) assert.equal(r.length, t.header.length);
      const multi = t.rows.filter((r) => r[2]!.includes('\n'));
      assert.ok(multi.length > 100, `${dir}: ${multi.length} multi-line call stacks`);
      // aten::empty's Input Shapes is five empty shapes, one per line, inside the quotes
      const empty = t.rows.find((r) => r[0] === 'aten::empty')!;
      assert.equal(empty[1], ';\n;\n;\n;\n;\n');
      // lines: a row's line is the line it starts on; the next row starts after its last line
      for (let i = 1; i < t.rows.length; i++) {
        const prev = t.rows[i - 1]!;
        const newlines = prev.join(',').split('\n').length - 1;
        assert.equal(t.lines[i], t.lines[i - 1]! + newlines + 1, `row ${i} line`);
      }
    }
  });

  it('the resumable reader gives the same rows whatever the chunk size (1, 2, 3, 7, 64 characters, and 5-byte stream chunks)', async () => {
    const file = path.join(out('level1', 0), 'operator_details.csv');
    const text = readFileSync(file, 'utf8');
    const want = allRows(readCsv(file));
    for (const size of [1, 2, 3, 7, 64]) {
      const got: string[][] = [];
      const r = new CsvReader((f) => got.push(f));
      for (let i = 0; i < text.length; i += size) r.push(text.slice(i, i + size));
      r.end();
      assert.deepEqual(got, want, `chunk size ${size}`);
    }
    const streamed: string[][] = [];
    await streamCsv(file, (f) => streamed.push(f), { chunkSize: 5 });
    assert.deepEqual(streamed, want);
  });

  it('kernel_details.csv Level 1: columns by name, Start Time without the TAB, shapes without the literal quotes', () => {
    const kd = readKernelDetails(path.join(ASCEND, 'level1', 'rank0_ascend_pt'));
    assert.equal(kd.hasShapes, true);
    assert.equal(kd.hasTypes, true);
    const raw = readFileSync(kd.file, 'utf8').split('\r\n').filter((l) => l !== '');
    assert.equal(kd.rows.length, raw.length - 1);
    // line 3 of the file: Conv2D1 (read off the raw text)
    const conv = kd.rows.find((r) => r.name === 'Conv2D1')!;
    assert.deepEqual(
      { line: conv.line, stepId: conv.stepId, type: conv.type, core: conv.acceleratorCore, start: conv.startUsText, dur: conv.durationUs, wait: conv.waitUs, blockDim: conv.blockDim, task: conv.taskId, stream: conv.streamId, shapes: conv.inputShapes, dtypes: conv.inputDataTypes, formats: conv.inputFormats, outShapes: conv.outputShapes, deviceId: conv.deviceId },
      { line: 4, stepId: 50, type: 'Conv2D', core: 'AI_CORE', start: '1736408883704903.918', dur: 313.886, wait: 96.222, blockDim: 16, task: 11053, stream: 2, shapes: '32,1,224,224,8;121,4,16,8;64', dtypes: 'FLOAT;FLOAT;FLOAT', formats: 'NC1HWC0;FRACTAL_Z;NCHW', outShapes: '32,8,55,55,8', deviceId: null },
    );
    assert.ok(raw[3]!.includes('1736408883704903.918\t,313.886'), 'the raw line has the vendor TAB');
    // every start text is the raw text minus the TAB, exactly
    for (const r of kd.rows) {
      assert.match(r.startUsText, /^\d{16}\.\d{3}$/);
      assert.ok(raw[r.line - 1]!.includes(`,${r.startUsText}\t,${r.durationUsText},`), `line ${r.line}`);
    }
    // N/A shapes of communication / MemSet rows stay N/A
    const hccl = kd.rows.filter((r) => r.acceleratorCore === 'HCCL');
    assert.equal(hccl.length, 4);
    for (const r of hccl) { assert.equal(r.inputShapes, 'N/A'); assert.equal(r.type, 'hcom_allReduce_'); }
  });

  it('kernel_details.csv Level 0: no shape columns (hasShapes false), Type N/A; Accelerator Core N/A except HCCL for the 4 all-reduces', () => {
    for (const r of [0, 1]) {
      const kd = readKernelDetails(out('level0', r));
      assert.equal(kd.hasShapes, false);
      assert.equal(kd.hasTypes, false);
      assert.deepEqual(kd.header, ['Step Id', 'Name', 'Type', 'Accelerator Core', 'Start Time(us)', 'Duration(us)', 'Wait Time(us)', 'Block Dim']);
      for (const k of kd.rows) {
        assert.equal(k.inputShapes, undefined);
        assert.equal(k.type, 'N/A');
        assert.equal(k.acceleratorCore, k.name.startsWith('hcom_allReduce_') ? 'HCCL' : 'N/A', k.name);
      }
      assert.equal(kd.rows.filter((k) => k.acceleratorCore === 'HCCL').length, 4);
      assert.equal(kd.rows.length, 191);
    }
  });

  it('a profile directory, its ASCEND_PROFILER_OUTPUT, trace_view.json in it and the CSV itself all find the same file', () => {
    const root = path.join(ASCEND, 'level1', 'rank1_ascend_pt');
    const a = readKernelDetails(root);
    for (const p of [path.join(root, 'ASCEND_PROFILER_OUTPUT'), path.join(root, 'ASCEND_PROFILER_OUTPUT', 'trace_view.json'), path.join(root, 'ASCEND_PROFILER_OUTPUT', 'kernel_details.csv')]) {
      const b = readKernelDetails(p);
      assert.equal(b.file, a.file);
      assert.equal(b.rows.length, a.rows.length);
    }
  });

  it('op_statistic.csv (LF line ends) and step_trace_time.csv (CRLF) of level1', () => {
    const ops = readOpStatistic(path.join(ASCEND, 'level1', 'rank0_ascend_pt'));
    assert.equal(ops.length, 33);
    assert.deepEqual(ops[0], { deviceId: null, opType: 'ForeachAddList', coreType: 'AI_VECTOR_CORE', count: 3, totalUs: 1959.079, minUs: 624.152, avgUs: 653.026, maxUs: 706.614, ratioPct: 22.077 });
    assert.deepEqual(ops.at(-1), { deviceId: null, opType: 'Fill', coreType: 'AI_VECTOR_CORE', count: 1, totalUs: 1.44, minUs: 1.44, avgUs: 1.44, maxUs: 1.44, ratioPct: 0.016 });
    const steps = readStepTraceTime(path.join(ASCEND, 'level1', 'rank0_ascend_pt'));
    assert.equal(steps.length, 1);
    assert.equal(steps[0]!.step, '50');
    assert.equal(steps[0]!.values['Computing'], 8873.756000000001);
    assert.equal(steps[0]!.values['Bubble'], 0);
  });

  it('Level 0 has no op_statistic.csv: E_NOT_FOUND saying it is written at Level1', () => {
    assert.throws(() => readOpStatistic(path.join(ASCEND, 'level0', 'rank0_ascend_pt')), (e: unknown) => {
      assert.ok(e instanceof TraceforgeError);
      assert.equal(e.code, 'E_NOT_FOUND');
      assert.match(e.message, /op_statistic\.csv/);
      assert.match(e.message, /Level1/);
      return true;
    });
  });
});

describe('CSV reader: edge fixtures', () => {
  it('ascend-kernel-details-device-id.csv: leading Device_id, """shapes""" joined by ;, N/A, an escaped-quote name, an empty shape, a blank last line', () => {
    const kd = readKernelDetails(edgeFixture('ascend-kernel-details-device-id.csv'));
    assert.equal(kd.header[0], 'Device_id');
    assert.equal(kd.rows.length, 3);
    const [conv, memset, mul] = kd.rows as [typeof kd.rows[0], typeof kd.rows[0], typeof kd.rows[0]];
    assert.equal(conv.deviceId, 3);
    assert.equal(conv.stepId, 7);
    assert.equal(conv.startUsText, '1736408883704903.918');
    assert.equal(conv.inputShapes, '32,1,224,224,8;121,4,16,8;64');
    assert.deepEqual(parseShapes(conv.inputShapes!), [[32, 1, 224, 224, 8], [121, 4, 16, 8], [64]]);
    assert.equal(memset.waitUs, null);
    assert.equal(memset.blockDim, null);
    assert.equal(memset.inputShapes, 'N/A');
    assert.equal(parseShapes(memset.inputShapes!), null);
    assert.equal(mul.name, 'odd "name", quoted');
    assert.equal(mul.inputShapes, '');
    assert.deepEqual(parseShapes(mul.inputShapes!), [[]]);
    assert.deepEqual(mul.line, 4);
  });

  it('ascend-operator-details-multiline.csv: CRLF inside quotes, "" inside a multi-line field, empty fields', () => {
    const t = readCsv(edgeFixture('ascend-operator-details-multiline.csv'));
    assert.deepEqual(t.rows, [
      ['aten::empty', ';\r\n;\r\n', 'a/b.py(1): f;\r\nc.py(2): g', '12.5'],
      ['quote " inside\nand a newline', '', 'x', '1'],
    ]);
    assert.deepEqual(t.lines, [2, 6]);
  });

  it('ascend-level0-bom-no-final-newline: BOM, LF, no newline after the last row', () => {
    const kd = readKernelDetails(edgeFixture('ascend-level0-bom-no-final-newline'));
    assert.equal(kd.header[0], 'Step Id');
    assert.equal(kd.hasShapes, false);
    assert.deepEqual(kd.rows.map((r) => [r.name, r.startUsText, r.durationUs, r.waitUs]), [
      ['trans_TransData_0', '1736405443881410.320', 50.621, 0],
      ['trans_TransData_1', '1736405443881566.663', 6.28, 105.722],
    ]);
  });

  it('ascend-unterminated-quote.csv: E_PARSE naming the file and the line the open quote starts on', () => {
    const f = edgeFixture('ascend-unterminated-quote.csv');
    assert.throws(() => readCsv(f), (e: unknown) => {
      assert.ok(e instanceof TraceforgeError);
      assert.equal(e.code, 'E_PARSE');
      assert.ok(e.message.includes(f), e.message);
      assert.match(e.message, /line 3/);
      return true;
    });
  });

  it('small cases: CR-only line ends, a CR/LF pair split across chunks, a quote at a chunk end, text after a closing quote', () => {
    assert.deepEqual(parseCsv('a,b\r1,2\r').rows, [['1', '2']]);
    const rows: string[][] = [];
    const r = new CsvReader((f) => rows.push(f));
    for (const c of ['h\r', '\n"x"', '"y",', 'z\t\t\r', '\n', '"q"\t,2']) r.push(c);
    r.end();
    assert.deepEqual(rows, [['h'], ['x"y', 'z'], ['q', '2']]);
    assert.deepEqual(parseCsv('a\n"1"2\n').rows, [['12']]);
    assert.deepEqual(parseCsv('a,b\n1,\n').rows, [['1', '']]);
    assert.deepEqual(parseCsv('').header, []);
  });

  it('numbers and shapes', () => {
    assert.equal(csvNumber('N/A'), null);
    assert.equal(csvNumber(''), null);
    assert.equal(csvNumber(' 1.5\t'), 1.5);
    assert.equal(csvNumber('abc'), null);
    assert.equal(unwrapShape('"1,2"'), '1,2');
    assert.equal(unwrapShape('1,2'), '1,2');
    assert.deepEqual(parseShapes('"4096,9216;4096;"'), [[4096, 9216], [4096], []]);
    assert.equal(parseShapes('1,x'), null);
  });

  it('a directory without kernel_details.csv: E_NOT_FOUND naming the directory', () => {
    assert.throws(() => readKernelDetails(realFixture('h200')), (e: unknown) => e instanceof TraceforgeError && e.code === 'E_NOT_FOUND' && /kernel_details\.csv/.test(e.message));
  });
});
