/**
 * Per-rank summary: profiled span, GPU busy time (interval union per device, so overlapping
 * kernels count once), idle time, utilization, time by category, and how much communication
 * overlaps compute.
 */
import type { Categorizer } from './categories.js';
import { intersectionTotal } from './intervals.js';
import { categoryStats, type CategoryStat } from './kernels.js';
import type { RankData, RankTimeline } from './timeline.js';

export interface RankSummary {
  label: string;
  file: string;
  rank: number | null;
  /** Devices (GPU pids) with activity. */
  devices: number;
  /** Device activities (kernels + memcpy + memset). */
  kernels: number;
  /** Earliest start to latest end over all timed events of the rank (CPU and GPU). */
  spanUs: number;
  /** First to last device activity. */
  deviceSpanUs: number;
  /** Union of kernel, memcpy and memset intervals, summed over devices. */
  busyUs: number;
  /** devices × span − busy. */
  idleUs: number;
  /** busy / (devices × span); null without device activity. */
  utilization: number | null;
  /** Sum of durations per category (overlapping kernels each counted); share of busy time. */
  categories: CategoryStat[];
  /** Union of communication kernels. */
  communicationUs: number;
  /** Union of compute kernels (not communication, memcpy or memset). */
  computeUs: number;
  /** Communication time during which compute ran on the same device. */
  overlapUs: number;
  /** overlap / communication; null without communication. */
  overlapShare: number | null;
  /** Communication not hidden behind compute. */
  exposedCommunicationUs: number;
}

const us = (ns: number): number => Math.round(ns) / 1000;

export function rankSummary(rank: RankData, t: RankTimeline, cats: Categorizer): RankSummary {
  const span = Number.isFinite(t.spanStart) ? t.spanEnd - t.spanStart : 0;
  let first = Infinity;
  let last = -Infinity;
  let overlap = 0;
  let activities = 0;
  for (const d of t.devices) {
    if (d.first < first) first = d.first;
    if (d.last > last) last = d.last;
    overlap += intersectionTotal(d.communication, d.compute);
    activities += d.activities;
  }
  const capacity = span * t.devices.length;
  return {
    label: rank.label,
    file: rank.file,
    rank: rank.rank,
    devices: t.devices.length,
    kernels: activities,
    spanUs: us(span),
    deviceSpanUs: us(Number.isFinite(first) ? last - first : 0),
    busyUs: us(t.busyNs),
    idleUs: us(Math.max(0, capacity - t.busyNs)),
    utilization: capacity > 0 ? t.busyNs / capacity : null,
    categories: categoryStats([rank], cats, t.busyNs),
    communicationUs: us(t.communicationNs),
    computeUs: us(t.computeNs),
    overlapUs: us(overlap),
    overlapShare: t.communicationNs > 0 ? overlap / t.communicationNs : null,
    exposedCommunicationUs: us(t.communicationNs - overlap),
  };
}
