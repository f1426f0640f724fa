/**
 * The CSV files torch_npu writes into `ASCEND_PROFILER_OUTPUT/` (FORMATS.md §2): a resumable
 * RFC 4180 reader that copes with the vendor's quirks, and typed readers for
 * `kernel_details.csv`, `op_statistic.csv` and `step_trace_time.csv`.
 *
 * Quirks handled:
 * - a TAB after every `Start Time(us)` value (it stops spreadsheets from turning the epoch µs
 *   into `1.7E+15`): trailing TABs of unquoted field text are dropped;
 * - shapes written as `"""32,3,224,224"""`: RFC 4180 gives `"32,3,224,224"`, and the typed
 *   readers take off that one pair of literal quotes; several tensors are joined by `;`;
 * - quoted fields spanning lines (`Call Stack`, `Input Shapes` of operator_details.csv), CRLF
 *   and LF line ends (both occur, even in one directory), a UTF-8 BOM;
 * - `N/A` in number columns (read as null) and an optional leading `Device_id` column
 *   (columns are always looked up by name).
 *
 * The reader is one linear pass over the text, fed in chunks of any size (a chunk may end
 * anywhere, even between the two quotes of an escaped quote or between CR and LF).
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TraceforgeError } from '../errors.js';
import { scanFile } from '../io/read.js';
import { F } from '../io/scanner.js';
import { phaseOf, stringField } from '../io/fields.js';

// ---------------------------------------------------------------------------------------------
// RFC 4180 reader

const enum S { FieldStart, Unquoted, Quoted, QuoteInQuoted, AfterCR }

/** One record: its fields and the 1-based line it starts on. */
export type CsvRowHandler = (fields: string[], line: number) => void;

/**
 * A resumable CSV reader: `push` text chunks, then `end()`. Rows are delivered to the handler
 * as soon as they are complete. Blank lines are skipped. An unterminated quoted field at the end
 * is an E_PARSE error naming the line it starts on.
 */
export class CsvReader {
  private state = S.FieldStart;
  /** Field text so far (quoted part, or the whole unquoted text). */
  private field = '';
  /** Text after a closing quote (lenient: kept; trailing TABs dropped like unquoted text). */
  private tail = '';
  private quoted = false;
  private row: string[] = [];
  private line = 1;
  private rowLine = 1;
  private first = true;

  constructor(private readonly onRow: CsvRowHandler, private readonly name = '<csv>') {}

  push(text: string): void {
    let s = text;
    if (this.first && s.length > 0) {
      this.first = false;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    const n = s.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case S.AfterCR:
          this.state = S.FieldStart;
          if (s.charCodeAt(i) === 10) i++;
          continue;
        case S.FieldStart:
          if (s.charCodeAt(i) === 34) { this.quoted = true; this.state = S.Quoted; i++; continue; }
          this.state = S.Unquoted;
          continue;
        case S.Unquoted: {
          let j = i;
          while (j < n) {
            const c = s.charCodeAt(j);
            if (c === 44 || c === 10 || c === 13) break;
            j++;
          }
          if (this.quoted) this.tail += s.slice(i, j);
          else this.field += s.slice(i, j);
          if (j === n) return;
          const c = s.charCodeAt(j);
          i = j + 1;
          this.endField();
          if (c === 44) { this.state = S.FieldStart; continue; }
          this.endRow();
          this.line++;
          this.rowLine = this.line;
          this.state = c === 13 ? S.AfterCR : S.FieldStart;
          continue;
        }
        case S.Quoted: {
          const q = s.indexOf('"', i);
          const j = q < 0 ? n : q;
          this.countLines(s, i, j);
          this.field += s.slice(i, j);
          if (q < 0) return;
          i = q + 1;
          this.state = S.QuoteInQuoted;
          continue;
        }
        case S.QuoteInQuoted:
          if (s.charCodeAt(i) === 34) { this.field += '"'; i++; this.state = S.Quoted; continue; }
          this.state = S.Unquoted; // the quote closed the field; what follows up to the delimiter is its tail
          continue;
      }
    }
  }

  end(): void {
    if (this.state === S.Quoted) {
      throw new TraceforgeError('E_PARSE', `${this.name}: a quoted field starting on line ${this.rowLine} is not closed at the end of the file`, this.name);
    }
    if (this.state === S.Unquoted || this.state === S.QuoteInQuoted || this.row.length > 0) {
      this.endField();
      this.endRow();
    }
    this.state = S.FieldStart;
  }

  private countLines(s: string, from: number, to: number): void {
    for (let k = s.indexOf('\n', from); k >= 0 && k < to; k = s.indexOf('\n', k + 1)) this.line++;
  }

  private endField(): void {
    const v = this.quoted ? this.field + stripTabs(this.tail) : stripTabs(this.field);
    this.row.push(v);
    this.field = '';
    this.tail = '';
    this.quoted = false;
  }

  private endRow(): void {
    const r = this.row;
    this.row = [];
    if (r.length === 1 && r[0] === '') return; // blank line
    this.onRow(r, this.rowLine);
  }
}

function stripTabs(t: string): string {
  let e = t.length;
  while (e > 0 && t.charCodeAt(e - 1) === 9) e--;
  return e === t.length ? t : t.slice(0, e);
}

export interface CsvTable {
  file: string;
  header: string[];
  rows: string[][];
  /** 1-based line each row starts on (parallel to rows). */
  lines: number[];
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? e.code : undefined;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : e instanceof Error ? e.message : String(e);
    throw new TraceforgeError('E_INPUT', `${path}: ${why}`, path);
  }
}

/** Parses CSV text held in memory (the first record is the header). */
export function parseCsv(text: string, name = '<csv>'): CsvTable {
  const rows: string[][] = [];
  const lines: number[] = [];
  let header: string[] | undefined;
  const r = new CsvReader((f, line) => {
    if (header === undefined) header = f.map((h) => h.trim());
    else { rows.push(f); lines.push(line); }
  }, name);
  r.push(text);
  r.end();
  return { file: name, header: header ?? [], rows, lines };
}

/** Reads a whole CSV file (the vendor's CSVs are small next to the trace). */
export function readCsv(path: string): CsvTable {
  return parseCsv(readText(path), path);
}

/** Streams a CSV file row by row (header first), for files too large to hold as one string. */
export async function streamCsv(path: string, onRow: CsvRowHandler, opts: { chunkSize?: number } = {}): Promise<void> {
  const reader = new CsvReader(onRow, path);
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: opts.chunkSize ?? 1 << 20 });
  try {
    for await (const chunk of stream) reader.push(chunk as string);
  } catch (e) {
    if (e instanceof TraceforgeError) throw e;
    throw new TraceforgeError('E_INPUT', `${path}: ${e instanceof Error ? e.message : String(e)}`, path);
  }
  reader.end();
}

// ---------------------------------------------------------------------------------------------
// Where the files are

function isDir(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

/**
 * The ASCEND_PROFILER_OUTPUT directory for a path: the `*_ascend_pt` directory, the output
 * directory itself, or any file inside it (trace_view.json, a CSV).
 */
export function ascendOutputDir(path: string): string {
  if (isDir(path)) {
    if (isDir(join(path, 'ASCEND_PROFILER_OUTPUT'))) return join(path, 'ASCEND_PROFILER_OUTPUT');
    return path;
  }
  return dirname(path);
}

function csvPath(dir: string, file: string, why: string): string {
  if (dir.toLowerCase().endsWith('.csv')) return dir; // the file itself
  const out = ascendOutputDir(dir);
  const p = join(out, file);
  try {
    if (statSync(p).isFile()) return p;
  } catch { /* below */ }
  throw new TraceforgeError('E_NOT_FOUND', `${out}: no ${file} (${why})`, out);
}

// ---------------------------------------------------------------------------------------------
// Typed readers

/** A number column: null for `N/A`, empty or unreadable text. */
export function csvNumber(text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = text.trim();
  if (t === '' || t === 'N/A') return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

/** Takes off the one pair of literal quotes the vendor puts around shapes (`"32,3,224,224"`). */
export function unwrapShape(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

/**
 * Dimensions of a shapes text (`32,1,224,224,8;121,4,16,8;64` → [[32,1,224,224,8],[121,4,16,8],[64]]).
 * An empty part is a scalar ([]). Null for `N/A` or anything that is not a list of integers.
 */
export function parseShapes(text: string): number[][] | null {
  const t = unwrapShape(text.trim());
  if (t === 'N/A') return null;
  const out: number[][] = [];
  for (const part of t.split(';')) {
    const p = part.trim();
    if (p === '') { out.push([]); continue; }
    const dims = p.split(',').map((d) => Number(d.trim()));
    if (dims.some((d) => !Number.isInteger(d))) return null;
    out.push(dims);
  }
  return out;
}

/** One device task of kernel_details.csv. */
export interface KernelRow {
  /** 1-based line of the row in the file. */
  line: number;
  stepId: number | null;
  /** The optional leading `Device_id` column (null when absent). */
  deviceId: number | null;
  name: string;
  /** OP type (`Type`); `N/A` at Level 0. */
  type: string;
  /** `Accelerator Core` (AI_CORE, AI_VECTOR_CORE, MIX_AIV, HCCL, ...); `N/A` at Level 0. */
  acceleratorCore: string;
  /** Start, epoch µs as a double (about 0.25 µs apart at this magnitude: use the text for exact work). */
  startUs: number;
  /** Start exactly as written, without the vendor's trailing TAB. */
  startUsText: string;
  durationUs: number;
  durationUsText: string;
  waitUs: number | null;
  blockDim: number | null;
  taskId: number | null;
  streamId: number | null;
  opState?: string;
  /** Shape columns, without the vendor's literal quotes; absent at Level 0 (no such columns). */
  inputShapes?: string;
  inputDataTypes?: string;
  inputFormats?: string;
  outputShapes?: string;
  outputDataTypes?: string;
  outputFormats?: string;
  /**
   * Duration from trace_view.json at full precision (the CSV rounds to 0.001 µs), when
   * {@link attachTraceDurations} found the task there.
   */
  traceDurationUs?: number;
  /** Exact duration in integer ns (the Db export's TASK rows). */
  durationNs?: number;
}

export interface KernelDetails {
  file: string;
  header: string[];
  /** True when the file has an `Input Shapes` column (Level 1 and above). */
  hasShapes: boolean;
  /** True when some row has an OP type other than `N/A` (Level 0 records none). */
  hasTypes: boolean;
  rows: KernelRow[];
}

function columns(t: CsvTable, required: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  t.header.forEach((h, i) => { if (!m.has(h)) m.set(h, i); });
  const missing = required.filter((r) => !m.has(r));
  if (missing.length > 0) {
    throw new TraceforgeError('E_PARSE', `${t.file}: missing column(s) ${missing.map((c) => JSON.stringify(c)).join(', ')} (header: ${t.header.join(', ')})`, t.file);
  }
  return m;
}

/**
 * kernel_details.csv of an Ascend profile (`dir`: the `*_ascend_pt` directory, its
 * ASCEND_PROFILER_OUTPUT, a file in it, or the CSV file itself). The typed readers below take
 * the same kinds of paths.
 */
export function readKernelDetails(dir: string): KernelDetails {
  const t = readCsv(csvPath(dir, 'kernel_details.csv', 'torch_npu writes it when the profile is parsed, at every profiler level'));
  const c = columns(t, ['Name', 'Start Time(us)', 'Duration(us)']);
  const at = (row: string[], col: string): string | undefined => { const i = c.get(col); return i === undefined ? undefined : row[i]; };
  const hasShapes = c.has('Input Shapes');
  const rows: KernelRow[] = [];
  let hasTypes = false;
  t.rows.forEach((r, k) => {
    const line = t.lines[k]!;
    const startText = (at(r, 'Start Time(us)') ?? '').trim();
    const durText = (at(r, 'Duration(us)') ?? '').trim();
    const start = csvNumber(startText);
    const dur = csvNumber(durText);
    if (start === null || dur === null) {
      throw new TraceforgeError('E_PARSE', `${t.file}: line ${line}: Start Time(us) "${startText}" / Duration(us) "${durText}" is not a number`, t.file);
    }
    const type = at(r, 'Type') ?? 'N/A';
    if (type !== 'N/A' && type !== '') hasTypes = true;
    const row: KernelRow = {
      line,
      stepId: csvNumber(at(r, 'Step Id')),
      deviceId: csvNumber(at(r, 'Device_id')),
      name: at(r, 'Name') ?? '',
      type,
      acceleratorCore: at(r, 'Accelerator Core') ?? 'N/A',
      startUs: start,
      startUsText: startText,
      durationUs: dur,
      durationUsText: durText,
      waitUs: csvNumber(at(r, 'Wait Time(us)')),
      blockDim: csvNumber(at(r, 'Block Dim')),
      taskId: csvNumber(at(r, 'Task ID')),
      streamId: csvNumber(at(r, 'Stream ID')),
    };
    const opt = (col: string, key: 'opState' | 'inputShapes' | 'inputDataTypes' | 'inputFormats' | 'outputShapes' | 'outputDataTypes' | 'outputFormats', shape = false): void => {
      const v = at(r, col);
      if (v !== undefined) row[key] = shape ? unwrapShape(v) : v;
    };
    opt('OP State', 'opState');
    opt('Input Shapes', 'inputShapes', true);
    opt('Input Data Types', 'inputDataTypes');
    opt('Input Formats', 'inputFormats');
    opt('Output Shapes', 'outputShapes', true);
    opt('Output Data Types', 'outputDataTypes');
    opt('Output Formats', 'outputFormats');
    rows.push(row);
  });
  return { file: t.file, header: t.header, hasShapes, hasTypes, rows };
}

/** One row of op_statistic.csv as the vendor wrote it. */
export interface OpStatisticFileRow {
  deviceId: number | null;
  opType: string;
  coreType: string;
  count: number;
  totalUs: number;
  minUs: number;
  avgUs: number;
  maxUs: number;
  ratioPct: number;
}

export const OP_STATISTIC_COLUMNS = ['OP Type', 'Core Type', 'Count', 'Total Time(us)', 'Min Time(us)', 'Avg Time(us)', 'Max Time(us)', 'Ratio(%)'] as const;

/** op_statistic.csv (written at Level 1 and above). */
export function readOpStatistic(dir: string): OpStatisticFileRow[] {
  const t = readCsv(csvPath(dir, 'op_statistic.csv', 'torch_npu writes it at profiler level Level1 and above'));
  const c = columns(t, OP_STATISTIC_COLUMNS);
  const dev = t.header.indexOf('Device_id');
  return t.rows.map((r, k) => {
    const num = (col: string): number => {
      const v = csvNumber(r[c.get(col)!]);
      if (v === null) throw new TraceforgeError('E_PARSE', `${t.file}: line ${t.lines[k]}: ${col} "${r[c.get(col)!] ?? ''}" is not a number`, t.file);
      return v;
    };
    return {
      deviceId: dev >= 0 ? csvNumber(r[dev]) : null,
      opType: r[c.get('OP Type')!] ?? '',
      coreType: r[c.get('Core Type')!] ?? '',
      count: num('Count'),
      totalUs: num('Total Time(us)'),
      minUs: num('Min Time(us)'),
      avgUs: num('Avg Time(us)'),
      maxUs: num('Max Time(us)'),
      ratioPct: num('Ratio(%)'),
    };
  });
}

/** One step of step_trace_time.csv: the `Step` text and every other column as a number (or null). */
export interface StepTraceRow {
  step: string;
  deviceId: number | null;
  values: Record<string, number | null>;
}

/** step_trace_time.csv: per-step computing / communication / free time (µs). */
export function readStepTraceTime(dir: string): StepTraceRow[] {
  const t = readCsv(csvPath(dir, 'step_trace_time.csv', 'torch_npu writes it when the profile is parsed'));
  const c = columns(t, ['Step']);
  const si = c.get('Step')!;
  const dev = t.header.indexOf('Device_id');
  return t.rows.map((r) => {
    const values: Record<string, number | null> = {};
    t.header.forEach((h, i) => { if (i !== si && i !== dev) values[h] = csvNumber(r[i]); });
    return { step: (r[si] ?? '').trim(), deviceId: dev >= 0 ? csvNumber(r[dev]) : null, values };
  });
}

// ---------------------------------------------------------------------------------------------
// Full-precision durations from the trace

/**
 * kernel_details.csv rounds every duration to 0.001 µs, while the vendor's op_statistic.csv is
 * computed from the unrounded task durations (sums of rounded values drift by up to 0.0005 µs per
 * task). trace_view.json carries them (`"dur": 53.7410625`): this streams the trace once and sets
 * `traceDurationUs` on every row whose task is found there — an X event with the same name and
 * exactly the same start text. Returns how many rows were matched.
 */
export async function attachTraceDurations(details: KernelDetails, tracePath?: string): Promise<{ matched: number; unmatched: number }> {
  const path = tracePath ?? join(dirname(details.file), 'trace_view.json');
  const byKey = new Map<string, KernelRow[]>();
  for (const r of details.rows) {
    const k = `${r.startUsText}\u0000${r.name}`;
    const l = byKey.get(k);
    if (l) l.push(r); else byKey.set(k, [r]);
  }
  const starts = new Set(details.rows.map((r) => r.startUsText));
  const found = new Map<string, number | null>(); // null: ambiguous (two durations for one key)
  await scanFile(path, {
    event(ev) {
      if (phaseOf(ev) !== 0x58) return; // 'X'
      const s = ev.f[2 * F.ts]!;
      if (s < 0) return;
      let e = ev.f[2 * F.ts + 1]!;
      let b = s;
      if (ev.buf[b] === 0x22) { b++; e--; }
      const ts = ev.buf.toString('latin1', b, e);
      if (!starts.has(ts)) return;
      const k = `${ts}\u0000${stringField(ev, F.name) ?? ''}`;
      if (!byKey.has(k)) return;
      const dur = Number(stringField(ev, F.dur));
      if (!Number.isFinite(dur)) return;
      const prev = found.get(k);
      found.set(k, prev === undefined || prev === dur ? dur : null);
    },
  });
  let matched = 0;
  for (const [k, rows] of byKey) {
    const d = found.get(k);
    if (d === undefined || d === null || rows.length !== 1) continue;
    rows[0]!.traceDurationUs = d;
    matched++;
  }
  return { matched, unmatched: details.rows.length - matched };
}
