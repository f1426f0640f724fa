/** Inputs that must be read twice (two-pass commands) cannot stay on stdin: spool them. */
import { createWriteStream, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface Spooled {
  path: string;
  cleanup(): Promise<void>;
}

/** Returns a re-readable path for `input`: the path itself, or a temp copy of stdin. */
export async function rereadable(input: string): Promise<Spooled> {
  if (input !== '-') return { path: input, cleanup: async () => {} };
  const dir = await fsp.mkdtemp(join(tmpdir(), 'traceforge-stdin-'));
  const path = join(dir, 'stdin');
  await pipeline(process.stdin, createWriteStream(path));
  return { path, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}
