/** Renderers: tables fit the width, CSV round-trips the raw values, Markdown tables are well formed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { statsOf } from '../../src/pipeline/stats.js';
import { sectionsOf } from '../../src/report/sections.js';
import { renderTables } from '../../src/report/table.js';
import { renderCsv, renderCsvSection } from '../../src/report/csv.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { jsonOf } from '../../src/report/json.js';
import { duration, percent, shape } from '../../src/report/format.js';
import type { StatsResult } from '../../src/analysis/result.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TP2 = path.join(ROOT, 'test', 'fixtures', 'real', 'h200', 'tp2');

let all: Promise<StatsResult> | undefined;
const everything = (): Promise<StatsResult> => (all ??= statsOf([TP2], { views: ['summary', 'kernel', 'category', 'op', 'rank', 'step'], step: 'decode_step_\\d+' }));

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
    field += c; i++;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

for (const width of [60, 80, 100, 132]) {
  test(`every table line fits ${width} columns`, async () => {
    const text = renderTables(sectionsOf(await everything(), { top: 20 }), width);
    for (const line of text.split('\n')) assert.ok([...line].length <= width, `${[...line].length} > ${width}: ${line}`);
    assert.match(text, /Summary per rank/);
    assert.match(text, /Kernels across ranks/);
  });
}

test('a wide terminal shows every column and readable kernel names; a narrow one says what it left out', async () => {
  const r = await everything();
  const wide = renderTables(sectionsOf(r, { top: 20 }), 250);
  assert.doesNotMatch(wide, /left out to fit/);
  assert.match(wide, /elementwise_kernel<…silu_kernel…>/);
  assert.doesNotMatch(wide, /void at::native/);
  const narrow = renderTables(sectionsOf(r, { top: 20 }), 80);
  assert.match(narrow, /left out to fit 80 columns/);
});

test('CSV: full kernel names and raw µs values, equal to the JSON result', async () => {
  const r = await everything();
  const kernels = sectionsOf(r).find((s) => s.name === 'kernels')!;
  const rows = parseCsv(renderCsvSection(kernels));
  assert.deepEqual(rows[0], ['name', 'category', 'calls', 'totalUs', 'meanUs', 'medianUs', 'minUs', 'maxUs', 'share']);
  assert.equal(rows.length - 1, r.kernels!.length, 'no --top: every kernel');
  rows.slice(1).forEach((row, i) => {
    const k = r.kernels![i]!;
    assert.equal(row[0], k.name);
    assert.equal(Number(row[3]), k.totalUs);
    assert.equal(Number(row[2]), k.calls);
  });
  assert.ok(rows.some((row) => row[0]!.startsWith('void at::native::elementwise_kernel<128, 4,')), 'a full C++ name with commas survives');
  // several views: blocks with a # name line
  const multi = renderCsv(sectionsOf(r));
  assert.match(multi, /^# summary\r\n/);
  assert.match(multi, /\r\n# kernels\r\nname,category,/);
});

test('Markdown: every table row has as many cells as its header', async () => {
  const md = renderMarkdown(sectionsOf(await everything(), { top: 10 }));
  const lines = md.split('\n');
  const cells = (l: string): number => l.replace(/\\\|/g, '').split('|').length - 2;
  let header = -1;
  for (const l of lines) {
    if (!l.startsWith('|')) { header = -1; continue; }
    if (header < 0) header = cells(l);
    else assert.equal(cells(l), header, l);
  }
  assert.match(md, /^### Summary per rank/m);
});

test('JSON: one key per view, camelCase, µs', async () => {
  const j = jsonOf(await everything());
  for (const k of ['summary', 'kernels', 'categories', 'ops', 'ranks', 'steps']) assert.ok(k in j, k);
  const k0 = (j['kernels'] as Record<string, unknown>[])[0]!;
  assert.deepEqual(Object.keys(k0), ['name', 'category', 'calls', 'totalUs', 'meanUs', 'medianUs', 'minUs', 'maxUs', 'share']);
  const only = jsonOf({ ...(await everything()), views: ['kernel'] }, { top: 3 });
  assert.deepEqual(Object.keys(only).filter((k) => k !== 'inputs' && k !== 'notes'), ['kernels']);
  assert.equal((only['kernels'] as unknown[]).length, 3);
});

test('number formatting', () => {
  assert.equal(duration(0.812), '812\u00a0ns');
  assert.equal(duration(12.44), '12.4\u00a0µs');
  assert.equal(duration(3210), '3.210\u00a0ms');
  assert.equal(duration(1234567), '1.235\u00a0s');
  assert.equal(duration(null), '-');
  assert.equal(percent(0.4523), '45.2%');
  assert.equal(percent(0.00001), '<0.1%');
  assert.equal(shape([[2048, 2048], [2048, 2048]]), '[[2048, 2048], [2048, 2048]]');
});
