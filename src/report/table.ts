/**
 * Aligned plain-text tables that fit a terminal width: shrinkable columns (names) are cut with
 * `…` first, down to their minimum; then the least important columns are left out, and a note
 * says which (CSV / JSON have everything). Sub-rows (an op's kernels) are indented under their
 * row, their first cell running over the empty cells after it.
 */
import type { Section } from './sections.js';

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

interface Layout {
  /** Visible column indices. */
  keep: number[];
  widths: Map<number, number>;
  hidden: string[];
}

/** Columns with `drop` at or above this go before any name is cut (secondary numbers). */
const DROP_BEFORE_CUTTING = 5;

function layout(sec: Section, maxWidth: number): Layout {
  const isSub = (k: number): boolean => sec.sub?.[k] === true;
  // sub-rows do not widen the first column: their text may run over the empty cells after it
  const natural = sec.columns.map((c, i) => Math.max(width(c.title), ...sec.rows.map((r, k) => (i === 0 && isSub(k) ? 0 : width(r[i]?.text ?? '')))));
  let keep = sec.columns.map((_, i) => i).filter((i) => !sec.columns[i]!.csvOnly);
  const hidden: string[] = [];
  const dropOrder = keep.filter((i) => (sec.columns[i]!.drop ?? 0) > 0).sort((a, b) => sec.columns[b]!.drop! - sec.columns[a]!.drop!);
  const sumOf = (w: Map<number, number>): number => [...w.values()].reduce((a, b) => a + b, 0) + GAP * (w.size - 1);
  const dropNext = (): void => {
    const i = dropOrder.shift()!;
    hidden.push(sec.columns[i]!.longTitle ?? sec.columns[i]!.title);
    keep = keep.filter((j) => j !== i);
  };
  const naturalWidths = (): Map<number, number> => new Map<number, number>(keep.map((i) => [i, natural[i]!]));
  // secondary columns go first, while the table is too wide even uncut
  while (sumOf(naturalWidths()) > maxWidth && dropOrder.length > 0 && sec.columns[dropOrder[0]!]!.drop! >= DROP_BEFORE_CUTTING) dropNext();
  for (;;) {
    const widths = naturalWidths();
    const shrinkable = keep.filter((i) => sec.columns[i]!.shrink);
    const floor = (i: number): number => Math.max(sec.columns[i]!.min ?? 8, width(sec.columns[i]!.title));
    // cut one column at a time, always the widest shrinkable one, down to `limit(i)`
    const shrink = (over: number, limit: (i: number) => number): number => {
      while (over > 0) {
        let best = -1;
        for (const i of shrinkable) if (widths.get(i)! > limit(i) && (best < 0 || widths.get(i)! > widths.get(best)!)) best = i;
        if (best < 0) break;
        widths.set(best, widths.get(best)! - 1);
        over--;
      }
      return over;
    };
    const over = shrink(sumOf(widths) - maxWidth, floor);
    if (over <= 0 || keep.length <= 1) return { keep, widths, hidden };
    if (dropOrder.length === 0) {
      // nothing left to drop: cut the shrinkable columns below their minimum (to 6 columns)
      shrink(over, () => 6);
      return { keep, widths, hidden };
    }
    dropNext();
  }
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
  const line = (cells: string[], sub: boolean): string => {
    const parts: string[] = [];
    for (let k = 0; k < keep.length; k++) {
      const c = sec.columns[keep[k]!]!;
      let w = widths.get(keep[k]!)!;
      // a sub-row's first cell takes the empty cells after it
      let next = k + 1;
      if (sub && k === 0) {
        while (next < keep.length && cells[next] === '' && sec.columns[keep[next]!]!.align === 'left') { w += GAP + widths.get(keep[next]!)!; next++; }
      }
      let text = pad(cut(cells[k]!, w), w, c.align);
      if (next >= keep.length && c.align === 'left') text = text.trimEnd();
      parts.push(text);
      k = next - 1;
    }
    return parts.join(' '.repeat(GAP)).trimEnd();
  };
  lines.push(line(keep.map((i) => sec.columns[i]!.title), false));
  lines.push(keep.map((i) => '─'.repeat(widths.get(i)!)).join(' '.repeat(GAP)));
  sec.rows.forEach((r, k) => lines.push(line(keep.map((i) => r[i]?.text ?? ''), sec.sub?.[k] === true)));
  sec.notes.forEach(note);
  if (hidden.length > 0) {
    const named = hidden.length > 8 ? `${hidden.slice(0, 6).join(', ')} and ${hidden.length - 6} more columns` : hidden.join(', ');
    note(`(${named} left out to fit ${maxWidth} columns; --format csv or json has them)`);
  }
  return lines;
}

/** Sections as one text, separated by blank lines. */
export function renderTables(sections: readonly Section[], maxWidth: number): string {
  return sections.map((s) => renderSection(s, Math.max(40, maxWidth)).join('\n')).join('\n\n') + '\n';
}
