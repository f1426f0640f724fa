/** The (pid, tid) tracks that records point to: CPU threads and GPU streams alike. */
import { F } from '../../io/scanner.js';
import { sameBytes } from '../../io/arg-spans.js';
import { SpanInterner } from '../../model/span-interner.js';

const RECENT = 4;

export interface ThreadInfo {
  /** Index into the records' pids. */
  pid: number;
  /** The tid as written (JSON text without quotes for strings: `7`, `stream 7`). */
  tid: string;
}

export class ThreadTable {
  private readonly keys = new SpanInterner();
  private readonly spans: number[] = [0, 0, 0, 0];
  readonly list: ThreadInfo[] = [];
  /**
   * The last few threads seen (pid id, tid bytes, thread id), most recent first: events come
   * from a handful of threads in turn, and comparing a few tid bytes is much cheaper than hashing
   * the (pid, tid) spans into the interner for every event.
   */
  private readonly recentPid = new Int32Array(RECENT).fill(-1);
  private readonly recentTid: Buffer[] = Array.from({ length: RECENT }, () => Buffer.alloc(0));
  private readonly recentId = new Int32Array(RECENT);

  /** Id of the event's (pid, tid); `pid` is the already interned pid. */
  id(b: Buffer, f: Int32Array, pid: number): number {
    const ts = f[2 * F.tid]!;
    const t0 = ts < 0 ? 0 : ts;
    const tn = ts < 0 ? 0 : f[2 * F.tid + 1]! - ts;
    const rp = this.recentPid;
    for (let k = 0; k < RECENT; k++) {
      if (rp[k] !== pid || !sameBytes(this.recentTid[k]!, b, t0, tn)) continue;
      const id = this.recentId[k]!;
      if (k > 0) this.remember(k, pid, this.recentTid[k]!, id);
      return id;
    }
    const id = this.intern(b, f, pid);
    this.remember(RECENT - 1, pid, Buffer.from(b.subarray(t0, t0 + tn)), id);
    return id;
  }

  /** Moves entry k to the front with these values (entries before k shift down one). */
  private remember(k: number, pid: number, tid: Buffer, id: number): void {
    for (let j = k; j > 0; j--) {
      this.recentPid[j] = this.recentPid[j - 1]!;
      this.recentTid[j] = this.recentTid[j - 1]!;
      this.recentId[j] = this.recentId[j - 1]!;
    }
    this.recentPid[0] = pid; this.recentTid[0] = tid; this.recentId[0] = id;
  }

  private intern(b: Buffer, f: Int32Array, pid: number): number {
    const spans = this.spans;
    const ps = f[2 * F.pid]!;
    const ts = f[2 * F.tid]!;
    spans[0] = ps < 0 ? 0 : ps; spans[1] = ps < 0 ? 0 : f[2 * F.pid + 1]!;
    spans[2] = ts < 0 ? 0 : ts; spans[3] = ts < 0 ? 0 : f[2 * F.tid + 1]!;
    const id = this.keys.intern(b, spans);
    if (id === this.list.length) {
      let tid = b.toString('utf8', spans[2]!, spans[3]!);
      if (tid.startsWith('"')) { try { tid = String(JSON.parse(tid)); } catch { /* keep the raw text */ } }
      this.list.push({ pid, tid });
    }
    return id;
  }
}
