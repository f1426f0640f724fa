/**
 * The comm view as report sections: bandwidth per collective and size, waiting per rank,
 * exposed communication per step, kernels slowed beside communication, and for torch_npu
 * ranks the vendor's communication totals, bandwidth per transport type and link, and the
 * slow-rank / slow-link verdicts.
 */
import { uniqueShortNames } from '../analysis/names.js';
import type { DiffResult } from '../analysis/diff.js';
import type { StatsResult } from '../analysis/result.js';
import { count, duration } from './format.js';
import { col, dur, num, txt } from './cells.js';
import type { Cell, Section, SectionOptions } from './sections.js';

const fixed = (x: number | null, digits: number): Cell => ({ text: x === null ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }), value: x });

/** Bytes with a binary-free decimal unit: `33.55 MB`, `424 B`. */
export function bytesText(b: number | null): string {
  if (b === null) return '-';
  const u = [[1e12, 'TB'], [1e9, 'GB'], [1e6, 'MB'], [1e3, 'kB']] as const;
  for (const [f, name] of u) if (b >= f) return `${(b / f).toLocaleString('en-US', { maximumFractionDigits: 2 })}\u00a0${name}`;
  return `${b}\u00a0B`;
}

export function commSections(r: StatsResult, opts: SectionOptions): Section[] {
  const c = r.comm;
  if (!c) return [];
  const out: Section[] = [];
  const cl = c.collectives;
  if (cl) {
    const notes = [
      'latency: median over instances seen on every rank of the group of the shortest duration across ranks; algbw = bytes / latency; busbw = algbw × 2(n−1)/n (all-reduce), (n−1)/n (all-gather, reduce-scatter, all-to-all), 1 (broadcast, reduce, send/recv); skew: latest − earliest start (end) of an instance',
      ...cl.groups.map((g) => `process group ${g.name || '(unnamed)'}${g.desc ? ` (${g.desc})` : ''}: ${g.size} ranks${g.globalRanks ? ` [${g.globalRanks.join(', ')}]` : ''}, ${g.members.length} in the input; ${count(g.instances)} instances paired by ${g.pairedBy === 'seq' ? 'Seq' : 'order in the group'}, ${count(g.complete)} seen on every rank`),
    ];
    if (cl.straggler !== null) {
      const s = cl.perRank.find((p) => p.label === cl.straggler)!;
      notes.push(`straggler: ${cl.straggler} starts last in ${s.lastArrivals} of ${s.collectives} collectives (median ${duration(s.medianLatenessUs)} after the first rank)`);
    }
    out.push({
      view: 'comm', name: 'commBandwidth', title: 'Collectives by type and message size (bandwidth and skew)',
      columns: [
        col('group', 'group', 'left', { drop: 6 }), col('collective', 'collective', 'left'), col('dtype', 'dtype', 'left', { drop: 7 }),
        col('bytes', 'bytes'), col('n', 'ranks', 'right', { drop: 8 }), col('calls', 'calls'), col('paired', 'complete', 'right', { drop: 5 }),
        ...cl.ranks.map((l, k) => col(`${l} dur`, `durationUs.${l}`, 'right', { drop: 10 + k })),
        col('latency', 'latencyUs'), col('algbw GB/s', 'algbwGBs'), col('busbw GB/s', 'busbwGBs'),
        col('start skew med', 'startSkewMedianUs'), col('max', 'startSkewMaxUs', 'right', { drop: 3, longTitle: 'start skew max' }),
        col('last', 'startSkewMaxRank', 'left', { drop: 3, longTitle: 'last to start at max skew' }),
        col('end skew med', 'endSkewMedianUs', 'right', { drop: 4 }), col('max', 'endSkewMaxUs', 'right', { drop: 4, longTitle: 'end skew max' }),
      ],
      rows: cl.rows.map((x) => [
        txt(x.group), txt(x.collective), txt(x.dtype ?? '-', x.dtype), { text: bytesText(x.bytes), value: x.bytes }, num(x.ranks), num(x.calls), num(x.complete),
        ...x.durationUs.map((d) => dur(d)),
        dur(x.latencyUs), fixed(x.algbwGBs, 2), fixed(x.busbwGBs, 2),
        dur(x.startSkewMedianUs), dur(x.startSkewMaxUs), txt(x.startSkewMaxRank ?? '-', x.startSkewMaxRank),
        dur(x.endSkewMedianUs), dur(x.endSkewMaxUs),
      ]),
      notes,
    });
    out.push({
      view: 'comm', name: 'commWaiting', title: `Waiting in collectives per rank (median start skew ${duration(cl.medianSkewUs)})`,
      columns: [
        col('rank', 'label', 'left'), col('paired', 'collectives'), col('last', 'lastArrivals'), col('median late', 'medianLatenessUs'),
        col('total late', 'totalLatenessUs'), col('waiting', 'waitUs'), col('median wait', 'medianWaitUs'),
      ],
      rows: cl.perRank.map((p) => [txt(p.label), num(p.collectives), num(p.lastArrivals), dur(p.medianLatenessUs), dur(p.totalLatenessUs), dur(p.waitUs), dur(p.medianWaitUs)]),
      notes: [],
    });
  }
  if (c.phases.length > 0) {
    out.push({
      view: 'comm', name: 'commExposed', title: 'Communication hidden under compute and exposed (whole trace and per step)',
      columns: [col('rank', 'label', 'left'), col('phase', 'phase', 'left', { shrink: true, min: 12 }), col('comm', 'communicationUs'), col('hidden', 'hiddenUs'), col('exposed', 'exposedUs')],
      rows: c.phases.map((p) => [txt(p.label), txt(p.phase), dur(p.communicationUs), dur(p.hiddenUs), dur(p.exposedUs)]),
      notes: ['hidden: communication time during which compute kernels ran on the device (other streams); exposed = comm − hidden'],
    });
  }
  if (c.inflation.length > 0) {
    const short = opts.fullNames ? c.inflation.map((k) => k.name) : uniqueShortNames(c.inflation.map((k) => k.name));
    out.push({
      view: 'comm', name: 'commInflation', title: 'Compute kernels beside communication (median duration overlapped vs alone)',
      columns: [
        col('kernel', 'name', 'left', { shrink: true, min: 32 }), col('overlapped', 'overlappedCalls'), col('alone', 'aloneCalls'),
        col('median overlapped', 'overlappedMedianUs'), col('median alone', 'aloneMedianUs'), col('×', 'inflation'),
      ],
      rows: c.inflation.map((k, i) => [txt(short[i]!, k.name), num(k.overlappedCalls), num(k.aloneCalls), dur(k.overlappedMedianUs), dur(k.aloneMedianUs), fixed(k.inflation, 2)]),
      notes: [],
    });
  }
  const a = c.ascend;
  if (a) {
    out.push({
      view: 'comm', name: 'npuComm', title: 'torch_npu communication per rank (communication.json)',
      columns: [
        col('rank', 'label', 'left'), col('ops', 'ops'), col('elapse', 'elapseUs'), col('transit', 'transitUs'), col('wait', 'waitUs'),
        col('sync', 'syncUs'), col('idle', 'idleUs'), col('wait ratio', 'waitRatio'), col('sync ratio', 'syncRatio'),
      ],
      rows: a.perRank.map((p) => [txt(p.label), num(p.ops), dur(p.elapseUs), dur(p.transitUs), dur(p.waitUs), dur(p.syncUs), dur(p.idleUs), fixed(p.waitRatio, 4), fixed(p.syncRatio, 4)]),
      notes: a.verdicts.map((v) => `${v.rule}: ${v.verdict} [${v.source}]`),
    });
    out.push({
      view: 'comm', name: 'npuCommOps', title: 'torch_npu communication ops per rank',
      columns: [
        col('rank', 'label', 'left'), col('step', 'step', 'left', { drop: 3 }), col('op', 'name', 'left', { shrink: true, min: 16 }), col('elapse', 'elapseUs'),
        col('transit', 'transitUs'), col('wait', 'waitUs'), col('sync', 'syncUs'), col('idle', 'idleUs', 'right', { drop: 2 }),
        col('wait ratio', 'waitRatio'), col('sync ratio', 'syncRatio'),
      ],
      rows: a.ops.map((p) => [txt(p.label), txt(p.step), txt(p.name), dur(p.elapseUs), dur(p.transitUs), dur(p.waitUs), dur(p.syncUs), dur(p.idleUs), fixed(p.waitRatio, 4), fixed(p.syncRatio, 4)]),
      notes: [],
    });
    out.push({
      view: 'comm', name: 'npuTransport', title: 'torch_npu bandwidth per transport type (all ops)',
      columns: [col('rank', 'label', 'left'), col('transport', 'transport', 'left'), col('bytes', 'bytes'), col('transit', 'transitUs'), col('GB/s', 'bandwidthGBs')],
      rows: a.transports.map((t) => [txt(t.label), txt(t.transport), { text: bytesText(t.bytes), value: t.bytes }, dur(t.transitUs), fixed(t.bandwidthGBs, 2)]),
      notes: ['SDMA = HCCS + PCIE + SIO (the vendor\'s grouping)'],
    });
    out.push({
      view: 'comm', name: 'npuLinks', title: 'torch_npu bandwidth per link (communication_matrix.json, totals; group-local ranks)',
      columns: [
        col('rank', 'label', 'left'), col('step', 'step', 'left', { drop: 3 }), col('op', 'opType', 'left'), col('link', 'link', 'left'),
        col('transport', 'transport', 'left'), col('bytes', 'bytes'), col('transit', 'transitUs'), col('GB/s', 'bandwidthGBs'),
      ],
      rows: a.links.map((l) => [txt(l.label), txt(l.step), txt(l.opType), txt(l.link), txt(l.transport), { text: bytesText(l.bytes), value: l.bytes }, dur(l.transitUs), fixed(l.bandwidthGBs, 2)]),
      notes: [],
    });
  }
  return out;
}

/** `diff --by comm`: per collective and size, latency and busbw of both sides (not normalized: rates of one collective). */
export function commDiffSection(r: DiffResult): Section {
  const pct = (x: number | null): Cell => ({ text: x === null ? '-' : `${x > 0 ? '+' : x < 0 ? '\u2212' : ''}${Math.abs(x * 100).toFixed(1)}%`, value: x });
  return {
    view: 'comm', name: 'comm', title: 'Collectives by type and message size (latency and busbw per collective; calls per profile)',
    columns: [
      col('group', 'group', 'left', { drop: 5 }), col('collective', 'collective', 'left'), col('bytes', 'bytes'),
      col('calls', 'baselineCalls', 'right', { drop: 3, longTitle: 'baseline calls' }), col('calls′', 'candidateCalls', 'right', { drop: 4, longTitle: 'candidate calls' }),
      col('latency', 'baselineLatencyUs', 'right', { longTitle: 'baseline latency' }), col('latency′', 'candidateLatencyUs', 'right', { longTitle: 'candidate latency' }),
      col('Δ%', 'latencyChange'),
      col('busbw', 'baselineBusbwGBs', 'right', { longTitle: 'baseline busbw GB/s' }), col('busbw′', 'candidateBusbwGBs', 'right', { longTitle: 'candidate busbw GB/s' }),
      col('Δ%', 'busbwChange', 'right', { longTitle: 'busbw change' }),
    ],
    rows: (r.comm ?? []).map((x) => [
      txt(x.group), txt(x.collective), { text: bytesText(x.bytes), value: x.bytes },
      x.baseline ? num(x.baseline.calls) : txt('-', null), x.candidate ? num(x.candidate.calls) : txt('-', null),
      dur(x.baseline?.latencyUs ?? null), dur(x.candidate?.latencyUs ?? null), pct(x.latencyChange),
      fixed(x.baseline?.busbwGBs ?? null, 2), fixed(x.candidate?.busbwGBs ?? null, 2), pct(x.busbwChange),
    ]),
    notes: ['primed columns (′) are the candidate, the others the baseline; latency and busbw are per collective, not normalized'],
  };
}
