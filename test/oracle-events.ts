/**
 * The tests' own plain reading of a trace (JSON.parse of the whole file, events as objects):
 * the independent side the attribution and replay tests compare the code with.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export type Ev = { ph: string; cat?: string; name: string; pid?: unknown; tid?: unknown; ts?: number; dur?: number; args?: Record<string, unknown> };

/** Every event of a (gzipped or plain, object or array form) trace. */
export const load = (file: string): Ev[] => {
  const raw = readFileSync(file);
  const t = JSON.parse((raw[0] === 0x1f ? gunzipSync(raw) : raw).toString('utf8')) as { traceEvents: Ev[] } | Ev[];
  return Array.isArray(t) ? t : t.traceEvents;
};
/** µs as parsed by JSON.parse, to whole ns. */
export const ns = (us: number | undefined): number => Math.round((us ?? 0) * 1000);
export const DEVICE = new Set(['kernel', 'gpu_memcpy', 'gpu_memset']);
export const RUNTIME = new Set(['cuda_runtime', 'cuda_driver']);
export const corrOf = (e: Ev): unknown => e.args?.['correlation'];

/** The kernels of each graph launch (by correlation with a `*GraphLaunch` call), ts order. */
export function graphReplays(ev: Ev[]): { corr: unknown; kernels: Ev[] }[] {
  const graphCorr = new Set(ev.filter((e) => e.ph === 'X' && /GraphLaunch/.test(e.name)).map(corrOf));
  const by = new Map<unknown, Ev[]>();
  for (const e of ev) {
    if (e.ph !== 'X' || !DEVICE.has(e.cat ?? '') || !graphCorr.has(corrOf(e))) continue;
    const l = by.get(corrOf(e)) ?? [];
    l.push(e);
    by.set(corrOf(e), l);
  }
  return [...by].map(([corr, l]) => ({ corr, kernels: l.sort((a, b) => a.ts! - b.ts!) }));
}
