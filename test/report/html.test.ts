/**
 * `traceforge report`: the HTML page of the tp2 fixture (a directory of 2 ranks). The page must
 * load nothing from the network, carry `statsOf`'s numbers unchanged, and keep kernel names with
 * `<` and `&` intact but escaped. The numbers are checked against an independent reading of
 * the traces (gunzip + JSON.parse + plain loops; no src/ code), the escaping against a
 * synthetic trace with a hostile kernel name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { writeReport, bucketBusy, bucketWidthNs, REPORT_VIEWS, type ReportData } from '../../src/pipeline/report.js';
import { statsOf, STATS_VIEWS } from '../../src/pipeline/stats.js';
import { escapeHtml, jsonForScript } from '../../src/report/html.js';
import { chartAssets } from '../../src/pipeline/report.js';
import { TraceforgeError } from '../../src/errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const TP2 = path.join(ROOT, 'test', 'fixtures', 'real', 'h200', 'tp2');
const STEP = 'decode_step_\\d+';
const DEVICE_CATS = new Set(['kernel', 'Kernel', 'gpu_memcpy', 'gpu_memset', 'Memcpy', 'Memset']);

const tempDir = (): string => mkdtempSync(path.join(os.tmpdir(), 'traceforge-report-'));

/** The JSON document the page embeds, parsed back. */
function embedded(html: string): ReportData {
  const m = /<script type="application\/json" id="tf-data">([^<]*)<\/script>/.exec(html);
  assert.ok(m, 'the page embeds its data in <script type="application/json" id="tf-data">');
  return JSON.parse(m[1]!) as ReportData;
}

// ---------------------------------------------------------------------------------------------
// The oracle: the traces read with JSON.parse, device activities summed by plain loops

interface RawEvent { ph?: string; cat?: string; name?: string; pid?: unknown; ts?: number; dur?: number }
interface RawRank { file: string; events: RawEvent[] }

function readRanks(): RawRank[] {
  return readdirSync(TP2).filter((f) => f.endsWith('.json.gz')).sort().map((f) => {
    const j = JSON.parse(gunzipSync(readFileSync(path.join(TP2, f))).toString('utf8')) as { traceEvents: RawEvent[] };
    return { file: f, events: j.traceEvents };
  });
}

const isDevice = (e: RawEvent): boolean => e.ph === 'X' && DEVICE_CATS.has(e.cat ?? '') && typeof e.ts === 'number';

function kernelTotals(events: RawEvent[]): Map<string, { calls: number; totalUs: number }> {
  const out = new Map<string, { calls: number; totalUs: number }>();
  for (const e of events) {
    if (!isDevice(e)) continue;
    const k = out.get(e.name!) ?? { calls: 0, totalUs: 0 };
    k.calls++;
    k.totalUs += e.dur ?? 0;
    out.set(e.name!, k);
  }
  return out;
}

/**
 * Length of the union of [ts, ts + dur) per pid, summed (µs), and how far off it can be:
 * JSON.parse gives epoch-µs timestamps as doubles (a 2^-52 relative step, ~0.25 µs at 1.7e15),
 * and every segment end point can be off by that.
 */
function busyUs(events: RawEvent[]): { busy: number; devices: number; error: number } {
  const byPid = new Map<string, [number, number][]>();
  for (const e of events) {
    if (!isDevice(e) || !((e.dur ?? 0) > 0)) continue;
    const key = JSON.stringify(e.pid);
    const l = byPid.get(key) ?? [];
    l.push([e.ts!, e.ts! + e.dur!]);
    byPid.set(key, l);
  }
  let busy = 0;
  let segments = 0;
  let maxTs = 0;
  for (const l of byPid.values()) {
    l.sort((a, b) => a[0] - b[0]);
    let [s, e] = l[0]!;
    for (const [a, b] of l.slice(1)) {
      if (a <= e) e = Math.max(e, b);
      else { busy += e - s; segments++; s = a; e = b; }
    }
    busy += e - s;
    segments++;
    maxTs = Math.max(maxTs, e);
  }
  return { busy, devices: byPid.size, error: 2 * segments * maxTs * 2 ** -52 };
}

const close = (actual: number, expected: number, tol: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tolerance ${tol})`);
};

// One report of tp2 shared by the tests below
let made: Promise<{ html: string; data: ReportData; dir: string }> | undefined;
function report(): Promise<{ html: string; data: ReportData; dir: string }> {
  made ??= (async () => {
    const dir = tempDir();
    const out = await writeReport([TP2], { output: path.join(dir, 'report.html'), step: STEP });
    const html = readFileSync(out.output, 'utf8');
    return { html, data: embedded(html), dir };
  })();
  return made;
}

test('the page loads nothing: no src/href to another document, no stylesheet or image URL, no http(s) outside license comments', async () => {
  const { html } = await report();
  const refs = [...html.matchAll(/\s(src|href|srcset|action|poster|data)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => `${m[1]}=${m[2]}`);
  for (const r of refs) assert.match(r, /^href=#[a-z-]+$/, `only in-page links: ${r}`);
  for (const tag of ['link', 'img', 'iframe', 'object', 'embed', 'base', 'audio', 'video', 'source']) {
    assert.ok(!new RegExp(`<${tag}[\\s>]`, 'i').test(html), `no <${tag}>`);
  }
  assert.equal((html.match(/<script/gi) ?? []).length, 3, 'data, uPlot and the page script, all inline');
  assert.ok(!/<script[^>]*\ssrc/i.test(html));
  assert.ok(!/url\(/i.test(html), 'no CSS url()');
  assert.ok(!/@import/i.test(html), 'no CSS @import');
  const code = html.replace(/\/\*![\s\S]*?\*\//g, '');
  assert.ok(!/https?:\/\//i.test(code), `no http(s) URL outside the /*! license */ comments: ${/.{40}https?:\/\/.{40}/i.exec(code)?.[0]}`);
  assert.match(html, /The MIT License/, 'uPlot\'s license travels with it');
});

test('uPlot is inlined inside a function whose `navigator` has language en-US, and navigator is all it reads of the browser locale', async () => {
  const { html } = await report();
  const { script } = await chartAssets();
  // uPlot as shipped: one reference to navigator, taken only for Intl.NumberFormat's locale
  // (if an upgrade reads more of it, the wrapper must be looked at again)
  assert.equal((script.match(/navigator/g) ?? []).length, 1);
  assert.match(script, /new Intl\.NumberFormat\([^)]*\.language/);
  const m = /<script>\/\*! uPlot[\s\S]*?\*\/\n(var uPlot = \(function \(navigator\) \{\n)([\s\S]*?)(\n;return uPlot;\n\}\)\(\{ language: "en-US" \}\);)<\/script>/.exec(html);
  assert.ok(m, 'the wrapper around uPlot');
  assert.equal(m[2]!.length, script.length, 'uPlot\'s script inside it, whole');
});

test('the embedded data are statsOf with every view the page shows, unchanged', async () => {
  const { data } = await report();
  const { utilization, ...direct } = await statsOf([TP2], { views: [...REPORT_VIEWS], step: STEP, utilization: { buckets: 400 } });
  assert.deepEqual(data.stats, JSON.parse(JSON.stringify(direct)));
  assert.deepEqual(data.utilization, JSON.parse(JSON.stringify(utilization)));
  // every view (op-type, torch_npu's op_statistic, has a table only for NPU profiles)
  assert.deepEqual(data.stats.views, [...STATS_VIEWS]);
  assert.equal(data.stats.steps!.length, 12, '6 decode steps on each of 2 ranks');
});

test('kernel calls and totals, per kernel and per rank, equal a plain loop over the parsed traces', async () => {
  const { data } = await report();
  const ranks = readRanks();
  const all = kernelTotals(ranks.flatMap((r) => r.events));
  const kernels = data.stats.kernels!;
  assert.deepEqual(new Set(kernels.map((k) => k.name)), new Set(all.keys()));
  for (const k of kernels) {
    const o = all.get(k.name)!;
    assert.equal(k.calls, o.calls, `calls of ${k.name}`);
    close(k.totalUs, o.totalUs, 0.002, `total of ${k.name}`);
  }
  // per rank (the rank view's table), in the order of the inputs
  const rv = data.stats.ranks!;
  assert.deepEqual(rv.ranks, ['TP00', 'TP01']);
  const perRank = ranks.map((r) => kernelTotals(r.events));
  for (const k of rv.kernels) {
    k.totalsUs.forEach((t, i) => close(t, perRank[i]!.get(k.name)?.totalUs ?? 0, 0.002, `${rv.ranks[i]} total of ${k.name}`));
    assert.deepEqual(k.calls, perRank.map((m) => m.get(k.name)?.calls ?? 0));
  }
  // categories add up to the kernels in them
  for (const c of data.stats.categories!) {
    const sum = kernels.filter((k) => k.category === c.category).reduce((a, k) => a + k.totalUs, 0);
    close(c.totalUs, sum, 0.01, `category ${c.category}`);
  }
});

test('GPU busy time per rank and the utilization series agree with an independent interval union', async () => {
  const { data } = await report();
  const ranks = readRanks();
  const u = data.utilization!;
  assert.ok(u, 'a utilization series');
  assert.deepEqual(u.ranks.map((r) => r.label), ['TP00', 'TP01']);
  assert.ok(u.startsUs.length >= 100 && u.startsUs.length <= 400, `${u.startsUs.length} buckets`);
  ranks.forEach((r, i) => {
    const o = busyUs(r.events);
    const s = data.stats.summary![i]!;
    assert.equal(s.devices, o.devices);
    close(s.busyUs, o.busy, o.error + 0.001, `busy of ${s.label}`);
    // the buckets' busy fractions add back up to the busy time (fractions are rounded to 1e-4)
    const series = u.ranks[i]!;
    let total = 0;
    const from = series.startUs!;
    const to = series.endUs!;
    close(to - from, s.spanUs, 0.002, `span of ${s.label}`);
    series.busy.forEach((f, b) => {
      const lo = Math.max(u.startsUs[b]!, from);
      const hi = Math.min(u.startsUs[b]! + u.bucketUs, u.endUs, to);
      if (!(hi > lo)) { assert.equal(f, null, `bucket ${b} is outside ${s.label}'s span`); return; }
      assert.ok(f !== null && f >= 0 && f <= 1, `fraction ${f} in bucket ${b}`);
      total += f * (hi - lo) * series.devices;
    });
    close(total, o.busy, 0.5e-4 * u.endUs * series.devices + o.error, `busy from the buckets of ${s.label}`);
  });
});

test('kernel names with < and & are in the page escaped: never raw, and the same names after JSON.parse', async () => {
  const { html, data } = await report();
  const names = [...kernelTotals(readRanks().flatMap((r) => r.events)).keys()];
  const special = names.filter((n) => /[<&]/.test(n));
  assert.ok(special.some((n) => n.includes('<')) && special.some((n) => n.includes('&')), 'the fixture has names with < and with &');
  for (const n of special) {
    assert.ok(!html.includes(n), `raw name in the page: ${n.slice(0, 60)}`);
    // as JSON inside the script element: < > & as \u escapes (written here independently)
    const escaped = JSON.stringify(n).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
    assert.ok(html.includes(escaped), `escaped name in the data: ${escaped.slice(0, 60)}`);
  }
  assert.deepEqual(new Set(data.stats.kernels!.map((k) => k.name)), new Set(names));
});

test('a hostile kernel name cannot end the script element or add markup; diagnostics show it escaped', async () => {
  const dir = tempDir();
  try {
    const evil = `</script><img src=x onerror=alert(1)> & <!-- "q" 'a'`;
    const trace = {
      traceEvents: [
        { ph: 'M', name: 'process_name', pid: 0, tid: 0, args: { name: 'GPU 0' } },
        { ph: 'X', cat: 'kernel', name: evil, pid: 0, tid: 7, ts: 100, dur: 5 },
        { ph: 'X', cat: 'kernel', name: 'plain_kernel', pid: 0, tid: 7, ts: 110, dur: 3 },
        { ph: 'X', cat: 'kernel', name: evil, pid: 0, tid: 7, ts: 120, dur: -1 },
      ],
    };
    const input = path.join(dir, 'evil.trace.json');
    writeFileSync(input, JSON.stringify(trace));
    const out = await writeReport([input], { output: path.join(dir, 'evil.html'), title: `<b>${evil}</b>` });
    const html = readFileSync(out.output, 'utf8');
    assert.ok(!html.includes('<img'), 'no <img> anywhere');
    assert.ok(!html.includes('<b>'), 'the title is escaped too');
    assert.equal((html.match(/<\/script>/g) ?? []).length, 3, 'only the three script elements end');
    assert.ok(html.includes(`<title>${escapeHtml(`<b>${evil}</b>`)} · traceforge report</title>`));
    const data = embedded(html);
    assert.deepEqual(data.stats.kernels!.map((k) => [k.name, k.calls]), [[evil, 2], ['plain_kernel', 1]]);
    // the negative duration is a diagnostic whose example names the kernel, rendered as HTML
    assert.deepEqual(data.stats.diagnostics.map((d) => d.name), ['negative_duration']);
    assert.ok(html.includes(escapeHtml(evil)), 'the diagnostic example, escaped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('jsonForScript: < > & U+2028 U+2029 escaped, the value unchanged after JSON.parse', () => {
  const v = { a: '</script><!-- & \u2028\u2029 >', b: [1.5, null] };
  const text = jsonForScript(v);
  assert.ok(!/[<>&\u2028\u2029]/.test(text), text);
  assert.deepEqual(JSON.parse(text), v);
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('bucketWidthNs: 1, 2 or 5 × 10^k ns, at least 1 µs, at most the asked number of buckets', () => {
  assert.equal(bucketWidthNs(10, 400), 1000);
  assert.equal(bucketWidthNs(530_119_429, 400), 2_000_000);
  assert.equal(bucketWidthNs(1e9, 100), 1e7);
  assert.equal(bucketWidthNs(1.2e9, 100), 2e7);
  for (const span of [1e6, 3.3e7, 7.77e8, 5e10]) assert.ok(Math.ceil(span / bucketWidthNs(span, 300)) <= 300);
});

test('bucketBusy: busy share per bucket over a rank\'s devices, clipped to the bucket, offset onto the common clock', () => {
  const seg = (pairs: [number, number][]) => ({
    start: Float64Array.from(pairs.map((p) => p[0])), end: Float64Array.from(pairs.map((p) => p[1])),
    total: pairs.reduce((a, p) => a + p[1] - p[0], 0),
  });
  const device = (busy: ReturnType<typeof seg>) => ({ pid: 0, name: 'GPU 0', activities: 1, busy, communication: seg([]), compute: busy, first: 0, last: 0 });
  const timeline = (devices: ReturnType<typeof device>[], spanStart = 0, spanEnd = 3000) => ({ devices, spanStart, spanEnd, busyNs: 0, communicationNs: 0, computeNs: 0 });
  const { startsNs, busy } = bucketBusy([
    // two devices: one busy [0, 1500), the other [500, 1000): bucket 0 = (1000 + 500) / 2000
    { label: 'A', offsetNs: 0, timeline: timeline([device(seg([[0, 1500]])), device(seg([[500, 1000]]))]) },
    // shifted by 1000 on the common clock: busy [1000, 2000)
    { label: 'B', offsetNs: 1000, timeline: timeline([device(seg([[0, 1000]]))]) },
    { label: 'C', offsetNs: 0, timeline: timeline([]) },
    // its span is [1500, 2250): the first bucket is outside it, the others count only that part
    { label: 'D', offsetNs: 1000, timeline: timeline([device(seg([[500, 1000]]))], 500, 1250) },
  ], 2500, 1000);
  assert.deepEqual(startsNs, [0, 1000, 2000]);
  assert.deepEqual(busy[0], [0.75, 0.25, 0]);
  assert.deepEqual(busy[1], [null, 1, 0], 'nothing before its first event');
  assert.deepEqual(busy[2], [null, null, null]);
  assert.deepEqual(busy[3], [null, 1, 0]);
});

test('CLI: report DIR writes DIR/report.html by default; stdin with -o is read once; stdin without -o, a missing input and bad --buckets are user errors', async () => {
  const dir = tempDir();
  try {
    const ranks = path.join(dir, 'tp2');
    mkdirSync(ranks);
    for (const f of readdirSync(TP2)) copyFileSync(path.join(TP2, f), path.join(ranks, f));
    const r = spawnSync(process.execPath, [CLI, 'report', ranks, '--step', STEP], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /wrote .*tp2[\\/]report\.html \(\d+(\.\d+)? KB\): 2 rank\(s\), 18 kernels/);
    assert.ok(existsSync(path.join(ranks, 'report.html')));
    assert.equal(readdirSync(ranks).filter((f) => f.endsWith('.tmp')).length, 0, 'no temp file left');
    // a file input: report.html next to it
    const one = spawnSync(process.execPath, [CLI, 'report', path.join(ranks, readdirSync(TP2)[0]!), '-o', path.join(dir, 'one.html'), '-q'], { encoding: 'utf8' });
    assert.equal(one.status, 0, one.stderr);
    assert.equal(one.stderr, '');
    assert.ok(existsSync(path.join(dir, 'one.html')));
    // stdin: one pass is all the page needs; the same numbers as from the file
    const file = path.join(ranks, readdirSync(TP2).sort()[0]!);
    const piped = spawnSync(process.execPath, [CLI, 'report', '-', '-o', path.join(dir, 'stdin.html'), '-q', '--step', STEP], { input: readFileSync(file), encoding: 'utf8' });
    assert.equal(piped.status, 0, piped.stderr);
    const fromFile = spawnSync(process.execPath, [CLI, 'report', file, '-o', path.join(dir, 'file.html'), '-q', '--step', STEP], { encoding: 'utf8' });
    assert.equal(fromFile.status, 0, fromFile.stderr);
    const a = embedded(readFileSync(path.join(dir, 'stdin.html'), 'utf8'));
    const b = embedded(readFileSync(path.join(dir, 'file.html'), 'utf8'));
    assert.equal(a.title, 'stdin');
    assert.deepEqual(a.stats.kernels, b.stats.kernels);
    assert.deepEqual(a.stats.summary!.map((x) => ({ ...x, file: '', label: '' })), b.stats.summary!.map((x) => ({ ...x, file: '', label: '' })));
    // labels differ (RANK00 from distributedInfo for stdin, TP00 from the file name): the rest does not
    assert.deepEqual(a.utilization!.ranks.map((r) => ({ ...r, label: '' })), b.utilization!.ranks.map((r) => ({ ...r, label: '' })));
    assert.deepEqual(a.utilization!.startsUs, b.utilization!.startsUs);
    for (const [args, message] of [
      [['-'], /name the output with -o/],
      [[path.join(dir, 'nope.json')], /nope\.json/],
      [[ranks, '--buckets', '3'], /--buckets takes a whole number from 10 to 100000, not 3/],
      [[ranks, '-o', path.join(dir, 'no', 'such', 'dir', 'r.html')], /output directory .* does not exist/],
    ] as const) {
      const e = spawnSync(process.execPath, [CLI, 'report', ...args], { encoding: 'utf8' });
      assert.equal(e.status, 2, `${args.join(' ')}: ${e.stderr}`);
      assert.match(e.stderr, message);
      assert.doesNotMatch(e.stderr, /internal error/);
    }
    await assert.rejects(writeReport(['-']), (e: unknown) => e instanceof TraceforgeError && e.code === 'E_USAGE');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.after(async () => {
  if (made) rmSync((await made).dir, { recursive: true, force: true });
});
