/** `--by` values shared by stats and diff: view names, aliases, comma lists, `all`. */
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
