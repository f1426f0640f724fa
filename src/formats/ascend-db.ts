/**
 * torch_npu's Db export (`ExportType.Db`): `ASCEND_PROFILER_OUTPUT/ascend_pytorch_profiler_{rank}.db`
 * (SQLite; docs/ASCEND.md §1), read with node-sqlite3-wasm (SQLite compiled to WebAssembly
 * with a Node fs VFS: pages are read from disk as queries need them, the file is never loaded
 * whole; nothing is compiled or downloaded at install).
 *
 * The profile is turned into what the rest of traceforge already reads:
 * - {@link convertDbToTrace}: a Chrome-trace JSON array shaped like torch_npu's own
 *   trace_view.json (string `ts` in epoch µs with every ns digit, device pids
 *   `(host_pid << 10) | (sort_index << 5) | device_id`, processes "Python", "CANN",
 *   "Ascend Hardware" (Stream N), "HCCL" (the collectives, their tasks on Plane N)), with the
 *   flows `torch_to_npu` (CPU op → device task, from CONNECTION_IDS), `HostToDevice` (CANN
 *   launch → task), `enqueue_to_dequeue` and `fwdbwd` (torch-side connection ids), and the
 *   step markers of STEP_TIME when PYTORCH_API lacks them. Rows are streamed from SQLite
 *   statements into a buffered file writer: memory stays bounded whatever the size of the file.
 *   Times are read as text (`CAST(x AS TEXT)`), never as doubles.
 * - {@link readDbKernelDetails}: kernel_details.csv's rows from COMPUTE_TASK_INFO ⋈ TASK (plus
 *   the collectives of COMMUNICATION_OP as `HCCL` rows, as the CSV has them), with exact
 *   integer-ns durations, so op_statistic, shapes and the kernel view follow the vendor's rules.
 *
 * Columns are always looked up by name (PRAGMA table_info): schema 1.0.0 and 1.2.0 differ
 * (`blockDim` → `blockNum`, ...). Traps handled: PYTORCH_API.inputShapes / inputDtypes hold
 * each other's values; shape strings keep literal quotes; PYTORCH_API times are TEXT.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { TraceforgeError } from '../errors.js';
import { unwrapShape, type KernelDetails, type KernelRow } from './ascend-csv.js';

type Sqlite = typeof import('node-sqlite3-wasm');
type Db = InstanceType<Sqlite['Database']>;
type Row = Record<string, unknown>;

const require = createRequire(import.meta.url);
let sqlite: Sqlite | undefined;
const DEBUG = process.env['TRACEFORGE_DEBUG_DB'] === '1';

/** The Db export's profile file in an ASCEND_PROFILER_OUTPUT directory, if there is one. */
export function findProfileDb(output: string): string | undefined {
  let names: string[];
  try { names = readdirSync(output); } catch { return undefined; }
  const db = names.filter((n) => /^ascend_pytorch_profiler(_\d+)?\.db$/.test(n)).sort()[0];
  return db === undefined ? undefined : join(output, db);
}

/** An open read-only profile database with its tables and their columns. */
export class ProfileDb {
  readonly db: Db;
  /** Table name → column names (from PRAGMA table_info). */
  readonly tables = new Map<string, Set<string>>();

  constructor(readonly file: string) {
    sqlite ??= require('node-sqlite3-wasm') as Sqlite;
    try {
      this.db = new sqlite.Database(file, { readOnly: true, fileMustExist: true });
      // sorts and automatic indexes of large joins spill to temp files instead of the WASM heap
      this.db.exec('PRAGMA temp_store = FILE');
      for (const r of this.db.all("SELECT name FROM sqlite_master WHERE type = 'table'") as Row[]) {
        const t = String(r['name']);
        this.tables.set(t, new Set((this.db.all(`PRAGMA table_info("${t.replace(/"/g, '""')}")`) as Row[]).map((c) => String(c['name']))));
      }
    } catch (e) {
      throw new TraceforgeError('E_INPUT', `${file}: not a readable SQLite database (${e instanceof Error ? e.message : String(e)})`, file);
    }
  }

  has(table: string, ...columns: string[]): boolean {
    const t = this.tables.get(table);
    return t !== undefined && columns.every((c) => t.has(c));
  }

  /** The first of `names` that `table` has, as an SQL expression on alias `a`, else `fallback`. */
  col(table: string, a: string, names: readonly string[], fallback = 'NULL'): string {
    const n = names.find((x) => this.tables.get(table)?.has(x));
    return n === undefined ? fallback : `${a}."${n}"`;
  }

  *rows(sql: string): Generator<Row> {
    let st;
    try { st = this.db.prepare(sql); } catch (e) {
      throw new TraceforgeError('E_PARSE', `${this.file}: ${e instanceof Error ? e.message : String(e)} (in: ${sql.slice(0, 120)})`, this.file);
    }
    const t0 = DEBUG ? Date.now() : 0;
    try {
      for (const r of st.iterate()) yield r as Row;
    } finally {
      st.finalize();
      if (DEBUG) process.stderr.write(`ascend-db: ${((Date.now() - t0) / 1000).toFixed(2)} s: ${sql.replace(/\s+/g, ' ').slice(0, 140)}\n`);
    }
  }

  all(sql: string): Row[] {
    return [...this.rows(sql)];
  }

  /** META_DATA SCHEMA_VERSION, when recorded. */
  schemaVersion(): string | undefined {
    if (!this.has('META_DATA', 'name', 'value')) return undefined;
    const r = this.all("SELECT value FROM META_DATA WHERE name = 'SCHEMA_VERSION'")[0];
    return r ? String(r['value']) : undefined;
  }

  close(): void {
    try { this.db.close(); } catch { /* already closed */ }
  }
}

/** Epoch ns text (19 digits) checked: a time stored as REAL or text that is not an integer is a named error. */
function ns(file: string, table: string, v: unknown): string {
  const s = typeof v === 'string' ? v : typeof v === 'bigint' || typeof v === 'number' ? String(v) : '';
  if (!/^\d+$/.test(s)) throw new TraceforgeError('E_PARSE', `${file}: ${table}: a time is not an integer number of ns: ${JSON.stringify(v)}`, file);
  return s;
}

/** Integer ns text → µs text with every digit (`1736410576375315901` → `1736410576375315.901`). */
export function nsToUsText(t: string): string {
  const p = t.padStart(4, '0');
  return `${p.slice(0, -3)}.${p.slice(-3)}`;
}

/** (end − start) ns as µs text; null when end < start. */
function durUs(start: string, end: string): string | null {
  const d = BigInt(end) - BigInt(start);
  return d < 0n ? null : nsToUsText(d.toString());
}

const str = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

/** Buffered synchronous writer of JSON array elements (UTF-8 straight into one reused buffer). */
class ArrayWriter {
  private readonly buf = Buffer.allocUnsafe(1 << 22);
  private at = 0;
  count = 0;
  constructor(private readonly fd: number) { this.put('['); }
  private put(text: string): void {
    if (this.at + 3 * text.length > this.buf.length) {
      this.flush();
      if (3 * text.length > this.buf.length) { writeSync(this.fd, text); return; }
    }
    this.at += this.buf.write(text, this.at, 'utf8');
  }
  push(ev: string): void {
    this.put(this.count === 0 ? ev : ',\n' + ev);
    this.count++;
  }
  flush(): void {
    let o = 0;
    while (o < this.at) o += writeSync(this.fd, this.buf, o, this.at - o);
    this.at = 0;
  }
  end(): void { this.put(']\n'); this.flush(); }
}

const J = JSON.stringify;

export interface DbConversion {
  events: number;
  tasks: number;
  flows: number;
  /** Rows left out because they end before they start. */
  negative: number;
  schemaVersion: string | undefined;
}

/** TASK.taskType values of kernels (which have a COMPUTE_TASK_INFO row when the profile tracked them). */
const COMPUTE_TASK_TYPES = /^(AI_CORE|AI_CPU|AI_VECTOR_CORE|KERNEL_\w+|MIX_\w+)$/;
/** `cat` of device tasks the Text export does not have (see writeEvents). */
export const UNTRACKED_CAT = 'npu_task_without_compute_info';

const SORT_CANN = 7;
const SORT_HARDWARE = 13;
const SORT_HCCL = 15;

/**
 * Writes the Db profile as a trace_view.json-shaped Chrome trace to `out` (a temp file renamed
 * at the end). See the module comment.
 */
export function convertDbToTrace(file: string, out: string): DbConversion {
  const p = new ProfileDb(file);
  const tmp = `${out}.${process.pid}.tmp`;
  let fd: number | undefined;
  try {
    if (!p.has('TASK', 'startNs', 'endNs')) throw new TraceforgeError('E_INPUT', `${file}: no TASK table with startNs/endNs: not a torch_npu / msprof profile database`, file);
    fd = openSync(tmp, 'w');
    const w = new ArrayWriter(fd);
    const r = writeEvents(p, w);
    w.end();
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, out);
    return { ...r, events: w.count, schemaVersion: p.schemaVersion() };
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    p.close();
  }
}

function writeEvents(p: ProfileDb, w: ArrayWriter): Omit<DbConversion, 'events' | 'schemaVersion'> {
  const f = p.file;
  const S = (expr: string, a: string): string => (p.has('STRING_IDS', 'id', 'value') ? `(SELECT value FROM STRING_IDS ${a} WHERE ${a}.id = ${expr})` : `CAST(${expr} AS TEXT)`);
  let negative = 0;
  let flows = 0;
  // host pid: TASK.globalPid, else the pid of the first PYTORCH_API / CANN_API thread
  const pidOf = (gtid: unknown): number => Number(BigInt(String(gtid ?? 0)) >> 32n);
  const tidOf = (gtid: unknown): number => Number(BigInt(String(gtid ?? 0)) & 0xffffffffn);
  let hostPid = 0;
  const pr = p.has('TASK', 'globalPid') ? p.all('SELECT globalPid FROM TASK WHERE globalPid IS NOT NULL LIMIT 1')[0] : undefined;
  if (pr) hostPid = Number(pr['globalPid']);
  else for (const t of ['PYTORCH_API', 'CANN_API']) {
    if (!p.has(t, 'globalTid')) continue;
    const g = p.all(`SELECT globalTid FROM ${t} LIMIT 1`)[0];
    if (g) { hostPid = pidOf(g['globalTid']); break; }
  }
  const devRow = p.has('TASK', 'deviceId') ? p.all('SELECT deviceId FROM TASK LIMIT 1')[0] : undefined;
  const deviceId = devRow ? Number(devRow['deviceId']) : 0;
  const devPid = (sort: number): number => hostPid * 1024 + sort * 32 + (deviceId % 32);
  const hw = devPid(SORT_HARDWARE);
  const hccl = devPid(SORT_HCCL);
  const cann = devPid(SORT_CANN);
  const meta = (name: string, pid: number, tid: number, args: Record<string, unknown>): void => w.push(J({ ph: 'M', name, pid, tid, args }));
  const proc = (pid: number, name: string, labels: string, sort: number): void => {
    meta('process_name', pid, 0, { name });
    meta('process_labels', pid, 0, { labels });
    meta('process_sort_index', pid, 0, { sort_index: sort });
  };
  const X = (name: string, pid: number, tid: number, s: string, e: string, cat: string | undefined, args: Record<string, unknown> | undefined): boolean => {
    const dur = durUs(s, e);
    if (dur === null) { negative++; return false; }
    // dur as a JSON number with every ns digit; ts as torch_npu writes it (a string)
    w.push(`{"ph":"X","name":${J(name)},"pid":${pid},"tid":${tid},"ts":"${nsToUsText(s)}","dur":${dur}${cat ? `,"cat":${J(cat)}` : ''}${args ? `,"args":${J(args)}` : ''}}`);
    return true;
  };
  const flow = (name: string, cat: string, id: number, from: [number, number, string], to: [number, number, string]): void => {
    w.push(`{"ph":"s","bp":"e","name":${J(name)},"id":${id},"pid":${from[0]},"tid":${from[1]},"ts":"${nsToUsText(from[2])}","cat":${J(cat)}}`);
    w.push(`{"ph":"f","bp":"e","name":${J(name)},"id":${id},"pid":${to[0]},"tid":${to[1]},"ts":"${nsToUsText(to[2])}","cat":${J(cat)}}`);
    flows++;
  };

  // ---- host: PYTORCH_API (Python process)
  const hostThreads = new Set<number>();
  const CAT: Record<number, string> = { 50001: 'cpu_op', 50003: 'python_function', 50004: 'mstx' };
  const hasPy = p.has('PYTORCH_API', 'startNs', 'endNs', 'globalTid', 'name');
  if (hasPy) {
    proc(hostPid, 'Python', 'CPU', 0);
    const sql = `SELECT CAST(a.startNs AS TEXT) s, CAST(a.endNs AS TEXT) e, a.globalTid g, ${S('a.name', 'n')} name, ${p.col('PYTORCH_API', 'a', ['type'])} type,
      ${p.col('PYTORCH_API', 'a', ['sequenceNumber'])} seq, ${p.col('PYTORCH_API', 'a', ['fwdThreadId'])} fwd,
      ${S(p.col('PYTORCH_API', 'a', ['inputDtypes']), 'x')} dims, ${S(p.col('PYTORCH_API', 'a', ['inputShapes']), 'y')} types
      FROM PYTORCH_API a`;
    for (const r of p.rows(sql)) {
      const tid = tidOf(r['g']);
      if (!hostThreads.has(tid)) { hostThreads.add(tid); meta('thread_name', hostPid, tid, { name: `Thread ${tid}` }); }
      const name = str(r['name']) ?? '';
      const type = Number(r['type']);
      const cat = type === 50002 ? (name.startsWith('Enqueue') ? 'enqueue' : 'dequeue') : CAT[type] ?? 'cpu_op';
      let args: Record<string, unknown> | undefined;
      if (type === 50001) {
        args = {};
        if (r['seq'] !== null && r['seq'] !== undefined) args['Sequence number'] = Number(r['seq']);
        if (r['fwd'] !== null && r['fwd'] !== undefined) args['Fwd thread id'] = Number(r['fwd']);
        // the columns hold each other's values (ASCEND.md §1.6.2): inputDtypes has the shapes
        if (r['dims'] !== null && r['dims'] !== undefined) args['Input Dims'] = String(r['dims']);
        if (r['types'] !== null && r['types'] !== undefined) args['Input type'] = String(r['types']);
      }
      X(name, hostPid, tid, ns(f, 'PYTORCH_API', r['s']), ns(f, 'PYTORCH_API', r['e']), cat, args);
    }
  }
  // step markers only the STEP_TIME table has
  if (p.has('STEP_TIME', 'id', 'startNs', 'endNs')) {
    // (the string ids first: PYTORCH_API has no index on name)
    const ids = hasPy && p.has('STRING_IDS', 'id', 'value') ? p.all("SELECT id FROM STRING_IDS WHERE value LIKE 'ProfilerStep#%'").map((r) => Number(r['id'])) : [];
    const missing = ids.length > 0
      ? `WHERE NOT EXISTS (SELECT 1 FROM PYTORCH_API a WHERE a.name IN (${ids.join(',')}) AND a.name = (SELECT n.id FROM STRING_IDS n WHERE n.value = 'ProfilerStep#' || t.id))`
      : '';
    for (const r of p.rows(`SELECT t.id id, CAST(t.startNs AS TEXT) s, CAST(t.endNs AS TEXT) e FROM STEP_TIME t ${missing}`)) {
      if (!hasPy) { proc(hostPid, 'Python', 'CPU', 0); }
      X(`ProfilerStep#${String(r['id'])}`, hostPid, hostPid, ns(f, 'STEP_TIME', r['s']), ns(f, 'STEP_TIME', r['e']), 'cpu_op', { source: 'STEP_TIME' });
    }
  }

  // ---- CANN_API (CANN process)
  const API_LEVEL: Record<number, string> = { 5000: 'Runtime', 5500: 'Hccl', 10000: 'Node', 15000: 'Model', 20000: 'AscendCL' };
  const hasCann = p.has('CANN_API', 'startNs', 'endNs', 'globalTid', 'name');
  if (hasCann) {
    proc(cann, 'CANN', 'CPU', SORT_CANN);
    const threads = new Set<number>();
    for (const r of p.rows(`SELECT CAST(a.startNs AS TEXT) s, CAST(a.endNs AS TEXT) e, a.globalTid g, a.type type, ${p.col('CANN_API', 'a', ['connectionId'])} c, ${S('a.name', 'n')} name FROM CANN_API a`)) {
      const tid = tidOf(r['g']);
      if (!threads.has(tid)) { threads.add(tid); meta('thread_name', cann, tid, { name: `Thread ${tid}` }); }
      const level = API_LEVEL[Number(r['type'])] ?? String(r['type']);
      X(`${level}@${str(r['name']) ?? ''}`, cann, tid, ns(f, 'CANN_API', r['s']), ns(f, 'CANN_API', r['e']), undefined,
        r['c'] !== null && r['c'] !== undefined ? { connection_id: Number(r['c']) } : undefined);
    }
  }

  // ---- TASK (Ascend Hardware, one thread per stream)
  proc(hw, 'Ascend Hardware', 'NPU', SORT_HARDWARE);
  const streams = new Set<number>();
  const compute = p.has('COMPUTE_TASK_INFO', 'globalTaskId', 'name');
  const taskSql = `SELECT CAST(t.startNs AS TEXT) s, CAST(t.endNs AS TEXT) e, ${p.col('TASK', 't', ['streamId'], '0')} stream,
    ${p.col('TASK', 't', ['taskId'])} taskId, ${p.col('TASK', 't', ['connectionId'])} c, ${p.col('TASK', 't', ['globalTaskId'])} gid,
    ${S(p.col('TASK', 't', ['taskType']), 'tt')} taskType
    ${compute ? `, ${S('ci.name', 'cn')} cname, ${S(p.col('COMPUTE_TASK_INFO', 'ci', ['taskType']), 'ct')} core` : ''}
    FROM TASK t ${compute ? 'LEFT JOIN COMPUTE_TASK_INFO ci ON ci.globalTaskId = t.globalTaskId' : ''} ORDER BY t.startNs`;
  let tasks = 0;
  for (const r of p.rows(taskSql)) {
    const stream = Number(r['stream']);
    if (!streams.has(stream)) { streams.add(stream); meta('thread_name', hw, stream, { name: `Stream ${stream}` }); meta('thread_sort_index', hw, stream, { sort_index: stream }); }
    const taskType = str(r['taskType']) ?? '';
    const args: Record<string, unknown> = { 'Task Type': taskType, 'Stream Id': stream };
    if (r['core'] !== null && r['core'] !== undefined) args['Accelerator Core'] = String(r['core']);
    if (r['taskId'] !== null && r['taskId'] !== undefined) args['Task Id'] = Number(r['taskId']);
    if (r['gid'] !== null && r['gid'] !== undefined) args['globalTaskId'] = Number(r['gid']);
    if (r['c'] !== null && r['c'] !== undefined) args['connection_id'] = Number(r['c']);
    // a kernel-type task without its COMPUTE_TASK_INFO row (the collective's own task on its stream, the
    // second record of a mixed kernel) is not in torch_npu's Text export: kept, under a cat the statistics skip
    const untracked = compute && r['cname'] === null && COMPUTE_TASK_TYPES.test(taskType);
    if (X(str(r['cname']) ?? taskType, hw, stream, ns(f, 'TASK', r['s']), ns(f, 'TASK', r['e']), untracked ? UNTRACKED_CAT : undefined, args)) tasks++;
  }

  // ---- communication (HCCL process): the collectives on thread 0, their tasks on Plane N
  if (p.has('COMMUNICATION_OP', 'opName', 'startNs', 'endNs')) {
    proc(hccl, 'HCCL', 'NPU', SORT_HCCL);
    meta('thread_name', hccl, 0, { name: 'Communication' });
    const c = (n: string): string => p.col('COMMUNICATION_OP', 'o', [n]);
    for (const r of p.rows(`SELECT ${S('o.opName', 'n')} name, CAST(o.startNs AS TEXT) s, CAST(o.endNs AS TEXT) e, ${c('connectionId')} c, ${S(c('groupName'), 'g')} grp,
        ${S(c('algType'), 'al')} alg, ${S(c('opType'), 'ot')} opType, ${c('count')} count, ${p.has('ENUM_HCCL_DATA_TYPE') ? `(SELECT name FROM ENUM_HCCL_DATA_TYPE d WHERE d.id = ${c('dataType')})` : c('dataType')} dtype FROM COMMUNICATION_OP o`)) {
      const args: Record<string, unknown> = {};
      for (const [k, v] of [['connection_id', r['c']], ['group', r['grp']], ['op_type', r['opType']], ['alg_type', r['alg']], ['data_type', r['dtype']], ['count', r['count']]] as const) {
        if (v !== null && v !== undefined) args[k] = typeof v === 'bigint' ? String(v) : v;
      }
      X(str(r['name']) ?? '', hccl, 0, ns(f, 'COMMUNICATION_OP', r['s']), ns(f, 'COMMUNICATION_OP', r['e']), undefined, args);
    }
    if (p.has('COMMUNICATION_TASK_INFO', 'globalTaskId')) {
      const planes = new Set<number>();
      const ci = (n: string): string => p.col('COMMUNICATION_TASK_INFO', 'm', [n]);
      for (const r of p.rows(`SELECT ${S(ci('taskType'), 'tt')} name, ${ci('planeId')} plane, CAST(t.startNs AS TEXT) s, CAST(t.endNs AS TEXT) e, ${ci('size')} size,
          ${ci('srcRank')} src, ${ci('dstRank')} dst FROM COMMUNICATION_TASK_INFO m JOIN TASK t ON t.globalTaskId = m.globalTaskId`)) {
        const plane = r['plane'] === null || r['plane'] === undefined ? 0 : Number(r['plane']);
        const tid = plane + 1;
        if (!planes.has(tid)) { planes.add(tid); meta('thread_name', hccl, tid, { name: `Plane ${plane}` }); }
        const args: Record<string, unknown> = {};
        for (const [k, v] of [['size(Byte)', r['size']], ['src rank', r['src']], ['dst rank', r['dst']]] as const) {
          if (v !== null && v !== undefined) args[k] = typeof v === 'bigint' ? String(v) : v;
        }
        X(str(r['name']) ?? '', hccl, tid, ns(f, 'TASK', r['s']), ns(f, 'TASK', r['e']), undefined, args);
      }
    }
  }

  // ---- flows
  let id = 1;
  const taskEnd = (r: Row): [number, number, string] => [hw, Number(r['stream']), ns(f, 'TASK', r['ts'])];
  if (hasPy && p.has('CONNECTION_IDS', 'id', 'connectionId') && p.has('PYTORCH_API', 'connectionId') && p.has('TASK', 'connectionId')) {
    // CPU op → every device task of the CANN connection ids in its list
    for (const r of p.rows(`SELECT CAST(a.startNs AS TEXT) s, a.globalTid g, CAST(t.startNs AS TEXT) ts, ${p.col('TASK', 't', ['streamId'], '0')} stream
        FROM PYTORCH_API a JOIN CONNECTION_IDS c ON c.id = a.connectionId JOIN TASK t ON t.connectionId = c.connectionId`)) {
      flow('torch_to_npu', 'async_npu', id++, [hostPid, tidOf(r['g']), ns(f, 'PYTORCH_API', r['s'])], taskEnd(r));
    }
    // torch-side pairs (enqueue → dequeue, forward → backward): ids above every CANN id
    const max = hasCann ? p.all('SELECT MAX(connectionId) m FROM CANN_API')[0]?.['m'] : undefined;
    const floor = max === null || max === undefined ? -1n : BigInt(String(max));
    let group: { c: string; rows: Row[] } | undefined;
    const emit = (): void => {
      if (!group || group.rows.length < 2) return;
      const [a, ...rest] = group.rows;
      const queue = Number(a!['type']) === 50002;
      for (const b of rest) {
        flow(queue ? 'enqueue_to_dequeue' : 'fwdbwd', queue ? 'async_task_queue' : 'fwdbwd', id++,
          [hostPid, tidOf(a!['g']), ns(f, 'PYTORCH_API', a!['s'])], [hostPid, tidOf(b['g']), ns(f, 'PYTORCH_API', b['s'])]);
      }
    };
    for (const r of p.rows(`SELECT c.connectionId cid, CAST(a.startNs AS TEXT) s, a.globalTid g, ${p.col('PYTORCH_API', 'a', ['type'])} type
        FROM CONNECTION_IDS c JOIN PYTORCH_API a ON a.connectionId = c.id WHERE c.connectionId > ${floor} ORDER BY c.connectionId, a.startNs`)) {
      const cid = String(r['cid']);
      if (group?.c !== cid) { emit(); group = { c: cid, rows: [] }; }
      group.rows.push(r);
    }
    emit();
  }
  if (hasCann && p.has('CANN_API', 'connectionId') && p.has('TASK', 'connectionId')) {
    // the node-level launch → its tasks
    for (const r of p.rows(`SELECT CAST(a.startNs AS TEXT) s, a.globalTid g, CAST(t.startNs AS TEXT) ts, ${p.col('TASK', 't', ['streamId'], '0')} stream
        FROM CANN_API a JOIN TASK t ON t.connectionId = a.connectionId WHERE a.type = 10000`)) {
      flow('HostToDevice', 'HostToDevice', id++, [cann, tidOf(r['g']), ns(f, 'CANN_API', r['s'])], taskEnd(r));
    }
  }
  return { tasks, flows, negative };
}

// ---------------------------------------------------------------------------------------------
// The converted trace, cached

const CONVERTER_VERSION = '2';

/**
 * The trace_view.json-shaped trace of a profile database: converted once into
 * `$TMPDIR/traceforge-db/<hash of path, size, mtime>/`, reused while the file is unchanged.
 */
export function dbTracePath(file: string): string {
  let st;
  try { st = statSync(file); } catch {
    throw new TraceforgeError('E_INPUT', `${file}: no such file`, file);
  }
  const key = createHash('sha1').update(`${CONVERTER_VERSION}\0${resolve(file)}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
  const dir = join(process.env['TRACEFORGE_CACHE'] ?? join(tmpdir(), 'traceforge-db'), key);
  const out = join(dir, `${basename(file).replace(/\.db$/, '')}.trace_view.json`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  convertDbToTrace(file, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// kernel_details rows

/** COMPUTE_TASK_INFO ⋈ TASK (+ COMMUNICATION_OP as HCCL rows): what kernel_details.csv would hold. */
export function readDbKernelDetails(file: string): KernelDetails {
  const p = new ProfileDb(file);
  try {
    if (!p.has('COMPUTE_TASK_INFO', 'globalTaskId') || !p.has('TASK', 'globalTaskId', 'startNs', 'endNs')) {
      throw new TraceforgeError('E_NOT_FOUND', `${file}: no COMPUTE_TASK_INFO table (the kernels with their OP types)`, file);
    }
    const S = (expr: string, a: string): string => `(SELECT value FROM STRING_IDS ${a} WHERE ${a}.id = ${expr})`;
    const c = (names: string[]): string => p.col('COMPUTE_TASK_INFO', 'c', names);
    const rows: KernelRow[] = [];
    let hasTypes = false;
    let hasShapes = false;
    const na = (v: unknown): string => (v === null || v === undefined ? 'N/A' : String(v));
    const add = (r: Row, communication: boolean): void => {
      const s = ns(file, 'TASK', r['s']);
      const e = ns(file, 'TASK', r['e']);
      const d = BigInt(e) - BigInt(s);
      if (d < 0n) return;
      const type = na(r['type']);
      if (type !== 'N/A' && type !== '') hasTypes = true;
      const startUsText = nsToUsText(s);
      const durationUsText = nsToUsText(d.toString());
      const row: KernelRow = {
        line: rows.length + 2,
        stepId: null,
        deviceId: null,
        name: na(r['name']),
        type,
        acceleratorCore: communication ? 'HCCL' : na(r['core']),
        startUs: Number(startUsText),
        startUsText,
        durationUs: Number(durationUsText),
        durationUsText,
        waitUs: null,
        blockDim: r['block'] === null || r['block'] === undefined ? null : Number(r['block']),
        taskId: r['taskId'] === null || r['taskId'] === undefined ? null : Number(r['taskId']),
        streamId: r['stream'] === null || r['stream'] === undefined ? null : Number(r['stream']),
        durationNs: Number(d),
      };
      if (!communication) {
        const shapes = na(r['ishape']);
        if (shapes !== 'N/A') hasShapes = true;
        row.inputShapes = unwrapShape(shapes);
        row.inputDataTypes = na(r['idtype']);
        row.inputFormats = na(r['iformat']);
        row.outputShapes = unwrapShape(na(r['oshape']));
        row.outputDataTypes = na(r['odtype']);
        row.outputFormats = na(r['oformat']);
      }
      rows.push(row);
    };
    const sql = `SELECT CAST(t.startNs AS TEXT) s, CAST(t.endNs AS TEXT) e, ${p.col('TASK', 't', ['streamId'])} stream, ${p.col('TASK', 't', ['taskId'])} taskId,
      ${S(c(['name']), 'n')} name, ${S(c(['opType']), 'o')} type, ${S(c(['taskType']), 'k')} core, ${c(['blockNum', 'blockDim'])} block,
      ${S(c(['inputShapes']), 'a')} ishape, ${S(c(['inputDataTypes']), 'b')} idtype, ${S(c(['inputFormats']), 'd')} iformat,
      ${S(c(['outputShapes']), 'g')} oshape, ${S(c(['outputDataTypes']), 'h')} odtype, ${S(c(['outputFormats']), 'i')} oformat
      FROM COMPUTE_TASK_INFO c JOIN TASK t ON t.globalTaskId = c.globalTaskId`;
    for (const r of p.rows(sql)) add(r, false);
    if (p.has('COMMUNICATION_OP', 'opName', 'startNs', 'endNs')) {
      const o = (n: string): string => p.col('COMMUNICATION_OP', 'o', [n]);
      for (const r of p.rows(`SELECT CAST(o.startNs AS TEXT) s, CAST(o.endNs AS TEXT) e, ${S('o.opName', 'n')} name, ${S(o('opType'), 't')} type FROM COMMUNICATION_OP o`)) add(r, true);
    }
    rows.sort((a, b) => (a.startUsText.length - b.startUsText.length) || (a.startUsText < b.startUsText ? -1 : a.startUsText > b.startUsText ? 1 : 0));
    rows.forEach((r, k) => { r.line = k + 2; });
    return { file, header: [], hasShapes, hasTypes, rows };
  } finally {
    p.close();
  }
}
