/** `--split steps:N | time:MS`: what a split asks for (pipeline/split.ts does the splitting). */
import { TraceforgeError } from '../errors.js';

export type SplitSpec = { by: 'steps'; steps: number } | { by: 'time'; ms: number };

/** `steps:N` (N ≥ 1 steps per part) or `time:MS` (MS > 0 milliseconds per part). */
export function parseSplit(text: string): SplitSpec {
  const m = /^\s*(steps|time)\s*:\s*(\S+)\s*$/i.exec(text);
  const v = m ? m[2]! : '';
  if (m && m[1]!.toLowerCase() === 'steps' && /^\d+$/.test(v) && Number(v) >= 1 && Number.isSafeInteger(Number(v))) return { by: 'steps', steps: Number(v) };
  if (m && m[1]!.toLowerCase() === 'time' && /^(\d+(\.\d*)?|\.\d+)$/.test(v) && Number(v) > 0 && Number.isFinite(Number(v))) return { by: 'time', ms: Number(v) };
  throw new TraceforgeError('E_USAGE', `--split takes steps:N (N steps per part, N >= 1) or time:MS (parts of MS milliseconds, MS > 0), not "${text}"`);
}

export const describeSplit = (s: SplitSpec): string => (s.by === 'steps' ? `steps:${s.steps}` : `time:${s.ms}`);
