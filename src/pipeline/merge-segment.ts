/**
 * Pass 2 of `merge` for one rank, written as a segment (raw deflate blocks, or plain JSON) that
 * the main thread splices into the output: the events of the rank, each preceded by its
 * separator, with their merged identity (see MergeRewriter), then the rank's added metadata.
 * Runs on a worker thread, so ranks are rewritten and compressed in parallel.
 */
import { scanFile } from '../io/read.js';
import { OutputFile, type SegmentInfo } from '../io/writer.js';
import { TraceWriter, type Patch } from '../io/trace-writer.js';
import { MergeRewriter, offsetId, type TrackFilter } from '../transforms/merge-rewrite.js';
import { readTraceBytes } from '../io/source.js';
import { PATCH_ARG_ID, PATCH_FLOW_ID, PATCH_PID, PATCH_PROC_NAME, PATCH_PROC_SORT, PATCH_THREAD_SORT, PatchLogReader } from '../io/patch-log.js';
import { ID_STRIDE, type RankPlan } from '../transforms/merge-plan.js';
import { nameMatcher, type NameFilter } from './rank-index.js';

export interface SegmentRequest {
  plan: RankPlan;
  tracks: TrackFilter;
  window?: [number, number];
  names?: NameFilter;
  /** Segment file (a `.gz` name gives raw deflate). */
  path: string;
  /** Splice with pass 1's patch log instead of parsing the rank again. */
  splice?: boolean;
  gzipLevel?: number;
}

export interface SegmentResult {
  segment: SegmentInfo;
  /** Input events kept by the filters. */
  kept: number;
  /** Events written (kept + added metadata). */
  written: number;
}

/**
 * offsetId for an id written as a plain decimal integer of at most 15 characters, read from the
 * bytes: the id plus `offset`, or NaN when offsetId must handle it (a string id, a longer number,
 * a sum past 2^53). Equal to `Number(offsetId(text, offset, k))` whenever it is not NaN.
 */
export function offsetIdAt(b: Buffer, s: number, e: number, offset: number): number {
  const n = e - s;
  if (n === 0 || n > 15) return NaN;
  let i = s;
  const negative = b[i] === 0x2d;
  if (negative) { i++; if (i === e) return NaN; }
  let v = 0;
  for (; i < e; i++) {
    const c = b[i]! - 0x30;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  const sum = (negative ? -v : v) + offset;
  return Number.isSafeInteger(sum) ? sum : NaN;
}

export async function writeRankSegment(req: SegmentRequest, progress?: (compressedBytes: number) => void): Promise<SegmentResult> {
  const out = await OutputFile.open(req.path, { segment: true, ...(req.gzipLevel !== undefined ? { gzipLevel: req.gzipLevel } : {}) });
  try {
    const match = nameMatcher(req.names);
    const rw = new MergeRewriter(req.plan, { tracks: req.tracks, ...(req.window ? { window: req.window } : {}), ...(match ? { match } : {}) });
    const w = new TraceWriter(out, 'object');
    const patches: Patch[] = [];
    await scanFile(req.plan.scan.path, {
      event(ev) {
        patches.length = 0;
        if (rw.rewrite(ev, patches)) w.event(ev.buf, ev.start, ev.end, patches);
      },
    }, { afterChunk: async (_b, c) => { progress?.(c); await out.ready(); } });
    for (const e of rw.extraEvents()) w.eventText(e);
    await out.commit();
    return { segment: out.segmentInfo(), kept: rw.kept, written: w.events };
  } catch (e) {
    await out.abort();
    throw e;
  }
}

/**
 * Pass 2 without parsing: the rank's events region is copied byte for byte, the spans recorded
 * by pass 1 (pids, flow ids, correlation / External id, process labels and sort indices) and the
 * tids of moved slices are replaced, and the added metadata goes before the closing ']'. Used
 * when no filter is set and no rank's clock has to move (see mergeJob).
 */
export async function spliceRankSegment(req: SegmentRequest, progress?: (compressedBytes: number) => void): Promise<SegmentResult> {
  const plan = req.plan;
  const sp = plan.scan.splice!;
  const out = await OutputFile.open(req.path, { segment: true, ...(req.gzipLevel !== undefined ? { gzipLevel: req.gzipLevel } : {}) });
  const log = new PatchLogReader(sp.log);
  try {
    const pidPlan = sp.pids.map((raw) => plan.pids.get(raw));
    // replacement texts computed once per pid
    const pidText = pidPlan.map((p) => (p ? String(p.newPid) : undefined));
    // the pid patch comes once per event: its bytes are copied, not encoded from a string each time
    const pidBytes = pidText.map((t) => (t !== undefined ? Buffer.from(t, 'latin1') : undefined));
    const labelText = pidPlan.map((p) => (p ? JSON.stringify(p.label) : undefined));
    const rw = new MergeRewriter(plan, { tracks: 'all' });
    const renumber = new Map<string, string>();
    const idOffset = Number(plan.idOffset);
    // offset ids written as digits straight into the output (writeOffsetId), else as offsetId's text
    const offsetDigits = plan.idOffset !== 0n && Number.isSafeInteger(idOffset);
    // offsets are k * 10^10: an id of 1-10 digits becomes k's digits, zeros to 10 digits, its own
    // digits — bytes copied, no arithmetic (the same text as String(id + offset))
    const strideDigits = plan.idOffset % ID_STRIDE === 0n ? Buffer.from((plan.idOffset / ID_STRIDE).toString(), 'latin1') : undefined;
    /** An id offset by idOffset written as bytes when it is a plain decimal integer; false leaves it to offsetId. */
    const writeOffsetId = (chunk: Buffer, from: number, to: number): boolean => {
      if (!offsetDigits) return false;
      if (strideDigits && to > from && to - from <= 10) {
        // k's digits, zeros up to 10 digits, the id's digits: one claim of the output, no calls
        const n = to - from;
        const buf = out.claim(strideDigits.length + 10);
        const at = out.claimAt;
        let u = at;
        for (let i = 0; i < strideDigits.length; i++) buf[u++] = strideDigits[i]!;
        for (let i = n; i < 10; i++) buf[u++] = 0x30;
        let i = from;
        for (; i < to; i++) { const c = chunk[i]!; if (c < 0x30 || c > 0x39) break; buf[u++] = c; }
        if (i === to) { out.advance(u - at); return true; }
        // not all digits (a string id, a sign): nothing was advanced, offsetIdAt / offsetId write it
      }
      const v = offsetIdAt(chunk, from, to, idOffset);
      if (v !== v) return false;
      out.writeInteger(v);
      return true;
    };
    /** Writes the logged span chunk[from, to): its replacement, or its own bytes when it has none. */
    const writePatch = (kind: number, aux: number, chunk: Buffer, from: number, to: number): void => {
      let text: string | undefined;
      switch (kind) {
        case PATCH_PID: {
          const pb = pidBytes[aux];
          if (pb) { out.writeRange(pb, 0, pb.length); return; }
          break;
        }
        case PATCH_PROC_NAME: text = labelText[aux]; break;
        case PATCH_PROC_SORT: text = pidText[aux]; break;
        case PATCH_THREAD_SORT: { const v = sp.threadSort.get(aux); if (v !== undefined) text = String(v); break; }
        case PATCH_FLOW_ID:
        case PATCH_ARG_ID: {
          if (plan.idOffset === 0n) break;
          if (kind === PATCH_FLOW_ID && plan.scan.unsafeFlowIds) {
            const o = chunk.toString('latin1', from, to);
            let id = renumber.get(o);
            if (id === undefined) { id = String(idOffset + renumber.size + 1); renumber.set(o, id); }
            text = id;
            break;
          }
          if (writeOffsetId(chunk, from, to)) return;
          text = offsetId(chunk.toString('latin1', from, to), plan.idOffset, plan.k);
          break;
        }
        default:
      }
      if (text !== undefined) out.write(text); else out.writeRange(chunk, from, to);
    };
    const start = sp.eventsOpen + 1;
    const stop = sp.eventsClose;
    let t = 0; // next tid patch
    log.next();
    let pos = 0; // absolute offset of chunk[0]
    let carry: Buffer | undefined; // bytes of a patch cut by the chunk end, with what follows
    const info = { name: plan.scan.name, gzip: false, compressedBytes: 0 };
    for await (const raw of readTraceBytes(plan.scan.path, info)) {
      let chunk = raw;
      let base = pos;
      pos += raw.length;
      if (carry) { chunk = Buffer.concat([carry, raw]); base -= carry.length; carry = undefined; }
      const end = base + chunk.length;
      let at = Math.max(base, start); // next byte to copy
      for (;;) {
        const tidNext = t < sp.tidAt.length ? sp.tidAt[t]! : Infinity;
        const useTid = tidNext < log.at;
        const pAt = useTid ? tidNext : log.at;
        const pLen = useTid ? sp.tidLen[t]! : log.len;
        if (pAt >= stop || pAt >= end) break;
        if (pAt + pLen > end) { // the span continues in the next chunk: keep it for then
          if (pAt > at) out.writeRange(chunk, at - base, pAt - base);
          at = pAt;
          carry = chunk.subarray(pAt - base);
          break;
        }
        if (pAt > at) out.writeRange(chunk, at - base, pAt - base);
        if (useTid) { out.write(sp.tidText[t]!); t++; } else { writePatch(log.kind, log.aux, chunk, pAt - base, pAt - base + pLen); log.next(); }
        at = pAt + pLen;
      }
      if (carry) { /* the rest of this chunk waits in carry */ } else {
        const copyEnd = Math.min(end, stop);
        if (copyEnd > at) out.writeRange(chunk, at - base, copyEnd - base);
      }
      progress?.(info.compressedBytes);
      await out.ready();
      if (end >= stop && !carry) break;
    }
    const extras = rw.extraEvents();
    if (extras.length > 0) out.write((plan.scan.events > 0 ? ',\n' : '\n') + extras.join(',\n') + '\n');
    await out.commit();
    return { segment: out.segmentInfo(), kept: plan.scan.events, written: plan.scan.events + extras.length };
  } catch (e) {
    await out.abort();
    throw e;
  } finally {
    log.close();
  }
}
