/**
 * Writes a Chrome-trace JSON document around streamed events: top-level entries in their
 * original order and bytes, the events array, entries that followed it. Events are written as
 * their original bytes, with byte-span patches applied where a transform changed a value.
 */
import type { OutputFile } from './writer.js';
import type { TopLevelEntry, TraceShape } from './scanner.js';

/** A replacement of buf[start, end) by text. Patches of one event must not overlap. */
export interface Patch {
  start: number;
  end: number;
  text: string;
}

export class TraceWriter {
  private first = true;
  events = 0;

  constructor(private readonly out: OutputFile, private readonly shape: TraceShape) {}

  /** Opens the document; `header` entries come before the events array (object form only). */
  begin(header: readonly (TopLevelEntry | string)[]): void {
    if (this.shape === 'array') { this.out.write('['); return; }
    this.out.write('{');
    for (const e of header) {
      this.out.write('\n  ');
      if (typeof e === 'string') this.out.write(e);
      else { this.out.write(e.rawKey); this.out.write(': '); this.out.write(e.rawValue); }
      this.out.write(',');
    }
    this.out.write('\n  "traceEvents": [');
  }

  private sep(): void {
    this.out.write(this.first ? '\n' : ',\n');
    this.first = false;
    this.events++;
  }

  /** An event: buf[start, end) with patches (sorted by start) applied. */
  event(buf: Buffer, start: number, end: number, patches?: readonly Patch[]): void {
    this.sep();
    if (!patches || patches.length === 0) { this.out.write(buf.subarray(start, end)); return; }
    let at = start;
    for (const p of patches) {
      if (p.start > at) this.out.write(buf.subarray(at, p.start));
      this.out.write(p.text);
      at = p.end;
    }
    if (end > at) this.out.write(buf.subarray(at, end));
  }

  /** An event given as JSON text. */
  eventText(text: string): void {
    this.sep();
    this.out.write(text);
  }

  /** Closes the document; `trailer` entries follow the events array (object form only). */
  end(trailer: readonly (TopLevelEntry | string)[]): void {
    if (this.shape === 'array') { this.out.write('\n]\n'); return; }
    this.out.write('\n  ]');
    for (const e of trailer) {
      this.out.write(',\n  ');
      if (typeof e === 'string') this.out.write(e);
      else { this.out.write(e.rawKey); this.out.write(': '); this.out.write(e.rawValue); }
    }
    this.out.write('\n}\n');
  }
}
