/**
 * Byte sources: a file path or `-` (stdin), gunzipped when the content starts with the gzip
 * magic bytes (1f 8b) — never decided by the file name.
 */
import { createReadStream, promises as fsp, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { TraceforgeError } from '../errors.js';

/** Read size for files. Large reads keep per-chunk overhead low; memory stays bounded. */
export const READ_CHUNK = 1 << 20;

/** Size of a file on disk, 0 when it cannot be read (stdin, gone: the reader reports those); for progress. */
export function fileSize(path: string): number {
  try { return statSync(path).size; } catch { return 0; }
}

/** Total size on disk of the files, as fileSize counts them. */
export const totalFileSize = (paths: readonly string[]): number => paths.reduce((n, p) => n + fileSize(p), 0);

export interface SourceInfo {
  /** The name used in messages: the path, or `<stdin>`. */
  readonly name: string;
  /** Whether the bytes were gzip-compressed. */
  gzip: boolean;
  /** Compressed bytes read so far (for progress). */
  compressedBytes: number;
}

function describeOpenError(name: string, e: NodeJS.ErrnoException): TraceforgeError {
  const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
  return new TraceforgeError('E_INPUT', `${name}: cannot read: ${why}`, name);
}

/**
 * Yields the decompressed bytes of `path` (or stdin for `-`) chunk by chunk.
 * Throws TraceforgeError E_INPUT / E_GZIP with the file name on failure.
 */
export async function* readTraceBytes(path: string, info?: SourceInfo, chunkSize = READ_CHUNK): AsyncGenerator<Buffer> {
  const name = path === '-' ? '<stdin>' : path;
  const src = info ?? { name, gzip: false, compressedBytes: 0 };
  let raw: Readable;
  if (path === '-') {
    raw = process.stdin;
  } else {
    try {
      const st = await fsp.stat(path);
      if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    } catch (e) {
      throw describeOpenError(name, e as NodeJS.ErrnoException);
    }
    raw = createReadStream(path, { highWaterMark: chunkSize });
  }
  const it = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let first: IteratorResult<Buffer>;
  try {
    first = await it.next();
  } catch (e) {
    throw describeOpenError(name, e as NodeJS.ErrnoException);
  }
  if (first.done || first.value.length === 0) {
    throw new TraceforgeError('E_INPUT', `${name}: the file is empty`, name, 0);
  }
  const head = first.value;
  src.gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  // a reader that stops early (merge reads only the header) must not leave the file open
  const release = (): void => { if (raw !== process.stdin) raw.destroy(); };
  if (!src.gzip) {
    try {
      src.compressedBytes += head.length;
      yield head;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        src.compressedBytes += r.value.length;
        yield r.value;
      }
    } finally {
      release();
    }
  }
  // gzip: feed the raw chunks into a gunzip stream and yield what comes out.
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  const feed = async (): Promise<void> => {
    try {
      let r: IteratorResult<Buffer> = first;
      while (!r.done) {
        src.compressedBytes += r.value.length;
        if (!gunzip.write(r.value)) await new Promise<void>((res) => gunzip.once('drain', res));
        r = await it.next();
      }
      gunzip.end();
    } catch (e) {
      gunzip.destroy(e as Error);
    }
  };
  void feed();
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err instanceof TraceforgeError) throw err;
    const what = err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message) ? 'the gzip stream is truncated' : `the gzip stream is damaged (${err.message})`;
    throw new TraceforgeError('E_GZIP', `${name}: ${what} (at compressed byte ${src.compressedBytes})`, name, src.compressedBytes);
  } finally {
    gunzip.destroy();
    release();
  }
}
