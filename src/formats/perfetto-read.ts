/**
 * Reading a Perfetto TrackEvent trace back (for `check`): the packets are decoded with the
 * hand-written reader (src/io/protobuf.ts), slices are paired the way trace processor pairs them
 * (packets sorted by timestamp, then file position; an END closes the innermost open slice of its
 * track), and the result is written out as Chrome-trace JSON events (one JSON track per TrackEvent
 * track, named after it; flows as s/f pairs keyed by their flow id) — so `check` runs the very
 * same diagnostics on it as on a JSON trace. Memory: ~30 bytes per event plus the names.
 *
 * Only what traceforge writes is read: TrackDescriptor (uuid, name, parent, counter) and
 * TrackEvent (type, track_uuid, name / name_iid, categories / category_iids, flow ids, counter
 * values) with interned event names and categories; other packets are skipped.
 */
import { readTraceBytes, type SourceInfo } from '../io/source.js';
import { ProtoReader } from '../io/protobuf.js';
import { GrowableF64, GrowableU32, GrowableU8 } from '../model/growable.js';
import { TraceforgeError } from '../errors.js';

const TWO32 = 4294967296;

export interface PerfettoReadStats {
  packets: number;
  trackEvents: number;
  /** ENDs with no open slice on their track. */
  endWithoutBegin: number;
  /** BEGINs never ended. */
  beginWithoutEnd: number;
  /** Events referring to an interned id never defined (on a valid sequence). */
  unknownIids: number;
  /** Events on a track without a descriptor. */
  undescribedTracks: number;
}

interface TrackDesc { name: string; parent: number; counter: boolean }

/** Decodes `path` and returns it as Chrome-trace JSON text chunks (via `emit`). */
export async function perfettoAsJson(path: string, emit: (text: string) => void, info?: SourceInfo): Promise<PerfettoReadStats> {
  const stats: PerfettoReadStats = { packets: 0, trackEvents: 0, endWithoutBegin: 0, beginWithoutEnd: 0, unknownIids: 0, undescribedTracks: 0 };
  const tracks = new Map<number, TrackDesc>();
  const strings: string[] = [''];
  const stringId = new Map<string, number>([['', 0]]);
  const sid = (s: string): number => {
    let id = stringId.get(s);
    if (id === undefined) { id = strings.length; strings.push(s); stringId.set(s, id); }
    return id;
  };
  const seqNames = new Map<number, Map<number, number>>();
  const seqCats = new Map<number, Map<number, number>>();
  // events
  let first: bigint | undefined;
  let firstHi = 0, firstLo = 0;
  const eTs = new GrowableF64();
  const eTrack = new GrowableF64();
  const eType = new GrowableU8();
  const eName = new GrowableU32();
  const eCat = new GrowableU32();
  const eValue = new GrowableF64();
  /** flows: event ordinal, id as string id, 1 = terminating */
  const fEvent = new GrowableU32();
  const fId = new GrowableU32();
  const fTerm = new GrowableU8();

  const onPacket = (buf: Buffer, s: number, e: number): void => {
    stats.packets++;
    const r = new ProtoReader(buf, s, e);
    let hi = 0, lo = 0, hasTs = false, seq = 0, flags = 0;
    let te: [number, number] | undefined;
    let td: [number, number] | undefined;
    let interned: [number, number] | undefined;
    while (!r.done) {
      const f = r.next();
      if (f === 8 && r.wire === 0) { r.readVarint(); hi = r.hi; lo = r.lo; hasTs = true; }
      else if (f === 10 && r.wire === 0) seq = r.readVarint();
      else if (f === 13 && r.wire === 0) flags = r.readVarint();
      else if (f === 11 && r.wire === 2) te = r.len();
      else if (f === 60 && r.wire === 2) td = r.len();
      else if (f === 12 && r.wire === 2) interned = r.len();
      else r.skip();
    }
    if (flags & 1) { seqNames.set(seq, new Map()); seqCats.set(seq, new Map()); }
    if (interned) {
      const names = seqNames.get(seq) ?? new Map<number, number>();
      const cats = seqCats.get(seq) ?? new Map<number, number>();
      seqNames.set(seq, names); seqCats.set(seq, cats);
      const ir = new ProtoReader(buf, interned[0], interned[1]);
      while (!ir.done) {
        const f = ir.next();
        if ((f === 1 || f === 2) && ir.wire === 2) {
          const [a, b] = ir.len();
          const er = new ProtoReader(buf, a, b);
          let iid = 0, name = '';
          while (!er.done) {
            const g = er.next();
            if (g === 1 && er.wire === 0) iid = er.readVarint();
            else if (g === 2 && er.wire === 2) name = er.string();
            else er.skip();
          }
          (f === 1 ? cats : names).set(iid, sid(name));
        } else ir.skip();
      }
    }
    if (td) {
      const dr = new ProtoReader(buf, td[0], td[1]);
      let uuid = 0;
      const d: TrackDesc = { name: '', parent: 0, counter: false };
      while (!dr.done) {
        const f = dr.next();
        if (f === 1 && dr.wire === 0) uuid = dr.readVarint();
        else if (f === 2 && dr.wire === 2) d.name = dr.string();
        else if (f === 5 && dr.wire === 0) d.parent = dr.readVarint();
        else if (f === 8 && dr.wire === 2) { dr.len(); d.counter = true; }
        else dr.skip();
      }
      tracks.set(uuid, d);
    }
    if (!te) return;
    stats.trackEvents++;
    if (!hasTs) return;
    if (first === undefined) { first = (BigInt(hi) << 32n) | BigInt(lo); firstHi = hi; firstLo = lo; }
    const ord = eTs.length;
    eTs.push((hi - firstHi) * TWO32 + (lo - firstLo));
    const er = new ProtoReader(buf, te[0], te[1]);
    let type = 0, track = 0, name = 0, cat = 0, value = NaN;
    const names = seqNames.get(seq);
    const cats = seqCats.get(seq);
    while (!er.done) {
      const f = er.next();
      if (f === 9 && er.wire === 0) type = er.readVarint();
      else if (f === 11 && er.wire === 0) track = er.readVarint();
      else if (f === 10 && er.wire === 0) {
        const v = names?.get(er.readVarint());
        if (v === undefined) stats.unknownIids++; else name = v;
      } else if (f === 23 && er.wire === 2) name = sid(er.string());
      else if (f === 3 && er.wire === 0) {
        const v = cats?.get(er.readVarint());
        if (v === undefined) stats.unknownIids++; else if (cat === 0) cat = v;
      } else if (f === 22 && er.wire === 2) { const c = sid(er.string()); if (cat === 0) cat = c; }
      else if ((f === 47 || f === 48) && er.wire === 1) {
        er.fixed64();
        fEvent.push(ord); fId.push(sid(er.bigU().toString())); fTerm.push(f === 48 ? 1 : 0);
      } else if (f === 30 && er.wire === 0) { er.readVarint(); value = Number(BigInt.asIntN(64, er.bigU())); }
      else if (f === 44 && er.wire === 1) value = er.double();
      else er.skip();
    }
    eTrack.push(track);
    eType.push(type);
    eName.push(name);
    eCat.push(cat);
    eValue.push(value);
  };

  // the Trace: repeated `packet = 1` (length-delimited), read across chunks
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of readTraceBytes(path, info)) {
    let buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (at >= buf.length) break;
      const r = new ProtoReader(buf, at);
      let field: number, s: number, e: number;
      try {
        field = r.next();
        if (r.wire !== 2) throw new TraceforgeError('E_PARSE', `${path}: not a Perfetto trace (byte ${at}: field ${field} is not length-delimited)`, path, at);
        const n = r.readVarint();
        s = r.pos;
        e = s + n;
      } catch (err) {
        if (err instanceof TraceforgeError) throw err;
        break; // varint cut by the chunk
      }
      if (e > buf.length) break;
      if (field === 1) onPacket(buf, s, e);
      at = e;
    }
    pending = Buffer.from(buf.subarray(at));
    buf = pending;
  }
  if (pending.length > 0) throw new TraceforgeError('E_PARSE', `${path}: truncated Perfetto trace (${pending.length} bytes after the last whole packet)`, path);

  // pair slices in trace processor's order
  const n = eTs.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const ts = eTs.view();
  order.sort((a, b) => ts[a]! - ts[b]! || a - b);
  const trackIdx = new Map<number, number>();
  const stacks: number[][] = [];
  const sliceEnd = new Float64Array(n).fill(NaN);
  const tr = eTrack.view();
  const ty = eType.view();
  for (const i of order) {
    let t = trackIdx.get(tr[i]!);
    if (t === undefined) { t = stacks.length; trackIdx.set(tr[i]!, t); stacks.push([]); }
    if (ty[i] === 1) stacks[t]!.push(i);
    else if (ty[i] === 2) {
      const b = stacks[t]!.pop();
      if (b === undefined) stats.endWithoutBegin++; else sliceEnd[b] = ts[i]!;
    }
  }
  for (const st of stacks) stats.beginWithoutEnd += st.length;

  // JSON out: metadata, then events in file order
  const rootOf = (uuid: number): number => {
    let u = uuid;
    for (let k = 0; k < 64; k++) { const p = tracks.get(u)?.parent ?? 0; if (p === 0) return u; u = p; }
    return u;
  };
  for (const uuid of trackIdx.keys()) if (!tracks.has(uuid)) stats.undescribedTracks++;
  const usText = (rel: number): string => {
    const abs = (first ?? 0n) + BigInt(rel);
    const us = abs / 1000n;
    return `${us}.${(abs % 1000n).toString().padStart(3, '0')}`;
  };
  emit('{"traceEvents": [\n');
  let sep = '';
  const out = (s: string): void => { emit(sep + s); sep = ',\n'; };
  for (const [uuid, d] of tracks) {
    out(`{"ph": "M", "name": "thread_name", "pid": ${rootOf(uuid)}, "tid": ${uuid}, "args": {"name": ${JSON.stringify(d.name)}}}`);
  }
  for (const [uuid, d] of tracks) {
    if (d.parent === 0) out(`{"ph": "M", "name": "process_name", "pid": ${uuid}, "tid": 0, "args": {"name": ${JSON.stringify(d.name)}}}`);
  }
  // flows by event
  const fe = fEvent.view();
  const flowStart = new Uint32Array(n + 1);
  for (let k = 0; k < fe.length; k++) flowStart[fe[k]! + 1]!++;
  for (let i = 0; i < n; i++) flowStart[i + 1]! += flowStart[i]!;
  const nm = eName.view();
  const ct = eCat.view();
  const val = eValue.view();
  // in trace processor's order, so every track is sorted (file order means nothing here)
  for (const i of order) {
    const common = `"pid": ${rootOf(tr[i]!)}, "tid": ${tr[i]!}, "ts": ${usText(ts[i]!)}, "name": ${JSON.stringify(strings[nm[i]!])}${ct[i] ? `, "cat": ${JSON.stringify(strings[ct[i]!])}` : ''}`;
    if (ty[i] === 1 && !Number.isNaN(sliceEnd[i]!)) {
      const d = sliceEnd[i]! - ts[i]!;
      out(`{"ph": "X", ${common}, "dur": ${Math.floor(d / 1000)}.${String(d % 1000).padStart(3, '0')}}`);
    } else if (ty[i] === 3) out(`{"ph": "i", "s": "t", ${common}}`);
    else if (ty[i] === 4) out(`{"ph": "C", ${common}, "args": {"value": ${Number.isFinite(val[i]!) ? val[i]! : 0}}}`);
    if (ty[i] !== 1) continue;
    // events' flows are stored in event order: fEvent is sorted, so a CSR index finds them
    for (let k = flowStart[i]!; k < flowStart[i + 1]!; k++) {
      const term = fTerm.data[k] === 1;
      out(`{"ph": "${term ? 'f' : 's'}", "bp": "e", "cat": "flow", "id": "${strings[fId.data[k]!]}", "pid": ${rootOf(tr[i]!)}, "tid": ${tr[i]!}, "ts": ${usText(ts[i]!)}, "name": "flow"}`);
    }
  }
  emit('\n]}\n');
  return stats;
}
