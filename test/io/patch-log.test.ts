/** The patch log merge's pass 1 writes and pass 2 reads: every record back, in order, across blocks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { PATCH_ARG_ID, PATCH_PID, PatchLogReader, PatchLogWriter } from '../../src/io/patch-log.js';

test('patch log: 200k records round-trip (offsets past 2^32, lengths clamped to 16 bits, aux up to 2^32-1)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tf-patchlog-'));
  try {
    const file = path.join(dir, 'rank.patches');
    const n = 200_000; // ~3 MB: several 1 MB blocks, records cut by block ends
    const rec = (i: number): [number, number, number, number] => [i * 40_000 + 3, i % 7 === 0 ? 70_000 + i : i % 300, i % 2 ? PATCH_PID : PATCH_ARG_ID, (i * 2_654_435_761) % 2 ** 32];
    const w = new PatchLogWriter(file);
    for (let i = 0; i < n; i++) w.add(...rec(i));
    w.close();
    assert.equal(w.count, n);
    const r = new PatchLogReader(file);
    for (let i = 0; i < n; i++) {
      assert.equal(r.next(), true);
      const [at, len, kind, aux] = rec(i);
      assert.deepEqual([r.at, r.len, r.kind, r.aux], [at, Math.min(len, 0xffff), kind, aux], `record ${i}`);
    }
    assert.equal(r.next(), false);
    assert.equal(r.at, Infinity);
    r.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
