/** Cells, columns and the row limit shared by every section renderer (stats, diff, each view). */
import { count, duration, percent } from './format.js';
import type { Align, Cell, Column } from './sections.js';

/** A duration in µs (`-` when missing). */
export const dur = (us: number | null | undefined): Cell => ({ text: duration(us), value: us ?? null });
/** A fraction as a percentage; the raw value kept to 6 decimals. */
export const pct = (x: number | null): Cell => ({ text: percent(x), value: x === null ? null : Math.round(x * 1e6) / 1e6 });
/** A count (`-` when missing). */
export const num = (n: number | null): Cell => ({ text: n === null ? '-' : count(n), value: n });
export const txt = (s: string, value: string | null = s): Cell => ({ text: s, value });
export const col = (title: string, key: string, align: Align = 'right', extra: Partial<Column> = {}): Column => ({ title, key, align, ...extra });

/** The first `top` rows, and a note saying how many more there are. */
export function limit<T>(rows: readonly T[], top: number | undefined, what: string, notes: string[]): T[] {
  if (top === undefined || rows.length <= top) return [...rows];
  notes.push(`${rows.length - top} more ${what} not shown (--top ${rows.length} shows all)`);
  return rows.slice(0, top);
}
