/**
 * Bad input through the real command line: exit status 2, one line on stderr naming the file
 * and the byte offset, and nothing left behind in the output directory.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { PDL_EAGER, crossingsByTrack, loadTrace, makeTempDir, readDecompressed, runCli, slicesOf, sum } from '../helpers.js';

let tmp: string;
before(async () => { tmp = await makeTempDir('cli-errors'); });
after(async () => { await rm(tmp, { recursive: true, force: true }); });

let n = 0;
/** A fresh, empty output directory per case. */
function freshOutDir(): string {
  const d = path.join(tmp, `out-${n++}`);
  mkdirSync(d);
  return d;
}

function writeInput(name: string, data: Buffer | string): string {
  const d = path.join(tmp, 'in');
  mkdirSync(d, { recursive: true });
  const p = path.join(d, name);
  writeFileSync(p, data);
  return p;
}

interface Failure { line: string; offset: number | undefined }

/** Runs `fix <input> -o <fresh dir>/out.json.gz`; asserts the user-error contract. */
function fixFails(input: string): Failure {
  const outDir = freshOutDir();
  const r = runCli(['fix', input, '-o', path.join(outDir, 'out.json.gz')]);
  assert.equal(r.status, 2, `exit status (stderr: ${r.stderr})`);
  assert.ok(r.stderr.endsWith('\n'), 'stderr ends with a newline');
  const lines = r.stderr.slice(0, -1).split('\n');
  assert.equal(lines.length, 1, `stderr is not one line: ${JSON.stringify(r.stderr)}`);
  const line = lines[0]!;
  assert.ok(line.startsWith('traceforge: '), line);
  assert.ok(line.includes(input), `the message does not name the file: ${line}`);
  assert.doesNotMatch(line, /\n|\bat .*\.js:\d+/, 'no stack trace');
  assert.deepEqual(readdirSync(outDir), [], 'output (or temp) file left behind');
  const m = /\bbyte (\d+)/.exec(line);
  return { line, offset: m ? Number(m[1]) : undefined };
}

const events = (body: string): string => `{"schemaVersion": 1, "traceEvents": [\n${body}\n]}\n`;
const X = '{"ph": "X", "name": "k", "pid": 0, "tid": 7, "ts": 10.5, "dur": 2.25}';

describe('fix: bad inputs exit 2 with one line naming the file and the byte', () => {
  it('empty file: says it is empty', () => {
    const f = fixFails(writeInput('empty.json', ''));
    assert.match(f.line, /empty/);
  });

  it('not JSON at all: byte 0', () => {
    const f = fixFails(writeInput('hello.json', 'hello world\n'));
    assert.equal(f.offset, 0);
  });

  it('gzip of something that is not JSON: byte 0 of the decompressed text', () => {
    const f = fixFails(writeInput('hello.json.gz', gzipSync('hello world\n')));
    assert.equal(f.offset, 0);
  });

  it('only white space', () => {
    const f = fixFails(writeInput('ws.json', '  \n\t \n'));
    assert.ok(f.offset !== undefined, f.line);
  });

  it('truncated gzip (a real trace cut in half): names the compressed byte', () => {
    const gz = readFileSync(PDL_EAGER);
    const cut = Math.floor(gz.length / 2);
    const input = writeInput('cut.json.gz', gz.subarray(0, cut));
    const f = fixFails(input);
    assert.match(f.line, /gzip/);
    assert.ok(f.offset !== undefined && f.offset <= cut, f.line);
  });

  for (const at of [4, 20_000, 150_001]) {
    it(`truncated JSON (decompressed real trace cut at ${at}): the byte is where the input ends`, () => {
      const text = readDecompressed(PDL_EAGER);
      const f = fixFails(writeInput(`cut-${at}.json`, text.subarray(0, at)));
      assert.equal(f.offset, at, f.line);
      assert.match(f.line, /truncated/);
    });
  }

  it('truncated JSON inside a complete gzip stream: byte is the decompressed length', () => {
    const text = readDecompressed(PDL_EAGER).subarray(0, 100_000);
    const f = fixFails(writeInput('cut-text.json.gz', gzipSync(text)));
    assert.equal(f.offset, 100_000, f.line);
  });

  const bad: [string, string, string][] = [
    ['NaN as a ts', events(`${X},\n{"ph": "X", "name": "n", "pid": 0, "tid": 7, "ts": NaN, "dur": 1}`), 'NaN'],
    ['Infinity as a dur', events(`${X},\n{"ph": "X", "name": "n", "pid": 0, "tid": 7, "ts": 1, "dur": Infinity}`), 'Infinity'],
    ['-Infinity inside args', events(`{"ph": "X", "name": "n", "pid": 0, "tid": 7, "ts": 1, "dur": 1, "args": {"x": [1, -Infinity]}}`), 'Infinity'],
    ['NaN in a top-level entry', `{"a": NaN, "traceEvents": []}`, 'NaN'],
    ['traceEvents is an object', `{"schemaVersion": 1, "traceEvents": {"ph": "X"}}`, '{"ph"'],
    ['traceEvents is a string', `{"traceEvents": "[]"}`, '"[]"'],
    ['a trailing comma', events(`${X},`), ']'],
    ['garbage after the trace', `${events(X)}xyz`, 'xyz'],
  ];
  for (const [what, text, at] of bad) {
    it(`${what}: the byte offset points at it`, () => {
      const input = writeInput(`${what.replace(/\W+/g, '-')}.json`, text);
      const f = fixFails(input);
      assert.ok(f.offset !== undefined, f.line);
      const here = Buffer.from(text).toString('utf8', f.offset, f.offset + at.length + 1);
      assert.ok(here.startsWith(at) || here.startsWith('-' + at), `byte ${f.offset} is at ${JSON.stringify(here)}, not ${at}: ${f.line}`);
    });
  }

  it('a JSON object without traceEvents (a config, a truth file) is not a trace', () => {
    const f = fixFails(writeInput('config.json', '{"model": "llama", "tp": 2, "dims": [1, 2]}'));
    assert.match(f.line, /not a trace: the JSON object has no "traceEvents" array \(its keys: "model", "tp", "dims"\)/);
    assert.match(fixFails(writeInput('empty-object.json', ' {} ')).line, /not a trace: .*\(it is empty\)/);
  });

  it('the same NaN inside a .gz names the decompressed byte', () => {
    const text = events(`${X},\n{"ph": "X", "name": "n", "pid": 0, "tid": 7, "ts": NaN, "dur": 1}`);
    const f = fixFails(writeInput('nan.json.gz', gzipSync(text)));
    assert.equal(f.offset, text.indexOf('NaN'));
  });

  it('a missing input file', () => {
    const f = fixFails(path.join(tmp, 'does-not-exist.json'));
    assert.match(f.line, /no such file/);
  });
});

describe('fix: output paths', () => {
  it('output equal to the input: exit 2, input unchanged, no temp file', () => {
    const dir = freshOutDir();
    const input = path.join(dir, 'trace.json.gz');
    copyFileSync(PDL_EAGER, input);
    const before = readFileSync(input);
    for (const out of [input, path.join(dir, '.', 'trace.json.gz')]) {
      const r = runCli(['fix', input, '-o', out]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /overwrite/);
      assert.ok(readFileSync(input).equals(before), 'the input changed');
      assert.deepEqual(readdirSync(dir), ['trace.json.gz']);
    }
  });

  it('--in-place replaces the input with the fixed trace', () => {
    const dir = freshOutDir();
    const input = path.join(dir, 'trace.json.gz');
    copyFileSync(PDL_EAGER, input);
    const reference = path.join(tmp, 'reference.json.gz');
    assert.equal(runCli(['fix', PDL_EAGER, '-o', reference, '-q']).status, 0);
    const r = runCli(['fix', input, '--in-place', '-q']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(dir), ['trace.json.gz']);
    assert.ok(readDecompressed(input).equals(readDecompressed(reference)), 'in-place result differs from a normal fix');
    assert.ok(!readDecompressed(input).equals(readDecompressed(PDL_EAGER)), 'nothing was fixed');
    // with -o naming the input explicitly
    copyFileSync(PDL_EAGER, input);
    assert.equal(runCli(['fix', input, '-o', input, '--in-place', '-q']).status, 0);
    assert.ok(readDecompressed(input).equals(readDecompressed(reference)));
  });

  it('an output directory that does not exist: exit 2, one line', () => {
    const r = runCli(['fix', PDL_EAGER, '-o', path.join(tmp, 'no', 'such', 'dir', 'x.json.gz')]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /does not exist/);
  });
});

describe('fix --salvage (a trace cut inside its events array)', () => {
  it('keeps exactly the complete events before the cut, unchanged but for lane tids, and nests', () => {
    const text = readDecompressed(PDL_EAGER);
    const cut = 150_001;
    const input = writeInput('salvage.json', text.subarray(0, cut));
    const outDir = freshOutDir();
    const out = path.join(outDir, 'out.json');
    const r = runCli(['fix', input, '--salvage', '-o', out, '-q']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(outDir), ['out.json']);
    const original = loadTrace(text);
    const kept = original.events.filter((e) => e.end <= cut);
    assert.ok(kept.length > 100 && kept.length < original.events.length);
    const outBytes = readFileSync(out);
    JSON.parse(outBytes.toString('utf8')); // valid JSON
    const fixed = loadTrace(outBytes);
    for (const [i, e] of kept.entries()) {
      const o = fixed.events[i]!;
      const a = text.subarray(e.start, e.end);
      if (o.tidRaw === e.tidRaw) {
        assert.ok(a.equals(outBytes.subarray(o.start, o.end)), `event #${i} changed`);
      } else {
        const t = o.members.find((m) => m.key === 'tid')!;
        const u = e.members.find((m) => m.key === 'tid')!;
        assert.ok(Buffer.concat([outBytes.subarray(o.start, t.vs), text.subarray(u.vs, u.ve), outBytes.subarray(t.ve, o.end)]).equals(a), `event #${i} changed outside its tid`);
      }
    }
    for (const e of fixed.events.slice(kept.length)) assert.equal(e.ph, 'M', 'only metadata is added');
    assert.equal(sum(crossingsByTrack(slicesOf(fixed)).values()), 0);
  });
});
