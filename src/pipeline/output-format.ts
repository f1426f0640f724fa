/**
 * Output formats by name: JSON or Perfetto's native `.pftrace`, and the names of Perfetto outputs.
 * Apart from pipeline/perfetto.ts (the writer), so that choosing a format loads no writer.
 */
import { basename, dirname, join } from 'node:path';
import { traceStem } from './names.js';

export type OutputFormat = 'json' | 'perfetto';

/** `.pftrace`, `.perfetto-trace`, optionally `.gz`. */
export function isPerfettoName(path: string): boolean {
  return /\.(pftrace|perfetto-trace)(\.gz)?$/i.test(path);
}

/** The format asked for: explicit, else by the output's name, else JSON. */
export function outputFormat(format: string | undefined, output: string | undefined): OutputFormat {
  if (format !== undefined) {
    if (format !== 'json' && format !== 'perfetto') throw new Error(`--format takes json or perfetto, not ${format}`);
    return format;
  }
  return output !== undefined && isPerfettoName(output) ? 'perfetto' : 'json';
}

/** `dir/x.trace.json.gz` + `fixed` -> `dir/x.trace.fixed.pftrace`. */
export function perfettoSibling(input: string, suffix: string): string {
  return join(dirname(input), `${traceStem(input)}.${suffix}.pftrace`);
}

/** A JSON output name turned into the Perfetto one (`merged-1.trace.json.gz` -> `merged-1.pftrace`). */
export function perfettoName(jsonName: string): string {
  if (isPerfettoName(jsonName)) return jsonName;
  return join(dirname(jsonName), basename(jsonName).replace(/(\.trace)?(\.json)?(\.gz)?$/i, '') + '.pftrace');
}
