/**
 * Aligned plain-text tables that fit a terminal width: shrinkable columns (names) are cut with
 * `…` first, down to their minimum; then the least important columns are left out, and a note
 * says which (CSV / JSON have everything).
 */
import type { Column, Section } from './sections.js';

const GAP = 2;

/** Display width of a string (one column per code point; traces hold no wide characters in practice). */
function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function cut(s: string, w: number): string {
  if (width(s) <= w) return s;
  if (w <= 1) return '…'.slice(0, w);
  return [...s].slice(0, w - 1).join('') + '…';
}

function pad(s: string, w: number, align: 'left' | 'right'): string {
  const n = w - width(s);
  if (n <= 0) return s;
  return align === 'left' ? s + ' '.repeat(n) : ' '.repeat(n) + s;
}

interface Layout {
  /** Visible column indices. */
  keep: number[];
  widths: Map<number, number>;
  hidden: Column[];
}

function layout(sec: Section, maxWidth: number): Layout {
  const natural = sec.columns.map((c, i) => Math.max(width(c.title), ...sec.rows.map((r) => width(r[i]?.text ?? ''))));
  let keep = sec.columns.map((_, i) => i);
  const hidden: Column[] = [];
  for (;;) {
    const widths = new Map<number, number>(keep.map((i) => [i, natural[i]!]));
    const total = (): number => [...widths.values()].reduce((a, b) => a + b, 0) + GAP * (keep.length - 1);
    // shrink the shrinkable columns, always the widest one, down to their minimum
    let over = total() - maxWidth;
    const shrinkable = keep.filter((i) => sec.columns[i]!.shrink);
    const floor = (i: number): number => Math.max(sec.columns[i]!.min ?? 8, width(sec.columns[i]!.title));
    while (over > 0) {
      let best = -1;
      for (const i of shrinkable) if (widths.get(i)! > floor(i) && (best < 0 || widths.get(i)! > widths.get(best)!)) best = i;
      if (best < 0) break;
      widths.set(best, widths.get(best)! - 1);
      over--;
    }
    if (total() <= maxWidth || keep.length <= 1) return { keep, widths, hidden };
    // drop the most droppable column
    let worst = -1;
    for (const i of keep) {
      const d = sec.columns[i]!.drop ?? 0;
      if (d > 0 && (worst < 0 || d > (sec.columns[worst]!.drop ?? 0))) worst = i;
    }
    if (worst < 0) return { keep, widths, hidden }; // nothing left to drop: let it wrap
    hidden.push(sec.columns[worst]!);
    keep = keep.filter((i) => i !== worst);
  }
}

/** Words of `text` in lines of at most `w` columns (a longer word gets a line of its own). */
export function wrap(text: string, w: number, indent = ''): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && width(line) + 1 + width(word) > w) { out.push(line); line = indent + word; }
    else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out;
}

/** One section as text lines (title, header, rule, rows, notes). */
export function renderSection(sec: Section, maxWidth: number): string[] {
  const lines: string[] = wrap(sec.title, maxWidth);
  const note = (n: string): void => { lines.push(...wrap(n, maxWidth, '  ')); };
  if (sec.rows.length === 0) {
    lines.push('  (nothing to show)');
    sec.notes.forEach(note);
    return lines;
  }
  const { keep, widths, hidden } = layout(sec, maxWidth);
  const line = (cells: string[]): string => keep.map((i, k) => {
    const c = sec.columns[i]!;
    const w = widths.get(i)!;
    const text = pad(cut(cells[k]!, w), w, c.align);
    return k === keep.length - 1 && c.align === 'left' ? text.trimEnd() : text;
  }).join(' '.repeat(GAP));
  lines.push(line(keep.map((i) => sec.columns[i]!.title)));
  lines.push(keep.map((i) => '─'.repeat(widths.get(i)!)).join(' '.repeat(GAP)));
  for (const r of sec.rows) lines.push(line(keep.map((i) => r[i]?.text ?? '')));
  sec.notes.forEach(note);
  if (hidden.length > 0) note(`(${hidden.map((c) => c.title).join(', ')} left out to fit ${maxWidth} columns; --format csv or json has them)`);
  return lines;
}

/** Sections as one text, separated by blank lines. */
export function renderTables(sections: readonly Section[], maxWidth: number): string {
  return sections.map((s) => renderSection(s, Math.max(40, maxWidth)).join('\n')).join('\n\n') + '\n';
}
