/**
 * Exact timestamp arithmetic on the decimal text of `ts` / `dur` values.
 *
 * Trace timestamps are microseconds with up to 3 (sometimes more) fraction digits, relative
 * (`4447234163006.925`) or epoch-absolute (`"1736408883704643.212"`, 16 integer digits). As a
 * double the absolute value only resolves ~0.25 µs, so nesting decisions made on doubles can be
 * wrong. Here the integer and fraction parts are read separately: the integer part is exact
 * (below 2^53), and times are returned as nanoseconds relative to a per-file base, which is
 * exact for any trace shorter than ~100 days. Perfetto itself works in integer nanoseconds.
 */

const NEG = 0x2d;
const DOT = 0x2e;
const QUOTE = 0x22;

/** Scratch results of splitDecimal (avoids an allocation per event). */
let intPart = 0;
let fracNs = 0;
let negative = false;

/**
 * Splits the decimal number in b[s,e) (optionally quoted) into integer µs and fraction in ns.
 * Returns false when the text is not a plain decimal (exponent, not a number).
 */
function splitDecimal(b: Uint8Array, s: number, e: number): boolean {
  if (b[s] === QUOTE) { s++; e--; }
  negative = false;
  if (b[s] === NEG) { negative = true; s++; }
  let i = s;
  let v = 0;
  while (i < e) {
    const c = b[i]!;
    if (c >= 0x30 && c <= 0x39) { v = v * 10 + (c - 0x30); i++; } else break;
  }
  if (i === s) return false;
  intPart = v;
  fracNs = 0;
  if (i < e) {
    if (b[i] !== DOT) return false;
    i++;
    // fraction digits: value in ns = 0.d1d2d3d4... * 1000
    let scale = 100;
    let f = 0;
    while (i < e) {
      const c = b[i]!;
      if (c < 0x30 || c > 0x39) return false;
      f += (c - 0x30) * scale;
      scale /= 10;
      i++;
    }
    fracNs = f;
  }
  return true;
}

function numberFromText(b: Uint8Array, s: number, e: number): number {
  if (b[s] === QUOTE) { s++; e--; }
  const t = Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('latin1');
  return t.length === 0 ? NaN : Number(t);
}

/**
 * Converts µs timestamps to ns relative to a base fixed by the first value seen (per file).
 */
export class TimeBase {
  /** Integer µs of the base; undefined until the first timestamp. */
  baseUs: number | undefined;

  /** ns relative to the base for the µs decimal in b[s,e); NaN when not a number. */
  ns(b: Uint8Array, s: number, e: number): number {
    if (!splitDecimal(b, s, e)) {
      const v = numberFromText(b, s, e);
      if (!Number.isFinite(v)) return NaN;
      if (this.baseUs === undefined) this.baseUs = Math.trunc(v);
      return (v - this.baseUs) * 1000;
    }
    if (this.baseUs === undefined) this.baseUs = negative ? -intPart : intPart;
    return negative ? (-intPart - this.baseUs) * 1000 - fracNs : (intPart - this.baseUs) * 1000 + fracNs;
  }
}

/** A µs duration decimal in b[s,e) as ns; NaN when not a number. */
export function durationNs(b: Uint8Array, s: number, e: number): number {
  if (!splitDecimal(b, s, e)) {
    const v = numberFromText(b, s, e);
    return Number.isFinite(v) ? v * 1000 : NaN;
  }
  const v = intPart * 1000 + fracNs;
  return negative ? -v : v;
}

/**
 * Adds `deltaNs` (an integer) to the µs decimal text `text`, keeping every digit: the result has
 * at least as many fraction digits as the input (3 more when needed to hold the ns). Quoted
 * input gives quoted output. Uses BigInt, so any magnitude is exact.
 */
export function addNsToMicrosText(text: string, deltaNs: bigint): string {
  if (deltaNs === 0n) return text;
  let t = text;
  const quoted = t.startsWith('"');
  if (quoted) t = t.slice(1, -1);
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(t);
  if (!m) throw new Error(`not a decimal timestamp: ${text}`);
  const neg = m[1] === '-';
  const frac = m[3] ?? '';
  const digits = Math.max(frac.length, 3);
  const scale = 10n ** BigInt(digits);
  let v = BigInt(m[2]!) * scale + BigInt(frac.padEnd(digits, '0') || '0');
  if (neg) v = -v;
  v += deltaNs * (scale / 1000n);
  const sign = v < 0n ? '-' : '';
  const a = v < 0n ? -v : v;
  const ip = (a / scale).toString();
  const fp = (a % scale).toString().padStart(digits, '0');
  // keep the input's fraction length when the extra digits are zeros
  let fracOut = fp;
  if (frac.length < digits && fp.endsWith('0'.repeat(digits - frac.length))) fracOut = fp.slice(0, frac.length);
  const out = fracOut.length > 0 ? `${sign}${ip}.${fracOut}` : `${sign}${ip}`;
  return quoted ? `"${out}"` : out;
}

/** `addNsToMicrosText` with the result always a bare JSON number (quotes dropped). */
export function shiftedMicrosNumber(text: string, deltaNs: bigint): string {
  const t = addNsToMicrosText(text, deltaNs);
  return t.startsWith('"') ? t.slice(1, -1) : t;
}
