/** Reading field values out of a scanned event's bytes without parsing the whole event. */
import { F, type FieldId, type ScannedEvent } from './scanner.js';

/** Raw JSON text of a top-level field, or undefined when absent. */
export function rawField(ev: ScannedEvent, fid: FieldId): string | undefined {
  const s = ev.f[2 * fid]!;
  if (s < 0) return undefined;
  return ev.buf.toString('utf8', s, ev.f[2 * fid + 1]!);
}

/** The string value of a field (JSON-decoded), the raw text of a non-string, or undefined. */
export function stringField(ev: ScannedEvent, fid: FieldId): string | undefined {
  const s = ev.f[2 * fid]!;
  if (s < 0) return undefined;
  const e = ev.f[2 * fid + 1]!;
  const b = ev.buf;
  if (b[s] !== 0x22) return b.toString('utf8', s, e);
  // fast path: no escapes
  if (!hasByte(b, 0x5c, s, e)) return b.toString('utf8', s + 1, e - 1);
  return JSON.parse(b.toString('utf8', s, e)) as string;
}

/**
 * True when byte c occurs in b[s,e). A loop, not `b.indexOf(c, s)`: that one searches on to the
 * end of the (multi-MB) scanner buffer when c is absent, which made a per-value check quadratic.
 */
export function hasByte(b: Uint8Array, c: number, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i] === c) return true;
  return false;
}

/** The phase character code (e.g. 0x58 'X'), or 0 when absent / not a string. */
export function phaseOf(ev: ScannedEvent): number {
  const s = ev.f[2 * F.ph]!;
  if (s < 0 || ev.buf[s] !== 0x22) return 0;
  return ev.buf[s + 1]!;
}

/** True when field fid is the JSON string `value` (ASCII, no escapes). */
export function fieldEquals(ev: ScannedEvent, fid: FieldId, value: string): boolean {
  const s = ev.f[2 * fid]!;
  if (s < 0) return false;
  const e = ev.f[2 * fid + 1]!;
  if (e - s !== value.length + 2 || ev.buf[s] !== 0x22) return false;
  for (let i = 0; i < value.length; i++) if (ev.buf[s + 1 + i] !== value.charCodeAt(i)) return false;
  return true;
}

/** The parsed `args` object (only for the few events that need it: metadata, small events). */
export function argsOf(ev: ScannedEvent): Record<string, unknown> | undefined {
  const raw = rawField(ev, F.args);
  if (raw === undefined) return undefined;
  const v: unknown = JSON.parse(raw);
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

const encoded = new Map<string, Buffer>();
function keyBytes(key: string): Buffer {
  let k = encoded.get(key);
  if (!k) { k = Buffer.from(key, 'utf8'); encoded.set(key, k); }
  return k;
}

/** JSON white space. */
export const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** End of the string whose opening quote is at i (index after the closing quote). */
function stringEndIn(b: Buffer, i: number, e: number): number {
  let q = i;
  for (;;) {
    q = b.indexOf(0x22, q + 1);
    if (q < 0 || q >= e) return e;
    let k = q - 1;
    while (b[k] === 0x5c) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
  }
}

/**
 * Value spans of several keys directly inside the (scanner-validated) JSON object at b[s,e), in
 * one walk over its members: `out[2i], out[2i+1]` for keys[i], -1 when absent. Keys are compared
 * as bytes (no string per member), values skipped without looking inside. The walk stops once
 * `enough` keys were found (for keys that are alternatives of each other).
 */
export function objectMemberSpans(b: Buffer, s: number, e: number, keys: readonly Buffer[], out: Int32Array, enough = keys.length): void {
  out.fill(-1);
  if (b[s] !== 0x7b) return;
  let i = s + 1;
  let found = 0;
  while (i < e && found < enough) {
    while (i < e && (isWs(b[i]) || b[i] === 0x2c)) i++;
    if (b[i] !== 0x22) return; // '}' or not an object member
    const ks = i + 1;
    const ke = stringEndIn(b, i, e) - 1;
    let j = ke + 1;
    while (j < e && b[j] !== 0x3a) j++;
    j++;
    while (j < e && isWs(b[j])) j++;
    const ve = valueEndIn(b, j, e);
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      if (key.length === ke - ks && out[2 * k]! < 0 && b.compare(key, 0, key.length, ks, ke) === 0) {
        out[2 * k] = j;
        out[2 * k + 1] = ve;
        found++;
        break;
      }
    }
    i = ve;
  }
}

/**
 * objectMemberSpans over an event's `args`, from the members the scanner recorded while
 * validating them (ScannedEvent.m) when it did — no second walk over the bytes — else by
 * walking them. Same contract: `out[2i], out[2i+1]` for keys[i], -1 when absent.
 */
export function argSpans(ev: ScannedEvent, keys: readonly Buffer[], out: Int32Array, enough = keys.length): void {
  const mn = ev.mn;
  const as = ev.f[2 * F.args]!;
  if (mn < 0) {
    if (as >= 0) objectMemberSpans(ev.buf, as, ev.f[2 * F.args + 1]!, keys, out, enough);
    else out.fill(-1);
    return;
  }
  out.fill(-1);
  const b = ev.buf;
  const m = ev.m;
  let found = 0;
  for (let i = 0; i < mn && found < enough; i++) {
    const ks = m[4 * i]!;
    const n = m[4 * i + 1]! - ks;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      if (key.length !== n || out[2 * k]! >= 0) continue;
      let p = 0;
      while (p < n && key[p] === b[ks + p]) p++;
      if (p === n) { out[2 * k] = m[4 * i + 2]!; out[2 * k + 1] = m[4 * i + 3]!; found++; break; }
    }
  }
}

const one = new Int32Array(2);

/**
 * Byte span [valueStart, valueEnd) of key `key` directly inside the JSON object at b[s,e),
 * or undefined. For second-level lookups such as args.correlation.
 */
export function objectMemberSpan(b: Buffer, s: number, e: number, key: string): [number, number] | undefined {
  objectMemberSpans(b, s, e, [keyBytes(key)], one);
  return one[0]! < 0 ? undefined : [one[0]!, one[1]!];
}

/** End of the (valid) JSON value starting at b[j], bounded by e. */
export function valueEndIn(b: Buffer, j: number, e: number): number {
  const c = b[j];
  if (c === 0x22) return stringEndIn(b, j, e);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let i = j; i < e; i++) {
      const d = b[i];
      if (d === 0x22) { i = stringEndIn(b, i, e) - 1; continue; }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) { if (--depth === 0) return i + 1; }
    }
    return e;
  }
  let i = j;
  while (i < e && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d && !isWs(b[i])) i++;
  return i;
}
