/**
 * Running a task on a worker thread: one message in, one reply out ({ok} or {error}). Errors
 * that are the input's fault come back as TraceforgeError values; anything else is a bug.
 */
import { Worker } from 'node:worker_threads';
import { TraceforgeError, type ErrorCode, isTraceforgeError } from '../errors.js';

export type TaskOutcome<T> = { ok: T } | { error: TraceforgeError };

interface Reply<T> {
  ok?: T;
  progress?: number;
  error?: { code: string; message: string; file?: string; offset?: number };
}

/** Runs the worker script at `url` with `payload`; `onProgress` gets its progress messages. */
export function runInWorker<T>(url: URL, payload: unknown, onProgress?: (n: number) => void): Promise<TaskOutcome<T>> {
  return new Promise((resolve, reject) => {
    // A small young generation: the per-event garbage of a scan is short-lived, and the default
    // semi-spaces of two workers added ~100 MB of RSS to a merge of 1 GB ranks at no speed gain.
    const w = new Worker(url, { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    w.on('message', (m: Reply<T>) => {
      if (m.progress !== undefined) { onProgress?.(m.progress); return; }
      // settle only once the worker is gone, so its memory is released before the next task
      const settle = (): void => {
        if (m.ok !== undefined) resolve({ ok: m.ok });
        else if (m.error && m.error.code !== 'BUG') resolve({ error: new TraceforgeError(m.error.code as ErrorCode, m.error.message, m.error.file, m.error.offset) });
        else reject(new Error(m.error?.message ?? 'worker failed'));
      };
      w.terminate().then(settle, settle);
    });
    w.once('error', reject);
    w.postMessage(payload);
  });
}

/**
 * Progress goes from a worker at most every PROGRESS_MS: a message per decompressed chunk (≈ 300
 * per bench rank in a merge's pass 2) woke the main thread as often, on a machine whose 2 cores the
 * workers already fill.
 */
const PROGRESS_MS = 50;

/**
 * `progress(n)` sends n unless something was sent less than `ms` ago (then it is kept);
 * `flush()` sends the value kept, if any — the last value always goes out.
 */
export function throttled(send: (n: number) => void, ms: number, clock: () => number = () => performance.now()): { progress: (n: number) => void; flush: () => void } {
  let last = -Infinity;
  let pending: number | undefined;
  return {
    progress(n) {
      const now = clock();
      if (now - last < ms) { pending = n; return; }
      last = now;
      pending = undefined;
      send(n);
    },
    flush() {
      if (pending === undefined) return;
      const n = pending;
      pending = undefined;
      send(n);
    },
  };
}

/** The worker side: answers one message with `task`'s result (or its error). */
export function serveTask<P, T>(port: import('node:worker_threads').MessagePort | null, task: (payload: P, progress: (n: number) => void) => Promise<T>): void {
  port?.on('message', (payload: P) => {
    const { progress, flush } = throttled((n) => port.postMessage({ progress: n }), PROGRESS_MS);
    task(payload, progress).then(
      (ok) => { flush(); port.postMessage({ ok }); },
      (e: unknown) => port.postMessage({
        error: isTraceforgeError(e)
          ? { code: e.code, message: e.message, file: e.file, offset: e.offset }
          : { code: 'BUG', message: e instanceof Error ? e.stack ?? e.message : String(e) },
      }),
    );
  });
}

/** Runs `jobs` with at most `limit` at a time; results in job order. */
export async function pool<T>(count: number, limit: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      out[i] = await job(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, count)) }, lane));
  return out;
}
