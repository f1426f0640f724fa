/**
 * TraceScanner: the same events (bytes, indices, offsets, field spans) and top-level entries
 * whatever the chunking, and the same as an independent splitter (test/helpers.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';

import { ARG_MEMBERS_MAX, F, FIELD_COUNT, TraceScanner, type ScannedEvent, type TopLevelEntry } from '../../src/io/scanner.js';
import { scanBuffer, scanFile } from '../../src/io/read.js';
import { TraceforgeError } from '../../src/errors.js';
import { EDGE, PDL_EAGER, edgeFixture, loadTrace, objectMembers, readDecompressed, splitTrace } from '../helpers.js';

interface Seen {
  index: number;
  offset: number;
  bytes: Buffer;
  /** Field spans relative to the event start (-1 when absent). */
  spans: number[];
}

interface Scan {
  events: Seen[];
  top: { key: string; rawKey: string; rawValue: string; afterEvents: boolean }[];
  shape: string;
}

function scan(data: Buffer, chunkSize: number): Scan {
  const events: Seen[] = [];
  const top: Scan['top'] = [];
  const shape = scanBuffer(data, {
    topLevel(e: TopLevelEntry, afterEvents: boolean) {
      top.push({ key: e.key, rawKey: e.rawKey.toString('utf8'), rawValue: e.rawValue.toString('utf8'), afterEvents });
    },
    event(ev: ScannedEvent) {
      const spans: number[] = [];
      for (let k = 0; k < FIELD_COUNT * 2; k++) spans.push(ev.f[k]! < 0 ? -1 : ev.f[k]! - ev.start);
      events.push({ index: ev.index, offset: ev.offset, bytes: Buffer.from(ev.buf.subarray(ev.start, ev.end)), spans });
    },
  }, 'test', chunkSize);
  return { events, top, shape };
}

function assertSameScan(a: Scan, b: Scan, what: string): void {
  assert.equal(a.shape, b.shape, `${what}: shape`);
  assert.deepEqual(a.top, b.top, `${what}: top-level entries`);
  assert.equal(a.events.length, b.events.length, `${what}: event count`);
  for (let i = 0; i < a.events.length; i++) {
    const x = a.events[i]!;
    const y = b.events[i]!;
    assert.equal(y.index, x.index, `${what}: index of event ${i}`);
    assert.equal(y.offset, x.offset, `${what}: offset of event ${i}`);
    assert.ok(y.bytes.equals(x.bytes), `${what}: bytes of event ${i}`);
    assert.deepEqual(y.spans, x.spans, `${what}: field spans of event ${i}`);
  }
}

/** Field names the scanner records, by id. */
const FIELD_NAMES = Object.entries(F).sort((a, b) => a[1] - b[1]).map(([k]) => k);

/** The scan agrees with the independent splitter: offsets, bytes, top-level keys, field spans. */
function assertMatchesOracle(data: Buffer, s: Scan): void {
  const t = loadTrace(data);
  const raw = splitTrace(data);
  assert.equal(s.shape, raw.shape);
  assert.deepEqual(s.top.map((e) => ({ key: e.key, raw: e.rawValue, afterEvents: e.afterEvents })), raw.top);
  assert.equal(s.events.length, t.events.length);
  for (let i = 0; i < t.events.length; i++) {
    const o = t.events[i]!;
    const e = s.events[i]!;
    assert.equal(e.index, i);
    assert.equal(e.offset, o.start, `offset of event ${i}`);
    assert.ok(e.bytes.equals(data.subarray(o.start, o.end)), `bytes of event ${i}`);
    for (const [fid, key] of FIELD_NAMES.entries()) {
      const m = o.members.filter((x) => x.key === key).pop(); // the last one wins on duplicates
      const got = [e.spans[2 * fid], e.spans[2 * fid + 1]];
      assert.deepEqual(got, m ? [m.vs - o.start, m.ve - o.start] : [-1, -1], `event ${i} field ${key}`);
    }
  }
}

const CHUNKS = [1, 2, 7, 64];

describe('scanner: chunking does not change what is seen', () => {
  it('pdl-eager (decompressed): chunks of 1, 2, 7, 64 bytes == one chunk == the oracle', () => {
    const data = readDecompressed(PDL_EAGER);
    const whole = scan(data, data.length);
    assert.equal(whole.events.length, 1176); // per the corpus
    assertMatchesOracle(data, whole);
    for (const c of CHUNKS) assertSameScan(whole, scan(data, c), `chunk ${c}`);
  });

  for (const name of readdirSync(EDGE).filter((n) => n.endsWith('.json')).sort()) {
    it(`edge fixture ${name}: every chunk size gives the same events`, () => {
      const data = readFileSync(edgeFixture(name));
      const whole = scan(data, data.length);
      assertMatchesOracle(data, whole);
      for (const c of CHUNKS) assertSameScan(whole, scan(data, c), `chunk ${c}`);
    });
  }

  it('scanFile reads a .gz file to the same events as scanBuffer', async () => {
    const data = readDecompressed(PDL_EAGER);
    const whole = scan(data, data.length);
    const offsets: number[] = [];
    const r = await scanFile(PDL_EAGER, { event(ev) { offsets.push(ev.offset); } }, { chunkSize: 1000 });
    assert.equal(r.gzip, true);
    assert.equal(r.events, whole.events.length);
    assert.equal(r.bytes, data.length);
    assert.deepEqual(offsets, whole.events.map((e) => e.offset));
    assert.equal(data[r.eventsClose], 0x5d); // ']'
  });
});

describe('scanner: strings, unicode, nesting, top-level order', () => {
  // Escaped quotes and backslashes, a '}' and ']' inside strings, a nested "ts" in args,
  // non-ASCII (2-, 3- and 4-byte UTF-8), keys before and after the events.
  const doc = [
    '{"before": {"x": "a\\"b\\\\", "y": [1, {"z": "}]"}]},',
    ' "traceEvents" : [',
    '  {"ph":"X","name":"a\\"b\\\\","args":{"ts": 5, "s": "\\"}]", "deep": [[{"pid": 9}]]},"ts":1.5,"dur":2,"pid":"Spans","tid":"é€😀"},',
    '  {"name":"\\\\\\\\","ph":"i","ts":3,"cat":"\\u0041\\/"},',
    '  {}',
    ' ],',
    ' "after": "tail\\\\", "n": -1.5e+3, "arr": [], "t": true}',
  ].join('\n');
  const data = Buffer.from(doc, 'utf8');

  for (const c of [data.length, ...CHUNKS]) {
    it(`chunk ${c}: fields are found at the top level of each event only`, () => {
      const s = scan(data, c);
      assert.equal(s.shape, 'object');
      assert.equal(s.events.length, 3);
      const [e0, e1, e2] = s.events as [Seen, Seen, Seen];
      const field = (e: Seen, k: keyof typeof F): string | undefined => {
        const a = e.spans[2 * F[k]]!;
        return a < 0 ? undefined : e.bytes.toString('utf8', a, e.spans[2 * F[k] + 1]!);
      };
      assert.equal(field(e0, 'name'), '"a\\"b\\\\"');
      assert.equal(JSON.parse(field(e0, 'name')!), 'a"b\\');
      assert.equal(field(e0, 'ts'), '1.5'); // not args.ts
      assert.equal(field(e0, 'pid'), '"Spans"'); // not args.deep[0][0].pid
      assert.equal(field(e0, 'tid'), '"é€😀"');
      assert.equal(field(e0, 's'), undefined); // args.s is not the event's s
      assert.deepEqual(JSON.parse(field(e0, 'args')!), { ts: 5, s: '"}]', deep: [[{ pid: 9 }]] });
      assert.equal(JSON.parse(field(e1, 'name')!), '\\\\');
      assert.equal(JSON.parse(field(e1, 'cat')!), 'A/');
      assert.equal(e2.bytes.toString(), '{}');
      assert.ok(e2.spans.every((x) => x === -1));
      // offsets are byte offsets in the input (multi-byte chars count as bytes)
      for (const e of s.events) assert.ok(data.subarray(e.offset, e.offset + e.bytes.length).equals(e.bytes));
      assert.equal(s.events[1]!.offset, data.indexOf('{"name":"\\\\\\\\"'));
      assert.deepEqual(s.top.map((t) => [t.key, t.rawValue, t.afterEvents]), [
        ['before', '{"x": "a\\"b\\\\", "y": [1, {"z": "}]"}]}', false],
        ['after', '"tail\\\\"', true],
        ['n', '-1.5e+3', true],
        ['arr', '[]', true],
        ['t', 'true', true],
      ]);
      assert.deepEqual(s.top.map((t) => t.rawKey), ['"before"', '"after"', '"n"', '"arr"', '"t"']);
      assertMatchesOracle(data, s);
    });
  }

  it('a number split across chunks is read whole (the scanner waits for its end)', () => {
    const d = Buffer.from('{"traceEvents":[{"ts":123456789.125,"dur":1}],"x":1234567890}');
    for (let cut = 1; cut < d.length; cut++) {
      const seen: string[] = [];
      let x = '';
      const sc = new TraceScanner({
        topLevel(e) { x = e.rawValue.toString(); },
        event(ev) { seen.push(ev.buf.toString('utf8', ev.f[2 * F.ts]!, ev.f[2 * F.ts + 1]!)); },
      }, { name: 't' });
      sc.push(d.subarray(0, cut));
      sc.push(d.subarray(cut));
      sc.finish();
      assert.deepEqual(seen, ['123456789.125'], `cut at ${cut}`);
      assert.equal(x, '1234567890', `cut at ${cut}`);
      assert.equal(sc.complete, true);
    }
  });

  it('the bare array form: every event, no top-level entries', () => {
    const d = Buffer.from(' [ {"ph":"X","ts":1,"dur":1,"pid":1,"tid":1} , {"ph":"M"} ] \n');
    for (const c of [d.length, 1, 3]) {
      const s = scan(d, c);
      assert.equal(s.shape, 'array');
      assert.equal(s.events.length, 2);
      assert.deepEqual(s.top, []);
      assert.equal(s.events[1]!.offset, d.indexOf('{"ph":"M"}'));
    }
  });

  it('a UTF-8 byte order mark is skipped, even when it arrives split over chunks', () => {
    const d = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"traceEvents":[{"ph":"i","ts":1}]}')]);
    for (const c of [d.length, 1, 2, 3]) {
      const s = scan(d, c);
      assert.equal(s.events.length, 1, `chunk ${c}`);
      assert.equal(s.events[0]!.offset, 19, `chunk ${c}`); // 3 BOM bytes + '{"traceEvents":['
    }
  });

  it('NaN is named NaN in the error even when it is cut by a chunk boundary', () => {
    const d = Buffer.from('{"traceEvents":[{"ts":NaN}]}');
    for (const c of [d.length, 1, 2, 23]) {
      assert.throws(() => scan(d, c), (e: unknown) => {
        assert.ok(e instanceof TraceforgeError);
        assert.equal(e.offset, 22);
        assert.match(e.message, /NaN is not a JSON number/, `chunk ${c}`);
        return true;
      });
    }
  });

  it('errors have the same code and byte offset whatever the chunking', () => {
    const bad = [
      '{"traceEvents":[{"ts":NaN}]}',
      '{"traceEvents":[{"ts":1},]}',
      '{"traceEvents":{"a":1}}',
      '{"traceEvents":[{"ts":1}]} x',
      '{"traceEvents":[{"ts":1}',
      '[{"ts":-Infinity}]',
    ];
    for (const text of bad) {
      const d = Buffer.from(text);
      const errs = [d.length, 1, 2, 7].map((c) => {
        try {
          scan(d, c);
        } catch (e) {
          assert.ok(e instanceof TraceforgeError, `${text}: ${String(e)}`);
          assert.match(e.message, new RegExp(`\\(byte ${e.offset}\\)$`));
          return `${e.code} ${e.offset}`;
        }
        return 'no error';
      });
      assert.notEqual(errs[0], 'no error', text);
      for (const e of errs) assert.equal(e, errs[0], text);
    }
  });
});

describe('scanner: invalid JSON inside nested values is an error at its byte', () => {
  // Each case: an event whose args hold one grammar error; the offset must point at it,
  // whatever the chunk size.
  const cases: [string, string, string][] = [
    ['missing comma in an array', '{"traceEvents": [{"ph": "X", "args": {"a": [1 2]}}]}', '2]'],
    ['bad literal', '{"traceEvents": [{"ph": "X", "args": {"a": nul}}]}', 'nul}'],
    ['missing colon', '{"traceEvents": [{"ph": "X", "args": {"a" 1}}]}', '1}'],
    ['trailing comma in an object', '{"traceEvents": [{"ph": "X", "args": {"a": 1,}}]}', '}}]'],
    ['leading zero', '{"traceEvents": [{"ph": "X", "args": {"a": 01}}]}', '1}'],
    ['mismatched bracket', '{"traceEvents": [{"ph": "X", "args": {"a": [1}}]}', '}}]'],
    ['NaN in args', '{"traceEvents": [{"ph": "X", "args": {"a": [NaN]}}]}', 'NaN'],
    ['number without digits after the point', '{"traceEvents": [{"ph": "X", "ts": 1., "dur": 1}]}', ', "dur'],
  ];
  for (const [what, text, at] of cases) {
    it(what, () => {
      const expected = text.indexOf(at);
      for (const chunk of [1, 3, text.length]) {
        assert.throws(() => scanBuffer(Buffer.from(text), { event() {} }, 'case.json', chunk), (e: unknown) => {
          assert.ok(e instanceof TraceforgeError, String(e));
          assert.equal(e.code, 'E_PARSE');
          assert.equal(e.offset, expected, `${what}: ${e.message}`);
          assert.match(e.message, /^case\.json: .*\(byte \d+\)$/);
          return true;
        });
      }
    });
  }
  it('valid nested values of every kind pass', () => {
    const text = '{"traceEvents": [{"ph": "X", "args": {"a": [1, -0.5, 2e10, 3E-2, true, false, null, "s\\"", {}, [], {"b": [[]]}]}}]}';
    let n = 0;
    scanBuffer(Buffer.from(text), { event() { n++; } }, 'ok.json', 5);
    assert.equal(n, 1);
  });
});

describe('scanner: args members recorded while validating (argMembers)', () => {
  /** Every event's args members as the scanner recorded them: [key, value text][] (null: not recorded). */
  function recorded(data: Buffer, chunk: number): ([string, string][] | null)[] {
    const out: ([string, string][] | null)[] = [];
    scanBuffer(data, {
      argMembers: true,
      event(ev) {
        if (ev.mn < 0) { out.push(null); return; }
        const ms: [string, string][] = [];
        for (let k = 0; k < ev.mn; k++) ms.push([ev.buf.toString('utf8', ev.m[4 * k]!, ev.m[4 * k + 1]!), ev.buf.toString('utf8', ev.m[4 * k + 2]!, ev.m[4 * k + 3]!)]);
        out.push(ms);
      },
    }, 'members', chunk);
    return out;
  }

  it('pdl-eager: the members of every args object equal an independent parse, at every chunk size', () => {
    const data = readDecompressed(PDL_EAGER);
    const raw = splitTrace(data);
    // independent: the test helpers' own object parser over each event's args value
    const expected = raw.spans.map(({ start }) => {
      const ev = objectMembers(data, start).members.find((m) => m.key === 'args');
      if (!ev || data[ev.vs] !== 0x7b) return null;
      return objectMembers(data, ev.vs).members.map((m): [string, string] => [JSON.stringify(m.key).slice(1, -1), data.toString('utf8', m.vs, m.ve)]);
    });
    assert.ok(expected.filter((e) => e !== null && e.length >= 2).length > 500);
    for (const c of [7, 64, 4096, data.length]) assert.deepEqual(recorded(data, c), expected, `chunk ${c}`);
  });

  it('an args object with more members than recorded, an args that is not an object, nested values', () => {
    const many = Object.fromEntries(Array.from({ length: ARG_MEMBERS_MAX + 1 }, (_, i) => [`k${i}`, i]));
    const trace = Buffer.from(`{"traceEvents": [{"ph": "X", "args": ${JSON.stringify(many)}}, {"ph": "X", "args": [1, 2]},
      {"ph": "X", "args": { "a": {"b": [1, {"c": "}"}]}, "d\\"e" : "x,y",\n "f": -1.5e3, "g": null, "h": [] }}, {"ph": "X"}]}`);
    const r = recorded(trace, 5);
    assert.equal(r[0], null);
    assert.equal(r[1], null);
    assert.deepEqual(r[2], [['a', '{"b": [1, {"c": "}"}]}'], ['d\\"e', '"x,y"'], ['f', '-1.5e3'], ['g', 'null'], ['h', '[]']]);
    assert.equal(r[3], null);
  });

  it('exactly ARG_MEMBERS_MAX members are all recorded; an empty args has none', () => {
    const full = Object.fromEntries(Array.from({ length: ARG_MEMBERS_MAX }, (_, i) => [`k${i}`, i]));
    const r = recorded(Buffer.from(`{"traceEvents": [{"ph": "X", "args": ${JSON.stringify(full)}}, {"ph": "X", "args": { }}]}`), 3);
    assert.equal(r[0]?.length, ARG_MEMBERS_MAX);
    assert.deepEqual(r[0]?.[ARG_MEMBERS_MAX - 1], [`k${ARG_MEMBERS_MAX - 1}`, String(ARG_MEMBERS_MAX - 1)]);
    assert.deepEqual(r[1], []);
  });

  it('a broken args object is rejected with the same message and byte with or without recording', () => {
    const broken = ['{"a" 1}', '{"a":}', '{,}', '{"a":1,}', '{"a":1 "b":2}', '{"a":1]', '{"a"}', '{"a": NaN}', '{"a": [1,]}', '{"a": 01}', '{1: 2}'];
    for (const args of broken) {
      const data = Buffer.from(`{"traceEvents": [{"ph": "X", "args": ${args}, "ts": 1}]}`);
      const message = (members: boolean): string => {
        try { scanBuffer(data, { argMembers: members, event() {} }, 'broken.json', 4); } catch (e) { return (e as Error).message; }
        return 'accepted';
      };
      const plain = message(false);
      assert.match(plain, /^broken\.json: not valid JSON/, args);
      assert.equal(message(true), plain, args);
    }
  });
});
