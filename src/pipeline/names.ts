/** Default output names derived from input names. */
import { basename, dirname, join } from 'node:path';

/** `dir/x.trace.json.gz` -> `x.trace`; strips .json.gz, .json, .gz. */
export function traceStem(path: string): string {
  return basename(path).replace(/(\.json)?(\.gz)?$/i, '');
}

/** `<dir>/<stem>.<suffix>.json.gz` next to the input. */
export function siblingOutput(input: string, suffix: string): string {
  return join(dirname(input), `${traceStem(input)}.${suffix}.json.gz`);
}
