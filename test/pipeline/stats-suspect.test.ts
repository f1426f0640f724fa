import { test } from 'node:test';
import assert from 'node:assert/strict';

import { statsOf } from '../../src/pipeline/stats.js';
import { edgeFixture, loadTraceFile, realKinetoTraces, slicesOf, type Slice } from '../helpers.js';

const ROCM = edgeFixture('rocm-inflated-kernel-dur.json');
const DEVICE = new Set(['kernel', 'gpu_memcpy', 'gpu_memset', 'Kernel', 'Memcpy', 'Memset']);

/** Busy time (µs) of slices: the union of their intervals per device pid, from the exact decimal text. */
function busyUs(slices: readonly Slice[]): number {
  const byPid = new Map<string, Slice[]>();
  for (const s of slices) {
    const pid = s.ev.pidRaw ?? '';
    const l = byPid.get(pid);
    if (l) l.push(s); else byPid.set(pid, [s]);
  }
  let fs = 0n;
  for (const l of byPid.values()) {
    l.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    let lo = -1n, hi = -1n;
    for (const s of l) {
      if (s.ts > hi) { if (hi > lo) fs += hi - lo; lo = s.ts; hi = s.end; } else if (s.end > hi) hi = s.end;
    }
    if (hi > lo) fs += hi - lo;
  }
  return Number(fs / 1_000_000n) / 1000;
}

test('stats reports device activities whose duration cannot be real, and --drop-suspect leaves them out of busy time', async () => {
  const dev = slicesOf(loadTraceFile(ROCM)).filter((s) => DEVICE.has(s.ev.cat ?? ''));
  // independently: the slice that entirely contains 3 or more later slices of its track
  const suspects = dev.filter((s) => dev.filter((o) => o.track === s.track && o.ts > s.ts && o.end <= s.end).length >= 3);
  assert.equal(suspects.length, 1);
  const kept = dev.filter((s) => !suspects.includes(s));

  const counted = await statsOf([ROCM], { views: ['summary'] });
  const d = counted.diagnostics.find((x) => x.name === 'suspect_device_duration');
  assert.equal(d?.count, 1);
  assert.equal(d.examples[0]?.name, suspects[0]!.ev.name);
  assert.ok(counted.notes.some((n) => /1 device activity .* counted as recorded; --drop-suspect/.test(n)), counted.notes.join('\n'));
  assert.equal(counted.summary![0]!.busyUs, busyUs(dev));

  const dropped = await statsOf([ROCM], { views: ['summary', 'kernel'], dropSuspect: true });
  assert.ok(dropped.notes.some((n) => /left out of every view \(--drop-suspect\)/.test(n)));
  assert.equal(dropped.summary![0]!.busyUs, busyUs(kept));
  assert.ok(dropped.summary![0]!.busyUs < counted.summary![0]!.busyUs);
  const name = suspects[0]!.ev.name!;
  const calls = (r: typeof dropped): number => r.kernels!.find((k) => k.name === name)?.calls ?? 0;
  assert.equal(calls(dropped), dev.filter((s) => s.ev.name === name).length - 1);
});

test('no suspect device durations in the statistics of any real trace', async () => {
  for (const file of realKinetoTraces()) {
    const r = await statsOf([file], { views: ['summary'] });
    assert.equal(r.diagnostics.find((x) => x.name === 'suspect_device_duration'), undefined, file);
  }
});
