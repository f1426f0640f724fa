/** Options shared by stats and diff: `--by` views, `--top`, `--width`. */
import { TraceforgeError } from '../errors.js';

export function parseViewList<V extends string>(values: readonly string[], views: readonly V[], alias: Readonly<Record<string, V>>): V[] {
  const out: V[] = [];
  for (const part of values.flatMap((v) => v.split(','))) {
    const v = part.trim().toLowerCase();
    if (v === '') continue;
    if (v === 'all') { out.push(...views); continue; }
    const view = (views as readonly string[]).includes(v) ? (v as V) : alias[v];
    if (!view) throw new TraceforgeError('E_USAGE', `--by takes ${views.join(', ')} or all, not "${part}"`);
    out.push(view);
  }
  return out;
}

/** `--top`: rows of the long tables; by default 20 in table/md and all in csv/json. */
export function parseTop(text: string | undefined, format: string): number | undefined {
  if (text === undefined) return format === 'table' || format === 'md' ? 20 : undefined;
  const top = Number(text);
  if (!Number.isInteger(top) || top < 1) throw new TraceforgeError('E_USAGE', `--top takes a positive whole number, not ${text}`);
  return top;
}

/** `--width`: the table width; by default the terminal's, or 100. */
export function parseWidth(text: string | undefined): number {
  if (text === undefined) return process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 100;
  const width = Number(text);
  if (!Number.isInteger(width) || width < 40) throw new TraceforgeError('E_USAGE', `--width takes a whole number of at least 40, not ${text}`);
  return width;
}
