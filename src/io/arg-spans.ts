/**
 * Reading single values out of an event's bytes without parsing it: numbers, the `External id`,
 * members found by a cached native byte search. Used by the record builders of the statistics
 * pass (analysis/records/), which must not create a string per event.
 */
import { isWs, objectMemberSpan, valueEndIn } from './fields.js';

/** True when k equals b[s, s+n). */
export function sameBytes(k: Buffer, b: Buffer, s: number, n: number): boolean {
  if (k.length !== n) return false;
  for (let i = 0; i < n; i++) if (k[i] !== b[s + i]) return false;
  return true;
}

/** True when b[s, s+k.length) equals k. */
export function eqAt(b: Buffer, s: number, k: Buffer): boolean {
  for (let i = 0; i < k.length; i++) if (b[s + i] !== k[i]) return false;
  return true;
}

/** An integer / decimal JSON number (optionally quoted) in b[s,e); NaN otherwise. */
export function numberAt(b: Buffer, s: number, e: number): number {
  if (s < 0) return NaN;
  if (b[s] === 0x22) { s++; e--; }
  let v = 0;
  let i = s;
  for (; i < e; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
  }
  if (i === s) return NaN;
  if (i === e) return v;
  const x = Number(b.toString('latin1', s, e));
  return Number.isFinite(x) ? x : NaN;
}

/**
 * The value span of member `key` when it is the next member after position p (the end of the
 * previous value) in an object ending before e, optionally after one `skip` member; else
 * undefined (the caller then searches).
 */
export function memberAfter(b: Buffer, p: number, e: number, key: Buffer, skip: Buffer): [number, number] | undefined {
  for (let round = 0; round < 2; round++) {
    while (p < e && isWs(b[p])) p++;
    if (b[p] !== 0x2c) return undefined;
    p++;
    while (p < e && isWs(b[p])) p++;
    const k = round === 0 && sameBytes(skip, b, p, skip.length) ? skip
      : sameBytes(key, b, p, key.length) ? key : undefined;
    if (k === undefined) return undefined;
    p += k.length;
    while (p < e && isWs(b[p])) p++;
    if (b[p] !== 0x3a) return undefined;
    p++;
    while (p < e && isWs(b[p])) p++;
    const ve = valueEndIn(b, p, e);
    if (k === key) return [p, ve];
    p = ve;
  }
  return undefined;
}

const EXT_KEY = Buffer.from('"External id"'), EXT_KEY_OLD = Buffer.from('"external id"');

/**
 * The numeric `External id` of an args object b[s,e): a byte check of the first member (where
 * Kineto writes it), else an exact member lookup. NaN when absent.
 */
export function externalIdOf(b: Buffer, s: number, e: number): number {
  let p = s + 1;
  while (p < e && isWs(b[p])) p++;
  if (sameBytes(EXT_KEY, b, p, EXT_KEY.length) || sameBytes(EXT_KEY_OLD, b, p, EXT_KEY_OLD.length)) {
    p += EXT_KEY.length;
    while (p < e && isWs(b[p])) p++;
    if (b[p] === 0x3a) {
      p++;
      while (p < e && isWs(b[p])) p++;
      return numberAt(b, p, valueEndIn(b, p, e));
    }
  }
  const sp = objectMemberSpan(b, s, e, 'External id') ?? objectMemberSpan(b, s, e, 'external id');
  return sp ? numberAt(b, sp[0], sp[1]) : NaN;
}

/**
 * Finds the value span of one key inside `args` objects with a native byte search. The search
 * runs over the rest of the scanner's buffer, so its result is cached: while the buffer is the
 * same and later events start before the cached hit, the hit stays the answer (total work stays
 * linear even when no event has the key). A hit is checked to be a member key of the args
 * object itself (preceded by `{` or `,`, followed by `:`, no `{` between the args start and it);
 * otherwise the exact member lookup decides.
 */
export class ArgFinder {
  private readonly needle: Buffer;
  private buf: Buffer | undefined;
  private from = 0;
  private at = -1;
  constructor(private readonly key: string) { this.needle = Buffer.from(JSON.stringify(key), 'utf8'); }

  private next(b: Buffer, s: number): number {
    if (b !== this.buf || s < this.from || (this.at >= 0 && this.at < s)) {
      this.buf = b;
      this.at = b.indexOf(this.needle, s);
    }
    this.from = s;
    return this.at;
  }

  /** [valueStart, valueEnd) of the key in the args object b[s,e), or undefined. */
  span(b: Buffer, s: number, e: number): [number, number] | undefined {
    const at = this.next(b, s);
    if (at < 0 || at >= e) return undefined;
    let p = at - 1;
    while (p > s && isWs(b[p])) p--;
    let j = at + this.needle.length;
    while (j < e && isWs(b[j])) j++;
    // a member of args itself, not of an object nested in one of its values: no '{' before it
    const brace = b.indexOf(0x7b, s + 1);
    if ((b[p] !== 0x2c && b[p] !== 0x7b) || b[j] !== 0x3a || (brace >= 0 && brace < at)) return objectMemberSpan(b, s, e, this.key);
    j++;
    while (j < e && isWs(b[j])) j++;
    return [j, valueEndIn(b, j, e)];
  }
}

/** The text of a name value: the decoded JSON string, or the raw text of anything else. */
export function decodeName(b: Buffer, s: number, e: number): string {
  const raw = b.toString('utf8', s, e);
  try { const v: unknown = JSON.parse(raw); return typeof v === 'string' ? v : raw; } catch { return raw; }
}

/** A string member value (JSON-decoded; the raw text of anything else). */
export function stringValue(b: Buffer, sp: [number, number]): string {
  const t = b.toString('utf8', sp[0], sp[1]);
  if (!t.startsWith('"')) return t;
  try { return String(JSON.parse(t)); } catch { return t; }
}
