/**
 * traceforge benchmark: each case runs traceforge, the I/O floor and the Python reference side
 * by side and prints one Markdown table (also written to bench/out/results.md).
 *
 *   npm run bench                     # tsc && node dist/bench/run.js
 *   node dist/bench/run.js [--only fix,merge,stats] [--repeat N] [--big] [--skip-reference]
 *                          [--timeout SECONDS]
 *
 * Wall time and peak RSS come from GNU time (`/usr/bin/time -f '%e %M'`). For a pipeline run
 * under `bash -c`, %M is the largest single process of the pipeline (rusage of waited-for
 * children is a max, not a sum). The machine is shared and noisy: read the ratios, not the
 * seconds.
 *
 * Standalone on purpose: only `node:` built-ins, nothing from src/.
 */
import { spawn, execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

// ---------------------------------------------------------------------------------------------
// Paths and inputs
// ---------------------------------------------------------------------------------------------

/** Repo root: this file runs as dist/bench/run.js. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(ROOT, 'bench', 'out');
/** The traceforge entry point; TRACEFORGE_BENCH_CLI overrides it (e.g. to compare two builds). */
const CLI = process.env['TRACEFORGE_BENCH_CLI'] ?? join(ROOT, 'dist', 'src', 'cli', 'main.js');
const TILE = join(ROOT, 'dist', 'bench', 'tile.js');
const REF_FIX = join(ROOT, 'bench', 'reference', 'fix_pdl.py');
const REF_MERGE = join(ROOT, 'bench', 'reference', 'merge_profiles.py');

const TP2LONG = '/work/shared/bench/tp2long';
const TP2LONG_ID = '1763900100';
const TP0 = join(TP2LONG, `${TP2LONG_ID}-TP-0.trace.json.gz`);
const TP1 = join(TP2LONG, `${TP2LONG_ID}-TP-1.trace.json.gz`);

const BIG_DIR = join(OUT, 'big');
const BIG_FIX_IN = join(BIG_DIR, `${TP2LONG_ID}-TP-0.min2.2e9.trace.json.gz`);
const BIG_FIX_MIN_BYTES = 2.2e9;
const BIG8_ID = '1763900200';
const BIG8_DIR = join(BIG_DIR, 'ranks8');
const BIG8_RANKS = 8;
const BIG8_MIN_BYTES = 1e9;
/**
 * export-64: TP-0 and TP-1 cut to the first 1/8 of their span (~20 MB of JSON each), then 64
 * rank files made from them alternately with distributedInfo.rank 0..63 (partitions rank=0..63).
 */
const R64_ID = '1763900300';
const R64_RANKS = 64;
const R64_FRACTION = 0.125;
const R64_SLICES = join(BIG_DIR, 'slices');
const R64_DIR = join(BIG_DIR, 'ranks64');
const R64_DATASET = join(OUT, 'export-64-dataset');
/** Per kernel name: total time per rank, then min / max / mean across ranks and the slowest rank (ties: the lowest). */
const R64_QUERY = 'WITH per AS (SELECT name, rank, sum(dur_ns) AS ns FROM kernels GROUP BY name, rank) ' +
  'SELECT name, count(*) AS ranks, min(ns) AS min_ns, max(ns) AS max_ns, avg(ns) AS mean_ns, first(rank ORDER BY ns DESC, rank) AS slowest_rank ' +
  'FROM per GROUP BY name ORDER BY max_ns - min_ns DESC, name';
/** torch_npu Db export: db/level1 rank 0 grown with SQL (bench/ascend-db-tile.ts) past this size. */
const ASCEND_DB_MIN_BYTES = 2e8;
const ASCEND_DB_DIR = join(OUT, 'big', 'ascend-db');
const ASCEND_DB_PROFILE = join(ASCEND_DB_DIR, 'rank0_ascend_pt');
const ASCEND_DB_FILE = join(ASCEND_DB_PROFILE, 'ASCEND_PROFILER_OUTPUT', 'ascend_pytorch_profiler_0.db');

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const ALL_CASES = ['fix', 'fix-perfetto', 'merge', 'stats', 'stats-all', 'stats-source', 'ascend-db', 'export'] as const;
const BIG_CASES = ['fix-big', 'merge-big', 'export-64'] as const;
type CaseName = (typeof ALL_CASES)[number] | (typeof BIG_CASES)[number];

const USAGE = `usage: node dist/bench/run.js [--only ${[...ALL_CASES, ...BIG_CASES].join(',')}] [--repeat N] [--big]
                           [--skip-reference] [--timeout SECONDS]`;

interface Options {
  cases: CaseName[];
  repeat: number;
  skipReference: boolean;
  timeoutMs: number;
}

function isCaseName(s: string): s is CaseName {
  return (ALL_CASES as readonly string[]).includes(s) || (BIG_CASES as readonly string[]).includes(s);
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      repeat: { type: 'string' },
      big: { type: 'boolean' },
      'skip-reference': { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  let cases: CaseName[] = [...ALL_CASES, ...(values.big ? BIG_CASES : [])];
  if (values.only !== undefined) {
    const wanted = values.only.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    for (const w of wanted) if (!isCaseName(w)) throw new Error(`unknown case ${JSON.stringify(w)}\n${USAGE}`);
    // Naming a big case in --only runs it even without --big.
    cases = [...ALL_CASES, ...BIG_CASES].filter((c) => wanted.includes(c));
  }
  const repeat = values.repeat !== undefined ? Number(values.repeat) : 1;
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a positive integer\n${USAGE}`);
  const timeoutS = values.timeout !== undefined ? Number(values.timeout) : 3600;
  if (!(timeoutS > 0)) throw new Error('--timeout must be a positive number of seconds');
  return { cases, repeat, skipReference: values['skip-reference'] === true, timeoutMs: timeoutS * 1000 };
}

// ---------------------------------------------------------------------------------------------
// Measuring one command
// ---------------------------------------------------------------------------------------------

interface Command {
  argv: string[];
  /** Where the command's stdout goes; default: discarded. */
  stdoutTo?: string;
  /** A file the command must produce (removed before the run, checked after). */
  output?: string;
}

type Measurement =
  | { ok: true; seconds: number; rssMB: number }
  | { ok: false; error: string; seconds?: number; rssMB?: number };

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** One line that says what went wrong: the first error-looking line, else the last lines. */
function errorSummary(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  const errLine = lines.find((l) => /(^|\b)(\w*Error|error)\b[:\s]/.test(l) && !/^at /.test(l));
  const s = errLine ?? lines.slice(-2).join(' / ');
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

async function measure(cmd: Command, timeoutMs: number): Promise<Measurement> {
  if (cmd.output !== undefined) rmSync(cmd.output, { force: true });
  const timeFile = join(OUT, '.time.tmp');
  rmSync(timeFile, { force: true });
  const stdoutFd = cmd.stdoutTo !== undefined ? openSync(cmd.stdoutTo, 'w') : 'ignore';
  let stderr = '';
  let timedOut = false;
  const code = await new Promise<number | null>((resolveRun) => {
    const child = spawn('/usr/bin/time', ['-o', timeFile, '-f', '%e %M', ...cmd.argv], {
      cwd: ROOT,
      stdio: ['ignore', stdoutFd, 'pipe'],
      // Own process group, so a timeout can stop the whole command (and only it).
      detached: true,
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-8192);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      stderr += `\n${err.message}`;
      resolveRun(-1);
    });
    child.on('close', (c) => {
      clearTimeout(timer);
      resolveRun(c);
    });
  });
  if (typeof stdoutFd === 'number') closeSync(stdoutFd);

  let seconds: number | undefined;
  let rssMB: number | undefined;
  if (existsSync(timeFile)) {
    const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
    const m = /^([\d.]+) (\d+)$/.exec(lines[lines.length - 1] ?? '');
    if (m) {
      seconds = Number(m[1]);
      rssMB = Number(m[2]) / 1024;
    }
    rmSync(timeFile, { force: true });
  }
  const partial = { ...(seconds !== undefined ? { seconds } : {}), ...(rssMB !== undefined ? { rssMB } : {}) };
  if (timedOut) return { ok: false, error: `timed out after ${timeoutMs / 1000} s`, ...partial };
  if (code !== 0) {
    return { ok: false, error: `exit ${code ?? 'signal'}: ${errorSummary(stderr) || '(no stderr)'}`, ...partial };
  }
  if (cmd.output !== undefined && (!existsSync(cmd.output) || statSync(cmd.output).size === 0)) {
    return { ok: false, error: `exit 0 but no output at ${relative(ROOT, cmd.output)}`, ...partial };
  }
  if (seconds === undefined || rssMB === undefined) return { ok: false, error: 'could not read GNU time output' };
  return { ok: true, seconds, rssMB };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

type ToolKind = 'traceforge' | 'floor' | 'reference';

interface Tool {
  kind: ToolKind;
  label: string;
  /** null: not run, `skipReason` says why. */
  command: Command | null;
  skipReason?: string;
}

interface Goals {
  maxFloorRatio?: number;
  minSpeedup?: number;
  maxRssMB?: number;
}

interface Case {
  name: CaseName;
  description: string;
  inputs: string[];
  tools: Tool[];
  goals: Goals;
  /** Lines about output sizes, computed after the runs. */
  sizes?: () => string[];
}

function gzOutput(caseName: string, kind: ToolKind): string {
  return join(OUT, `${caseName}.${kind}.trace.json.gz`);
}

function floorPipeline(inputs: string[], out: string): string[] {
  return ['bash', '-c', `set -o pipefail; zcat -- ${inputs.map(shq).join(' ')} | gzip -1 > ${shq(out)}`];
}

function refTool(opts: Options, label: string, command: Command | null, noneReason?: string): Tool {
  if (command === null) return { kind: 'reference', label, command: null, skipReason: noneReason ?? 'no reference' };
  if (opts.skipReference) return { kind: 'reference', label, command: null, skipReason: 'skipped (--skip-reference)' };
  return { kind: 'reference', label, command };
}

function rankFiles(dir: string, id: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(id) && f.endsWith('.trace.json.gz') && f.includes('TP-'))
    .sort((a, b) => rankOf(a) - rankOf(b))
    .map((f) => join(dir, f));
}

function rankOf(name: string): number {
  const m = /TP-(\d+)/.exec(name);
  return m ? Number(m[1]) : 0;
}

function buildCase(name: CaseName, opts: Options): Case {
  switch (name) {
    case 'fix': {
      const out = gzOutput(name, 'traceforge');
      const refOut = gzOutput(name, 'reference');
      return {
        name,
        description: `PDL overlap fix of one rank (${basename(TP0)})`,
        inputs: [TP0],
        goals: { maxFloorRatio: 1.5, minSpeedup: 10, maxRssMB: 300 },
        tools: [
          { kind: 'traceforge', label: 'traceforge fix', command: { argv: ['node', CLI, 'fix', TP0, '-o', out], output: out } },
          { kind: 'floor', label: 'zcat | gzip -1', command: { argv: floorPipeline([TP0], gzOutput(name, 'floor')) } },
          refTool(opts, 'fix_pdl.py (json)', { argv: ['python3', REF_FIX, TP0, refOut], output: refOut }),
        ],
      };
    }
    case 'fix-perfetto': {
      // Perfetto's native format: the same fix, written as TrackEvent protobuf. The floor is
      // reading the input once (the output is not compressed); sizes against the gzip JSON.
      const out = join(OUT, `${name}.traceforge.pftrace`);
      return {
        name,
        description: `fix --format perfetto of one rank (${basename(TP0)}): TrackEvent protobuf, lanes as child tracks`,
        inputs: [TP0],
        goals: { maxRssMB: 400 },
        tools: [
          { kind: 'traceforge', label: 'traceforge fix --format perfetto', command: { argv: ['node', CLI, 'fix', TP0, '--format', 'perfetto', '-o', out], output: out } },
          { kind: 'floor', label: 'zcat > /dev/null', command: { argv: ['zcat', '--', TP0], stdoutTo: '/dev/null' } },
        ],
        sizes: () => {
          const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
          if (!existsSync(out)) return ['  sizes: no output'];
          const pf = statSync(out).size;
          const pfGz = gzipSync(readFileSync(out), { level: 1 }).length;
          const inGz = statSync(TP0).size;
          const inRaw = gzipIsize(TP0);
          return [
            `  sizes: .pftrace ${mb(pf)}, .pftrace gzip -1 ${mb(pfGz)}; input JSON ${inRaw !== null ? mb(inRaw) : '?'}, gzip JSON ${mb(inGz)}`,
            `  .pftrace / gzip JSON = ${(pf / inGz).toFixed(2)}; .pftrace.gz / gzip JSON = ${(pfGz / inGz).toFixed(2)}; .pftrace / JSON = ${inRaw ? (pf / inRaw).toFixed(2) : '?'}`,
          ];
        },
      };
    }
    case 'merge': {
      const out = gzOutput(name, 'traceforge');
      const refOut = gzOutput(name, 'reference');
      const inputs = rankFiles(TP2LONG, TP2LONG_ID);
      return {
        name,
        description: `merge of ${inputs.length} ranks (${TP2LONG}/${TP2LONG_ID}-TP-*)`,
        inputs,
        // issue 16: ≤ 1.3× the floor (the floor is two processes, zcat and gzip, on the same 2 cores)
        goals: { maxFloorRatio: 1.3, minSpeedup: 10, maxRssMB: 400 },
        tools: [
          { kind: 'traceforge', label: 'traceforge merge', command: { argv: ['node', CLI, 'merge', TP2LONG, '-o', out], output: out } },
          { kind: 'floor', label: 'zcat all | gzip -1', command: { argv: floorPipeline(inputs, gzOutput(name, 'floor')) } },
          refTool(opts, 'merge_profiles.py (json)', {
            argv: ['python3', REF_MERGE, TP2LONG, TP2LONG_ID, refOut],
            output: refOut,
          }),
        ],
      };
    }
    case 'stats': {
      return {
        name,
        description: `operator/kernel statistics of one rank (${basename(TP0)}), JSON to /dev/null`,
        inputs: [TP0],
        goals: { maxFloorRatio: 2, maxRssMB: 300 },
        tools: [
          {
            kind: 'traceforge',
            label: 'traceforge stats --format json',
            command: { argv: ['node', CLI, 'stats', TP0, '--format', 'json'], stdoutTo: '/dev/null' },
          },
          { kind: 'floor', label: 'zcat > /dev/null', command: { argv: ['zcat', '--', TP0], stdoutTo: '/dev/null' } },
          refTool(opts, 'none', null, 'no reference (torch key_averages needs the live process)'),
        ],
      };
    }
    case 'export': {
      // Parquet tables of one rank (docs/SCHEMA.md) into a fresh dataset directory each run
      const dir = join(OUT, 'export-dataset');
      return {
        name,
        description: `Parquet export of one rank (${basename(TP0)}): kernels, ops, ranks, steps, collectives, idle`,
        inputs: [TP0],
        goals: { maxFloorRatio: 2, maxRssMB: 300 },
        tools: [
          {
            kind: 'traceforge',
            label: 'traceforge export -o DIR',
            command: { argv: ['bash', '-c', `rm -rf ${shq(dir)} && exec node ${shq(CLI)} export ${shq(TP0)} -o ${shq(dir)} -q`], stdoutTo: '/dev/null' },
          },
          { kind: 'floor', label: 'zcat > /dev/null', command: { argv: ['zcat', '--', TP0], stdoutTo: '/dev/null' } },
          refTool(opts, 'none', null, 'no reference (HTA\'s Parquet parser needs its Python stack)'),
        ],
        sizes: () => {
          if (!existsSync(dir)) return [];
          const tables = readdirSync(dir).sort().map((t) => {
            const part = join(dir, t, 'rank=0', 'part-0.parquet');
            return existsSync(part) ? `${t} ${(statSync(part).size / 1024).toFixed(0)} KB` : `${t} missing`;
          });
          return [`  - dataset: ${tables.join(', ')}`];
        },
      };
    }
    case 'ascend-db': {
      // a fresh conversion cache each run: the time is reading the .db (conversion) plus the stats pass
      const cache = join(OUT, 'ascend-db-cache');
      return {
        name,
        description: `stats of a torch_npu Db export (db/level1 rank 0 grown with SQL to ≥ ${ASCEND_DB_MIN_BYTES / 1e6} MB), conversion included`,
        inputs: [ASCEND_DB_FILE],
        goals: {},
        tools: [
          {
            kind: 'traceforge', label: 'traceforge stats --by summary,kernel,op-type (Db)',
            command: { argv: ['bash', '-c', `rm -rf ${shq(cache)}; TRACEFORGE_CACHE=${shq(cache)} node ${shq(CLI)} stats ${shq(ASCEND_DB_PROFILE)} --by summary,kernel,op-type --format json > /dev/null`] },
          },
          { kind: 'floor', label: 'cat .db > /dev/null', command: { argv: ['cat', '--', ASCEND_DB_FILE], stdoutTo: '/dev/null' } },
          refTool(opts, 'none', null, 'no reference (msprof-analyze is not installed here)'),
        ],
      };
    }
    case 'stats-all': {
      return {
        name,
        description: `every stats view of one rank (${basename(TP0)}), idle and launch included, JSON to /dev/null`,
        inputs: [TP0],
        goals: { maxFloorRatio: 2, maxRssMB: 300 },
        tools: [
          {
            kind: 'traceforge',
            label: 'traceforge stats --by all --format json',
            command: { argv: ['node', CLI, 'stats', TP0, '--by', 'all', '--format', 'json'], stdoutTo: '/dev/null' },
          },
          { kind: 'floor', label: 'zcat > /dev/null', command: { argv: ['zcat', '--', TP0], stdoutTo: '/dev/null' } },
          refTool(opts, 'none', null, 'no reference'),
        ],
      };
    }
    case 'stats-source': {
      // the "floor" here is plain stats: the ratio is what attribution (--by source,module) adds
      return {
        name,
        description: `attribution cost: stats --by summary,kernel,source,module vs plain stats of one rank (${basename(TP0)}); the floor column is plain stats`,
        inputs: [TP0],
        goals: { maxFloorRatio: 1.3, maxRssMB: 300 },
        tools: [
          {
            kind: 'traceforge',
            label: 'traceforge stats --by summary,kernel,source,module',
            command: { argv: ['node', CLI, 'stats', TP0, '--by', 'summary,kernel,source,module', '--format', 'json'], stdoutTo: '/dev/null' },
          },
          { kind: 'floor', label: 'traceforge stats (plain)', command: { argv: ['node', CLI, 'stats', TP0, '--format', 'json'], stdoutTo: '/dev/null' } },
          refTool(opts, 'none', null, 'no reference'),
        ],
      };
    }
    case 'fix-big': {
      const out = gzOutput(name, 'traceforge');
      return {
        name,
        description: `PDL overlap fix of TP-0 tiled in time to ≥ ${BIG_FIX_MIN_BYTES / 1e9} GB of JSON (${relative(ROOT, BIG_FIX_IN)})`,
        inputs: [BIG_FIX_IN],
        goals: { maxRssMB: 600 },
        tools: [
          { kind: 'traceforge', label: 'traceforge fix', command: { argv: ['node', CLI, 'fix', BIG_FIX_IN, '-o', out], output: out } },
          { kind: 'floor', label: 'zcat | gzip -1', command: { argv: floorPipeline([BIG_FIX_IN], gzOutput(name, 'floor')) } },
          refTool(opts, 'fix_pdl.py', null, 'not run: loads the whole trace, would need tens of GB of RAM'),
        ],
      };
    }
    case 'export-64': {
      // export of 64 ranks in one run, then a query across all of them; both timed against zcat of the inputs
      const inputs = Array.from({ length: R64_RANKS }, (_, r) => join(R64_DIR, `${R64_ID}-TP-${r}.trace.json.gz`));
      const answer = join(OUT, 'export-64.sql.csv');
      return {
        name,
        description: `Parquet export of ${R64_RANKS} ranks in one run (TP-0/TP-1 alternately, each cut to the first ${R64_FRACTION} of its span, distributedInfo.rank 0..${R64_RANKS - 1}; ${relative(ROOT, R64_DIR)}), then \`traceforge sql\` across them: per kernel name, min / max / mean of its total time over the ranks and the slowest rank`,
        inputs,
        goals: {},
        tools: [
          {
            kind: 'traceforge',
            label: `traceforge export (${R64_RANKS} ranks)`,
            command: { argv: ['bash', '-c', `rm -rf ${shq(R64_DATASET)} && exec node ${shq(CLI)} export ${shq(R64_DIR)} -o ${shq(R64_DATASET)} -q`], stdoutTo: '/dev/null' },
          },
          {
            kind: 'traceforge',
            label: 'traceforge sql (per-kernel min/max/mean across ranks)',
            command: { argv: ['node', CLI, 'sql', R64_QUERY, R64_DATASET, '--format', 'csv'], stdoutTo: answer },
          },
          { kind: 'floor', label: `zcat all ${R64_RANKS} > /dev/null`, command: { argv: ['zcat', '--', ...inputs], stdoutTo: '/dev/null' } },
        ],
        sizes: () => {
          const lines: string[] = [];
          const json = inputs.reduce((a, f) => a + (gzipIsize(f) ?? 0), 0);
          const gz = inputs.reduce((a, f) => a + (existsSync(f) ? statSync(f).size : 0), 0);
          lines.push(`  - inputs: ${R64_RANKS} files, ${(gz / 1e6).toFixed(0)} MB gz / ${(json / 1e6).toFixed(0)} MB JSON`);
          if (existsSync(R64_DATASET)) {
            const bytes = readdirSync(R64_DATASET).reduce((a, t) => a + readdirSync(join(R64_DATASET, t)).reduce((b, p) => {
              const f = join(R64_DATASET, t, p, 'part-0.parquet');
              return b + (existsSync(f) ? statSync(f).size : 0);
            }, 0), 0);
            lines.push(`  - dataset: ${(bytes / 1e6).toFixed(1)} MB of Parquet in ${relative(ROOT, R64_DATASET)}`);
          }
          if (existsSync(answer)) {
            const rows = readFileSync(answer, 'utf8').trim().split(/\r?\n/);
            lines.push(`  - query: ${rows.length - 1} kernel names; first row: ${(rows[1] ?? '').slice(0, 160)}`);
          }
          return lines;
        },
      };
    }
    case 'merge-big': {
      const out = gzOutput(name, 'traceforge');
      const inputs = Array.from({ length: BIG8_RANKS }, (_, r) => join(BIG8_DIR, `${BIG8_ID}-TP-${r}.trace.json.gz`));
      return {
        name,
        description: `merge of ${BIG8_RANKS} ranks, each TP-0/TP-1 tiled to ≥ ${BIG8_MIN_BYTES / 1e9} GB of JSON (${relative(ROOT, BIG8_DIR)})`,
        inputs,
        // issue 16: ≤ 1.5× the floor, peak RSS unchanged (≤ 400 MB, the merge budget)
        goals: { maxFloorRatio: 1.5, maxRssMB: 400 },
        tools: [
          { kind: 'traceforge', label: 'traceforge merge', command: { argv: ['node', CLI, 'merge', BIG8_DIR, '-o', out], output: out } },
          { kind: 'floor', label: 'zcat all | gzip -1', command: { argv: floorPipeline(inputs, gzOutput(name, 'floor')) } },
          refTool(opts, 'merge_profiles.py', null, 'not run: loads every rank whole, would need tens of GB of RAM'),
        ],
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Big inputs (cached under bench/out/big/)
// ---------------------------------------------------------------------------------------------

interface TileSpec {
  src: string;
  dest: string;
  /** Tile until this many bytes of JSON; undefined: one copy (`--copies 1`, e.g. with --span-fraction). */
  minBytes?: number;
  extra: string[];
}

/**
 * Where the record of a cached tile lives: outside the trace folders, so that `merge DIR` never
 * sees a stray .json file next to the rank traces.
 */
function tileRecordPath(dest: string): string {
  return join(BIG_DIR, '.tiles', `${relative(BIG_DIR, dest).replace(/[/\\]/g, '__')}.json`);
}

async function ensureTile(spec: TileSpec, timeoutMs: number): Promise<string | null> {
  const sidecar = tileRecordPath(spec.dest);
  const want = JSON.stringify({ src: spec.src, minBytes: spec.minBytes, extra: spec.extra });
  if (existsSync(spec.dest) && existsSync(sidecar)) {
    try {
      const have = JSON.parse(readFileSync(sidecar, 'utf8')) as { params?: string };
      if (have.params === want) return null;
    } catch {
      // rebuild
    }
  }
  mkdirSync(dirname(spec.dest), { recursive: true });
  mkdirSync(dirname(sidecar), { recursive: true });
  log(`tiling ${basename(spec.src)} -> ${relative(ROOT, spec.dest)} (${spec.minBytes !== undefined ? `≥ ${spec.minBytes} bytes of JSON` : spec.extra.join(' ')}) ...`);
  const bytesFile = join(OUT, '.tile-bytes.tmp');
  const m = await measure(
    {
      argv: ['node', TILE, spec.src, spec.dest, ...(spec.minBytes !== undefined ? ['--min-bytes', String(spec.minBytes)] : ['--copies', '1']), ...spec.extra],
      stdoutTo: bytesFile,
      output: spec.dest,
    },
    timeoutMs,
  );
  if (!m.ok) return `tiling failed: ${m.error}`;
  const bytes = Number(readFileSync(bytesFile, 'utf8').trim());
  rmSync(bytesFile, { force: true });
  writeFileSync(sidecar, `${JSON.stringify({ params: want, uncompressedBytes: bytes }, null, 2)}\n`);
  log(`  ${bytes} bytes of JSON in ${m.seconds.toFixed(1)} s`);
  return null;
}

async function prepareBigInputs(name: CaseName, timeoutMs: number): Promise<string | null> {
  if (name === 'ascend-db') {
    try {
      const { tileProfileDb } = await import('./ascend-db-tile.js');
      tileProfileDb(join(ROOT, 'test', 'fixtures', 'real', 'ascend', 'db', 'level1', 'rank0_ascend_pt'), ASCEND_DB_DIR, ASCEND_DB_MIN_BYTES);
      return null;
    } catch (e) {
      return `could not build the Db input: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  if (name === 'fix-big') {
    return ensureTile({ src: TP0, dest: BIG_FIX_IN, minBytes: BIG_FIX_MIN_BYTES, extra: [] }, timeoutMs);
  }
  if (name === 'export-64') {
    const slices = [TP0, TP1].map((src, k) => join(R64_SLICES, `TP-${k}.span${R64_FRACTION}.trace.json.gz`));
    for (const [k, src] of [TP0, TP1].entries()) {
      const err = await ensureTile({ src, dest: slices[k]!, extra: ['--span-fraction', String(R64_FRACTION)] }, timeoutMs);
      if (err !== null) return err;
    }
    for (let r = 0; r < R64_RANKS; r++) {
      const err = await ensureTile(
        { src: slices[r % 2]!, dest: join(R64_DIR, `${R64_ID}-TP-${r}.trace.json.gz`), extra: ['--rank', String(r), '--world-size', String(R64_RANKS)] },
        timeoutMs,
      );
      if (err !== null) return err;
    }
    return null;
  }
  if (name === 'merge-big') {
    for (let r = 0; r < BIG8_RANKS; r++) {
      const err = await ensureTile(
        {
          src: r % 2 === 0 ? TP0 : TP1,
          dest: join(BIG8_DIR, `${BIG8_ID}-TP-${r}.trace.json.gz`),
          minBytes: BIG8_MIN_BYTES,
          extra: ['--rank', String(r), '--world-size', String(BIG8_RANKS)],
        },
        timeoutMs,
      );
      if (err !== null) return err;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

interface Result {
  caseName: CaseName;
  tool: Tool;
  /** Median seconds over ok runs; max RSS over ok runs. */
  seconds?: number;
  rssMB?: number;
  runs: Measurement[];
  error?: string;
}

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/** Uncompressed size from the gzip trailer (ISIZE, mod 2^32: right for members < 4 GiB). */
function gzipIsize(path: string): number | null {
  try {
    const size = statSync(path).size;
    if (size < 18) return null;
    const fd = openSync(path, 'r');
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, size - 4);
    closeSync(fd);
    return b.readUInt32LE(0);
  } catch {
    return null;
  }
}

function sizeNote(path: string): string {
  if (!/\.gz$/.test(path)) {
    try { return `${(statSync(path).size / 1e6).toFixed(1)} MB`; } catch { return 'missing'; }
  }
  try {
    const gz = statSync(path).size;
    const sidecar = tileRecordPath(path);
    let raw: number | null = null;
    if (existsSync(sidecar)) {
      const s = JSON.parse(readFileSync(sidecar, 'utf8')) as { uncompressedBytes?: number };
      raw = s.uncompressedBytes ?? null;
    } else raw = gzipIsize(path);
    return `${(gz / 1e6).toFixed(1)} MB gz${raw !== null ? ` / ${(raw / 1e6).toFixed(0)} MB JSON` : ''}`;
  } catch {
    return 'missing';
  }
}

/** The inputs' sizes; many inputs of a few kinds (export-64) as counts per size. */
function inputNote(c: Case): string {
  const notes = c.inputs.map(sizeNote);
  if (notes.length <= 8) return notes.join(', ');
  const count = new Map<string, number>();
  for (const n of notes) count.set(n, (count.get(n) ?? 0) + 1);
  return [...count].map(([n, k]) => `${k} × ${n}`).join(', ');
}

function fmt(n: number | undefined, digits: number): string {
  return n === undefined ? '—' : n.toFixed(digits);
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function goalNotes(goals: Goals, r: Result, floorRatio: number | undefined, speedup: number | undefined): string {
  if (r.tool.kind !== 'traceforge') return '';
  const parts: string[] = [];
  const mark = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'PASS' : 'FAIL');
  if (goals.maxFloorRatio !== undefined) {
    parts.push(`≤ ${goals.maxFloorRatio}× floor: ${mark(floorRatio === undefined ? undefined : floorRatio <= goals.maxFloorRatio)}`);
  }
  if (goals.minSpeedup !== undefined) {
    parts.push(`≥ ${goals.minSpeedup}× ref: ${mark(speedup === undefined ? undefined : speedup >= goals.minSpeedup)}`);
  }
  if (goals.maxRssMB !== undefined) {
    parts.push(`RSS ≤ ${goals.maxRssMB} MB: ${mark(r.rssMB === undefined ? undefined : r.rssMB <= goals.maxRssMB)}`);
  }
  return parts.length > 0 ? parts.join('; ') : 'no goal set';
}

function renderTable(cases: Case[], results: Result[], opts: Options): string {
  const lines: string[] = [];
  lines.push(
    `| case | tool | seconds | peak RSS MB | × floor | speedup vs reference | goals / notes |`,
    `|---|---|---:|---:|---:|---:|---|`,
  );
  for (const c of cases) {
    const rows = results.filter((r) => r.caseName === c.name);
    const floor = rows.find((r) => r.tool.kind === 'floor');
    const ref = rows.find((r) => r.tool.kind === 'reference');
    for (const r of rows) {
      const floorRatio =
        r.seconds !== undefined && floor?.seconds !== undefined && floor.seconds > 0 ? r.seconds / floor.seconds : undefined;
      const speedup =
        r.seconds !== undefined && ref?.seconds !== undefined && r.seconds > 0 && r.tool.kind !== 'reference'
          ? ref.seconds / r.seconds
          : undefined;
      let secs = fmt(r.seconds, 2);
      let note = goalNotes(c.goals, r, floorRatio, speedup);
      if (r.tool.command === null) {
        secs = 'not run';
        note = r.tool.skipReason ?? '';
      } else if (r.error !== undefined) {
        secs = 'error';
        note = r.error;
      }
      const okRuns = r.runs.filter((m) => m.ok).length;
      if (r.tool.command !== null && r.error === undefined && okRuns < r.runs.length) {
        note = `${note}${note ? '; ' : ''}only ${okRuns} of ${r.runs.length} runs succeeded`;
      }
      lines.push(
        `| ${c.name} | ${cell(r.tool.label)} | ${secs} | ${fmt(r.rssMB, 0)} | ${floorRatio === undefined ? '—' : `${floorRatio.toFixed(2)}×`} | ${
          speedup === undefined ? '—' : `${speedup.toFixed(1)}×`
        } | ${cell(note)} |`,
      );
    }
  }
  return lines.join('\n');
}

function gitHead(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty.length > 0 ? `${head} (src/ has uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseOptions();
  mkdirSync(OUT, { recursive: true });
  if (!existsSync(CLI)) log(`warning: ${relative(ROOT, CLI)} does not exist yet; traceforge rows will be errors`);

  const cases: Case[] = [];
  const results: Result[] = [];
  for (const name of opts.cases) {
    const c = buildCase(name, opts);
    cases.push(c);
    const prepError = await prepareBigInputs(name, opts.timeoutMs);
    const caseResults = c.tools.map((tool): Result => ({ caseName: name, tool, runs: [] }));
    results.push(...caseResults);
    if (prepError !== null) {
      for (const r of caseResults) if (r.tool.command !== null) r.error = prepError;
      continue;
    }
    log(`${name}: ${c.description}; inputs: ${inputNote(c)}`);
    // Interleave tools within each repetition so slow drifts of a noisy machine hit all alike.
    for (let rep = 0; rep < opts.repeat; rep++) {
      for (const r of caseResults) {
        if (r.tool.command === null) continue;
        log(`${name} [${rep + 1}/${opts.repeat}] ${r.tool.kind}: ${r.tool.label}`);
        const m = await measure(r.tool.command, opts.timeoutMs);
        r.runs.push(m);
        log(m.ok ? `  ${m.seconds.toFixed(2)} s, ${m.rssMB.toFixed(0)} MB` : `  error: ${m.error}`);
      }
    }
    for (const r of caseResults) {
      const ok = r.runs.filter((m): m is Extract<Measurement, { ok: true }> => m.ok);
      if (r.tool.command === null) continue;
      if (ok.length === 0) {
        const firstErr = r.runs.find((m): m is Extract<Measurement, { ok: false }> => !m.ok);
        r.error = firstErr?.error ?? 'no run';
        continue;
      }
      r.seconds = median(ok.map((m) => m.seconds));
      r.rssMB = Math.max(...ok.map((m) => m.rssMB));
    }
  }

  const header = [
    `# traceforge benchmark`,
    ``,
    `- date: ${new Date().toISOString()}`,
    `- commit: ${gitHead()}`,
    `- node ${process.version}, ${cpus().length} CPUs, load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `- seconds: median of ${opts.repeat} run(s); peak RSS: max over runs (GNU time %M; for pipelines, the largest process)`,
    `- × floor = seconds / floor seconds; speedup = reference seconds / seconds. The machine is noisy: trust ratios, not seconds.`,
    `- references are standard-library \`json\` re-implementations (bench/reference/); the originals use orjson, which is faster,`,
    `  so speedups against the originals would be smaller.`,
    ``,
  ];
  const caseLines = cases.flatMap((c) => [`- **${c.name}**: ${c.description}; input ${inputNote(c)}`, ...(c.sizes?.() ?? [])]);
  const table = renderTable(cases, results, opts);
  const md = `${[...header, ...caseLines, '', table].join('\n')}\n`;
  writeFileSync(join(OUT, 'results.md'), md);
  writeFileSync(
    join(OUT, 'results.json'),
    `${JSON.stringify(
      results.map((r) => ({
        case: r.caseName,
        tool: r.tool.kind,
        label: r.tool.label,
        seconds: r.seconds ?? null,
        rssMB: r.rssMB ?? null,
        error: r.error ?? null,
        skipped: r.tool.command === null ? (r.tool.skipReason ?? true) : null,
        runs: r.runs,
      })),
      null,
      2,
    )}\n`,
  );
  process.stdout.write(md);
  log(`written ${relative(ROOT, join(OUT, 'results.md'))}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
