/**
 * OutputFile: bytes come out exactly as written (plain or gzip), only at commit, through a temp
 * file that never survives; inputs are never overwritten unless allowed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { once } from 'node:events';
import { Writable } from 'node:stream';

import { OutputFile, isGzipName } from '../../src/io/writer.js';
import { TraceforgeError } from '../../src/errors.js';
import { withTempDir } from '../helpers.js';

const isCode = (code: string) => (e: unknown): boolean => {
  assert.ok(e instanceof TraceforgeError, `expected a TraceforgeError, got ${String(e)}`);
  assert.equal(e.code, code);
  return true;
};

/** A deterministic mix of pieces: tiny and huge, strings (with multi-byte chars) and buffers. */
function pieces(seed: number, count: number): (string | Buffer)[] {
  let x = seed >>> 0;
  const rnd = (n: number): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x % n;
  };
  const sizes = [0, 1, 3, 100, 4096, 349_525, 349_526, 524_288, 524_289, 1_048_576, 1_500_000];
  const out: (string | Buffer)[] = [];
  for (let i = 0; i < count; i++) {
    const n = sizes[rnd(sizes.length)]!;
    if (rnd(2) === 0) {
      const unit = ['a', 'é', '€', '😀', '{"ts": 1.250}'][rnd(5)]!;
      out.push(unit.repeat(Math.ceil(n / unit.length)).slice(0, n));
    } else {
      const b = Buffer.alloc(n);
      for (let j = 0; j < n; j += 997) b[j] = rnd(256);
      out.push(b);
    }
  }
  return out;
}

const concat = (ps: (string | Buffer)[]): Buffer => Buffer.concat(ps.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));

describe('OutputFile', () => {
  it('isGzipName goes by the .gz suffix only', () => {
    assert.equal(isGzipName('a.json.gz'), true);
    assert.equal(isGzipName('A.JSON.GZ'), true);
    assert.equal(isGzipName('a.json'), false);
    assert.equal(isGzipName('a.gz.json'), false);
  });

  for (const gz of [false, true]) {
    it(`${gz ? 'gzip' : 'plain'}: the file holds exactly the bytes written, in order, after commit`, async () => {
      await withTempDir('writer', async (dir) => {
        const target = path.join(dir, gz ? 'out.json.gz' : 'out.json');
        const ps = pieces(gz ? 7 : 3, 40);
        const expected = concat(ps);
        const out = await OutputFile.open(target, { gzipLevel: 1 });
        for (const p of ps) {
          out.write(p);
          await out.ready();
        }
        assert.equal(out.bytesWritten, expected.length);
        assert.equal(existsSync(target), false, 'the target exists before commit');
        const size = await out.commit();
        const raw = readFileSync(target);
        assert.equal(size, raw.length);
        const got = gz ? gunzipSync(raw) : raw;
        if (gz) assert.deepEqual([raw[0], raw[1]], [0x1f, 0x8b]);
        assert.equal(got.length, expected.length);
        assert.ok(got.equals(expected), 'content differs');
        assert.deepEqual(readdirSync(dir), [path.basename(target)], 'a temp file was left behind');
      });
    });
  }

  it('writeRange, claim and writeInteger: runs of every length (byte loop, 4-byte moves, copy) from sources taken in turn, at odd offsets, across stage flushes', async () => {
    await withTempDir('writer', async (dir) => {
      const target = path.join(dir, 'runs.json');
      let x = 12345;
      const rnd = (n: number): number => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x % n; };
      // three sources, one a view at an odd offset into a larger buffer
      const big = Buffer.alloc(70_001);
      for (let i = 0; i < big.length; i++) big[i] = rnd(256);
      const sources = [big.subarray(3, 40_003), Buffer.from(big.subarray(100, 5_100)), Buffer.from('pid 4242', 'latin1')];
      const expected: Buffer[] = [];
      const out = await OutputFile.open(target, { stageBytes: 4096 });
      for (let k = 0; k < 20_000; k++) {
        const what = rnd(10);
        if (what === 0) {
          const v = rnd(2 ** 31) - 2 ** 30;
          out.writeInteger(v);
          expected.push(Buffer.from(String(v), 'latin1'));
          continue;
        }
        if (what === 1) {
          const n = rnd(20);
          const buf = out.claim(n);
          const at = out.claimAt;
          for (let i = 0; i < n; i++) buf[at + i] = 0x41 + (i % 26);
          out.advance(n);
          expected.push(Buffer.from(Array.from({ length: n }, (_, i) => 0x41 + (i % 26))));
          continue;
        }
        const src = sources[rnd(sources.length)]!;
        const len = rnd(10) === 0 ? rnd(3000) : rnd(200); // around the 16 / 128-byte switches and past them
        const from = rnd(Math.max(1, src.length - len));
        const to = Math.min(src.length, from + len);
        out.writeRange(src, from, to);
        expected.push(src.subarray(from, to));
      }
      await out.commit();
      assert.ok(readFileSync(target).equals(Buffer.concat(expected)), 'content differs');
    });
  });

  it('gzipLevel is honoured (level 0 stores, level 9 compresses)', async () => {
    await withTempDir('writer', async (dir) => {
      const data = '{"ph": "X", "ts": 1.000, "dur": 2.000},\n'.repeat(20000);
      const sizes: number[] = [];
      for (const level of [0, 9]) {
        const out = await OutputFile.open(path.join(dir, `l${level}.json.gz`), { gzipLevel: level });
        out.write(data);
        sizes.push(await out.commit());
        assert.equal(gunzipSync(readFileSync(path.join(dir, `l${level}.json.gz`))).toString(), data);
      }
      assert.ok(sizes[0]! > data.length && sizes[1]! < data.length / 20, `sizes ${sizes.join(', ')}`);
    });
  });

  it('an existing target keeps its content until commit; abort leaves it and no temp file', async () => {
    await withTempDir('writer', async (dir) => {
      const target = path.join(dir, 'keep.json');
      writeFileSync(target, 'old');
      const a = await OutputFile.open(target);
      a.write('x'.repeat(3_000_000));
      await a.ready();
      assert.equal(readFileSync(target, 'utf8'), 'old');
      await a.abort();
      await a.abort(); // twice is fine
      assert.equal(readFileSync(target, 'utf8'), 'old');
      assert.deepEqual(readdirSync(dir), ['keep.json']);
      const b = await OutputFile.open(target);
      b.write('new');
      await b.commit();
      assert.equal(readFileSync(target, 'utf8'), 'new');
      assert.deepEqual(readdirSync(dir), ['keep.json']);
    });
  });

  it('abort before any commit leaves nothing at all (gzip)', async () => {
    await withTempDir('writer', async (dir) => {
      const out = await OutputFile.open(path.join(dir, 'x.json.gz'));
      out.write(Buffer.alloc(2_000_000, 0x61));
      await out.abort();
      assert.deepEqual(readdirSync(dir), []);
    });
  });

  it('refuses to overwrite an input, however it is spelled, unless inPlace', async () => {
    await withTempDir('writer', async (dir) => {
      const input = path.join(dir, 'in.json');
      writeFileSync(input, 'input');
      symlinkSync(input, path.join(dir, 'link.json'));
      const spellings = [input, path.join(dir, '.', 'in.json'), path.join(dir, 'sub', '..', 'in.json'), path.join(dir, 'link.json'), path.relative(process.cwd(), input)];
      for (const p of spellings) {
        await assert.rejects(OutputFile.open(p, { inputs: [input] }), isCode('E_OUTPUT'), p);
      }
      // the other way round: the input named through the link
      await assert.rejects(OutputFile.open(input, { inputs: [path.join(dir, 'link.json')] }), isCode('E_OUTPUT'));
      assert.equal(readFileSync(input, 'utf8'), 'input');
      assert.deepEqual(readdirSync(dir).sort(), ['in.json', 'link.json']);
      const out = await OutputFile.open(input, { inputs: [input], inPlace: true });
      out.write('replaced');
      await out.commit();
      assert.equal(readFileSync(input, 'utf8'), 'replaced');
    });
  });

  it('a missing output directory, or a file in its place, is E_OUTPUT', async () => {
    await withTempDir('writer', async (dir) => {
      await assert.rejects(OutputFile.open(path.join(dir, 'nope', 'x.json')), isCode('E_OUTPUT'));
      writeFileSync(path.join(dir, 'file'), '');
      await assert.rejects(OutputFile.open(path.join(dir, 'file', 'x.json')), isCode('E_OUTPUT'));
      assert.deepEqual(readdirSync(dir), ['file']);
    });
  });
});

describe('OutputFile.ready after the output drained on its own', () => {
  it('returns instead of waiting for a drain that already came (merge hung on this once in ~40 runs)', async () => {
    const written: Buffer[] = [];
    // a sink that takes one byte before it asks the writer to wait, and finishes each write on the next tick
    const head = new Writable({ highWaterMark: 1, write(chunk: Buffer, _enc, cb) { written.push(chunk); setImmediate(cb); } });
    const Ctor = OutputFile as unknown as new (path: string, tmp: string | undefined, head: NodeJS.WritableStream, file: NodeJS.WritableStream, stageBytes?: number) => OutputFile;
    const out = new Ctor('<test>', undefined, head, head, 1 << 12);
    out.write(Buffer.alloc(5000, 0x61)); // more than the stage: pushed at once, the sink is full
    await once(head, 'drain'); // ... and empties before anyone asks
    assert.equal(head.writableNeedDrain, false);
    // with the drain already past, ready() must not wait for another one: the event loop has
    // nothing left that could emit it, so a wait here ends the test with its promise pending
    await out.ready();
    assert.equal(Buffer.concat(written).length, 5000);
  });
});
