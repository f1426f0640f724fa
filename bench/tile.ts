/**
 * Make a big Kineto trace by tiling a real one in time (benchmark input generator).
 *
 *   node dist/bench/tile.js IN.json[.gz] OUT.json.gz --copies N
 *   node dist/bench/tile.js IN.json[.gz] OUT.json.gz --min-bytes 2.2e9 [--gap-us 1000]
 *   node dist/bench/tile.js IN.json[.gz] OUT.json.gz --copies 1 --span-fraction 0.125
 *
 * `--span-fraction F` cuts instead (with --copies 1): only the events whose `ts` is in the first
 * F of the trace's span are kept (metadata and events without a numeric ts always are); smaller
 * ranks for the many-rank export benchmark.
 * Copy 0 is the input's events unchanged (metadata included). Copy k > 0 repeats every
 * non-metadata event with `ts` shifted by k * period (period = the trace's span rounded up to
 * whole microseconds, plus a gap) and with flow `id`, `args.correlation` and
 * `args."External id"` offset by k * idStride (1e7, or the next power of ten above the largest
 * id) so ids stay unique. `ph: "M"` events appear only once.
 *
 * Memory: the decompressed input is held as one Buffer (a real trace, ~154 MB); the output is
 * streamed through gzip level 1 with backpressure and never exists as one string or Buffer, so
 * it can be larger than V8's string limit. Numbers are edited as text: the period is a whole
 * number of microseconds, so only the integer digits of `ts` change and the fraction digits are
 * copied byte for byte.
 *
 * Standalone on purpose: only `node:` built-ins, nothing from src/ (the benchmark must not
 * depend on the code it measures).
 */
import { createWriteStream, readFileSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { createGzip, gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';

// ---------------------------------------------------------------------------------------------
// Scan: split the input into header / events / trailer and find the numbers to edit.
// ---------------------------------------------------------------------------------------------

const enum Kind {
  Ts = 0,
  Id = 1, // flow id, args.correlation, args."External id"
}

interface Edit {
  kind: Kind;
  /** Byte range of the digits to replace. For Kind.Ts fast path: the integer digits only. */
  start: number;
  end: number;
  /** Parsed value of the replaced digits when it is a safe non-negative integer, else NaN. */
  value: number;
}

interface Layout {
  headerEnd: number; // index just after the `[` of traceEvents
  trailerStart: number; // index just after the last event's `}`
  eventStart: number[];
  eventEnd: number[];
  /** `ts` of each event as a number (NaN when it has none). */
  eventTs: Float64Array;
  isMeta: Uint8Array;
  /** Edits of event i are edits[editFirst[i] .. editFirst[i+1]). */
  editFirst: number[];
  edits: Edit[];
  minTs: number;
  maxEnd: number;
  maxId: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isNumChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x2b || c === 0x65 || c === 0x45;
}

function fail(msg: string, offset: number): never {
  throw new Error(`${msg} (at byte ${offset} of the decompressed input)`);
}

function findTraceEventsArray(buf: Buffer): number {
  // The top-level key; Kineto writes it after the metadata keys. A string value containing the
  // text `"traceEvents"` before it is not expected in a profiler trace.
  const key = Buffer.from('"traceEvents"');
  let at = buf.indexOf(key);
  if (at < 0) fail('no "traceEvents" key', 0);
  let i = at + key.length;
  while (i < buf.length && isWs(buf[i]!)) i++;
  if (buf[i] !== COLON) fail('expected ":" after "traceEvents"', i);
  i++;
  while (i < buf.length && isWs(buf[i]!)) i++;
  if (buf[i] !== LBRACKET) fail('expected "[" after "traceEvents":', i);
  at = i + 1;
  return at;
}

function scan(buf: Buffer): Layout {
  const headerEnd = findTraceEventsArray(buf);
  const eventStart: number[] = [];
  const eventEnd: number[] = [];
  const eventTs: number[] = [];
  const meta: number[] = [];
  const editFirst: number[] = [];
  const edits: Edit[] = [];
  let minTs = Infinity;
  let maxEnd = -Infinity;
  let maxId = 0;

  const n = buf.length;
  let i = headerEnd;
  for (;;) {
    while (i < n && (isWs(buf[i]!) || buf[i] === COMMA)) i++;
    if (i >= n) fail('traceEvents array is not terminated', i);
    const c0 = buf[i]!;
    if (c0 === RBRACKET) break;
    if (c0 !== LBRACE) fail(`expected "{" to start an event, found ${JSON.stringify(String.fromCharCode(c0))}`, i);

    // One event: walk it, tracking depth and strings; look at keys at depth 1 and 2.
    const start = i;
    editFirst.push(edits.length);
    let depth = 0;
    let isMeta = 0;
    let ts = NaN;
    let dur = 0;
    for (;;) {
      if (i >= n) fail('event is not terminated', start);
      const c = buf[i]!;
      if (c === QUOTE) {
        const sStart = i + 1;
        i++;
        while (i < n) {
          const d = buf[i]!;
          if (d === BACKSLASH) i += 2;
          else if (d === QUOTE) break;
          else i++;
        }
        const sEnd = i; // index of the closing quote
        i++;
        if (depth !== 1 && depth !== 2) continue;
        const len = sEnd - sStart;
        if (len !== 2 && len !== 3 && len !== 11) continue;
        let j = i;
        while (j < n && isWs(buf[j]!)) j++;
        if (buf[j] !== COLON) continue; // a string value, not a key
        j++;
        while (j < n && isWs(buf[j]!)) j++;
        const key = buf.toString('latin1', sStart, sEnd);
        if (depth === 1 && key === 'ph') {
          if (buf[j] === QUOTE && buf[j + 1] === 0x4d /* M */ && buf[j + 2] === QUOTE) isMeta = 1;
          continue;
        }
        const isTs = depth === 1 && key === 'ts';
        const isDur = depth === 1 && key === 'dur';
        const isId =
          (depth === 1 && key === 'id') || (depth === 2 && (key === 'correlation' || key === 'External id'));
        if (!isTs && !isDur && !isId) continue;
        const c1 = buf[j];
        if (c1 === undefined || !isNumChar(c1)) continue; // e.g. a string id: left untouched
        let k = j;
        while (k < n && isNumChar(buf[k]!)) k++;
        const text = buf.toString('latin1', j, k);
        if (isDur) {
          dur = Number(text);
          i = k;
          continue;
        }
        if (isTs) {
          ts = Number(text);
          const m = /^(\d+)(\.\d+)?$/.exec(text);
          const intDigits = m?.[1];
          if (intDigits !== undefined && Number.isSafeInteger(Number(intDigits))) {
            edits.push({ kind: Kind.Ts, start: j, end: j + intDigits.length, value: Number(intDigits) });
          } else {
            edits.push({ kind: Kind.Ts, start: j, end: k, value: NaN });
          }
        } else {
          const v = Number(text);
          if (/^-?\d+$/.test(text) && Number.isSafeInteger(v)) {
            edits.push({ kind: Kind.Id, start: j, end: k, value: v });
            if (v > maxId) maxId = v;
          } else {
            edits.push({ kind: Kind.Id, start: j, end: k, value: NaN });
          }
        }
        i = k;
        continue;
      }
      if (c === LBRACE || c === LBRACKET) depth++;
      else if (c === RBRACE || c === RBRACKET) {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
      i++;
    }
    eventStart.push(start);
    eventEnd.push(i);
    eventTs.push(ts);
    meta.push(isMeta);
    if (!isMeta && Number.isFinite(ts)) {
      if (ts < minTs) minTs = ts;
      const end = ts + (Number.isFinite(dur) ? dur : 0);
      if (end > maxEnd) maxEnd = end;
    }
  }
  editFirst.push(edits.length);
  const trailerStart = eventEnd.length > 0 ? eventEnd[eventEnd.length - 1]! : headerEnd;
  if (eventStart.length === 0) fail('traceEvents is empty: nothing to tile', headerEnd);
  if (!Number.isFinite(minTs)) fail('no event carries a numeric ts', headerEnd);
  return {
    headerEnd,
    trailerStart,
    eventStart,
    eventEnd,
    eventTs: Float64Array.from(eventTs),
    isMeta: Uint8Array.from(meta),
    editFirst,
    edits,
    minTs,
    maxEnd,
    maxId,
  };
}

// ---------------------------------------------------------------------------------------------
// Exact decimal arithmetic for the slow path (negative, fractional-with-exponent, huge values).
// ---------------------------------------------------------------------------------------------

/** text + add (add is an integer), exactly, for plain decimal text; throws on exponents. */
function addDecimal(text: string, add: bigint): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`cannot shift number ${JSON.stringify(text)} exactly (exponent form)`);
  const neg = m[1] === '-';
  const frac = m[3] ?? '';
  const scale = 10n ** BigInt(frac.length);
  let v = BigInt((m[2] ?? '0') + frac);
  if (neg) v = -v;
  v += add * scale;
  const sign = v < 0n ? '-' : '';
  const abs = v < 0n ? -v : v;
  const ip = abs / scale;
  if (frac.length === 0) return sign + ip.toString();
  const fp = (abs % scale).toString().padStart(frac.length, '0');
  return `${sign}${ip.toString()}.${fp}`;
}

// ---------------------------------------------------------------------------------------------
// Output: a block buffer in front of gzip, with backpressure.
// ---------------------------------------------------------------------------------------------

const BLOCK = 1 << 20;

/**
 * Writes go into a 1 MiB block synchronously (no await per number); a full block is handed to
 * the sink, and when the sink says "full" the caller awaits `drain()` at the next event
 * boundary. So at most one block plus one event is buffered beyond the sink's high-water mark.
 */
class BlockWriter {
  private block = Buffer.allocUnsafe(BLOCK);
  private pos = 0;
  private blocked = false;
  bytes = 0;
  constructor(private readonly sink: NodeJS.WritableStream) {}

  private push(chunk: Buffer): void {
    if (!this.sink.write(chunk)) this.blocked = true;
  }

  private flushBlock(): void {
    if (this.pos === 0) return;
    const chunk = this.block.subarray(0, this.pos);
    this.block = Buffer.allocUnsafe(BLOCK);
    this.pos = 0;
    this.push(chunk);
  }

  /** Copy src[start, end). */
  copy(src: Buffer, start: number, end: number): void {
    const len = end - start;
    if (len <= 0) return;
    this.bytes += len;
    if (len > BLOCK - this.pos) {
      this.flushBlock();
      if (len > BLOCK) {
        this.push(Buffer.from(src.subarray(start, end)));
        return;
      }
    }
    src.copy(this.block, this.pos, start, end);
    this.pos += len;
  }

  /** Write an ASCII string (numbers, separators). */
  ascii(s: string): void {
    if (s.length > BLOCK - this.pos) this.flushBlock();
    this.pos += this.block.write(s, this.pos, 'latin1');
    this.bytes += s.length;
  }

  /** Wait until the sink has room again, if it asked us to stop. */
  async drain(): Promise<void> {
    if (!this.blocked) return;
    this.blocked = false;
    await once(this.sink, 'drain');
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  async end(): Promise<void> {
    this.flushBlock();
    await this.drain();
    this.sink.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const USAGE =
  'usage: node dist/bench/tile.js IN.json[.gz] OUT.json.gz (--copies N | --min-bytes BYTES) [--gap-us US]\n' +
  '       [--rank R] [--world-size W]   (rewrite distributedInfo.rank / world_size, to fake more ranks)\n' +
  '       [--span-fraction F]           (with --copies 1: keep only the events starting in the first F of the span)';

function readInput(path: string): Buffer {
  const raw = readFileSync(path);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) return gunzipSync(raw);
  return raw;
}


/**
 * Rewrite `rank` / `world_size` inside every `"distributedInfo": {...}` of a small piece of
 * top-level JSON text (the header or the trailer; on-demand traces repeat distributedInfo after
 * traceEvents). Used to fake an 8-rank set from two real ranks. Only the part of the object
 * before its first nested `{` is looked at; Kineto writes rank and world_size there.
 */
function rewriteDistributedInfo(text: string, rank: number | undefined, worldSize: number | undefined): string {
  if (rank === undefined && worldSize === undefined) return text;
  return text.replace(/("distributedInfo"\s*:\s*\{)([^{}]*)/g, (_all, open: string, body: string) => {
    let b = body;
    if (rank !== undefined) b = b.replace(/("rank"\s*:\s*)"?\d+"?/, `$1${rank}`);
    if (worldSize !== undefined) b = b.replace(/("world_size"\s*:\s*)"?\d+"?/, `$1${worldSize}`);
    return open + b;
  });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      copies: { type: 'string' },
      'min-bytes': { type: 'string' },
      'gap-us': { type: 'string' },
      rank: { type: 'string' },
      'world-size': { type: 'string' },
      'span-fraction': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [inPath, outPath] = positionals;
  if (inPath === undefined || outPath === undefined || positionals.length !== 2) throw new Error(USAGE);
  const copies = values.copies !== undefined ? Number(values.copies) : 1;
  const minBytes = values['min-bytes'] !== undefined ? Number(values['min-bytes']) : 0;
  const gapUs = values['gap-us'] !== undefined ? Number(values['gap-us']) : 1000;
  if (!Number.isInteger(copies) || copies < 1) throw new Error(`--copies must be a positive integer\n${USAGE}`);
  if (!Number.isFinite(minBytes) || minBytes < 0) throw new Error(`--min-bytes must be a number\n${USAGE}`);
  if (!Number.isInteger(gapUs) || gapUs < 0) throw new Error('--gap-us must be a non-negative integer');
  if (values.copies === undefined && values['min-bytes'] === undefined) throw new Error(USAGE);
  const rank = values.rank !== undefined ? Number(values.rank) : undefined;
  const worldSize = values['world-size'] !== undefined ? Number(values['world-size']) : undefined;
  if (rank !== undefined && !(Number.isInteger(rank) && rank >= 0)) throw new Error('--rank must be an integer >= 0');
  if (worldSize !== undefined && !(Number.isInteger(worldSize) && worldSize >= 1)) {
    throw new Error('--world-size must be an integer >= 1');
  }

  const fraction = values['span-fraction'] !== undefined ? Number(values['span-fraction']) : 1;
  if (!(fraction > 0 && fraction <= 1)) throw new Error('--span-fraction must be in (0, 1]');
  if (fraction < 1 && (copies !== 1 || values['min-bytes'] !== undefined)) throw new Error('--span-fraction goes with --copies 1 only');

  const t0 = Date.now();
  const buf = readInput(inPath);
  const L = scan(buf);
  const periodUs = Math.ceil(L.maxEnd - L.minTs) + gapUs;
  let idStride = 1e7;
  while (idStride <= L.maxId) idStride *= 10;
  const nMeta = L.isMeta.reduce((a, b) => a + b, 0);
  const nEvents = L.eventStart.length;
  process.stderr.write(
    `tile: ${inPath}: ${buf.length} bytes, ${nEvents} events (${nMeta} metadata), ` +
      `span ${(L.maxEnd - L.minTs).toFixed(3)} us, period ${periodUs} us, id stride ${idStride}\n`,
  );

  const tmpPath = `${outPath}.tmp`;
  const gzip = createGzip({ level: 1 });
  const done = pipeline(gzip, createWriteStream(tmpPath));
  // If the file stream fails, `done` rejects; make sure a pending 'drain' wait does not hang.
  done.catch((e: unknown) => gzip.destroy(e instanceof Error ? e : new Error(String(e))));
  const w = new BlockWriter(gzip);
  const sep = ',\n  ';
  let written = 0; // events written

  try {
    const header = buf.toString('utf8', 0, L.headerEnd);
    const newHeader = rewriteDistributedInfo(header, rank, worldSize);
    if (newHeader === header) w.copy(buf, 0, L.headerEnd);
    else {
      const hb = Buffer.from(newHeader, 'utf8');
      w.copy(hb, 0, hb.length);
    }
    // --span-fraction: events starting at or after the cutoff are left out (metadata kept)
    const cutoff = fraction < 1 ? L.minTs + fraction * (L.maxEnd - L.minTs) : Infinity;
    let k = 0;
    const trailerLen = buf.length - L.trailerStart; // close enough for the --min-bytes test
    for (; k < copies || w.bytes + trailerLen < minBytes; k++) {
      const shiftUs = k * periodUs;
      const idAdd = k * idStride;
      for (let e = 0; e < nEvents; e++) {
        if (k > 0 && L.isMeta[e] === 1) continue;
        if (L.eventTs[e]! >= cutoff && L.isMeta[e] !== 1) continue;
        w.ascii(written === 0 ? '\n  ' : sep);
        written++;
        const s = L.eventStart[e]!;
        const end = L.eventEnd[e]!;
        if (k === 0) {
          w.copy(buf, s, end);
        } else {
          let at = s;
          const last = L.editFirst[e + 1]!;
          for (let x = L.editFirst[e]!; x < last; x++) {
            const ed = L.edits[x]!;
            w.copy(buf, at, ed.start);
            const add = ed.kind === Kind.Ts ? shiftUs : idAdd;
            const sum = ed.value + add;
            if (Number.isSafeInteger(sum)) {
              w.ascii(String(sum));
            } else {
              w.ascii(addDecimal(buf.toString('latin1', ed.start, ed.end), BigInt(add)));
            }
            at = ed.end;
          }
          w.copy(buf, at, end);
        }
        if (w.isBlocked) await w.drain();
      }
      process.stderr.write(`tile: copy ${k} done, ${w.bytes} bytes so far\n`);
    }
    const trailer = buf.toString('utf8', L.trailerStart, buf.length);
    const tb = Buffer.from(rewriteDistributedInfo(trailer, rank, worldSize), 'utf8');
    w.copy(tb, 0, tb.length);
    const total = w.bytes;
    await w.end();
    await done;
    renameSync(tmpPath, outPath);
    process.stderr.write(
      `tile: wrote ${outPath}: ${k} copies, ${written} events, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    process.stdout.write(`${total}\n`);
  } catch (err) {
    gzip.destroy();
    rmSync(tmpPath, { force: true });
    throw err;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`tile: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
