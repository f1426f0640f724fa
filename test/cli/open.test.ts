/**
 * `traceforge open --no-browser`: fetched the way the Perfetto UI fetches (Origin header), the
 * exact bytes of the served file come back with the CORS header the UI needs; other paths get
 * 404; the process exits once the trace was sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { freePort } from '../helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = path.join(root, 'dist/src/cli/main.js');
const fixture = (p: string): string => path.join(root, 'test/fixtures', p);


function startOpen(args: string[]): { child: ReturnType<typeof spawn>; url: Promise<string>; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [cli, 'open', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      // resolve once the whole announcement is out (stderr may arrive in pieces)
      const m = /serving (.+) at (http:\/\/127\.0\.0\.1:\d+\/\S+)/.exec(err);
      if (m && err.includes('waiting for the Perfetto UI')) resolve(m[2]!);
    });
    child.once('exit', () => reject(new Error(`open exited early: ${err}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // never leave a server behind when an assertion fails
  process.once('exit', () => child.kill());
  return { child, url, exit, stderr: () => err };
}

test('open serves a clean trace as it is, with the CORS header, 404 elsewhere, then exits', async (t) => {
  const port = await freePort();
  // sampled_rank-0 has no non-nesting slices: it is served byte for byte
  const file = fixture('real/public/hta/sampled_rank-0.json.gz');
  const o = startOpen([file, '--no-browser', '--port', String(port)]);
  t.after(() => o.child.kill());
  const url = await o.url;
  assert.equal(url, `http://127.0.0.1:${port}/sampled_rank-0.json.gz`);
  assert.match(o.stderr(), new RegExp(`https://ui\\.perfetto\\.dev/#!/\\?url=http://127\\.0\\.0\\.1:${port}/sampled_rank-0\\.json\\.gz`));
  const other = await fetch(`http://127.0.0.1:${port}/etc/passwd`, { headers: { Origin: 'https://ui.perfetto.dev' } });
  assert.equal(other.status, 404);
  await other.arrayBuffer();
  const res = await fetch(url, { headers: { Origin: 'https://ui.perfetto.dev' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://ui.perfetto.dev');
  const body = Buffer.from(await res.arrayBuffer());
  assert.ok(body.equals(readFileSync(file)), 'the served bytes are the file');
  assert.equal(await o.exit, 0);
});

test('open fixes a trace with non-nesting slices on the fly and leaves the input untouched', async (t) => {
  const port = await freePort();
  const file = fixture('real/h200/pdl-eager.trace.json.gz');
  const before = readFileSync(file);
  const o = startOpen([file, '--no-browser', '--port', String(port)]);
  t.after(() => o.child.kill());
  const url = await o.url;
  assert.match(url, /pdl-eager\.trace\.fixed\.json\.gz$/);
  const res = await fetch(url, { headers: { Origin: 'https://ui.perfetto.dev' } });
  const served = JSON.parse(gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8')) as { traceEvents: { ph?: string; name?: string; args?: { name?: string } }[] };
  const input = JSON.parse(gunzipSync(before).toString('utf8')) as { traceEvents: unknown[] };
  // the fixed trace: every input event plus the lane names and sort indices
  const lanes = served.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name' && / \(overlap \d+\)$/.test(e.args?.name ?? ''));
  assert.ok(lanes.length > 0, 'lane tracks were added');
  assert.ok(served.traceEvents.length > input.traceEvents.length);
  assert.equal(await o.exit, 0);
  assert.ok(readFileSync(file).equals(before), 'input unchanged');
});

test('open: a port in use is a clear error (exit 2) that names the port', async () => {
  const blocker = createServer();
  const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
  try {
    const o = startOpen([fixture('real/public/hta/sampled_rank-0.json.gz'), '--no-browser', '--port', String(port)]);
    o.url.catch(() => {});
    assert.equal(await o.exit, 2);
    assert.match(o.stderr(), new RegExp(`port ${port} .*in use`));
  } finally {
    blocker.close();
  }
});

test('open --format perfetto serves a Perfetto TrackEvent trace (protobuf packets, lanes as tracks)', async (t) => {
  const port = await freePort();
  const file = fixture('real/h200/pdl-eager.trace.json.gz');
  const o = startOpen([file, '--no-browser', '--port', String(port), '--format', 'perfetto']);
  t.after(() => o.child.kill());
  const url = await o.url;
  assert.match(url, /pdl-eager\.trace\.pftrace$/);
  const res = await fetch(url, { headers: { Origin: 'https://ui.perfetto.dev' } });
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://ui.perfetto.dev');
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(body[0], 0x0a, 'a Trace: repeated packet = 1, length-delimited');
  assert.ok(body.includes(Buffer.from('stream 7 (overlap 1)')), 'the overlap lane is a described track');
  assert.equal(await o.exit, 0);
});
