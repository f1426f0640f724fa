/**
 * A resumable scanner for Chrome-trace JSON: bytes in (chunk by chunk), one event out at a time.
 *
 * Written by hand on purpose: streaming JSON libraries (stream-json, clarinet) tokenise every
 * value into JS objects and run at tens of MB/s; traceforge needs the event boundaries, the
 * byte spans of a few top-level fields, and the untouched original bytes, at hundreds of MB/s
 * (see bench/). Nothing here ever builds the file as one string, so inputs larger than V8's
 * maximum string length (~512 MB–1 GB) and larger than 2 GB work with bounded memory.
 *
 * Shapes accepted: the Kineto object form `{ ..., "traceEvents": [ {...}, ... ], ... }` and the
 * bare array form `[ {...}, ... ]` (torch_npu's trace_view.json).
 */
import { TraceforgeError } from '../errors.js';

/** Field ids of the top-level event keys the scanner records spans for. */
export const F = {
  ph: 0, pid: 1, tid: 2, ts: 3, dur: 4, name: 5, cat: 6, id: 7, bp: 8, args: 9, s: 10, bind_id: 11,
} as const;
export const FIELD_COUNT = 12;
export type FieldId = (typeof F)[keyof typeof F];

/**
 * One event as scanned: a view into the scanner's buffer. Valid only during the callback;
 * copy (`raw()`) what must outlive it.
 */
export interface ScannedEvent {
  /** The buffer holding the event bytes. */
  buf: Buffer;
  /** Event bytes are buf[start, end). */
  start: number;
  end: number;
  /** 0-based position of the event in the events array. */
  index: number;
  /** Byte offset of the event in the decompressed input. */
  offset: number;
  /** Value spans of known top-level keys: value of field k is buf[f[2k], f[2k+1]); -1 if absent. */
  f: Int32Array;
  /**
   * With a handler that sets `argMembers`: the direct members of the `args` object, recorded
   * while the scanner validates it — member k has its key (without quotes) at
   * buf[m[4k], m[4k+1]) and its value at buf[m[4k+2], m[4k+3]). `mn` is their number; -1 when
   * not recorded (no such handler, no object `args`, or more than ARG_MEMBERS_MAX members).
   */
  m: Int32Array;
  mn: number;
}

/** Members of `args` recorded per event (more: `mn` is -1 and readers walk the bytes). */
export const ARG_MEMBERS_MAX = 64;

/** A top-level entry other than the events: its raw key (with quotes) and raw value bytes. */
export interface TopLevelEntry {
  readonly key: string;
  readonly rawKey: Buffer;
  readonly rawValue: Buffer;
}

export interface ScanHandler {
  /** A top-level key/value other than traceEvents; `afterEvents` when it follows the array. */
  topLevel?(entry: TopLevelEntry, afterEvents: boolean): void;
  /** One event. */
  event(ev: ScannedEvent): void;
  /** Record the direct members of each event's `args` (ScannedEvent.m): read once, at construction. */
  readonly argMembers?: boolean;
}

export type TraceShape = 'object' | 'array';

const enum S {
  Start, ObjKey, ObjAfterValue, Events, EventsAfter, EventsElem, Done,
}

const WS = new Uint8Array(256);
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1;
/**
 * Byte classes outside strings inside nested values: 0 not allowed in JSON there, 1 allowed
 * (white space, ':', ',', numbers, true/false/null letters), 2 quote, 3 open, 4 close.
 */
const CLASS = new Uint8Array(256);
for (const c of ' \t\r\n:,0123456789-+.eEtrufalsn') CLASS[c.charCodeAt(0)] = 1;
CLASS[0x22] = 2;
CLASS[0x7b] = CLASS[0x5b] = 3;
CLASS[0x7d] = CLASS[0x5d] = 4;

const NEED_MORE = -1;

/** A decimal digit byte (undefined past the end of the buffer is not one). */
const isDigit = (x: number | undefined): boolean => x !== undefined && x >= 0x30 && x <= 0x39;

/** Grammar states inside nested values: what may come next. */
const X_VALUE = 0, X_VALUE_OR_CLOSE = 1, X_KEY = 2, X_KEY_OR_CLOSE = 3, X_COLON = 4, X_COMMA_OR_CLOSE = 5;
const EXPECTED = ['a JSON value', "a JSON value or ']'", 'a key string', "a key string or '}'", "':'", "',' or a closing bracket"];

function fieldIdOf(b: Buffer, s: number, e: number): number {
  // s..e are the key bytes without quotes.
  switch (e - s) {
    case 1: return b[s] === 0x73 ? F.s : -1; // s
    case 2:
      if (b[s] === 0x70 && b[s + 1] === 0x68) return F.ph;
      if (b[s] === 0x74 && b[s + 1] === 0x73) return F.ts;
      if (b[s] === 0x69 && b[s + 1] === 0x64) return F.id;
      if (b[s] === 0x62 && b[s + 1] === 0x70) return F.bp;
      return -1;
    case 3:
      if (b[s + 1] === 0x69 && b[s + 2] === 0x64) { // pid / tid
        if (b[s] === 0x70) return F.pid;
        if (b[s] === 0x74) return F.tid;
        return -1;
      }
      if (b[s] === 0x64 && b[s + 1] === 0x75 && b[s + 2] === 0x72) return F.dur;
      if (b[s] === 0x63 && b[s + 1] === 0x61 && b[s + 2] === 0x74) return F.cat;
      return -1;
    case 4:
      if (b[s] === 0x6e && b[s + 1] === 0x61 && b[s + 2] === 0x6d && b[s + 3] === 0x65) return F.name;
      if (b[s] === 0x61 && b[s + 1] === 0x72 && b[s + 2] === 0x67 && b[s + 3] === 0x73) return F.args;
      return -1;
    case 7:
      return b.toString('latin1', s, e) === 'bind_id' ? F.bind_id : -1;
    default: return -1;
  }
}

export interface ScannerOptions {
  /** Name for messages (the file path). */
  name: string;
}

/**
 * Push bytes with `push`, call `finish` at the end. Events and top-level entries are delivered
 * to the handler synchronously. Errors are TraceforgeError('E_PARSE') with the byte offset.
 */
export class TraceScanner {
  private state = S.Start;
  private shape: TraceShape | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Absolute offset of buf[0] in the input. */
  private base = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes needed before a rescan is worthwhile (avoids quadratic rescans of huge values). */
  private needBytes = 0;
  private eventIndex = 0;
  private sawEvents = false;
  /** The first top-level keys before `traceEvents` (for the not-a-trace message). */
  private readonly keysBefore: string[] = [];
  private readonly ev: ScannedEvent;
  /** Container kinds (1 object, 2 array) of the value being validated, by depth. */
  private readonly containers = new Uint8Array(512);

  constructor(private readonly handler: ScanHandler, private readonly opts: ScannerOptions) {
    this.ev = { buf: this.buf, start: 0, end: 0, index: 0, offset: 0, f: new Int32Array(FIELD_COUNT * 2), m: new Int32Array(4 * ARG_MEMBERS_MAX), mn: -1 };
    this.argMembers = handler.argMembers === true;
  }
  private readonly argMembers: boolean;

  /** The trace's shape, once known. */
  get traceShape(): TraceShape | undefined { return this.shape; }
  /** Number of events delivered so far. */
  get eventCount(): number { return this.eventIndex; }
  /** Bytes consumed so far. */
  get bytesConsumed(): number { return this.base + this.pos; }
  /** True once the events array was opened: the input is a trace. */
  get inTrace(): boolean { return this.sawEvents; }
  /** True once the whole trace was read (closing bracket seen). */
  get complete(): boolean { return this.state === S.Done; }
  /** Absolute offset just after the last complete event (for salvage). */
  lastEventEnd = 0;
  /** Absolute offset of the ']' that closes the events array (-1 until seen). */
  eventsClose = -1;
  /** Absolute offset of the '[' that opens the events array (-1 until seen). */
  eventsOpen = -1;

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.needBytes) return;
    this.absorb();
    this.run();
  }

  /**
   * Ends the input: throws when the trace is incomplete. With `salvage`, a trace cut off inside
   * its events array (a crashed profiler) is accepted: the complete events were delivered, and
   * the number of bytes dropped after the last one is returned.
   */
  finish(salvage = false): number {
    if (this.pendingBytes > 0) { this.absorb(); this.needBytes = 0; this.run(); }
    if (this.state === S.Done) return 0;
    const at = this.base + this.buf.length;
    if (this.state === S.Start) throw this.err('the input holds no JSON (only white space)', at);
    const inEvents = this.state === S.Events || this.state === S.EventsAfter || this.state === S.EventsElem;
    if (inEvents && salvage) {
      const end = this.eventIndex > 0 ? this.lastEventEnd : at - (this.buf.length - this.pos);
      this.state = S.Done;
      return at - end;
    }
    const where = inEvents
      ? `inside the events array, after ${this.eventIndex} complete event(s) (use --salvage to keep them)` : 'in the top-level object';
    throw this.err(`truncated JSON: the input ends ${where}`, at);
  }

  /**
   * Moves the unscanned rest and the pending chunks into one working buffer, reused from chunk
   * to chunk (allocating a fresh buffer per chunk kept hundreds of MB of dead 1 MB buffers
   * waiting for the GC on large inputs). Event views are valid only during their callback.
   */
  private absorb(): void {
    const rest = this.buf.length - this.pos;
    const need = rest + this.pendingBytes;
    let work = this.work;
    if (work.length < need) {
      const bigger = Buffer.allocUnsafe(Math.max(need, work.length * 2));
      this.buf.copy(bigger, 0, this.pos);
      work = this.work = bigger;
    } else if (rest > 0) {
      // buf is a view of work (or a chunk): move the rest to the front
      if (this.buf.buffer === work.buffer) work.copyWithin(0, this.buf.byteOffset - work.byteOffset + this.pos, this.buf.byteOffset - work.byteOffset + this.buf.length);
      else this.buf.copy(work, 0, this.pos);
    }
    let at = rest;
    for (const c of this.pending) { c.copy(work, at); at += c.length; }
    this.base += this.pos;
    this.buf = work.subarray(0, need);
    this.pos = 0;
    this.pending = [];
    this.pendingBytes = 0;
  }
  private work: Buffer = Buffer.alloc(0);

  private err(msg: string, at: number): TraceforgeError {
    return new TraceforgeError('E_PARSE', `${this.opts.name}: ${msg} (byte ${at})`, this.opts.name, at);
  }

  private unexpected(i: number, expected: string): TraceforgeError {
    const b = this.buf;
    const c = b[i]!;
    const shown = c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
    let what = `not valid JSON: expected ${expected}, found ${shown}`;
    if (c === 0x4e) what = 'not valid JSON: NaN is not a JSON number';
    else if (c === 0x49 || (c === 0x2d && b[i + 1] === 0x49)) what = 'not valid JSON: Infinity is not a JSON number';
    return this.err(what, this.base + i);
  }

  private skipWs(i: number): number {
    const b = this.buf;
    const n = b.length;
    while (i < n && WS[b[i]!] === 1) i++;
    return i;
  }

  /** End of the string starting at the quote at i (index after the closing quote), or NEED_MORE. */
  private stringEnd(i: number): number {
    const b = this.buf;
    // Short strings (keys, names) are faster to walk in JS than through a native indexOf call.
    const n = Math.min(b.length, i + 32);
    let q = i + 1;
    for (; q < n; q++) {
      const c = b[q];
      if (c === 0x22) return q + 1;
      if (c === 0x5c) break;
    }
    if (q === n) q = i;
    else q = i;
    for (;;) {
      q = b.indexOf(0x22, q + 1);
      if (q < 0) return NEED_MORE;
      // count backslashes before the quote
      let k = q - 1;
      while (b[k] === 0x5c) k--;
      if ((q - 1 - k) % 2 === 0) return q + 1;
    }
  }

  /** End of the JSON value starting at i, or NEED_MORE. Validates lightly (see BARE). */
  private valueEnd(i: number): number {
    const b = this.buf;
    const n = b.length;
    if (i >= n) return NEED_MORE;
    const c = b[i]!;
    if (c === 0x22) return this.stringEnd(i);
    if (c === 0x7b || c === 0x5b) return this.containerEnd(i);
    return this.scalarEnd(i);
  }

  /** End of the number or literal at i, validated; NEED_MORE when it may continue. */
  private scalarEnd(i: number): number {
    const b = this.buf;
    const n = b.length;
    const c = b[i]!;
    if (c === 0x74 || c === 0x66 || c === 0x6e) {
      const lit = c === 0x74 ? 'true' : c === 0x66 ? 'false' : 'null';
      for (let k = 1; k < lit.length; k++) {
        if (i + k >= n) return NEED_MORE;
        if (b[i + k] !== lit.charCodeAt(k)) throw this.unexpected(i, 'a JSON value');
      }
      return i + lit.length;
    }
    // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    let j = i;
    if (c === 0x2d) j++;
    if (j >= n) return NEED_MORE;
    if (!isDigit(b[j])) throw this.unexpected(j, c === 0x2d ? 'a digit' : 'a JSON value');
    if (b[j] === 0x30) {
      j++;
      if (j < n && isDigit(b[j])) throw this.unexpected(j, "'.' or the end of the number (no leading zeros in JSON)");
    } else while (j < n && isDigit(b[j])) j++;
    if (j < n && b[j] === 0x2e) {
      j++;
      if (j >= n) return NEED_MORE;
      if (!isDigit(b[j])) throw this.unexpected(j, 'a digit after the decimal point');
      while (j < n && isDigit(b[j])) j++;
    }
    if (j < n && (b[j] === 0x65 || b[j] === 0x45)) {
      j++;
      if (j < n && (b[j] === 0x2b || b[j] === 0x2d)) j++;
      if (j >= n) return NEED_MORE;
      if (!isDigit(b[j])) throw this.unexpected(j, 'a digit in the exponent');
      while (j < n && isDigit(b[j])) j++;
    }
    return j >= n ? NEED_MORE : j; // a number may continue in the next chunk
  }

  /**
   * End of the object or array at i, validating its grammar (keys, colons, commas, values) with
   * a small stack — so a broken `args` is reported here rather than copied into an output.
   */
  private containerEnd(i: number): number {
    const b = this.buf;
    const n = b.length;
    const stack = this.containers;
    let depth = 0;
    let st = 0;
    let j = i;
    while (j < n) {
      const d = b[j]!;
      switch (CLASS[d]) {
        case 1: // white space, ':' ',' or the start of a number / literal
          if (WS[d] === 1) { j++; continue; }
          if (d === 0x3a) {
            if (st !== X_COLON) throw this.unexpected(j, EXPECTED[st]!);
            st = X_VALUE; j++; continue;
          }
          if (d === 0x2c) {
            if (st !== X_COMMA_OR_CLOSE) throw this.unexpected(j, EXPECTED[st]!);
            st = stack[depth - 1] === 1 ? X_KEY : X_VALUE; j++; continue;
          }
          if (st !== X_VALUE && st !== X_VALUE_OR_CLOSE) throw this.unexpected(j, EXPECTED[st]!);
          j = this.scalarEnd(j);
          if (j < 0) return NEED_MORE;
          st = X_COMMA_OR_CLOSE;
          continue;
        case 2: { // a string: a key or a value
          const e = this.stringEnd(j);
          if (e < 0) return NEED_MORE;
          if (st === X_KEY || st === X_KEY_OR_CLOSE) st = X_COLON;
          else if (st === X_VALUE || st === X_VALUE_OR_CLOSE) st = X_COMMA_OR_CLOSE;
          else throw this.unexpected(j, EXPECTED[st]!);
          j = e;
          continue;
        }
        case 3: // '{' or '['
          if (depth > 0 && st !== X_VALUE && st !== X_VALUE_OR_CLOSE) throw this.unexpected(j, EXPECTED[st]!);
          if (depth === stack.length) throw this.err('JSON nested too deeply', this.base + j);
          stack[depth++] = d === 0x7b ? 1 : 2;
          st = d === 0x7b ? X_KEY_OR_CLOSE : X_VALUE_OR_CLOSE;
          j++;
          continue;
        case 4: { // '}' or ']'
          const want = d === 0x7d ? 1 : 2;
          const okState = want === 1 ? st === X_KEY_OR_CLOSE || st === X_COMMA_OR_CLOSE : st === X_VALUE_OR_CLOSE || st === X_COMMA_OR_CLOSE;
          if (stack[depth - 1] !== want || !okState) throw this.unexpected(j, EXPECTED[st]!);
          depth--;
          j++;
          if (depth === 0) return j;
          st = X_COMMA_OR_CLOSE;
          continue;
        }
        default:
          throw this.unexpected(j, EXPECTED[st]!);
      }
    }
    return NEED_MORE;
  }

  /**
   * End of the `args` object at i (b[i] == '{'), validated as containerEnd does, recording its
   * direct members into ev.m / ev.mn on the way. A loop of its own rather than a flag inside
   * containerEnd: the checks per byte there cost ~0.1 s on the 154 MB bench trace.
   */
  private membersEnd(i: number): number {
    const b = this.buf;
    const n = b.length;
    const m = this.ev.m;
    let mk = 0;
    let j = this.skipWs(i + 1);
    if (j >= n) return NEED_MORE;
    if (b[j] === 0x7d) { this.ev.mn = 0; return j + 1; }
    for (;;) {
      if (b[j] !== 0x22) throw this.unexpected(j, mk === 0 ? "a key string or '}'" : 'a key string');
      const ke = this.stringEnd(j);
      if (ke < 0) return NEED_MORE;
      const ks = j + 1;
      j = this.skipWs(ke);
      if (j >= n) return NEED_MORE;
      if (b[j] !== 0x3a) throw this.unexpected(j, "':'");
      j = this.skipWs(j + 1);
      if (j >= n) return NEED_MORE;
      const vs = j;
      const ve = this.valueEnd(j);
      if (ve < 0) return NEED_MORE;
      if (mk < ARG_MEMBERS_MAX) { const k = 4 * mk; m[k] = ks; m[k + 1] = ke - 1; m[k + 2] = vs; m[k + 3] = ve; }
      mk++;
      j = this.skipWs(ve);
      if (j >= n) return NEED_MORE;
      const d = b[j];
      if (d === 0x2c) { j = this.skipWs(j + 1); if (j >= n) return NEED_MORE; continue; }
      if (d === 0x7d) { this.ev.mn = mk <= ARG_MEMBERS_MAX ? mk : -1; return j + 1; }
      throw this.unexpected(j, EXPECTED[X_COMMA_OR_CLOSE]!);
    }
  }

  private run(): void {
    const b = this.buf;
    const n = b.length;
    let i = this.pos;
    const h = this.handler;
    for (;;) {
      i = this.skipWs(i);
      if (i >= n) { this.pos = i; this.needBytes = 0; return; }
      const c = b[i]!;
      switch (this.state) {
        case S.Start:
          if (c === 0xef && n - i < 3) return this.needMore(i); // a BOM cut by the chunk
          if (c === 0xef && b[i + 1] === 0xbb && b[i + 2] === 0xbf) { i += 3; continue; } // BOM
          if (c === 0x7b) { this.shape = 'object'; this.state = S.ObjKey; i++; continue; }
          if (c === 0x5b) { this.shape = 'array'; this.state = S.Events; this.sawEvents = true; this.eventsOpen = this.base + i; i++; continue; }
          throw this.unexpected(i, "a trace ('{' or '[')");
        case S.ObjKey: {
          if (c === 0x7d) { this.endObject(i); i++; continue; }
          if (c !== 0x22) throw this.unexpected(i, 'a key string or \'}\'');
          const ke = this.stringEnd(i);
          if (ke < 0) return this.needMore(i);
          let j = this.skipWs(ke);
          if (j >= n) return this.needMore(i);
          if (b[j] !== 0x3a) throw this.unexpected(j, "':'");
          j = this.skipWs(j + 1);
          if (j >= n) return this.needMore(i);
          const key = b.toString('utf8', i + 1, ke - 1);
          if (key === 'traceEvents' && !this.sawEvents) {
            if (b[j] !== 0x5b) {
              throw this.err(`"traceEvents" is not an array (it starts with '${String.fromCharCode(b[j]!)}')`, this.base + j);
            }
            this.sawEvents = true;
            this.state = S.Events;
            this.eventsOpen = this.base + j;
            i = j + 1;
            continue;
          }
          const ve = this.valueEnd(j);
          if (ve < 0) return this.needMore(i);
          if (!this.sawEvents && this.keysBefore.length < 6) this.keysBefore.push(key);
          h.topLevel?.({ key, rawKey: Buffer.from(b.subarray(i, ke)), rawValue: Buffer.from(b.subarray(j, ve)) }, this.sawEvents);
          this.state = S.ObjAfterValue;
          i = ve;
          continue;
        }
        case S.ObjAfterValue:
          if (c === 0x2c) { this.state = S.ObjKey; i++; continue; }
          if (c === 0x7d) { this.endObject(i); i++; continue; }
          throw this.unexpected(i, "',' or '}'");
        case S.Events:
        case S.EventsElem:
          if (c === 0x5d && this.state === S.Events) { this.endEvents(i); i++; continue; }
          if (c === 0x7b) {
            const e = this.scanEventAt(i);
            if (e < 0) return this.needMore(i);
            this.lastEventEnd = this.base + e;
            this.state = S.EventsAfter;
            i = e;
            continue;
          }
          throw c === 0x5d
            ? this.err(`not valid JSON: trailing comma after event ${this.eventIndex - 1}`, this.base + i)
            : this.err(`event ${this.eventIndex} is not a JSON object`, this.base + i);
        case S.EventsAfter:
          if (c === 0x2c) { this.state = S.EventsElem; i++; continue; }
          if (c === 0x5d) { this.endEvents(i); i++; continue; }
          throw this.unexpected(i, "',' or ']' after an event");
        case S.Done:
          throw this.err('unexpected data after the end of the trace', this.base + i);
      }
    }
  }

  /**
   * The '}' closing the top-level object: a JSON object without a `traceEvents` array is not a
   * trace (a config, a truth file, torch_npu's profiler_info.json), and reading it as an empty
   * one would report a rank with no activity.
   */
  private endObject(i: number): void {
    if (!this.sawEvents) {
      const keys = this.keysBefore.length === 0 ? 'it is empty' : `its keys: ${this.keysBefore.map((k) => JSON.stringify(k)).join(', ')}${this.keysBefore.length >= 6 ? ', ...' : ''}`;
      throw new TraceforgeError('E_NOT_TRACE', `${this.opts.name}: not a trace: the JSON object has no "traceEvents" array (${keys})`, this.opts.name, this.base + i);
    }
    this.state = S.Done;
  }

  private scanEventAt(i: number): number {
    const e = this.eventEnd(i);
    if (e < 0) return e;
    const ev = this.ev;
    ev.buf = this.buf;
    ev.start = i;
    ev.end = e;
    ev.index = this.eventIndex++;
    ev.offset = this.base + i;
    this.handler.event(ev);
    return e;
  }

  /** Scans the event object at i (buf[i] == '{'), filling ev.f. Returns its end or NEED_MORE. */
  private eventEnd(i: number): number {
    const b = this.buf;
    const n = b.length;
    const f = this.ev.f;
    f.fill(-1);
    this.ev.mn = -1;
    let j = this.skipWs(i + 1);
    if (j >= n) return NEED_MORE;
    if (b[j] === 0x7d) return j + 1;
    for (;;) {
      if (j >= n) return NEED_MORE;
      if (b[j] !== 0x22) throw this.unexpected(j, 'a key string');
      const ks = j + 1;
      const ke = this.stringEnd(j);
      if (ke < 0) return NEED_MORE;
      j = this.skipWs(ke);
      if (j >= n) return NEED_MORE;
      if (b[j] !== 0x3a) throw this.unexpected(j, "':'");
      j = this.skipWs(j + 1);
      const vs = j;
      const fid = fieldIdOf(b, ks, ke - 1);
      const ve = fid === F.args && this.argMembers && b[j] === 0x7b ? this.membersEnd(j) : this.valueEnd(j);
      if (ve < 0) return NEED_MORE;
      if (fid >= 0) { f[2 * fid] = vs; f[2 * fid + 1] = ve; }
      j = this.skipWs(ve);
      if (j >= n) return NEED_MORE;
      const d = b[j];
      if (d === 0x2c) { j = this.skipWs(j + 1); continue; }
      if (d === 0x7d) return j + 1;
      throw this.unexpected(j, "',' or '}'");
    }
  }

  private endEvents(i: number): void {
    this.eventsClose = this.base + i;
    this.state = this.shape === 'array' ? S.Done : S.ObjAfterValue;
  }

  private needMore(at: number): void {
    this.pos = at;
    // Wait for at least as many new bytes as are pending, so a value much larger than a chunk
    // is rescanned O(log n) times rather than once per chunk.
    this.needBytes = this.buf.length - at;
  }
}
