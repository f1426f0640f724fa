/**
 * `diff`: two profiles compared. Each side is read like `stats` reads its inputs (a trace, a
 * directory of rank traces, files, or a merged trace split back into its ranks), then one more
 * streaming pass per file (on a worker thread, beside the first) collects the CPU-side CUDA / HIP runtime and driver calls (launch
 * overhead: what CUDA graphs remove), which `stats` does not keep. analysis/diff.ts compares.
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { TraceforgeError, type ErrorCode } from '../errors.js';
import { F, type ScanHandler, type ScannedEvent } from '../io/scanner.js';
import { fieldEquals, phaseOf, stringField } from '../io/fields.js';
import { scanFile } from '../io/read.js';
import { durationNs } from '../model/time.js';
import { diffStats, type ApiCallStat, type DiffOptions, type DiffResult } from '../analysis/diff.js';
import type { StatsView } from '../analysis/result.js';
import { statsOf, type StatsOptions } from './stats.js';

export type { DiffResult, DiffView, Normalize } from '../analysis/diff.js';
export { DIFF_VIEWS, DEFAULT_DIFF_VIEWS, NORMALIZE_MODES, gateOf, type Gate } from '../analysis/diff.js';

export interface DiffRequest extends DiffOptions {
  /** Step annotations (default `^ProfilerStep#\d+$`); a string is a regex. Used on both sides. */
  step?: string | RegExp;
  /** Extra category rules, as for stats. */
  categories?: StatsOptions['categories'];
  /** SGLang profile id, when a directory holds several (both sides). */
  profileId?: string;
  /** Collect runtime / driver API calls (one more pass over every file; default true). */
  apiCalls?: boolean;
  /** Progress over both sides: compressed bytes read so far, and the total known so far. */
  onProgress?: (done: number, total: number) => void;
}

const PH_X = 0x58;
const API_CATEGORIES = ['cuda_runtime', 'cuda_driver', 'Runtime'];

/** Sums duration and calls per name of runtime / driver API events (`cat` cuda_runtime, cuda_driver; old `Runtime`). */
class ApiCallCollector implements ScanHandler {
  readonly calls = new Map<string, { calls: number; ns: number }>();

  event(ev: ScannedEvent): void {
    if (phaseOf(ev) !== PH_X) return;
    if (!API_CATEGORIES.some((c) => fieldEquals(ev, F.cat, c))) return;
    const name = stringField(ev, F.name) ?? '';
    const ds = ev.f[2 * F.dur]!;
    const d = ds >= 0 ? durationNs(ev.buf, ds, ev.f[2 * F.dur + 1]!) : 0;
    const x = this.calls.get(name);
    const ns = d >= 0 ? d : 0;
    if (x) { x.calls++; x.ns += ns; } else this.calls.set(name, { calls: 1, ns });
  }
}

interface ApiCounts { name: string; calls: number; ns: number }

async function apiCallsOfFile(path: string): Promise<ApiCounts[]> {
  const c = new ApiCallCollector();
  await scanFile(path, c);
  return [...c.calls].map(([name, x]) => ({ name, ...x }));
}

const WORKER_KIND = 'traceforge-diff-api-calls';

type WorkerMessage = { ok: ApiCounts[] } | { error: { code: string; message: string; file?: string; offset?: number } };

function apiCallsInWorker(path: string): Promise<ApiCounts[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { kind: WORKER_KIND } });
    w.once('message', (m: WorkerMessage) => {
      void w.terminate();
      if ('ok' in m) resolve(m.ok);
      else if (m.error.code !== 'BUG') reject(new TraceforgeError(m.error.code as ErrorCode, m.error.message, m.error.file, m.error.offset));
      else reject(new Error(m.error.message));
    });
    w.once('error', reject);
    w.postMessage(path);
  });
}

/**
 * API-call passes, one per file, on worker threads (at most availableParallelism() at once) so
 * they run beside the statistics pass, which reads a single file on the main thread. A file
 * is read once even when both sides name it.
 */
class ApiCallPasses {
  private readonly byFile = new Map<string, Promise<ApiCounts[]>>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly limit = Math.max(1, availableParallelism());

  of(path: string): Promise<ApiCounts[]> {
    let p = this.byFile.get(path);
    if (!p) {
      p = this.slot().then(() => apiCallsInWorker(path)).finally(() => this.release());
      // a pass started early whose file stats rejects must not be an unhandled rejection
      p.catch(() => undefined);
      this.byFile.set(path, p);
    }
    return p;
  }

  private async slot(): Promise<void> {
    if (this.running < this.limit) { this.running++; return; }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); else this.running--;
  }

  /** Calls of the files together, by name (first-seen order). */
  async sum(files: readonly string[]): Promise<ApiCallStat[]> {
    const total = new Map<string, { calls: number; ns: number }>();
    for (const list of await Promise.all(files.map((f) => this.of(f)))) {
      for (const x of list) {
        const t = total.get(x.name);
        if (t) { t.calls += x.calls; t.ns += x.ns; } else total.set(x.name, { calls: x.calls, ns: x.ns });
      }
    }
    return [...total].map(([name, x]) => ({ name, calls: x.calls, totalUs: Math.round(x.ns) / 1000 }));
  }
}

/** Inputs that are plain trace files (their API-call pass can start before discovery). */
async function plainFiles(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of inputs) {
    if (!/\.json(\.gz)?$/i.test(p)) continue;
    const info = await stat(p).catch(() => undefined);
    if (info?.isFile()) out.push(p);
  }
  return out;
}

const asList = (x: string | readonly string[]): string[] => (typeof x === 'string' ? [x] : [...x]);

/**
 * Compares a baseline profile with a candidate. Each side: a trace, a directory of rank traces,
 * several files, or a merged trace. Reads every file twice (statistics, then API calls).
 */
export async function diffOf(baseline: string | readonly string[], candidate: string | readonly string[], opts: DiffRequest = {}): Promise<DiffResult> {
  const sides = [asList(baseline), asList(candidate)] as const;
  for (const s of sides) {
    if (s.length === 0) throw new TraceforgeError('E_USAGE', 'diff: each side needs a trace, a directory or files');
    if (s.includes('-')) throw new TraceforgeError('E_USAGE', 'diff reads files; stdin (-) is not supported');
  }
  const views = opts.views ?? [];
  const statViews: StatsView[] = ['summary', 'kernel', 'category', 'step', ...(views.includes('op') ? ['op' as const] : [])];
  const done = [0, 0];
  const totals = [0, 0];
  const progress = (k: number) => opts.onProgress && ((d: number, t: number): void => {
    done[k] = d; totals[k] = t;
    opts.onProgress!(done[0]! + done[1]!, totals[0]! + totals[1]!);
  });
  const statsOpts = (k: number): StatsOptions => ({
    views: statViews,
    ...(opts.step !== undefined ? { step: opts.step } : {}),
    ...(opts.categories ? { categories: opts.categories } : {}),
    ...(opts.profileId !== undefined ? { profileId: opts.profileId } : {}),
    ...(opts.onProgress ? { onProgress: progress(k)! } : {}),
  });
  const passes = opts.apiCalls === false ? undefined : new ApiCallPasses();
  if (passes) for (const f of [...await plainFiles(sides[0]), ...await plainFiles(sides[1])]) passes.of(f);
  const [b, c] = await Promise.all([statsOf(sides[0], statsOpts(0)), statsOf(sides[1], statsOpts(1))]);
  // stats' hints about missing steps and ops: the diff says them itself, for both sides at once
  for (const r of [b, c]) r.notes = r.notes.filter((n) => !n.startsWith('step view: no annotation') && !n.startsWith('op view: no cpu_op'));
  const files = (r: typeof b): string[] => [...new Set(r.inputs.map((i) => i.file))];
  const api = passes ? await Promise.all([passes.sum(files(b)), passes.sum(files(c))]) : [undefined, undefined];
  const pattern = opts.step === undefined ? undefined : typeof opts.step === 'string' ? opts.step : opts.step.source;
  return diffStats(
    { stats: b, ...(api[0] ? { apiCalls: api[0] } : {}) },
    { stats: c, ...(api[1] ? { apiCalls: api[1] } : {}) },
    { ...opts, ...(pattern !== undefined ? { stepPattern: pattern } : {}) },
  );
}

// Worker-thread entry: this module, loaded by apiCallsInWorker, reads one file and posts its API calls.
if (!isMainThread && (workerData as { kind?: string } | null)?.kind === WORKER_KIND) {
  const port = parentPort!;
  port.once('message', (path: string) => {
    apiCallsOfFile(path).then(
      (ok) => port.postMessage({ ok }),
      (e: unknown) => port.postMessage({
        error: e instanceof TraceforgeError
          ? { code: e.code, message: e.message, file: e.file, offset: e.offset }
          : { code: 'BUG', message: e instanceof Error ? e.stack ?? e.message : String(e) },
      }),
    );
  });
}
