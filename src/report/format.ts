/** Display formatting of numbers in tables (CSV and JSON keep the raw values). */

/** Between a number and its unit: a no-break space, so wrapped notes never split `12.4 ms`. */
const NBSP = '\u00a0';

/** A duration given in µs, with a unit chosen for it: `812 ns`, `12.4 µs`, `3.21 ms`, `1.234 s`. */
export function duration(us: number | null | undefined): string {
  if (us === null || us === undefined || !Number.isFinite(us)) return '-';
  const a = Math.abs(us);
  if (a === 0) return '0';
  if (a < 1) return `${Math.round(us * 1000)}${NBSP}ns`;
  if (a < 10) return `${us.toFixed(2)}${NBSP}µs`;
  if (a < 1000) return `${us.toFixed(1)}${NBSP}µs`;
  if (a < 10_000) return `${(us / 1000).toFixed(3)}${NBSP}ms`;
  if (a < 1_000_000) return `${(us / 1000).toFixed(2)}${NBSP}ms`;
  return `${(us / 1e6).toFixed(3)}${NBSP}s`;
}

/** A fraction as a percentage: `45.2%`, `<0.1%`, `-` for null. */
export function percent(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  if (x === 0) return '0%';
  if (x > 0 && x < 0.001) return '<0.1%';
  return `${(x * 100).toFixed(1)}%`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** JSON text with a space after commas (torch's style for shapes: `[[2048, 2048], [2048, 2048]]`). */
export function shape(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v.replace(/;\r?\n/g, '; ');
  return JSON.stringify(v).replace(/,/g, ', ');
}

/** A list of type names as `a, b` (empty entries shown as `-`, repeats as `a ×3`); strings as they are. */
export function typeList(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (!Array.isArray(v)) return String(v).replace(/;\r?\n/g, '; ');
  // runs of one type collapse: `c10::BFloat16 ×2`
  const out: string[] = [];
  for (let i = 0; i < v.length;) {
    let j = i;
    while (j + 1 < v.length && v[j + 1] === v[i]) j++;
    const t = v[i] === '' ? '-' : String(v[i]);
    out.push(j > i ? `${t} ×${j - i + 1}` : t);
    i = j + 1;
  }
  return out.join(', ');
}
