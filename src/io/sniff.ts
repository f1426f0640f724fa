/**
 * Is a `.json` file found in a directory a trace at all? A profile directory often holds other
 * JSON (a config, a truth or metadata file); read as a trace it would be a rank with no
 * activity. The scanner reads the head of the file: the events array opening means a trace;
 * the top-level object closing without one means not (TraceScanner's E_NOT_TRACE); an array
 * whose first element has no `ph` is not one either. Kineto's
 * header before `traceEvents` is a few KB (device properties, distributed info), so the answer
 * comes within the first chunk; a file still undecided after SNIFF_BYTES counts as a trace and
 * any fault in it is reported when it is read.
 */
import { TraceforgeError } from '../errors.js';
import { F, TraceScanner } from './scanner.js';
import { readTraceBytes } from './source.js';

const SNIFF_BYTES = 4 << 20;
const CHUNK = 64 << 10;
const SLICE = 16 << 10;

export async function isTraceJson(path: string): Promise<boolean> {
  // the array form has no key to say it: its first element must be an event (it has "ph"),
  // not a record of some other list (SGLang's capture_traces/execution_details.json)
  let firstHasPh: boolean | undefined;
  const scanner = new TraceScanner({ event(ev) { firstHasPh ??= ev.f[2 * F.ph]! >= 0; } }, { name: path });
  let n = 0;
  try {
    for await (const chunk of readTraceBytes(path, undefined, CHUNK)) {
      // a decompressed chunk can be 1 MB: fed in slices, the scan stops soon after the answer
      for (let at = 0; at < chunk.length; at += SLICE) {
        const slice = chunk.subarray(at, at + SLICE);
        scanner.push(slice);
        n += slice.length;
        if (scanner.traceShape === 'array' ? firstHasPh !== undefined : scanner.inTrace) return firstHasPh !== false;
        if (n >= SNIFF_BYTES) return true;
      }
    }
    scanner.finish();
  } catch (e) {
    return !(e instanceof TraceforgeError && e.code === 'E_NOT_TRACE');
  }
  return firstHasPh !== false;
}
