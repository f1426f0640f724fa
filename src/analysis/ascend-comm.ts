/**
 * The comm view of torch_npu ranks, from their communication.json / communication_matrix.json
 * (formats/ascend-comm.ts): per rank and op the vendor's elapse / transit / wait /
 * synchronization / idle time, bandwidth per transport type and per link, and slow-rank /
 * slow-link verdicts with msprof's own rules (docs ASCEND.md §2.2–2.4):
 *
 * - slow rank, per op (msprof `analysis/mscalculate/cluster/slow_rank_calculator.py calculate`,
 *   thresholds `common_func/ms_constant/number_constant.py` WAIT_TIME_THRESHOLD = 0.2): take the
 *   rank with the largest wait ratio wait/(wait+transit); above 0.2 it is a communication
 *   problem: if that rank's synchronization ratio sync/(sync+transit) is above 0.2 too, the rank
 *   with the smallest wait ratio is slow (it computes longer, the others wait for it), else the
 *   bandwidths between ranks are inconsistent; at or below 0.2, no slow rank. When transit time
 *   is about zero on a rank of the op (< 1 µs) both ratios are ~1 whatever happened: no verdict.
 * - slow link (msprof `communication_matrix_calculator.py slowest_rule`): per step, group, op
 *   type and transport type, over the `total` entries of every rank's matrix (LOCAL links and
 *   links without transit time left out), the slowest link is slow when its bandwidth is
 *   ≤ 0.8 × the average bandwidth of the links of that type. Needs two links.
 * - rank bandwidth spread (msprof-analyze `advisor/analyzer/cluster/slow_link_analyzer.py` with
 *   `get_global_step_rank`): per transport type (SDMA, RDMA) each rank's bytes / transit time
 *   over all ops; (max − min) / mean ≥ 0.05 names the rank with the lowest bandwidth.
 * msprof's bandwidth-utilisation rule needs the chip's standard bandwidth, which the files do
 * not name: not applied.
 */
import type { AscendCommFiles, AscendCommOp } from '../formats/ascend-comm.js';

export const WAIT_TIME_THRESHOLD = 0.2;
export const SLOW_LINK_RATIO = 0.8;
export const RANK_SPREAD_THRESHOLD = 0.05;
/** Transit time below this (ns) cannot support a wait-ratio verdict. */
const MIN_TRANSIT_NS = 1000;

const us = (ns: number): number => Math.round(ns) / 1000;
const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

export interface AscendCommRank {
  label: string;
  rank: number | null;
  ops: number;
  elapseUs: number;
  transitUs: number;
  waitUs: number;
  syncUs: number;
  idleUs: number;
  /** wait / (wait + transit), sync / (sync + transit) over all ops (null when both are 0). */
  waitRatio: number | null;
  syncRatio: number | null;
}

export interface AscendCommOpRow extends Omit<AscendCommRank, 'ops'> {
  step: string;
  kind: string;
  name: string;
  group: string;
}

export interface AscendTransportRow {
  label: string;
  transport: string;
  bytes: number;
  transitUs: number;
  /** bytes / transit time (GB/s); null when no transit time. */
  bandwidthGBs: number | null;
}

export interface AscendLinkRow {
  label: string;
  step: string;
  group: string;
  opType: string;
  /** Group-local ranks. */
  link: string;
  transport: string;
  bytes: number;
  transitUs: number;
  bandwidthGBs: number | null;
}

export interface AscendVerdict {
  rule: 'slow rank' | 'slow link' | 'rank bandwidth';
  /** Where the rule comes from. */
  source: string;
  /** What it found ('no verdict: ...' when the data cannot support one). */
  verdict: string;
  /** The rank label or link it names, when it names one. */
  subject: string | null;
  supported: boolean;
}

export interface AscendCommView {
  perRank: AscendCommRank[];
  ops: AscendCommOpRow[];
  transports: AscendTransportRow[];
  links: AscendLinkRow[];
  verdicts: AscendVerdict[];
}

export interface AscendCommInput { label: string; rank: number | null; files: AscendCommFiles }

const ratio = (a: number, transit: number): number | null => (a + transit > 0 ? a / (a + transit) : null);
const isTotal = (o: AscendCommOp): boolean => o.name === 'Total Op Info';

function timesOf(list: readonly AscendCommOp[]): { elapse: number; transit: number; wait: number; sync: number; idle: number } {
  const t = { elapse: 0, transit: 0, wait: 0, sync: 0, idle: 0 };
  for (const o of list) { t.elapse += o.elapseNs; t.transit += o.transitNs; t.wait += o.waitNs; t.sync += o.syncNs; t.idle += o.idleNs; }
  return t;
}

/**
 * Smallest group size the matrices imply, by the last 3 digits of the group hash: links name
 * group-local ranks, so a group has more ranks than its largest local rank (rank 0 of an
 * 8-rank ring links to 1 and 7). Only when a link goes past the rank's own index.
 */
export function hcomGroupSizes(inputs: readonly AscendCommInput[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const inp of inputs) for (const l of inp.files.links) {
    const k = l.group.slice(-3);
    const n = Math.max(l.src, l.dst) + 1;
    if (k !== '' && n > (out.get(k) ?? 0)) out.set(k, n);
  }
  return out;
}

export function ascendCommView(inputs: readonly AscendCommInput[]): AscendCommView {
  const perRank: AscendCommRank[] = [];
  const ops: AscendCommOpRow[] = [];
  const transports: AscendTransportRow[] = [];
  const links: AscendLinkRow[] = [];
  for (const inp of inputs) {
    const list = inp.files.ops.filter((o) => !isTotal(o));
    const t = timesOf(list);
    perRank.push({
      label: inp.label, rank: inp.rank, ops: list.length, elapseUs: us(t.elapse), transitUs: us(t.transit), waitUs: us(t.wait),
      syncUs: us(t.sync), idleUs: us(t.idle), waitRatio: nr(ratio(t.wait, t.transit)), syncRatio: nr(ratio(t.sync, t.transit)),
    });
    for (const o of list) {
      ops.push({
        label: inp.label, rank: inp.rank, step: o.step, kind: o.kind, name: o.name, group: o.group,
        elapseUs: us(o.elapseNs), transitUs: us(o.transitNs), waitUs: us(o.waitNs), syncUs: us(o.syncNs), idleUs: us(o.idleNs),
        waitRatio: nr(ratio(o.waitNs, o.transitNs)), syncRatio: nr(ratio(o.syncNs, o.transitNs)),
      });
    }
    const byType = new Map<string, { bytes: number; ns: number }>();
    for (const o of list) for (const b of o.bandwidth) {
      const x = byType.get(b.transport) ?? { bytes: 0, ns: 0 };
      x.bytes += b.bytes; x.ns += b.ns;
      byType.set(b.transport, x);
    }
    for (const [transport, x] of byType) {
      if (x.bytes === 0 && x.ns === 0) continue;
      transports.push({ label: inp.label, transport, bytes: x.bytes, transitUs: us(x.ns), bandwidthGBs: x.ns > 0 ? r4(x.bytes / x.ns) : null });
    }
    for (const l of inp.files.links) {
      if (l.which !== 'total') continue;
      links.push({
        label: inp.label, step: l.step, group: l.group, opType: l.opType, link: `${l.src}-${l.dst}`, transport: l.transport,
        bytes: l.bytes, transitUs: us(l.ns), bandwidthGBs: l.ns > 0 ? r4(l.bytes / l.ns) : null,
      });
    }
  }
  return { perRank, ops, transports, links, verdicts: [slowRank(inputs), ...slowLinks(links), ...rankSpread(transports)] };
}

const nr = (x: number | null): number | null => (x === null ? null : r4(x));

const SLOW_RANK_SRC = 'msprof slow_rank_calculator.py (WAIT_TIME_THRESHOLD 0.2)';

/** The wait-ratio rule per op, summed up over the ops. */
function slowRank(inputs: readonly AscendCommInput[]): AscendVerdict {
  const byOp = new Map<string, { label: string; op: AscendCommOp }[]>();
  for (const inp of inputs) for (const op of inp.files.ops) {
    if (isTotal(op)) continue;
    const k = `${op.step}\u0000${op.group}\u0000${op.name}`;
    let l = byOp.get(k);
    if (!l) byOp.set(k, (l = []));
    l.push({ label: inp.label, op });
  }
  const slow = new Map<string, number>();
  let inconsistent = 0, fine = 0, unsupported = 0, single = 0;
  for (const l of byOp.values()) {
    if (l.length < 2) { single++; continue; }
    if (l.some((x) => x.op.transitNs < MIN_TRANSIT_NS)) { unsupported++; continue; }
    const w = l.map((x) => ({ label: x.label, wait: ratio(x.op.waitNs, x.op.transitNs)!, sync: ratio(x.op.syncNs, x.op.transitNs)! }));
    const max = w.reduce((a, b) => (b.wait > a.wait ? b : a));
    const min = w.reduce((a, b) => (b.wait < a.wait ? b : a));
    if (max.wait <= WAIT_TIME_THRESHOLD) fine++;
    else if (max.sync > WAIT_TIME_THRESHOLD) slow.set(min.label, (slow.get(min.label) ?? 0) + 1);
    else inconsistent++;
  }
  const judged = byOp.size - single - unsupported;
  const tail = [unsupported > 0 ? `${unsupported} op(s) without transit time (< 1 µs) on a rank give no verdict` : '',
    single > 0 ? `${single} op(s) seen on one rank only` : ''].filter((x) => x !== '').join('; ');
  const withTail = (s: string): string => (tail ? `${s} (${tail})` : s);
  if (judged === 0) {
    return { rule: 'slow rank', source: SLOW_RANK_SRC, verdict: withTail(byOp.size === 0 ? 'no verdict: no communication ops' : 'no verdict: no op can be compared across ranks'), subject: null, supported: false };
  }
  const top = [...slow].sort((a, b) => b[1] - a[1])[0];
  const counts = `${top ? `${top[0]} slow in ${top[1]}` : 'no rank slow'}, bandwidths inconsistent in ${inconsistent}, no problem in ${fine}, of ${judged} ops`;
  if (top) {
    return { rule: 'slow rank', source: SLOW_RANK_SRC, verdict: withTail(`${top[0]} is the slow rank: the others wait for it (wait and synchronization ratios > 0.2; it computes longer before the collective) — ${counts}`), subject: top[0], supported: true };
  }
  if (inconsistent > 0) {
    return { rule: 'slow rank', source: SLOW_RANK_SRC, verdict: withTail(`no slow rank, but wait ratios above 0.2 without synchronization: bandwidths between ranks are inconsistent — ${counts}`), subject: null, supported: true };
  }
  return { rule: 'slow rank', source: SLOW_RANK_SRC, verdict: withTail(`no slow rank: the largest wait ratio is ≤ 0.2 in every op — ${counts}`), subject: null, supported: true };
}

const SLOW_LINK_SRC = 'msprof communication_matrix_calculator.py slowest_rule (≤ 0.8 × average)';

function slowLinks(links: readonly AscendLinkRow[]): AscendVerdict[] {
  const by = new Map<string, AscendLinkRow[]>();
  for (const l of links) {
    if (l.transport === 'LOCAL' || l.bandwidthGBs === null) continue;
    const k = `${l.step}\u0000${l.group}\u0000${l.opType}\u0000${l.transport}`;
    let x = by.get(k);
    if (!x) by.set(k, (x = []));
    x.push(l);
  }
  const out: AscendVerdict[] = [];
  for (const list of by.values()) {
    const f = list[0]!;
    const what = `${f.transport} links of ${f.opType} (group ${f.group}, ${f.step})`;
    if (list.length < 2) {
      out.push({ rule: 'slow link', source: SLOW_LINK_SRC, verdict: `no verdict: one ${what} has transit time`, subject: null, supported: false });
      continue;
    }
    const avg = list.reduce((a, l) => a + l.bandwidthGBs!, 0) / list.length;
    const slowest = list.reduce((a, b) => (b.bandwidthGBs! < a.bandwidthGBs! ? b : a));
    const name = `link ${slowest.link} (${slowest.label})`;
    if (slowest.bandwidthGBs! <= SLOW_LINK_RATIO * avg) {
      out.push({ rule: 'slow link', source: SLOW_LINK_SRC, verdict: `${name} is slow: ${slowest.bandwidthGBs} GB/s ≤ 0.8 × the average ${r4(avg)} GB/s of ${list.length} ${what}`, subject: name, supported: true });
    } else {
      out.push({ rule: 'slow link', source: SLOW_LINK_SRC, verdict: `no slow link: the slowest, ${name} at ${slowest.bandwidthGBs} GB/s, is above 0.8 × the average ${r4(avg)} GB/s of ${list.length} ${what}`, subject: null, supported: true });
    }
  }
  return out;
}

const SPREAD_SRC = 'msprof-analyze advisor slow_link_analyzer.py ((max − min) / mean ≥ 0.05)';

function rankSpread(rows: readonly AscendTransportRow[]): AscendVerdict[] {
  const out: AscendVerdict[] = [];
  for (const t of ['SDMA', 'RDMA']) {
    const l = rows.filter((r) => r.transport === t && r.bandwidthGBs !== null);
    if (l.length === 0) continue;
    if (l.length < 2) { out.push({ rule: 'rank bandwidth', source: SPREAD_SRC, verdict: `no verdict: ${t} bandwidth of one rank only`, subject: null, supported: false }); continue; }
    const bw = l.map((r) => r.bandwidthGBs!);
    const mean = bw.reduce((a, b) => a + b, 0) / bw.length;
    const lo = l.reduce((a, b) => (b.bandwidthGBs! < a.bandwidthGBs! ? b : a));
    const spread = (Math.max(...bw) - Math.min(...bw)) / mean;
    out.push(spread >= RANK_SPREAD_THRESHOLD
      ? { rule: 'rank bandwidth', source: SPREAD_SRC, verdict: `${t}: ${lo.label} has the lowest bandwidth, ${lo.bandwidthGBs} GB/s; spread (max − min) / mean = ${r4(spread)} ≥ 0.05`, subject: lo.label, supported: true }
      : { rule: 'rank bandwidth', source: SPREAD_SRC, verdict: `${t}: ranks within ${r4(spread * 100)}% of each other (< 5%): no rank to point at`, subject: null, supported: true });
  }
  return out;
}
