/**
 * The two ways merge's pass 2 writes a rank — splicing the bytes with the spans pass 1 logged
 * (no filters) and rewriting event by event (any filter) — give the same events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { mergeTraces } from '../../src/pipeline/merge.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function events(file: string): Map<string, number> {
  const doc = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { traceEvents: unknown[] };
  const m = new Map<string, number>();
  for (const e of doc.traceEvents) {
    const k = JSON.stringify(e, Object.keys(e as object).sort());
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

test('merge: spliced and rewritten ranks are the same events (tp2, 2 ranks)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tf-splice-'));
  try {
    const src = path.join(root, 'test/fixtures/real/h200/tp2');
    const ranks = path.join(dir, 'ranks');
    mkdirSync(ranks);
    for (const f of readdirSync(src)) copyFileSync(path.join(src, f), path.join(ranks, f));
    const spliced = await mergeTraces({ inputs: [ranks], output: path.join(dir, 'out-splice.json.gz') });
    // an exclude pattern that matches nothing forces the event-by-event path, keeping everything
    const rewritten = await mergeTraces({ inputs: [ranks], output: path.join(dir, 'out-rewrite.json.gz'), exclude: '^matches-no-event$' });
    assert.equal(spliced.results[0]!.filtered, 0);
    assert.equal(rewritten.results[0]!.filtered, 0);
    const a = events(spliced.results[0]!.output);
    const b = events(rewritten.results[0]!.output);
    assert.equal([...a.values()].reduce((x, y) => x + y, 0), [...b.values()].reduce((x, y) => x + y, 0));
    for (const [k, n] of a) assert.equal(b.get(k), n, `event only in the spliced output: ${k.slice(0, 200)}`);
    // the scratch directory (patch logs, segments) is gone
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.traceforge-merge-')), []);
    assert.deepEqual(readdirSync(ranks).filter((f) => f.startsWith('.traceforge-merge-')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('offsetIdAt: the number offsetId writes, read from the bytes; NaN where offsetId writes text', async () => {
  const { offsetIdAt } = await import('../../src/pipeline/merge-segment.js');
  const { offsetId } = await import('../../src/transforms/merge-rewrite.js');
  const offsets = [10_000_000_000n, 30_000_000_000n, 9_007_199_254_740_000n];
  const raws = ['0', '-0', '7', '007', '-5', '123456789012345', '999999999999999', '-99999999999999', '1234567890123456', '"abc"', '1.5', '1e3', '', '-', '12a'];
  let numeric = 0;
  for (const o of offsets) {
    for (const raw of raws) {
      const b = Buffer.from(`xx${raw}yy`);
      const v = offsetIdAt(b, 2, 2 + raw.length, Number(o));
      const text = raw === '' ? '' : offsetId(raw, o, 1);
      if (v === v) {
        numeric++;
        assert.equal(String(v), text, `${raw} + ${o}`);
      } else {
        // offsetId keeps the text, prefixes a string id, or takes BigInt past 2^53
        assert.ok(raw === '' || !/^-?\d{1,15}$/.test(raw) || !Number.isSafeInteger(Number(raw) + Number(o)), `${raw} + ${o}`);
      }
    }
  }
  assert.ok(numeric >= 16);
});
