/** Small text helpers for command output. */
export const n = (x: number): string => x.toLocaleString('en-US');

/** Milliseconds with up to 3 decimals: `1,234.5 ms`. */
export const ms = (v: number): string => `${v.toLocaleString('en-US', { maximumFractionDigits: 3 })} ms`;

export function bytes(b: number): string {
  if (b < 1024) return `${b} B`;
  const u = ['KB', 'MB', 'GB', 'TB'];
  let v = b / 1024;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}

/** How to look at a trace file in Perfetto. */
export function openHint(path: string): string {
  return `open it: traceforge open ${path}   (or drag the file into https://ui.perfetto.dev)`;
}

