/** ByteInterner: the same id for the same bytes, whichever path (last key, the one before, hash) finds it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ByteInterner } from '../../src/model/interner.js';

test('ByteInterner: ids by content, through the last-key, previous-key and hash paths; two-span keys keep their split', () => {
  const it = new ByteInterner();
  const b = Buffer.from('7 706 abc 7 706 ab c a bc', 'latin1');
  const at = (s: string, from = 0): [number, number] => { const i = b.indexOf(s, from); return [i, i + s.length]; };
  const [p1, p1e] = at('7');
  const [t1, t1e] = at('706');
  const [p2, p2e] = at('7', 5);
  const [t2, t2e] = at('706', 7);
  const a = it.intern(b, p1, p1e, t1, t1e); // new
  assert.equal(it.intern(b, p2, p2e, t2, t2e), a); // same bytes elsewhere: last key
  const abc = it.intern(b, ...at('abc'));
  assert.equal(it.intern(b, p1, p1e, t1, t1e), a); // previous key
  assert.equal(it.intern(b, ...at('abc')), abc); // previous key again (they alternate)
  const seven = it.intern(b, p1, p1e); // one span '7' is not '7' + '706'
  assert.notEqual(seven, a);
  const x = it.intern(b, ...at('ab', 12), ...at('c', 15)); // 'ab' | 'c'
  const y = it.intern(b, ...at('a', 20), ...at('bc', 20)); // 'a' | 'bc'
  assert.notEqual(x, y);
  assert.equal(it.intern(b, ...at('abc')), abc); // hash path: neither last nor previous
  assert.equal(it.size, 5);
  assert.equal(it.key(a).toString('latin1'), '7\u0001706');
  assert.equal(it.key(abc).toString('latin1'), 'abc');
  // many keys, asked in a shuffled order: each the id it got first
  const many = Buffer.from(Array.from({ length: 300 }, (_, i) => `k${i};`).join(''), 'latin1');
  const spans: [number, number][] = [];
  for (let i = 0, s = 0; i < 300; i++) { const e = many.indexOf(';', s); spans.push([s, e]); s = e + 1; }
  const ids = spans.map(([s, e]) => it.intern(many, s, e));
  for (let k = 0; k < 900; k++) { const i = (k * 7919) % 300; assert.equal(it.intern(many, ...spans[i]!), ids[i]); }
});
