/** crc32Combine against zlib's crc32 of the concatenation; segments spliced into one gzip member. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, gunzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32Combine } from '../../src/io/crc.js';
import { OutputFile } from '../../src/io/writer.js';

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; b[i] = x >>> 24; }
  return b;
}

test('crc32Combine(crc(A), crc(B), |B|) == crc(A+B) for many sizes', () => {
  for (const [na, nb] of [[0, 0], [0, 5], [5, 0], [1, 1], [7, 13], [1000, 1], [65536, 100000], [3, 1 << 20]] as const) {
    const a = bytes(na, na + 1);
    const b = bytes(nb, nb + 7);
    assert.equal(crc32Combine(crc32(a), crc32(b), nb), crc32(Buffer.concat([a, b])) >>> 0, `${na}+${nb}`);
  }
});

for (const gz of [true, false]) {
  test(`segments spliced into one ${gz ? 'gzip member' : 'plain file'} hold exactly the bytes written, in order`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tf-seg-'));
    try {
      const ext = gz ? '.json.gz' : '.json';
      const parts = [bytes(3 << 20, 1), bytes(10, 2), bytes((1 << 20) + 17, 3)];
      const segs = [];
      for (const [i, p] of parts.entries()) {
        const s = await OutputFile.open(path.join(dir, `seg${i}${ext}`), { segment: true });
        s.write(p);
        await s.commit();
        segs.push(s.segmentInfo());
      }
      const out = await OutputFile.open(path.join(dir, `out${ext}`));
      out.write('head');
      await out.appendSegment(segs[0]!);
      out.write('mid');
      await out.appendSegment(segs[1]!);
      await out.appendSegment(segs[2]!);
      out.write('tail');
      await out.commit();
      const raw = readFileSync(path.join(dir, `out${ext}`));
      const got = gz ? gunzipSync(raw) : raw; // gunzip checks the CRC and length in the trailer
      const want = Buffer.concat([Buffer.from('head'), parts[0]!, Buffer.from('mid'), parts[1]!, parts[2]!, Buffer.from('tail')]);
      assert.ok(got.equals(want));
      if (gz) assert.equal(raw.readUInt32LE(raw.length - 8), crc32(want) >>> 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
