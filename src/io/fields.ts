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
  if (b.indexOf(0x5c, s) < 0 || b.indexOf(0x5c, s) >= e) return b.toString('utf8', s + 1, e - 1);
  return JSON.parse(b.toString('utf8', s, e)) as string;
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

/** Copy of the event's bytes (for keeping beyond the scan callback). */
export function eventBytes(ev: ScannedEvent): Buffer {
  return Buffer.from(ev.buf.subarray(ev.start, ev.end));
}

/**
 * Byte span [valueStart, valueEnd) of key `key` directly inside the JSON object at b[s,e),
 * or undefined. A small scanner for second-level lookups such as args.correlation.
 */
export function objectMemberSpan(b: Buffer, s: number, e: number, key: string): [number, number] | undefined {
  if (b[s] !== 0x7b) return undefined;
  let depth = 0;
  let i = s;
  let expectKey = false;
  while (i < e) {
    const c = b[i]!;
    if (c === 0x22) {
      let q = i;
      for (;;) {
        q = b.indexOf(0x22, q + 1);
        if (q < 0 || q >= e) return undefined;
        let k = q - 1;
        while (b[k] === 0x5c) k--;
        if ((q - 1 - k) % 2 === 0) break;
      }
      if (depth === 1 && expectKey) {
        if (q - i - 1 === key.length && b.toString('utf8', i + 1, q) === key) {
          let j = q + 1;
          while (b[j] !== 0x3a) j++;
          j++;
          while (b[j] === 0x20 || b[j] === 0x0a || b[j] === 0x0d || b[j] === 0x09) j++;
          return [j, valueEndIn(b, j, e)];
        }
        expectKey = false;
      }
      i = q + 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) { depth++; if (depth === 1) expectKey = true; }
    else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && depth === 1) expectKey = true;
    i++;
  }
  return undefined;
}

function valueEndIn(b: Buffer, j: number, e: number): number {
  const c = b[j];
  if (c === 0x22) {
    let q = j;
    for (;;) {
      q = b.indexOf(0x22, q + 1);
      let k = q - 1;
      while (b[k] === 0x5c) k--;
      if ((q - 1 - k) % 2 === 0) return q + 1;
    }
  }
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let i = j; i < e; i++) {
      const d = b[i];
      if (d === 0x22) { i = valueEndIn(b, i, e) - 1; continue; }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) { if (--depth === 0) return i + 1; }
    }
    return e;
  }
  let i = j;
  while (i < e && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d && b[i] !== 0x20 && b[i] !== 0x0a && b[i] !== 0x0d && b[i] !== 0x09) i++;
  return i;
}
