/**
 * User annotations (`record_function` ranges: `user_annotation` on the CPU, their mirror
 * `gpu_user_annotation` on the device) — step markers such as `ProfilerStep#3` or
 * `decode_step_3` and any other named range. All are kept (they are few); the step view picks
 * its steps among them (analysis/steps.ts).
 */
import { F, type ScannedEvent } from '../../io/scanner.js';
import { externalIdOf } from '../../io/arg-spans.js';

export interface Annotation {
  name: string;
  start: number;
  dur: number;
  pid: number;
  /** Index into `threads`. */
  thread: number;
  ext: number;
  gpu: boolean;
}

export class AnnotationBuilder {
  readonly list: Annotation[] = [];
  private readonly names = new Map<string, string>();

  add(ev: ScannedEvent, start: number, dur: number, pid: number, thread: number, gpu: boolean): void {
    const f = ev.f;
    const ns = f[2 * F.name]!;
    if (ns < 0) return;
    const raw = ev.buf.toString('utf8', ns, f[2 * F.name + 1]!);
    let name = this.names.get(raw);
    if (name === undefined) {
      try { name = String(JSON.parse(raw)); } catch { return; }
      this.names.set(raw, name);
    }
    const as = f[2 * F.args]!;
    const ext = as < 0 ? NaN : externalIdOf(ev.buf, as, f[2 * F.args + 1]!);
    this.list.push({ name, start, dur, pid, thread, ext, gpu });
  }
}
