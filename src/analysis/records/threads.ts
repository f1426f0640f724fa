/** The (pid, tid) tracks that records point to: CPU threads and GPU streams alike. */
import { F } from '../../io/scanner.js';
import { SpanInterner } from '../../model/span-interner.js';

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

  /** Id of the event's (pid, tid); `pid` is the already interned pid. */
  id(b: Buffer, f: Int32Array, pid: number): number {
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
